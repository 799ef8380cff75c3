"""Deterministic benchmark registries, generated set-based inside the database.

    python -m bench.generate --url postgresql+psycopg://postgres@127.0.0.1:5432/zwr_bench --size L

Sizes: S (10 zoos, 10,000 animals, 100,000 incidents) and L (100 zoos, 100,000 animals,
1,000,000 incidents), each incident with its report and events, about 30% open. The change
feed holds two events per incident, its incident.opened and its report's report.filed, all
positioned (200,000 at S, 2,000,000 at L), their data a compact form of what the service
writes (the subject's main fields, not its whole representation). The schema is rebuilt from
the migrations first, so the target database is emptied. Every row comes from an
INSERT ... SELECT over a number series (generate_series on PostgreSQL, a recursive CTE on
SQLite), with pseudo-random values from a multiplicative hash of the row number: the same size
always gives the same registry.
"""

import argparse
import os
import sys
import time
from dataclasses import dataclass

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


@dataclass(frozen=True)
class Size:
    zoos: int
    animals: int
    incidents: int
    species: int = 50
    enclosures_per_zoo: int = 20


SIZES = {
    "S": Size(zoos=10, animals=10_000, incidents=100_000),
    "L": Size(zoos=100, animals=100_000, incidents=1_000_000),
    # A tiny size for tests of the generator itself.
    "XS": Size(zoos=3, animals=300, incidents=3_000, species=12, enclosures_per_zoo=4),
}

COUNTRIES = ("KP", "RU", "CN", "DE", "FR", "GB", "US", "BR", "IN", "JP", "ZA", "AU")
NOW = "2026-11-29 00:00:00"
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


class Dialect:
    """The few spellings that differ between PostgreSQL and SQLite."""

    def __init__(self, name: str) -> None:
        self.pg = name == "postgresql"

    def series(self, count: int) -> str:
        if self.pg:
            return f"(SELECT CAST(n AS BIGINT) AS n FROM generate_series(1, {count}) AS g(n)) s"
        return f"(SELECT n FROM seq WHERE n <= {count}) s"

    def date(self, iso: str) -> str:
        return f"DATE '{iso}'" if self.pg else f"'{iso}'"

    def now(self) -> str:
        return f"TIMESTAMPTZ '{NOW}+00'" if self.pg else f"'{NOW}.000000'"

    def days_after(self, iso: str, days_expr: str) -> str:
        """A timestamp `days_expr` days after midnight UTC of `iso` (SQLAlchemy's format)."""
        if self.pg:
            return f"(TIMESTAMPTZ '{iso} 00:00:00+00' + ({days_expr}) * INTERVAL '1 day')"
        return f"strftime('%Y-%m-%d %H:%M:%f000', '{iso}', '+' || ({days_expr}) || ' days')"

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


def pick(salt: int, values: tuple[str, ...]) -> str:
    """One of `values` (SQL literals), chosen pseudo-randomly per row."""
    whens = " ".join(f"WHEN {i} THEN {v}" for i, v in enumerate(values))
    return f"(CASE {h(salt, len(values))} {whens} END)"


def quoted(*values: str) -> tuple[str, ...]:
    return tuple(f"'{v}'" for v in values)


