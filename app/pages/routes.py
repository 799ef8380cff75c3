"""The pages' routes: thin, each reading through the services and the concern read model
(the same answers the API gives, parsed from the very bodies it caches) and rendering one
template. Not in the OpenAPI document: they are for people."""

import json
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.concurrency import run_in_threadpool

from app.api.deps import ConcernsDep, ReadSessionDep, ZooDep
from app.concerns import Filters, ListRequest
from app.models import Zoo
from app.models.base import row_id
from app.pages.render import page, stylesheet, stylesheet_tag
from app.services import animals as animal_service
from app.services import enclosures as enclosure_service
from app.services import gifts as gift_service
from app.services import species as species_service
from app.services import zoos as zoo_service

router = APIRouter(include_in_schema=False)

RANKED_PER_PAGE = 100
LISTED = 500  # a zoo page's animals, enclosures, gifts and concern items at most
FOUND = 20  # search results of each kind
SearchText = Annotated[str | None, Query(max_length=200)]


@router.get("/site.css", name="page_stylesheet")
def site_css() -> Response:
    return Response(
        stylesheet(),
        media_type="text/css; charset=utf-8",
        headers={"Cache-Control": "public, max-age=86400", "ETag": f'"{stylesheet_tag()}"'},
    )


@router.get("/", name="page_ranking")
async def ranking(
    request: Request,
    concerns: ConcernsDep,
    number: Annotated[int, Query(alias="page", ge=1, le=100_000)] = 1,
) -> Response:
    """Every zoo ranked by concern, as GET /api/v1/concerns has it."""
    offset = (number - 1) * RANKED_PER_PAGE
    rendered = await concerns.ranking(None, RANKED_PER_PAGE, offset)
    ranked = json.loads(rendered.body)
    evaluated = [z["evaluated_at"] for z in ranked["items"] if z["evaluated_at"]]
    context = {
        "ranked": ranked,
        "page_number": number,
        "pages": max(1, -(-ranked["total"] // RANKED_PER_PAGE)),
        "first_rank": offset + 1,
        "evaluated_from": min(evaluated, default=None),
        "evaluated_to": max(evaluated, default=None),
    }
    return page(request, "ranking.html", context)


@router.get("/search", name="page_search")
def search(request: Request, session: ReadSessionDep, q: SearchText = None) -> Response:
    """Zoos, animals and species whose names match, as the API's `q` finds them."""
    text = (q or "").strip()
    found: dict[str, Any] = {"zoos": [], "animals": [], "species": []}
    if text:
        found["zoos"], _ = zoo_service.list_zoos(
            session=session, country_code=None, q=text, limit=FOUND, offset=0
        )
        found["animals"], _ = animal_service.list_animals(
            session=session,
            zoo_ref=None,
            species_id=None,
            enclosure_id=None,
            status=None,
            origin=None,
            gift_id=None,
            q=text,
            limit=FOUND,
            offset=0,
        )
        found["species"], _ = species_service.list_species(
            session=session,
            taxon_class=None,
            iucn_category=None,
            cites_appendix=None,
            is_domestic=None,
            q=text,
            limit=FOUND,
            offset=0,
        )
    zoos = {z.id: z for z in found["zoos"]}
    return page(request, "search.html", {"q": text, "found": found, "zoos": zoos})


def _records(session: Any, zoo: Zoo) -> dict[str, Any]:
    ref = str(row_id(zoo))
    animals, animal_total = animal_service.list_animals(
        session=session,
        zoo_ref=ref,
        species_id=None,
        enclosure_id=None,
        status=None,
        origin=None,
        gift_id=None,
        q=None,
        limit=LISTED,
        offset=0,
    )
    enclosures, enclosure_total = enclosure_service.list_enclosures(
        session=session, zoo_ref=ref, kind=None, climate=None, q=None, limit=LISTED, offset=0
    )
    gifts, gift_total = gift_service.list_gifts(
        session=session,
        donor_country=None,
        recipient_country=None,
        recipient_zoo_ref=ref,
        delivered_from=None,
        delivered_until=None,
        q=None,
        limit=LISTED,
        offset=0,
    )
    return {
        "animals": animals,
        "animal_total": animal_total,
        "species": species_service.by_ids(session, (a.species_id for a in animals)),
        "enclosures": {e.id: e for e in enclosures},
        "enclosure_total": enclosure_total,
        "gifts": gifts,
        "gift_total": gift_total,
    }


@router.get("/zoos/{zoo}", name="page_zoo")
async def zoo_page(
    request: Request, session: ReadSessionDep, concerns: ConcernsDep, zoo: ZooDep
) -> Response:
    """The zoo's concern list with every flag's reason, then its animals, enclosures and the
    gifts it received."""
    listing = ListRequest(Filters(), LISTED, 0, False)
    rendered = await concerns.zoo_list(zoo.slug, listing)
    context = {"zoo": zoo, "concerns": json.loads(rendered.body)}
    context |= await run_in_threadpool(_records, session, zoo)
    return page(request, "zoo.html", context)
