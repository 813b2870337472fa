"""POST /api/v1/events and GET /api/v1/customers/{id}/events: status codes, per-event results with paths, limits,
idempotent resends, pagination, and that no body of any shape gets a 500."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cxloop.core.actor import Actor
from cxloop.customers import services as customer_services
from cxloop.events import services
from cxloop.events.models import Event, EventType
from cxloop.events.schemas import EventBatchOut
from cxloop.events.types import EventTypeInput
from cxloop.privacy.models import AuditEntry
from tests.customers.factories import CustomerFactory

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
SCHEMA = {
    "type": "object",
    "properties": {"amount": {"type": "number", "minimum": 0}, "lines": {"type": "array", "items": {"type": "object"}}},
    "required": ["amount"],
}


@pytest.fixture
def purchase(db: None) -> EventType:
    return services.create_event_type(
        Actor.system("test"),
        EventTypeInput(key="purchase.completed", name="Purchase completed", properties_schema=SCHEMA),
    )


def _event(n: int, **fields: Any) -> dict[str, Any]:
    event: dict[str, Any] = {
        "event_id": f"e-{n}",
        "type": "purchase.completed",
        "customer": {"email": f"buyer{n}@example.com"},
        "occurred_at": (T0 + timedelta(minutes=n)).isoformat(),
        "properties": {"amount": n},
    }
    event.update(fields)
    return event


def test_one_event_is_stored_with_201(api, alice, purchase):
    response = api.post("/events", alice, _event(1))

    assert response.status_code == 201
    body = response.json()
    stored = Event.objects.get()
    assert (body["stored"], body["duplicates"], body["failed"]) == (1, 0, 0)
    assert body["results"] == [
        {
            "index": 0,
            "status": "stored",
            "event": stored.public_id,
            "customer": stored.customer.public_id,
            "customer_created": True,
            "interaction": None,
            "error": None,
        }
    ]
    assert api.get(f"/events/{stored.public_id}", alice).json() == {
        "id": stored.public_id,
        "event_id": "e-1",
        "type": "purchase.completed",
        "customer": stored.customer.public_id,
        "occurred_at": "2026-01-05T09:01:00+00:00",
        "properties": {"amount": 1},
        "interaction": None,
    }


def test_a_batch_stores_the_valid_events_and_reports_each_bad_one_with_its_path(api, alice, purchase):
    batch = [
        _event(0),
        _event(1, type="purchase.typo"),
        _event(2, properties={"amount": -5, "lines": [{}, 3]}),
        _event(3, occurred_at="yesterday"),
        _event(4, customer="buyer@example.com"),
        _event(5, properties=[1, 2]),
        {"event_id": "e-6"},
        "not an object",
        _event(8),
    ]

    response = api.post("/events", alice, {"events": batch})

    assert response.status_code == 200
    body = response.json()
    assert (body["stored"], body["duplicates"], body["failed"]) == (2, 0, 7)
    assert [r["status"] for r in body["results"]] == ["stored"] + ["error"] * 7 + ["stored"]
    # The handler renders the body itself; it is exactly the documented EventBatchOut, key order included.
    assert response["Content-Type"] == "application/json; charset=utf-8"
    assert json.dumps(EventBatchOut.model_validate(body).model_dump()) == response.content.decode()
    errors = {r["index"]: r["error"] for r in body["results"] if r["error"]}
    assert errors[1]["code"] == "unknown_event_type"
    assert errors[1]["fields"] == {"type": "is not a registered, active event type"}
    assert errors[2]["code"] == "properties_invalid"
    assert set(errors[2]["fields"]) == {"properties.amount", "properties.lines[1]"}
    assert list(errors[3]["fields"]) == ["occurred_at"]
    assert list(errors[4]["fields"]) == ["customer"]
    assert list(errors[5]["fields"]) == ["properties"]
    assert set(errors[6]["fields"]) == {"type", "customer"}
    assert list(errors[7]["fields"]) == ["event"]
    assert {e["code"] for e in errors.values()} <= {"unknown_event_type", "properties_invalid", "validation_error"}
    assert sorted(Event.objects.values_list("event_id", flat=True)) == ["e-0", "e-8"]


def test_a_single_bad_event_is_a_422_with_its_paths_and_stores_nothing(api, alice, purchase):
    response = api.post("/events", alice, _event(1, properties={"amount": "ten"}))

    assert response.status_code == 422
    assert response.json()["error"]["code"] == "properties_invalid"
    assert response.json()["error"]["fields"] == {"properties.amount": '"ten" is not of type "number"'}
    assert Event.objects.count() == 0


def test_more_than_1000_events_are_refused_whole(api, alice, purchase):
    response = api.post("/events", alice, {"events": [_event(n) for n in range(1001)]})

    assert response.status_code == 422
    assert list(response.json()["error"]["fields"]) == ["events"]
    assert Event.objects.count() == 0
    assert AuditEntry.objects.filter(action="events.ingested").count() == 0


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"events": []}, "events"),
        ({"events": "e-1"}, "events"),
        ({"events": {"event_id": "e-1"}}, "events"),
        ({"events": None}, "events"),
    ],
)
def test_wrong_batch_shapes_are_422_with_the_field(api, alice, purchase, body, field):
    response = api.post("/events", alice, body)

    assert response.status_code == 422
    assert list(response.json()["error"]["fields"]) == [field]
    assert Event.objects.count() == 0


@pytest.mark.parametrize(
    ("raw", "status"), [(b"{not json", 400), (b"[1, 2]", 422), (b"12", 422), (b'"text"', 422), (b"null", 422)]
)
def test_a_body_that_is_not_a_json_object_is_refused_with_the_error_shape(client, alice, purchase, raw, status):
    """Not JSON at all is the API's 400 bad_request (api/errors.py); JSON that is not an object is a 422."""
    response = client.post("/api/v1/events", data=raw, content_type="application/json", **alice.headers())

    assert response.status_code == status
    assert set(response.json()["error"]) == {"code", "message", "fields"}
    assert Event.objects.count() == 0