def _statements(size: Size, d: Dialect) -> list[tuple[str, str]]:
    z, a, i = size.zoos, size.animals, size.incidents
    per_zoo, epz = a // z, size.enclosures_per_zoo
    now = d.now()
    animal_zoo = f"((n - 1) / {per_zoo} + 1)"
    incident_zoo = f"((n - 1) % {z} + 1)"
    # Incidents about animals name an animal of their zoo; one in ten is about an enclosure.
    # Choices hash n rather than take n % k, which would correlate with the zoo (n % zoos).
    incident_animal = (
        f"CASE WHEN {h(18, 10)} = 0 THEN NULL "
        f"ELSE ({incident_zoo} - 1) * {per_zoo} + {h(3, per_zoo)} + 1 END"
    )
    incident_enclosure = (
        f"CASE WHEN {h(18, 10)} = 0 THEN ({incident_zoo} - 1) * {epz} + {h(4, epz)} + 1 "
        "ELSE NULL END"
    )
    # About 30% open: reported, under_review, confirmed; the rest resolved or dismissed.
    status = pick(
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
    first_seen = d.days_after("2024-01-01", h(6, 1060))
    last_seen = d.days_after("2024-01-01", f"{h(6, 1060)} + n % 30")
    return [
        (
            "zoos",
            f"""INSERT INTO zoo (id, slug, name, city, country_code, created_at, updated_at,
                concern_version)
            SELECT n, 'bench-zoo-' || n, 'Bench Zoo ' || n, 'City ' || n,
                {pick(1, quoted(*COUNTRIES))}, {now}, {now}, 0
            FROM {d.series(z)}""",
        ),
        (
            "species",
            f"""INSERT INTO species (id, scientific_name, common_name, taxon_class, is_domestic,
                iucn_category, cites_appendix, social_structure, min_group_size, min_area_m2,
                climate_zones, updated_at)
            SELECT n, 'Benchus species' || n, 'Bench species ' || n,
                CASE n % 3 WHEN 0 THEN 'mammal' WHEN 1 THEN 'bird' ELSE 'reptile' END,
                {d.false()},
                CASE n % 5 WHEN 0 THEN 'EN' WHEN 1 THEN 'VU' WHEN 2 THEN 'CR' ELSE 'LC' END,
                CASE n % 4 WHEN 0 THEN 'I' WHEN 1 THEN 'II' WHEN 2 THEN 'III' ELSE NULL END,
                CASE n % 3 WHEN 0 THEN 'solitary' WHEN 1 THEN 'pair' ELSE 'group' END,
                CASE n % 3 WHEN 0 THEN 1 WHEN 1 THEN 2 ELSE 4 END,
                10 * (n % 7 + 1),
                {
                d.json('''CASE n % 4 WHEN 0 THEN '["tropical"]'
                    WHEN 1 THEN '["temperate", "cold"]' WHEN 2 THEN '["arid", "tropical"]'
                    ELSE '["cold"]' END''')
            }, {now}
            FROM {d.series(size.species)}""",
        ),
        (
            "gifts",
            f"""INSERT INTO gift (id, title, donor_name, donor_country, recipient_name,
                recipient_country, recipient_zoo_id, delivered_on, cites_permit_ref,
                updated_at)
            SELECT n, 'Bench gift ' || n, 'Donor ' || n, 'RU', 'Recipient ' || n, 'KP', n,
                {d.date("2024-11-20")},
                CASE WHEN n % 2 = 0 THEN 'PERMIT-' || n ELSE NULL END, {now}
            FROM {d.series(z)}""",
        ),
        (
            "enclosures",
            f"""INSERT INTO enclosure (id, zoo_id, name, kind, area_m2, capacity, climate,
                has_enrichment, last_inspected_on, notes, updated_at)
            SELECT n, (n - 1) / {epz} + 1, 'Enclosure ' || ((n - 1) % {epz} + 1),
                {pick(7, quoted("indoor", "outdoor", "mixed", "aviary", "aquatic", "terrarium"))},
                100 + {h(8, 900)}, 5 + {h(9, 40)},
                {pick(10, quoted("tropical", "arid", "temperate", "cold", "controlled"))},
                CASE WHEN n % 2 = 0 THEN {d.true()} ELSE {d.false()} END,
                CASE {h(11, 4)} WHEN 0 THEN NULL WHEN 1 THEN {d.date("2024-03-01")}
                    ELSE {d.date("2026-06-01")} END,
                'Generated for the benchmark.', {now}
            FROM {d.series(z * epz)}""",
        ),
        (
            "animals",
            f"""INSERT INTO animal (id, zoo_id, species_id, enclosure_id, gift_id, name,
                identifier, sex, count, origin, status, created_at, updated_at)
            SELECT n, {animal_zoo}, {h(12, size.species)} + 1,
                CASE WHEN n % 10 = 0 THEN NULL
                    ELSE ({animal_zoo} - 1) * {epz} + {h(13, epz)} + 1 END,
                CASE WHEN n % 7 = 0 THEN {animal_zoo} ELSE NULL END,
                CASE WHEN n % 3 = 0 THEN 'Animal ' || n ELSE NULL END,
                'A-' || n,
                {pick(14, quoted("male", "female", "unknown"))},
                CASE WHEN n % 25 = 0 THEN 10 ELSE 1 END,
                CASE WHEN n % 7 = 0 THEN 'diplomatic_gift'
                    ELSE {pick(15, ORIGINS)} END,
                CASE WHEN n % 20 = 0 THEN 'deceased' ELSE 'alive' END,
                {now}, {now}
            FROM {d.series(a)}""",
        ),
        (
            "incidents",
            f"""INSERT INTO welfare_incident (id, zoo_id, animal_id, enclosure_id, category,
                severity, severity_set_by_inspector, status, title, first_observed_at,
                last_observed_at, report_count, created_at, updated_at, version)
            SELECT n, {incident_zoo}, {incident_animal}, {incident_enclosure},
                {pick(16, CATEGORIES)},
                {h(17, 5)} + 1, {d.false()}, {status}, 'Bench incident ' || n,
                {first_seen}, {last_seen}, 1, {now}, {now}, 1
            FROM {d.series(i)}""",
        ),
        (
            "reports",
            f"""INSERT INTO welfare_report (id, incident_id, zoo_id, animal_id, enclosure_id,
                category, severity, title, observed_at, reporter_name, evidence_urls,
                created_at)
            SELECT id, id, zoo_id, animal_id, enclosure_id, category, severity, title,
                first_observed_at,
                (SELECT name FROM bench_reporter WHERE k = id % {REPORTER_NAMES}),
                {d.json("'[]'")}, {now}
            FROM welfare_incident""",
        ),
        (
            "created events",
            f"""INSERT INTO incident_event (incident_id, at, kind, to_status, to_severity)
            SELECT id, {now}, 'created', 'reported', severity FROM welfare_incident""",
        ),
        (
            "report events",
            f"""INSERT INTO incident_event (incident_id, at, kind, report_id)
            SELECT id, {now}, 'report_added', id FROM welfare_incident""",
        ),
        (
            "status events",
            f"""INSERT INTO incident_event (incident_id, at, kind, to_status, note)
            SELECT id, {now}, 'status_changed', status, 'generated for the benchmark'
            FROM welfare_incident WHERE status <> 'reported'""",
        ),
        *_feed_statements(d),
    ]


def _feed_statements(d: Dialect) -> list[tuple[str, str]]:
    """The change feed: incident n's incident.opened at position (and id) 2n - 1, its report's
    report.filed at 2n, both as of the incident's creation; then the sequence's head."""
    now = d.now()
    stamp = f'"{NOW.replace(" ", "T")}Z"'  # as the feed renders a time

    def fixed(fields: str) -> str:  # constant JSON, its colons escaped from text()'s binds
        return "'" + fields.replace(":", "\\:") + "'"

    def num(column: str) -> str:
        return f"COALESCE(CAST({column} AS TEXT), 'null')"

    subject = f"""',"zoo_id":' || zoo_id || ',"animal_id":' || {num("animal_id")}
        || ',"enclosure_id":' || {num("enclosure_id")} || ',"category":"' || category
        || '","severity":' || severity || ',"title":"' || title || '"'"""
    return [
        (
            "feed: opened",
            f"""INSERT INTO event (id, position, type, occurred_at, zoo_id, subject_type,
                subject_id, data)
            SELECT 2 * id - 1, 2 * id - 1, 'incident.opened', {now}, zoo_id, 'incident', id,
                '{{"id":' || id || {subject}
                || {fixed(f',"status":"reported","report_count":1,"created_at":{stamp}}}')}
            FROM welfare_incident""",
        ),
        (
            "feed: filed",
            f"""INSERT INTO event (id, position, type, occurred_at, zoo_id, subject_type,
                subject_id, data)
            SELECT 2 * id, 2 * id, 'report.filed', {now}, zoo_id, 'report', id,
                '{{"id":' || id || ',"incident_id":' || id || {subject}
                || {fixed(f',"reporter_name":null,"created_at":{stamp}}}')}
            FROM welfare_incident""",
        ),
        (
            "feed: head",
            """UPDATE event_sequence SET position = (SELECT COALESCE(MAX(position), 0) FROM event)
            WHERE id = 1""",
        ),
    ]


# Secondary indexes are dropped during the load and rebuilt after: building an index over
# sorted, finished data is several times faster than maintaining it row by row.
BIG_TABLES = ("animal", "welfare_incident", "welfare_report", "incident_event", "event")


def _secondary_indexes() -> list[Index]:
    return [ix for t in BIG_TABLES for ix in SQLModel.metadata.tables[t].indexes]


def _reporter_names(conn: Connection, url: str) -> None:
    """A temporary table of encrypted reporter names (encrypted in Python: the column holds
    Fernet tokens), which the reports pick from by id."""
    cipher = crypto.configure(Settings(database_url=url))
    conn.exec_driver_sql("DROP TABLE IF EXISTS bench_reporter")
    conn.exec_driver_sql("CREATE TEMP TABLE bench_reporter (k INTEGER PRIMARY KEY, name TEXT)")
    conn.execute(
        text("INSERT INTO bench_reporter (k, name) VALUES (:k, :name)"),
        [{"k": k, "name": cipher.encrypt(f"Bench reporter {k}")} for k in range(REPORTER_NAMES)],
    )


def _prepare(conn: Connection, d: Dialect, size: Size) -> None:
    for index in _secondary_indexes():
        index.drop(conn)  # skips, as create does, those not on this database (search)
    if d.pg:
        # Referential checks are per-row triggers; the generator's ids are consistent by
        # construction, so the load skips them (the bench runs as the postgres superuser).
        conn.exec_driver_sql("SET LOCAL session_replication_role = replica")
        conn.exec_driver_sql("SET LOCAL maintenance_work_mem = '512MB'")
        conn.exec_driver_sql("SET LOCAL synchronous_commit = off")
    else:
        largest = max(size.incidents, size.animals)
        conn.exec_driver_sql("DROP TABLE IF EXISTS temp.seq")
        conn.exec_driver_sql("CREATE TEMP TABLE seq (n INTEGER PRIMARY KEY)")
        conn.exec_driver_sql(
            f"WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < {largest}) "
            "INSERT INTO temp.seq SELECT n FROM r"
        )


def _finish(conn: Connection, d: Dialect) -> None:
    for index in _secondary_indexes():
        index.create(conn)
    if d.pg:
        for table in (
            "zoo",
            "species",
            "gift",
            "enclosure",
            "animal",
            "welfare_incident",
            "welfare_report",
            "incident_event",
            "event",
        ):
            conn.exec_driver_sql(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT COALESCE(MAX(id), 1) FROM {table}))"
            )
    else:
        conn.exec_driver_sql("DROP TABLE IF EXISTS temp.seq")


