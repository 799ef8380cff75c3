"""Rules on how a CITES-listed animal crossed a border: with no permit reference on record,
with no trade record of the crossing in the CITES Trade Database, or to or from a country the
Convention did not bind that day.

A crossing is an arrival from another country: the animal's gift, from the donor's country to
the recipient's, on its `arrived_on` (else the gift's day); or a transfer between zoos in two
countries, on the day of the move (app/records/movements.py). The law that applied is the
listing in force on that day (app/records/listings.py): a species with dated CITES listings is
listed on a day when one is in force then; one without, by its current appendix. A country was
outside the Convention on a day when it became a Party later, or when a source says it never
did; a country not recorded either way raises nothing.
"""

from typing import Any

from sqlalchemy import (
    Float,
    Integer,
    String,
    and_,
    case,
    cast,
    exists,
    extract,
    func,
    literal,
    or_,
    select,
    union_all,
)
from sqlalchemy.orm import aliased
from sqlalchemy.sql import Select, Subquery
from sqlmodel import col

from app.concerns.rules.base import Context, Flag, Rule, RuleGroup, number, subject_animals, when
from app.models import (
    Animal,
    AnimalMovement,
    Country,
    Gift,
    Species,
    SpeciesStatus,
    TradeRecord,
    Zoo,
)
from app.models.enums import Origin
from app.models.listing import ListingKind
from app.models.movement import MovementKind
from app.models.trade import TERM_LIVE
from app.records.listings import value_in_force

TRADE_ORIGINS = (Origin.diplomatic_gift, Origin.purchase, Origin.exchange)
CITES_SEVERITY = {"I": 4, "II": 3, "III": 2}
NON_PARTY_SEVERITY = {"I": 4, "II": 3, "III": 2}
UNMATCHED_SEVERITY = {"I": 3, "II": 2, "III": 1}


def by_appendix(appendix: Any, severities: dict[str, int]) -> Any:
    return case(
        *((appendix == k, v) for k, v in severities.items()), else_=min(severities.values())
    )


def listed_on(species_id: Any, day: Any) -> Any:
    """The CITES appendix in force for the species on `day` (see the module's docstring)."""
    dated = exists().where(
        col(SpeciesStatus.species_id) == species_id,
        col(SpeciesStatus.kind) == ListingKind.cites,
    )
    return case(
        (and_(day.is_not(None), dated), value_in_force(ListingKind.cites, species_id, day)),
        else_=cast(Species.cites_appendix, String),
    )


def crossings(ctx: Context) -> Subquery:
    """Each crossing of a border by the animals being evaluated: (animal, species, exporter,
    importer, day)."""
    gifts: Any = (
        select(
            col(Animal.id).label("animal_id"),
            col(Animal.species_id).label("species_id"),
            col(Gift.donor_country).label("exporter"),
            col(Gift.recipient_country).label("importer"),
            func.coalesce(Animal.arrived_on, Gift.delivered_on).label("on"),
        )
        .join(Gift, col(Gift.id) == Animal.gift_id)
        .where(subject_animals(ctx), col(Gift.donor_country) != col(Gift.recipient_country))
    )
    source, target = aliased(Zoo), aliased(Zoo)
    transfers: Any = (
        select(
            col(Animal.id).label("animal_id"),
            col(Animal.species_id).label("species_id"),
            col(source.country_code).label("exporter"),
            col(target.country_code).label("importer"),
            col(AnimalMovement.at).label("on"),
        )
        .join(AnimalMovement, col(AnimalMovement.animal_id) == Animal.id)
        .join(source, col(source.id) == AnimalMovement.from_zoo_id)
        .join(target, col(target.id) == AnimalMovement.to_zoo_id)
        .where(
            subject_animals(ctx),
            col(AnimalMovement.kind) == MovementKind.transfer_in,
            col(source.country_code) != col(target.country_code),
        )
    )
    return union_all(gifts, transfers).subquery("crossing")


def _outside(country: Any, day: Any) -> Any:
    """1 when the Convention did not bind the country on `day`, else 0."""
    never = and_(col(country.cites_party_since).is_(None), col(country.source_url).is_not(None))
    return case((or_(never, col(country.cites_party_since) > day), 1), else_=0)


def _latest(query: Select[Any], crossing: Any) -> Subquery:
    """One crossing per animal: its latest (the first by number when two share a day)."""
    order = (crossing.on.desc().nulls_last(), crossing.exporter, crossing.importer)
    rank = func.row_number().over(partition_by=crossing.animal_id, order_by=order)
    return query.add_columns(rank.label("rank")).subquery()


