"""Shared by the submission and reply tests: bodies, and posting through the API."""

from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient

from app.core.ratelimit import sync_storage
from app.core.submission_limits import SubmissionLimit

API = "/api/v1"
SUBMISSIONS = f"{API}/submissions"
NAME, CONTACT = "Visitor Vera 5c1e", "vera-5c1e@example.org"


def submission_body(zoo_id: int, **overrides: Any) -> dict[str, Any]:
    return {
        "zoo_id": zoo_id,
        "category": "human_interaction",
        "title": "Chimpanzee handed a lit cigarette",
        "description": "A keeper lit it; she smoked it while visitors filmed.",
        "observed_at": "2024-11-20T10:00:00Z",
        "reporter_name": NAME,
        "reporter_contact": CONTACT,
        "evidence_urls": ["https://example.org/video"],
    } | overrides


def submit(client: TestClient, zoo_id: int, **overrides: Any) -> dict[str, Any]:
    """Posts a submission (with no key: give the anonymous client); expects 202."""
    response = client.post(SUBMISSIONS, json=submission_body(zoo_id, **overrides))
    assert response.status_code == 202, response.text
    return response.json()


def receipt_view(client: TestClient, submission_id: int, receipt: str) -> dict[str, Any]:
    response = client.get(f"{SUBMISSIONS}/{submission_id}", headers={"X-Receipt": receipt})
    assert response.status_code == 200, response.text
    return response.json()


def set_submission_limit(app: FastAPI, rate: str) -> None:
    """A fresh per-address submission budget for the app."""
    app.state.submission_limit = SubmissionLimit(rate, sync_storage("memory://"))
