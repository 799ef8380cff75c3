"""The public report form: what a browser posts (application/x-www-form-urlencoded, every
value text) as the body POST /api/v1/submissions takes, and its errors by field, so that
the form is checked by the very model the API checks (SubmissionCreate)."""

from typing import Any
from urllib.parse import parse_qs

from pydantic import ValidationError

from app.models.submission import SubmissionCreate

NUMBERS = ("zoo_id", "animal_id", "enclosure_id", "incident_id", "severity")
FIELDS = frozenset(SubmissionCreate.model_fields)  # what the API's body takes


def read(body: bytes) -> dict[str, str]:
    """The form's fields as sent (the last value of each), unknown names dropped."""
    try:
        sent = parse_qs(body.decode("utf-8"), keep_blank_values=True)
    except UnicodeDecodeError:
        return {}
    return {name: values[-1] for name, values in sent.items() if name in FIELDS and values}


def _value(name: str, text: str) -> Any:
    if name in NUMBERS:
        return int(text) if text.isdigit() else text  # not a number: the model says so
    if name == "evidence_urls":
        return [line.strip() for line in text.splitlines() if line.strip()]
    if name == "observed_at" and len(text) == 16:  # a datetime-local input: minutes, no zone
        return text + ":00Z"
    return text


def submission(form: dict[str, str]) -> tuple[SubmissionCreate | None, dict[str, list[str]]]:
    """The submission the form makes, or the messages of each field in error."""
    body = {name: _value(name, text.strip()) for name, text in form.items() if text.strip()}
    if form.get("website"):
        body["website"] = form["website"]  # the honeypot, refused by the model
    try:
        return SubmissionCreate.model_validate(body), {}
    except ValidationError as exc:
        errors: dict[str, list[str]] = {}
        for error in exc.errors():
            name = str(error["loc"][0]) if error["loc"] else "form"
            errors.setdefault(name, []).append(error["msg"].removeprefix("Value error, "))
        return None, errors
