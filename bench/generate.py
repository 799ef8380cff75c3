"""Deterministic benchmark registries, generated set-based inside the database.

    python -m bench.generate --url postgresql+psycopg://postgres@127.0.0.1:5432/zwr_bench --size L

Sizes: S (10 zoos, 10,000 animals, 100,000 incidents), L (100 zoos, 100,000 animals,
1,000,000 incidents) and XL (1,000 zoos, 1,000,000 animals, 10,000,000 incidents; PostgreSQL
only), each incident with its report and events, about 30% open. Every zoo holds 1,000 animals
and 10,000 incidents at every size but XS (a tiny one for the generator's tests). The change
feed holds two events per incident, its incident.opened and its report's report.filed, at
positions (and ids) 2n - 1 and 2n, then two per reply (incident.replied, incident.updated),
their data a compact form of what the service writes (the subject's main fields, not its whole
representation).

Besides: an arrival per animal (plus an enclosure move for one in ten with an enclosure and a
status change for the deceased); dated IUCN and CITES listings per species agreeing with the
species' columns; 100 CITES trade records per zoo, all of 2000-2023; a zoo reply to one in ten
dismissed incidents (2% of them); 20 public submissions per zoo (10 pending, 5 rejected, 5
accepted, each of these filed as report k, k its id; its receipt is `bench-receipt-k`); two
webhook subscriptions (zoo 1's every event, delivered; zoo 2's incident.opened, disabled after
its last ten events failed), with their deliveries and attempts. None of these raises or
clears a concern flag: no transfers between zoos, listings in force on the gifts' day as the
species' columns say, trade records of years before every arrival, replies only to dismissed
incidents (which no rule reads), and each accepted submission is its incident's one report.

The schema is rebuilt from the migrations first (every table dropped, then migrated), so the
target database is emptied. Every row comes from an INSERT ... SELECT over a number series
(generate_series on PostgreSQL, a recursive CTE on SQLite), with pseudo-random values from a
multiplicative hash of the row number: the same size always gives the same registry (but for
the encrypted fields, whose tokens differ at each run). The large tables' secondary indexes are
built after their load. On PostgreSQL (4-5 minutes at XL on 2 cores) so are the primary
keys no foreign key refers to (LATE_KEYS), the steps run on two connections at once (LANES),
each in its own transaction, each table's rows in order, the large inserts in chunks of CHUNK
rows (a progress line each), and every table is vacuumed and analyzed once loaded.
"""

import argparse
import base64
import hashlib
import os
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from sqlalchemy import Connection, Engine, Index, create_engine, text
from sqlalchemy.engine import make_url
from sqlmodel import SQLModel

import app.models  # noqa: F401 - registers every table's indexes
from app.core import crypto, migrations
from app.core.config import Settings

# The key of the private reporter fields for the bench's throwaway databases (PostgreSQL needs
# one to start): set for this process and the servers and commands it starts, unless given.
BENCH_SECRET_KEY = "YmVuY2gtb25seS1rZXktbm90LWEtc2VjcmV0LTAwMDA="
os.environ.setdefault("ZWR_SECRET_KEY", BENCH_SECRET_KEY)
REPORTER_NAMES = 1000
SUBMISSIONS_PER_ZOO = 20
TRADE_RECORDS_PER_ZOO = 100
# Zoo 2's subscription took the incident.opened of its first incidents, the last ten failing.
FAILING_DELIVERIES = 1000
LANES = 2  # PostgreSQL connections loading at once: one per core here
CHUNK = 2_000_000  # rows per INSERT of the large tables on PostgreSQL (a progress line each)


@dataclass(frozen=True)
class Size:
    zoos: int
    animals: int
    incidents: int
    species: int = 50
    enclosures_per_zoo: int = 20
    postgresql_only: bool = False

    @property
    def submissions(self) -> int:
        return self.zoos * SUBMISSIONS_PER_ZOO

    @property
    def trade_records(self) -> int:
        return self.zoos * TRADE_RECORDS_PER_ZOO


SIZES = {
    "S": Size(zoos=10, animals=10_000, incidents=100_000),
    "L": Size(zoos=100, animals=100_000, incidents=1_000_000),
    "XL": Size(zoos=1_000, animals=1_000_000, incidents=10_000_000, postgresql_only=True),
    # A tiny size for tests of the generator itself.
    "XS": Size(zoos=3, animals=300, incidents=3_000, species=12, enclosures_per_zoo=4),
}


def quoted(*values: str) -> tuple[str, ...]:
    return tuple(f"'{v}'" for v in values)


COUNTRIES = ("KP", "RU", "CN", "DE", "FR", "GB", "US", "BR", "IN", "JP", "ZA", "AU")
NOW = "2026-11-29 00:00:00"
DAY = "2026-11-29"
ORIGINS = ("'captive_born'", "'purchase'", "'exchange'", "'rescue'", "'unknown'")
CATEGORIES = tuple(
    f"'{c}'"
    for c in (
        "nutrition",
        "environment",
        "health",
        "behaviour",
        "human_interaction",
        "transport",
        "mortality",
        "other",
    )
)
ENCLOSURE_KINDS = quoted("indoor", "outdoor", "mixed", "aviary", "aquatic", "terrarium")
CLIMATES = quoted("tropical", "arid", "temperate", "cold", "controlled")
REJECTIONS = quoted("Not about an animal kept by this zoo.", "A duplicate of an incident on file.")
REPLIES = quoted(
    "Our vets examined the animal the same week; the full report is available on request.",
    "The keepers have changed the routine described here. We thank the reporter.",
    "We disagree with this account and have sent the inspectors our records.",
)


class Dialect:
    """The few spellings that differ between PostgreSQL and SQLite."""

    def __init__(self, name: str) -> None:
        self.pg = name == "postgresql"

    def series(self, first: int, last: int) -> str:
        """The numbers first..last as column n of `s`, in order."""
        if self.pg:  # in the select list, the function streams (in FROM it is materialized)
            return f"(SELECT CAST(generate_series({first}, {last}) AS BIGINT) AS n) s"
        return f"(SELECT n FROM seq WHERE n BETWEEN {first} AND {last}) s"

    def date(self, iso: str) -> str:
        return f"DATE '{iso}'" if self.pg else f"'{iso}'"

    def now(self) -> str:
        return f"TIMESTAMPTZ '{NOW}+00'" if self.pg else f"'{NOW}.000000'"

    def days_after(self, iso: str, days_expr: str) -> str:
        """A timestamp `days_expr` days after midnight UTC of `iso` (SQLAlchemy's format)."""
        if self.pg:
            return f"(TIMESTAMPTZ '{iso} 00:00:00+00' + ({days_expr}) * INTERVAL '1 day')"
        return f"strftime('%Y-%m-%d %H:%M:%f000', '{iso}', '+' || ({days_expr}) || ' days')"

    def seconds_after(self, timestamp: str, seconds_expr: str) -> str:
        """The timestamp (an SQL expression) plus `seconds_expr` whole seconds."""
        if self.pg:
            return f"({timestamp} + ({seconds_expr}) * INTERVAL '1 second')"
        return f"strftime('%Y-%m-%d %H:%M:%f000', {timestamp}, ({seconds_expr}) || ' seconds')"

    def iso(self, timestamp: str) -> str:
        """A timestamp of whole seconds as the feed renders it: 2026-11-29T00:00:00Z."""
        if self.pg:
            return f"""to_char({timestamp} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')"""
        return f"strftime('%Y-%m-%dT%H:%M:%SZ', {timestamp})"

    def hex12(self, number: str) -> str:
        """An event's id in the feed (app/events/feed.py encode_cursor)."""
        if self.pg:
            return f"lpad(to_hex({number}), 12, '0')"
        return f"printf('%012x', {number})"

    def json(self, expr: str) -> str:
        return f"CAST({expr} AS JSON)" if self.pg else expr

    def true(self) -> str:
        return "TRUE" if self.pg else "1"

    def false(self) -> str:
        return "FALSE" if self.pg else "0"


