"""The pages' routes: thin, each reading through the services and the concern read model
(the same answers the API gives, parsed from the very bodies it caches) and rendering one
template. Not in the OpenAPI document: they are for people."""

import json
import time
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.concurrency import run_in_threadpool

from app.api.deps import (
    AnimalDep,
    ConcernsDep,
    GiftDep,
    IncidentDep,
    ReadSessionDep,
    SubmissionBudgetDep,
    WriteSessionDep,
    ZooRefPath,
)
from app.concerns import ConcernReadModel, Filters, ListRequest
from app.core.errors import DomainError
from app.core.lru import LRUCache
from app.models import Animal, Enclosure, Gift, Species, WelfareIncident, Zoo
from app.models.base import row_id, utcnow
from app.models.enums import Category, Origin
from app.pages import forms
from app.pages.charts import bars, timeline
from app.pages.render import etag_of, page, render, respond, stylesheet, stylesheet_tag
from app.services import animals as animal_service
from app.services import common
from app.services import enclosures as enclosure_service
from app.services import gifts as gift_service
from app.services import incidents as incident_service
from app.services import replies as reply_service
from app.services import reports as report_service
from app.services import species as species_service
from app.services import submissions as submission_service
from app.services import zoos as zoo_service
from app.services.zoos import ZooSort

router = APIRouter(include_in_schema=False)

RANKED_PER_PAGE = 100
LISTED = 500  # a page's enclosures, gifts, movements, incidents, reports at most
CONCERNS_PER_PAGE = 20  # a zoo page's concern items; the rest on its next pages
ANIMALS_SHOWN = 50  # a zoo page's animals; the API lists them all
FOUND = 20  # search results of each kind
FORM_ZOOS = 5000  # the report form's choice of zoo
TIMELINE_DAYS = 365
PAGE_TTL_S = 60.0  # a rendered zoo page is kept at most this long
# Kept pages are compressed (a tenth of their size), so a thousand zoos' pages fit.
PAGE_CACHE_BYTES = 16 * 1024 * 1024
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
        found["zoos"], _ = zoo_service.list_zoos(session=session, q=text, limit=FOUND, offset=0)
        found["animals"] = animal_service.list_animals(session=session, q=text, limit=FOUND).items
        found["species"], _ = species_service.list_species(
            session=session, q=text, limit=FOUND, offset=0
        )
    zoos = {z.id: z for z in found["zoos"]}
    return page(request, "search.html", {"q": text, "found": found, "zoos": zoos})


def _records(session: Any, zoo: Zoo) -> dict[str, Any]:
    ref = str(row_id(zoo))
    listed = animal_service.list_animals(session=session, zoo_ref=ref, limit=ANIMALS_SHOWN)
    enclosures, enclosure_total = enclosure_service.list_enclosures(
        session=session, zoo_ref=ref, limit=LISTED, offset=0
    )
    gifts, gift_total = gift_service.list_gifts(
        session=session, recipient_zoo_ref=ref, limit=LISTED, offset=0
    )
    zoo_id = row_id(zoo)
    charts = [
        bars(
            "by-category",
            "Incidents by category",
            common.counts(session, WelfareIncident, "category", zoo_id=zoo_id),
            list(Category),
        ),
        bars(
            "by-severity",
            "Incidents by severity",
            common.counts(session, WelfareIncident, "severity", zoo_id=zoo_id),
            range(1, 6),
        ),
        bars(
            "by-origin",
            "Animals by origin",
            common.counts(session, Animal, "origin", zoo_id=zoo_id),
            list(Origin),
        ),
    ]
    return {
        "charts": charts,
        "animals": listed.items,
        "animal_total": listed.total,
        "species": common.by_ids(session, Species, (a.species_id for a in listed.items)),
        "enclosures": {e.id: e for e in enclosures},
        "enclosure_total": enclosure_total,
        "gifts": gifts,
        "gift_total": gift_total,
    }


@dataclass(frozen=True)
class CachedPage:
    packed: bytes  # the page, zlib-compressed
    etag: str
    unversioned: tuple[Any, ...]  # zoo_service.unversioned_state before it was rendered
    at: float  # time.monotonic() when rendered or last found current


