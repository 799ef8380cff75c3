"""The outbox's one writer: event rows built by `row` and appended by `append`, in the
transaction of the change they record."""

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy.engine import Connection

from app.core.db import insert_rows
from app.models import Event
from app.models.base import table_of, utcnow
from app.models.event import EventType

__all__ = ["EventType", "append", "joined", "row", "split_json"]

EVENTS = table_of(Event)


def row(
    type_: EventType,
    *,
    zoo_id: Any,
    subject_type: str,
    subject_id: Any,
    data: Any,
    at: datetime | Any = None,
) -> dict[str, Any]:
    """An event's columns (all but id and position). `data` is the JSON text of the
    subject's public representation, or an SQL expression that builds it."""
    return {
        "type": type_.value,
        "occurred_at": utcnow() if at is None else at,
        "zoo_id": zoo_id,
        "subject_type": subject_type,
        "subject_id": subject_id,
        "data": data,
    }


def split_json(public: BaseModel, leading: Sequence[str]) -> tuple[list[str], str]:
    """The model's JSON, `leading` fields first, cut around their values: `parts[0] + v0 +
    parts[1] + v1 + ... + rest` is the whole. So a statement can put in ids it makes itself
    (the one-statement report write) and build the same text as `joined`."""
    parts = [("{" if i == 0 else ",") + json.dumps(name) + ":" for i, name in enumerate(leading)]
    body = public.model_dump_json(exclude=set(leading))  # compact, UTF-8 as it is
    rest = "}" if body == "{}" else ("," + body[1:] if leading else body)
    return parts, rest


def joined(public: BaseModel, leading: Sequence[str] = ("id",)) -> str:
    """The model's JSON as the feed stores it: `leading` fields first, compact."""
    parts, rest = split_json(public, leading)
    values = public.model_dump(mode="json", include=set(leading))
    return (
        "".join(p + json.dumps(values[name]) for p, name in zip(parts, leading, strict=True)) + rest
    )


def append(connection: Connection, rows: Sequence[dict[str, Any]], *, bulk: bool = False) -> None:
    """Writes events (rows from `row`), in one statement however many (`bulk`: a bulk load's,
    by COPY on PostgreSQL)."""
    insert_rows(connection, EVENTS, rows, bulk=bulk)