def h(salt: int, modulo: int) -> str:
    """A deterministic pseudo-random integer in [0, modulo) from the row number n."""
    # A different multiplier per salt: values for different salts are then unrelated (a shared
    # multiplier with an added offset would make them move together modulo small numbers).
    return f"(((n * {2654435761 + 7919 * salt}) % 1000003) % {modulo})"


def pick(salt: int, values: Sequence[str]) -> str:
    """One of `values` (SQL literals), chosen pseudo-randomly per row."""
    return choose(h(salt, len(values)), values)


def choose(index: str, values: Sequence[str]) -> str:
    """values[index] (SQL literals, an SQL integer expression in [0, len))."""
    whens = " ".join(f"WHEN {i} THEN {v}" for i, v in enumerate(values))
    return f"(CASE {index} {whens} END)"


def fixed(fields: str) -> str:
    """Constant text for the JSON built in SQL, its colons escaped from text()'s binds."""
    return "'" + fields.replace(":", "\\:") + "'"


def num(column: str) -> str:
    return f"COALESCE(CAST({column} AS TEXT), 'null')"


STAMP = f'"{NOW.replace(" ", "T")}Z"'  # NOW as the feed renders a time


class Rows:
    """The generated rows' values as SQL expressions of the row number n (of the series, or
    an id renamed n): an incident's columns are the same wherever they are needed."""

    def __init__(self, size: Size, d: Dialect) -> None:
        z, epz = size.zoos, size.enclosures_per_zoo
        self.size, self.d = size, d
        self.per_zoo = per_zoo = size.animals // z
        # Animals: zoo by blocks of ids; enclosures of their zoo (one in ten none).
        self.animal_zoo = f"((n - 1) / {per_zoo} + 1)"
        self.animal_enclosure_local = h(13, epz)
        self.animal_enclosure = (
            f"CASE WHEN n % 10 = 0 THEN NULL "
            f"ELSE ({self.animal_zoo} - 1) * {epz} + {self.animal_enclosure_local} + 1 END"
        )
        self.animal_gift = f"CASE WHEN n % 7 = 0 THEN {self.animal_zoo} ELSE NULL END"
        # One in ten animals with an enclosure arrived in the zoo's next one and moved since.
        self.animal_moved = f"(n % 10 <> 0 AND {h(20, 10)} = 0)"
        self.first_enclosure = (
            f"({self.animal_zoo} - 1) * {epz} + ({self.animal_enclosure_local} + 1) % {epz} + 1"
        )
        # Incidents: zoo n % zoos; those about animals name an animal of their zoo; one in ten
        # is about an enclosure. Choices hash n rather than take n % k, which would correlate
        # with the zoo (n % zoos).
        self.incident_zoo = f"((n - 1) % {z} + 1)"
        self.incident_animal = (
            f"CASE WHEN {h(18, 10)} = 0 THEN NULL "
            f"ELSE ({self.incident_zoo} - 1) * {per_zoo} + {h(3, per_zoo)} + 1 END"
        )
        self.incident_enclosure = (
            f"CASE WHEN {h(18, 10)} = 0 THEN ({self.incident_zoo} - 1) * {epz} + {h(4, epz)} + 1 "
            "ELSE NULL END"
        )
        self.category = pick(16, CATEGORIES)
        self.severity = f"({h(17, 5)} + 1)"
        # About 30% open: reported, under_review, confirmed; the rest resolved or dismissed.
        self.status = pick(
            5,
            quoted(
                "reported",
                "under_review",
                "confirmed",
                "resolved",
                "resolved",
                "resolved",
                "resolved",
                "dismissed",
                "dismissed",
                "resolved",
            ),
        )
        self.title = "'Bench incident ' || n"
        self.first_seen = d.days_after("2024-01-01", h(6, 1060))
        self.last_seen = d.days_after("2024-01-01", f"{h(6, 1060)} + n % 30")
        # The zoo replied to one in ten dismissed incidents, a day after the load and on.
        self.replied = f"({self.status} = 'dismissed' AND {h(19, 10)} = 0)"
        self.reply_at = d.seconds_after(d.now(), "86400 + n / 100")

    def subject_json(self) -> str:
        """The incident's main fields after its id, as the feed's data gives them."""
        return f"""',"zoo_id":' || {self.incident_zoo} || ',"animal_id":'
            || {num(self.incident_animal)} || ',"enclosure_id":' || {num(self.incident_enclosure)}
            || ',"category":"' || {self.category} || '","severity":' || {self.severity}
            || ',"title":"' || {self.title} || '"'"""


Chunked = Callable[[int, int], str]  # the statement for the row numbers first..last


@dataclass
class Step:
    """Statements run in order in one transaction (on PostgreSQL, once the steps `after` are
    done): each of `sql` as it is, or, if it is a function, over the row numbers 1..`rows`, in
    chunks of CHUNK rows on PostgreSQL (at once on SQLite)."""

    name: str
    sql: Sequence[str | Chunked] = ()
    rows: int = 0
    after: tuple[str, ...] = ()
    autocommit: bool = False  # VACUUM cannot run inside a transaction
    index: Index | None = None  # the index the step builds
    cost: float = 0.0  # its share of the work, to order the steps (0: 5 per million rows)

    def weight(self) -> float:
        chunked = sum(not isinstance(sql, str) for sql in self.sql)
        return self.cost or 5 * self.rows * max(chunked, 1) / 1e6

    def statements(self, pg: bool) -> list[str]:
        size = CHUNK if pg else max(self.rows, 1)
        found = []
        for sql in self.sql:
            if isinstance(sql, str):
                found.append(sql)
            else:
                found += [
                    sql(k, min(k + size - 1, self.rows)) for k in range(1, self.rows + 1, size)
                ]
        return found


