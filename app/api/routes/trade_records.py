"""CITES trade records: the Trade Database's comparative tabulation, imported and listed."""

import io
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response

from app.api.deps import AdminDep, CursorPageDep, ReadSessionDep, WriteSessionDep, cursor_page
from app.api.guard import GuardedRoute
from app.api.uploads import read_upload
from app.core.errors import field_error
from app.core.problem_docs import WRITE_ERRORS, problem_example, problem_responses
from app.models.page import CursorPage
from app.models.trade import TradeImportResult, TradeRecordPublic
from app.services import trade_records as trade_service

router = APIRouter(prefix="/trade-records", tags=["trade records"], route_class=GuardedRoute)

CSV_TYPES = ("text/csv", "application/csv")
SAMPLE = (
    "Year,App.,Taxon,Class,Order,Family,Genus,Importer,Exporter,Origin,"
    "Importer reported quantity,Exporter reported quantity,Term,Unit,Purpose,Source\n"
    "2019,II,Panthera leo,Mammalia,Carnivora,Felidae,Panthera,CN,ZA,,,4,live,,Z,C\n"
)
IMPORT_BODY = {
    "requestBody": {
        "required": True,
        "description": "A comparative-tabulation CSV file from the CITES Trade Database "
        "(the 16-column layout or the older 13-column one), UTF-8.",
        "content": {"text/csv": {"schema": {"type": "string"}, "example": SAMPLE}},
    }
}
IMPORT_EXAMPLES = {
    422: {
        "bad_rows": problem_example(
            422,
            "validation-error",
            "1 of the file's 2 rows are not valid; nothing was imported. Each error names the "
            "row (the header is row 1) and the column.",
            "/api/v1/trade-records/import",
            errors=[
                field_error(
                    ["body", 3, "Exporter reported quantity"],
                    "a number, or empty when not reported, is needed",
                )
            ],
        )
    }
}


async def csv_text(request: Request) -> bytes:
    """The request's body, which must be a CSV file."""
    _, body = await read_upload(request, dict.fromkeys(CSV_TYPES, "csv"))
    return body


@router.post(
    "/import",
    name="trade_records_import",
    response_model=TradeImportResult,
    summary="Import a CITES trade file",
    openapi_extra=IMPORT_BODY,
    responses=problem_responses(413, 415, 422, *WRITE_ERRORS, examples=IMPORT_EXAMPLES),
)
def import_trade_records(
    session: WriteSessionDep, actor: AdminDep, body: Annotated[bytes, Depends(csv_text)]
) -> TradeImportResult:
    """Imports a comparative-tabulation CSV file downloaded from the CITES Trade Database
    (https://trade.cites.org/), by its header names. The file lands whole or not at all: one
    bad row rejects it (422, each bad row's number and column). Importing the same file again
    changes nothing; a newer download updates the quantities it revised. Admin only; a large
    file is better loaded with `zoo-registry import cites-trade FILE`."""

    def open_text() -> io.TextIOWrapper:
        return io.TextIOWrapper(io.BytesIO(body), encoding="utf-8-sig", newline="")

    return trade_service.import_file(session=session, open_text=open_text, actor=actor)


@router.get(
    "",
    name="trade_records_list",
    response_model=CursorPage[TradeRecordPublic],
    summary="List CITES trade records",
    responses=problem_responses(422),
)
def list_trade_records(
    session: ReadSessionDep,
    page: CursorPageDep,
    taxon: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=200,
            description="The taxon exactly as the Trade Database names it.",
            examples=["Panthera leo"],
        ),
    ] = None,
    importer: Annotated[
        str | None, Query(pattern=r"^[A-Za-z]{2}$", description="Importing country's code.")
    ] = None,
    exporter: Annotated[
        str | None, Query(pattern=r"^[A-Za-z]{2}$", description="Exporting country's code.")
    ] = None,
    year: Annotated[int | None, Query(ge=1975, le=9999)] = None,
    purpose: Annotated[
        str | None, Query(pattern=r"^[A-Za-z]{1,2}$", description="Purpose code (Z: zoo).")
    ] = None,
    source: Annotated[
        str | None, Query(pattern=r"^[A-Za-z]{1,2}$", description="Source code (W: wild).")
    ] = None,
    term: Annotated[
        str | None,
        Query(min_length=1, max_length=120, description="What was traded (live, skins)."),
    ] = None,
) -> Response:
    """The imported records, by year, taxon and countries. Quantities not reported are null
    (unknown), not zero. Paged by `offset`, or by the cursor each page gives as `next`."""
    found = trade_service.list_records(
        session=session,
        taxon=taxon,
        importer=importer,
        exporter=exporter,
        year=year,
        purpose=purpose,
        source=source,
        term=term,
        limit=page.limit,
        offset=page.offset,
        after=page.after,
        count=page.count,
    )
    return cursor_page(TradeRecordPublic, found, page)