def generate(url: str, size_name: str, *, echo: bool = True) -> dict[str, float]:
    """Rebuilds the schema and fills it; returns seconds per step."""
    size = SIZES[size_name]
    migrations.downgrade(url, "base")
    migrations.upgrade(url)
    engine: Engine = create_engine(url, hide_parameters=True)
    d = Dialect(make_url(url).get_backend_name())
    timings: dict[str, float] = {}
    try:
        with engine.begin() as conn:
            _prepare(conn, d, size)
            _reporter_names(conn, url)
            for label, sql in _statements(size, d):
                started = time.perf_counter()
                conn.execute(text(sql))
                timings[label] = time.perf_counter() - started
                if echo:
                    print(f"  {label:<16} {timings[label]:6.2f} s", file=sys.stderr)
            started = time.perf_counter()
            _finish(conn, d)
            timings["indexes"] = time.perf_counter() - started
            if echo:
                print(f"  {'indexes':<16} {timings['indexes']:6.2f} s", file=sys.stderr)
        started = time.perf_counter()
        with engine.connect() as conn:
            # After a bulk load, as a DBA would: PostgreSQL's VACUUM also sets the visibility
            # map, without which the covering indexes cannot answer from the index alone
            # (autovacuum may be off, and would take minutes to get there).
            analyze = "VACUUM ANALYZE" if conn.dialect.name == "postgresql" else "ANALYZE"
            conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql(analyze)
        timings["analyze"] = time.perf_counter() - started
    finally:
        engine.dispose()
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", required=True, help="SQLAlchemy URL of the database to fill")
    parser.add_argument("--size", choices=sorted(SIZES), default="S")
    args = parser.parse_args()
    started = time.perf_counter()
    print(
        f"generating size {args.size} into {make_url(args.url).render_as_string()}", file=sys.stderr
    )
    generate(args.url, args.size)
    print(f"done in {time.perf_counter() - started:.1f} s", file=sys.stderr)


if __name__ == "__main__":
    main()
