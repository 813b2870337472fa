"""Merging two profiles of one person and undoing it exactly; merge suggestions and their decisions."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from cxloop.core import customer_refs
from cxloop.core.errors import ConflictError, PermissionDeniedError
from cxloop.customers import services as customer_services
from cxloop.customers.errors import MergeConflictError
from cxloop.customers.models import Customer, Identity, Merge, MergeSuggestion
from cxloop.customers.services.snapshots import customer_snapshot
from cxloop.customers.types import IdentityInput
from cxloop.events import bus
from cxloop.interactions.models import Interaction, Thread
from cxloop.privacy.models import AuditEntry
from tests.customers.factories import AttributeDefinitionFactory, CustomerFactory, IdentityFactory
from tests.interactions.factories import InteractionFactory, ThreadFactory


@pytest.fixture
def received() -> Iterator[list[bus.DomainEvent]]:
    events: list[bus.DomainEvent] = []
    bus.subscribe("*", events.append)
    yield events
    bus.unsubscribe("*", events.append)


@pytest.fixture
def pair(db: None) -> dict[str, Any]:
    """Ann (target, with gaps in her profile) and A. Lee (source, with what Ann lacks), each with a history."""
    AttributeDefinitionFactory(key="plan", type="text")
    AttributeDefinitionFactory(key="score", type="number")
    target = CustomerFactory(name="Ann Lee", country="GB", locale="", time_zone="", attributes={"plan": "gold"})
    target.tags.set([])
    source = CustomerFactory(
        name="A. Lee",
        country="FR",
        locale="fr-FR",
        time_zone="Europe/Paris",
        attributes={"plan": "basic", "score": 7},
        tags=["vip", "newsletter"],
    )
    target_tags = CustomerFactory(tags=["vip"])  # makes the "vip" tag exist on someone else too
    target.tags.add(*target_tags.tags.all())
    target_email = IdentityFactory(customer=target, value="ann@example.com")
    source_email = IdentityFactory(customer=source, value="a.lee@example.com")
    source_phone = IdentityFactory(customer=source, kind="phone", value="+33123456789", match_value="+33123456789")
    source_thread = ThreadFactory(customer=source)
    source_messages = [
        InteractionFactory(customer=source, thread=source_thread),
        InteractionFactory(customer=source, channel="sms"),
    ]
    target_message = InteractionFactory(customer=target)
    return {
        "target": target,
        "source": source,
        "target_email": target_email,
        "source_identities": [source_email, source_phone],
        "source_thread": source_thread,
        "source_messages": source_messages,
        "target_message": target_message,
    }


def _state(customer: Customer) -> dict[str, Any]:
    """Everything a merge may touch on one customer, for exact before/after comparisons."""
    customer.refresh_from_db()
    snapshot = customer_snapshot(customer)
    snapshot["search_name"] = customer.search_name
    snapshot["merged_into"] = customer.merged_into_id
    snapshot["interactions"] = sorted(Interaction.objects.filter(customer=customer).values_list("pk", flat=True))
    snapshot["threads"] = sorted(Thread.objects.filter(customer=customer).values_list("pk", flat=True))
    return snapshot


def test_merge_moves_everything_and_fills_the_targets_blanks(bob, pair, received, django_capture_on_commit_callbacks):
    # given
    target, source = pair["target"], pair["source"]
    before_source = _state(source)

    # when
    with django_capture_on_commit_callbacks(execute=True):
        merge = customer_services.merge_customers(bob.actor, target, source, reason="same person")

    # then: every identity, interaction and thread is on the target
    after = _state(target)
    assert sorted(i["value"] for i in after["identities"]) == ["+33123456789", "a.lee@example.com", "ann@example.com"]
    assert after["interactions"] == sorted([m.pk for m in pair["source_messages"]] + [pair["target_message"].pk])
    assert after["threads"] == [pair["source_thread"].pk]
    # blanks filled, existing values kept; tags and attributes added
    assert (after["name"], after["country"], after["locale"], after["time_zone"]) == (
        "Ann Lee",
        "GB",
        "fr-FR",
        "Europe/Paris",
    )
    assert after["attributes"] == {"plan": "gold", "score": 7}
    assert after["tags"] == ["newsletter", "vip"]
    # the source stays, marked merged, keeping its own profile
    source_after = _state(source)
    assert (source_after["status"], source_after["merged_into"]) == ("merged", target.pk)
    assert (source_after["identities"], source_after["interactions"], source_after["threads"]) == ([], [], [])
    assert source_after["attributes"] == before_source["attributes"]
    assert source_after["tags"] == before_source["tags"]
    # the merge remembers exactly what moved and what it gave the target
    assert merge.moved == {
        "identities": sorted(i.pk for i in pair["source_identities"]),
        "interactions": sorted(m.pk for m in pair["source_messages"]),
        "threads": [pair["source_thread"].pk],
    }
    assert merge.target_before == {
        "filled": {"locale": "fr-FR", "time_zone": "Europe/Paris"},
        "attributes": {"score": 7},
        "tags": ["newsletter"],
    }
    assert (merge.performed_by, merge.reason, merge.undone_at) == (bob.user, "same person", None)
    entry = AuditEntry.objects.get(action="customer.merged")
    assert (entry.object_id, entry.actor_label) == (target.public_id, "bob")
    assert entry.before["source"]["id"] == source.public_id
    assert entry.before["target"]["locale"] == ""
    assert entry.after["target"]["locale"] == "fr-FR"
    assert entry.after["moved"] == {"identities": 2, "interactions": 2, "threads": 1}
    assert [e.name for e in received] == ["customer.merged"]
    assert (received[0].merge_id, received[0].target_id, received[0].source_id) == (
        merge.public_id,
        target.public_id,
        source.public_id,
    )


def test_a_nameless_target_takes_the_sources_name_and_gives_it_back(bob):
    target = CustomerFactory(name="")
    source = CustomerFactory(name="José Núñez")

    merge = customer_services.merge_customers(bob.actor, target, source)
    target.refresh_from_db()
    assert (target.name, target.search_name) == ("José Núñez", "jose nunez")

    customer_services.unmerge(bob.actor, merge)
    target.refresh_from_db()
    assert (target.name, target.search_name) == ("", "")


def test_unmerge_restores_both_customers_exactly(bob, pair, received, django_capture_on_commit_callbacks):
    # given
    target, source = pair["target"], pair["source"]
    before_target, before_source = _state(target), _state(source)
    merge = customer_services.merge_customers(bob.actor, target, source)

    # when
    with django_capture_on_commit_callbacks(execute=True):
        undone = customer_services.unmerge(bob.actor, merge, reason="two people")

    # then
    assert _state(target) == before_target
    assert _state(source) == before_source
    assert undone.undone_by == bob.user
    assert undone.undone_at is not None
    entry = AuditEntry.objects.get(action="customer.unmerged")
    assert (entry.object_id, entry.actor_label) == (target.public_id, "bob")
    assert entry.summary.endswith("(two people)")
    assert entry.after["source"]["status"] == "active"
    assert len(entry.after["source"]["identities"]) == 2
    assert [e.name for e in received] == ["customer.unmerged"]


def test_unmerge_keeps_what_people_changed_after_the_merge(alice, bob, pair):
    # given
    target, source = pair["target"], pair["source"]
    merge = customer_services.merge_customers(bob.actor, target, source)
    target.refresh_from_db()
    # after the merge: a new message and a new identity on the target, the filled locale edited by a person,
    # a merged-in attribute changed, and one moved identity deleted
    later = InteractionFactory(customer=target)
    added = customer_services.add_identity(alice.actor, target, IdentityInput(kind="email", value="ann@new.example"))
    customer_services.update_customer(alice.actor, target, {"locale": "en-GB", "attributes": {"score": 9}})
    customer_services.remove_identity(alice.actor, Identity.objects.get(pk=pair["source_identities"][1].pk))

    # when
    customer_services.unmerge(bob.actor, merge)

    # then
    target.refresh_from_db()
    assert target.locale == "en-GB"  # changed since the merge: kept
    assert target.time_zone == ""  # given by the merge and untouched: taken back
    assert target.attributes == {"plan": "gold", "score": 9}
    assert Interaction.objects.get(pk=later.pk).customer_id == target.pk
    assert sorted(target.identities.values_list("value", flat=True)) == ["ann@example.com", "ann@new.example"]
    assert added.pk in set(target.identities.values_list("pk", flat=True))
    assert list(source.identities.values_list("value", flat=True)) == ["a.lee@example.com"]


def test_a_merge_cannot_be_undone_twice(bob, pair):
    # given
    merge = customer_services.merge_customers(bob.actor, pair["target"], pair["source"])
    customer_services.unmerge(bob.actor, merge)
    before = (_state(pair["target"]), _state(pair["source"]), AuditEntry.objects.count())

    # when
    with pytest.raises(MergeConflictError) as caught:
        customer_services.unmerge(bob.actor, merge)

    # then
    assert caught.value.status == 409
    assert (_state(pair["target"]), _state(pair["source"]), AuditEntry.objects.count()) == before


def test_undo_is_refused_when_the_target_was_merged_onward(bob, pair):
    # given: source -> target, then target -> third
    third = CustomerFactory()
    first = customer_services.merge_customers(bob.actor, pair["target"], pair["source"])
    onward = customer_services.merge_customers(bob.actor, third, pair["target"])
    before = (_state(pair["target"]), _state(pair["source"]), _state(third), AuditEntry.objects.count())

    # when
    with pytest.raises(MergeConflictError) as caught:
        customer_services.unmerge(bob.actor, first)

    # then: refused, nothing changed; undoing in reverse order works
    assert caught.value.status == 409
    assert "undo that merge first" in caught.value.message
    assert (_state(pair["target"]), _state(pair["source"]), _state(third), AuditEntry.objects.count()) == before
    customer_services.unmerge(bob.actor, onward)
    customer_services.unmerge(bob.actor, first)
    assert Customer.objects.filter(status="active").count() == Customer.objects.count()


def test_merging_a_customer_into_itself_is_refused(bob):
    ann = CustomerFactory()

    with pytest.raises(MergeConflictError) as caught:
        customer_services.merge_customers(bob.actor, ann, ann)

    assert caught.value.fields == {"source": "same as target"}
    assert Merge.objects.count() == 0


@pytest.mark.parametrize("role", ["target", "source"])
def test_a_merged_customer_can_be_neither_target_nor_source(bob, role):
    # given
    merged, survivor, third = CustomerFactory(), CustomerFactory(), CustomerFactory()
    customer_services.merge_customers(bob.actor, survivor, merged)
    merged.refresh_from_db()
    audit_count = AuditEntry.objects.count()

    target, source = (merged, third) if role == "target" else (third, merged)

    # when
    with pytest.raises(MergeConflictError) as caught:
        customer_services.merge_customers(bob.actor, target, source)

    # then
    assert caught.value.fields == {role: "already merged"}
    assert Merge.objects.count() == 1
    assert AuditEntry.objects.count() == audit_count


def test_an_agent_may_not_merge_or_unmerge(alice, bob, pair):
    before = (_state(pair["target"]), _state(pair["source"]))

    with pytest.raises(PermissionDeniedError):
        customer_services.merge_customers(alice.actor, pair["target"], pair["source"])

    assert (_state(pair["target"]), _state(pair["source"])) == before
    merge = customer_services.merge_customers(bob.actor, pair["target"], pair["source"])
    with pytest.raises(PermissionDeniedError):
        customer_services.unmerge(alice.actor, merge)
    merge.refresh_from_db()
    assert merge.undone_at is None


def test_a_failure_half_way_leaves_nothing_changed(
    bob, pair, monkeypatch, received, django_capture_on_commit_callbacks
):
    # given: a module whose rows move after identities and interactions have moved, and which fails
    def exploding_move(from_customer_id: int, to_customer_id: int) -> list[int]:
        raise RuntimeError("disk full")

    monkeypatch.setitem(
        customer_refs._references,
        "exploding",
        customer_refs.CustomerReference("exploding", exploding_move, lambda ids, to: None),
    )
    target, source = pair["target"], pair["source"]
    before = (_state(target), _state(source), AuditEntry.objects.count())

    # when
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(RuntimeError):
        customer_services.merge_customers(bob.actor, target, source)

    # then
    assert (_state(target), _state(source), AuditEntry.objects.count()) == before
    assert Merge.objects.count() == 0
    assert received == []


def test_a_failure_half_way_through_an_unmerge_leaves_the_merge_in_place(bob, pair, monkeypatch):
    # given
    target, source = pair["target"], pair["source"]
    merge = customer_services.merge_customers(bob.actor, target, source)
    before = (_state(target), _state(source), AuditEntry.objects.count())

    def exploding_restore(ids: list[int], to_customer_id: int) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setitem(
        customer_refs._references,
        "exploding",
        customer_refs.CustomerReference("exploding", lambda a, b: [], exploding_restore),
    )

    # when
    with pytest.raises(RuntimeError):
        customer_services.unmerge(bob.actor, merge)

    # then
    merge.refresh_from_db()
    assert merge.undone_at is None
    assert (_state(target), _state(source), AuditEntry.objects.count()) == before


# --- suggestions --------------------------------------------------------------------------------------


def _suggest(first: Customer, second: Customer, probability: float = 0.9) -> MergeSuggestion:
    from cxloop.core.actor import Actor

    suggestion = customer_services.suggest_merge(
        Actor.system("test"), first, second, probability=probability, source="staff", evidence={"why": "test"}
    )
    assert suggestion is not None
    return suggestion


def test_accepting_a_suggestion_merges_into_the_kept_customer(bob):
    # given
    first, second = CustomerFactory(), CustomerFactory()
    suggestion = _suggest(first, second)

    # when
    merge = customer_services.accept_suggestion(bob.actor, suggestion, keep=second)

    # then
    assert (merge.target_id, merge.source_id, merge.suggestion_id) == (second.pk, first.pk, suggestion.pk)
    suggestion.refresh_from_db()
    assert (suggestion.status, suggestion.decided_by) == ("merged", bob.user)
    assert suggestion.decided_at is not None


def test_undoing_an_accepted_suggestion_dismisses_it_for_good(bob):
    first, second = CustomerFactory(), CustomerFactory()
    suggestion = _suggest(first, second)
    merge = customer_services.accept_suggestion(bob.actor, suggestion, keep=first)

    customer_services.unmerge(bob.actor, merge)

    suggestion.refresh_from_db()
    assert suggestion.status == "dismissed"
    from cxloop.core.actor import Actor

    assert (
        customer_services.suggest_merge(Actor.system("test"), first, second, probability=1, source="staff", evidence={})
        is None
    )
    assert MergeSuggestion.objects.count() == 1


def test_the_kept_customer_must_be_one_of_the_pair(bob):
    first, second, stranger = CustomerFactory(), CustomerFactory(), CustomerFactory()
    suggestion = _suggest(first, second)

    with pytest.raises(MergeConflictError) as caught:
        customer_services.accept_suggestion(bob.actor, suggestion, keep=stranger)

    assert caught.value.fields == {"keep": "not in the pair"}
    assert Merge.objects.count() == 0
    suggestion.refresh_from_db()
    assert suggestion.status == "pending"


def test_a_decided_suggestion_cannot_be_decided_again(bob):
    first, second = CustomerFactory(), CustomerFactory()
    suggestion = _suggest(first, second)
    customer_services.dismiss_suggestion(bob.actor, suggestion)
    audit_count = AuditEntry.objects.count()

    with pytest.raises(ConflictError):
        customer_services.dismiss_suggestion(bob.actor, suggestion)
    with pytest.raises(ConflictError):
        customer_services.accept_suggestion(bob.actor, suggestion, keep=first)

    assert Merge.objects.count() == 0
    assert AuditEntry.objects.count() == audit_count


def test_dismissing_is_audited_and_needs_the_merge_permission(alice, bob):
    first, second = CustomerFactory(), CustomerFactory()
    suggestion = _suggest(first, second)

    with pytest.raises(PermissionDeniedError):
        customer_services.dismiss_suggestion(alice.actor, suggestion)
    customer_services.dismiss_suggestion(bob.actor, suggestion)

    entry = AuditEntry.objects.get(action="merge_suggestion.dismissed")
    assert (entry.object_id, entry.actor_label) == (suggestion.public_id, "bob")


# --- through the API ------------------------------------------------------------------------------------


def test_merge_and_unmerge_over_the_api(api, bob, pair):
    target, source = pair["target"], pair["source"]

    merged = api.post(f"/customers/{target.public_id}/merge", bob, {"source": source.public_id, "reason": "dup"})

    assert merged.status_code == 201, merged.content
    body = merged.json()
    assert (body["target"], body["source"]) == (target.public_id, source.public_id)
    assert body["moved"] == {"identities": 2, "interactions": 2, "threads": 1}
    assert body["undone_at"] is None
    history = api.get(f"/customers/{source.public_id}/merges", bob).json()
    assert [m["id"] for m in history] == [body["id"]]
    source_view = api.get(f"/customers/{source.public_id}", bob).json()
    assert (source_view["status"], source_view["merged_into"]) == ("merged", target.public_id)

    undone = api.post(f"/merges/{body['id']}/unmerge", bob, {"reason": "two people"})
    assert undone.status_code == 200, undone.content
    assert undone.json()["undone_at"] is not None

    again = api.post(f"/merges/{body['id']}/unmerge", bob, {})
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "merge_conflict"


@pytest.mark.parametrize(
    ("setup", "status", "code"),
    [
        ("self", 409, "merge_conflict"),
        ("merged_source", 409, "merge_conflict"),
        ("unknown_source", 404, "customer_not_found"),
    ],
)
def test_conflicting_merges_over_the_api_change_nothing(api, bob, setup, status, code):
    # given
    target, other = CustomerFactory(), CustomerFactory()
    if setup == "merged_source":
        customer_services.merge_customers(bob.actor, CustomerFactory(), other)
    source_id = {"self": target.public_id, "merged_source": other.public_id, "unknown_source": "cus_nope"}[setup]
    merges, audits = Merge.objects.count(), AuditEntry.objects.count()

    # when
    response = api.post(f"/customers/{target.public_id}/merge", bob, {"source": source_id})

    # then
    assert response.status_code == status
    assert response.json()["error"]["code"] == code
    assert (Merge.objects.count(), AuditEntry.objects.count()) == (merges, audits)


def test_an_agent_is_refused_merging_over_the_api(api, alice, pair):
    before = (_state(pair["target"]), _state(pair["source"]))

    response = api.post(f"/customers/{pair['target'].public_id}/merge", alice, {"source": pair["source"].public_id})

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"
    assert (_state(pair["target"]), _state(pair["source"])) == before


def test_deciding_suggestions_over_the_api(api, bob):
    # given
    first, second, third = CustomerFactory(), CustomerFactory(), CustomerFactory()
    keep_me = _suggest(first, second, probability=0.97)
    drop_me = _suggest(first, third, probability=0.91)
    listed = api.get("/merge-suggestions", bob).json()
    assert [s["id"] for s in listed["items"]] == [keep_me.public_id, drop_me.public_id]

    # when
    merged = api.post(
        f"/merge-suggestions/{keep_me.public_id}/decision", bob, {"action": "merge", "keep": second.public_id}
    )
    dismissed = api.post(f"/merge-suggestions/{drop_me.public_id}/decision", bob, {"action": "dismiss"})

    # then
    assert (merged.status_code, merged.json()["status"]) == (200, "merged")
    assert (dismissed.status_code, dismissed.json()["status"]) == (200, "dismissed")
    first.refresh_from_db()
    assert first.merged_into_id == second.pk
    assert api.get("/merge-suggestions", bob).json()["items"] == []


def test_both_customers_are_locked_in_id_order_whichever_way_round(bob):
    """Two merges of the same pair in opposite directions must take the row locks in one order (no deadlock)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    older, newer = CustomerFactory(), CustomerFactory()

    with CaptureQueriesContext(connection) as queries:
        customer_services.merge_customers(bob.actor, newer, older)

    locking = [
        q["sql"] for q in queries.captured_queries if "customers_customer" in q["sql"] and "FOR UPDATE" in q["sql"]
    ]
    if connection.features.has_select_for_update:
        assert len(locking) == 1
        assert 'ORDER BY "customers_customer"."id" ASC' in locking[0]
    else:  # SQLite takes one database-wide write lock instead (BEGIN IMMEDIATE)
        assert locking == []


