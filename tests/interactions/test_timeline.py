"""A customer's timeline: newest first, filtered, and paged by cursor without duplicates or gaps."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import quote, urlencode
from zoneinfo import ZoneInfo

import pytest

from cxloop.core import clock
from cxloop.customers import services as customer_services
from tests.customers.factories import CustomerFactory
from tests.interactions.factories import InteractionFactory, ThreadFactory


def _page(api, member, customer, **params):  # type: ignore[no-untyped-def]
    response = api.get(f"/customers/{customer.public_id}/timeline?{urlencode(params)}", member)
    assert response.status_code == 200, response.content
    return response.json()


def _walk(api, member, customer, **params) -> list[str]:  # type: ignore[no-untyped-def]
    seen: list[str] = []
    cursor = None
    for _ in range(500):
        page = _page(api, member, customer, **({"cursor": cursor} if cursor else {}), **params)
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            return seen
    raise AssertionError("the cursor never ended")


@pytest.fixture
def history(db):  # type: ignore[no-untyped-def]
    """57 interactions on one customer, in runs sharing one occurred_at, across channels and directions."""
    customer = CustomerFactory()
    base = clock.now() - timedelta(days=30)
    rows = []
    for i in range(57):
        rows.append(
            InteractionFactory(
                customer=customer,
                occurred_at=base + timedelta(hours=i // 4),  # four rows per moment
                channel=["email", "sms", "chat", "phone"][i % 4],
                direction=["inbound", "outbound", "internal"][i % 3],
                summary=f"Message {i}" + (" about a refund" if i % 5 == 0 else ""),
                body="Parcel LOST in transit" if i % 7 == 0 else "All fine",
            )
        )
    InteractionFactory()  # someone else's, never shown
    return customer, rows


def _newest_first(rows):  # type: ignore[no-untyped-def]
    return [r.public_id for r in sorted(rows, key=lambda r: (r.occurred_at, r.pk), reverse=True)]


@pytest.mark.parametrize("limit", [1, 4, 5, 25, 200])
def test_paging_returns_every_interaction_once_newest_first(api, charlie, history, limit):
    customer, rows = history

    assert _walk(api, charlie, customer, limit=limit) == _newest_first(rows)


def test_a_page_is_the_default_25_and_says_where_to_go_on(api, charlie, history):
    customer, rows = history

    page = _page(api, charlie, customer)

    assert [i["id"] for i in page["items"]] == _newest_first(rows)[:25]
    assert page["next_cursor"]
    assert page["items"][0]["customer"] == customer.public_id


@pytest.mark.parametrize(
    ("params", "keep"),
    [
        ({"channel": "email"}, lambda r: r.channel == "email"),
        ({"channel": "email,sms"}, lambda r: r.channel in {"email", "sms"}),
        ({"direction": "outbound"}, lambda r: r.direction == "outbound"),
        ({"q": "REFUND"}, lambda r: "refund" in r.summary),
        ({"q": "lost"}, lambda r: "LOST" in r.body),
        ({"channel": "chat", "direction": "inbound"}, lambda r: r.channel == "chat" and r.direction == "inbound"),
    ],
)
def test_filters_select_exactly_the_matching_interactions(api, charlie, history, params, keep):
    customer, rows = history

    assert _walk(api, charlie, customer, limit=3, **params) == _newest_first([r for r in rows if keep(r)])


def test_since_is_inclusive_and_until_exclusive(api, charlie, history):
    customer, rows = history
    moments = sorted({r.occurred_at for r in rows})
    since, until = moments[3], moments[7]

    found = _walk(api, charlie, customer, since=since.isoformat(), until=until.isoformat(), limit=5)

    assert found == _newest_first([r for r in rows if since <= r.occurred_at < until])
    assert len(found) == 16


def test_since_and_until_written_in_another_offset_mean_the_same_moment(api, charlie, history):
    customer, rows = history
    moment = sorted({r.occurred_at for r in rows})[10]
    in_new_york = moment.astimezone(ZoneInfo("America/New_York"))

    found = _walk(api, charlie, customer, since=in_new_york.isoformat())

    assert found == _newest_first([r for r in rows if r.occurred_at >= moment])


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"channel": "fax"}, "channel"),
        ({"channel": "email,fax"}, "channel"),
        ({"direction": "sideways"}, "direction"),
        ({"cursor": "garbage!"}, "cursor"),
        ({"cursor": "W251bGwsbnVsbF0"}, "cursor"),  # [null,null]
        ({"limit": "0"}, "limit"),
        ({"limit": "1000"}, "limit"),
        ({"since": "yesterday"}, "since"),
        ({"q": "x" * 201}, "q"),
    ],
)
def test_bad_parameters_are_422_naming_them(api, charlie, history, params, field):
    customer, _ = history

    response = api.get(f"/customers/{customer.public_id}/timeline?{urlencode(params)}", charlie)

    assert response.status_code == 422
    assert field in response.json()["error"]["fields"]


def test_a_cursor_of_another_filter_still_pages_safely(api, charlie, history):
    customer, rows = history
    first = _page(api, charlie, customer, limit=10)

    page = _page(api, charlie, customer, limit=10, channel="sms", cursor=first["next_cursor"])

    last_seen = next(r for r in rows if r.public_id == first["items"][-1]["id"])
    expected = [r for r in rows if r.channel == "sms" and (r.occurred_at, r.pk) < (last_seen.occurred_at, last_seen.pk)]
    assert [i["id"] for i in page["items"]] == _newest_first(expected)[:10]


def test_an_unknown_customer_is_404(api, charlie):
    response = api.get("/customers/cus_missing/timeline", charlie)

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "customer_not_found"


def test_threads_and_subjects_are_shown(api, charlie):
    customer = CustomerFactory()
    thread = ThreadFactory(customer=customer, subject="Card declined")
    InteractionFactory(customer=customer, thread=thread)

    item = _page(api, charlie, customer)["items"][0]

    assert (item["thread"], item["subject"]) == (thread.public_id, "Card declined")


def test_after_a_merge_the_target_shows_both_histories_and_after_unmerge_each_its_own(api, bob):
    target, source = CustomerFactory(), CustomerFactory()
    mine = [InteractionFactory(customer=target) for _ in range(3)]
    theirs = [InteractionFactory(customer=source) for _ in range(2)]

    merge = customer_services.merge_customers(bob.actor, target, source)
    assert _walk(api, bob, target, limit=2) == _newest_first(mine + theirs)
    assert _walk(api, bob, source) == []

    customer_services.unmerge(bob.actor, merge)
    assert _walk(api, bob, target) == _newest_first(mine)
    assert _walk(api, bob, source) == _newest_first(theirs)


def test_a_page_costs_a_fixed_number_of_queries(api, charlie, history, django_assert_max_num_queries):
    customer, _ = history
    cursor = quote(_page(api, charlie, customer, limit=10)["next_cursor"])

    with django_assert_max_num_queries(6):
        api.get(f"/customers/{customer.public_id}/timeline?limit=50&cursor={cursor}", charlie)
