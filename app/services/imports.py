"""Bulk import of zoos, species and their dated listings, enclosures, gifts and animals from
CSV or NDJSON.

Rows refer to each other by natural keys and are upserted by them:

| kind | key | references |
|---|---|---|
| zoos | slug | |
| species | scientific_name | |
| species_statuses | species, kind, valid_from | species (its scientific name) |
| enclosures | zoo (its slug), name | zoo |
| gifts | title, delivered_on | recipient_zoo (a slug, optional) |
| animals | zoo, identifier | zoo, species, enclosure (in its zoo), gift_title + gift_delivered_on |

The other columns are the API's fields of that kind, by the same names. A column the file
does not have keeps its stored value; an empty cell is null. Columns an export writes besides
(`id`, `..._id`, `created_at`, `updated_at`) are skipped. Each row is checked as the API checks
one record: the record it would make (the stored one with the row's values on it) must pass
the kind's Create model, and the cross-record rules (an enclosure in the animal's zoo, a gift
animal's gift, the gift's zoo, listings that never overlap) are the services' own.

A file lands whole or not at all: every row is checked, and one bad row rolls back what the
others wrote; the answer then lists every bad row's number, column and message. A dry run
checks and counts, and writes nothing. Rows are read and written in batches, so memory stays
flat whatever the file's length; the concern lists are invalidated once, at the commit.
"""

import functools
import types
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import ValidationError
from sqlalchemy import column as sql_column
from sqlalchemy import func
from sqlalchemy import select as sql_select
from sqlalchemy import table as sql_table
from sqlalchemy import text as sql_text
from sqlmodel import Session, SQLModel, col, select

from app.core.db import bulk_insert, deferred_invalidation
from app.core.errors import Unprocessable, field_error
from app.core.seen import SeenKeys
from app.models import Animal, ApiKey, Enclosure, Gift, Species, SpeciesStatus, Zoo
from app.models.animal import AnimalCreate
from app.models.api_key import Role
from app.models.base import InputSchema, table_of, utcnow
from app.models.enclosure import EnclosureCreate
from app.models.gift import GiftCreate
from app.models.imports import ImportKind, ImportResult
from app.models.listing import ListingImport, ListingKind
from app.models.species import SpeciesCreate
from app.models.zoo import ZooCreate
from app.services import gifts as gift_service
from app.services import listings as listing_service
from app.services.access import ensure_role
from app.services.animals import Placed, consistency_problems
from app.services.common import apply_update, commit
from app.services.import_files import FileFormat, ImportFileError, Rows, SourceRow

BATCH = 2000
SKIPPED = frozenset({"id", "created_at", "updated_at"})  # and every column ending in _id

OpenText = Callable[[], Iterable[str]]
Progress = Callable[[int], None]


@dataclass(frozen=True)
class Spec:
    table: type[SQLModel]
    create: type[InputSchema]
    key: tuple[str, ...]  # the model fields a row is matched by
    references: dict[str, str]  # file column -> the model field it resolves to
    role: Role
    # Fields the Create model has not, which a file may set as the Update model would.
    extra: dict[str, type] = field(default_factory=dict)
    # A key field a row may leave empty: such a row cannot be matched, so it always creates.
    optional_key: str | None = None

    @functools.cached_property
    def fields(self) -> tuple[str, ...]:
        """The model fields a file may set directly (by their own names)."""
        referenced = set(self.references.values())
        return tuple(f for f in self.create.model_fields if f not in referenced)

    @functools.cached_property
    def columns(self) -> frozenset[str]:
        dated = {"gift_delivered_on"} if "gift_title" in self.references else set()
        return frozenset(self.fields) | self.references.keys() | dated | self.extra.keys()

    @functools.cached_property
    def kinds(self) -> dict[str, Any]:
        """Each Create model field's plain type (`_plain`), worked out once."""
        return {name: _plain(f.annotation) for name, f in self.create.model_fields.items()}

    def column_of(self, model_field: str) -> str:
        for column, target in self.references.items():
            if target == model_field:
                return column
        return model_field


