"""Customer-event ingestion: registered types with JSON Schemas, idempotent event ids, any identity, per-event
errors with paths while the valid events are stored, the timeline for flagged types, one domain event each."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from cxloop.core.errors import PermissionDeniedError, ValidationError
from cxloop.customers.models import Customer, Identity
from cxloop.events import bus, services
from cxloop.events.errors import InvalidSchemaError
from cxloop.events.models import Event, EventType
from cxloop.events.types import CustomerRef, EventInput, EventTypeInput
from cxloop.interactions.models import Interaction
from cxloop.privacy.models import AuditEntry
from tests.customers.factories import CustomerFactory, IdentityFactory

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
PURCHASE_SCHEMA = {
    "type": "object",
    "properties": {"amount": {"type": "number", "minimum": 0}, "items": {"type": "array", "items": {"type": "string"}}},
    "required": ["amount"],
}


@pytest.fixture
def types(db: None, system: Any) -> dict[str, EventType]:
    purchase = services.create_event_type(
        system,
        EventTypeInput(key="purchase.completed", name="Purchase completed", properties_schema=PURCHASE_SCHEMA),
    )
    signup = services.create_event_type(
        system, EventTypeInput(key="account.created", name="Signed up", show_on_timeline=True)
    )
    return {"purchase": purchase, "signup": signup}


def _event(n: int, **fields: Any) -> EventInput:
    values: dict[str, Any] = {
        "event_id": f"e-{n}",
        "type": "purchase.completed",
        "customer": CustomerRef(email=f"buyer{n % 3}@example.com"),
        "occurred_at": T0 + timedelta(minutes=n),
        "properties": {"amount": n},
    }
    values.update(fields)
    return EventInput(**values)


def test_valid_events_are_stored_for_the_customer_their_identity_resolves_to(types, system):
    results = services.ingest_events(system, [_event(n) for n in range(6)])

    assert [r.status for r in results] == ["stored"] * 6
    assert Customer.objects.count() == 3
    stored = Event.objects.get(event_id="e-4")
    assert (stored.customer.identities.get().value, stored.properties, stored.occurred_at) == (
        "buyer1@example.com",
        {"amount": 4},
        T0 + timedelta(minutes=4),
    )


def test_a_resent_event_id_changes_nothing(types, system):
    first = services.ingest_events(system, [_event(1)])
    again = services.ingest_events(system, [_event(1, properties={"amount": 99}), _event(2), _event(2)])

    assert [r.status for r in again] == ["duplicate", "stored", "duplicate"]
    assert again[0].event_public_id == first[0].event_public_id
    assert again[2].event_public_id == again[1].event_public_id
    assert Event.objects.get(event_id="e-1").properties == {"amount": 1}
    assert Event.objects.count() == 2


def test_any_identity_or_a_customer_id_finds_the_customer(types, system):
    known = CustomerFactory()
    IdentityFactory(customer=known, kind="phone", value="+442071838750")
    IdentityFactory(customer=known, kind="external", network="crm", value="crm-7")
    refs = [
        CustomerRef(phone="020 7183 8750", region="GB"),
        CustomerRef(external_id="crm-7", network="crm"),
        CustomerRef(id=known.public_id),
    ]

    results = services.ingest_events(system, [_event(n, customer=ref) for n, ref in enumerate(refs)])

    assert {r.customer_id for r in results} == {known.public_id}
    assert Customer.objects.count() == 1


def test_bad_events_get_errors_with_paths_while_the_others_are_stored(types, system):
    batch = [
        _event(0),
        _event(1, type="purchase.typo"),
        _event(2, properties={"amount": -1, "items": ["a", 3]}),
        _event(3, occurred_at=datetime(2026, 1, 5, 9, 0)),  # noqa: DTZ001 (no offset on purpose)
        _event(4, customer=CustomerRef()),
        _event(5, customer=CustomerRef(email="not an address")),
        _event(6, event_id=""),
        _event(7, customer=CustomerRef(id="cus_nobody")),
    ]

    results = services.ingest_events(system, batch)

    assert [r.status for r in results] == ["stored"] + ["error"] * 7
    errors = [(r.error.code, r.error.fields) for r in results[1:] if r.error is not None]
    assert errors[0] == ("unknown_event_type", {"type": "is not a registered, active event type"})
    assert errors[1][0] == "properties_invalid"
    assert set(errors[1][1]) == {"properties.amount", "properties.items[1]"}
    assert set(errors[2][1]) == {"occurred_at"}
    assert set(errors[3][1]) == {"customer"}
    assert set(errors[4][1]) == {"customer.email"}
    assert set(errors[5][1]) == {"event_id"}
    assert set(errors[6][1]) == {"customer.id"}
    assert list(Event.objects.values_list("event_id", flat=True)) == ["e-0"]


def test_a_deactivated_type_takes_no_more_events(types, system):
    services.update_event_type(
        system,
        "purchase.completed",
        EventTypeInput(key="ignored", name="Purchase", properties_schema=PURCHASE_SCHEMA, is_active=False),
    )

    (result,) = services.ingest_events(system, [_event(1)])

    assert result.error is not None
    assert result.error.code == "unknown_event_type"


def test_types_flagged_for_the_timeline_become_inbound_event_interactions(types, system):
    known = CustomerFactory()
    results = services.ingest_events(
        system,
        [
            _event(1, type="account.created", properties={"plan": "pro"}),
            _event(2, type="account.created", properties={}, customer=CustomerRef(id=known.public_id)),
            _event(3),  # purchases are not on the timeline
        ],
    )

    shown = Interaction.objects.order_by("occurred_at")
    assert [(i.channel, i.direction, i.summary, i.customer.public_id) for i in shown] == [
        ("event", "inbound", "Signed up", results[0].customer_id),
        ("event", "inbound", "Signed up", known.public_id),
    ]
    assert shown[0].body == 'plan: "pro"'
    assert Event.objects.get(event_id="e-1").interaction_ref == shown[0].public_id
    assert Event.objects.get(event_id="e-3").interaction_ref == ""


def test_each_stored_event_is_published_once_after_commit(types, system, django_capture_on_commit_callbacks):
    seen: list[bus.DomainEvent] = []
    bus.subscribe("customer_event.received", seen.append)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            services.ingest_events(system, [_event(1), _event(1), _event(2, type="nope")])
    finally:
        bus.unsubscribe("customer_event.received", seen.append)

    assert [e.payload() for e in seen] == [
        {
            "event_id": "e-1",
            "customer_id": Customer.objects.get().public_id,
            "type": "purchase.completed",
            "occurred_at": (T0 + timedelta(minutes=1)).isoformat(),
            "properties": {"amount": 1},
        }
    ]


def test_a_batch_is_audited_once_and_needs_write_permissions(types, system, charlie):
    services.ingest_events(system, [_event(n) for n in range(3)])

    assert AuditEntry.objects.filter(action="events.ingested").count() == 1
    with pytest.raises(PermissionDeniedError):
        services.ingest_events(charlie.actor, [_event(9)])


@pytest.mark.parametrize(
    ("schema", "field"),
    [
        ({"type": "nope"}, "properties_schema.type"),
        ({"properties": {"a": {"minimum": "x"}}}, "properties_schema.properties.a.minimum"),
        (["not", "an", "object"], "properties_schema"),
    ],
)
def test_a_schema_that_is_not_valid_json_schema_is_refused_with_its_path(db, system, schema, field):
    with pytest.raises(InvalidSchemaError) as caught:
        services.create_event_type(system, EventTypeInput(key="x.y", name="X", properties_schema=schema))

    assert list(caught.value.fields) == [field]


def test_managing_types_needs_channels_manage_and_keys_are_unique(types, alice, ada):
    with pytest.raises(PermissionDeniedError):
        services.create_event_type(alice.actor, EventTypeInput(key="a.b", name="A"))
    services.create_event_type(ada.actor, EventTypeInput(key="a.b", name="A"))
    with pytest.raises(Exception, match="exists"):
        services.create_event_type(ada.actor, EventTypeInput(key="a.b", name="A again"))
    assert Identity.objects.count() == 0


def test_the_key_journeys_read_as_any_activity_cannot_be_registered(db, system):
    with pytest.raises(ValidationError) as caught:
        services.create_event_type(system, EventTypeInput(key="activity", name="Activity"))

    assert caught.value.fields == {
        "key": "is reserved: journeys and rules read 'activity' as any inbound contact or event"
    }
    assert not EventType.objects.filter(key="activity").exists()


def test_events_of_one_new_identity_in_a_batch_make_one_customer_created_by_the_first(types, system):
    batch = [_event(n, customer=CustomerRef(email="Same@Example.com")) for n in range(3)]
    batch.append(_event(3, customer=CustomerRef(email="same@example.com", name="Sam")))

    results = services.ingest_events(system, batch)

    assert [r.customer_created for r in results] == [True, False, False, False]
    assert len({r.customer_id for r in results}) == 1
    assert Customer.objects.get().name == "Sam"


def test_a_concurrent_sender_storing_the_same_event_id_first_makes_it_a_duplicate(types, system, monkeypatch):
    """The race of two senders: both read no known id, the other commits first, ours meets the unique constraint,
    runs again and finds the other's event."""
    (first,) = services.ingest_events(system, [_event(1)])
    real = services._known_event_ids
    calls: list[int] = []

    def blind_once(event_ids: list[str]) -> dict[str, str]:
        calls.append(len(event_ids))
        return {} if len(calls) == 1 else real(event_ids)

    monkeypatch.setattr(services, "_known_event_ids", blind_once)

    results = services.ingest_events(system, [_event(1, properties={"amount": 5}), _event(2)])

    assert len(calls) == 2
    assert [(r.status, r.event_public_id == first.event_public_id) for r in results] == [
        ("duplicate", True),
        ("stored", False),
    ]
    stored = sorted(Event.objects.values_list("event_id", "properties"))
    assert stored == [("e-1", {"amount": 1}), ("e-2", {"amount": 2})]


def test_a_customers_export_lists_their_events(types, system):
    from cxloop.customers import services as customer_services

    (result,) = services.ingest_events(system, [_event(1)])
    customer = Customer.objects.get(public_id=result.customer_id)

    document = customer_services.export_customer(system, customer)

    assert document["customer_events"] == [
        {
            "id": result.event_public_id,
            "event_id": "e-1",
            "type": "purchase.completed",
            "occurred_at": (T0 + timedelta(minutes=1)).isoformat(),
            "properties": {"amount": 1},
        }
    ]
