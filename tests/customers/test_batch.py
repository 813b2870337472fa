"""Batch identity resolution: the answers of resolve_customer, request by request, from bulk reads and writes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.db import transaction

from cxloop.core import clock
from cxloop.core.actor import Actor
from cxloop.core.errors import PermissionDeniedError, ValidationError
from cxloop.customers import services
from cxloop.customers.models import Customer, Identity, MergeSuggestion
from cxloop.customers.services import PreparedResolution, prepare_resolution, resolve_batch
from cxloop.customers.types import CustomerInput, IdentityInput
from cxloop.privacy.models import AuditEntry


def _email(value: str, **extra: Any) -> IdentityInput:
    return IdentityInput(kind="email", value=value, **extra)


def _phone(value: str, region: str | None = None) -> IdentityInput:
    return IdentityInput(kind="phone", value=value, region=region)


def _request(*identities: IdentityInput, name: str = "", country: str = "") -> dict[str, Any]:
    return {"identities": list(identities), "name": name, "country": country, "source": "sms"}


def _seed(actor: Actor) -> None:
    services.create_customer(actor, CustomerInput(name="Ann", identities=[_email("ann@example.com")]))
    services.create_customer(actor, CustomerInput(identities=[_phone("+15550100200")]))


REQUESTS = [
    _request(_email("New@Example.com"), name=" Nia   Obi "),  # new
    _request(_email("new@example.com"), _phone("020 7946 0001"), country="gb"),  # same, phone attached
    _request(_phone("(555) 010-0200", region="US"), name="Uma"),  # existing without name: filled
    _request(_email("ann+promo@example.com")),  # ann by sub-address
    _request(_email("new+x@example.com"), _email("NEW+X@example.com")),  # nia by sub-address, repeated key
    _request(IdentityInput("external", "A-1", network="Shopify"), name="Ext"),  # new
    _request(IdentityInput("external", "A-1", network="shopify")),  # same
    _request(_email("ann@example.com"), _phone("+15550100200"), _email("zed@example.com")),  # two: a suggestion
    _request(_email("zed@example.com"), name="Zed"),  # found on the primary of the one before
]


def _state() -> list[tuple[Any, ...]]:
    rows = []
    for customer in Customer.objects.prefetch_related("identities").order_by("id"):
        identities = sorted((i.kind, i.network, i.value, i.match_value, i.source) for i in customer.identities.all())
        rows.append((customer.name, customer.search_name, customer.country, tuple(identities)))
    return rows


def _created_audit() -> list[dict[str, Any]]:
    entries = AuditEntry.objects.filter(action="customer.created", summary="Created from sms").order_by("id")
    cleaned = []
    for entry in entries:
        after = dict(entry.after or {})
        after.pop("id")
        after["identities"] = [{k: v for k, v in i.items() if k != "id"} for i in after["identities"]]
        cleaned.append(after)
    return cleaned


def _summary(resolutions: list[services.Resolution]) -> list[tuple[Any, ...]]:
    return [(r.customer.name, r.created, sorted(i.value for i in r.matched), len(r.suggestions)) for r in resolutions]


def _roll_back(run: Any) -> tuple[Any, ...]:
    with transaction.atomic():
        outcome = run()
        transaction.set_rollback(True)
    return outcome


def test_batch_resolves_as_one_by_one(alice):
    # given
    _seed(alice.actor)

    def one_by_one() -> tuple[Any, ...]:
        resolutions = [services.resolve_customer(alice.actor, **r) for r in REQUESTS]
        return _summary(resolutions), _state(), _created_audit()

    def batched() -> tuple[Any, ...]:
        resolutions = resolve_batch(alice.actor, [prepare_resolution(**r) for r in REQUESTS])
        return _summary(resolutions), _state(), _created_audit()

    # when
    expected = _roll_back(one_by_one)
    actual = _roll_back(batched)

    # then
    assert actual == expected
    summary, state, audit = actual
    assert [created for _, created, _, _ in summary] == [True, False, False, False, False, True, False, False, False]
    assert [suggestions for _, _, _, suggestions in summary] == [0, 0, 0, 0, 0, 0, 0, 1, 0]
    assert state[1][0] == "Uma"
    assert state[2][3] == (
        ("email", "", "new+x@example.com", "new@example.com", "sms"),
        ("email", "", "new@example.com", "new@example.com", "sms"),
        ("phone", "", "+442079460001", "+442079460001", "sms"),
    )
    assert len(audit) == 2


def test_request_matching_two_customers_gets_a_suggestion_and_the_batch_goes_on(alice):
    # given: a customer without a name (the older, so the primary) and ann
    services.create_customer(alice.actor, CustomerInput(identities=[_phone("+15550100200")]))
    services.create_customer(alice.actor, CustomerInput(name="Ann", identities=[_email("ann@example.com")]))
    requests = [
        prepare_resolution([_email("b@example.com")]),
        prepare_resolution([_phone("+15550100200"), _email("ann@example.com"), _email("zed@example.com")], name="Zed"),
        prepare_resolution([_email("zed@example.com")], name="Other"),
        prepare_resolution([_email("b@example.com"), _email("zed@example.com")]),
    ]

    # when
    results = resolve_batch(alice.actor, requests)

    # then: the second request went through resolve_customer; what it changed is seen by the ones after it
    assert len(results) == 4
    first, both, zed, again = results
    assert isinstance(first, services.Resolution)
    assert isinstance(both, services.Resolution)
    assert isinstance(zed, services.Resolution)
    assert isinstance(again, services.Resolution)
    assert len(both.suggestions) == 1
    assert both.customer.name == "Zed"
    assert zed.customer.pk == both.customer.pk
    assert zed.customer.name == "Zed"
    assert Customer.objects.get(pk=both.customer.pk).name == "Zed"
    assert len(again.suggestions) == 1
    assert {again.suggestions[0].customer_a_id, again.suggestions[0].customer_b_id} == {
        first.customer.pk,
        both.customer.pk,
    }


def test_stops_before_a_possible_merge_when_auto_merge_is_on(alice, settings):
    # given
    settings.CXLOOP_AUTO_MERGE_VERIFIED = True
    _seed(alice.actor)
    requests = [
        prepare_resolution([_email("b@example.com")]),
        prepare_resolution([_email("ann@example.com"), _phone("+15550100200")]),
        prepare_resolution([_email("c@example.com")]),
    ]

    # when
    results = resolve_batch(alice.actor, requests)

    # then: the first is written; the two-customer request and the rest are left to the caller
    assert len(results) == 1
    assert isinstance(results[0], services.Resolution)
    assert results[0].customer.pk is not None
    assert sorted(Identity.objects.values_list("value", flat=True)) == [
        "+15550100200",
        "ann@example.com",
        "b@example.com",
    ]


def test_two_customers_made_in_the_batch_get_a_suggestion(alice):
    requests = [
        prepare_resolution([_email("p@example.com")]),
        prepare_resolution([_email("q@example.com")]),
        prepare_resolution([_email("p@example.com"), _email("q@example.com")]),
    ]

    results = resolve_batch(alice.actor, requests)

    assert [r.created for r in results if isinstance(r, services.Resolution)] == [True, True, False]
    assert Customer.objects.count() == 2
    assert MergeSuggestion.objects.count() == 1


def test_prepare_refuses_what_resolve_customer_refuses(alice):
    with pytest.raises(ValidationError) as empty:
        prepare_resolution([])
    with pytest.raises(ValidationError) as phone:
        prepare_resolution([_email("ok@example.com"), _phone("12")])
    with pytest.raises(ValidationError) as country:
        prepare_resolution([_email("ok@example.com")], country="GBR")

    assert empty.value.fields == {"identities": "must not be empty"}
    assert list(phone.value.fields) == ["identities[1].value"]
    with pytest.raises(ValidationError) as unknown:
        prepare_resolution([_email("ok@example.com")], country="ZZ")
    with pytest.raises(ValidationError) as single:
        services.resolve_customer(alice.actor, [_email("ok@example.com")], country="ZZ")
    assert list(country.value.fields) == ["country"]
    assert unknown.value.fields == single.value.fields


def test_reads_are_per_batch_not_per_request(alice, django_assert_max_num_queries):
    # given
    _seed(alice.actor)
    requests: list[PreparedResolution] = [
        prepare_resolution([_email(f"u{n % 40}@example.com"), _phone(f"+1555010{n % 40:04d}")]) for n in range(300)
    ]

    # when / then: 3 reads (emails, phones, customers), 3 writes, the savepoint pair; no query per request
    with django_assert_max_num_queries(12):
        resolutions = resolve_batch(alice.actor, requests)
    assert len(resolutions) == 300
    assert Customer.objects.count() == 2 + 40
    assert Identity.objects.count() == 2 + 80


def test_needs_edit_permission(charlie):
    with pytest.raises(PermissionDeniedError):
        resolve_batch(charlie.actor, [prepare_resolution([_email("x@example.com")])])

    assert Customer.objects.count() == 0


KNOWN = [
    _request(_email("ann@example.com")),  # one known identity
    _request(_email("ANN@example.com"), _email("ann@example.com"), name="Other"),  # one key given twice; has a name
    _request(_phone("(555) 010-0200", region="US"), name="Uma"),  # known, no name yet: filled
    _request(_phone("+15550100200"), name="Later"),  # named by the request before: kept
    _request(_email("new@example.com"), name="Nia"),  # new
    _request(_email("new@example.com")),  # known: made by a request of this batch
    _request(_email("new@example.com"), _phone("+15550100200")),  # all known, two customers: a suggestion
    _request(_email("ann@example.com"), _email("ann2@example.com")),  # one known, one to attach
]


def test_requests_of_known_identities_resolve_as_one_by_one(alice):
    # given: ann, and a customer with a phone and no name, both last seen yesterday
    _seed(alice.actor)
    Identity.objects.update(last_seen_at=clock.now() - timedelta(days=1))
    seen_before = dict(Identity.objects.values_list("value", "last_seen_at"))
    customers, identities = (
        set(Customer.objects.values_list("pk", flat=True)),
        set(Identity.objects.values_list("pk", flat=True)),
    )

    def key(pk: int, saved: set[int]) -> int | str:  # rows made by a run: keys differ between runs on PostgreSQL
        return pk if pk in saved else "new"

    def outcome(resolutions: list[Any]) -> tuple[Any, ...]:
        summary = [
            (
                key(r.customer.pk, customers),
                r.customer.name,
                r.created,
                [(key(i.pk, identities), i.value) for i in r.matched],
                len(r.suggestions),
            )
            for r in resolutions
        ]
        touched = sorted(
            v for v, at in Identity.objects.values_list("value", "last_seen_at") if at != seen_before.get(v)
        )
        return summary, _state(), touched, MergeSuggestion.objects.count()

    def one_by_one() -> tuple[Any, ...]:
        return outcome([services.resolve_customer(alice.actor, **r) for r in KNOWN])

    def batched() -> tuple[Any, ...]:
        return outcome(resolve_batch(alice.actor, [prepare_resolution(**r) for r in KNOWN]))

    # when
    expected = _roll_back(one_by_one)
    actual = _roll_back(batched)

    # then
    assert actual == expected
    summary, state, touched, suggestions = actual
    ann, uma = Customer.objects.order_by("pk").values_list("pk", flat=True)
    assert [(pk, name, created) for pk, name, created, _, _ in summary][:4] == [
        (ann, "Ann", False),
        (ann, "Ann", False),
        (uma, "Uma", False),
        (uma, "Uma", False),
    ]
    assert [value for _, value in summary[1][3]] == ["ann@example.com", "ann@example.com"]
    assert [s for *_, s in summary] == [0, 0, 0, 0, 0, 0, 1, 0]
    assert touched == ["+15550100200", "ann2@example.com", "ann@example.com", "new@example.com"]
    assert suggestions == 1


NOW = datetime(2026, 5, 4, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("last_seen", "expected"),
    [
        (NOW - timedelta(minutes=9), NOW - timedelta(minutes=9)),  # seen within the resolution: kept
        (NOW - timedelta(minutes=11), NOW),  # older: rewritten
        (None, NOW),  # never: written
    ],
)
def test_last_seen_is_rewritten_only_when_older_than_its_resolution(alice, monkeypatch, last_seen, expected):
    # given: ann, last seen at `last_seen`; the clock at NOW
    _seed(alice.actor)
    Identity.objects.filter(value="ann@example.com").update(last_seen_at=last_seen)
    monkeypatch.setattr(clock, "now", lambda: NOW)

    def seen_after(run: Any) -> Any:
        def step() -> Any:
            run()
            return Identity.objects.get(value="ann@example.com").last_seen_at

        return _roll_back(step)

    # when: the same request item by item and in a batch
    one = seen_after(lambda: services.resolve_customer(alice.actor, **_request(_email("ann@example.com"))))
    batch = seen_after(lambda: resolve_batch(alice.actor, [prepare_resolution(**_request(_email("ann@example.com")))]))

    # then
    assert (one, batch) == (expected, expected)
