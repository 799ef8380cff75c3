"""Flagged-welfare queries: per-zoo concern lists (JSON or CSV), the cross-zoo ranking, one
animal's flags, and the published rules."""

from enum import StrEnum
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import Response

from app.api.deps import MAX_LIMIT, AnimalDep, ConcernsDep, PageDep, SessionDep, ZooDep, ZooRefPath
from app.api.guard import GuardedRoute
from app.concerns import ConcernReadModel, Filters, ListRequest, RequestAlias, request_alias
from app.concerns.schemas import (
    ConcernItem,
    ConcernRulePublic,
    Evidence,
    RuleId,
    SubjectType,
    Timeline,
    ZooConcernSummary,
)
from app.core.problem_docs import problem_responses
from app.core.rendered import CSVResponse, as_response
from app.models.base import row_id
from app.models.page import Page

router = APIRouter(tags=["concerns"], route_class=GuardedRoute)


class ListFormat(StrEnum):
    json = "json"
    csv = "csv"


LIST_ETAG = {
    "description": "Version tag of this list (weak); send it as If-None-Match.",
    "required": True,
    "schema": {"type": "string"},
    "example": 'W/"12-3f9c2a1be07d4c55"',
}
CSV_DISPOSITION = {
    "description": "A download: the zoo's slug and the date.",
    "schema": {"type": "string"},
    "example": 'attachment; filename="korea-central-zoo-concerns-2024-11-20.csv"',
}
CSV_MEDIA = {
    "text/csv": {
        "schema": {"type": "string"},
        "example": (
            "zoo,subject_type,subject_id,name,species,enclosure,score,max_severity,rule,"
            "severity,reason,incident_ids,evidence,zoo_replied_at\r\n"
            "korea-central-zoo,animal,1,Dallae,Chimpanzee,Ape House,5,5,"
            "human_imposed_behaviour,5,an open human_interaction incident,1,confirmed,\r\n"
        ),
    }
}
NOT_MODIFIED = {
    "description": "Not modified since the ETag sent in If-None-Match.",
    "headers": {"ETag": LIST_ETAG},
}
# The JSON list, with CSV as its second media type: a generated client decodes a 200 by its
# first (JSON), so for CSV it calls zoo_concerns_csv, whose only media type is CSV.
CSV_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The concern list: JSON, or CSV (one row per flag) when asked with "
        "format=csv or Accept: text/csv.",
        "content": CSV_MEDIA,
        "headers": {"ETag": LIST_ETAG, "Content-Disposition": CSV_DISPOSITION},
    },
    304: NOT_MODIFIED,
}
CSV_ONLY_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The concern list as CSV, one row per flag, with a header row.",
        "content": CSV_MEDIA,
        "headers": {
            "ETag": LIST_ETAG,
            "Content-Disposition": {**CSV_DISPOSITION, "required": True},
        },
    },
    304: NOT_MODIFIED,
}


async def concern_filters(
    min_severity: Annotated[
        int | None, Query(ge=1, le=5, description="Only flags of this severity or more.")
    ] = None,
    rule: Annotated[list[RuleId] | None, Query(description="Only these rules; repeatable.")] = None,
    subject_type: SubjectType | None = None,
    min_evidence: Annotated[
        Evidence | None,
        Query(
            description="Only flags this well founded or better: reported < corroborated < "
            "confirmed."
        ),
    ] = None,
) -> Filters:
    return Filters(
        min_severity=min_severity,
        min_evidence=min_evidence,
        rule_ids=tuple(sorted(r.value for r in rule)) if rule else None,
        subject_type=subject_type.value if subject_type else None,
    )


ConcernFiltersDep = Annotated[Filters, Depends(concern_filters)]
IfNoneMatch = Annotated[
    str | None,
    Header(max_length=1000, description="An ETag from an earlier response: 304 if unchanged."),
]


async def _zoo_list(
    concerns: ConcernReadModel,
    zoo: str,
    filters: Filters,
    *,
    limit: int | None,
    offset: int,
    as_csv: bool,
    if_none_match: str | None,
    alias: RequestAlias | None,
) -> Response:
    request = ListRequest(filters, limit, offset, as_csv)
    rendered = await concerns.zoo_list(zoo, request, if_none_match=if_none_match, alias=alias)
    return as_response(rendered)


def _wants_csv(format_: ListFormat | None, accept: str | None) -> bool:
    if format_ is not None:
        return format_ is ListFormat.csv
    return accept is not None and "text/csv" in accept and "application/json" not in accept