SPECS: dict[ImportKind, Spec] = {
    ImportKind.zoos: Spec(
        Zoo, ZooCreate, ("slug",), {}, Role.admin, extra={"submissions_paused": bool}
    ),
    ImportKind.species: Spec(Species, SpeciesCreate, ("scientific_name",), {}, Role.inspector),
    ImportKind.species_statuses: Spec(
        SpeciesStatus,
        ListingImport,
        ("species_id", "kind", "valid_from"),
        {"species": "species_id"},
        Role.inspector,
    ),
    ImportKind.enclosures: Spec(
        Enclosure, EnclosureCreate, ("zoo_id", "name"), {"zoo": "zoo_id"}, Role.inspector
    ),
    ImportKind.gifts: Spec(
        Gift,
        GiftCreate,
        ("title", "delivered_on"),
        {"recipient_zoo": "recipient_zoo_id"},
        Role.inspector,
    ),
    ImportKind.animals: Spec(
        Animal,
        AnimalCreate,
        ("zoo_id", "identifier"),
        {
            "zoo": "zoo_id",
            "species": "species_id",
            "enclosure": "enclosure_id",
            "gift_title": "gift_id",
        },
        Role.inspector,
        optional_key="identifier",
    ),
}


# A listing's id (None: a new row of the file), first and last day, and what it is.
Span = tuple[int | None, date, date | None, str]


@dataclass
class Lookups:
    """The natural keys the rows name, loaded once per file (ids and what the rules need)."""

    session: Session
    _zoos: dict[str, int] | None = None
    _species: dict[str, int] | None = None
    _enclosures: dict[tuple[int, str], Placed] | None = None
    _gifts: dict[tuple[str, date | None], list[Placed]] | None = None
    _enclosures_by_id: dict[int, Placed] | None = None
    _gifts_by_id: dict[int, Placed] | None = None
    _domestic: set[int] | None = None
    _listings: dict[tuple[int, ListingKind], list[Span]] | None = None

    def zoo(self, slug: str) -> int | None:
        if self._zoos is None:
            rows = self.session.execute(select(col(Zoo.slug), col(Zoo.id)))
            self._zoos = {slug: int(zoo_id) for slug, zoo_id in rows}
        return self._zoos.get(slug)

    def species(self, name: str) -> int | None:
        if self._species is None:
            named = self.session.execute(select(col(Species.scientific_name), col(Species.id)))
            self._species = {name: int(species_id) for name, species_id in named}
        return self._species.get(name)

    def enclosure(self, zoo_id: int, name: str) -> Placed | None:
        if self._enclosures is None:
            rows = self.session.exec(select(Enclosure.zoo_id, Enclosure.name, Enclosure.id))
            self._enclosures = {(z, n): Placed(int(i or 0), z) for z, n, i in rows}
        return self._enclosures.get((zoo_id, name))

    def enclosure_by_id(self, enclosure_id: int) -> Placed | None:
        if self._enclosures_by_id is None:
            self.enclosure(0, "")  # loads them
            self._enclosures_by_id = {p.id: p for p in (self._enclosures or {}).values()}
        return self._enclosures_by_id.get(enclosure_id)

    def gift_by_id(self, gift_id: int) -> Placed | None:
        if self._gifts_by_id is None:
            self.gifts("", None)  # loads them
            found = (p for ps in (self._gifts or {}).values() for p in ps)
            self._gifts_by_id = {p.id: p for p in found}
        return self._gifts_by_id.get(gift_id)

    def domestic(self, species_id: int) -> bool:
        if self._domestic is None:
            named = self.session.execute(
                select(col(Species.id)).where(col(Species.is_domestic).is_(True))
            )
            self._domestic = {int(i) for i in named.scalars()}
        return species_id in self._domestic

    def listings(self, species_id: int, kind: ListingKind) -> list[Span]:
        """The species' listings of the kind: those stored, then the file's rows so far."""
        if self._listings is None:
            self._listings = {}
            listed = table_of(SpeciesStatus).c
            stored = self.session.execute(
                sql_select(
                    listed.species_id, listed.kind, listed.id, listed.valid_from, listed.valid_to
                )
            )
            for s, k, i, start, end in stored:
                span = (int(i), start, end, f"listing {i}")
                self._listings.setdefault((int(s), ListingKind(k)), []).append(span)
        return self._listings.setdefault((species_id, kind), [])

    def gifts(self, title: str, delivered_on: date | None) -> list[Placed]:
        if self._gifts is None:
            self._gifts = {}
            rows = self.session.execute(
                select(
                    col(Gift.title),
                    col(Gift.delivered_on),
                    col(Gift.id),
                    col(Gift.recipient_zoo_id),
                )
            )
            for t, d, i, z in rows:
                self._gifts.setdefault((t, d), []).append(Placed(int(i or 0), z))
        return self._gifts.get((title, delivered_on), [])