def _registry(r: Rows) -> list[Step]:
    """The zoos, species, gifts, enclosures and animals, with the animals' movements and the
    species' listings."""
    size, d = r.size, r.d
    z, epz, a = size.zoos, size.enclosures_per_zoo, size.animals
    now = d.now()
    day = d.date(DAY)
    movement = """INSERT INTO animal_movement (animal_id, at, kind, from_zoo_id, to_zoo_id,
        from_enclosure_id, to_enclosure_id, gift_id, from_status, to_status, created_at)"""
    iucn = "CASE n % 5 WHEN 0 THEN 'EN' WHEN 1 THEN 'VU' WHEN 2 THEN 'CR' ELSE 'LC' END"
    listing = """INSERT INTO species_status (species_id, kind, value, valid_from, valid_to,
        source_url, created_at)"""
    cites_source = (
        "'https://speciesplus.net/species#/taxon_concepts?taxonomy=cites_eu"
        "&taxon_concept_query=Benchus%20species' || n"
    )

    def animals(first: int, last: int) -> str:
        return f"""INSERT INTO animal (id, zoo_id, species_id, enclosure_id, gift_id, name,
            identifier, sex, count, origin, status, created_at, updated_at)
        SELECT n, {r.animal_zoo}, {h(12, size.species)} + 1, {r.animal_enclosure},
            {r.animal_gift},
            CASE WHEN n % 3 = 0 THEN 'Animal ' || n ELSE NULL END,
            'A-' || n,
            {pick(14, quoted("male", "female", "unknown"))},
            CASE WHEN n % 25 = 0 THEN 10 ELSE 1 END,
            CASE WHEN n % 7 = 0 THEN 'diplomatic_gift'
                ELSE {pick(15, ORIGINS)} END,
            CASE WHEN n % 20 = 0 THEN 'deceased' ELSE 'alive' END,
            {now}, {now}
        FROM {d.series(first, last)}"""

    return [
        Step(
            "zoos",
            [
                f"""INSERT INTO zoo (id, slug, name, city, country_code, created_at, updated_at,
                    concern_version)
                SELECT n, 'bench-zoo-' || n, 'Bench Zoo ' || n, 'City ' || n,
                    {pick(1, quoted(*COUNTRIES))}, {now}, {now}, 0
                FROM {d.series(1, z)}"""
            ],
        ),
        Step(
            "species",
            [
                f"""INSERT INTO species (id, scientific_name, common_name, taxon_class,
                    is_domestic, iucn_category, cites_appendix, social_structure,
                    min_group_size, min_area_m2, climate_zones, updated_at)
                SELECT n, 'Benchus species' || n, 'Bench species ' || n,
                    CASE n % 3 WHEN 0 THEN 'mammal' WHEN 1 THEN 'bird' ELSE 'reptile' END,
                    {d.false()}, {iucn},
                    CASE n % 4 WHEN 0 THEN 'I' WHEN 1 THEN 'II' WHEN 2 THEN 'III' ELSE NULL END,
                    CASE n % 3 WHEN 0 THEN 'solitary' WHEN 1 THEN 'pair' ELSE 'group' END,
                    CASE n % 3 WHEN 0 THEN 1 WHEN 1 THEN 2 ELSE 4 END,
                    10 * (n % 7 + 1),
                    {
                    d.json('''CASE n % 4 WHEN 0 THEN '["tropical"]'
                        WHEN 1 THEN '["temperate", "cold"]' WHEN 2 THEN '["arid", "tropical"]'
                        ELSE '["cold"]' END''')
                }, {now}
                FROM {d.series(1, size.species)}"""
            ],
        ),
        Step(
            "gifts",
            [
                f"""INSERT INTO gift (id, title, donor_name, donor_country, recipient_name,
                    recipient_country, recipient_zoo_id, delivered_on, cites_permit_ref,
                    updated_at)
                SELECT n, 'Bench gift ' || n, 'Donor ' || n, 'RU', 'Recipient ' || n, 'KP', n,
                    {d.date("2024-11-20")},
                    CASE WHEN n % 2 = 0 THEN 'PERMIT-' || n ELSE NULL END, {now}
                FROM {d.series(1, z)}"""
            ],
        ),
        Step(
            "enclosures",
            [
                f"""INSERT INTO enclosure (id, zoo_id, name, kind, area_m2, capacity, climate,
                    has_enrichment, last_inspected_on, notes, updated_at)
                SELECT n, (n - 1) / {epz} + 1, 'Enclosure ' || ((n - 1) % {epz} + 1),
                    {pick(7, ENCLOSURE_KINDS)},
                    100 + {h(8, 900)}, 5 + {h(9, 40)},
                    {pick(10, CLIMATES)},
                    CASE WHEN n % 2 = 0 THEN {d.true()} ELSE {d.false()} END,
                    CASE {h(11, 4)} WHEN 0 THEN NULL WHEN 1 THEN {d.date("2024-03-01")}
                        ELSE {d.date("2026-06-01")} END,
                    'Generated for the benchmark.', {now}
                FROM {d.series(1, z * epz)}"""
            ],
        ),
        Step("animals", [animals], rows=a),
        # As the flush hook writes them (app/records/movements.py), all on the day the animals
        # were recorded: each one's arrival (alive), then the moves, then the deaths.
        Step(
            "movements",
            [
                f"""{movement}
                SELECT n, {day}, 'arrival', NULL, {r.animal_zoo}, NULL,
                    CASE WHEN {r.animal_moved} THEN {r.first_enclosure}
                        ELSE {r.animal_enclosure} END,
                    {r.animal_gift}, NULL, 'alive', {now}
                FROM {d.series(1, a)}""",
                f"""{movement}
                SELECT n, {day}, 'enclosure_move', {r.animal_zoo}, {r.animal_zoo},
                    {r.first_enclosure}, {r.animal_enclosure}, NULL, NULL, NULL, {now}
                FROM {d.series(1, a)} WHERE {r.animal_moved}""",
                f"""{movement}
                SELECT n, {day}, 'status_change', {r.animal_zoo}, {r.animal_zoo}, NULL, NULL,
                    NULL, 'alive', 'deceased', {now}
                FROM {d.series(1, a)} WHERE n % 20 = 0""",
            ],
        ),
        # Each species' current IUCN category since 2016, and another before; its current
        # CITES appendix (Appendix I species were in II until 1989), or, for the species no
        # appendix lists, a listing in III that ended in 2009. On the gifts' day (2024-11-20)
        # and today, the listing in force is the species' column.
        Step(
            "listings",
            [
                f"""{listing}
                SELECT n, 'iucn',
                    CASE n % 5 WHEN 0 THEN 'VU' WHEN 1 THEN 'NT' WHEN 2 THEN 'EN' ELSE 'NT' END,
                    {d.date("2004-01-01")}, {d.date("2015-12-31")},
                    'https://www.iucnredlist.org/', {now}
                FROM {d.series(1, size.species)}""",
                f"""{listing}
                SELECT n, 'iucn', {iucn}, {d.date("2016-01-01")}, NULL,
                    'https://www.iucnredlist.org/', {now}
                FROM {d.series(1, size.species)}""",
                f"""{listing}
                SELECT n, 'cites', CASE n % 4 WHEN 0 THEN 'II' ELSE 'III' END,
                    CASE n % 4 WHEN 0 THEN {d.date("1975-07-01")} ELSE {d.date("1985-01-01")} END,
                    CASE n % 4 WHEN 0 THEN {d.date("1989-10-17")} ELSE {d.date("2009-12-31")} END,
                    {cites_source}, {now}
                FROM {d.series(1, size.species)} WHERE n % 4 IN (0, 3)""",
                f"""{listing}
                SELECT n, 'cites', CASE n % 4 WHEN 0 THEN 'I' WHEN 1 THEN 'II' ELSE 'III' END,
                    CASE n % 4 WHEN 0 THEN {d.date("1989-10-18")} WHEN 1 THEN {d.date("1975-07-01")}
                        ELSE {d.date("1990-06-01")} END,
                    NULL, {cites_source}, {now}
                FROM {d.series(1, size.species)} WHERE n % 4 IN (0, 1, 2)""",
            ],
        ),
    ]