def animal_trade(ctx: Context) -> Select[Any]:
    crossing = crossings(ctx)
    exporter, importer = aliased(Country), aliased(Country)
    appendix = listed_on(crossing.c.species_id, crossing.c.on)
    seen = (
        select(
            crossing.c.animal_id,
            crossing.c.exporter,
            crossing.c.importer,
            crossing.c.on,
            appendix.label("appendix"),
            col(Species.scientific_name).label("taxon"),
            col(exporter.name).label("exporter_name"),
            col(importer.name).label("importer_name"),
            _outside(exporter, crossing.c.on).label("exporter_outside"),
            _outside(importer, crossing.c.on).label("importer_outside"),
            cast(exporter.cites_party_since, String).label("exporter_since"),
            cast(importer.cites_party_since, String).label("importer_since"),
        )
        .join(Species, col(Species.id) == crossing.c.species_id)
        .outerjoin(exporter, col(exporter.code) == crossing.c.exporter)
        .outerjoin(importer, col(importer.code) == crossing.c.importer)
        .subquery("seen")
    )
    year = extract("year", seen.c.on)
    recorded = exists().where(
        col(TradeRecord.taxon) == seen.c.taxon,
        col(TradeRecord.exporter) == seen.c.exporter,
        col(TradeRecord.importer) == seen.c.importer,
        col(TradeRecord.term) == TERM_LIVE,
        col(TradeRecord.year) >= year,
        col(TradeRecord.year) <= year + ctx.settings.concern_trade_years_after,
    )
    listed = seen.c.appendix.is_not(None)
    outside = _latest(
        select(seen).where(listed, or_(seen.c.exporter_outside == 1, seen.c.importer_outside == 1)),
        seen.c,
    )
    unmatched = _latest(
        select(seen).where(listed, seen.c.on.is_not(None), ~recorded),
        seen.c,
    )

    day = func.coalesce(Animal.arrived_on, Gift.delivered_on)
    arrival_appendix = listed_on(Animal.species_id, day)
    undocumented = and_(
        arrival_appendix.is_not(None),
        col(Animal.origin).in_(TRADE_ORIGINS),
        or_(
            col(Gift.id).is_(None),
            col(Gift.cites_permit_ref).is_(None),
            col(Gift.cites_permit_ref) == "",
        ),
    )
    return (
        select(
            col(Animal.id).label("subject_id"),
            col(Animal.zoo_id).label("zoo_id"),
            when(undocumented, by_appendix(arrival_appendix, CITES_SEVERITY)).label(
                "undocumented_severity"
            ),
            arrival_appendix.label("arrival_appendix"),
            cast(Animal.origin, String).label("origin"),
            when(
                outside.c.animal_id.is_not(None),
                by_appendix(outside.c.appendix, NON_PARTY_SEVERITY),
            ).label("non_party_severity"),
            outside.c.appendix.label("np_appendix"),
            outside.c.exporter.label("np_exporter"),
            outside.c.importer.label("np_importer"),
            outside.c.exporter_name.label("np_exporter_name"),
            outside.c.importer_name.label("np_importer_name"),
            cast(outside.c.on, String).label("np_on"),
            cast(outside.c.exporter_outside, Integer).label("np_exporter_outside"),
            cast(outside.c.importer_outside, Integer).label("np_importer_outside"),
            outside.c.exporter_since.label("np_exporter_since"),
            outside.c.importer_since.label("np_importer_since"),
            when(
                unmatched.c.animal_id.is_not(None),
                by_appendix(unmatched.c.appendix, UNMATCHED_SEVERITY),
            ).label("unmatched_severity"),
            unmatched.c.appendix.label("um_appendix"),
            unmatched.c.taxon.label("um_taxon"),
            unmatched.c.exporter.label("um_exporter"),
            unmatched.c.importer.label("um_importer"),
            unmatched.c.exporter_name.label("um_exporter_name"),
            unmatched.c.importer_name.label("um_importer_name"),
            cast(unmatched.c.on, String).label("um_on"),
            cast(literal(ctx.settings.concern_trade_years_after), Float).label("um_years_after"),
        )
        .join(Species, col(Species.id) == Animal.species_id)
        .outerjoin(Gift, col(Gift.id) == Animal.gift_id)
        .outerjoin(outside, and_(outside.c.animal_id == Animal.id, outside.c.rank == 1))
        .outerjoin(unmatched, and_(unmatched.c.animal_id == Animal.id, unmatched.c.rank == 1))
        .where(
            subject_animals(ctx),
            or_(undocumented, outside.c.animal_id.is_not(None), unmatched.c.animal_id.is_not(None)),
        )
    )


