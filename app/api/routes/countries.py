"""Country routes: ISO codes, names, and since when each is a Party to CITES."""

from typing import Annotated

from fastapi import APIRouter, Path, Query

from app.api.deps import AdminDep, PageDep, ReadSessionDep, WriteSessionDep
from app.api.guard import GuardedRoute
from app.core.problem_docs import WRITE_ERRORS, problem_example, problem_responses
from app.models import Country
from app.models.country import CountryPublic, CountryUpdate
from app.models.page import Page
from app.services import countries as country_service

# No tag of its own yet: the tags and their descriptions are declared in app/main.py.
router = APIRouter(prefix="/countries", tags=["countries"], route_class=GuardedRoute)

CodePath = Annotated[
    str,
    Path(
        min_length=2,
        max_length=2,
        pattern=r"^[A-Za-z]{2}$",
        description="ISO 3166-1 alpha-2, in either case (a former code such as SU too).",
        examples=["RU"],
    ),
]
EXAMPLES = {
    404: {
        "unknown_code": problem_example(
            404, "not-found", "No country with code 'XX'.", "/api/v1/countries/XX"
        )
    }
}


@router.get(
    "",
    name="countries_list",
    response_model=Page[CountryPublic],
    summary="List countries",
    responses=problem_responses(422),
)
def list_countries(
    session: ReadSessionDep,
    page: PageDep,
    party: Annotated[
        bool | None,
        Query(
            description="true: Parties to CITES (a date); false: those a source says are not "
            "(no date, a source). Countries not recorded match neither."
        ),
    ] = None,
    former: Annotated[
        bool | None, Query(description="true: only former codes; false: only current ones.")
    ] = None,
    q: Annotated[
        str | None,
        Query(
            min_length=1, max_length=100, description="Part of the name, or the code (any case)."
        ),
    ] = None,
) -> Page[Country]:
    """Every ISO 3166-1 country, current and former, by code, with the day the Convention
    entered into force for it (`cites_party_since`). A null date with a `source_url`: that
    source says it is not a Party; a null date without one: not recorded."""
    items, total = country_service.list_countries(
        session=session,
        party=party,
        former=former,
        q=q,
        limit=page.limit,
        offset=page.offset,
    )
    return Page(items=items, total=total, limit=page.limit, offset=page.offset)


@router.get(
    "/{code}",
    name="countries_get",
    response_model=CountryPublic,
    summary="Get a country",
    responses=problem_responses(404, 422, examples=EXAMPLES),
)
def get_country(session: ReadSessionDep, code: CodePath) -> Country:
    """One country by its code, in either case (`ru` is RU)."""
    return country_service.get(session=session, code=code)


@router.patch(
    "/{code}",
    name="countries_update",
    response_model=CountryPublic,
    summary="Record a country's CITES membership",
    responses=problem_responses(404, 422, *WRITE_ERRORS, examples=EXAMPLES),
)
def update_country(
    session: WriteSessionDep, actor: AdminDep, code: CodePath, country_in: CountryUpdate
) -> Country:
    """Sets `cites_party_since` (null: not a Party, when `source_url` says so) and
    `source_url`; the fields not given stay as they are. Admin only."""
    country = country_service.get(session=session, code=code)
    return country_service.update(
        session=session, country=country, country_in=country_in, actor=actor
    )
