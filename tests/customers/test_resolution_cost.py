"""What identity resolution costs in statements on the paths every inbound message takes, with the same results."""

from __future__ import annotations

import re

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from cxloop.customers import services as customer_services
from cxloop.customers.models import Customer, Identity
from cxloop.customers.services.snapshots import customer_snapshot
from cxloop.customers.types import IdentityInput
from cxloop.privacy.models import AuditEntry
from tests.customers.factories import CustomerFactory, IdentityFactory

pytestmark = pytest.mark.django_db


def _statements(queries: CaptureQueriesContext) -> list[str]:
    # An executemany is captured as "N times: UPDATE …"
    return [re.sub(r"^\d+ times: ", "", q["sql"]).split(None, 1)[0].upper() for q in queries.captured_queries]


def test_a_returning_sender_is_two_plain_reads_and_one_update_inside_the_callers_transaction(alice):
    customer = CustomerFactory(name="Ann", attributes={"plan": "gold", "seats": 3})
    known = IdentityFactory(value="ann@example.com", customer=customer, is_verified=True)

    with transaction.atomic(), CaptureQueriesContext(connection) as queries:
        result = customer_services.resolve_customer(alice.actor, [IdentityInput(kind="email", value="Ann@Example.com")])

    assert (result.customer, result.created, result.matched) == (known.customer, False, [known])
    assert (result.suggestions, result.merges) == ([], [])
    # the identity, its customer, last seen: no savepoint
    assert _statements(queries) == ["SELECT", "SELECT", "UPDATE"]

    # loaded whole, with the values converted as the ORM converts them (JSON, booleans, timestamps)
    def fields(obj):
        return {f.attname: getattr(obj, f.attname) for f in type(obj)._meta.concrete_fields}

    assert fields(result.customer) == fields(Customer.objects.get(pk=customer.pk))
    assert fields(result.matched[0]) == fields(Identity.objects.get(pk=known.pk)) | {"last_seen_at": None}
    assert result.matched[0].customer is result.customer
    known.refresh_from_db()
    assert known.last_seen_at is not None


def test_a_returning_sender_without_a_name_on_file_gets_the_one_given(alice):
    IdentityFactory(value="ann@example.com", customer=CustomerFactory(name="", search_name=""))

    result = customer_services.resolve_customer(
        alice.actor, [IdentityInput(kind="email", value="ann@example.com")], name="  Ann   Lee "
    )

    stored = Customer.objects.get(pk=result.customer.pk)
    assert (stored.name, stored.search_name) == ("Ann Lee", "ann lee")


def test_a_known_identity_with_a_new_one_still_takes_the_full_path_and_adds_it(alice):
    known = IdentityFactory(value="ann@example.com")

    result = customer_services.resolve_customer(
        alice.actor,
        [IdentityInput(kind="email", value="ann@example.com"), IdentityInput(kind="email", value="ann@work.example")],
    )

    assert result.customer == known.customer
    assert sorted(known.customer.identities.values_list("value", flat=True)) == ["ann@example.com", "ann@work.example"]
    assert AuditEntry.objects.filter(action="identity.added", object_id=known.customer.public_id).count() == 1


def test_a_new_customers_audit_entry_is_the_snapshot_read_back_from_the_database(alice):
    result = customer_services.resolve_customer(
        alice.actor,
        [IdentityInput(kind="email", value="ann@example.com"), IdentityInput(kind="phone", value="+44 7700 900123")],
        name="Ann",
    )

    entry = AuditEntry.objects.get(action="customer.created")
    assert entry.after == customer_snapshot(Customer.objects.get(pk=result.customer.pk))
    assert [i["value"] for i in entry.after["identities"]] == list(
        Identity.objects.filter(customer=result.customer).order_by("id").values_list("value", flat=True)
    )
