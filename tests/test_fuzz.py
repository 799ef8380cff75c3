"""A schemathesis fuzz run of the whole API, in-process, with every default check.

The OpenAPI document is read from an ASGI app at import time (an app whose database is never
opened); each operation is then its own pytest test, and its requests go to the `app`
fixture's app, on the per-test, rolled-back test database like every other test. Every
operation runs twice: with an admin key, and anonymously (no key of ours; schemathesis still
sends missing and made-up bearer tokens of its own where an operation declares the scheme).
Hypothesis is bounded and derandomized, so CI fuzzes the same requests on every run.
"""

import itertools
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from schemathesis.openapi.checks import RejectedPositiveData
from schemathesis.specs.openapi.checks import positive_data_acceptance  # the built-in check
from sqlalchemy import text
from sqlmodel import Session, SQLModel

from app.core.config import Settings
from app.core.ratelimit import WriteRateLimiter, sync_storage
from app.core.submission_limits import SubmissionLimit
from app.main import create_app
from tests.dbutil import override_sessions
from tests.factories import make_animal, make_enclosure, make_gift, make_species, make_zoo
from tests.limits import set_client_limits

_SCHEMA_ONLY_DB = Path(tempfile.gettempdir()) / "zwr-fuzz-schema-only-never-opened.db"
# The live stream never ends, so a call of it would not return: tests/e2e/test_event_stream.py
# runs it against a real server.
# An import's NDJSON body is text, as a CSV one is.
schemathesis.serializer.alias("application/x-ndjson", "text/plain")
schema = schemathesis.openapi.from_asgi(
    "/openapi.json", create_app(Settings(database_url=f"sqlite:///{_SCHEMA_ONLY_DB}"))
).exclude(path="/api/v1/events/stream")

FUZZ_SETTINGS = settings(
    max_examples=25,  # for the fuzzing phase; the coverage phase adds its own fixed cases
    deadline=None,
    derandomize=True,
    database=None,
    # Some operations' data is slow to generate or often filtered; and the function-scoped
    # fixtures are meant to be shared by all examples of an operation (one rolled-back
    # transaction per operation), which Hypothesis would otherwise warn about.
    suppress_health_check=list(HealthCheck),
)

# 422s for rules that an OpenAPI document cannot state, so valid-looking data meets them by
# chance: whether a referenced row exists or belongs to the same zoo as another, rules that
# tie one field to another, and dates compared with today. Everything else positive_data_
# acceptance finds (a documented schema looser than the validation) still fails the run.
_RULES_THE_SCHEMA_CANNOT_STATE = re.compile(
    "|".join(
        [
            r"no [a-z ]+ with id \d+\.?",
            r".* belongs to zoo \d+, not to the animal's zoo \d+\.",
            r"the [a-z]+ \d+ is in zoo \d+, not zoo \d+\.",
            r"incident \d+ is about zoo \d+, not \d+\.",
            r"incident \d+ is about (no )?(animal|enclosure)( \d+)?, not (animal|enclosure) \d+\.",
            r"gift \d+ went to zoo \d+, not to the animal's zoo \d+\.",
            r"animals of zoo \d+ trace their origin to gift \d+; it cannot name zoo \d+ as "
            r"its recipient\.",
            r"an animal whose origin is diplomatic_gift needs the gift_id of that gift\.",
            r"a domestic form has no iucn category; leave iucn_category null",
            r"(observed_at|the date|the year) is in the future",
            r"a zoo_representative key is limited to exactly one zoo: name it in `zoos`\.",
            r"the submitter gave no severity: set one to accept it\.",
            # A webhook URL's host, port and addresses, judged beyond what a pattern can say.
            r"this url cannot receive webhooks: .*",
            r"no zoo with id or slug '.*'\.",
            r"the animal is already in zoo \d+\.",
            # A species' dated listings: a range the wrong way round, one overlapping another
            # of its kind, an IUCN listing for a domestic form; a Party before the Convention.
            r"valid_to is before valid_from",
            r"overlaps (iucn|cites) listing \d+ \(.*\)",
            r"a domestic form has no iucn category; it takes no iucn listing",
            r"the convention entered into force on 1975-07-01; no country was a party before",
            # A trade file's text: a string in the schema, a CITES table only when it has the
            # comparative tabulation's header.
            r"the header has no column .*",
            r"the body is empty: send the file, a csv file's header row first\.",
            # An import's rows: references by name that the registry may not hold, and rows
            # the text drawn does not make.
            r"the header names columns this kind does not have: .*",
            r"the header row is empty: it names the columns\.",
            r"is not a column of this kind",
            r"unknown column",
            r"is needed: rows are matched by it",
            r"no (zoo with slug|species named|enclosure named) '.*'",
            r"(no gift|\d+ gifts) titled '.*' delivered on .*",
            r"is not json: .*",
            r"is not a json object",
            r"has \d+ cells; the header names \d+ columns",
            r"the header row cannot be read: .*",
            # A list's cursor: opaque text in the schema, the values of a row this list gave.
            r"the cursor is not one this list gave\.",
            r"the cursor was made for sort '.*', not '.*'\.",
            r"page by `after` or by `offset`, not both\.",
        ]
    ),
    re.IGNORECASE,
)


FILE_UPLOADS = {"/api/v1/imports/{kind}", "/api/v1/trade-records/import"}


