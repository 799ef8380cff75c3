"""The outbox's JSON text: `joined` (an event written from Python) and `split_json` (the
parts the one-statement report write puts its own ids between) make the same text, leading
fields first and compact, non-ASCII text kept as it is."""

import json
from datetime import UTC, datetime

from pydantic import BaseModel

from app.events.outbox import joined, split_json


class Subject(BaseModel):
    name: str
    id: int
    incident_id: int
    at: datetime
    tags: list[str]
    area: float | None


SUBJECT = Subject(
    name='Dallae — 달래, "quoted"\n',
    id=7,
    incident_id=41,
    at=datetime(2016, 10, 19, 8, 30, tzinfo=UTC),
    tags=["smoking", "ape"],
    area=60.0,
)


def test_joined_puts_the_leading_fields_first_compact() -> None:
    text = joined(SUBJECT, ("id", "incident_id"))
    assert text.startswith('{"id":7,"incident_id":41,"name":"Dallae — 달래')
    assert json.loads(text) == SUBJECT.model_dump(mode="json")
    assert ", " not in text.replace('"Dallae — 달래, ', "")


def test_split_json_parts_around_the_values_make_the_joined_text() -> None:
    for leading in (("id",), ("id", "incident_id")):
        parts, rest = split_json(SUBJECT, leading)
        values = [str(getattr(SUBJECT, name)) for name in leading]
        rebuilt = "".join(p + v for p, v in zip(parts, values, strict=True)) + rest
        assert rebuilt == joined(SUBJECT, leading)
