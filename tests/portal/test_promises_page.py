"""The customer's "what we promised you" page: opened with a signed link, shows only that customer's pending
promises (late ones first and marked), what was kept lately, in their time zone, and nothing about staff."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core import signing
from django.test import Client

from cxloop.cases.services import promises
from cxloop.core import clock
from cxloop.customers import services as customer_services
from tests.customers.factories import CustomerFactory


def _path(customer) -> str:  # type: ignore[no-untyped-def]
    return f"/p/promises/{promises.promises_token(customer)}/"


def _make(member, customer, text: str, due_in: timedelta, **kwargs):  # type: ignore[no-untyped-def]
    return promises.make_promise(
        member.actor, customer=customer, description=text, due_at=clock.now() + due_in, **kwargs
    )


def test_the_customer_sees_open_promises_late_first_and_nothing_else(client: Client, alice, bob):
    # given: Ann has a late promise, an open one, a kept one and a cancelled one; Bo has one of his own
    ann = CustomerFactory(name="Ann Lee", time_zone="Europe/London")
    _make(alice, ann, "Refund £20 to your card", timedelta(days=2), channel="phone")
    late = _make(alice, ann, "Call you back about the router", timedelta(minutes=5))
    promises.sweep_promises(at=clock.now() + timedelta(minutes=6))
    promises.keep_promise(alice.actor, _make(alice, ann, "Send the new contract", timedelta(hours=2)))
    promises.cancel_promise(alice.actor, _make(alice, ann, "Visit on Monday", timedelta(days=3)), "No longer needed")
    _make(bob, CustomerFactory(name="Bo"), "Bo's secret promise", timedelta(hours=5))

    # when
    page = client.get(_path(ann))

    # then
    assert page.status_code == 200
    assert page["Cache-Control"].startswith("max-age=0")
    html = page.content.decode()
    assert '<html lang="en">' in html
    assert "<h1>What we promised you</h1>" in html
    assert "Hello Ann." in html
    assert html.index("Call you back about the router") < html.index("Refund £20 to your card")
    assert html.count('class="promise promise-late"') == 1
    assert html.count('<strong class="late-badge">Late</strong>') == 1
    assert "promised by phone call" in html
    assert "Send the new contract" in html  # under "Done lately"
    assert "Visit on Monday" not in html
    assert "Bo&#x27;s secret promise" not in html
    assert "Bo's secret promise" not in html
    assert "alice" not in html.lower()
    assert "Times are in Europe/London." in html
    assert late.status == "open"  # the object as made; the row is missed now


def test_times_are_shown_in_the_customers_time_zone(client: Client, alice):
    ann = CustomerFactory(name="Ann", time_zone="Asia/Tokyo")
    promise = _make(alice, ann, "Ship the parcel", timedelta(days=1))

    html = client.get(_path(ann)).content.decode()

    local = promise.due_at.astimezone(ZoneInfo("Asia/Tokyo"))
    assert f'datetime="{local.isoformat()}"' in html
    assert local.strftime("%H:%M") in html


def test_nothing_outstanding_says_so(client: Client, db):
    html = client.get(_path(CustomerFactory(name="Cy"))).content.decode()
    assert "Nothing is outstanding" in html


def test_a_merged_customers_link_shows_the_surviving_customer(client: Client, alice, system):
    # given: Ann's old record merged into her main record, where the promise lives
    main, old = CustomerFactory(name="Ann Main"), CustomerFactory(name="Ann Old")
    _make(alice, main, "Call back on Friday", timedelta(days=1))
    token = promises.promises_token(old)
    customer_services.merge_customers(system, main, old)

    # when
    html = client.get(f"/p/promises/{token}/").content.decode()

    # then
    assert "Call back on Friday" in html


@pytest.mark.parametrize("token", ["nonsense", "x" * 300])
def test_a_bad_link_is_a_404_that_names_nobody(client: Client, db, token):
    response = client.get(f"/p/promises/{token}/")
    assert response.status_code == 404
    assert "This link does not work" in response.content.decode()


def test_a_preference_link_does_not_open_the_promises_page(client: Client, db):
    ann = CustomerFactory()
    token = signing.dumps({"c": ann.public_id}, salt="cxloop.portal.preferences", compress=False)
    assert client.get(f"/p/promises/{token}/").status_code == 404


def test_an_expired_link_says_so(client: Client, db, settings):
    ann = CustomerFactory()
    token = promises.promises_token(ann)
    settings.CXLOOP_PROMISE_LINK_DAYS = 0
    response = client.get(f"/p/promises/{token}/")
    assert response.status_code == 400
    assert "This link has expired" in response.content.decode()


def test_only_get_is_allowed(client: Client, db):
    ann = CustomerFactory()
    assert client.post(_path(ann)).status_code == 405