@router.get(
    "/zoos/{zoo}/concerns",
    name="zoo_concerns_get",
    response_model=Page[ConcernItem],
    summary="A zoo's concern list",
    responses={**CSV_RESPONSE, **problem_responses(404, 422)},
)
async def zoo_concerns(
    request: Request,
    concerns: ConcernsDep,
    zoo: ZooRefPath,
    page: PageDep,
    filters: ConcernFiltersDep,
    format: Annotated[
        ListFormat | None,
        Query(
            description="csv for a CSV file, one row per flag (or send Accept: text/csv); a CSV "
            "holds the whole list unless limit is given."
        ),
    ] = None,
    accept: Annotated[str | None, Header(max_length=1000, include_in_schema=False)] = None,
    if_none_match: IfNoneMatch = None,
) -> Page[ConcernItem] | Response:
    """The zoo's flagged animals and enclosures, ordered by score (the sum of their flags'
    severities), then by their worst flag. Each flag names its rule, its severity, the reason in
    plain words and the incidents behind it. Responses carry an `ETag`; send it back as
    `If-None-Match` for a 304 while nothing that could change the list has been written.

    `format=csv` or `Accept: text/csv` answers with the same list as CSV (`text/csv`, the 200's
    second media type). A generated client decodes this operation's 200 as JSON: for CSV it
    calls `GET /zoos/{zoo}/concerns.csv` (`zoo_concerns_csv`), which answers only CSV."""
    as_csv = _wants_csv(format, accept)
    whole = as_csv and "limit" not in request.query_params  # a CSV download is the whole list
    return await _zoo_list(
        concerns,
        zoo,
        filters,
        limit=None if whole else page.limit,
        offset=page.offset,
        as_csv=as_csv,
        if_none_match=if_none_match,
        alias=request_alias(zoo, request.scope["query_string"], accept),
    )


@router.get(
    "/zoos/{zoo}/concerns.csv",
    name="zoo_concerns_csv",
    response_class=CSVResponse,
    summary="A zoo's concern list as CSV",
    responses={**CSV_ONLY_RESPONSE, **problem_responses(404, 422)},
)
async def zoo_concerns_csv(
    concerns: ConcernsDep,
    zoo: ZooRefPath,
    filters: ConcernFiltersDep,
    # No default page size: a generated client sends a parameter's default, and the file is
    # the whole list unless a limit is asked for.
    limit: Annotated[
        int | None,
        Query(
            ge=1,
            le=MAX_LIMIT,
            description=f"Rows of subjects, at most {MAX_LIMIT}; all if omitted.",
        ),
    ] = None,
    offset: Annotated[int, Query(ge=0, le=10_000_000, description="Subjects to skip.")] = 0,
    if_none_match: IfNoneMatch = None,
) -> Response:
    """The list of `GET /zoos/{zoo}/concerns` as a CSV file, one row per flag, whatever the
    Accept header: its own operation, so that a generated client gets text and never tries to
    decode it as JSON. The file holds the whole list unless `limit` is given (`limit` and
    `offset` count subjects, as in the JSON list; each subject has a row per flag). The same
    `ETag` and `If-None-Match` rules apply."""
    return await _zoo_list(
        concerns,
        zoo,
        filters,
        limit=limit,
        offset=offset,
        as_csv=True,
        if_none_match=if_none_match,
        # No request alias: the fast path answers /concerns only, and this path's raw query
        # would otherwise alias the JSON answer of /concerns with the same query.
        alias=None,
    )


@router.get(
    "/concerns",
    name="concerns_ranking",
    response_model=Page[ZooConcernSummary],
    summary="Every zoo ranked by concern",
    responses=problem_responses(422),
)
async def ranking(
    concerns: ConcernsDep,
    page: PageDep,
    country_code: Annotated[
        str | None, Query(min_length=2, max_length=2, description="ISO 3166-1 alpha-2 code.")
    ] = None,
    if_none_match: IfNoneMatch = None,
) -> Page[ZooConcernSummary] | Response:
    """Every zoo, those with no flags included (score 0): flagged animals and enclosures,
    total score, worst severity and open incidents, highest total score first, then worst
    severity. Read from each zoo's stored figures, brought up to date before the answer, so
    it reflects every write committed before the request; `evaluated_at` says when each zoo's
    figures were last evaluated. Responses carry an `ETag`; send it back as `If-None-Match`
    for a 304 while no zoo's figures have changed."""
    code = country_code.upper() if country_code else None
    rendered = await concerns.ranking(code, page.limit, page.offset, if_none_match=if_none_match)
    return as_response(rendered)


@router.get(
    "/zoos/{zoo}/concerns/timeline",
    name="zoo_concerns_timeline",
    response_model=Timeline,
    summary="A zoo's concern over time",
    responses=problem_responses(404, 422),
)
def zoo_concerns_timeline(
    session: SessionDep,
    concerns: ConcernsDep,
    zoo: ZooDep,
    days: Annotated[int, Query(ge=1, le=3660, description="Days up to today.")] = 365,
) -> Timeline:
    """One item per day, oldest first, ending today: the zoo's flagged animals and
    enclosures, total score and open incidents at the end of that day (today: now). Days
    before the registry first evaluated the zoo are zero."""
    return Timeline(items=concerns.timeline(session, row_id(zoo), days))


@router.get(
    "/animals/{animal_id}/concerns",
    name="animal_concerns_get",
    response_model=ConcernItem,
    summary="One animal's concerns",
    responses=problem_responses(404, 422),
)
async def animal_concerns(
    session: SessionDep, concerns: ConcernsDep, animal: AnimalDep, if_none_match: IfNoneMatch = None
) -> Response:
    """The flags the rules raise for this animal; an empty list (score 0) when there are none.
    Responses carry an `ETag`; send it back as `If-None-Match` for a 304 while nothing that
    could change the animal's flags has been written."""
    return as_response(await concerns.animal_answer(session, animal, if_none_match))


@router.get(
    "/concern-rules",
    name="concern_rules_list",
    response_model=list[ConcernRulePublic],
    summary="The concern rules",
)
def concern_rules(concerns: ConcernsDep) -> list[ConcernRulePublic]:
    """Each rule: id, subject (animal or enclosure), what raises it, and its thresholds."""
    return concerns.rules()
