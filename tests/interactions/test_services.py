"""Recording interactions (the one writer every channel calls) and the ingest endpoint."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from cxloop.core import clock
from cxloop.core.errors import PermissionDeniedError, ValidationError
from cxloop.customers import services as customer_services
from cxloop.customers.models import Customer, Identity, MergeSuggestion
from cxloop.customers.types import CustomerInput
from cxloop.events import bus
from cxloop.interactions import services as interaction_services
from cxloop.interactions.models import Interaction, Thread
from cxloop.interactions.types import InteractionInput
from cxloop.privacy.models import AuditEntry
from tests.customers.factories import CustomerFactory, IdentityFactory


@pytest.fixture
def received() -> Iterator[list[bus.DomainEvent]]:
    events: list[bus.DomainEvent] = []
    bus.subscribe("*", events.append)
    yield events
    bus.unsubscribe("*", events.append)


def test_recording_stores_the_interaction_audits_and_announces_it(alice, received, django_capture_on_commit_callbacks):
    # given
    customer = CustomerFactory()
    when = clock.now() - timedelta(hours=3)

    # when
    with django_capture_on_commit_callbacks(execute=True):
        interaction = interaction_services.record_interaction(
            alice.actor,
            customer,
            InteractionInput(
                channel="email",
                direction="inbound",
                occurred_at=when,
                body="Hello,\n\n  my card   was declined twice.",
                subject="Card declined",
                thread_ref="<a1@mail.example>",
                external_id="<m1@mail.example>",
                metadata={"spam_score": 0.1},
            ),
        )

    # then
    interaction.refresh_from_db()
    assert (interaction.customer_id, interaction.channel, interaction.direction) == (customer.pk, "email", "inbound")
    assert interaction.occurred_at == when
    assert interaction.summary == "Hello, my card was declined twice."
    assert (interaction.external_id, interaction.metadata, interaction.created_by) == (
        "<m1@mail.example>",
        {"spam_score": 0.1},
        alice.user,
    )
    thread = interaction.thread
    assert (thread.customer_id, thread.subject, thread.external_ref, thread.last_activity_at) == (
        customer.pk,
        "Card declined",
        "<a1@mail.example>",
        when,
    )
    entry = AuditEntry.objects.get(action="interaction.recorded")
    assert (entry.object_id, entry.actor_label) == (customer.public_id, "alice")
    assert entry.after == {"interaction": interaction.public_id, "channel": "email", "direction": "inbound"}
    assert [(e.name, e.interaction_id, e.customer_id) for e in received] == [
        ("interaction.recorded", interaction.public_id, customer.public_id)
    ]


def test_messages_of_one_conversation_share_a_thread_that_tracks_the_latest(alice):
    customer = CustomerFactory()
    earlier, later = clock.now() - timedelta(hours=5), clock.now() - timedelta(hours=1)

    def record(at: datetime, thread_ref: str = "chat-1") -> Interaction:
        return interaction_services.record_interaction(
            alice.actor,
            customer,
            InteractionInput(channel="chat", direction="inbound", occurred_at=at, body="hi", thread_ref=thread_ref),
        )

    first, second, third = record(later), record(earlier), record(later, thread_ref="chat-2")

    assert first.thread_id == second.thread_id != third.thread_id
    assert Thread.objects.count() == 2
    assert Thread.objects.get(pk=first.thread_id).last_activity_at == later


def test_a_long_body_gets_a_summary_of_200_characters(alice):
    customer = CustomerFactory()

    interaction = interaction_services.record_interaction(
        alice.actor, customer, InteractionInput(channel="note", direction="internal", body="word " * 100)
    )

    assert len(interaction.summary) == 200
    assert interaction.summary.endswith("word…")


def test_without_a_moment_it_happened_now(alice):
    before = clock.now()

    interaction = interaction_services.record_interaction(
        alice.actor, CustomerFactory(), InteractionInput(channel="note", direction="internal", body="x")
    )

    assert before <= interaction.occurred_at <= clock.now()


@pytest.mark.parametrize(
    ("changes", "fields"),
    [
        (
            {"channel": "fax"},
            {"channel": "must be one of email, sms, whatsapp, chat, social, phone, survey, event, note"},
        ),
        ({"direction": "up"}, {"direction": "must be one of inbound, outbound, internal"}),
        ({"body": "", "summary": " "}, {"body": "give a body or a summary"}),
        (
            {"occurred_at": datetime(2026, 1, 31, 9, 0)},
            {"occurred_at": "must include a time zone offset (e.g. 2026-01-31T09:00:00Z)"},
        ),
        ({"occurred_at": "future"}, {"occurred_at": "must not be in the future"}),
        ({"body": "x" * 200_001}, {"body": "must be at most 200000 characters"}),
        (
            {"metadata": {"score": float("inf")}},
            {"metadata": "must be plain JSON: finite numbers only (no NaN or Infinity)"},
        ),
    ],
)
def test_an_invalid_interaction_is_refused_and_nothing_is_written(alice, changes, fields):
    customer = CustomerFactory()
    if changes.get("occurred_at") == "future":
        changes["occurred_at"] = clock.now() + timedelta(days=2)
    data = {"channel": "sms", "direction": "inbound", "body": "hello", **changes}

    with pytest.raises(ValidationError) as caught:
        interaction_services.record_interaction(alice.actor, customer, InteractionInput(**data))

    assert caught.value.fields == fields
    assert Interaction.objects.count() == 0
    assert not AuditEntry.objects.filter(action="interaction.recorded").exists()


def test_a_moment_within_the_clock_skew_tolerance_is_accepted(alice):
    soon = clock.now() + timedelta(hours=1)

    interaction = interaction_services.record_interaction(
        alice.actor, CustomerFactory(), InteractionInput(channel="sms", direction="inbound", occurred_at=soon, body="x")
    )

    assert interaction.occurred_at == soon


def test_recording_on_a_merged_customer_lands_on_its_target(alice, bob):
    target, source = CustomerFactory(), CustomerFactory()
    customer_services.merge_customers(bob.actor, target, source)
    source.refresh_from_db()

    interaction = interaction_services.record_interaction(
        alice.actor, source, InteractionInput(channel="sms", direction="inbound", body="hi")
    )

    assert interaction.customer_id == target.pk


def test_a_read_only_actor_cannot_record(charlie):
    customer = CustomerFactory()

    with pytest.raises(PermissionDeniedError):
        interaction_services.record_interaction(
            charlie.actor, customer, InteractionInput(channel="sms", direction="inbound", body="hi")
        )

    assert Interaction.objects.count() == 0


# --- POST /interactions (ingest) -------------------------------------------------------------------------


def _inbound(**changes):  # type: ignore[no-untyped-def]
    return {
        "channel": "whatsapp",
        "direction": "inbound",
        "body": "Is my order shipped?",
        "identities": [{"kind": "whatsapp", "value": "447700900123", "is_verified": True}],
        "name": "Ann Lee",
        **changes,
    }


def test_ingest_creates_the_customer_and_the_interaction(api, alice, received, django_capture_on_commit_callbacks):
    # when
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post("/interactions", alice, _inbound(occurred_at="2026-01-31T09:00:00+01:00"))

    # then
    assert response.status_code == 201, response.content
    body = response.json()
    customer = Customer.objects.get()
    assert (body["customer"], body["customer_created"], body["merge_suggestions"]) == (customer.public_id, True, [])
    assert customer.name == "Ann Lee"
    identity = Identity.objects.get()
    assert (identity.kind, identity.value, identity.is_verified, identity.source) == (
        "whatsapp",
        "+447700900123",
        True,
        "whatsapp",
    )
    interaction = Interaction.objects.get()
    assert body["interaction"]["id"] == interaction.public_id
    assert interaction.occurred_at == datetime(2026, 1, 31, 8, 0, tzinfo=UTC)
    assert body["interaction"]["summary"] == "Is my order shipped?"
    assert [e.name for e in received] == ["customer.created", "interaction.recorded"]


def test_ingest_of_a_known_identity_adds_to_that_customers_timeline(api, alice):
    first = api.post("/interactions", alice, _inbound()).json()

    second = api.post(
        "/interactions",
        alice,
        _inbound(
            channel="email",
            body="Any news?",
            identities=[
                {"kind": "whatsapp", "value": "+44 7700 900123"},
                {"kind": "email", "value": "Ann@Example.com"},
            ],
        ),
    ).json()

    assert (second["customer"], second["customer_created"]) == (first["customer"], False)
    assert Customer.objects.count() == 1
    assert Interaction.objects.filter(customer__public_id=first["customer"]).count() == 2
    assert sorted(Identity.objects.values_list("value", flat=True)) == ["+447700900123", "ann@example.com"]


def test_ingest_naming_two_customers_records_on_one_and_suggests_a_merge(api, alice):
    ann = CustomerFactory()
    IdentityFactory(customer=ann, value="ann@example.com")
    other = CustomerFactory()
    IdentityFactory(customer=other, kind="phone", value="+447700900123", match_value="+447700900123")

    response = api.post(
        "/interactions",
        alice,
        _inbound(
            channel="email",
            identities=[{"kind": "email", "value": "ann@example.com"}, {"kind": "phone", "value": "07700 900123"}],
        ),
    )

    assert response.status_code == 201
    suggestion = MergeSuggestion.objects.get()
    assert response.json()["merge_suggestions"] == [suggestion.public_id]
    assert response.json()["customer"] == ann.public_id
    assert Customer.objects.filter(status="active").count() == 2


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"identities": []}, "identities"),
        ({"identities": [{"kind": "phone", "value": "12"}]}, "identities[0].value"),
        ({"identities": [{"kind": "social", "value": "@ann"}]}, "identities[0].network"),
        ({"occurred_at": "2026-01-31T09:00:00"}, "occurred_at"),
        ({"occurred_at": "2999-01-01T00:00:00Z"}, "occurred_at"),
        ({"channel": "pigeon"}, "channel"),
        ({"body": ""}, "body"),
    ],
)
def test_an_invalid_inbound_item_creates_nothing(api, alice, changes, field):
    response = api.post("/interactions", alice, _inbound(**changes))

    assert response.status_code == 422, response.content
    assert field in response.json()["error"]["fields"]
    assert Customer.objects.count() == 0
    assert Interaction.objects.count() == 0
    assert not AuditEntry.objects.filter(object_type="customer").exists()


def test_an_interaction_is_readable_by_its_id(api, alice, charlie):
    created = api.post(
        f"/customers/{CustomerFactory().public_id}/interactions",
        alice,
        {"channel": "note", "direction": "internal", "body": "Called"},
    )

    fetched = api.get(f"/interactions/{created.json()['id']}", charlie)

    assert fetched.status_code == 200
    assert fetched.json() == created.json()


def test_recording_on_a_customer_merged_twice_lands_on_the_last_target(alice, bob):
    first, second, last = CustomerFactory(), CustomerFactory(), CustomerFactory()
    customer_services.merge_customers(bob.actor, second, first)
    customer_services.merge_customers(bob.actor, last, second)
    first.refresh_from_db()

    interaction = interaction_services.record_interaction(
        alice.actor, first, InteractionInput(channel="sms", direction="inbound", body="hi")
    )

    assert interaction.customer_id == last.pk


@pytest.mark.parametrize(("field", "size"), [("external_id", 256), ("raw_ref", 501), ("thread_ref", 256)])
def test_overlong_references_are_refused_by_name(alice, field, size):
    customer = customer_services.create_customer(alice.actor, CustomerInput(name="Long refs"))
    data = InteractionInput(channel="email", direction="inbound", body="hello", **{field: "x" * size})

    with pytest.raises(ValidationError) as caught:
        interaction_services.record_interaction(alice.actor, customer, data)

    assert list(caught.value.fields) == [field]
    assert Interaction.objects.count() == 0