def _trade_records(r: Rows) -> Step:
    """CITES trade records of the generated taxa between two of the countries, 2000-2023:
    before every arrival (2024), so none matches one and no flag changes."""
    d, size = r.d, r.size
    species = f"({h(40, size.species)} + 1)"
    exporter = h(42, len(COUNTRIES))
    importer = f"(({exporter} + 1 + {h(43, len(COUNTRIES) - 1)}) % {len(COUNTRIES)})"
    countries = quoted(*COUNTRIES)
    return Step(
        "trade records",
        [
            f"""INSERT INTO trade_record (key, year, appendix, taxon, taxon_class, taxon_order,
                family, genus, importer, exporter, origin, importer_quantity,
                exporter_quantity, term, unit, purpose, source, imported_at)
            SELECT 'bench-' || n, 2000 + {h(41, 24)},
                CASE {species} % 4 WHEN 0 THEN 'I' WHEN 1 THEN 'II' WHEN 2 THEN 'III'
                    ELSE 'N' END,
                'Benchus species' || {species},
                CASE {species} % 3 WHEN 0 THEN 'Mammalia' WHEN 1 THEN 'Aves' ELSE 'Reptilia' END,
                NULL, NULL, 'Benchus',
                {choose(importer, countries)}, {choose(exporter, countries)},
                CASE WHEN {h(44, 5)} = 0 THEN {pick(45, countries)}
                    ELSE {choose(exporter, countries)} END,
                CASE WHEN {h(46, 4)} = 0 THEN NULL ELSE 1 + {h(47, 20)} END,
                CASE WHEN {h(48, 5)} = 0 THEN NULL ELSE 1 + {h(49, 20)} END,
                {pick(50, quoted("live", "live", "live", "skins", "bodies", "specimens"))},
                NULL, {pick(51, quoted("Z", "Z", "T", "Q", "B", "S"))},
                {pick(52, quoted("C", "C", "W", "F", "D"))}, {d.now()}
            FROM {d.series(1, size.trade_records)}"""
        ],
    )


def _incidents(r: Rows) -> list[Step]:
    """The incidents, their reports and audit trails, and the zoo's replies."""
    d, i = r.d, r.size.incidents
    now = d.now()
    if d.pg:
        reporter, joined = "p.name", f"JOIN bench_reporter p ON p.k = s.n % {REPORTER_NAMES}"
    else:  # SQLite would loop over the names outside: one lookup per row instead
        reporter, joined = f"(SELECT name FROM bench_reporter WHERE k = n % {REPORTER_NAMES})", ""

    def incidents(first: int, last: int) -> str:
        return f"""INSERT INTO welfare_incident (id, zoo_id, animal_id, enclosure_id, category,
            severity, severity_set_by_inspector, status, title, first_observed_at,
            last_observed_at, report_count, created_at, updated_at, version, reply_count,
            last_replied_at)
        SELECT n, {r.incident_zoo}, {r.incident_animal}, {r.incident_enclosure}, {r.category},
            {r.severity}, {d.false()}, {r.status}, {r.title}, {r.first_seen}, {r.last_seen}, 1,
            {now},
            CASE WHEN {r.replied} THEN {r.reply_at} ELSE {now} END,
            CASE WHEN {r.replied} THEN 2 ELSE 1 END,
            CASE WHEN {r.replied} THEN 1 ELSE 0 END,
            CASE WHEN {r.replied} THEN {r.reply_at} ELSE NULL END
        FROM {d.series(first, last)}"""

    def reports(first: int, last: int) -> str:
        return f"""INSERT INTO welfare_report (id, incident_id, zoo_id, animal_id, enclosure_id,
            category, severity, title, observed_at, reporter_name, evidence_urls, created_at)
        SELECT n, n, {r.incident_zoo}, {r.incident_animal}, {r.incident_enclosure},
            {r.category}, {r.severity}, {r.title}, {r.first_seen}, {reporter},
            {d.json("'[]'")}, {now}
        FROM {d.series(first, last)} {joined}"""

    def trail(values: str, where: str = "", ids: str = "") -> Chunked:
        def events(first: int, last: int) -> str:
            return f"""INSERT INTO incident_event ({ids}incident_id, at, kind, to_status,
                to_severity, report_id, note)
            SELECT {values} FROM {d.series(first, last)} {where}"""

        return events

    def replies(first: int, last: int) -> str:
        return f"""INSERT INTO incident_reply (incident_id, zoo_id, body, created_at, api_key_id)
        SELECT n, {r.incident_zoo}, {pick(21, REPLIES)}, {r.reply_at}, NULL
        FROM {d.series(first, last)} WHERE {r.replied}"""

    # The audit trail in one step, its ids as before: every incident's created (id n), then
    # every report_added (i + n), then the status changes and the replies, numbered on.
    serial = "pg_get_serial_sequence('incident_event', 'id')"
    audit: list[str | Chunked] = [
        trail(f"n, n, {now}, 'created', 'reported', {r.severity}, NULL, NULL", ids="id, "),
        trail(f"{i} + n, n, {now}, 'report_added', NULL, NULL, n, NULL", ids="id, "),
        *([f"SELECT setval({serial}, {2 * i})"] if d.pg else []),
        trail(
            f"n, {now}, 'status_changed', {r.status}, NULL, NULL, 'generated for the benchmark'",
            f"WHERE {r.status} <> 'reported'",
        ),
        trail(
            f"n, {r.reply_at}, 'reply_added', NULL, NULL, NULL, 'the zoo replied'",
            f"WHERE {r.replied}",
        ),
    ]
    return [
        Step("incidents", [incidents], rows=i),
        Step("reports", [reports], rows=i),
        Step("incident events", audit, rows=i),
        Step("replies", [replies], rows=i),
    ]


