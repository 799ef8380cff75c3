"""Keyset paging's rule (app/services/keyset.py) on a sort whose column can be NULL: gifts by
`delivered_on`, undated gifts last both ways. Following the cursors gives the offset order."""

from datetime import date

import pytest
from sqlmodel import Session, col, select

from app.models import Gift
from app.services import keyset
from app.services.gifts import GIFT_SORT_COLUMNS, GiftSort
from app.services.sorting import sort_keys
from tests.factories import make_gift

TITLE = "keyset-test"


@pytest.fixture
def gifts(session: Session) -> list[int]:
    days = [date(2020, 1, 1), None, date(2019, 5, 5), None, date(2020, 1, 1), date(2018, 1, 1)]
    return [int(make_gift(session, title=TITLE, delivered_on=day).id or 0) for day in days * 2]


@pytest.mark.parametrize("sort", [GiftSort.delivered_on, GiftSort.delivered_on_desc])
@pytest.mark.parametrize("limit", [1, 2, 5])
def test_cursor_pages_follow_the_offset_order_through_nulls(
    session: Session, gifts: list[int], sort: GiftSort, limit: int
) -> None:
    keys = sort_keys(sort, GIFT_SORT_COLUMNS, id_column=Gift.id)
    assert [k.nullable for k in keys] == [True, False]
    stmt = select(Gift).where(col(Gift.title) == TITLE)
    whole = keyset.paginate(session, stmt, sort=sort.value, keys=keys, limit=500)
    expected = [g.id for g in whole.items]
    assert sorted(expected) == sorted(gifts) and whole.next is None
    dated = [g.delivered_on for g in whole.items if g.delivered_on is not None]
    assert dated == sorted(dated, reverse=sort is GiftSort.delivered_on_desc)
    assert all(g.delivered_on is None for g in whole.items[len(dated) :])  # undated last

    seen: list[int | None] = []
    cursor = None
    while True:
        page = keyset.paginate(
            session, stmt, sort=sort.value, keys=keys, limit=limit, cursor=cursor
        )
        seen += [g.id for g in page.items]
        assert len(seen) <= len(gifts)
        if page.next is None:
            break
        cursor = page.next
    assert seen == expected