def _country(name: Any, code: Any) -> str:
    return f"{name} ({code})" if name else str(code)


def _day(value: Any) -> str:
    return f"on {value}" if value else "on a day not recorded"


def _undocumented_trade_reason(flag: Flag, titles: dict[int, str]) -> str:
    origin = str(flag.facts["origin"] or "").replace("_", " ")
    return (
        f"a CITES Appendix {flag.facts['appendix']} species that arrived by {origin} "
        "with no CITES permit reference on record"
    )


def _non_party_transfer_reason(flag: Flag, titles: dict[int, str]) -> str:
    f = flag.facts
    codes, details = [], []
    for side in ("exporter", "importer"):
        if number(f[f"{side}_outside"]):
            since = f[f"{side}_since"]
            codes.append(str(f[side]))
            details.append(
                f"{f[side]} became a Party on {since}" if since else f"{f[side]} has never joined"
            )
    who = (
        f"{codes[0]} was not a Party"
        if len(codes) == 1
        else f"{' and '.join(codes)} were not Parties"
    )
    return (
        f"a CITES Appendix {f['appendix']} species moved from "
        f"{_country(f['exporter_name'], f['exporter'])} to "
        f"{_country(f['importer_name'], f['importer'])} {_day(f['on'])}, when {who} to CITES "
        f"({'; '.join(details)}): no CITES permit or trade report covers the move"
    )


def _unmatched_trade_reason(flag: Flag, titles: dict[int, str]) -> str:
    f = flag.facts
    year = int(str(f["on"])[:4])
    after = number(f["years_after"])
    years = (
        str(year)
        if after == 0
        else f"{year} or {year + 1}"
        if after == 1
        else f"{year} to {year + after}"
    )
    return (
        f"a CITES Appendix {f['appendix']} species that came from "
        f"{_country(f['exporter_name'], f['exporter'])} to "
        f"{_country(f['importer_name'], f['importer'])} on {f['on']}; the CITES trade records on "
        f"file have no live {f['taxon']} exported from {f['exporter']} to {f['importer']} in "
        f"{years}"
    )


GROUPS = (
    RuleGroup(
        "animal_trade",
        animal_trade,
        (
            Rule(
                "undocumented_trade",
                "animal",
                "A CITES-listed species (the listing in force when it arrived) that arrived by "
                "gift, purchase or exchange with no permit reference on record.",
                lambda s: {"flag_severity_by_appendix": CITES_SEVERITY},
                severity="undocumented_severity",
                reason=_undocumented_trade_reason,
                facts={"appendix": "arrival_appendix", "origin": "origin"},
            ),
            Rule(
                "unmatched_trade",
                "animal",
                "A CITES-listed species (the listing in force that day) that arrived from "
                "another country, by gift or transfer, with no CITES trade record of its "
                "taxon, live, from that country to the one it arrived in, in the year it "
                "arrived or the years after allowed.",
                lambda s: {
                    "years_after_arrival": s.concern_trade_years_after,
                    "term": TERM_LIVE,
                    "flag_severity_by_appendix": UNMATCHED_SEVERITY,
                },
                severity="unmatched_severity",
                reason=_unmatched_trade_reason,
                facts={
                    "appendix": "um_appendix",
                    "taxon": "um_taxon",
                    "exporter": "um_exporter",
                    "importer": "um_importer",
                    "exporter_name": "um_exporter_name",
                    "importer_name": "um_importer_name",
                    "on": "um_on",
                    "years_after": "um_years_after",
                },
            ),
            Rule(
                "non_party_transfer",
                "animal",
                "A CITES-listed species (the listing in force that day) moved between two "
                "countries, by gift or transfer, when one of them was not a Party to CITES.",
                lambda s: {"flag_severity_by_appendix": NON_PARTY_SEVERITY},
                severity="non_party_severity",
                reason=_non_party_transfer_reason,
                facts={
                    "appendix": "np_appendix",
                    "exporter": "np_exporter",
                    "importer": "np_importer",
                    "exporter_name": "np_exporter_name",
                    "importer_name": "np_importer_name",
                    "on": "np_on",
                    "exporter_outside": "np_exporter_outside",
                    "importer_outside": "np_importer_outside",
                    "exporter_since": "np_exporter_since",
                    "importer_since": "np_importer_since",
                },
            ),
        ),
    ),
)
