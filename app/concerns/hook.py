"""The write hook that keeps concern lists exact: every flush of every session invalidates
what its writes can change, in the flush's own transaction, so no write path can forget to.

What a flush changes, and what that invalidates (app/concerns/store.py explains both levels):
* an animal or an enclosure, added, changed or deleted: its zoo's stored flags are dropped
  (evaluated in full on the next read), and those of the zoo it left when it moved;
* a species or a gift changed: those of every zoo holding an animal of it (a new one has no
  animals yet, and the database refuses to delete one that has);
* an incident, added, changed or deleted: its subject is marked dirty (the animal, else the
  enclosure), and so is the subject it had before a change of subject or zoo (a reply
  changes its incident: a flag says when the zoo replied);
* a zoo's name, slug or country: its concern_version only (the ranking shows them; the
  stored flags do not). Never its own concern_version, which only this hook writes;
* a species' dated listing, added, changed or deleted: its holders' (the trade rules read the
  listing in force on the day an animal crossed a border);
* a country's CITES membership: every zoo's (the trade rules read it for any crossing; it
  changes a few times a year);
* CITES trade records inserted through the session (the import's executemany, seen by
  `do_orm_execute`): the holders of a species of their taxa.
A change only to what no list shows (updated_at, which every PATCH stamps) invalidates nothing.
Every zoo so invalidated has its concern_version bumped, which the cached lists are keyed by.

The SQL runs after the flush wrote its rows and before it returns, on the flush's connection:
the zoo rows first, then concern_state and concern_dirty, the order store.update locks them
in (a writer taking them the other way round could deadlock with a read).

Not seen by flush events: SQL sent through the session's connection. The PostgreSQL write of a
report about a new incident (app/services/report_writes.py) bumps and marks in its own one
statement; no other Core statement writes these tables. Bulk statements through the session
(`session.execute(update(Animal)...)`) are refused, so none can slip by; the bulk inserts
the imports make are seen by `do_orm_execute` (`_watch_statements`).

A session whose info holds DEFER_INVALIDATION (app/core/db.py) gathers what its flushes
invalidate and applies it once, just before it commits: a bulk import invalidates once per
file, not per batch. A rollback forgets it with the rows.

Installed once, on SQLAlchemy's Session class (and so on SQLModel's, and on every session
whatever made it), when this module is imported: app/core/db.py imports it, and every engine
of the app, the CLI, the seed and the tests is made there.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import bindparam, event, inspect, or_, select, update
from sqlalchemy.orm import InstanceState, ORMExecuteState, Session, UOWTransaction

from app.concerns import store
from app.concerns.tables import ANIMALS, ZOOS
from app.core.db import DEFER_INVALIDATION, inserted_rows
from app.models import (
    Animal,
    Country,
    Enclosure,
    Gift,
    Species,
    SpeciesStatus,
    TradeRecord,
    WelfareIncident,
    Zoo,
)
from app.models.base import table_of

BUMP = (
    update(ZOOS)
    .where(ZOOS.c.id.in_(bindparam("ids", expanding=True)))
    .values(concern_version=ZOOS.c.concern_version + 1)
)

# What the ranking shows of a zoo (its list shows nothing of it but its id).
ZOO_SHOWN = frozenset({"name", "slug", "country_code"})
# Columns no rule reads and no list shows, so a change to them alone invalidates nothing: the
# time every PATCH stamps (even one that changes nothing else), and of an incident the version
# that every change moves.
UNSHOWN = frozenset({"updated_at"})
INCIDENT_UNSHOWN = UNSHOWN | {"version"}
# The columns that say whose list a row is on; their values before a change are needed.
KEYS: dict[type[Any], tuple[str, ...]] = {
    Animal: ("zoo_id",),
    Enclosure: ("zoo_id",),
    WelfareIncident: ("zoo_id", "animal_id", "enclosure_id"),
    SpeciesStatus: ("species_id",),
}
WATCHED = (Animal, Enclosure, Species, Gift, WelfareIncident, Zoo, SpeciesStatus, Country)
WATCHED_TABLES = frozenset(table_of(model).name for model in WATCHED)
TRADE_TABLE = table_of(TradeRecord).name
ADDED_IN_BULK = frozenset(table_of(model).name for model in (Animal, Enclosure))
LISTING_TABLE = table_of(SpeciesStatus).name
NEW_ON_NO_LIST = frozenset(table_of(model).name for model in (Zoo, Species, Gift))
# What a country's change can change: whether the Convention bound it on a day.
COUNTRY_READ = frozenset({"cites_party_since", "source_url"})
SPECIES = table_of(Species)
_OLD = "zwr_concern_old_keys"  # in UOWTransaction.attributes: key values loaded before a flush


class UnwatchedWrite(RuntimeError):
    """A bulk statement through the session on a table the concern lists read."""


@dataclass
class Invalidation:
    """What one flush invalidates."""

    versions: set[int] = field(default_factory=set)  # zoos whose concern_version grows
    full: set[int] = field(default_factory=set)  # zoos evaluated in full on the next read
    subjects: set[tuple[int, str, int]] = field(default_factory=set)  # (zoo, kind, id) again
    species: set[int] = field(default_factory=set)  # whose holders are evaluated in full
    gifts: set[int] = field(default_factory=set)
    gone: set[int] = field(default_factory=set)  # zoos this flush deleted
    every_zoo: bool = False  # every zoo evaluated in full

    def merge(self, other: "Invalidation") -> None:
        for name in ("versions", "full", "subjects", "species", "gifts", "gone"):
            getattr(self, name).update(getattr(other, name))
        self.every_zoo |= other.every_zoo

    def subject(self, zoo_id: int | None, animal_id: int | None, enclosure_id: int | None) -> None:
        """An incident's subject: the animal if it names one, else the enclosure, else none
        (it raises no flag, but the ranking counts the zoo's open incidents)."""
        if zoo_id is None:
            return
        self.versions.add(zoo_id)
        if animal_id is not None:
            self.subjects.add((zoo_id, "animal", animal_id))
        elif enclosure_id is not None:
            self.subjects.add((zoo_id, "enclosure", enclosure_id))


def _changed(state: InstanceState[Any]) -> set[str]:
    """The columns whose value a flush changes (setting a column to its value is no change)."""
    attrs = state.attrs
    return {c.key for c in state.mapper.column_attrs if attrs[c.key].history.has_changes()}


def _values(
    state: InstanceState[Any], keys: Iterable[str], loaded: dict[str, Any] | None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The key columns' values before and after the flush. `loaded`: the row as the database
    had it before the flush, for a column set while unloaded (expired), whose old value the
    ORM never saw."""
    before, after = {}, {}
    for key in keys:
        history = state.attrs[key].history
        if history.deleted:
            old = history.deleted[0]
        elif history.unchanged:
            old = history.unchanged[0]
        else:
            old = (loaded or {}).get(key, state.dict.get(key))
        before[key] = old
        after[key] = history.added[0] if history.added else old
    return before, after


def _old_unknown(state: InstanceState[Any], key: str) -> bool:
    history = state.attrs[key].history
    return not history.deleted and not history.unchanged


def _before_flush(session: Session, flush_context: UOWTransaction, _instances: Any) -> None:
    """Reads the key columns of rows a flush will change or delete whose old values the ORM
    never loaded (rare: an expired object). The database still has them now."""
    missing: dict[type[Any], list[Any]] = {}
    for obj in (*session.dirty, *session.deleted):
        keys = KEYS.get(type(obj))
        if keys is None:
            continue
        state = inspect(obj)
        if state.identity is not None and any(_old_unknown(state, k) for k in keys):
            missing.setdefault(type(obj), []).append(state.identity[0])
    loaded: dict[tuple[type[Any], int], dict[str, Any]] = {}
    for model, ids in missing.items():
        table = table_of(model)
        columns = [table.c[key] for key in KEYS[model]]
        stmt = select(table.c.id, *columns).where(table.c.id.in_(ids))
        for row in session.connection().execute(stmt):
            loaded[(model, row.id)] = dict(row._mapping)
    flush_context.attributes[_OLD] = loaded


def collect(session: Session, flush_context: UOWTransaction) -> Invalidation:
    """What the flush's new, changed and deleted rows invalidate. After the flush, where the
    session still lists them as before it and their attributes keep their history."""
    found = Invalidation()
    loaded: dict[tuple[type[Any], int], dict[str, Any]] = flush_context.attributes.get(_OLD, {})
    for how, objects in (("new", session.new), ("changed", session.dirty)):
        for obj in objects:
            if isinstance(obj, WATCHED):
                _note(found, obj, how, loaded)
    for obj in session.deleted:
        if isinstance(obj, WATCHED):
            _note(found, obj, "deleted", loaded)
    return found


def _note(
    found: Invalidation, obj: Any, how: str, loaded: dict[tuple[type[Any], int], dict[str, Any]]
) -> None:
    if how == "new":  # its values as flushed (a bulk load adds thousands: kept cheap)
        if isinstance(obj, Animal | Enclosure):
            found.full.add(obj.zoo_id)
        elif isinstance(obj, WelfareIncident):
            found.subject(obj.zoo_id, obj.animal_id, obj.enclosure_id)
        elif isinstance(obj, SpeciesStatus):
            found.species.add(obj.species_id)
        # A new zoo, species or gift is on no list yet (an animal of it counts as an animal).
        return
    state = inspect(obj)
    changed = set()
    if how == "changed":
        changed = _changed(state) - (
            INCIDENT_UNSHOWN if isinstance(obj, WelfareIncident) else UNSHOWN
        )
        if not changed:
            return  # touched, or changed where no list looks
    if isinstance(obj, Country):
        found.every_zoo |= bool(changed & COUNTRY_READ)
        return
    if isinstance(obj, Zoo | Species | Gift):
        own_id = _id(state)
        if isinstance(obj, Zoo):
            if how == "deleted":
                found.gone.add(own_id)
            elif changed & ZOO_SHOWN:
                found.versions.add(own_id)
        elif how == "changed":  # none is deleted while an animal holds it (foreign keys)
            (found.species if isinstance(obj, Species) else found.gifts).add(own_id)
        return
    model = type(obj)
    known = loaded.get((model, _id(state)))
    before, after = _values(state, KEYS[model], known)
    if isinstance(obj, SpeciesStatus):
        found.species.update({before["species_id"], after["species_id"]})
        return
    if isinstance(obj, WelfareIncident):
        found.subject(after["zoo_id"], after["animal_id"], after["enclosure_id"])
        if before != after:  # and the subject or zoo it leaves
            found.subject(before["zoo_id"], before["animal_id"], before["enclosure_id"])
    else:  # an animal or an enclosure, and the zoo it leaves
        found.full.update(z for z in (before["zoo_id"], after["zoo_id"]) if z is not None)


def _id(state: InstanceState[Any]) -> int:
    """A persistent row's id (its identity: loading its expired id could not work after the
    flush deleted it)."""
    identity = state.identity
    assert identity is not None, "a row changed or deleted by a flush has an identity"
    return int(identity[0])


def apply(session: Session, found: Invalidation) -> None:
    """Bumps the zoos' concern_versions, then drops or marks their stored flags. On the
    flush's connection: no flush again (none may start inside a flush)."""
    connection = session.connection()
    full = set(found.full)
    if found.every_zoo:
        full.update(connection.execute(select(ZOOS.c.id)).scalars())
    elif found.species or found.gifts:
        holders = (
            select(ANIMALS.c.zoo_id)
            .where(
                or_(
                    ANIMALS.c.species_id.in_(sorted(found.species)),
                    ANIMALS.c.gift_id.in_(sorted(found.gifts)),
                )
            )
            .distinct()
        )
        full.update(connection.execute(holders).scalars())
    full -= found.gone  # their stored flags went with them (ON DELETE CASCADE)
    # A zoo evaluated in full needs no subject marked.
    subjects = {s for s in found.subjects if s[0] not in full and s[0] not in found.gone}
    versions = (found.versions | full | {s[0] for s in subjects}) - found.gone
    if not versions:
        return
    connection.execute(BUMP, {"ids": sorted(versions)})  # first: see the module's docstring
    if full:
        store.drop(connection, sorted(full))
    if subjects:
        store.mark(connection, subjects)


_PENDING = "zwr.pending_invalidation"  # session.info: what deferred flushes invalidated


def _after_flush(session: Session, flush_context: UOWTransaction) -> None:
    _invalidate(session, collect(session, flush_context))


def _invalidate(session: Session, found: Invalidation) -> None:
    """Now, or at the commit of a session that defers it."""
    if session.info.get(DEFER_INVALIDATION):
        session.info.setdefault(_PENDING, Invalidation()).merge(found)
    else:
        apply(session, found)


def _before_commit(session: Session) -> None:
    if not session.info.get(DEFER_INVALIDATION):
        return
    session.flush()  # commit's own flush comes after this event; its rows count too
    pending = session.info.pop(_PENDING, None)
    if pending is not None:
        apply(session, pending)


def _after_rollback(session: Session) -> None:
    session.info.pop(_PENDING, None)


def _trade_records_added(session: Session, parameters: Any) -> None:
    """Inserted trade records: the holders of a species of their taxa are evaluated again."""
    rows = parameters if isinstance(parameters, list) else [parameters or {}]
    taxa = sorted({str(row["taxon"]) for row in rows if row.get("taxon")})
    if not taxa:
        return
    named = select(SPECIES.c.id).where(SPECIES.c.scientific_name.in_(taxa))
    species = set(session.connection().execute(named).scalars())
    if species:
        _invalidate(session, Invalidation(species=species))


def _watch_statements(execute_state: ORMExecuteState) -> None:
    """Bulk statements bypass the flush, and with it this hook: refused on the tables the
    concern lists read (write those rows through the session's unit of work instead). The
    exceptions, written thousands at a time by the imports, are seen here: inserts of trade
    records, of animals and enclosures (their zoos), of listings (their species' holders), and
    of zoos, species and gifts (on no list until an animal names them)."""
    if not (execute_state.is_insert or execute_state.is_update or execute_state.is_delete):
        return
    table = getattr(execute_state.statement, "table", None)
    name = getattr(table, "name", None)
    if name == TRADE_TABLE:
        if execute_state.is_delete:
            raise UnwatchedWrite("trade records are never deleted through the session")
        if execute_state.is_insert:
            _trade_records_added(execute_state.session, execute_state.parameters)
        return  # an update changes quantities, which no rule reads
    if execute_state.is_insert and name in ADDED_IN_BULK:
        rows = inserted_rows(execute_state, name) or []
        zoos = {int(row["zoo_id"]) for row in rows if row.get("zoo_id") is not None}
        if zoos:  # as a flush of the same rows (_note): their zoos evaluated in full
            _invalidate(execute_state.session, Invalidation(full=zoos))
        return
    if execute_state.is_insert and name == LISTING_TABLE:
        rows = inserted_rows(execute_state, name) or []
        species = {int(row["species_id"]) for row in rows if row.get("species_id") is not None}
        if species:  # as a flush of a new listing: the species' holders
            _invalidate(execute_state.session, Invalidation(species=species))
        return
    if execute_state.is_insert and name in NEW_ON_NO_LIST:
        return
    if name in WATCHED_TABLES:
        raise UnwatchedWrite(
            f"a bulk {type(execute_state.statement).__name__} on {name} would not invalidate "
            "the concern lists (app/concerns/hook.py); change the rows through the session"
        )


def install() -> None:
    """Listens on every session; once, however often it is called."""
    for name, listener in (
        ("before_flush", _before_flush),
        ("after_flush", _after_flush),
        ("before_commit", _before_commit),
        ("after_rollback", _after_rollback),
        ("do_orm_execute", _watch_statements),
    ):
        if not event.contains(Session, name, listener):
            event.listen(Session, name, listener)


def installed() -> bool:
    """Whether every session has the hook (the tests ask)."""
    return event.contains(Session, "after_flush", _after_flush)


install()
