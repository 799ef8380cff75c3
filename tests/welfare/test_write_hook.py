"""The write hook (app/concerns/hook.py): a write through every service, the seed and the CLI
invalidates what it can change - the zoo's concern_version grows, and its stored flags are
dropped (full) or its subject is marked dirty (subject-level) - and a concern list read after
the write, through the API and its caches, is the list evaluated from scratch. Writes that
change nothing a list shows leave the lists alone. Every session has the hook, however it was
made."""

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy
from fastapi.testclient import TestClient
from sqlalchemy import Engine, update
from sqlmodel import Session, col, select
from typer.testing import CliRunner

from app.cli import cli
from app.concerns.hook import UnwatchedWrite
from app.concerns.lists import zoo_concerns, zoo_concerns_page
from app.core import migrations
from app.core.config import Settings, get_settings
from app.core.db import COPY_FROM, bulk_insert, make_engine
from app.main import create_app
from app.models import (
    Animal,
    AnimalMovement,
    DirtySubject,
    Event,
    FlagsState,
    Species,
    Submission,
    WelfareIncident,
    Zoo,
)
from app.models.api_key import Role
from app.models.base import row_id, table_of
from app.models.enums import (
    AnimalStatus,
    Category,
    ClimateZone,
    IucnCategory,
    Origin,
    Sex,
    TaxonClass,
)
from app.models.zoo import ZooCreate
from app.seed.loader import load_seed, seed_facts
from tests.api.submission_helpers import set_submission_limit, submit
from tests.dbutil import create_database, drop_database
from tests.factories import make_animal, make_enclosure, make_gift, make_key, make_species, make_zoo

API = "/api/v1"
REPO_ROOT = Path(__file__).resolve().parents[2]
World = dict[str, Any]


@pytest.fixture
def world(session: Session) -> World:
    """A zoo where one write raises or clears a flag (a lone animal of a group species, a
    traded animal of a gift without a permit), and a second zoo whose animal is of another
    species: the first zoo's writes must leave it alone."""
    zoo, other = make_zoo(session), make_zoo(session)
    today = datetime.now(UTC).date()
    group = make_species(session, social_structure="group", min_group_size=2)
    listed = make_species(session, cites_appendix="II")
    gift = make_gift(session, recipient_zoo_id=zoo.id)
    pen = make_enclosure(session, zoo, capacity=3, climate="temperate", last_inspected_on=today)
    spare = make_enclosure(session, zoo, capacity=3, climate="temperate", last_inspected_on=today)
    lone = make_animal(session, zoo, group, enclosure_id=pen.id)
    traded = make_animal(
        session, zoo, listed, enclosure_id=pen.id, origin=Origin.diplomatic_gift, gift_id=gift.id
    )
    kin = make_species(session, social_structure="group", min_group_size=2)
    far = make_animal(session, other, kin, enclosure_id=make_enclosure(session, other).id)
    return {
        "zoo": zoo,
        "other": other,
        "group": group,
        "gift": gift,
        "pen": pen,
        "spare": spare,
        "lone": lone,
        "traded": traded,
        "far": far,
    }


@dataclass(frozen=True)
class Seen:
    """A zoo's invalidation state: its concern_version, whether its stored flags are
    current (a concern_state row), and its dirty subjects."""

    version: int
    stored: bool
    dirty: frozenset[tuple[str, int]]


def seen(session: sqlalchemy.orm.Session, zoo_id: int) -> Seen:
    """Read afresh, with any session (SQLModel's or SQLAlchemy's)."""
    session.expire_all()
    version = session.execute(select(Zoo.concern_version).where(Zoo.id == zoo_id)).scalar_one()
    stored = session.execute(select(FlagsState.zoo_id).where(FlagsState.zoo_id == zoo_id)).first()
    dirty = session.execute(
        select(DirtySubject.subject_type, DirtySubject.subject_id).where(
            DirtySubject.zoo_id == zoo_id
        )
    ).all()
    return Seen(version, stored is not None, frozenset((k, i) for k, i in dirty))