@dataclass
class _Row:
    number: int
    values: dict[str, Any]  # model field -> value (references resolved)
    given: set[str]  # the model fields the row sets
    key: tuple[Any, ...] | None = None
    errors: list[tuple[str, str]] = field(default_factory=list)  # (column, message)


@dataclass
class _Run:
    spec: Spec
    kind: ImportKind
    actor: ApiKey | None
    lookups: Lookups
    dry_run: bool
    result: ImportResult
    errors: list[dict[str, Any]] = field(default_factory=list)
    seen: SeenKeys = field(default_factory=SeenKeys)  # the keys' first rows
    touched: set[int] = field(default_factory=set)  # species whose listings the file writes

    @property
    def writing(self) -> bool:
        return not self.dry_run and not self.errors


# --- reading a row ----------------------------------------------------------------------------


def _plain(annotation: Any) -> Any:
    """A field's type without Optional and Annotated: int, float, bool, list, or another."""
    origin = get_origin(annotation)
    if origin is Annotated:
        return _plain(get_args(annotation)[0])
    if origin in (Union, types.UnionType):
        inner = [a for a in get_args(annotation) if a is not type(None)]
        return _plain(inner[0]) if inner else annotation
    if origin is list:
        return list
    return annotation


BOOLEANS = {"true": True, "yes": True, "1": True, "false": False, "no": False, "0": False}


def _from_cell(kind: Any, text: str) -> Any:
    """A CSV cell as the field's type (a list: values separated by ';'); text as written."""
    if kind is str:
        return text
    text = text.strip()
    if kind is bool:
        if text.lower() not in BOOLEANS:
            raise ValueError("true or false is needed")
        return BOOLEANS[text.lower()]
    if kind is int:
        try:
            return int(text)
        except ValueError:
            raise ValueError("a whole number is needed") from None
    if kind is float:
        try:
            return float(text)
        except ValueError:
            raise ValueError("a number is needed") from None
    if kind is list:
        return [part.strip() for part in text.split(";") if part.strip()]
    return text


def _date(text: Any) -> date | None:
    if text is None or isinstance(text, date):
        return text
    return date.fromisoformat(str(text))


def _read(run: _Run, source: SourceRow, file_format: FileFormat) -> _Row:
    spec = run.spec
    row = _Row(source.number, {}, set())
    if source.error:
        row.errors.append(("row", source.error))
        return row
    references: dict[str, Any] = {}
    for column, value in source.values.items():
        if column in SKIPPED or column.endswith("_id"):
            continue
        if column not in spec.columns:
            row.errors.append((column, "is not a column of this kind"))
        elif column in spec.references or column == "gift_delivered_on":
            references[column] = value.strip() if isinstance(value, str) else value
        elif column in spec.extra:
            _read_extra(row, column, spec.extra[column], value)
        elif value is None or file_format is FileFormat.ndjson:
            row.values[column] = value
            row.given.add(column)
        else:
            try:
                row.values[column] = _from_cell(spec.kinds[column], value)
                row.given.add(column)
            except ValueError as exc:
                row.errors.append((column, str(exc)))
    _resolve(run, row, references)
    for name in spec.key:  # compared with stored keys: as the stored type, without padding
        value = row.values.get(name)
        if isinstance(value, str) and spec.kinds[name] is date:
            try:
                row.values[name] = date.fromisoformat(value)
            except ValueError:
                row.errors.append((name, "an ISO 8601 date is needed"))
        elif isinstance(value, str):
            row.values[name] = value.strip()
    if not row.errors:
        row.key = tuple(row.values.get(k) for k in spec.key)
        for name, part in zip(spec.key, row.key, strict=True):
            if part is None and name == spec.optional_key:
                row.key = None  # created, never matched
                break
            if part is None and name != "delivered_on":
                column = spec.column_of(name)
                row.errors.append((column, "is needed: rows are matched by it"))
    return row


