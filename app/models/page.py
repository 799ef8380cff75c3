"""The list envelope every collection endpoint returns."""

from collections.abc import Sequence
from typing import Generic, TypeVar

from pydantic import BaseModel, Field

T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    items: Sequence[T]
    total: int
    limit: int
    offset: int


class CursorPage(BaseModel, Generic[T]):
    """A list that can also be paged by cursor: `next` is the cursor of the page after this
    one (null on the last), to send back as `after`."""

    items: Sequence[T]
    total: int | None = Field(
        description="Rows the filters match: counted on an offset page, or past a cursor when "
        "`count=true` is asked; else null."
    )
    limit: int
    offset: int
    next: str | None = Field(
        description="The cursor of the next page (send it as `after`); null on the last page."
    )
