"""The open-data export: the whole public registry as one zip, streamed as it is read."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse

from app import exports
from app.api.deps import ConcernsDep
from app.api.guard import GuardedRoute
from app.core.admission import Admission
from app.core.errors import TooManyRequests
from app.core.spool import spooled
from app.models.base import utcnow

router = APIRouter(tags=["data"], route_class=GuardedRoute)

RETRY_AFTER_S = 30


class ZipResponse(StreamingResponse):
    media_type = "application/zip"


class Exports:
    """Exports being read in this process, bounded: each holds a database slot and a
    transaction for as long as it reads (about half a minute at size L). The bound is checked
    when a request arrives; two arriving together may both be read."""

    def __init__(self, at_once: int) -> None:
        self.at_once = at_once
        self.running = 0

    def full(self) -> bool:
        return self.running >= self.at_once

    @asynccontextmanager
    async def reading(self, admission: Admission) -> AsyncIterator[None]:
        """Held while an export reads: counted, and under an admission slot of its own."""
        self.running += 1
        try:
            async with admission.slot():
                yield
        finally:
            self.running -= 1


ZIP_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "A Frictionless Data Package as a zip: datapackage.json first (the "
        "package, its licence, each resource's Table Schema), then one CSV per resource.",
        "content": {"application/zip": {"schema": {"type": "string", "format": "binary"}}},
        "headers": {
            "Content-Disposition": {
                "description": "A download named by the day of the export (UTC).",
                "required": True,
                "schema": {"type": "string"},
                "example": 'attachment; filename="zoo-registry-2026-12-03.zip"',
            }
        },
    }
}


@router.get(
    "/export.zip",
    name="export_zip",
    response_class=ZipResponse,
    summary="The whole public registry as an open-data package",
    responses=ZIP_RESPONSE,
)
async def export_zip(request: Request, concerns: ConcernsDep) -> ZipResponse:
    """Every public table as a CSV file with its Table Schema (types, required fields,
    enumerations, primary and foreign keys, a description per field), in a Frictionless Data
    Package under the ODC-By-1.0 licence: zoos, species and their dated listings, enclosures,
    gifts, animals and their movements, incidents, reports (never the reporters' private
    details), incident events, replies, every zoo's concern flags (brought up to date first),
    CITES trade records and countries. All files are read in one transaction, so they agree
    with each other. The zip is streamed as it is written, datapackage.json first;
    `zoo-registry export DIR` writes the same files into a folder. While a server process is
    already reading one, another is answered 429 with `Retry-After`."""
    state = request.app.state
    running: Exports = state.exports
    if running.full():
        raise TooManyRequests(
            f"An export is being read; try again in {RETRY_AFTER_S} s.", retry_after=RETRY_AFTER_S
        )
    created = utcnow()
    chunks = exports.stream_zip(state.read_sessions, concerns, created=created)
    head = next(chunks)  # datapackage.json: no database work
    body = spooled(chunks, partial(running.reading, state.admission), head=head)
    disposition = f'attachment; filename="{exports.zip_filename(created)}"'
    return ZipResponse(body, headers={"Content-Disposition": disposition})