def _read_extra(row: _Row, column: str, kind: type, value: Any) -> None:
    """A field only the Update model has: never null, of its type."""
    if isinstance(value, str):
        try:
            value = _from_cell(kind, value)
        except ValueError as exc:
            row.errors.append((column, str(exc)))
            return
    if value is None:
        row.errors.append((column, "may be omitted but not null"))
    elif type(value) is not kind:
        row.errors.append((column, f"a {kind.__name__} is needed"))
    else:
        row.values[column] = value
        row.given.add(column)


def _resolve(run: _Run, row: _Row, given: dict[str, Any]) -> None:
    """The references (slugs, names, titles) as ids."""
    lookups = run.lookups

    def named(column: str, target: str, value: Any, found: int | None, what: str) -> None:
        row.given.add(target)
        if value is None:
            row.values[target] = None
        elif found is None:
            row.errors.append((column, f"no {what} '{value}'"))
        else:
            row.values[target] = found

    if "zoo" in given:
        slug = given["zoo"]
        named("zoo", "zoo_id", slug, lookups.zoo(str(slug)) if slug else None, "zoo with slug")
    if "recipient_zoo" in given:
        slug = given["recipient_zoo"]
        zoo = lookups.zoo(str(slug)) if slug else None
        named("recipient_zoo", "recipient_zoo_id", slug, zoo, "zoo with slug")
    if "species" in given:
        name = given["species"]
        found = lookups.species(str(name)) if name else None
        named("species", "species_id", name, found, "species named")
    if "enclosure" in given:
        name, zoo_id = given["enclosure"], row.values.get("zoo_id")
        place = lookups.enclosure(zoo_id, str(name)) if name and zoo_id else None
        named("enclosure", "enclosure_id", name, place.id if place else None, "enclosure named")
    if "gift_title" in given or "gift_delivered_on" in given:
        title = given.get("gift_title")
        try:
            day = _date(given.get("gift_delivered_on"))
        except ValueError:
            row.errors.append(("gift_delivered_on", "an ISO 8601 date is needed"))
            return
        matches = lookups.gifts(str(title), day) if title else []
        row.given.add("gift_id")
        if title is None:
            row.values["gift_id"] = None
        elif len(matches) != 1:
            what = "no gift" if not matches else f"{len(matches)} gifts"
            row.errors.append(("gift_title", f"{what} titled '{title}' delivered on {day}"))
        else:
            row.values["gift_id"] = matches[0].id


# --- checking and writing a batch -----------------------------------------------------------


def _existing(session: Session, spec: Spec, rows: list[_Row]) -> dict[tuple[Any, ...], Any]:
    keys = [r.key for r in rows if r.key is not None]
    if not keys:
        return {}
    table = spec.table
    if len(spec.key) == 1:
        column = col(getattr(table, spec.key[0]))
        stmt = select(table).where(column.in_([k[0] for k in keys]))
    elif spec.key[1] == "delivered_on":  # a null date matches no tuple: by title, then both
        stmt = select(table).where(col(Gift.title).in_({k[0] for k in keys}))
    else:  # each column in its values, not a tuple IN: lists PostgreSQL plans at once
        columns = [col(getattr(table, k)) for k in spec.key]
        stmt = select(table).where(*(c.in_({k[i] for k in keys}) for i, c in enumerate(columns)))
    wanted = set(keys)
    found: dict[tuple[Any, ...], Any] = {}
    for record in session.exec(stmt):
        key = tuple(getattr(record, k) for k in spec.key)
        if key in wanted:
            found.setdefault(key, record)
    return found


