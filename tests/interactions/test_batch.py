"""Batch ingest gives what ingest_interaction gives item by item, with a constant number of queries."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.db import transaction

from cxloop.core.actor import Actor
from cxloop.core.errors import CxloopError, PermissionDeniedError
from cxloop.customers import services as customer_services
from cxloop.customers.models import Customer, Identity, Merge, MergeSuggestion
from cxloop.customers.types import CustomerInput, IdentityInput
from cxloop.events import bus
from cxloop.interactions import services
from cxloop.interactions.models import Interaction, Thread
from cxloop.interactions.types import InboundItem, InteractionInput
from cxloop.privacy.models import AuditEntry

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def _email(value: str, **extra: Any) -> IdentityInput:
    return IdentityInput(kind="email", value=value, **extra)


def _phone(value: str) -> IdentityInput:
    return IdentityInput(kind="phone", value=value)


def _item(
    n: int,
    identities: list[IdentityInput],
    *,
    channel: str = "email",
    name: str = "",
    thread: str = "",
    country: str = "",
    **extra: Any,
) -> InboundItem:
    fields: dict[str, Any] = {
        "occurred_at": T0 + timedelta(hours=n),
        "body": f"Message number {n} about my order",
        "subject": f"Subject {n}",
        "thread_ref": thread,
        "external_id": f"ext-{n}",
        **extra,
    }
    data = InteractionInput(channel=channel, direction="inbound", **fields)
    return InboundItem(identities=identities, interaction=data, name=name, country=country)


def _seed(actor: Actor) -> None:
    """Customers that exist before the batch: ann (verified email), ben, and cat (no name)."""
    ann = customer_services.create_customer(
        actor,
        CustomerInput(
            name="Ann Smith",
            identities=[_email("ann@example.com", is_verified=True), _phone("+447700900001")],
        ),
    )
    customer_services.create_customer(
        actor, CustomerInput(name="Ben Jones", identities=[_email("ben@example.com", is_verified=True)])
    )
    customer_services.create_customer(actor, CustomerInput(identities=[_phone("07700 900003")]))
    # dee and eli were kept apart by staff; fay and gus await review at a low probability
    dee, eli, fay, gus = (
        customer_services.create_customer(actor, CustomerInput(name=n.title(), identities=[_email(f"{n}@example.com")]))
        for n in ("dee", "eli", "fay", "gus")
    )
    dismissed = customer_services.suggest_merge(actor, dee, eli, probability=0.8, source="splink", evidence={})
    assert dismissed is not None
    customer_services.dismiss_suggestion(Actor.system("staff"), dismissed)
    customer_services.suggest_merge(actor, fay, gus, probability=0.5, source="splink", evidence={"old": True})
    services.record_interaction(
        actor,
        ann,
        InteractionInput(
            channel="email", direction="inbound", occurred_at=T0, body="Earlier", thread_ref="t-ann", external_id="e-0"
        ),
    )


def _mixed_items() -> list[InboundItem]:
    return [
        _item(1, [_email("Dan@Example.com")], name="Dan  Jones", thread="t-dan"),  # new customer
        _item(2, [_email("dan@example.com"), _phone("07700 900004")], thread="t-dan"),  # same dan, new phone
        _item(3, [_phone("07700 900001")], channel="sms"),  # ann, national spelling
        _item(4, [_email("ann+shop@example.com")]),  # ann by sub-address: the new address is attached
        _item(5, [_email("not-an-email")]),  # invalid identity
        _item(6, [_phone("+44 7700 900003")], channel="phone", name="Cat Smith"),  # fills cat's name
        _item(7, [_email("ben@example.com"), _phone("07700900003")]),  # ben and cat: a merge suggestion
        _item(8, [_email("x@example.com")], channel="fax"),  # invalid interaction
        _item(9, [IdentityInput(kind="whatsapp", value="447700900005"), IdentityInput("social", "@Eve", network="X")]),
        _item(10, [IdentityInput("social", "eve", network="x")], channel="social", name="Ève"),  # eve, name filled
        _item(11, [_email("ann@example.com")], thread="t-ann"),  # ann's existing thread gets newer
        _item(12, [_phone("07700900004")], name="Daniel"),  # dan: name already set, not replaced
        _item(13, [_email("dan+news@example.com")]),  # dan by sub-address of an address made in this batch
        _item(14, [_email("dan@example.com"), _email("ann@example.com")]),  # dan (new) and ann: a suggestion
        _item(15, [_email("frank@example.com"), _email("FRANK@example.com")], channel="chat"),  # repeated key
        _item(16, []),  # no identity
        _item(17, [_email("gil@example.com")], summary="  "),  # body given, blank summary: summarised
        _item(18, [_email("dan@example.com")]),  # dan again, after the suggestion
        _item(19, [_email("dee@example.com"), _email("eli@example.com")]),  # dismissed pair: nothing new
        _item(20, [_email("gus@example.com"), _email("fay@example.com")]),  # pending pair: probability raised
        _item(21, [_email("fay@example.com"), _email("gus@example.com"), _phone("07700 900008")]),  # same again
        _item(22, [_email("ben@example.com"), _phone("07700900003")], name="B"),  # ben + cat once more: pending
        _item(23, [_email("zz@example.com")], country="ZZ"),  # no such country: refused
        _item(24, [_phone("(202) 555-0148")], country=" us "),  # read as a US number: a new customer, country US
    ]


# --- a picture of the database in which public ids are replaced by stable labels -------------------------
def _labels() -> dict[str, str]:
    labels: dict[str, str] = {}
    for customer in Customer.objects.prefetch_related("identities"):
        values = sorted(i.value for i in customer.identities.all()) or [customer.name]
        labels[customer.public_id] = "C<" + values[0] + ">"
    for identity in Identity.objects.all():
        labels[identity.public_id] = f"I<{identity.value}>"
    for interaction in Interaction.objects.all():
        labels[interaction.public_id] = f"N<{interaction.external_id}>"
    for suggestion in MergeSuggestion.objects.all():
        labels[suggestion.public_id] = (
            f"S<{labels[suggestion.customer_a.public_id]}+{labels[suggestion.customer_b.public_id]}>"
        )
    for thread in Thread.objects.all():
        labels[thread.public_id] = f"T<{thread.external_ref}>"
    for merge in Merge.objects.all():
        labels[merge.public_id] = f"M<{labels[merge.source.public_id]}>"
    return labels


def _relabel(value: Any, labels: dict[str, str]) -> Any:
    if isinstance(value, dict):
        return {_relabel(k, labels): _relabel(v, labels) for k, v in value.items()}
    if isinstance(value, list):
        return [_relabel(v, labels) for v in value]
    if isinstance(value, str):
        for public_id, label in labels.items():
            value = value.replace(public_id, label)
    return value


def _picture(events: list[bus.DomainEvent]) -> dict[str, Any]:
    labels = _labels()
    customers = sorted(
        (
            labels[c.public_id],
            c.name,
            c.search_name,
            c.country,
            c.status,
            tuple(
                sorted((i.kind, i.network, i.value, i.match_value, i.is_verified, i.source) for i in c.identities.all())
            ),
        )
        for c in Customer.objects.prefetch_related("identities")
    )
    interactions = sorted(
        (
            i.external_id,
            labels[i.customer.public_id],
            i.channel,
            i.direction,
            i.occurred_at,
            i.summary,
            i.body,
            i.thread.external_ref if i.thread else None,
        )
        for i in Interaction.objects.select_related("customer", "thread")
    )
    threads = sorted(
        (labels[t.customer.public_id], t.channel, t.external_ref, t.subject, t.last_activity_at)
        for t in Thread.objects.select_related("customer")
    )
    suggestions = sorted(
        (labels[s.public_id], s.probability, s.source, s.status, _relabel(s.evidence, labels))
        for s in MergeSuggestion.objects.select_related("customer_a", "customer_b")
    )
    audit = sorted(
        (a.action, a.object_type, labels.get(a.object_id, a.object_id), _relabel(a.summary, labels), a.actor_label)
        + (repr(_relabel(a.before, labels)), repr(_relabel(a.after, labels)))
        for a in AuditEntry.objects.all()
    )
    published = sorted(repr(_relabel(e.payload(), labels)) + e.name for e in events)
    return {
        "customers": customers,
        "interactions": interactions,
        "threads": threads,
        "suggestions": suggestions,
        "audit": audit,
        "events": published,
    }


def _outcome(result: services.ItemResult | tuple[Any, ...]) -> tuple[Any, ...]:
    labels = _labels()
    if isinstance(result, services.ItemResult):
        if result.error is not None:
            return ("error", result.error.code, result.error.fields)
        assert result.interaction is not None
        assert result.resolution is not None
        interaction, resolution = result.interaction, result.resolution
    else:
        interaction, resolution = result
    return (
        "ok",
        interaction.external_id,
        labels[resolution.customer.public_id],
        resolution.created,
        sorted(labels[s.public_id] for s in resolution.suggestions),
        len(resolution.merges),
    )


def _run_and_roll_back(
    capture: Any, actor: Actor, run: Callable[[], list[Any]]
) -> tuple[list[tuple[Any, ...]], dict[str, Any]]:
    """Seed, run, take the picture and the outcomes, then roll everything back for the other path."""
    events: list[bus.DomainEvent] = []
    with transaction.atomic():
        _seed(actor)
        with capture(execute=False) as callbacks:
            raw = run()
        bus.subscribe("*", events.append)
        try:
            for callback in callbacks:
                callback()
        finally:
            bus.unsubscribe("*", events.append)
        outcomes = [_outcome(r) for r in raw]
        picture = _picture(events)
        transaction.set_rollback(True)
    return outcomes, picture


def _one_by_one(actor: Actor, items: list[InboundItem]) -> list[Any]:
    results: list[Any] = []
    for index, item in enumerate(items):
        try:
            results.append(
                services.ingest_interaction(
                    actor, item.identities, item.interaction, name=item.name, country=item.country
                )
            )
        except CxloopError as exc:
            results.append(services.ItemResult(index=index, error=exc))
    return results


@pytest.mark.parametrize("auto_merge", [False, True], ids=["suggest", "auto-merge"])
def test_batch_matches_item_by_item(bob, settings, django_capture_on_commit_callbacks, auto_merge):
    # given: with auto-merge, the verified identities of ann and ben make item 7 variants merge
    settings.CXLOOP_AUTO_MERGE_VERIFIED = auto_merge
    items = _mixed_items()
    if auto_merge:
        items.append(_item(19, [_email("ann@example.com"), _email("ben@example.com")]))
        items.append(_item(20, [_email("ben@example.com")], thread="t-ann"))

    # when
    single_outcomes, single = _run_and_roll_back(
        django_capture_on_commit_callbacks, bob.actor, lambda: _one_by_one(bob.actor, items)
    )
    batch_outcomes, batch = _run_and_roll_back(
        django_capture_on_commit_callbacks, bob.actor, lambda: services.ingest_batch(bob.actor, items).items
    )

    # then
    assert batch_outcomes == single_outcomes
    assert batch == single
    assert len(single["suggestions"]) == 4
    splink = sorted(s[1:4] for s in single["suggestions"] if s[2] == "splink")
    assert splink == [(0.8, "splink", "dismissed"), (0.95, "splink", "pending")]
    assert sum(o[0] == "error" for o in single_outcomes) == 4
    assert any(o[-1] == 1 for o in single_outcomes) == auto_merge


def test_invalid_items_are_reported_and_the_rest_stored(alice):
    # given
    items = [
        _item(1, [_email("a1@example.com")]),
        _item(2, [_email("nope@")]),
        _item(3, [_phone("12")]),
        _item(4, [_email("a1@example.com")], channel="pigeon"),
        _item(5, [_email("a2@example.com")], external_id="x" * 256),
        InboundItem(
            identities=[_email("a3@example.com")], interaction=InteractionInput("email", "inbound"), country="GBR"
        ),
        _item(7, [_email("a3@example.com")]),
        _item(8, [_email("a1@example.com")], occurred_at=None, summary="no time given: now"),
    ]

    # when
    result = services.ingest_batch(alice.actor, items)

    # then
    assert [r.ok for r in result.items] == [True, False, False, False, False, False, True, True]
    assert (result.stored, result.failed) == (3, 5)
    fields = {r.index: r.error.fields for r in result.items if r.error is not None}
    assert fields == {
        1: {"identities[0].value": fields[1]["identities[0].value"]},
        2: {"identities[0].value": "too short to be a phone number"},
        3: {"channel": fields[3]["channel"]},
        4: {"external_id": "must be at most 255 characters"},
        5: {"body": "give a body or a summary"},
    }
    assert sorted(Identity.objects.values_list("value", flat=True)) == ["a1@example.com", "a3@example.com"]
    assert Customer.objects.count() == 2
    assert Interaction.objects.count() == 3
    assert result.items[7].resolution is not None
    assert result.items[7].resolution.created is False
    assert result.items[7].interaction is not None
    assert result.items[7].interaction.customer_id == result.items[0].interaction.customer_id  # type: ignore[union-attr]
    assert AuditEntry.objects.filter(action="interaction.recorded").count() == 3
    assert AuditEntry.objects.filter(action="customer.created").count() == 2


def test_bad_country_is_reported_not_stored(alice):
    item = InboundItem(
        identities=[_email("c@example.com")], interaction=InteractionInput("email", "inbound", body="hi"), country="GBR"
    )

    result = services.ingest_batch(alice.actor, [item, _item(2, [_email("d@example.com")])])

    assert result.items[0].error is not None
    assert list(result.items[0].error.fields) == ["country"]
    assert list(Identity.objects.values_list("value", flat=True)) == ["d@example.com"]


def test_repeated_new_identity_makes_one_customer(alice):
    items = [_item(n, [_email("Same@Example.com" if n % 2 else "same@example.COM")]) for n in range(6)]

    result = services.ingest_batch(alice.actor, items)

    assert result.stored == 6
    assert Customer.objects.count() == 1
    assert Identity.objects.count() == 1
    assert [r.resolution.created for r in result.items if r.resolution] == [True, False, False, False, False, False]
    assert Interaction.objects.filter(customer=Customer.objects.get()).count() == 6


def test_queries_are_per_batch_not_per_item(alice, django_assert_max_num_queries):
    # given: existing customers, then a batch of new, repeated and existing identities with threads
    _seed(alice.actor)
    items = [
        _item(n, [_email(f"person{n % 70}@example.com"), _phone(f"07700 91{n % 70:04d}")], thread=f"t{n % 70}")
        for n in range(200)
    ]
    items += [_item(300 + n, [_email("ann@example.com")], channel="chat") for n in range(50)]

    # when / then: item by item this takes 3,840 queries; bulk inserts split only at the driver's parameter limit
    with django_assert_max_num_queries(30):
        result = services.ingest_batch(alice.actor, items)
    assert result.stored == 250
    assert Customer.objects.count() == 7 + 70
    assert Thread.objects.count() == 1 + 70


def test_a_batch_with_refused_items_is_freed_without_the_garbage_collector(alice):
    # given: refused items, whose errors (and the errors they were raised from) are kept in the results
    items = [
        _item(1, [_email("a1@example.com")]),
        _item(2, [_email("nope@")]),
        _item(3, [_email("x@y.z")], channel="?"),
    ]
    gc.collect()
    gc.disable()
    try:
        # when
        result = services.ingest_batch(alice.actor, items)
        errors = [r.error for r in result.items if r.error is not None]
        stored = weakref.ref(result.items[0].interaction)  # type: ignore[arg-type]
        del result

        # then: reference counting alone frees the batch (no cycle through the errors' tracebacks)
        assert stored() is None
    finally:
        gc.enable()
    assert [list(e.fields) for e in errors] == [["identities[0].value"], ["channel"]]
    chained = [x for e in errors for x in (e, e.__cause__, e.__context__) if x is not None]
    assert len(chained) > len(errors)
    assert all(x.__traceback__ is None for x in chained)


def test_outsider_cannot_ingest(charlie):
    with pytest.raises(PermissionDeniedError):
        services.ingest_batch(charlie.actor, [_item(1, [_email("z@example.com")])])

    assert Customer.objects.count() == 0
    assert Interaction.objects.count() == 0


# --- POST /api/v1/interactions/batch ------------------------------------------------------------------
def _payload(n: int, **extra: Any) -> dict[str, Any]:
    return {
        "channel": "sms",
        "direction": "inbound",
        "body": f"text {n}",
        "identities": [{"kind": "phone", "value": f"07700 92{n:04d}"}],
        **extra,
    }


def test_api_reports_each_item(api, alice):
    # given: a good item, one the schema refuses, one the service refuses, and the first one's sender again
    body = {
        "items": [
            _payload(1, name="Pat"),
            _payload(2, identities=[{"kind": "fax", "value": "1"}]),
            _payload(3, identities=[{"kind": "email", "value": "no-at-sign"}]),
            _payload(1, channel="whatsapp"),
        ]
    }

    # when
    response = api.post("/interactions/batch", alice, body)

    # then
    assert response.status_code == 200, response.content
    answer = response.json()
    assert (answer["stored"], answer["failed"]) == (2, 2)
    first, schema_error, service_error, again = answer["items"]
    assert first["ok"] is True
    assert first["customer_created"] is True
    assert again["customer"] == first["customer"]
    assert again["customer_created"] is False
    assert list(schema_error["error"]["fields"]) == ["identities[0].kind"]
    assert service_error["error"]["code"] == "validation_error"
    assert list(service_error["error"]["fields"]) == ["identities[0].value"]
    assert [i["index"] for i in answer["items"]] == [0, 1, 2, 3]
    timeline = api.get(f"/customers/{first['customer']}/timeline", alice).json()
    assert sorted(i["id"] for i in timeline["items"]) == sorted([first["interaction"], again["interaction"]])


def test_api_caps_the_batch(api, alice):
    response = api.post("/interactions/batch", alice, {"items": [_payload(n) for n in range(1001)]})

    assert response.status_code == 422
    assert "items" in response.json()["error"]["fields"]
    assert Interaction.objects.count() == 0


def test_api_refuses_the_outsider(api, charlie):
    response = api.post("/interactions/batch", charlie, {"items": [_payload(1)]})

    assert response.status_code == 403
    assert Customer.objects.count() == 0
    assert Interaction.objects.count() == 0


def test_api_single_interaction_route_still_answers(api, alice):
    stored = api.post("/interactions/batch", alice, {"items": [_payload(1)]}).json()["items"][0]

    response = api.get(f"/interactions/{stored['interaction']}", alice)

    assert response.status_code == 200
    assert response.json()["customer"] == stored["customer"]
