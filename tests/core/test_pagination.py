"""Cursor pagination: every row once, in order, at any depth; a damaged cursor is a 422, never a 500."""

from __future__ import annotations

import base64
import json
from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cxloop.core import clock
from cxloop.core.errors import ValidationError
from cxloop.core.pagination import MAX_LIMIT, decode_cursor, encode_cursor, paginate
from cxloop.interactions.models import Interaction
from tests.customers.factories import CustomerFactory
from tests.interactions.factories import InteractionFactory

ORDER = ("-occurred_at", "-id")


def _forge(values: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode().rstrip("=")


def _walk(limit: int) -> list[int]:
    seen: list[int] = []
    cursor = None
    while True:
        page = paginate(Interaction.objects.all(), ORDER, cursor, limit)
        seen += [row.pk for row in page.items]
        if page.next_cursor is None:
            return seen
        cursor = page.next_cursor


@pytest.mark.parametrize("limit", [1, 2, 3, 7, 50])
def test_pages_cover_every_row_once_even_with_equal_sort_values(db, limit):
    # given: groups of rows sharing one occurred_at, so only the id breaks ties
    customer = CustomerFactory()
    moments = [clock.now() - timedelta(hours=h) for h in (1, 1, 1, 2, 3, 3, 5, 5, 5, 5, 8)]
    for moment in moments:
        InteractionFactory(customer=customer, occurred_at=moment)
    expected = list(Interaction.objects.order_by(*ORDER).values_list("pk", flat=True))

    # when / then
    assert _walk(limit) == expected
    assert len(expected) == 11


def test_a_row_inserted_between_pages_does_not_shift_the_next_page(db):
    customer = CustomerFactory()
    rows = [InteractionFactory(customer=customer, occurred_at=clock.now() - timedelta(minutes=m)) for m in range(1, 7)]
    first = paginate(Interaction.objects.all(), ORDER, None, 3)

    InteractionFactory(customer=customer, occurred_at=clock.now())  # newer than everything
    second = paginate(Interaction.objects.all(), ORDER, first.next_cursor, 3)

    assert [r.pk for r in first.items] == [r.pk for r in rows[:3]]
    assert [r.pk for r in second.items] == [r.pk for r in rows[3:]]
    assert second.next_cursor is None


@settings(max_examples=100, deadline=None)
@given(
    values=st.lists(
        st.one_of(st.integers(), st.text(max_size=30), st.floats(allow_nan=False, allow_infinity=False)),
        min_size=1,
        max_size=4,
    )
)
def test_cursors_round_trip_and_are_url_safe(values):
    cursor = encode_cursor(values)

    assert decode_cursor(cursor, len(values)) == values
    assert set(cursor) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


@pytest.mark.parametrize(
    "cursor",
    [
        "%%%",
        "not base64!",
        _forge([None, None]),
        _forge(["2026-01-01T00:00:00+00:00", None]),
        _forge([{}, []]),
        _forge(["x", 1]),
        _forge(["2026-01-01T00:00:00+00:00", "abc"]),
        _forge(["2026-01-01T00:00:00+00:00"]),
        _forge({"occurred_at": 1}),
        _forge("text"),
        base64.urlsafe_b64encode(b"\xff\xfe").decode(),
    ],
)
def test_a_damaged_or_forged_cursor_is_a_validation_error(db, cursor):
    with pytest.raises(ValidationError) as caught:
        paginate(Interaction.objects.all(), ORDER, cursor, 10)

    assert caught.value.fields == {"cursor": "malformed cursor"}


@settings(max_examples=100, deadline=None)
@given(cursor=st.text(max_size=80))
def test_any_cursor_text_pages_or_is_a_validation_error(cursor):
    # No database rows are needed: the query is built (and run on an empty table) or refused.
    try:
        paginate(Interaction.objects.none(), ORDER, cursor, 10)
    except ValidationError as exc:
        assert exc.fields == {"cursor": "malformed cursor"}  # noqa: PT017 - the property is "this or nothing"


@pytest.mark.parametrize("limit", [0, -1, MAX_LIMIT + 1])
def test_limit_outside_the_bounds_is_refused(db, limit):
    with pytest.raises(ValidationError) as caught:
        paginate(Interaction.objects.all(), ORDER, None, limit)

    assert caught.value.fields == {"limit": f"must be 1..{MAX_LIMIT}"}