def api_list(client: TestClient, zoo_id: int) -> list[dict[str, Any]]:
    """The zoo's list as the API serves it (from its caches when it may)."""
    response = client.get(f"{API}/zoos/{zoo_id}/concerns", params={"limit": 500})
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def rules(items: list[dict[str, Any]], kind: str, subject_id: int) -> set[str]:
    return {
        f["rule"]
        for i in items
        if (i["subject_type"], i["subject_id"]) == (kind, subject_id)
        for f in i["flags"]
    }


class Watch:
    """Reads both zoos' lists through the API (so the caches hold them and their stored flags
    are current), then after a write tells what the write invalidated and checks that the API
    now serves the lists evaluated from scratch."""

    def __init__(
        self, client: TestClient, session: Session, settings: Settings, zoos: list[Zoo]
    ) -> None:
        self.client, self.session, self.settings = client, session, settings
        self.ids = [row_id(z) for z in zoos]
        self.lists = {z: api_list(client, z) for z in self.ids}
        self.before = {z: seen(session, z) for z in self.ids}
        for z in self.ids:
            assert self.before[z].stored and not self.before[z].dirty, "primed"

    def after(self) -> dict[int, list[dict[str, Any]]]:
        """The lists the API serves now; each is the list evaluated from scratch."""
        self.session.expire_all()
        lists = {}
        for z in self.ids:
            lists[z] = api_list(self.client, z)
            zoo = self.session.get(Zoo, z)
            if zoo is None:
                continue
            fresh = zoo_concerns(session=self.session, settings=self.settings, zoo=zoo)
            assert lists[z] == [item.model_dump(mode="json") for item in fresh]
        return lists

    def now(self, zoo_id: int) -> Seen:
        return seen(self.session, zoo_id)

    def full(self, zoo_id: int) -> None:
        """The zoo's stored flags were dropped, to be evaluated in full, and its version grew."""
        now = self.now(zoo_id)
        assert now.version > self.before[zoo_id].version
        assert not now.stored

    def subject(self, zoo_id: int, *subjects: tuple[str, int], bumps: int | None = None) -> None:
        """Only these subjects were marked, and the version grew (by `bumps`, if given)."""
        now = self.now(zoo_id)
        assert now.version > self.before[zoo_id].version
        if bumps is not None:
            assert now.version == self.before[zoo_id].version + bumps
        assert now.stored
        assert now.dirty == frozenset(subjects)

    def untouched(self, zoo_id: int) -> None:
        assert self.now(zoo_id) == self.before[zoo_id]


@pytest.fixture
def watch(
    client: TestClient, session: Session, settings: Settings, world: World
) -> Callable[[], Watch]:
    """Starts watching both zoos of the world (call it again after each write to watch the
    next one)."""

    def start() -> Watch:
        return Watch(client, session, settings, [world["zoo"], world["other"]])

    return start