def _feed(r: Rows) -> list[Step]:
    """The change feed: incident n's incident.opened at position (and id) 2n - 1, its report's
    report.filed at 2n, both as of the incident's creation; reply k's incident.replied at
    2i + 2k - 1 and the incident's incident.updated at 2i + 2k; then the sequence's head."""
    d, i = r.d, r.size.incidents
    now = d.now()
    event = """INSERT INTO event (id, position, type, occurred_at, zoo_id, subject_type,
        subject_id, data)"""
    reply = """(SELECT id AS k, incident_id AS n, body, created_at FROM incident_reply) s"""

    def opened(first: int, last: int) -> str:
        return f"""{event}
        SELECT 2 * n - 1, 2 * n - 1, 'incident.opened', {now}, {r.incident_zoo}, 'incident', n,
            '{{"id":' || n || {r.subject_json()}
            || {fixed(f',"status":"reported","report_count":1,"created_at":{STAMP}}}')}
        FROM {d.series(first, last)}"""

    def filed(first: int, last: int) -> str:
        return f"""{event}
        SELECT 2 * n, 2 * n, 'report.filed', {now}, {r.incident_zoo}, 'report', n,
            '{{"id":' || n || ',"incident_id":' || n || {r.subject_json()}
            || {fixed(f',"reporter_name":null,"created_at":{STAMP}}}')}
        FROM {d.series(first, last)}"""

    replied = f"""{event}
    SELECT {2 * i} + 2 * k - 1, {2 * i} + 2 * k - 1, 'incident.replied', created_at,
        {r.incident_zoo}, 'incident', n,
        '{{"id":' || k || ',"incident_id":' || n || ',"zoo_id":' || {r.incident_zoo}
        || ',"body":"' || body || '","created_at":"' || {d.iso("created_at")} || '"}}'
    FROM {reply}"""
    updated = f"""{event}
    SELECT {2 * i} + 2 * k, {2 * i} + 2 * k, 'incident.updated', created_at, {r.incident_zoo},
        'incident', n,
        '{{"id":' || n || {r.subject_json()}
        || {fixed(',"status":"dismissed","report_count":1,"reply_count":1')}
        || ',"last_replied_at":"' || {d.iso("created_at")} || '"'
        || {fixed(f',"created_at":{STAMP}}}')}
    FROM {reply}"""
    # The last position is the last reply's (or incident's): no scan of the feed.
    head = f"""UPDATE event_sequence
    SET position = {2 * i} + 2 * (SELECT COALESCE(MAX(id), 0) FROM incident_reply) WHERE id = 1"""
    return [
        Step("feed: opened", [opened], rows=i),
        Step("feed: filed", [filed], rows=i, after=("feed: opened",)),
        Step("feed: replies", [replied, updated], after=("feed: filed", "replies")),
        Step("feed: head", [head], after=("feed: replies",)),
    ]


def _submissions(r: Rows) -> Step:
    """Submission k (of zoo k % zoos, like incident k): pending, pending, rejected, accepted
    by the zoo's turn (k - 1) / zoos % 4. An accepted one was filed as report k, into
    incident k, which it matches field for field (its reporter's name the report's token), so
    each stays its incident's one source."""
    d, size = r.d, r.size
    z, epz = size.zoos, size.enclosures_per_zoo
    now = d.now()
    turn = f"((n - 1) / {z} % 4)"
    accepted = f"{turn} = 3"
    # Two days before the load, an hour apart per turn; moderated an hour later, or, when
    # accepted, at the load (its report's creation).
    created = d.seconds_after(now, f"-172800 + 3600 * ((n - 1) / {z})")
    moderated = d.seconds_after(now, f"-169200 + 3600 * ((n - 1) / {z})")
    # One in five is about an enclosure of the zoo, the others about one of its animals.
    about_enclosure = f"{h(34, 5)} = 0"
    own_animal = (
        f"CASE WHEN {about_enclosure} THEN NULL "
        f"ELSE ({r.incident_zoo} - 1) * {r.per_zoo} + {h(32, r.per_zoo)} + 1 END"
    )
    own_enclosure = (
        f"CASE WHEN {about_enclosure} THEN ({r.incident_zoo} - 1) * {epz} + {h(33, epz)} + 1 "
        "ELSE NULL END"
    )
    reporter = f"(SELECT name FROM bench_reporter WHERE k = n % {REPORTER_NAMES})"
    contact = f"(SELECT contact FROM bench_reporter WHERE k = n % {REPORTER_NAMES})"

    photos = """CASE WHEN n % 4 = 0 THEN '["https://example.org/photos/' || n || '.jpg"]'
        ELSE '[]' END"""

    def either(if_accepted: str, otherwise: str) -> str:
        return f"CASE WHEN {accepted} THEN {if_accepted} ELSE {otherwise} END"

    return Step(
        "submissions",
        [
            f"""INSERT INTO submission (id, zoo_id, animal_id, enclosure_id,
                suggested_incident_id, category, severity, title, description, observed_at,
                reporter_name, reporter_contact, source_url, evidence_urls, status,
                receipt_hash, created_at, updated_at, moderated_at, moderated_by_key_id,
                moderation_note, rejection_reason, report_id, incident_id)
            SELECT n, {r.incident_zoo},
                {either(r.incident_animal, own_animal)},
                {either(r.incident_enclosure, own_enclosure)},
                CASE WHEN {turn} IN (1, 3) THEN n ELSE NULL END,
                {either(r.category, pick(35, CATEGORIES))},
                {either(r.severity, f"CASE WHEN {h(36, 3)} = 0 THEN NULL ELSE {h(37, 5)} + 1 END")},
                {either(r.title, "'Bench submission ' || n")},
                {either("NULL", "'Seen from the visitor path.'")},
                {either(r.first_seen, d.days_after("2026-01-01", h(38, 300)))},
                {either(reporter, f"CASE WHEN n % 3 = 0 THEN NULL ELSE {reporter} END")},
                {either("NULL", f"CASE WHEN n % 2 = 0 THEN {contact} ELSE NULL END")},
                {either("NULL", "CASE WHEN n % 5 = 0 THEN 'https://example.org/bench/' || n END")},
                {either(d.json("'[]'"), d.json(photos))},
                CASE {turn} WHEN 2 THEN 'rejected' WHEN 3 THEN 'accepted' ELSE 'pending' END,
                (SELECT hash FROM bench_receipt WHERE k = n),
                {created},
                CASE {turn} WHEN 2 THEN {moderated} WHEN 3 THEN {now} ELSE {created} END,
                CASE {turn} WHEN 2 THEN {moderated} WHEN 3 THEN {now} ELSE NULL END,
                NULL,
                CASE WHEN {accepted} THEN 'Matches the keepers'' log.' ELSE NULL END,
                CASE WHEN {turn} = 2 THEN
                    {pick(39, REJECTIONS)}
                    ELSE NULL END,
                CASE WHEN {accepted} THEN n ELSE NULL END,
                CASE WHEN {accepted} THEN n ELSE NULL END
            FROM {d.series(1, size.submissions)}"""
        ],
    )


