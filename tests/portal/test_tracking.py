"""The website tracking snippet's public endpoint: page views under the visitor's anonymous id, identify only with
the website's signature, allowed origins only, limits on size and rate, 4xx (never 500) for anything else."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from cxloop.customers.models import Customer, Identity, MergeSuggestion
from cxloop.events.models import Event
from cxloop.portal.survey_widget import sign
from tests.customers.factories import CustomerFactory, IdentityFactory

URL = "/p/track"
SHOP = "https://shop.example.com"
SECRET = "tracking-secret-for-tests"
VISITOR = "visitor-0123456789"


@pytest.fixture(autouse=True)
def _tracking(settings) -> None:  # type: ignore[no-untyped-def]
    settings.CXLOOP_TRACKING_SECRET = SECRET
    settings.CXLOOP_TRACKING_ORIGINS = [SHOP]
    settings.CXLOOP_CHAT_ALLOWED_ORIGINS = []
    settings.CXLOOP_TRACKING_PER_MINUTE = 100


def _view(n: int, path: str = "/") -> dict[str, Any]:
    return {
        "id": f"pv-{n}",
        "type": "page.viewed",
        "occurred_at": "2026-01-05T09:00:00+00:00",
        "properties": {"url": f"{SHOP}{path}", "path": path, "title": "Shop", "referrer": ""},
    }


def _post(client: Client, data: Any, origin: str = SHOP, **headers: str):  # type: ignore[no-untyped-def]
    raw = data if isinstance(data, bytes) else json.dumps(data).encode()
    return client.post(URL, raw, content_type="text/plain", HTTP_ORIGIN=origin, **headers)


def _identify(email: str, **extra: str) -> dict[str, str]:
    return {"email": email, "signature": sign("email", email, SECRET), **extra}


def test_page_views_are_stored_for_the_anonymous_ids_customer(client: Client, db: None):
    answer = _post(client, {"anonymous_id": VISITOR, "events": [_view(1), _view(2, "/shoes")]})
    again = _post(client, {"anonymous_id": VISITOR, "events": [_view(2, "/shoes"), _view(3, "/cart")]})

    assert answer.status_code == 200
    assert answer.json() == {"stored": 2, "duplicates": 0, "failed": 0, "identified": False, "errors": []}
    assert again.json()["stored"] == 1
    assert again.json()["duplicates"] == 1
    assert answer["Access-Control-Allow-Origin"] == SHOP
    visitor = Identity.objects.get(kind="anonymous", value=VISITOR).customer
    assert sorted(Event.objects.filter(customer=visitor).values_list("event_id", "properties__path")) == [
        (f"web:{VISITOR}:pv-1", "/"),
        (f"web:{VISITOR}:pv-2", "/shoes"),
        (f"web:{VISITOR}:pv-3", "/cart"),
    ]
    assert Customer.objects.count() == 1


def test_identify_links_the_anonymous_id_and_the_signed_email_to_one_customer(client: Client, db: None):
    _post(client, {"anonymous_id": VISITOR, "events": [_view(1)]})

    answer = _post(client, {"anonymous_id": VISITOR, "events": [_view(2)], "identify": _identify("ann@example.com")})

    assert answer.status_code == 200
    assert answer.json()["identified"] is True
    customer = Identity.objects.get(kind="anonymous", value=VISITOR).customer
    assert sorted(customer.identities.values_list("kind", "value")) == [
        ("anonymous", VISITOR),
        ("email", "ann@example.com"),
    ]
    assert Event.objects.filter(customer=customer).count() == 2
    assert Customer.objects.count() == 1


def test_identify_as_a_known_customer_attaches_the_visitor_to_that_customer(client: Client, db: None):
    known = CustomerFactory()
    IdentityFactory(customer=known, kind="external", network="shop", value="u-17")
    claim = {"external_id": "u-17", "network": "shop", "signature": sign("external", "u-17", SECRET, network="shop")}

    answer = _post(client, {"anonymous_id": VISITOR, "events": [], "identify": claim})
    _post(client, {"anonymous_id": VISITOR, "events": [_view(1)]})

    assert answer.json()["identified"] is True
    assert Identity.objects.get(kind="anonymous", value=VISITOR).customer == known
    assert list(Event.objects.values_list("customer_id", flat=True)) == [known.pk]


def test_a_visitor_with_a_profile_who_identifies_as_another_customer_gets_a_suggestion_not_a_merge(
    client: Client, db: None
):
    _post(client, {"anonymous_id": VISITOR, "events": [_view(1)]})
    known = CustomerFactory()
    IdentityFactory(customer=known, kind="email", value="bea@example.com")

    _post(client, {"anonymous_id": VISITOR, "events": [], "identify": _identify("bea@example.com")})

    assert Customer.objects.filter(status="active").count() == 2
    assert MergeSuggestion.objects.count() == 1


@pytest.mark.parametrize(
    "claim",
    [
        {"email": "ann@example.com", "signature": "0" * 64},
        {"email": "ann@example.com", "signature": sign("email", "bob@example.com", SECRET)},
        {"email": "ann@example.com", "signature": sign("email", "ann@example.com", "another secret")},
        {"external_id": "ann@example.com", "signature": sign("email", "ann@example.com", SECRET)},
    ],
    ids=["zeros", "someone-else", "wrong-secret", "kind-swapped"],
)
def test_a_forged_identity_is_refused_and_nothing_is_written(client: Client, db: None, claim):
    answer = _post(client, {"anonymous_id": VISITOR, "events": [_view(1)], "identify": claim})

    assert answer.status_code == 403
    assert answer.json()["error"]["code"] == "invalid_signature"
    assert (Customer.objects.count(), Identity.objects.count(), Event.objects.count()) == (0, 0, 0)


def test_identify_is_refused_when_no_secret_is_set(client: Client, db: None, settings):
    settings.CXLOOP_TRACKING_SECRET = ""
    settings.CXLOOP_SURVEY_WIDGET_SECRET = ""

    answer = _post(client, {"anonymous_id": VISITOR, "events": [], "identify": _identify("ann@example.com")})

    assert answer.status_code == 403
    assert Customer.objects.count() == 0


def test_another_website_is_refused_and_nothing_is_written(client: Client, db: None):
    answer = _post(client, {"anonymous_id": VISITOR, "events": [_view(1)]}, origin="https://evil.example.net")
    preflight = client.options(URL, HTTP_ORIGIN=SHOP, HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST")

    assert answer.status_code == 403
    assert "Access-Control-Allow-Origin" not in answer
    assert Event.objects.count() == 0
    assert preflight.status_code == 204
    assert preflight["Access-Control-Allow-Origin"] == SHOP


def test_an_oversize_body_is_413_and_too_many_events_422(client: Client, db: None):
    big = _post(client, {"anonymous_id": VISITOR, "events": [], "pad": "x" * 40_000})
    many = _post(client, {"anonymous_id": VISITOR, "events": [_view(n) for n in range(51)]})

    assert big.status_code == 413
    assert (many.status_code, list(many.json()["error"]["fields"])) == (422, ["events"])
    assert Event.objects.count() == 0


@pytest.mark.parametrize(
    ("data", "fields"),
    [
        (b"{broken", ["body"]),
        (b"[1]", ["body"]),
        ({"anonymous_id": "short", "events": []}, ["anonymous_id"]),
        ({"anonymous_id": VISITOR, "events": "pv"}, ["events"]),
        ({"anonymous_id": VISITOR, "events": [3]}, ["events[0]"]),
        ({"anonymous_id": VISITOR, "events": [{"id": "a b", "type": "", "properties": []}]}, None),
        ({"anonymous_id": VISITOR, "events": [], "identify": {"email": "a@example.com"}}, ["identify.signature"]),
        ({"anonymous_id": VISITOR, "events": [], "identify": {"signature": "ab"}}, ["identify"]),
        ({"anonymous_id": VISITOR, "events": [], "identify": "ann"}, ["identify"]),
        ({"anonymous_id": VISITOR, "events": [{**_view(1), "occurred_at": "soon"}]}, ["events[0].occurred_at"]),
    ],
)
def test_bad_shapes_are_422_with_the_path_and_write_nothing(client: Client, db: None, data, fields):
    answer = _post(client, data)

    assert answer.status_code == 422
    if fields is not None:
        assert sorted(answer.json()["error"]["fields"]) == fields
    else:
        assert sorted(answer.json()["error"]["fields"]) == ["events[0].id", "events[0].properties", "events[0].type"]
    assert Event.objects.count() == 0


def test_a_page_may_send_only_the_allowed_types_and_valid_properties(client: Client, db: None, system):
    from cxloop.events import services
    from cxloop.events.types import EventTypeInput

    services.create_event_type(system, EventTypeInput(key="purchase.completed", name="Purchase"))
    purchase = {"id": "p-1", "type": "purchase.completed", "properties": {"amount": 1}}
    no_url = {"id": "p-2", "type": "page.viewed", "properties": {"title": "x"}}

    answer = _post(client, {"anonymous_id": VISITOR, "events": [purchase, no_url, _view(3)]})

    assert answer.status_code == 200
    body = answer.json()
    assert (body["stored"], body["failed"]) == (1, 2)
    assert body["errors"][0] == {
        "index": 0,
        "code": "unknown_event_type",
        "fields": {"type": "is not an event type web pages may send"},
    }
    assert body["errors"][1]["index"] == 1
    assert body["errors"][1]["code"] == "properties_invalid"
    assert list(Event.objects.values_list("event_id", flat=True)) == [f"web:{VISITOR}:pv-3"]


def test_over_the_rate_a_client_gets_429(client: Client, db: None, settings):
    settings.CXLOOP_TRACKING_PER_MINUTE = 2
    answers = [_post(client, {"anonymous_id": VISITOR, "events": [_view(n)]}) for n in range(3)]

    assert [a.status_code for a in answers] == [200, 200, 429]
    assert int(answers[2]["Retry-After"]) >= 1
    assert Event.objects.count() == 2


def test_only_post_and_the_script_is_served_cacheable(client: Client, db: None):
    get = client.get(URL, HTTP_ORIGIN=SHOP)
    script = client.get("/p/widget/track.js")

    assert get.status_code == 405
    assert script.status_code == 200
    assert script["Content-Type"].startswith("text/javascript")
    assert b"page.viewed" in script.content
    assert client.get("/p/widget/track.js", HTTP_IF_NONE_MATCH=script["ETag"]).status_code == 304