def _check(run: _Run, row: _Row, stored: Any) -> tuple[dict[str, Any] | None, dict[str, Any]]:
    """The record the row makes, validated (its fields' values), and the fields it changes
    (stored rows)."""
    spec = run.spec
    creating = stored is None
    base = {} if creating else {f: getattr(stored, f) for f in spec.create.model_fields}
    state = base | {f: row.values[f] for f in row.given if f in spec.create.model_fields}
    zoo = _zoo_of(run.kind, state, stored)
    if run.actor is not None and not run.actor.allows_zoo(zoo):
        where = f"zoo {zoo}" if zoo is not None else "records that belong to no zoo"
        row.errors.append(
            (
                spec.column_of("zoo_id") if run.kind is not ImportKind.zoos else "slug",
                f"this key is limited to zoos {run.actor.zoo_ids}; it may not act on {where}",
            )
        )
        return None, {}
    try:
        record = spec.create.model_validate(state)
    except ValidationError as exc:
        for error in exc.errors():
            where = str(error["loc"][0]) if error["loc"] else "row"
            message = error["msg"].removeprefix("Value error, ")
            row.errors.append((spec.column_of(where), message))
        return None, {}
    # The validated fields as they are (model_dump copies each; the models are flat).
    values = dict(record.__dict__) | {f: row.values[f] for f in row.given if f in spec.extra}
    changes = {} if creating else {f: v for f, v in values.items() if getattr(stored, f) != v}
    if run.kind is ImportKind.animals:
        _check_animal(run, row, values, stored, changes)
    elif run.kind is ImportKind.species_statuses:
        _check_listing(run, row, values, stored)
    elif run.kind is ImportKind.gifts and stored is not None and changes.get("recipient_zoo_id"):
        try:
            gift_service.ensure_animals_in(run.lookups.session, stored, changes["recipient_zoo_id"])
        except Unprocessable as exc:
            row.errors.append(("recipient_zoo", exc.detail))
    return (None if row.errors else values), changes


def _fields_too(run: _Run, row: _Row) -> None:
    """A row already in error: its other fields are checked too, so that one answer lists
    every mistake (the references that failed stand in as valid ids)."""
    spec = run.spec
    failed = {column for column, _ in row.errors}
    state = {f: row.values.get(f) for f in row.given if f in spec.create.model_fields}
    for target in spec.references.values():
        if state.get(target) is None:
            state[target] = 1
    for name in spec.key:  # a missing key was reported; the record's own rules still apply
        state.setdefault(name, None)
    try:
        spec.create.model_validate(state)
    except ValidationError as exc:
        for error in exc.errors():
            column = spec.column_of(str(error["loc"][0])) if error["loc"] else "row"
            if column not in failed and column != "row":
                row.errors.append((column, error["msg"].removeprefix("Value error, ")))


def _zoo_of(kind: ImportKind, state: dict[str, Any], stored: Any) -> int | None:
    if kind is ImportKind.zoos:
        return None if stored is None else int(stored.id)
    if kind in (ImportKind.species, ImportKind.species_statuses):
        return None  # they belong to no zoo
    if kind is ImportKind.gifts:
        return state.get("recipient_zoo_id")
    return state.get("zoo_id")


def _check_animal(
    run: _Run, row: _Row, values: dict[str, Any], stored: Any, changes: dict[str, Any]
) -> None:
    lookups = run.lookups
    enclosure = gift = None
    if values.get("enclosure_id") is not None:
        enclosure = lookups.enclosure_by_id(values["enclosure_id"])
    named = stored is None or "gift_id" in changes or "zoo_id" in changes
    if values.get("gift_id") is not None and named:
        gift = lookups.gift_by_id(values["gift_id"])
    for model_field, message in consistency_problems(values, enclosure, gift, gift_named=named):
        row.errors.append((run.spec.column_of(model_field), message))


