"""Shared column types, validators and schema bases for every entity."""

import re
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Annotated, Any

import pycountry
from pydantic import AfterValidator, ConfigDict, Field, field_validator
from sqlalchemy import DateTime, TypeDecorator
from sqlalchemy import Enum as SAEnum
from sqlmodel import SQLModel

# Named constraints make migrations reviewable and reversible (Alembic needs names to drop).
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

NAME_MAX = 200
SHORT_MAX = 120
TEXT_MAX = 5000
URL_MAX = 2000

_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


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


def _country_code(value: str) -> str:
    code = value.upper()
    if len(code) != 2 or pycountry.countries.get(alpha_2=code) is None:
        raise ValueError(f"'{value}' is not an ISO 3166-1 alpha-2 country code")
    return code


CountryCode = Annotated[str, AfterValidator(_country_code)]


def _not_in_future_year(value: int) -> int:
    if value > utcnow().year:
        raise ValueError("the year is in the future")
    return value


def _not_in_future_date(value: date) -> date:
    if value > utcnow().date():
        raise ValueError("the date is in the future")
    return value


PastYear = Annotated[int, Field(ge=1500), AfterValidator(_not_in_future_year)]
PastDate = Annotated[date, AfterValidator(_not_in_future_date)]


def _has_control_chars(value: Any) -> bool:
    if isinstance(value, str):
        return _CONTROL_CHARS.search(value) is not None
    if isinstance(value, list | tuple | set):
        return any(_has_control_chars(v) for v in value)
    if isinstance(value, dict):
        return any(_has_control_chars(k) or _has_control_chars(v) for k, v in value.items())
    return False


class InputSchema(SQLModel):
    """Base of every request body: unknown fields are refused, text is checked."""

    model_config = ConfigDict(extra="forbid")  # type: ignore[assignment]

    @field_validator("*", mode="after")
    @classmethod
    def _no_control_characters(cls, value: Any) -> Any:
        if _has_control_chars(value):
            raise ValueError("text may not contain NUL or other control characters")
        return value


def reject_explicit_null(*fields: str) -> Any:
    """A validator for PATCH schemas: a field may be left out, but not set to null."""

    def check(cls: type, value: Any) -> Any:
        if value is None:
            raise ValueError("may be omitted but not null")
        return value

    return field_validator(*fields, mode="after")(classmethod(check))  # type: ignore[arg-type]