def _webhooks(r: Rows, secrets: Sequence[str]) -> Step:
    """Subscription 1 takes every event of zoo 1, all delivered at the first attempt;
    subscription 2 took zoo 2's incident.opened until its last ten failed every attempt of the
    default retry schedule and it was disabled. Neither has an owner key (nothing fans out to
    them); bench/run.py deletes both before its runs."""
    d, size = r.d, r.size
    z, i = size.zoos, size.incidents
    delays = [int(float(s)) for s in _default("webhook_retry_schedule").split(",") if s]
    disable_after = int(_default("webhook_disable_after"))
    offsets = [sum(delays[:k]) for k in range(len(delays) + 1)]  # attempt k+1's, from the first
    attempts = len(offsets)
    failing = FAILING_DELIVERIES
    last_opened = 2 * (2 + z * (failing - 1)) - 1  # zoo 2's incident number `failing`, opened
    disabled_at = d.seconds_after(d.now(), str(offsets[-1] + 1))
    per_zoo = i // z
    # The payload: the event as the feed and the webhooks send it (app/events/feed.item_json).
    payload = f"""'{{"id":"' || {d.hex12("e.position")} || '","type":"' || e.type
        || '","occurred_at":"' || {d.iso("e.occurred_at")} || '","zoo_id":' || e.zoo_id
        || ',"subject_type":"' || e.subject_type || '","subject_id":' || e.subject_id
        || ',"data":' || e.data || '}}'"""
    delivery = """INSERT INTO webhook_delivery (webhook_id, event_id, event_type, payload, status,
        attempts, due_at, created_at)"""
    deliver = f"""{d.hex12("e.position")}, e.type, {payload}"""
    opened_only = """'["incident.opened"]'"""
    times = [str(o) for o in offsets]
    attempt_at = d.seconds_after("dl.due_at", f"1 + {choose('s.n - 1', times)}")
    next_at = d.seconds_after("dl.due_at", f"1 + {choose('s.n', [*times, '0'])}")
    return Step(
        "webhooks",
        [
            # The deliveries read their events by id, the numbers first (SQLite's CROSS JOIN):
            # no plan that reads the whole feed.
            *(
                ["SET LOCAL enable_hashjoin = off", "SET LOCAL enable_mergejoin = off"]
                if d.pg
                else []
            ),
            f"""INSERT INTO webhook (id, url, description, types, zoo_ids, status, secret,
                owner_key_id, cursor, failed_in_a_row, disabled_at, created_at, updated_at)
            VALUES
                (1, 'https://hooks.example.org/bench/zoo-1', 'Every event of bench-zoo-1',
                    NULL, {d.json("'[1]'")}, 'active', '{secrets[0]}', NULL,
                    (SELECT position FROM event_sequence WHERE id = 1), 0, NULL,
                    {d.now()}, {d.now()}),
                (2, 'https://alerts.example.net/zwr', 'Incidents opened at bench-zoo-2',
                    {d.json(opened_only)}, {d.json("'[2]'")}, 'disabled',
                    '{secrets[1]}', NULL, {last_opened}, {disable_after},
                    {disabled_at}, {d.now()}, {disabled_at})""",
            # Zoo 1's incidents n = 1 + zoos * m: events 2n - 1 and 2n; then its replies'.
            f"""{delivery}
            SELECT 1, {deliver}, 'succeeded', 1, e.occurred_at, e.occurred_at
            FROM {d.series(1, 2 * per_zoo)} CROSS JOIN event e
            WHERE e.id = 2 * (1 + {z} * ((s.n - 1) / 2)) - 1 + (s.n - 1) % 2
            ORDER BY e.id""",
            f"""{delivery}
            SELECT 1, {deliver}, 'succeeded', 1, e.occurred_at, e.occurred_at
            FROM (SELECT id AS k FROM incident_reply WHERE zoo_id = 1) rp
            CROSS JOIN {d.series(1, 2)} CROSS JOIN event e
            WHERE e.id = {2 * i} + 2 * rp.k - 2 + s.n
            ORDER BY e.id""",
            f"""{delivery}
            SELECT 2, {deliver},
                CASE WHEN s.n > {failing - disable_after} THEN 'failed' ELSE 'succeeded' END,
                CASE WHEN s.n > {failing - disable_after} THEN {attempts} ELSE 1 END,
                e.occurred_at, e.occurred_at
            FROM {d.series(1, failing)} CROSS JOIN event e
            WHERE e.id = 2 * (2 + {z} * (s.n - 1)) - 1
            ORDER BY e.id""",
            f"""INSERT INTO webhook_attempt (delivery_id, webhook_id, attempt, at, status_code,
                duration_ms, error, next_attempt_at)
            SELECT id, webhook_id, 1, {d.seconds_after("due_at", "1")}, 200, 20 + id % 180,
                NULL, NULL
            FROM webhook_delivery WHERE status = 'succeeded' ORDER BY id""",
            f"""INSERT INTO webhook_attempt (delivery_id, webhook_id, attempt, at, status_code,
                duration_ms, error, next_attempt_at)
            SELECT dl.id, dl.webhook_id, s.n,
                {attempt_at},
                503, 30 + dl.id % 40, 'answered 503',
                CASE WHEN s.n < {attempts} THEN
                    {next_at}
                    ELSE NULL END
            FROM webhook_delivery dl CROSS JOIN {d.series(1, attempts)}
            WHERE dl.status = 'failed' ORDER BY dl.id, s.n""",
        ],
        after=("feed: head", "index pk_event") if d.pg else ("feed: head",),
    )


def _default(setting: str) -> str:
    """A setting's default (not the environment's value: the data do not depend on it)."""
    return str(Settings.model_fields[setting].default)


def _steps(size: Size, d: Dialect, secrets: Sequence[str]) -> list[Step]:
    """Every load step, in the order SQLite runs them (PostgreSQL's lanes take, of those
    ready, the one heading the most work)."""
    r = Rows(size, d)
    registry = {s.name: s for s in _registry(r)}
    incidents = {s.name: s for s in _incidents(r)}
    feed = {s.name: s for s in _feed(r)}
    return [
        registry["zoos"],
        registry["species"],
        registry["gifts"],
        registry["enclosures"],
        incidents["incident events"],
        feed["feed: opened"],
        incidents["incidents"],
        feed["feed: filed"],
        incidents["reports"],
        registry["animals"],
        registry["movements"],
        registry["listings"],
        _trade_records(r),
        _submissions(r),
        incidents["replies"],
        feed["feed: replies"],
        feed["feed: head"],
        _webhooks(r, secrets),
    ]


# The table each load step fills (its indexes are built once it is done).
LOADS = {
    "animal": ("animals",),
    "animal_movement": ("movements",),
    "welfare_incident": ("incidents",),
    "welfare_report": ("reports",),
    "incident_event": ("incident events",),
    "incident_reply": ("replies",),
    "event": ("feed: head",),
    "trade_record": ("trade records",),
}
# Secondary indexes are dropped during the load and rebuilt after: building an index over
# sorted, finished data is several times faster than maintaining it row by row.
BIG_TABLES = tuple(LOADS)
# On PostgreSQL these tables' primary keys too (no foreign key refers to them): their rows
# are the most numerous, and a key kept during the load costs an index insert per row.
LATE_KEYS = ("incident_event", "event", "animal_movement")
# Tables with a serial id the generator writes itself: their sequences are moved past it.
ID_TABLES = (
    "zoo",
    "species",
    "gift",
    "enclosure",
    "animal",
    "welfare_incident",
    "welfare_report",
    "event",
    "submission",
    "webhook",
)


def _secondary_indexes(table: str | None = None) -> list[Index]:
    tables = BIG_TABLES if table is None else (table,)
    # Those declared for another database only (the search indexes) are skipped by create
    # and drop themselves; sorted so the trigram ones, the slowest, start first.
    found = [ix for t in tables for ix in SQLModel.metadata.tables[t].indexes]
    return sorted(found, key=lambda ix: (not str(ix.name).endswith("_trgm"), str(ix.name)))


