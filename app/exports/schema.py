"""What a Table Schema says about the export's columns: each field's type, constraints and
description, taken from the Public schemas where they have the field, so that the package
describes its columns as the API describes its fields."""

import types
from dataclasses import dataclass
from datetime import date, datetime
from enum import Enum, StrEnum
from typing import Any, Union, get_args, get_origin

from pydantic import BaseModel

from app.core.csvsafe import FORMULA_PREFIXES

NEUTRALISED = (
    "A text cell that would start with =, +, -, @, a tab or a carriage return is written with "
    "a single quote (') before it, so that spreadsheets show it as text instead of evaluating "
    "it as a formula: drop that first quote to get the stored text."
)


class Kind(StrEnum):
    """The Table Schema types the export writes."""

    integer = "integer"
    number = "number"
    string = "string"
    boolean = "boolean"
    date = "date"
    datetime = "datetime"


@dataclass(frozen=True)
class Field:
    name: str
    kind: Kind
    description: str
    required: bool = False
    enum: tuple[str, ...] | None = None
    joined: str | None = None  # a list, written as its items joined by this separator

    def __post_init__(self) -> None:
        # An enumeration's values are written as they are: none may start a formula.
        if any(v.startswith(FORMULA_PREFIXES) for v in self.enum or ()):
            raise ValueError(f"{self.name}: an enumeration value would start a formula")

    def descriptor(self) -> dict[str, Any]:
        field: dict[str, Any] = {
            "name": self.name,
            "type": self.kind.value,
            "description": self.description,
        }
        constraints: dict[str, Any] = {}
        if self.required:
            constraints["required"] = True
        if self.enum is not None:
            constraints["enum"] = list(self.enum)
        if constraints:
            field["constraints"] = constraints
        return field


def _members(annotation: Any) -> tuple[tuple[Any, ...], bool]:
    """The types an annotation allows besides None, and whether it allows None."""
    if get_origin(annotation) in (Union, types.UnionType):
        args = get_args(annotation)
        inner = tuple(a for a in args if a is not type(None))
        return inner, len(inner) < len(args)
    return (annotation,), False


def _is_enum(member: Any) -> bool:
    return isinstance(member, type) and issubclass(member, Enum)


SCALARS: tuple[tuple[type, Kind], ...] = (
    (bool, Kind.boolean),  # before int: a bool is an int
    (int, Kind.integer),
    (float, Kind.number),
    (datetime, Kind.datetime),  # before date: a datetime is a date
    (date, Kind.date),
)


def kind_of(members: tuple[Any, ...]) -> tuple[Kind, tuple[str, ...] | None, bool]:
    """The Table Schema type of the types a field allows, its enumeration if it is one (or a
    union of them), and whether it is a list (written joined)."""
    if len(members) == 1 and get_origin(members[0]) is list:
        return Kind.string, None, True
    if all(_is_enum(m) for m in members):
        values = (str(v.value) for m in members for v in m)
        return Kind.string, tuple(dict.fromkeys(values)), False
    if len(members) == 1 and isinstance(members[0], type):
        for python, kind in SCALARS:
            if issubclass(members[0], python):
                return kind, None, False
    return Kind.string, None, False


def public(
    schema: type[BaseModel], name: str, description: str | None = None, *, joined: str = ";"
) -> Field:
    """The field `name` as the Public schema states it: its type, whether it may be null, its
    enumeration, and its description (`description` where the schema has none)."""
    info = schema.model_fields[name]
    members, nullable = _members(info.annotation)
    kind, enum, is_list = kind_of(members)
    text = info.description or description
    if text is None:
        raise ValueError(f"{schema.__name__}.{name} has no description for the export")
    if is_list:
        text = f"{text} A list: its items separated by {joined!r} (empty: none)."
    return Field(
        name,
        kind,
        text,
        required=not nullable and not is_list,
        enum=enum,
        joined=joined if is_list else None,
    )