def test_resending_a_batch_changes_nothing_and_reports_duplicates(api, alice, purchase):
    first = api.post("/events", alice, {"events": [_event(1), _event(2)]}).json()
    audits = AuditEntry.objects.count()

    again = api.post("/events", alice, {"events": [_event(1, properties={"amount": 7}), _event(2)]})

    assert again.status_code == 200
    body = again.json()
    assert (body["stored"], body["duplicates"]) == (0, 2)
    assert [r["event"] for r in body["results"]] == [r["event"] for r in first["results"]]
    assert Event.objects.get(event_id="e-1").properties == {"amount": 1}
    assert AuditEntry.objects.count() == audits


def test_a_single_resent_event_answers_200_duplicate(api, alice, purchase):
    api.post("/events", alice, _event(1))

    response = api.post("/events", alice, _event(1))

    assert response.status_code == 200
    assert response.json()["results"][0]["status"] == "duplicate"
    assert Event.objects.count() == 1


def test_senders_need_write_permissions_and_outsiders_are_refused(api, charlie, purchase):
    refused = api.post("/events", charlie, _event(1))
    anonymous = api.post("/events", None, _event(2))

    assert refused.status_code == 403
    assert anonymous.status_code == 401
    assert Event.objects.count() == 0


def test_event_types_are_registered_and_changed_through_the_api(api, ada, alice):
    created = api.post("/event-types", ada, {"key": "plan.upgraded", "name": "Upgraded", "show_on_timeline": True})
    bad = api.post("/event-types", ada, {"key": "x.y", "name": "X", "properties_schema": {"type": "nope"}})
    refused = api._call("put", "/event-types/plan.upgraded", alice, {"name": "Hacked"})
    changed = api._call("put", "/event-types/plan.upgraded", ada, {"name": "Plan upgraded"})

    assert created.status_code == 201
    assert (bad.status_code, list(bad.json()["error"]["fields"])) == (422, ["properties_schema.type"])
    assert refused.status_code == 403
    assert changed.json()["name"] == "Plan upgraded"
    assert changed.json()["show_on_timeline"] is False
    assert [t["key"] for t in api.get("/event-types", alice).json()] == ["page.viewed", "plan.upgraded"]


# --- a customer's events -----------------------------------------------------------------------------------------
def test_a_customers_events_newest_first_by_type_and_period_in_pages(api, alice, purchase):
    customer = CustomerFactory()
    other = CustomerFactory()
    batch = [_event(n, customer={"id": customer.public_id}) for n in range(5)]
    batch += [_event(9, customer={"id": other.public_id})]
    batch += [
        _event(
            10, type="page.viewed", properties={"url": "https://shop.example.com/"}, customer={"id": customer.public_id}
        )
    ]
    api.post("/events", alice, {"events": batch})

    everything = api.get(f"/customers/{customer.public_id}/events", alice).json()
    first = api.get(f"/customers/{customer.public_id}/events?type=purchase.completed&limit=2", alice).json()
    second = api.get(
        f"/customers/{customer.public_id}/events?type=purchase.completed&limit=2&cursor={first['next_cursor']}", alice
    ).json()
    period = api.get(
        f"/customers/{customer.public_id}/events",
        alice,
        QUERY_STRING="since=2026-01-05T09:01:00%2B00:00&until=2026-01-05T09:03:00%2B00:00",
    ).json()

    assert [e["event_id"] for e in everything["items"]] == ["e-10", "e-4", "e-3", "e-2", "e-1", "e-0"]
    assert [e["event_id"] for e in first["items"]] == ["e-4", "e-3"]
    assert [e["event_id"] for e in second["items"]] == ["e-2", "e-1"]
    assert [e["event_id"] for e in period["items"]] == ["e-2", "e-1"]
    assert everything["next_cursor"] is None