def _index_steps(loads: Sequence[Step], size: Size) -> list[Step]:
    """On PostgreSQL, per large table once loaded: VACUUM (as a DBA would after a bulk load:
    the visibility map, without which the covering indexes cannot answer from the index
    alone, and the hint bits set once), each of its indexes (its primary key's too, for the
    LATE_KEYS, which becomes the key after), then ANALYZE; the other tables' VACUUM ANALYZE
    once every load is done; and a last VACUUM of the large tables, for the pages left out."""
    others = [t for t in SQLModel.metadata.tables if t not in LOADS]
    steps = [
        Step(
            "vacuum analyze the other tables",
            [f"VACUUM ANALYZE {table}" for table in others],
            after=tuple(step.name for step in loads),
            autocommit=True,
        )
    ]
    i, a = size.incidents / 1e6, size.animals / 1e6  # millions of rows, for the costs
    rows = {"animal": a, "animal_movement": a, "incident_event": 3 * i, "event": 2 * i}
    for table, filled_by in LOADS.items():
        many = rows.get(table, i)  # about: the costs only order the steps
        vacuum = Step(
            f"vacuum {table}", [f"VACUUM {table}"], after=filled_by, autocommit=True, cost=many / 2
        )
        builds = [
            Step(
                f"index {index.name}",
                after=(vacuum.name,),
                index=index,
                cost=many * (6 if str(index.name).endswith("_trgm") else 1.2),
            )
            for index in _secondary_indexes(table)
        ]
        key = []
        if table in LATE_KEYS:
            pk = f"pk_{table}"
            create = f"CREATE UNIQUE INDEX {pk} ON {table} (id)"
            builds.insert(0, Step(f"index {pk}", [create], after=(vacuum.name,), cost=many))
            key = [f"ALTER TABLE {table} ADD CONSTRAINT {pk} PRIMARY KEY USING INDEX {pk}"]
        analyze = Step(
            f"analyze {table}", [*key, f"ANALYZE {table}"], after=tuple(b.name for b in builds)
        )
        steps += [vacuum, *builds, analyze]
    # Once all is done, the large tables again: a VACUUM leaves a page out of the visibility
    # map when a snapshot older than its rows is still open (the other lane's statement, begun
    # before they were committed) or someone holds the page (the checkpointer writing it).
    # Only those pages are read again.
    again = f"VACUUM {', '.join(LOADS)}"
    steps.append(Step("vacuum again", [again], after=tuple(s.name for s in steps), autocommit=True))
    return steps


def _helper_tables(conn: Connection, url: str, size: Size, pg: bool) -> None:
    """Encrypted reporter names and contacts (encrypted in Python: the columns hold Fernet
    tokens), which reports and submissions pick from by id, and the submissions' receipt
    hashes. A plain table on PostgreSQL, where every lane reads it; dropped at the end."""
    cipher = crypto.configure(Settings(database_url=url))
    kind = "UNLOGGED TABLE" if pg else "TEMP TABLE"
    for name, columns in (
        ("bench_reporter", "k INTEGER PRIMARY KEY, name TEXT, contact TEXT"),
        ("bench_receipt", "k INTEGER PRIMARY KEY, hash TEXT"),
    ):
        conn.exec_driver_sql(f"DROP TABLE IF EXISTS {name}")
        conn.exec_driver_sql(f"CREATE {kind} {name} ({columns})")
    conn.execute(
        text("INSERT INTO bench_reporter (k, name, contact) VALUES (:k, :name, :contact)"),
        [
            {
                "k": k,
                "name": cipher.encrypt(f"Bench reporter {k}"),
                "contact": cipher.encrypt(f"reporter-{k}@example.org"),
            }
            for k in range(REPORTER_NAMES)
        ],
    )
    conn.execute(
        text("INSERT INTO bench_receipt (k, hash) VALUES (:k, :hash)"),
        [
            {"k": k, "hash": hashlib.sha256(f"bench-receipt-{k}".encode()).hexdigest()}
            for k in range(1, size.submissions + 1)
        ],
    )


def _webhook_secrets(url: str) -> list[str]:
    cipher = crypto.configure(Settings(database_url=url))
    return [
        cipher.encrypt(
            "whsec_"
            + base64.b64encode(hashlib.sha256(f"bench-webhook-{k}".encode()).digest()[:24]).decode()
        )
        for k in (1, 2)
    ]


def _empty(engine: Engine, pg: bool) -> None:
    """Drops every table (faster than the migrations' downgrades, which at size L and above
    would decrypt every report in Python); the migrations then rebuild the schema."""
    with engine.begin() as conn:
        if pg:
            names = conn.exec_driver_sql(
                "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
            ).scalars()
            listed = ", ".join(f'"{name}"' for name in names)
            if listed:
                conn.exec_driver_sql(f"DROP TABLE IF EXISTS {listed} CASCADE")
            return
        rows = conn.exec_driver_sql(
            "SELECT type, name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'"
        ).all()
        for kind in ("trigger", "view"):
            for row in rows:
                if row.type == kind:
                    conn.exec_driver_sql(f'DROP {kind.upper()} IF EXISTS "{row.name}"')
        # Virtual tables first: their shadow tables go with them.
        tables = [row for row in rows if row.type == "table"]
        tables.sort(key=lambda row: not (row.sql or "").upper().startswith("CREATE VIRTUAL"))
        for row in tables:
            conn.exec_driver_sql(f'DROP TABLE IF EXISTS "{row.name}"')


def _finish(conn: Connection, pg: bool) -> None:
    if pg:
        for table in ID_TABLES:
            conn.exec_driver_sql(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT COALESCE(MAX(id), 1) FROM {table}))"
            )
        for name in ("bench_reporter", "bench_receipt"):
            conn.exec_driver_sql(f"DROP TABLE IF EXISTS {name}")
    else:
        for name in ("temp.seq", "temp.bench_reporter", "temp.bench_receipt"):
            conn.exec_driver_sql(f"DROP TABLE IF EXISTS {name}")


