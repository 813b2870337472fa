"""record_interactions leaves what record_interaction leaves entry by entry, with one statement per table."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.db import transaction

from cxloop.core.actor import Actor
from cxloop.core.errors import CxloopError
from cxloop.customers import services as customer_services
from cxloop.customers.models import Customer
from cxloop.customers.types import CustomerInput, IdentityInput
from cxloop.events import bus
from cxloop.interactions import services
from cxloop.interactions.bulk_recording import TimelineEntry, record_interactions
from cxloop.interactions.models import Interaction, Thread
from cxloop.interactions.types import InteractionInput
from cxloop.privacy.models import AuditEntry

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
AUTO = {"kind": "auto_reply"}  # an auto-reply does not reopen a conversation


def _data(n: int, direction: str = "outbound", **extra: Any) -> InteractionInput:
    fields: dict[str, Any] = {"channel": "email", "body": f"Message {n}", "subject": f"Subject {n}"}
    fields.update(external_id=f"ext-{n}", **extra)
    return InteractionInput(direction=direction, **fields)


def _seed(actor: Actor) -> dict[str, Any]:
    ann, ben, old = (
        customer_services.create_customer(
            actor, CustomerInput(name=name, identities=[IdentityInput(kind="email", value=f"{name}@example.com")])
        )
        for name in ("ann", "ben", "old")
    )
    customer_services.merge_customers(actor, ben, old)  # old lives on in ben
    services.record_interaction(actor, ann, _data(0, "inbound", occurred_at=T0, thread_ref="t-ann"))
    services.record_interaction(actor, ben, _data(100, "inbound", occurred_at=T0, thread_ref="t-ben"))
    old.refresh_from_db()
    return {
        "ann": ann,
        "ben": ben,
        "old": old,
        "t-ann": Thread.objects.get(external_ref="t-ann"),
        "t-ben": Thread.objects.get(external_ref="t-ben"),
    }


def _entries(world: dict[str, Any], agent: Actor, system: Actor, reader: Actor) -> list[TimelineEntry]:
    ann, ben, old, t_ann, t_ben = (world[k] for k in ("ann", "ben", "old", "t-ann", "t-ben"))
    return [
        TimelineEntry(agent, ann, _data(1, thread_ref="t-ann"), t_ann),  # an answer in ann's thread
        TimelineEntry(system, ann, _data(2, thread_ref="t-ann"), t_ann),  # the same thread again, automated
        TimelineEntry(agent, ben, _data(3), None),  # no thread
        TimelineEntry(agent, old, _data(4, thread_ref="t-ben"), t_ben),  # a merged profile: goes to ben
        TimelineEntry(agent, ann, _data(5, channel="fax"), None),  # refused: unknown channel
        TimelineEntry(reader, ann, _data(6), None),  # refused: may not write
        TimelineEntry(agent, ben, _data(7, thread_ref="t-new"), None),  # a thread_ref and no thread: single way
        TimelineEntry(system, ann, _data(8, "inbound", occurred_at=T0 + timedelta(hours=1)), t_ann),  # reopens
        TimelineEntry(agent, ben, _data(9, "inbound", occurred_at=T0 + timedelta(hours=2), metadata=AUTO), t_ben),
        TimelineEntry(agent, ann, _data(10, body="", summary="  "), None),  # refused: nothing said
        TimelineEntry(agent, ben, _data(11, "internal", channel="note"), t_ben),  # a note: thread unchanged
    ]


def _picture(events: list[bus.DomainEvent]) -> dict[str, Any]:
    labels = {c.public_id: f"C<{c.name}>" for c in Customer.objects.all()}
    labels.update({i.public_id: f"N<{i.external_id}>" for i in Interaction.objects.all()})
    labels.update({t.public_id: f"T<{t.external_ref}>" for t in Thread.objects.all()})

    def relabel(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: relabel(v) for k, v in value.items()}
        return labels.get(value, value) if isinstance(value, str) else value

    return {
        "interactions": sorted(
            (
                i.external_id,
                labels[i.customer.public_id],
                i.channel,
                i.direction,
                i.summary,
                i.body,
                i.subject if hasattr(i, "subject") else "",
                i.thread.external_ref if i.thread else None,
                i.case_ref,
                repr(i.metadata),
                i.created_by_id,
            )
            for i in Interaction.objects.select_related("customer", "thread")
        ),
        "threads": sorted(
            (t.external_ref, labels[t.customer.public_id], t.status, t.last_inbound_at, t.last_outbound_at is not None)
            for t in Thread.objects.select_related("customer")
        ),
        "audit": sorted(
            (a.action, relabel(a.object_id), a.summary, a.actor_label, a.actor_user_id, a.via, repr(relabel(a.after)))
            for a in AuditEntry.objects.filter(action="interaction.recorded")
        ),
        "events": sorted(e.name + repr(relabel(e.payload())) for e in events),
    }


def _outcome(result: Interaction | CxloopError) -> tuple[Any, ...]:
    if isinstance(result, CxloopError):
        return ("error", result.code, sorted(result.fields))
    return ("ok", result.external_id, result.customer.name)


def _run(capture: Any, members: tuple[Actor, Actor, Actor], run: Callable[[list[TimelineEntry]], list[Any]]) -> Any:
    agent, system, reader = members
    events: list[bus.DomainEvent] = []
    with transaction.atomic():
        world = _seed(system)
        with capture(execute=False) as callbacks:
            outcomes = [_outcome(r) for r in run(_entries(world, agent, system, reader))]
        bus.subscribe("*", events.append)
        try:
            for callback in callbacks:
                callback()
        finally:
            bus.unsubscribe("*", events.append)
        picture = _picture(events)
        transaction.set_rollback(True)
    return outcomes, picture


def _one_by_one(entries: list[TimelineEntry]) -> list[Interaction | CxloopError]:
    results: list[Interaction | CxloopError] = []
    for entry in entries:
        try:
            data = replace(entry.data)
            results.append(services.record_interaction(entry.actor, entry.customer, data, thread=entry.thread))
        except CxloopError as exc:
            results.append(exc)
    return results


def test_bulk_matches_one_by_one(alice, ada, django_capture_on_commit_callbacks):
    # given: an agent, the system and someone who may only read
    reader = Actor(user=ada.user, via="test", permissions=frozenset())
    members = (alice.actor, Actor.system("messaging"), reader)

    # when
    single_outcomes, single = _run(django_capture_on_commit_callbacks, members, _one_by_one)
    bulk_outcomes, bulk = _run(django_capture_on_commit_callbacks, members, record_interactions)

    # then
    assert bulk_outcomes == single_outcomes
    assert bulk == single
    assert [o[0] for o in single_outcomes].count("error") == 3
    assert ("ok", "ext-4", "ben") in single_outcomes  # the merged profile's entry is on its target
    threads = {t[0]: t for t in single["threads"]}
    assert threads["t-ann"][2] == "open"  # the customer's later message reopened it after the answers
    assert threads["t-ben"][2] == "waiting"  # an auto-reply does not reopen
    assert "t-new" in threads


@pytest.mark.django_db
def test_one_insert_per_table_for_many_entries(alice, django_assert_max_num_queries):
    # given
    customers = [
        customer_services.create_customer(alice.actor, CustomerInput(name=f"c{n}", identities=[])) for n in range(30)
    ]
    threads = [
        Thread.objects.create(customer=c, channel="email", external_ref=f"t{n}", last_activity_at=T0)
        for n, c in enumerate(customers)
    ]
    entries = [
        TimelineEntry(alice.actor, c, _data(n, thread_ref=f"t{n}"), t)
        for n, (c, t) in enumerate(zip(customers, threads, strict=True))
    ]

    # when: the interactions, the thread updates and the audit entries one statement each, and a savepoint
    with django_assert_max_num_queries(6):
        results = record_interactions(entries)

    # then
    assert all(isinstance(r, Interaction) for r in results)
    assert Interaction.objects.filter(direction="outbound").count() == 30
    assert set(Thread.objects.values_list("status", flat=True)) == {"waiting"}