def _rejected_only_by_rules_the_schema_cannot_state(response: schemathesis.Response) -> bool:
    if response.status_code != 422:
        return False
    try:
        errors = response.json().get("errors") or []
    except ValueError:
        return False
    messages = [str(e.get("message", "")).removeprefix("Value error, ") for e in errors]
    return bool(messages) and all(_RULES_THE_SCHEMA_CANNOT_STATE.fullmatch(m) for m in messages)


def positive_data_acceptance_within_the_schema(
    ctx: schemathesis.CheckContext, response: schemathesis.Response, case: schemathesis.Case
) -> bool | None:
    """The built-in positive_data_acceptance, less rejections the fuzzer cannot avoid."""
    try:
        return positive_data_acceptance(ctx, response, case)
    except RejectedPositiveData:
        if _rejected_only_by_rules_the_schema_cannot_state(response):
            return None
        # A file upload's schema is "a string": what its rows must hold is the kind's own
        # columns and rules (tested in tests/data/ and tests/records/), which no string
        # schema states.
        if case.operation.path in FILE_UPLOADS and response.status_code == 422:
            return None
        # A drawn If-Match is not the incident's current ETag, so 412 is the documented answer.
        if response.status_code == 412 and "If-Match" in response.request.headers:
            return None
        raise


_idempotency_keys = itertools.count(1)


def _call_and_validate(case: schemathesis.Case, app: FastAPI, headers: dict[str, str]) -> None:
    # A drawn Idempotency-Key repeats across examples with other bodies, which the API rightly
    # refuses (422, as the Idempotency-Key draft asks); a fresh valid key keeps each a new write.
    for name, value in list((case.headers or {}).items()):
        if name.lower() == "idempotency-key" and re.fullmatch(r"[\x21-\x7e]{1,200}", str(value)):
            case.headers[name] = f"fuzz-{next(_idempotency_keys)}"
    case.call_and_validate(
        app=app,
        headers=headers,
        excluded_checks=[positive_data_acceptance],
        additional_checks=[positive_data_acceptance_within_the_schema],
    )


def _restart_ids_after_the_highest(session: Session) -> None:
    """On PostgreSQL, sequences keep counting through earlier tests' rolled-back rows; start
    each again after its table's highest id, so the rows seeded below get ids 1, 2, ... (the
    ids the fuzzer tries first) on both backends. setval is never rolled back, but max + 1
    cannot collide with anything."""
    if session.get_bind().dialect.name != "postgresql":
        return
    for table in SQLModel.metadata.sorted_tables:
        if "id" in table.c:
            session.execute(
                text(
                    f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                    f'COALESCE((SELECT max(id) FROM "{table.name}"), 0) + 1, false)'
                )
            )


@pytest.fixture
def fuzz_app(app: FastAPI, session: Session, admin_key: str) -> Iterator[FastAPI]:
    """The test app, with one of each entity (so id 1 is found) and a session per request."""
    _restart_ids_after_the_highest(session)
    zoo = make_zoo(session)
    species = make_species(session)
    enclosure = make_enclosure(session, zoo=zoo)
    gift = make_gift(session, recipient_zoo_id=zoo.id)
    animal = make_animal(session, zoo=zoo, species=species, enclosure_id=enclosure.id)
    make_animal(session, zoo=zoo, species=species, origin="diplomatic_gift", gift_id=gift.id)

    # One session per request, each in its own savepoint of the test's transaction, as
    # production opens one per request: a request that fails part-way then cannot leave a
    # broken session behind for the next, which a single shared session would.
    connection = session.get_bind()

    def per_request_session() -> Iterator[Session]:
        with Session(
            bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
        ) as request_session:
            yield request_session

    override_sessions(app, per_request_session)
    # Hundreds of writes with one key would otherwise mostly meet the documented 429.
    app.state.rate_limiter = WriteRateLimiter("1000000/minute", "memory://")
    # And the per-address budgets: schemathesis also sends bad keys on purpose.
    set_client_limits(app)
    # And the public submissions' budget (5 an hour from one address by default).
    app.state.submission_limit = SubmissionLimit("1000000/minute", sync_storage("memory://"))

    # Webhook hosts are resolved to one public address, with no DNS asked.
    app.state.webhooks.resolver = lambda host, port: ["93.184.216.34"]

    # A report opens an incident, so the incident and report routes have rows to find.
    client = TestClient(app, headers={"Authorization": f"Bearer {admin_key}"})
    report: dict[str, Any] = {
        "zoo_id": zoo.id,
        "animal_id": animal.id,
        "category": "health",
        "severity": 3,
        "title": "Seen limping",
        "observed_at": "2024-01-02T03:04:05Z",
    }
    response = client.post("/api/v1/reports", json=report)
    assert response.status_code == 201, response.text
    yield app


@schema.parametrize()
@FUZZ_SETTINGS
def test_fuzz_as_admin(case: schemathesis.Case, fuzz_app: FastAPI, admin_key: str) -> None:
    _call_and_validate(case, fuzz_app, {"Authorization": f"Bearer {admin_key}"})


@schema.parametrize()
@FUZZ_SETTINGS
def test_fuzz_anonymously(case: schemathesis.Case, fuzz_app: FastAPI) -> None:
    _call_and_validate(case, fuzz_app, {})