@router.get("/zoos/{zoo}", name="page_zoo")
async def zoo_page(
    request: Request,
    session: ReadSessionDep,
    concerns: ConcernsDep,
    zoo: ZooRefPath,
    number: Annotated[int, Query(alias="page", ge=1, le=100_000)] = 1,
) -> Response:
    """The zoo's concern list with every flag's reason (CONCERNS_PER_PAGE at a time), its
    charts, then its animals, enclosures and the gifts it received.

    Kept rendered while the list's ETag (the zoo's concern_version, which every write of its
    animals, enclosures, incidents and name moves) and the day are the same. What moves no
    version (the zoo's other fields, the gifts it received) is compared once the page is
    PAGE_TTL_S old, so such a change shows within that time."""
    offset = (number - 1) * CONCERNS_PER_PAGE
    listing = ListRequest(Filters(), CONCERNS_PER_PAGE, offset, False)
    rendered = await concerns.zoo_list(zoo, listing)  # a 404 for a zoo that does not exist
    cache: LRUCache = request.app.state.page_cache
    key = ("zoo", rendered.etag, utcnow().date(), number)
    kept: CachedPage | None = cache.get(key)
    if kept is not None and time.monotonic() - kept.at >= PAGE_TTL_S:
        state = await run_in_threadpool(zoo_service.unversioned_state, session=session, ref=zoo)
        kept = replace(kept, at=time.monotonic()) if state == kept.unversioned else None
        if kept is not None:
            cache.put(key, kept, size=len(kept.packed))
    if kept is None:
        kept = await run_in_threadpool(_zoo_page, request, session, concerns, zoo, rendered, number)
        cache.put(key, kept, size=len(kept.packed))
    return respond(request, zlib.decompress(kept.packed), kept.etag)