def ok(response: Any, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json() if response.content else {}
    return body


# --- every session has the hook ---------------------------------------------------------------


@pytest.mark.parametrize("entry", ["app.main", "app.cli", "app.seed.loader", "app.concerns"])
def test_each_entry_point_installs_the_hook_in_a_fresh_interpreter(
    entry: str, tmp_path: Path
) -> None:
    """Importing what the app, the CLI or the seed starts from is enough: the hook is on the
    Session class before any session exists."""
    probe = (
        "import importlib, sys\n"
        f"importlib.import_module({entry!r})\n"
        "from sqlalchemy import event\n"
        "from sqlalchemy.orm import Session\n"
        "hook = sys.modules.get('app.concerns.hook')\n"
        "assert hook is not None, 'not imported'\n"
        "assert hook.installed()\n"
        "assert event.contains(Session, 'before_flush', hook._before_flush)\n"
        "assert event.contains(Session, 'do_orm_execute', hook._watch_statements)\n"
        "print('installed')\n"
    )
    env = os.environ | {"PYTHONPATH": str(REPO_ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0 and done.stdout.strip() == "installed", done.stderr


@pytest.fixture
def fresh_url() -> Iterator[str]:
    url = create_database("hook")
    try:
        migrations.upgrade(url)
        yield url
    finally:
        drop_database(url)


@pytest.mark.parametrize("session_class", [Session, sqlalchemy.orm.Session])
def test_a_plain_session_on_a_fresh_database_has_the_hook(
    fresh_url: str, session_class: type[sqlalchemy.orm.Session]
) -> None:
    """An engine not made by make_engine, a session of SQLModel's or SQLAlchemy's class."""
    engine = sqlalchemy.create_engine(fresh_url)
    try:
        with session_class(engine, expire_on_commit=False) as session:
            zoo = Zoo(slug="plain-zoo", name="Plain", country_code="KP")
            species = Species(
                scientific_name="Genus plainus",
                common_name="Plain",
                taxon_class=TaxonClass.mammal,
                iucn_category=IucnCategory.LC,
                climate_zones=[ClimateZone.temperate],
            )
            session.add_all([zoo, species])
            session.commit()
            zoo_id = row_id(zoo)
            today = datetime.now(UTC).date()
            session.add(FlagsState(zoo_id=zoo_id, evaluated_on=today, fingerprint="x"))
            session.commit()
            session.add(Animal(zoo_id=zoo_id, species_id=row_id(species)))
            session.commit()
            assert seen(session, zoo_id) == Seen(1, False, frozenset())
            animal = session.execute(select(Animal.id)).scalar_one()
            session.add(
                WelfareIncident(
                    zoo_id=zoo_id,
                    animal_id=animal,
                    category=Category.health,
                    severity=3,
                    title="Seen limping",
                    first_observed_at=datetime.now(UTC),
                    last_observed_at=datetime.now(UTC),
                    report_count=1,
                )
            )
            session.commit()
            assert seen(session, zoo_id) == Seen(2, False, frozenset({("animal", animal)}))
    finally:
        engine.dispose()


def test_bulk_statements_on_watched_tables_are_refused(session: Session, world: World) -> None:
    """They would bypass the flush; other tables' are not the hook's business."""
    for statement in (
        update(Animal).where(col(Animal.id) == world["lone"].id).values(name="Bulk"),
        sqlalchemy.delete(WelfareIncident).where(col(WelfareIncident.id) == -1),
        update(Zoo).values(concern_version=Zoo.concern_version + 1),
    ):
        with pytest.raises(UnwatchedWrite):
            session.execute(statement)
    session.execute(update(Submission).where(col(Submission.id) == -1).values(moderation_note="x"))


@pytest.mark.parametrize("count", [2, COPY_FROM], ids=["a-pair", "by-copy-on-postgresql"])
def test_a_bulk_insert_of_animals_is_seen_whole(
    session: Session, world: World, watch: Callable[[], Watch], count: int
) -> None:
    """The import's way: a Core insert of rows with their ids, through the session (on
    PostgreSQL, a batch of COPY_FROM rows by COPY). Their zoo is invalidated, and each gets
    its animal.registered event and its arrival."""
    zoo, species = world["zoo"], world["group"]
    w = watch()
    last = session.execute(select(sqlalchemy.func.max(Animal.id))).scalar_one()
    now = datetime.now(UTC)
    rows = [
        {
            "id": last + n,
            "zoo_id": zoo.id,
            "species_id": species.id,
            "enclosure_id": world["spare"].id,
            "gift_id": None,
            "identifier": f"BULK-{n}",
            "name": None,
            "sex": Sex.female,  # typed, as the import's validated rows are
            "count": 1,
            "birth_date": None,
            "origin": Origin.captive_born,
            "arrived_on": date(2020, 1, 1) + timedelta(days=n),
            "status": AnimalStatus.alive,
            "notes": None,
            "created_at": now,
            "updated_at": now,
        }
        for n in range(1, count + 1)
    ]
    sent: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        sent.append(statement)

    bind = session.connection().engine
    sqlalchemy.event.listen(bind, "before_cursor_execute", record)
    try:
        bulk_insert(session, table_of(Animal), rows)
    finally:
        sqlalchemy.event.remove(bind, "before_cursor_execute", record)
    by_copy = bind.dialect.name == "postgresql" and count >= COPY_FROM
    assert any(s.startswith("INSERT INTO animal ") for s in sent) is not by_copy

    w.full(zoo.id)
    w.untouched(world["other"].id)
    lists = w.after()
    if count == 2:
        assert rules(lists[zoo.id], "animal", last + 1) == set()  # a pair: no isolation
    ids = [r["id"] for r in rows]
    events = session.execute(
        select(Event.subject_id, Event.data).where(
            Event.type == "animal.registered", col(Event.subject_id).in_(ids)
        )
    ).all()
    assert sorted(e.subject_id for e in events) == ids
    data = json.loads(events[0].data)
    assert data["identifier"].startswith("BULK-") and data["enclosure_id"] == world["spare"].id
    arrivals = session.execute(
        select(AnimalMovement.animal_id, AnimalMovement.at, AnimalMovement.kind).where(
            col(AnimalMovement.animal_id).in_(ids)
        )
    ).all()
    assert sorted((a.animal_id, a.at, str(a.kind)) for a in arrivals) == [
        (r["id"], r["arrived_on"], "arrival") for r in rows
    ]
    stored = session.execute(
        select(Animal.identifier, Animal.sex, Animal.arrived_on).where(col(Animal.id) == ids[-1])
    ).one()
    assert tuple(stored) == (rows[-1]["identifier"], Sex.female, rows[-1]["arrived_on"])


def test_a_bulk_insert_without_ids_or_of_incidents_is_refused(
    session: Session, world: World
) -> None:
    unnamed = {"zoo_id": world["zoo"].id, "species_id": world["group"].id, "sex": "male"}
    with pytest.raises(RuntimeError, match="carries their ids"):
        session.execute(sqlalchemy.insert(table_of(Animal)), [unnamed])
    with pytest.raises(RuntimeError, match="through the session's flush"):
        session.execute(sqlalchemy.insert(table_of(WelfareIncident)), [{"zoo_id": world["zoo"].id}])


# --- zoos -------------------------------------------------------------------------------------


def test_a_zoos_name_bumps_its_version_and_the_ranking_shows_it(
    client: TestClient, session: Session, world: World, watch: Callable[[], Watch]
) -> None:
    w = watch()
    ranked = ok(client.get(f"{API}/concerns", params={"limit": 500}))["items"]
    assert world["zoo"].name in {r["zoo"]["name"] for r in ranked}
    ok(client.patch(f"{API}/zoos/{world['zoo'].id}", json={"name": "Renamed Zoo"}))
    now = w.now(world["zoo"].id)
    assert now.version == w.before[world["zoo"].id].version + 1
    assert now.stored  # the stored flags show no zoo name: kept
    w.untouched(world["other"].id)
    ranked = ok(client.get(f"{API}/concerns", params={"limit": 500}))["items"]
    names = {r["zoo"]["id"]: r["zoo"]["name"] for r in ranked}
    assert names[world["zoo"].id] == "Renamed Zoo"
    w.after()


def test_what_no_list_shows_of_a_zoo_invalidates_nothing(
    client: TestClient, world: World, watch: Callable[[], Watch]
) -> None:
    w = watch()
    ok(client.patch(f"{API}/zoos/{world['zoo'].id}", json={"city": "Pyongyang"}))
    w.untouched(world["zoo"].id)


def test_creating_and_deleting_a_zoo(
    client: TestClient,
    session: Session,
    settings: Settings,
    world: World,
    watch: Callable[[], Watch],
) -> None:
    w = watch()
    created = ok(
        client.post(f"{API}/zoos", json={"slug": "new-zoo", "name": "New", "country_code": "KP"}),
        201,
    )
    w.untouched(world["zoo"].id)
    w.untouched(world["other"].id)
    assert api_list(client, created["id"]) == []
    assert seen(session, created["id"]).stored  # its (empty) list was stored
    ok(client.delete(f"{API}/zoos/{created['id']}"), 204)
    session.expire_all()
    assert session.get(FlagsState, created["id"]) is None  # went with its zoo
    w.untouched(world["zoo"].id)


# --- species, enclosures, animals, gifts: the zoo is evaluated in full ------------------------


def test_a_species_change_drops_the_zoos_holding_it(
    client: TestClient, world: World, watch: Callable[[], Watch]
) -> None:
    w = watch()
    assert "social_isolation" in rules(w.lists[world["zoo"].id], "animal", world["lone"].id)
    body = {"social_structure": "solitary"}
    ok(client.patch(f"{API}/species/{world['group'].id}", json=body))
    w.full(world["zoo"].id)
    w.untouched(world["other"].id)  # holds no animal of it
    lists = w.after()
    assert "social_isolation" not in rules(lists[world["zoo"].id], "animal", world["lone"].id)


def test_creating_and_deleting_an_unused_species_invalidates_nothing(
    client: TestClient, world: World, watch: Callable[[], Watch]
) -> None:
    w = watch()
    body = {
        "scientific_name": "Genus novus",
        "common_name": "Novus",
        "taxon_class": "mammal",
        "iucn_category": "LC",
        "climate_zones": ["temperate"],
    }
    created = ok(client.post(f"{API}/species", json=body), 201)
    ok(client.delete(f"{API}/species/{created['id']}"), 204)
    w.untouched(world["zoo"].id)
    w.untouched(world["other"].id)


def test_enclosure_writes_drop_their_zoo(
    client: TestClient, world: World, watch: Callable[[], Watch]
) -> None:
    zoo = world["zoo"].id
    body = {
        "zoo_id": zoo,
        "name": "Annex",
        "kind": "outdoor",
        "area_m2": 100.0,
        "capacity": 2,
        "climate": "temperate",
    }
    for write in (
        lambda: ok(client.post(f"{API}/enclosures", json=body), 201),
        lambda: ok(client.patch(f"{API}/enclosures/{world['pen'].id}", json={"capacity": 1})),
        lambda: ok(client.delete(f"{API}/enclosures/{world['spare'].id}"), 204),
    ):
        w = watch()
        write()
        w.full(zoo)
        w.untouched(world["other"].id)
        lists = w.after()
    # The shrunk pen holds two animals where one fits.
    assert "overcrowded" in rules(lists[zoo], "enclosure", world["pen"].id)


def test_a_patch_that_changes_nothing_invalidates_nothing(
    client: TestClient, world: World, watch: Callable[[], Watch]
) -> None:
    """It stamps updated_at, which no list shows."""
    w = watch()
    ok(client.patch(f"{API}/enclosures/{world['pen'].id}", json={"capacity": 3}))
    ok(client.patch(f"{API}/animals/{world['lone'].id}", json={"status": "alive"}))
    w.untouched(world["zoo"].id)


def test_animal_writes_drop_their_zoo(
    client: TestClient, world: World, watch: Callable[[], Watch]
) -> None:
    zoo = world["zoo"].id
    body = {
        "zoo_id": zoo,
        "species_id": world["group"].id,
        "enclosure_id": world["pen"].id,
        "origin": "captive_born",
    }
    w = watch()
    assert "social_isolation" in rules(w.lists[zoo], "animal", world["lone"].id)
    created = ok(client.post(f"{API}/animals", json=body), 201)
    w.full(zoo)
    w.untouched(world["other"].id)
    assert "social_isolation" not in rules(w.after()[zoo], "animal", world["lone"].id)

    w = watch()
    ok(client.patch(f"{API}/animals/{created['id']}", json={"status": "deceased"}))
    w.full(zoo)
    w.untouched(world["other"].id)
    assert "social_isolation" in rules(w.after()[zoo], "animal", world["lone"].id)

    w = watch()
    ok(client.delete(f"{API}/animals/{created['id']}"), 204)
    w.full(zoo)
    w.untouched(world["other"].id)
    w.after()


def test_an_animal_moving_zoo_drops_both(
    client: TestClient, world: World, watch: Callable[[], Watch]
) -> None:
    w = watch()
    ok(client.patch(f"{API}/animals/{world['lone'].id}", json={"zoo_id": world["other"].id}))
    w.full(world["zoo"].id)
    w.full(world["other"].id)
    lists = w.after()
    assert rules(lists[world["zoo"].id], "animal", world["lone"].id) == set()
    assert "social_isolation" in rules(lists[world["other"].id], "animal", world["lone"].id)


def test_an_expired_animal_moving_zoo_drops_both(
    client: TestClient, session: Session, world: World, watch: Callable[[], Watch]
) -> None:
    """The ORM never saw the old zoo (the object was expired): the hook reads it before the
    flush."""
    w = watch()
    animal = session.get(Animal, world["lone"].id)
    assert animal is not None
    session.expire(animal)
    animal.zoo_id = world["other"].id
    animal.enclosure_id = None
    session.commit()
    w.full(world["zoo"].id)
    w.full(world["other"].id)
    w.after()


def test_gift_writes(client: TestClient, world: World, watch: Callable[[], Watch]) -> None:
    zoo = world["zoo"].id
    w = watch()
    assert "undocumented_trade" in rules(w.lists[zoo], "animal", world["traded"].id)
    body = {
        "title": "Another gift",
        "donor_name": "Somebody",
        "donor_country": "RU",
        "recipient_name": "Somebody else",
        "recipient_country": "KP",
        "recipient_zoo_id": zoo,
    }
    created = ok(client.post(f"{API}/gifts", json=body), 201)
    ok(client.delete(f"{API}/gifts/{created['id']}"), 204)
    w.untouched(zoo)  # no animal came with it
    body = {"cites_permit_ref": "KP-2019-001"}
    ok(client.patch(f"{API}/gifts/{world['gift'].id}", json=body))
    w.full(zoo)
    w.untouched(world["other"].id)
    assert "undocumented_trade" not in rules(w.after()[zoo], "animal", world["traded"].id)


# --- incidents and reports: the subject is marked -----------------------------------------------


def report(client: TestClient, world: World, **fields: Any) -> dict[str, Any]:
    body = {
        "zoo_id": world["zoo"].id,
        "category": "health",
        "severity": 5,
        "title": "Seen limping",
        "observed_at": (datetime.now(UTC) - timedelta(days=1)).isoformat(),
    } | fields
    return ok(client.post(f"{API}/reports", json=body), 201)


def test_a_report_about_a_new_incident_marks_its_subject_once(
    client: TestClient, world: World, watch: Callable[[], Watch]
) -> None:
    """SQLite writes the incident through the ORM (the hook marks it); PostgreSQL in one
    statement that marks it itself (the hook must not mark it again)."""
    w = watch()
    report(client, world, animal_id=world["far"].id, zoo_id=world["other"].id)
    w.subject(world["other"].id, ("animal", world["far"].id), bumps=1)
    w.untouched(world["zoo"].id)
    lists = w.after()
    assert "severe_open_incident" in rules(lists[world["other"].id], "animal", world["far"].id)


def test_a_report_about_nothing_bumps_the_zoo_and_marks_nothing(
    client: TestClient, world: World, watch: Callable[[], Watch]
) -> None:
    """It raises no flag, but the ranking counts the zoo's open incidents."""
    w = watch()
    report(client, world)
    w.subject(world["zoo"].id, bumps=1)


def test_a_report_added_to_an_incident_marks_the_incidents_subject(
    client: TestClient, world: World, watch: Callable[[], Watch]
) -> None:
    first = report(client, world, enclosure_id=world["spare"].id, severity=2)
    w = watch()
    assert "severe_open_incident" not in rules(
        w.lists[world["zoo"].id], "enclosure", world["spare"].id
    )
    report(client, world, incident_id=first["incident_id"], severity=5)
    w.subject(world["zoo"].id, ("enclosure", world["spare"].id), bumps=1)
    lists = w.after()
    assert "severe_open_incident" in rules(lists[world["zoo"].id], "enclosure", world["spare"].id)


def test_incident_transitions_and_severity_changes_mark_the_subject(
    client: TestClient, world: World, watch: Callable[[], Watch]
) -> None:
    zoo, lone = world["zoo"].id, world["lone"].id
    incident = report(client, world, animal_id=lone, severity=2)["incident_id"]
    w = watch()
    ok(client.post(f"{API}/incidents/{incident}/transitions", json={"to": "confirmed"}))
    w.subject(zoo, ("animal", lone), bumps=1)
    w.untouched(world["other"].id)
    assert "confirmed_incident" in rules(w.after()[zoo], "animal", lone)

    w = watch()
    etag = client.get(f"{API}/incidents/{incident}").headers["ETag"]
    response = client.patch(
        f"{API}/incidents/{incident}", json={"severity": 5}, headers={"If-Match": etag}
    )
    ok(response)
    w.subject(zoo, ("animal", lone), bumps=1)
    assert "severe_open_incident" in rules(w.after()[zoo], "animal", lone)


def test_an_incident_changing_subject_marks_both(
    session: Session, world: World, watch: Callable[[], Watch], client: TestClient
) -> None:
    """No service moves an incident, but the ORM can: the old subject is marked too."""
    incident_id = report(client, world, animal_id=world["lone"].id)["incident_id"]
    w = watch()
    incident = session.get(WelfareIncident, incident_id)
    assert incident is not None
    incident.animal_id = world["traded"].id
    session.commit()
    w.subject(world["zoo"].id, ("animal", world["lone"].id), ("animal", world["traded"].id))
    w.after()


def test_a_reply_marks_its_incidents_subject(
    client: TestClient, session: Session, world: World, watch: Callable[[], Watch]
) -> None:
    incident = report(client, world, animal_id=world["lone"].id)["incident_id"]
    w = watch()
    rep = make_key(session, Role.zoo_representative, zoos=[world["zoo"].slug])
    response = client.post(
        f"{API}/incidents/{incident}/replies",
        json={"body": "A vet has seen her."},
        headers={"Authorization": f"Bearer {rep}"},
    )
    ok(response, 201)
    w.subject(world["zoo"].id, ("animal", world["lone"].id))  # its flags say the zoo replied
    w.after()


def test_accepting_a_submission_marks_its_subject(
    client: TestClient,
    anon_client: TestClient,
    world: World,
    watch: Callable[[], Watch],
    app: Any,
) -> None:
    set_submission_limit(app, "1000/hour")
    created = submit(anon_client, world["zoo"].id, animal_id=world["lone"].id, severity=5)
    w = watch()
    response = client.post(f"{API}/submissions/{created['id']}/accept", json={})
    ok(response, 201)
    w.subject(world["zoo"].id, ("animal", world["lone"].id), bumps=1)
    flagged = rules(w.after()[world["zoo"].id], "animal", world["lone"].id)
    assert {"severe_open_incident", "human_imposed_behaviour"} <= flagged


# --- the seed, and the CLI --------------------------------------------------------------------


def _prime_seed_zoo(engine: Engine, settings: Settings) -> int:
    """The first seed zoo, already registered and its (empty) list stored, as on a registry
    that is being served when the seed is loaded."""
    row = seed_facts()["zoos"][0]
    with Session(engine, expire_on_commit=False) as session:
        zoo = Zoo.model_validate(ZooCreate.model_validate(row))
        session.add(zoo)
        session.commit()
        assert zoo_concerns_page(session=session, settings=settings, zoo=zoo, limit=50) == ([], 0)
        session.commit()
        assert seen(session, row_id(zoo)) == Seen(0, True, frozenset())
        return row_id(zoo)


@pytest.mark.parametrize("how", ["loader", "cli"])
def test_loading_the_seed_invalidates_the_zoos_it_fills(
    fresh_url: str, how: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = Settings(database_url=fresh_url)
    engine = make_engine(settings)
    try:
        zoo_id = _prime_seed_zoo(engine, settings)
        if how == "loader":
            load_seed(engine)
        else:
            monkeypatch.setenv("ZWR_DATABASE_URL", fresh_url)
            get_settings.cache_clear()
            try:
                done = CliRunner().invoke(cli, ["seed"])
            finally:
                get_settings.cache_clear()
            assert done.exit_code == 0, done.output
            assert "seed loaded" in done.output
        with Session(engine) as session:
            after = seen(session, zoo_id)
        assert after.version > 0 and not after.stored
        with TestClient(create_app(settings)) as client:
            items = api_list(client, zoo_id)
        assert any("confirmed_incident" in {f["rule"] for f in i["flags"]} for i in items)
    finally:
        engine.dispose()