@dataclass
class _Progress:
    echo: bool
    started: float = field(default_factory=time.perf_counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def say(self, line: str) -> None:
        if self.echo:
            with self.lock:
                at = time.perf_counter() - self.started
                print(f"  [{at:6.1f} s] {line}", file=sys.stderr, flush=True)


def _run(conn: Connection, step: Step, pg: bool, progress: _Progress, lane: str) -> float:
    started = time.perf_counter()
    if step.index is not None:
        step.index.create(conn)
    statements = step.statements(pg)
    chunked = len(statements) > len(step.sql)
    for k, sql in enumerate(statements, start=1):
        conn.execute(text(sql))
        if chunked:
            took = time.perf_counter() - started
            progress.say(f"{lane}{step.name:<38} {k:>2}/{len(statements)} {took:11.2f} s")
    return time.perf_counter() - started


def _run_lanes(
    engine: Engine, steps: list[Step], progress: _Progress
) -> tuple[dict[str, float], dict[str, float]]:
    """Runs the steps on LANES connections, each step once those it comes after are done:
    of those ready, the one that heads the longest chain of work still to do first. Returns
    each step's seconds and when it ended (seconds since the start)."""
    timings: dict[str, float] = {}
    ended: dict[str, float] = {}
    waiting = list(steps)
    done: set[str] = set()
    failed: list[BaseException] = []
    cond = threading.Condition()
    known = {s.name for s in steps}
    for step in steps:
        missing = set(step.after) - known
        assert not missing, f"{step.name} comes after unknown steps {missing}"
    chain: dict[str, float] = {}  # the step's work and that of the longest chain after it

    def work(step: Step) -> float:
        if step.name not in chain:
            following = [work(s) for s in steps if step.name in s.after]
            chain[step.name] = step.weight() + max(following, default=0.0)
        return chain[step.name]

    for step in steps:
        work(step)

    def next_step() -> Step | None:
        with cond:
            while True:
                if failed or not waiting:
                    return None
                ready = [s for s in waiting if all(a in done for a in s.after)]
                if ready:
                    step = max(ready, key=lambda s: chain[s.name])
                    waiting.remove(step)
                    return step
                cond.wait()

    def lane(number: int) -> None:
        label = f"{number} "
        try:
            while (step := next_step()) is not None:
                if step.autocommit:
                    with engine.connect() as conn:
                        auto = conn.execution_options(isolation_level="AUTOCOMMIT")
                        took = _run(auto, step, True, progress, label)
                else:
                    with engine.begin() as conn:
                        took = _run(conn, step, True, progress, label)
                progress.say(f"{label}{step.name:<44} {took:11.2f} s")
                with cond:
                    timings[step.name] = took
                    ended[step.name] = time.perf_counter() - progress.started
                    done.add(step.name)
                    cond.notify_all()
        except BaseException as exc:
            with cond:
                failed.append(exc)
                cond.notify_all()

    threads = [threading.Thread(target=lane, args=(k,), daemon=True) for k in range(1, LANES + 1)]
    for thread in threads:
        thread.start()
    try:
        for thread in threads:
            thread.join()
    except BaseException as exc:  # interrupted: the lanes stop after their current step
        with cond:
            failed.append(exc)
            cond.notify_all()
        raise
    if failed:
        raise failed[0]
    assert not waiting, f"steps never ready: {[s.name for s in waiting]}"
    return timings, ended


def _summary(
    progress: _Progress, took: dict[str, float], ended: dict[str, float], loads: set[str]
) -> None:
    """The phases on PostgreSQL: their work (seconds summed over the lanes; they overlap)."""
    phases: dict[str, list[str]] = {"load": [], "vacuum": [], "index": [], "analyze": []}
    for name in took:
        phases["load" if name in loads else name.split()[0]].append(name)
    for phase, names in phases.items():
        work = sum(took[name] for name in names)
        last = max(ended[name] for name in names)
        progress.say(
            f"{phase:<8} {len(names):>3} steps, {work:7.1f} s of work, done at {last:6.1f} s"
        )


def generate(url: str, size_name: str, *, echo: bool = True) -> dict[str, float]:
    """Rebuilds the schema and fills it; returns seconds per step (on PostgreSQL the steps
    overlap: "total" is the wall time)."""
    size = SIZES[size_name]
    backend = make_url(url).get_backend_name()
    d = Dialect(backend)
    if size.postgresql_only and not d.pg:
        raise SystemExit(f"size {size_name} is for PostgreSQL only; on SQLite, use S or L")
    progress = _Progress(echo)
    timings: dict[str, float] = {}
    engine: Engine = create_engine(url, hide_parameters=True)
    try:
        _empty(engine, d.pg)
        migrations.upgrade(url)
    finally:
        engine.dispose()
    timings["schema"] = time.perf_counter() - progress.started
    progress.say(f"{'schema':<46} {timings['schema']:11.2f} s")
    secrets = _webhook_secrets(url)
    steps = _steps(size, d, secrets)
    if d.pg:
        # Referential checks are per-row triggers; the generator's ids are consistent by
        # construction, so the load skips them (the bench runs as the postgres superuser).
        # The settings hold for the generator's connections only. The commits stay synchronous:
        # there are few, and a VACUUM cannot set the hint bits (nor so the visibility map) of
        # rows whose commit is not yet flushed.
        options = " ".join(
            f"-c {setting}"
            for setting in (
                "session_replication_role=replica",
                "maintenance_work_mem=2GB",
                "max_parallel_maintenance_workers=0",  # the lanes keep both cores busy
                "work_mem=64MB",
                "synchronize_seqscans=off",  # serial ids follow the order rows are read in
            )
        )
        engine = create_engine(
            url, hide_parameters=True, pool_size=LANES + 1, connect_args={"options": options}
        )
        try:
            with engine.begin() as conn:
                for index in _secondary_indexes():
                    index.drop(conn)  # skips, as create does, those not on this database
                for table in LATE_KEYS:
                    conn.exec_driver_sql(f"ALTER TABLE {table} DROP CONSTRAINT pk_{table}")
                _helper_tables(conn, url, size, pg=True)
            took, ended = _run_lanes(engine, steps + _index_steps(steps, size), progress)
            timings |= took
            with engine.begin() as conn:
                _finish(conn, pg=True)
            _summary(progress, took, ended, {step.name for step in steps})
        finally:
            engine.dispose()
    else:
        engine = create_engine(url, hide_parameters=True)
        try:
            with engine.begin() as conn:
                for index in _secondary_indexes():
                    index.drop(conn)
                largest = max(size.incidents, size.animals, size.submissions, size.trade_records)
                conn.exec_driver_sql("DROP TABLE IF EXISTS temp.seq")
                conn.exec_driver_sql("CREATE TEMP TABLE seq (n INTEGER PRIMARY KEY)")
                conn.exec_driver_sql(
                    "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r "
                    f"WHERE n < {largest}) INSERT INTO temp.seq SELECT n FROM r"
                )
                _helper_tables(conn, url, size, pg=False)
                for step in steps:
                    timings[step.name] = _run(conn, step, False, progress, "")
                    progress.say(f"{step.name:<46} {timings[step.name]:11.2f} s")
                started = time.perf_counter()
                for index in _secondary_indexes():
                    index.create(conn)
                timings["indexes"] = time.perf_counter() - started
                progress.say(f"{'indexes':<46} {timings['indexes']:11.2f} s")
                _finish(conn, pg=False)
            started = time.perf_counter()
            with engine.connect() as conn:
                conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("ANALYZE")
            timings["analyze"] = time.perf_counter() - started
        finally:
            engine.dispose()
    timings["total"] = time.perf_counter() - progress.started
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", required=True, help="SQLAlchemy URL of the database to fill")
    parser.add_argument("--size", choices=sorted(SIZES), default="S")
    args = parser.parse_args()
    print(
        f"generating size {args.size} into {make_url(args.url).render_as_string()}", file=sys.stderr
    )
    timings = generate(args.url, args.size)
    print(f"done in {timings['total']:.1f} s", file=sys.stderr)


if __name__ == "__main__":
    main()