def test_a_customers_events_refuse_a_bad_cursor_and_an_unknown_customer(api, alice, purchase):
    customer = CustomerFactory()

    bad_cursor = api.get(f"/customers/{customer.public_id}/events?cursor=zzz", alice)
    unknown = api.get("/customers/cus_nobody/events", alice)

    assert (bad_cursor.status_code, list(bad_cursor.json()["error"]["fields"])) == (422, ["cursor"])
    assert unknown.status_code == 404


def test_a_merge_moves_the_events_and_an_unmerge_moves_them_back(api, alice, ada, purchase, system):
    keep, fold = CustomerFactory(), CustomerFactory()
    api.post("/events", alice, {"events": [_event(1, customer={"id": fold.public_id})]})

    merge = customer_services.merge_customers(system, keep, fold)
    moved = api.get(f"/customers/{keep.public_id}/events", alice).json()
    customer_services.unmerge(system, merge)

    assert [e["event_id"] for e in moved["items"]] == ["e-1"]
    assert Event.objects.get().customer_id == fold.pk


# --- no 500, whatever the shapes -----------------------------------------------------------------------------------
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3),
    max_leaves=8,
)
FIELD = st.sampled_from(["event_id", "type", "customer", "occurred_at", "properties", "events"])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    body=st.dictionaries(FIELD, JSON, max_size=5)
    | st.fixed_dictionaries({"events": st.lists(st.dictionaries(FIELD, JSON, max_size=5), max_size=3)})
)
def test_no_shape_of_body_gets_a_server_error(client, alice, purchase, body):
    response = client.post("/api/v1/events", data=json.dumps(body), content_type="application/json", **alice.headers())

    assert response.status_code in {200, 201, 422}, (body, response.content[:300])
    if response.status_code == 422:
        assert set(response.json()["error"]) == {"code", "message", "fields"}


@pytest.mark.parametrize(
    ("value", "field"),
    [
        (b"NaN", "properties.amount"),
        (b'{"deep": [1, Infinity]}', "properties.amount.deep[1]"),
        (b'{"NaN": "Infinity", "x": [1.5, -Infinity]}', "properties.amount.x[1]"),  # the words as text first
    ],
)
def test_nan_and_infinity_are_refused_with_their_path(client, alice, system, value, field):
    """Python's JSON parser takes them; PostgreSQL refuses them inside JSON (it was a 500 there)."""
    services.create_event_type(system, EventTypeInput(key="free.form", name="Anything goes"))
    raw = b'{"event_id": "n-1", "type": "free.form", "customer": {"email": "n@example.com"}, "properties": {"amount": '
    response = client.post(
        "/api/v1/events", data=raw + value + b"}}", content_type="application/json", **alice.headers()
    )

    assert response.status_code == 422
    assert response.json()["error"]["fields"] == {field: "must be a finite number (JSON has no NaN or Infinity)"}
    assert Event.objects.count() == 0


def test_nan_and_infinity_as_text_are_stored(client, alice, system):
    services.create_event_type(system, EventTypeInput(key="free.form", name="Anything goes"))
    properties = {"label": "NaN", "Infinity": ["-Infinity", 1.5, {"NaN": 0}]}
    event = {"event_id": "t-1", "type": "free.form", "customer": {"email": "n@example.com"}, "properties": properties}

    response = client.post("/api/v1/events", data=json.dumps(event), content_type="application/json", **alice.headers())

    assert response.status_code == 201
    assert Event.objects.get().properties == properties


def test_a_schema_holding_nan_is_refused_with_its_path(client, ada):
    raw = b'{"key": "a.b", "name": "A", "properties_schema": {"properties": {"x": {"minimum": NaN}}}}'

    response = client.post("/api/v1/event-types", data=raw, content_type="application/json", **ada.headers())

    assert response.status_code == 422
    assert list(response.json()["error"]["fields"]) == ["properties_schema.properties.x.minimum"]
    assert not EventType.objects.filter(key="a.b").exists()


def test_a_period_in_any_offset_iso_8601_allows_is_answered(api, alice, purchase):
    customer = CustomerFactory()

    far = api.get(f"/customers/{customer.public_id}/events", alice, QUERY_STRING="since=0750-05-22T18:58:04-23:37")

    assert (far.status_code, far.json()["items"]) == (200, [])
