"""Shared column types, validators and schema bases for every entity."""

import functools
from collections.abc import Callable
from datetime import UTC, date, datetime
from enum import Enum, StrEnum
from typing import Annotated, Any, Protocol, cast, get_args, get_origin

import pycountry
from pydantic import (
    AfterValidator,
    ConfigDict,
    Field,
    GetJsonSchemaHandler,
    ValidationInfo,
    field_validator,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema
from sqlalchemy import DateTime, Index, Table, TypeDecorator, func
from sqlalchemy import Enum as SAEnum
from sqlalchemy import inspect as sa_inspect
from sqlmodel import SQLModel

from app.core import text
from app.core.openapi import NAMED_SCHEMA

# Named constraints make migrations reviewable and reversible (Alembic needs names to drop).
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

ID_MAX = 2_147_483_647  # ids are 32-bit integers on PostgreSQL

# SQLite reuses the id of the newest row once it is deleted (max(id) + 1); AUTOINCREMENT never
# does, so nothing that names an id (a key's zoos) can come to name a new row. PostgreSQL's
# sequences never reuse ids. For every table with an integer surrogate `id`.
SQLITE_AUTOINCREMENT: dict[str, Any] = {"sqlite_autoincrement": True}


def id_table_args(*args: Any) -> tuple[Any, ...]:
    """`__table_args__` for a table keyed by an integer `id`: `args`, then AUTOINCREMENT."""
    return (*args, SQLITE_AUTOINCREMENT)


NAME_MAX = 200
SHORT_MAX = 120
TEXT_MAX = 5000
URL_MAX = 2000


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC timestamp on every backend (SQLite stores naive text)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored; give a timezone")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def enum_column(enum: type[StrEnum], name: str) -> SAEnum:
    """A portable enumeration column: VARCHAR plus a named CHECK constraint."""
    return SAEnum(
        enum,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=max(len(m.value) for m in enum),
        values_callable=lambda e: [m.value for m in e],
        validate_strings=True,
    )


COUNTRY_CODES = sorted(country.alpha_2 for country in pycountry.countries)


def _country_code(value: str) -> str:
    if value not in COUNTRY_CODES:
        raise ValueError(f"'{value}' is not an ISO 3166-1 alpha-2 country code (upper case)")
    return value


# One named enum in the OpenAPI document (components.schemas.CountryCode) that every field
# refers to (app/core/openapi.py), not the list copied into each schema.
CountryCode = Annotated[
    str,
    AfterValidator(_country_code),
    Field(
        json_schema_extra={
            "enum": COUNTRY_CODES,
            "description": "An ISO 3166-1 alpha-2 country code, upper case.",
            NAMED_SCHEMA: "CountryCode",
        }
    ),
]


def _not_in_future_year(value: int) -> int:
    if value > utcnow().year:
        raise ValueError("the year is in the future")
    return value


def _not_in_future_date(value: date) -> date:
    if value > utcnow().date():
        raise ValueError("the date is in the future")
    return value


def in_utc(value: datetime | None) -> datetime | None:
    """The time in UTC, as it is stored and compared; a time with an offset that puts it
    outside years 1-9999 in UTC (0001-01-01T00:00:00+14:00) cannot be, and is refused."""
    if value is None or value.tzinfo is None:
        return value  # naive times are refused by the fields that need a timezone
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValueError("the time is outside years 1 to 9999 once converted to UTC") from None


# Every datetime a request gives: queries use it, and InputSchema applies it to every body field.
UTCInput = Annotated[datetime, AfterValidator(in_utc)]

PastYear = Annotated[int, Field(ge=1500), AfterValidator(_not_in_future_year)]
PastDate = Annotated[date, AfterValidator(_not_in_future_date)]


def _any_text(value: Any, test: Callable[[str], bool]) -> bool:
    """Whether some text in the value (a string, or one inside a list or dict) passes test."""
    if isinstance(value, str):
        return test(value)
    if isinstance(value, list | tuple | set):
        return any(_any_text(v, test) for v in value)
    if isinstance(value, dict):
        return any(_any_text(k, test) or _any_text(v, test) for k, v in value.items())
    return False


def _text_target(annotation: Any) -> tuple[type | None, bool]:
    """The enum, date, datetime or integer type a field reads from a JSON form that strict
    validation would refuse (text, or 12.0 for an integer), and whether it is a list."""
    for arg in (annotation, *get_args(annotation)):
        if get_origin(arg) is list:
            inner, _ = _text_target(get_args(arg)[0])
            return inner, True
        if arg is int or (isinstance(arg, type) and issubclass(arg, Enum | date)):
            return arg, False
        if get_origin(arg) is Annotated:
            found = _text_target(get_args(arg)[0])
            if found[0] is not None:
                return found
    return None, False


def _from_text(target: type, value: Any) -> Any:
    if target is int:
        # JSON Schema counts 12.0 as an integer; strings and booleans stay refused.
        is_whole = isinstance(value, float) and value.is_integer()
        return int(value) if is_whole else value
    if not isinstance(value, str):
        return value  # strict validation then refuses numbers and booleans
    if issubclass(target, Enum):
        try:
            return target(value)
        except ValueError:
            allowed = ", ".join(f"'{m.value}'" for m in target)
            raise ValueError(f"must be one of {allowed}") from None
    try:
        if issubclass(target, datetime):
            return datetime.fromisoformat(value)
        return date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"'{value[:40]}' is not an ISO 8601 {target.__name__}") from None