def _check_listing(run: _Run, row: _Row, values: dict[str, Any], stored: Any) -> None:
    """The listing rules of app/services/listings.py: a domestic form takes no IUCN listing,
    and two listings of one kind for one species never overlap, neither with those stored
    (but the one the row updates) nor with the file's other rows."""
    species_id, kind = values["species_id"], ListingKind(values["kind"])
    start, end = values["valid_from"], values["valid_to"]
    if kind is ListingKind.iucn and run.lookups.domestic(species_id):
        row.errors.append(("kind", listing_service.DOMESTIC))
        return
    spans = run.lookups.listings(species_id, kind)
    own = None if stored is None else stored.id
    for other_id, other_start, other_end, where in spans:
        if other_id is not None and other_id == own:
            continue
        if (other_end is None or other_end >= start) and (end is None or other_start <= end):
            until = "still in force" if other_end is None else str(other_end)
            message = f"overlaps the {kind.value} listing from {other_start} to {until} ({where})"
            row.errors.append(("valid_from", message))
            return
    spans.append((own, start, end, f"row {row.number}"))
    run.touched.add(species_id)


def _batch(run: _Run, session: Session, rows: list[_Row]) -> None:
    with _planned_afresh(session):
        stored = _existing(session, run.spec, [r for r in rows if not r.errors])
    now = utcnow()
    created: list[dict[str, Any]] = []
    for row in rows:
        if row.key is not None and not row.errors:
            first = run.seen.first(row.key, row.number)
            if first != row.number:
                row.errors.append(("row", f"repeats row {first}: the same natural key"))
        values = changes = None
        if not row.errors:
            values, changes = _check(run, row, stored.get(row.key or ()))
        else:
            _fields_too(run, row)
        if row.errors:
            for column, message in row.errors:
                run.errors.append(field_error(["body", row.number, column], message))
            continue
        current = stored.get(row.key or ())
        if current is None:
            run.result.created += 1
            if run.writing and values is not None:
                created.append(values)
        elif changes:
            run.result.updated += 1
            if run.writing:
                apply_update(current, changes)
                if "updated_at" in run.spec.table.model_fields:
                    current.updated_at = now
                session.add(current)
        else:
            run.result.unchanged += 1
    if run.writing:
        session.flush()  # the updates
        _insert(session, run.spec.table, created, now)
    session.expunge_all()  # the batch's rows leave memory; the next batch loads its own


def _insert(
    session: Session, table: type[SQLModel], created: list[dict[str, Any]], now: datetime
) -> None:
    """The new rows, validated already, in one bulk insert through the session (the write
    hooks see it: app/concerns/hook.py, app/events/hook.py, app/records/movements.py), with
    their ids drawn beforehand: the events and arrivals name them, and on SQLite an INSERT
    that returns its ids takes a statement per row."""
    if not created:
        return
    stamps = {f: now for f in ("created_at", "updated_at") if f in table.model_fields}
    ids = _new_ids(session, table, len(created))
    rows = [values | stamps | {"id": new_id} for new_id, values in zip(ids, created, strict=True)]
    # The table's Core insert, not the ORM's bulk insert (which builds each row again), and
    # through the session, whose do_orm_execute listeners see it.
    bulk_insert(session, table_of(table), rows)


def _new_ids(session: Session, table: type[SQLModel], count: int) -> Sequence[int]:
    """`count` ids for new rows of `table`, as its inserts would have drawn them."""
    if not count:
        return ()
    name = table_of(table).name
    if session.get_bind().dialect.name == "postgresql":
        sequence = func.pg_get_serial_sequence(name, "id")
        drawn = select(func.nextval(sequence)).select_from(func.generate_series(1, count))
        return [int(i) for i in session.execute(drawn).scalars()]
    # SQLite: one writer at a time (the writer's transactions begin IMMEDIATE), and an
    # AUTOINCREMENT table never reuses an id, so the next is past the highest ever drawn.
    seq = sql_table("sqlite_sequence", sql_column("name"), sql_column("seq"))
    drawn_before = select(seq.c.seq).where(seq.c.name == name).scalar_subquery()
    highest = select(func.max(table_of(table).c.id)).scalar_subquery()
    last = session.execute(
        select(func.max(func.coalesce(drawn_before, 0), func.coalesce(highest, 0)))
    ).scalar_one()
    return range(int(last) + 1, int(last) + 1 + count)


