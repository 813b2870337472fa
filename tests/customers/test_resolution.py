"""Identity resolution: from the identities on an inbound item to exactly one customer, never a silent merge."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from django.db import connection, connections, transaction

from cxloop.core.actor import Actor
from cxloop.core.errors import PermissionDeniedError, ValidationError
from cxloop.customers import services as customer_services
from cxloop.customers.models import Customer, CustomerStatus, Identity, Merge, MergeSuggestion, SuggestionStatus
from cxloop.customers.services import identities as identity_services
from cxloop.customers.services import resolution
from cxloop.customers.types import IdentityInput
from cxloop.events import bus
from cxloop.privacy.models import AuditEntry
from tests.customers.factories import CustomerFactory, IdentityFactory


@pytest.fixture
def received() -> Iterator[list[bus.DomainEvent]]:
    """Every domain event delivered while the test runs."""
    events: list[bus.DomainEvent] = []
    bus.subscribe("*", events.append)
    yield events
    bus.unsubscribe("*", events.append)


def _email(value: str, *, verified: bool = False) -> IdentityInput:
    return IdentityInput(kind="email", value=value, is_verified=verified)


def _names(events: list[bus.DomainEvent]) -> list[str]:
    return [e.name for e in events]


def test_unknown_identities_create_one_customer_with_them(alice, received, django_capture_on_commit_callbacks):
    # when
    with django_capture_on_commit_callbacks(execute=True):
        result = customer_services.resolve_customer(
            alice.actor,
            [_email("Ann@Example.com"), IdentityInput(kind="phone", value="07700 900123")],
            name="  Ann   Lee ",
            country="gb",
            source="email",
        )

    # then
    assert result.created is True
    assert result.matched == []
    assert result.suggestions == []
    customer = Customer.objects.get()
    assert result.customer == customer
    assert (customer.name, customer.search_name, customer.country) == ("Ann Lee", "ann lee", "GB")
    stored = sorted(customer.identities.values_list("kind", "value", "source"))
    assert stored == [("email", "ann@example.com", "email"), ("phone", "+447700900123", "email")]
    entries = AuditEntry.objects.filter(object_id=customer.public_id)
    assert [(e.action, e.actor_label) for e in entries] == [("customer.created", "alice")]
    assert entries[0].after["identities"][0]["value"] == "ann@example.com"
    assert _names(received) == ["customer.created"]
    assert received[0].customer_id == customer.public_id
    assert received[0].source == "email"


def test_a_known_identity_resolves_to_its_customer_and_attaches_the_new_ones(
    alice, received, django_capture_on_commit_callbacks
):
    # given
    customer = CustomerFactory(name="")
    known = IdentityFactory(customer=customer, value="ann@example.com")

    # when
    with django_capture_on_commit_callbacks(execute=True):
        result = customer_services.resolve_customer(
            alice.actor,
            [_email("ANN@example.com"), IdentityInput(kind="whatsapp", value="447700900123")],
            name="Ann",
            source="whatsapp",
        )

    # then
    assert result.created is False
    assert result.customer.pk == customer.pk
    assert [i.pk for i in result.matched] == [known.pk]
    assert Customer.objects.count() == 1
    assert sorted(customer.identities.values_list("kind", "value")) == [
        ("email", "ann@example.com"),
        ("whatsapp", "+447700900123"),
    ]
    known.refresh_from_db()
    assert known.last_seen_at is not None
    customer.refresh_from_db()
    assert customer.name == "Ann"  # a blank name is filled from the inbound item
    added = AuditEntry.objects.get(action="identity.added")
    assert (added.object_id, added.actor_label, added.after["value"]) == (
        customer.public_id,
        "alice",
        "+447700900123",
    )
    assert _names(received) == ["identity.added"]
    assert received[0].kind == "whatsapp"


def test_a_named_customer_keeps_its_name(alice):
    customer = CustomerFactory(name="Ann Lee")
    IdentityFactory(customer=customer, value="ann@example.com")

    customer_services.resolve_customer(alice.actor, [_email("ann@example.com")], name="A. Lee")

    customer.refresh_from_db()
    assert customer.name == "Ann Lee"
    assert AuditEntry.objects.filter(object_type="customer").count() == 0


def test_a_plus_address_finds_the_customer_of_the_plain_address(alice):
    # given
    customer = CustomerFactory()
    IdentityFactory(customer=customer, value="bob@example.com", match_value="bob@example.com")

    # when
    result = customer_services.resolve_customer(alice.actor, [_email("Bob+Shop@Example.com")])

    # then
    assert (result.created, result.customer.pk) == (False, customer.pk)
    assert sorted(customer.identities.values_list("value", flat=True)) == ["bob+shop@example.com", "bob@example.com"]


def test_identities_of_two_customers_give_a_suggestion_with_evidence_not_a_merge(
    alice, received, django_capture_on_commit_callbacks
):
    # given
    ann = CustomerFactory(name="Ann")
    IdentityFactory(customer=ann, value="ann@example.com")
    IdentityFactory(customer=ann, kind="phone", value="+447700900123", match_value="+447700900123")
    other = CustomerFactory(name="A. Lee")
    IdentityFactory(customer=other, kind="external", network="shop", value="42", match_value="42")
    audit_before = AuditEntry.objects.count()

    # when
    with django_capture_on_commit_callbacks(execute=True):
        result = customer_services.resolve_customer(
            alice.actor,
            [
                IdentityInput(kind="external", network="shop", value="42"),
                _email("ann@example.com"),
                IdentityInput(kind="phone", value="+44 7700 900123"),
            ],
            source="shop",
        )

    # then: the profile matched on more identities wins, and nothing is merged
    assert (result.created, result.customer.pk) == (False, ann.pk)
    assert Merge.objects.count() == 0
    assert Customer.objects.filter(status=CustomerStatus.ACTIVE).count() == 2
    assert ann.identities.count() == 2
    assert other.identities.count() == 1
    suggestion = MergeSuggestion.objects.get()
    assert result.suggestions == [suggestion]
    assert (suggestion.customer_a_id, suggestion.customer_b_id) == (ann.pk, other.pk)
    assert (suggestion.status, suggestion.source, suggestion.probability) == ("pending", "resolution", 0.95)
    assert suggestion.evidence == {
        "rule": "identities seen together on one inbound item",
        "source": "shop",
        "identities": {
            ann.public_id: ["email:ann@example.com", "phone:+447700900123"],
            other.public_id: ["external:shop:42"],
        },
    }
    assert AuditEntry.objects.count() == audit_before
    assert _names(received) == ["merge.suggested"]
    assert (received[0].customer_a_id, received[0].customer_b_id) == (ann.public_id, other.public_id)


def test_the_same_pair_is_suggested_once_and_upgraded_on_stronger_evidence(alice):
    # given
    ann = CustomerFactory()
    IdentityFactory(customer=ann, value="ann@example.com", is_verified=True)
    other = CustomerFactory()
    IdentityFactory(customer=other, value="ann.lee@example.com")
    both = [_email("ann@example.com"), _email("ann.lee@example.com")]
    customer_services.resolve_customer(alice.actor, both)
    Identity.objects.filter(value="ann.lee@example.com").update(is_verified=True)

    # when
    again = customer_services.resolve_customer(alice.actor, both)

    # then
    assert again.suggestions == []
    suggestion = MergeSuggestion.objects.get()
    assert suggestion.probability == 0.99
    assert suggestion.status == SuggestionStatus.PENDING


def test_a_dismissed_pair_is_not_suggested_again(alice, bob):
    ann = CustomerFactory()
    IdentityFactory(customer=ann, value="ann@example.com")
    other = CustomerFactory()
    IdentityFactory(customer=other, value="ann.lee@example.com")
    both = [_email("ann@example.com"), _email("ann.lee@example.com")]
    first = customer_services.resolve_customer(alice.actor, both)
    customer_services.dismiss_suggestion(bob.actor, first.suggestions[0])

    again = customer_services.resolve_customer(alice.actor, both)

    assert again.suggestions == []
    assert list(MergeSuggestion.objects.values_list("status", flat=True)) == ["dismissed"]


@pytest.mark.parametrize("member", ["alice", "bob"])
def test_verified_identities_on_both_merge_automatically_when_the_rule_is_on(
    member, request, settings, received, django_capture_on_commit_callbacks
):
    # given: the rule is on; the agent (alice) cannot merge by hand, yet the rule applies to her items too
    settings.CXLOOP_AUTO_MERGE_VERIFIED = True
    actor = request.getfixturevalue(member).actor
    ann = CustomerFactory(name="Ann", country="")
    IdentityFactory(customer=ann, value="ann@example.com", is_verified=True)
    IdentityFactory(customer=ann, value="ann@work.example", is_verified=False)
    other = CustomerFactory(name="", country="FR")
    IdentityFactory(customer=other, kind="phone", value="+33123456789", match_value="+33123456789", is_verified=True)

    # when
    with django_capture_on_commit_callbacks(execute=True):
        result = customer_services.resolve_customer(
            actor,
            [_email("ann@example.com"), IdentityInput(kind="phone", value="+33 1 23 45 67 89")],
            source="chat",
        )

    # then
    assert result.customer.pk == ann.pk
    assert result.suggestions == []
    merge = Merge.objects.get()
    assert result.merges == [merge]
    assert (merge.target_id, merge.source_id) == (ann.pk, other.pk)
    assert merge.reason == "verified identities seen together (chat)"
    other.refresh_from_db()
    ann.refresh_from_db()
    assert (other.status, other.merged_into_id) == ("merged", ann.pk)
    assert ann.country == "FR"
    assert sorted(ann.identities.values_list("value", flat=True)) == [
        "+33123456789",
        "ann@example.com",
        "ann@work.example",
    ]
    assert MergeSuggestion.objects.count() == 0
    merged = AuditEntry.objects.get(action="customer.merged")
    assert merged.actor_label == member
    assert _names(received) == ["customer.merged"]


def test_the_rule_does_not_merge_when_only_one_side_is_verified(alice, settings):
    settings.CXLOOP_AUTO_MERGE_VERIFIED = True
    ann = CustomerFactory()
    IdentityFactory(customer=ann, value="ann@example.com", is_verified=True)
    other = CustomerFactory()
    IdentityFactory(customer=other, value="ann.lee@example.com", is_verified=False)

    result = customer_services.resolve_customer(alice.actor, [_email("ann@example.com"), _email("ann.lee@example.com")])

    assert Merge.objects.count() == 0
    assert len(result.suggestions) == 1
    assert result.suggestions[0].probability == 0.95


def test_verified_identities_on_both_only_suggest_when_the_rule_is_off(alice, settings):
    settings.CXLOOP_AUTO_MERGE_VERIFIED = False
    ann = CustomerFactory()
    IdentityFactory(customer=ann, value="ann@example.com", is_verified=True)
    other = CustomerFactory()
    IdentityFactory(customer=other, value="ann.lee@example.com", is_verified=True)

    result = customer_services.resolve_customer(alice.actor, [_email("ann@example.com"), _email("ann.lee@example.com")])

    assert Merge.objects.count() == 0
    assert [s.probability for s in result.suggestions] == [0.99]


def test_the_profile_matched_on_verified_identities_is_the_one_kept(alice):
    first = CustomerFactory()
    IdentityFactory(customer=first, value="a@example.com")
    IdentityFactory(customer=first, value="b@example.com")
    verified = CustomerFactory()
    IdentityFactory(customer=verified, value="c@example.com", is_verified=True)

    result = customer_services.resolve_customer(
        alice.actor, [_email("a@example.com"), _email("b@example.com"), _email("c@example.com")]
    )

    assert result.customer.pk == verified.pk


def test_no_identities_is_a_validation_error(alice):
    with pytest.raises(ValidationError) as caught:
        customer_services.resolve_customer(alice.actor, [])

    assert caught.value.fields == {"identities": "must not be empty"}


def test_an_invalid_identity_names_its_position_and_writes_nothing(alice, received, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(ValidationError) as caught:
        customer_services.resolve_customer(
            alice.actor, [_email("ann@example.com"), IdentityInput(kind="phone", value="12")]
        )

    assert caught.value.fields == {"identities[1].value": "too short to be a phone number"}
    assert Customer.objects.count() == 0
    assert Identity.objects.count() == 0
    assert AuditEntry.objects.filter(object_type="customer").count() == 0
    assert received == []


def test_a_read_only_actor_is_refused_and_nothing_is_written(charlie, received, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(PermissionDeniedError):
        customer_services.resolve_customer(charlie.actor, [_email("ann@example.com")])

    assert Customer.objects.count() == 0
    assert AuditEntry.objects.filter(object_type="customer").count() == 0
    assert received == []


def test_events_are_delivered_only_after_the_commit(alice, received, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        customer_services.resolve_customer(alice.actor, [_email("ann@example.com")])
        assert received == []  # still inside the transaction

    assert len(callbacks) == 1
    assert _names(received) == ["customer.created"]


def test_events_of_a_rolled_back_resolution_are_never_delivered(alice, received, django_capture_on_commit_callbacks):
    # when: a later step of the same transaction fails after the resolution created a customer
    @transaction.atomic
    def resolve_then_fail() -> None:
        customer_services.resolve_customer(alice.actor, [_email("new@example.com")])
        raise ValidationError("later step failed", fields={"body": "bad"})

    with django_capture_on_commit_callbacks(execute=True) as callbacks, pytest.raises(ValidationError):
        resolve_then_fail()

    # then
    assert callbacks == []
    assert received == []
    assert not Identity.objects.filter(value="new@example.com").exists()


def test_a_concurrent_insert_between_read_and_write_is_retried_and_resolves_to_its_winner(alice, monkeypatch):
    # given: another request created the customer after our read (we saw no match) but before our insert
    winner = CustomerFactory()
    IdentityFactory(customer=winner, value="ann@example.com")
    real_matches, real_find = resolution._matches, identity_services.find_identity
    calls = {"matches": 0, "find": 0}

    def stale_matches(canonical):  # type: ignore[no-untyped-def]
        calls["matches"] += 1
        return {} if calls["matches"] == 1 else real_matches(canonical)

    def stale_find(canonical):  # type: ignore[no-untyped-def]
        calls["find"] += 1
        return None if calls["find"] == 1 else real_find(canonical)

    monkeypatch.setattr(resolution, "_matches", stale_matches)
    monkeypatch.setattr(identity_services, "find_identity", stale_find)

    # when: our insert hits the unique constraint
    result = customer_services.resolve_customer(alice.actor, [_email("ann@example.com")])

    # then: the attempt is rolled back and retried
    assert calls["matches"] == 2
    assert (result.created, result.customer.pk) == (False, winner.pk)
    assert Customer.objects.count() == 1
    assert AuditEntry.objects.filter(action="customer.created").count() == 0


def test_an_identity_taken_between_read_and_attach_is_retried_too(alice, monkeypatch):
    # given: the other request committed after our read but before our own existence check
    winner = CustomerFactory()
    IdentityFactory(customer=winner, value="ann@example.com")
    real_matches = resolution._matches
    calls = {"matches": 0}

    def stale_matches(canonical):  # type: ignore[no-untyped-def]
        calls["matches"] += 1
        return {} if calls["matches"] == 1 else real_matches(canonical)

    monkeypatch.setattr(resolution, "_matches", stale_matches)

    # when
    result = customer_services.resolve_customer(alice.actor, [_email("ann@example.com")])

    # then
    assert (result.created, result.customer.pk) == (False, winner.pk)
    assert Customer.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_resolutions_of_one_new_identity_give_one_customer(monkeypatch):
    """A real race on PostgreSQL: both requests read "no match" before either writes."""
    if connection.vendor != "postgresql":
        pytest.skip("SQLite serialises writers (BEGIN IMMEDIATE), so the race cannot happen there")
    from cxloop.accounts.models import User

    user = User.objects.create_user(username="agent", password="agent-pass-123", role="agent")
    actor = Actor.for_user(user)
    barrier = threading.Barrier(2, timeout=10)
    real_matches = resolution._matches
    first_call: set[int] = set()

    reads: list[int] = []

    def racing_matches(canonical):  # type: ignore[no-untyped-def]
        reads.append(threading.get_ident())
        found = real_matches(canonical)
        if threading.get_ident() not in first_call:
            first_call.add(threading.get_ident())
            barrier.wait()  # both have read before either writes
        return found

    monkeypatch.setattr(resolution, "_matches", racing_matches)
    results: list[object] = []

    def run() -> None:
        try:
            results.append(customer_services.resolve_customer(actor, [_email("race@example.com")]))
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            results.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert all(isinstance(r, resolution.Resolution) for r in results), results
    assert len(reads) == 3  # the loser hit the unique key, rolled back and read again
    assert sorted(r.created for r in results) == [False, True]  # type: ignore[attr-defined]
    assert len({r.customer.pk for r in results}) == 1  # type: ignore[attr-defined]
    assert Customer.objects.count() == 1
    assert Identity.objects.filter(value="race@example.com").count() == 1


@pytest.mark.parametrize("country", ["ZZ", "UK", "1"])
def test_an_unknown_country_is_refused_and_nothing_is_written(alice, country):
    with pytest.raises(ValidationError) as caught:
        customer_services.resolve_customer(
            alice.actor, [IdentityInput(kind="phone", value="+447700900123")], country=country
        )

    assert caught.value.fields == {"country": "must be an ISO 3166 two-letter country code, e.g. GB or US"}
    assert Customer.objects.count() == 0


def test_the_country_given_reads_national_numbers_and_is_stored_in_capitals(alice):
    result = customer_services.resolve_customer(
        alice.actor, [IdentityInput(kind="phone", value="(202) 555-0143")], country="us"
    )

    assert (result.customer.country, result.customer.identities.get().value) == ("US", "+12025550143")
