"""Bulk import: zoos, species, enclosures, gifts and animals from a CSV or NDJSON file."""

import io
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request

from app.api.deps import InspectorDep, WriteSessionDep
from app.api.guard import GuardedRoute
from app.api.uploads import read_upload
from app.core.errors import field_error
from app.core.problem_docs import WRITE_ERRORS, problem_example, problem_responses
from app.models.imports import ImportKind, ImportResult
from app.services import imports as import_service
from app.services.import_files import MEDIA_TYPES, FileFormat

router = APIRouter(prefix="/imports", tags=["data"], route_class=GuardedRoute)

SAMPLE_CSV = (
    "zoo,identifier,species,enclosure,name,sex,count,origin,arrived_on\n"
    "korea-central-zoo,KCZ-0001,Panthera leo,Lion Yard,,male,1,captive_born,2019-05-01\n"
)
SAMPLE_NDJSON = (
    '{"zoo": "korea-central-zoo", "identifier": "KCZ-0001", "species": "Panthera leo", '
    '"sex": "male", "count": 1, "origin": "captive_born"}\n'
)
IMPORT_BODY = {
    "requestBody": {
        "required": True,
        "description": "The rows, as CSV (a header row naming the columns) or NDJSON (one "
        "JSON object per line). The columns of each kind are in the README.",
        "content": {
            "text/csv": {"schema": {"type": "string"}, "example": SAMPLE_CSV},
            "application/x-ndjson": {"schema": {"type": "string"}, "example": SAMPLE_NDJSON},
        },
    }
}
EXAMPLES = {
    422: {
        "bad_rows": problem_example(
            422,
            "validation-error",
            "1 of the file's 2 rows are not valid; nothing was imported. Each error names the "
            "row (a CSV's header is row 1) and the column.",
            "/api/v1/imports/animals",
            errors=[field_error(["body", 3, "species"], "no species named 'Panthera leoo'")],
        )
    }
}


async def upload(request: Request) -> tuple[FileFormat, bytes]:
    return await read_upload(request, MEDIA_TYPES)


@router.post(
    "/{kind}",
    name="imports_create",
    response_model=ImportResult,
    summary="Import a file of records",
    openapi_extra=IMPORT_BODY,
    responses=problem_responses(413, 415, 422, *WRITE_ERRORS, examples=EXAMPLES),
)
def import_records(
    session: WriteSessionDep,
    actor: InspectorDep,
    kind: Annotated[ImportKind, Path(description="What the rows are.")],
    file: Annotated[tuple[FileFormat, bytes], Depends(upload)],
    dry_run: Annotated[
        bool, Query(description="true: check and count the rows, write nothing.")
    ] = False,
) -> ImportResult:
    """Upserts the file's rows by their natural keys (zoo slug, scientific name, enclosure
    name in its zoo, gift title and date, animal identifier in its zoo). The file lands
    whole or not at all: a bad row rejects it (422, every bad row's number, column and
    message). Zoos need an admin; the other kinds an inspector, whose key's zoos limit the
    rows it may write."""
    file_format, body = file

    def open_text() -> io.TextIOWrapper:
        return io.TextIOWrapper(io.BytesIO(body), encoding="utf-8-sig", newline="")

    return import_service.import_file(
        session=session,
        kind=kind,
        open_text=open_text,
        file_format=file_format,
        actor=actor,
        dry_run=dry_run,
    )