def test_a_conversation_continued_after_the_merge_stays_whole_on_each_side_after_unmerge(alice, bob):
    # given: the source's e-mail thread, merged into the target, then continued there
    from cxloop.interactions import services as interaction_services
    from cxloop.interactions.types import InteractionInput

    target, source = CustomerFactory(), CustomerFactory()
    thread = ThreadFactory(customer=source, channel="email", subject="Refund", external_ref="<t1@mail>")
    early = InteractionFactory(customer=source, thread=thread, channel="email")
    merge = customer_services.merge_customers(bob.actor, target, source)
    target.refresh_from_db()
    later = interaction_services.record_interaction(
        alice.actor,
        target,
        InteractionInput(channel="email", direction="inbound", body="Any news?", thread_ref="<t1@mail>"),
    )
    assert later.thread_id == thread.pk  # the conversation went on in the same thread

    # when
    customer_services.unmerge(bob.actor, merge)

    # then: every message sits in a thread of its own customer
    early.refresh_from_db()
    later.refresh_from_db()
    assert (early.customer_id, early.thread.customer_id) == (source.pk, source.pk)
    assert (later.customer_id, later.thread.customer_id) == (target.pk, target.pk)
    assert later.thread.subject == "Refund"
    assert later.thread.external_ref == "<t1@mail>"
    assert later.thread.last_activity_at == later.occurred_at
    for message in Interaction.objects.select_related("thread"):
        assert message.thread is None or message.thread.customer_id == message.customer_id


def test_a_thread_both_profiles_had_continues_after_the_merge(alice, bob):
    # given: one conversation recorded on both duplicate profiles before anyone noticed
    from cxloop.interactions import services as interaction_services
    from cxloop.interactions.types import InteractionInput

    target, source = CustomerFactory(), CustomerFactory()
    mine = ThreadFactory(customer=target, channel="email", external_ref="<t1@mail>")
    theirs = ThreadFactory(customer=source, channel="email", external_ref="<t1@mail>")
    customer_services.merge_customers(bob.actor, target, source)
    target.refresh_from_db()

    # when: the conversation goes on
    reply = interaction_services.record_interaction(
        alice.actor,
        target,
        InteractionInput(channel="email", direction="inbound", body="Thanks", thread_ref="<t1@mail>"),
    )

    # then: it joins one of the two threads (the oldest), not an error
    assert reply.thread_id == min(mine.pk, theirs.pk)
    assert Thread.objects.filter(customer=target, external_ref="<t1@mail>").count() == 2
