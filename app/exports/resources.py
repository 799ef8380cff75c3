"""The package's resources: one CSV per public table, each column a field of that table's
Public schema read by one SQL expression, in the order an import reads them (the id, the
foreign-key ids, the natural keys, then the rest).

What is public is what an anonymous reader of the API sees. So reports carry no reporter
name or contact, no resource names a key (api_key_id, actor_key_id), and nothing is read from
the keys, idempotency records, submissions, webhooks or the change feed's tables.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel
from sqlalchemy import (
    Boolean,
    ColumnElement,
    FromClause,
    Select,
    String,
    Table,
    case,
    cast,
    func,
    select,
    type_coerce,
)

from app.concerns.schemas import ConcernFlag, ConcernItem, Evidence
from app.exports.schema import NEUTRALISED, Field, Kind, public
from app.exports.sql import iso_utc
from app.models import (
    Animal,
    AnimalMovement,
    ApiKey,
    Country,
    Enclosure,
    Gift,
    IncidentEvent,
    IncidentReply,
    Species,
    SpeciesStatus,
    StoredFlag,
    TradeRecord,
    WelfareIncident,
    WelfareReport,
    Zoo,
)
from app.models.animal import AnimalPublic
from app.models.base import table_of
from app.models.country import CountryPublic
from app.models.enclosure import EnclosurePublic
from app.models.gift import GiftPublic
from app.models.incident import IncidentEventPublic, WelfareIncidentPublic
from app.models.listing import SpeciesStatusPublic
from app.models.movement import AnimalMovementPublic
from app.models.reply import IncidentReplyPublic
from app.models.report import WelfareReportPublic
from app.models.species import SpeciesPublic
from app.models.trade import TradeRecordPublic
from app.models.zoo import ZooPublic


@dataclass(frozen=True)
class Column:
    field: Field
    expr: ColumnElement[Any]
    # A time stored as ISO 8601 text (a concern flag's zoo_replied_at), not as UTCDateTime.
    iso_text: bool = False

    def selected(self) -> ColumnElement[Any]:
        """What the statement reads: a stored time as its ISO text, an enumeration's value
        as its text (the database checked it), a list as its JSON text, anything else as it
        is."""
        if self.field.kind is Kind.datetime and not self.iso_text:
            return iso_utc(self.expr).label(self.field.name)
        if self.field.joined is not None:
            # Lists (JSON) as their JSON text, decoded only when not empty (most reports have
            # no evidence links); psycopg would decode every one.
            return cast(self.expr, String).label(self.field.name)
        if self.field.enum is not None:
            return type_coerce(self.expr, String).label(self.field.name)
        return self.expr.label(self.field.name)


@dataclass(frozen=True)
class ForeignKey:
    field: str
    resource: str
    reference: str = "id"

    def descriptor(self) -> dict[str, Any]:
        return {
            "fields": self.field,
            "reference": {"resource": self.resource, "fields": self.reference},
        }


@dataclass(frozen=True)
class Resource:
    name: str
    title: str
    description: str
    columns: tuple[Column, ...]
    source: FromClause  # the table, joined to those its natural-key columns come from
    order: ColumnElement[Any]  # the primary key
    primary_key: str = "id"
    foreign_keys: tuple[ForeignKey, ...] = ()

    @property
    def path(self) -> str:
        return f"{self.name}.csv"

    @property
    def fields(self) -> tuple[Field, ...]:
        return tuple(c.field for c in self.columns)

    def statement(self) -> Select[Any]:
        exprs = [c.selected() for c in self.columns]
        return select(*exprs).select_from(self.source).order_by(self.order)

    def descriptor(self) -> dict[str, Any]:
        schema: dict[str, Any] = {
            "fields": [f.descriptor() for f in self.fields],
            "primaryKey": [self.primary_key],
            "missingValues": [""],
        }
        if self.foreign_keys:
            schema["foreignKeys"] = [fk.descriptor() for fk in self.foreign_keys]
        return {
            "profile": "tabular-data-resource",
            "name": self.name,
            "path": self.path,
            "title": self.title,
            "description": f"{self.description} {NEUTRALISED}",
            "format": "csv",
            "mediatype": "text/csv",
            "encoding": "utf-8",
            "dialect": {
                "delimiter": ",",
                "lineTerminator": "\r\n",
                "quoteChar": '"',
                "doubleQuote": True,
                "header": True,
            },
            "schema": schema,
        }


# Descriptions of the fields whose Public schema has none.
COMMON = {
    "id": "The record's id in the registry (its id in the API).",
    "zoo_id": "The zoo (zoos.id).",
    "animal_id": "The animal (animals.id); empty when the record is not about one animal.",
    "enclosure_id": "The enclosure (enclosures.id); empty when none is named.",
    "incident_id": "The incident (incidents.id).",
    "created_at": "When the record was created (UTC).",
    "updated_at": "When the record last changed (UTC).",
    "notes": "Free-text notes.",
    "source_url": "Where the facts come from (http or https).",
}


def _columns(
    schema: type[BaseModel],
    table: Table,
    names: Sequence[str],
    descriptions: dict[str, str] | None = None,
    *,
    joined: str = ";",
) -> list[Column]:
    """The Public schema's fields `names`, each read from the table's column of that name; a
    list written with its items joined by `joined`."""
    own = descriptions or {}
    return [
        Column(public(schema, n, own.get(n) or COMMON.get(n), joined=joined), table.c[n])
        for n in names
    ]


def _ref(name: str, expr: ColumnElement[Any], description: str, required: bool) -> Column:
    """A natural-key column read from a joined table (a slug, a name, a title)."""
    return Column(Field(name, Kind.string, description, required=required), expr)


def _fks(*pairs: tuple[str, str]) -> tuple[ForeignKey, ...]:
    return tuple(ForeignKey(field, resource) for field, resource in pairs)


ZOO = table_of(Zoo)
SPECIES = table_of(Species)
LISTING = table_of(SpeciesStatus)
ENCLOSURE = table_of(Enclosure)
GIFT = table_of(Gift)
ANIMAL = table_of(Animal)
MOVEMENT = table_of(AnimalMovement)
INCIDENT = table_of(WelfareIncident)
REPORT = table_of(WelfareReport)
EVENT = table_of(IncidentEvent)
REPLY = table_of(IncidentReply)
TRADE = table_of(TradeRecord)
COUNTRY = table_of(Country)
FLAG = table_of(StoredFlag)
KEY = table_of(ApiKey)

COUNTRIES = Resource(
    "countries",
    "Countries",
    "Every ISO 3166-1 country, current and former, and since when it is a Party to CITES.",
    tuple(
        _columns(
            CountryPublic,
            COUNTRY,
            ("code", "name", "former", "cites_party_since", "source_url", "updated_at"),
        )
    ),
    COUNTRY,
    COUNTRY.c.code,
    primary_key="code",
)

ZOOS = Resource(
    "zoos",
    "Zoos",
    "Institutions that keep animals; a zoo is known by its slug.",
    tuple(
        _columns(
            ZooPublic,
            ZOO,
            ("id", "slug", "name", "city", "country_code", "latitude", "longitude"),
            {
                "slug": "The zoo's short name in URLs (lower-case words and hyphens); unique.",
                "name": "The zoo's name.",
                "city": "The city it is in.",
                "country_code": "The country it is in (countries.code, ISO 3166-1 alpha-2).",
                "latitude": "Degrees north (negative: south), WGS 84.",
                "longitude": "Degrees east (negative: west), WGS 84.",
            },
        )
        + _columns(
            ZooPublic,
            ZOO,
            ("opened_year", "notes", "submissions_paused", "created_at", "updated_at"),
            {"opened_year": "The year it opened."},
        )
    ),
    ZOO,
    ZOO.c.id,
    foreign_keys=(ForeignKey("country_code", "countries", "code"),),
)

SPECIES_RESOURCE = Resource(
    "species",
    "Species",
    "What an animal is, and what it needs: group size, space and climate.",
    tuple(
        _columns(
            SpeciesPublic,
            SPECIES,
            (
                "id",
                "scientific_name",
                "common_name",
                "taxon_class",
                "is_domestic",
                "iucn_category",
                "cites_appendix",
                "social_structure",
                "min_group_size",
                "min_area_m2",
                "climate_zones",
                "updated_at",
            ),
            {
                "scientific_name": "The scientific (Latin) name; unique.",
                "common_name": "The English common name.",
                "taxon_class": "The taxonomic class.",
                "is_domestic": "A domestic form (it has no IUCN category).",
                "iucn_category": "The IUCN Red List category in force today; empty: none.",
                "cites_appendix": "The CITES Appendix in force today; empty: not listed.",
                "social_structure": "How the species lives: alone, in pairs or in groups.",
                "min_group_size": "The smallest group it should be kept in.",
                "min_area_m2": "The least space it needs, in square metres.",
                "climate_zones": "The climates it is suited to.",
            },
        )
    ),
    SPECIES,
    SPECIES.c.id,
)

SPECIES_STATUSES = Resource(
    "species_statuses",
    "Dated listings",
    "A species' IUCN Red List categories and CITES Appendices over time, each from "
    "valid_from to valid_to (both days included).",
    (
        *_columns(
            SpeciesStatusPublic,
            LISTING,
            ("id", "species_id"),
            {"species_id": "The species (species.id)."},
        ),
        _ref("species", SPECIES.c.scientific_name, "The species' scientific name.", True),
        *_columns(
            SpeciesStatusPublic,
            LISTING,
            ("kind", "value", "valid_from", "valid_to", "source_url"),
            {"kind": "iucn: a Red List category; cites: a CITES Appendix."},
        ),
    ),
    LISTING.join(SPECIES, SPECIES.c.id == LISTING.c.species_id),
    LISTING.c.id,
    foreign_keys=_fks(("species_id", "species")),
)

ENCLOSURES = Resource(
    "enclosures",
    "Enclosures",
    "Where animals are kept, with the numbers the welfare rules check.",
    (
        *_columns(EnclosurePublic, ENCLOSURE, ("id", "zoo_id")),
        _ref("zoo", ZOO.c.slug, "The zoo's slug.", True),
        *_columns(
            EnclosurePublic,
            ENCLOSURE,
            (
                "name",
                "kind",
                "area_m2",
                "capacity",
                "climate",
                "has_enrichment",
                "last_inspected_on",
                "notes",
                "updated_at",
            ),
            {
                "name": "The enclosure's name; unique within its zoo.",
                "kind": "What sort of enclosure it is.",
                "area_m2": "Its area in square metres.",
                "capacity": "How many animals it is meant for.",
                "climate": "The climate it offers.",
                "has_enrichment": "Whether it offers enrichment (things to do, explore, use).",
                "last_inspected_on": "The day it was last inspected.",
            },
        ),
    ),
    ENCLOSURE.join(ZOO, ZOO.c.id == ENCLOSURE.c.zoo_id),
    ENCLOSURE.c.id,
    foreign_keys=_fks(("zoo_id", "zoos")),
)

GIFTS = Resource(
    "gifts",
    "Gifts",
    "Origin transfers (diplomatic gifts and others) that brought animals to a zoo; a gift is "
    "known by its title and delivery day.",
    (
        *_columns(
            GiftPublic,
            GIFT,
            ("id", "recipient_zoo_id", "title", "delivered_on", "donor_name", "donor_country"),
            {
                "recipient_zoo_id": "The zoo that received it (zoos.id), if recorded.",
                "title": "What the gift is called.",
                "delivered_on": "The day it was delivered.",
                "donor_name": "Who gave it.",
                "donor_country": "The donor's country (countries.code).",
            },
        ),
        *_columns(
            GiftPublic,
            GIFT,
            ("recipient_name", "recipient_country"),
            {
                "recipient_name": "Who received it.",
                "recipient_country": "The recipient's country (countries.code).",
            },
        ),
        _ref("recipient_zoo", ZOO.c.slug, "The receiving zoo's slug; empty: none.", False),
        *_columns(
            GiftPublic,
            GIFT,
            (
                "occasion",
                "transport",
                "cites_permit_ref",
                "source_url",
                "notes",
                "updated_at",
            ),
            {
                "occasion": "Why it was given.",
                "transport": "How the animals travelled.",
                "cites_permit_ref": "The CITES permit's reference, if one is known.",
            },
        ),
    ),
    GIFT.outerjoin(ZOO, ZOO.c.id == GIFT.c.recipient_zoo_id),
    GIFT.c.id,
    foreign_keys=(
        ForeignKey("recipient_zoo_id", "zoos"),
        ForeignKey("donor_country", "countries", "code"),
        ForeignKey("recipient_country", "countries", "code"),
    ),
)

ANIMALS = Resource(
    "animals",
    "Animals",
    "Individual animals and group records (count above 1); an animal is known by its zoo "
    "and identifier.",
    (
        *_columns(
            AnimalPublic,
            ANIMAL,
            ("id", "zoo_id", "species_id", "enclosure_id", "gift_id"),
            {
                "zoo_id": "The zoo that holds it (zoos.id).",
                "species_id": "Its species (species.id).",
                "enclosure_id": "Its enclosure (enclosures.id); empty: not recorded.",
                "gift_id": "The gift that brought it (gifts.id); empty: none.",
            },
        ),
        _ref("zoo", ZOO.c.slug, "The zoo's slug.", True),
        *_columns(
            AnimalPublic,
            ANIMAL,
            ("identifier",),
            {"identifier": "The zoo's identifier for it; unique within its zoo."},
        ),
        _ref("species", SPECIES.c.scientific_name, "Its species' scientific name.", True),
        _ref("enclosure", ENCLOSURE.c.name, "Its enclosure's name; empty: none.", False),
        _ref("gift_title", GIFT.c.title, "The title of the gift that brought it.", False),
        Column(
            Field("gift_delivered_on", Kind.date, "The day that gift was delivered."),
            GIFT.c.delivered_on,
        ),
        *_columns(
            AnimalPublic,
            ANIMAL,
            (
                "name",
                "sex",
                "count",
                "birth_date",
                "origin",
                "arrived_on",
                "status",
                "notes",
                "created_at",
                "updated_at",
            ),
            {
                "name": "Its name, if it has one.",
                "sex": "male, female, unknown, or mixed (a group).",
                "count": "How many animals the record stands for (1: an individual).",
                "birth_date": "The day it was born, if known.",
                "origin": "How it came to the registry's knowledge of its zoo.",
                "arrived_on": "The day it arrived at the zoo.",
                "status": "alive, deceased or transferred_out.",
            },
        ),
    ),
    ANIMAL.join(ZOO, ZOO.c.id == ANIMAL.c.zoo_id)
    .join(SPECIES, SPECIES.c.id == ANIMAL.c.species_id)
    .outerjoin(ENCLOSURE, ENCLOSURE.c.id == ANIMAL.c.enclosure_id)
    .outerjoin(GIFT, GIFT.c.id == ANIMAL.c.gift_id),
    ANIMAL.c.id,
    foreign_keys=_fks(
        ("zoo_id", "zoos"),
        ("species_id", "species"),
        ("enclosure_id", "enclosures"),
        ("gift_id", "gifts"),
    ),
)

ANIMAL_MOVEMENTS = Resource(
    "animal_movements",
    "Animal movements",
    "Where each animal has been: arrivals, enclosure moves, transfers out of a zoo and into "
    "another, and status changes. The places are ids as they were (a zoo or enclosure "
    "since deleted keeps its id here).",
    tuple(
        _columns(
            AnimalMovementPublic,
            MOVEMENT,
            (
                "id",
                "animal_id",
                "at",
                "kind",
                "from_zoo_id",
                "to_zoo_id",
                "from_enclosure_id",
                "to_enclosure_id",
                "gift_id",
                "from_status",
                "to_status",
                "note",
            ),
            {
                "animal_id": "The animal (animals.id).",
                "at": "The day of the movement.",
                "kind": "arrival, enclosure_move, transfer_out, transfer_in or status_change.",
                "from_zoo_id": "The zoo it left (a zoo id), if any.",
                "to_zoo_id": "The zoo it went to (a zoo id), if any.",
                "from_enclosure_id": "The enclosure it left (an enclosure id), if any.",
                "to_enclosure_id": "The enclosure it went to (an enclosure id), if any.",
                "gift_id": "The gift it travelled as (a gift id), if any.",
                "from_status": "Its status before.",
                "to_status": "Its status after.",
                "note": "A note on the movement.",
            },
        )
    ),
    MOVEMENT,
    MOVEMENT.c.id,
    foreign_keys=_fks(("animal_id", "animals")),
)

_INCIDENT_HELP = {
    "category": "What the incident is about (the Five Domains and more).",
    "severity_set_by_inspector": "Whether an inspector set the severity (reports then no "
    "longer raise it).",
    "status": "reported, under_review, confirmed, resolved or dismissed.",
    "title": "What happened, in a line.",
    "first_observed_at": "When it was first observed (UTC).",
    "last_observed_at": "When it was last observed (UTC).",
    "report_count": "How many reports feed it.",
    "version": "Its version; each change adds one.",
}

INCIDENTS = Resource(
    "incidents",
    "Incidents",
    "Triaged welfare cases, each fed by one or more reports.",
    (
        *_columns(
            WelfareIncidentPublic,
            INCIDENT,
            (
                "id",
                "zoo_id",
                "animal_id",
                "enclosure_id",
                "category",
                "severity",
                "severity_set_by_inspector",
                "status",
                "title",
                "first_observed_at",
                "last_observed_at",
                "report_count",
                "created_at",
                "updated_at",
                "version",
                "reply_count",
                "last_replied_at",
            ),
            _INCIDENT_HELP,
        ),
        Column(
            Field(
                "replied",
                Kind.boolean,
                "Whether the zoo has replied (incident_replies).",
                required=True,
            ),
            type_coerce(INCIDENT.c.reply_count > 0, Boolean),
        ),
    ),
    INCIDENT,
    INCIDENT.c.id,
    foreign_keys=_fks(("zoo_id", "zoos"), ("animal_id", "animals"), ("enclosure_id", "enclosures")),
)

REPORTS = Resource(
    "reports",
    "Reports",
    "What reporters saw, each feeding an incident. Never the reporter's name or contact: "
    "they are private.",
    tuple(
        _columns(
            WelfareReportPublic,
            REPORT,
            (
                "id",
                "incident_id",
                "zoo_id",
                "animal_id",
                "enclosure_id",
                "category",
                "severity",
                "title",
                "description",
                "observed_at",
                "source_url",
                "evidence_urls",
                "created_at",
            ),
            {
                "incident_id": "The incident it feeds (incidents.id).",
                "category": "What the report is about.",
                "severity": "The reporter's estimate: 1 minimal, 2 low, 3 moderate, "
                "4 serious, 5 severe.",
                "title": "What was seen, in a line.",
                "description": "What was seen, in words.",
                "observed_at": "When it was seen (UTC).",
                "source_url": "A published source (http or https), if any.",
                "evidence_urls": "Links to evidence (http or https); never fetched.",
            },
            joined=" ",  # URLs hold no spaces, and may hold semicolons
        )
    ),
    REPORT,
    REPORT.c.id,
    foreign_keys=_fks(
        ("incident_id", "incidents"),
        ("zoo_id", "zoos"),
        ("animal_id", "animals"),
        ("enclosure_id", "enclosures"),
    ),
)
INCIDENT_EVENTS = Resource(
    "incident_events",
    "Incident events",
    "Each incident's audit trail: created, reports added, status, severity and title "
    "changes, replies. Who acted is shown as a role, never as a key.",
    (
        *_columns(
            IncidentEventPublic,
            EVENT,
            ("id", "incident_id", "at"),
            {"at": "When it happened (UTC)."},
        ),
        Column(public(IncidentEventPublic, "actor_role"), KEY.c.role),
        *_columns(
            IncidentEventPublic,
            EVENT,
            (
                "kind",
                "from_status",
                "to_status",
                "from_severity",
                "to_severity",
                "report_id",
                "note",
            ),
            {
                "kind": "What happened.",
                "from_status": "The status before a status change.",
                "to_status": "The status after a status change.",
                "from_severity": "The severity before a severity change.",
                "to_severity": "The severity after a severity change.",
                "report_id": "The report added (reports.id), for report_added.",
                "note": "The note given with the change.",
            },
        ),
    ),
    EVENT.outerjoin(KEY, KEY.c.id == EVENT.c.actor_key_id),
    EVENT.c.id,
    foreign_keys=_fks(("incident_id", "incidents"), ("report_id", "reports")),
)

INCIDENT_REPLIES = Resource(
    "incident_replies",
    "Replies",
    "The zoos' answers to incidents about them, by their representatives.",
    tuple(
        _columns(
            IncidentReplyPublic,
            REPLY,
            ("id", "incident_id", "zoo_id", "body", "created_at"),
            {"zoo_id": "The zoo that replied (zoos.id).", "body": "The reply."},
        )
    ),
    REPLY,
    REPLY.c.id,
    foreign_keys=_fks(("incident_id", "incidents"), ("zoo_id", "zoos")),
)

TRADE_RECORDS = Resource(
    "trade_records",
    "CITES trade records",
    "Rows of the CITES Trade Database's comparative tabulation, as imported.",
    tuple(
        _columns(
            TradeRecordPublic,
            TRADE,
            (
                "id",
                "year",
                "appendix",
                "taxon",
                "taxon_class",
                "taxon_order",
                "family",
                "genus",
                "importer",
                "exporter",
                "origin",
                "importer_quantity",
                "exporter_quantity",
                "term",
                "unit",
                "purpose",
                "source",
                "imported_at",
            ),
            {
                "taxon_class": "The taxon's class, as the file names it.",
                "taxon_order": "The taxon's order, as the file names it.",
                "family": "The taxon's family, as the file names it.",
                "genus": "The taxon's genus, as the file names it.",
                "imported_at": "When the row was imported or last updated (UTC).",
            },
        )
    ),
    TRADE,
    TRADE.c.id,
)

CONCERN_FLAGS = Resource(
    "concern_flags",
    "Concern flags",
    "The concern flags of every zoo as of the export: each rule a subject (an animal or an "
    "enclosure) raises, with its reason and the incidents behind it, as GET "
    "/api/v1/zoos/{zoo}/concerns lists them.",
    (
        Column(Field("id", Kind.integer, COMMON["id"], required=True), FLAG.c.id),
        Column(public(ConcernItem, "zoo_id", COMMON["zoo_id"]), FLAG.c.zoo_id),
        Column(public(ConcernItem, "subject_type"), FLAG.c.subject_type),
        Column(
            public(ConcernItem, "subject_id", "The animal's or the enclosure's id."),
            FLAG.c.subject_id,
        ),
        Column(
            Field("animal_id", Kind.integer, "The animal (animals.id), for an animal's flag."),
            case((FLAG.c.subject_type == "animal", FLAG.c.subject_id)),
        ),
        Column(
            Field(
                "enclosure_id",
                Kind.integer,
                "The enclosure (enclosures.id), for an enclosure's flag.",
            ),
            case((FLAG.c.subject_type == "enclosure", FLAG.c.subject_id)),
        ),
        Column(public(ConcernFlag, "rule", "The rule (GET /api/v1/concern-rules)."), FLAG.c.rule),
        Column(
            public(ConcernFlag, "severity", "1 minimal, 2 low, 3 moderate, 4 serious, 5 severe."),
            FLAG.c.severity,
        ),
        Column(public(ConcernFlag, "reason", "Why the rule raised it, in words."), FLAG.c.reason),
        Column(
            public(ConcernFlag, "incident_ids", "The incidents behind it (incidents.id)."),
            func.replace(FLAG.c.incident_ids, ",", ";"),
        ),
        Column(
            public(ConcernFlag, "evidence"),
            case(
                {rank: level.value for rank, level in enumerate(Evidence, start=1)},
                value=FLAG.c.evidence,
            ),
        ),
        Column(public(ConcernFlag, "zoo_replied_at"), FLAG.c.zoo_replied_at, iso_text=True),
    ),
    FLAG,
    FLAG.c.id,
    foreign_keys=_fks(("zoo_id", "zoos"), ("animal_id", "animals"), ("enclosure_id", "enclosures")),
)

# Each resource after those it refers to.
RESOURCES: tuple[Resource, ...] = (
    COUNTRIES,
    ZOOS,
    SPECIES_RESOURCE,
    SPECIES_STATUSES,
    ENCLOSURES,
    GIFTS,
    ANIMALS,
    ANIMAL_MOVEMENTS,
    INCIDENTS,
    REPORTS,
    INCIDENT_EVENTS,
    INCIDENT_REPLIES,
    CONCERN_FLAGS,
    TRADE_RECORDS,
)