@functools.cache
def _field_target(schema: type[SQLModel], name: str) -> tuple[type | None, bool]:
    """_text_target of a schema's field, worked out once (it runs for every field given)."""
    field = schema.model_fields.get(name)
    return _text_target(field.annotation) if field else (None, False)


class InputSchema(SQLModel):
    """Base of every request body: unknown fields are refused, text is checked, and types are
    strict (no 0 for false or "1" for 1): what the OpenAPI schema says is what is accepted."""

    model_config = ConfigDict(extra="forbid", strict=True)  # type: ignore[assignment]  # SQLModelConfig

    @field_validator("*", mode="before")
    @classmethod
    def _parse_json_text(cls, value: Any, info: ValidationInfo) -> Any:
        # FastAPI validates the decoded body in Python mode, where strict types would refuse
        # the JSON forms of enums, dates and whole-number floats; accept exactly those.
        if value is None:
            return value
        target, many = _field_target(cls, info.field_name or "")
        if target is None:
            return value
        if many:
            return [_from_text(target, v) for v in value] if isinstance(value, list) else value
        return _from_text(target, value)

    @classmethod
    def __get_pydantic_json_schema__(
        cls, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        # A PATCH field that may be omitted but not null is documented without the null.
        schema = handler(core_schema)
        target = handler.resolve_ref_schema(schema)
        not_null = cls.__pydantic_decorators__.field_validators.get("_not_null")
        for name in not_null.info.fields if not_null else ():
            prop = target.get("properties", {}).get(name, {})
            if "anyOf" in prop:
                kept = [s for s in prop.pop("anyOf") if s.get("type") != "null"]
                prop.update(kept[0] if len(kept) == 1 else {"anyOf": kept})
                prop.pop("default", None)
        return schema

    @field_validator("*", mode="after")
    @classmethod
    def _text_rules(cls, value: Any, info: ValidationInfo) -> Any:
        # app/core/text.py: the same rules are patterns in the OpenAPI document.
        if not isinstance(value, str | list | tuple | set | dict):
            return value  # no text in it (most fields: numbers, dates, enums, null)
        if _any_text(value, text.has_control_chars):
            raise ValueError(text.CONTROL_MESSAGE)
        if _any_text(value, text.has_bidi_controls):
            raise ValueError(text.BIDI_MESSAGE)
        display = text.is_display_field(info.field_name or "")
        if display and isinstance(value, str) and text.shows_nothing(value):
            raise ValueError(text.INVISIBLE_MESSAGE)
        return value

    @field_validator("*", mode="after")
    @classmethod
    def _representable_in_utc(cls, value: Any) -> Any:
        # Every datetime of a body, so storing it cannot overflow; a type whose own checks
        # compare times puts in_utc first (ObservedAt).
        return in_utc(value) if isinstance(value, datetime) else value


def reject_explicit_null(*fields: str) -> Any:
    """A validator for PATCH schemas: a field may be left out, but not set to null."""

    def check(cls: type, value: Any) -> Any:
        if value is None:
            raise ValueError("may be omitted but not null")
        return value

    return field_validator(*fields, mode="after")(classmethod(check))


def search_indexes(model: type[SQLModel], *columns: str) -> None:
    """Declares, for PostgreSQL only, a pg_trgm GIN index on lower(column) for each column:
    it serves `like_filter`'s lower(column) LIKE '%q%' (app/services/common.py; created by
    migration 0010). SQLite searches its large tables through FTS5 (app/services/search.py)."""
    table = table_of(model)
    for name in columns:
        label = f"lower_{name}"
        Index(
            f"ix_{table.name}_{name}_trgm",
            func.lower(table.c[name]).label(label),
            postgresql_using="gin",
            postgresql_ops={label: "gin_trgm_ops"},
        ).ddl_if(dialect="postgresql")


def table_of(model: type[SQLModel]) -> Table:
    """The Core table of a table model, typed (SQLModel's stubs do not declare `__table__`)."""
    return cast(Table, sa_inspect(model).local_table)


class _Identified(Protocol):
    @property
    def id(self) -> int | None: ...


def row_id(row: _Identified) -> int:
    """The id of a row that has been flushed or loaded; None there is a bug, not bad input."""
    if row.id is None:
        raise RuntimeError(f"{type(row).__name__} has no id: it was never flushed")
    return row.id