def _rows(open_text: OpenText, file_format: FileFormat) -> Rows:
    try:
        return Rows(open_text(), file_format)
    except ImportFileError as exc:
        raise Unprocessable(str(exc), errors=[field_error(["body"], str(exc))]) from None


def _check_header(spec: Spec, rows: Rows) -> None:
    if rows.columns is None:
        return
    unknown = [
        c
        for c in rows.columns
        if c not in spec.columns and c not in SKIPPED and not c.endswith("_id")
    ]
    if unknown:
        expected = ", ".join(sorted(spec.columns))
        message = (
            f"The header names columns this kind does not have: {', '.join(unknown)}. "
            f"Its columns are {expected}."
        )
        raise Unprocessable(
            message, errors=[field_error(["body", 1, c], "unknown column") for c in unknown]
        )


def import_file(
    *,
    session: Session,
    kind: ImportKind,
    open_text: OpenText,
    file_format: FileFormat,
    actor: ApiKey | None,
    dry_run: bool = False,
    progress: Progress | None = None,
) -> ImportResult:
    """Imports one file of one kind, whole or not at all (the module's docstring)."""
    spec = SPECS[kind]
    if actor is not None:
        ensure_role(actor, spec.role)
    rows = _rows(open_text, file_format)
    _check_header(spec, rows)
    run = _Run(
        spec=spec,
        kind=kind,
        actor=actor,
        lookups=Lookups(session),
        dry_run=dry_run,
        result=ImportResult(kind=kind, dry_run=dry_run, rows=0, created=0, updated=0, unchanged=0),
    )
    try:
        with deferred_invalidation(session):
            batch: list[_Row] = []
            for source in rows:
                run.result.rows += 1
                batch.append(_read(run, source, file_format))
                if len(batch) >= BATCH:
                    _batch(run, session, batch)
                    batch = []
                    if progress is not None:
                        progress(run.result.rows)
            _batch(run, session, batch)
            if run.writing:
                _listings_in_force(session, run.touched)
            if run.errors or dry_run:
                session.rollback()
            else:
                commit(session, conflict="A row conflicts with a record written meanwhile.")
    except ImportFileError as exc:
        session.rollback()
        raise Unprocessable(str(exc), errors=[field_error(["body"], str(exc))]) from None
    if progress is not None:
        progress(run.result.rows)
    if run.errors:
        bad = len({e["location"][1] for e in run.errors})
        raise Unprocessable(
            f"{bad} of the file's {run.result.rows} rows are not valid; nothing was imported. "
            "Each error names the row (a CSV's header is row 1) and the column.",
            errors=run.errors,
        )
    return run.result


def _listings_in_force(session: Session, species_ids: set[int]) -> None:
    """The species whose listings the file wrote take the ones in force today, as after a
    listing written through the API."""
    for species_id in sorted(species_ids):
        species = session.get(Species, species_id)
        if species is not None:
            listing_service.current_status(session, species)


@contextmanager
def _planned_afresh(session: Session) -> Iterator[None]:
    """PostgreSQL: the statements within planned for the tables as they are now. psycopg
    prepares a statement run five times, and PostgreSQL may then keep a generic plan made
    while the table was nearly empty (a sequential scan), however large this transaction
    makes it: looking up each batch's keys would grow with every batch imported. Only the
    lookup: planning every insert afresh would cost more than it saves."""
    postgres = session.get_bind().dialect.name == "postgresql"
    if postgres:
        session.execute(sql_text("SET LOCAL plan_cache_mode = force_custom_plan"))
    try:
        yield
    finally:
        if postgres:
            session.execute(sql_text("SET LOCAL plan_cache_mode TO DEFAULT"))


def kinds() -> Sequence[ImportKind]:
    """The kinds, in the order a package is imported (each refers only to earlier ones)."""
    return (
        ImportKind.zoos,
        ImportKind.species,
        ImportKind.species_statuses,
        ImportKind.gifts,
        ImportKind.enclosures,
        ImportKind.animals,
    )