def _zoo_page(
    request: Request,
    session: Any,
    concerns: ConcernReadModel,
    ref: str,
    rendered: Any,
    number: int,
) -> CachedPage:
    # Read first: a change while the page renders is then seen at the next comparison.
    unversioned = zoo_service.unversioned_state(session=session, ref=ref)
    zoo = zoo_service.get_by_ref(session=session, ref=ref)
    listed = json.loads(rendered.body)
    context = {
        "zoo": zoo,
        "concerns": listed,
        "page_number": number,
        "pages": max(1, -(-listed["total"] // CONCERNS_PER_PAGE)),
        "first_item": (number - 1) * CONCERNS_PER_PAGE + 1,
        "timeline": timeline(
            "timeline",
            "Concern score over the last 12 months",
            concerns.timeline(session, row_id(zoo), TIMELINE_DAYS),
        ),
    }
    context |= _records(session, zoo)
    body = render(request, "zoo.html", context)
    return CachedPage(zlib.compress(body, 6), etag_of(body), unversioned, time.monotonic())


def _animal_records(session: Any, animal: Animal) -> dict[str, Any]:
    zoo = zoo_service.get_by_ref(session=session, ref=str(animal.zoo_id))
    moves, _ = animal_service.movements(session=session, animal=animal, limit=LISTED)
    incidents = incident_service.list_incidents(
        session=session, animal_id=row_id(animal), limit=LISTED
    )
    places = {m.from_enclosure_id for m in moves} | {m.to_enclosure_id for m in moves}
    zoos = {m.from_zoo_id for m in moves} | {m.to_zoo_id for m in moves}
    return {
        "zoo": zoo,
        "species": common.by_ids(session, Species, [animal.species_id])[animal.species_id],
        "enclosure": common.by_ids(session, Enclosure, [animal.enclosure_id]).get(
            animal.enclosure_id or 0
        ),
        "gift": common.by_ids(session, Gift, [animal.gift_id]).get(animal.gift_id or 0),
        "movements": moves,
        "places": common.by_ids(session, Enclosure, places),
        "zoos": common.by_ids(session, Zoo, zoos),
        "incidents": incidents.items,
        "incident_total": incidents.total,
    }


@router.get("/animals/{animal_id}", name="page_animal")
def animal_page(
    request: Request, session: ReadSessionDep, concerns: ConcernsDep, animal: AnimalDep
) -> Response:
    """An animal: its species and status, origin and gift, enclosure, movements, flags and
    incidents."""
    context = {"animal": animal, "concern": concerns.animal(session, animal)}
    context |= _animal_records(session, animal)
    return page(request, "animal.html", context)


@router.get("/gifts/{gift_id}", name="page_gift")
def gift_page(
    request: Request, session: ReadSessionDep, concerns: ConcernsDep, gift: GiftDep
) -> Response:
    """A gift: who gave it to whom and when, what it brought and where those animals are
    now, with their flags."""
    animals, total = gift_service.list_animals(session=session, gift=gift, limit=LISTED, offset=0)
    context = {
        "gift": gift,
        "animals": animals,
        "animal_total": total,
        "flags": {row_id(a): concerns.animal(session, a) for a in animals},
        "zoos": common.by_ids(session, Zoo, [a.zoo_id for a in animals] + [gift.recipient_zoo_id]),
        "species": common.by_ids(session, Species, (a.species_id for a in animals)),
    }
    return page(request, "gift.html", context)


@router.get("/incidents/{incident_id}", name="page_incident")
def incident_page(request: Request, session: ReadSessionDep, incident: IncidentDep) -> Response:
    """An incident: its status, severity and category, its audit trail, the public fields of
    its reports and the zoo's replies."""
    history, _ = incident_service.history(
        session=session, incident=incident, viewer=None, limit=LISTED, offset=0
    )
    reports, report_total = report_service.list_for_incident(
        session=session, incident=incident, limit=LISTED, offset=0
    )
    replies, _ = reply_service.list_replies(
        session=session, incident=incident, limit=LISTED, offset=0
    )
    animal_id = incident.animal_id or 0
    context = {
        "incident": incident,
        "zoo": zoo_service.get_by_ref(session=session, ref=str(incident.zoo_id)),
        "animal": common.by_ids(session, Animal, [animal_id]).get(animal_id),
        "history": history,
        # Public fields only: no viewer, so never a reporter's name or contact.
        "reports": [report_service.to_public(r, None) for r in reports],
        "report_total": report_total,
        "replies": replies,
    }
    return page(request, "incident.html", context)


def _form_context(session: Any, form: dict[str, str]) -> dict[str, Any]:
    """The form's choices: every zoo, and the chosen zoo's animals and enclosures."""
    zoos, _ = zoo_service.list_zoos(
        session=session, country_code=None, q=None, sort=ZooSort.name, limit=FORM_ZOOS, offset=0
    )
    chosen = form.get("zoo_id", "")
    animals: Sequence[Animal] = []
    enclosures: Sequence[Enclosure] = []
    if chosen.isdigit():
        animals = _records(session, zoo_service.get_by_ref(session=session, ref=chosen))["animals"]
        enclosures, _ = enclosure_service.list_enclosures(
            session=session, zoo_ref=chosen, limit=LISTED, offset=0
        )
    return {
        "form": form,
        "zoos": zoos,
        "animals": animals,
        "enclosures": enclosures,
        "categories": list(Category),
    }


@router.get("/report", name="page_report_form")
def report_form(
    request: Request,
    session: ReadSessionDep,
    zoo: Annotated[str | None, Query(max_length=80)] = None,
) -> Response:
    """The public report form; `?zoo=` (a slug or id) chooses the zoo and lists its animals."""
    form: dict[str, str] = {}
    if zoo:
        form["zoo_id"] = str(row_id(zoo_service.get_by_ref(session=session, ref=zoo)))
    context = _form_context(session, form) | {"errors": {}}
    return page(request, "report.html", context)


@router.post("/report", name="page_report_submit")
async def report_submit(
    request: Request, budget: SubmissionBudgetDep, session: WriteSessionDep
) -> Response:
    """Files the form as a public submission (pending moderation), as POST /api/v1/submissions
    does, and shows its receipt once; a form in error is shown again with every message."""
    form = forms.read(await request.body())
    submission_in, errors = forms.submission(form)
    if submission_in is None:
        context = await run_in_threadpool(_form_context, session, form)
        return page(request, "report.html", context | {"errors": errors}, status=422)
    try:
        created, receipt = await run_in_threadpool(
            submission_service.create, session=session, submission_in=submission_in
        )
    except DomainError as exc:  # a zoo that pauses submissions, an animal of another zoo
        context = await run_in_threadpool(_form_context, session, form)
        errors = {"form": [exc.detail]} | {
            str(e["location"][-1]): [e["message"]] for e in exc.errors or ()
        }
        return page(request, "report.html", context | {"errors": errors}, status=exc.status)
    context = {"submission": created, "receipt": receipt}
    return page(request, "report_received.html", context, status=202)
