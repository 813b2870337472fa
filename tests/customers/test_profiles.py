"""Customer profiles: creating, changing and deleting them, with validation, audit and events."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from cxloop.core.errors import PermissionDeniedError, ValidationError
from cxloop.customers import services as customer_services
from cxloop.customers.errors import CustomerMergedError, IdentityTakenError
from cxloop.customers.models import Customer, Identity, Tag
from cxloop.customers.types import CustomerInput, IdentityInput
from cxloop.events import bus
from cxloop.interactions.models import Interaction
from cxloop.privacy.models import AuditEntry
from tests.customers.factories import CustomerFactory, IdentityFactory
from tests.interactions.factories import InteractionFactory


@pytest.fixture
def received() -> Iterator[list[bus.DomainEvent]]:
    events: list[bus.DomainEvent] = []
    bus.subscribe("*", events.append)
    yield events
    bus.unsubscribe("*", events.append)


def _customer_audit() -> list[tuple[str, str]]:
    return list(AuditEntry.objects.filter(object_type="customer").order_by("id").values_list("action", "object_id"))


def test_create_normalises_every_field(alice, received, django_capture_on_commit_callbacks):
    # when
    with django_capture_on_commit_callbacks(execute=True):
        customer = customer_services.create_customer(
            alice.actor,
            CustomerInput(
                name="  José \t Núñez ",
                country=" es",
                locale="pt_BR",
                time_zone="Europe/Madrid",
                lifecycle_stage="customer",
                identities=[IdentityInput(kind="phone", value="612 34 56 78", is_verified=True)],
                tags=["  VIP ", "vip", "Spring  Sale"],
            ),
        )

    # then
    customer.refresh_from_db()
    assert (customer.name, customer.search_name, customer.country, customer.locale, customer.time_zone) == (
        "José Núñez",
        "jose nunez",
        "ES",
        "pt-BR",
        "Europe/Madrid",
    )
    assert customer.lifecycle_stage == "customer"
    assert sorted(customer.tags.values_list("name", flat=True)) == ["spring sale", "vip"]
    phone = customer.identities.get()
    assert (phone.value, phone.is_verified, phone.source) == ("+34612345678", True, "staff")
    assert _customer_audit() == [("customer.created", customer.public_id)]
    entry = AuditEntry.objects.get(action="customer.created")
    assert entry.actor_label == "alice"
    assert entry.before is None
    assert entry.after["tags"] == ["spring sale", "vip"]
    assert [(e.name, e.customer_id, e.source) for e in received] == [("customer.created", customer.public_id, "staff")]


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("country", "XX", "must be an ISO 3166 two-letter country code, e.g. GB or US"),
        ("country", "UK", "must be an ISO 3166 two-letter country code, e.g. GB or US"),
        ("locale", "english", "must be a language tag such as en, en-GB or pt_BR"),
        ("locale", "EN", "must be a language tag such as en, en-GB or pt_BR"),
        ("time_zone", "Mars/Olympus", "must be an IANA time zone such as Europe/London"),
        ("time_zone", "europe/london", "must be an IANA time zone such as Europe/London"),
        ("lifecycle_stage", "vip", "must be one of lead, prospect, customer, loyal, at_risk, churned"),
        ("name", "x" * 201, "must be at most 200 characters"),
    ],
)
def test_an_invalid_profile_field_is_refused_and_nothing_is_written(alice, field, value, reason):
    with pytest.raises(ValidationError) as caught:
        customer_services.create_customer(
            alice.actor,
            CustomerInput(**{"name": "Ann", field: value}, identities=[IdentityInput(kind="email", value="a@b.com")]),
        )

    assert caught.value.fields == {field: reason}
    assert Customer.objects.count() == 0
    assert Identity.objects.count() == 0
    assert _customer_audit() == []


@pytest.mark.parametrize("tag", ["", "   ", "#vip", "x" * 51, "-vip", "a\nb" * 30])
def test_an_invalid_tag_is_refused_naming_its_position(alice, tag):
    with pytest.raises(ValidationError) as caught:
        customer_services.create_customer(alice.actor, CustomerInput(name="Ann", tags=["ok", tag]))

    assert list(caught.value.fields) == ["tags[1]"]
    assert Customer.objects.count() == 0
    assert Tag.objects.count() == 0


def test_every_invalid_field_is_reported_at_once(api, alice):
    response = api.post("/customers", alice, {"country": "XX", "locale": "english", "time_zone": "Nowhere"})

    assert response.status_code == 422
    assert set(response.json()["error"]["fields"]) == {"country", "locale", "time_zone"}
    assert Customer.objects.count() == 0


def test_creating_with_someone_elses_identity_is_a_conflict_and_writes_nothing(alice):
    owner = IdentityFactory(value="ann@example.com").customer

    with pytest.raises(IdentityTakenError) as caught:
        customer_services.create_customer(
            alice.actor,
            CustomerInput(
                name="Ann",
                identities=[
                    IdentityInput(kind="email", value="new@example.com"),
                    IdentityInput(kind="email", value="ANN@example.com"),
                ],
            ),
        )

    assert caught.value.status == 409
    assert caught.value.fields == {"identities[1].value": f"already belongs to {owner.public_id}"}
    assert list(Customer.objects.values_list("pk", flat=True)) == [owner.pk]
    assert not Identity.objects.filter(value="new@example.com").exists()


def test_the_same_identity_twice_in_one_request_is_stored_once(alice):
    customer = customer_services.create_customer(
        alice.actor,
        CustomerInput(
            identities=[
                IdentityInput(kind="phone", value="+44 7700 900123"),
                IdentityInput(kind="phone", value="07700900123", region="GB"),
            ]
        ),
    )

    assert list(customer.identities.values_list("value", flat=True)) == ["+447700900123"]


def test_national_phone_numbers_are_read_in_the_customers_country(alice):
    customer = customer_services.create_customer(
        alice.actor,
        CustomerInput(
            country="US",
            identities=[
                IdentityInput(kind="phone", value="(202) 555-0143"),
                IdentityInput(kind="whatsapp", value="020 7946 0018", region="GB"),
            ],
        ),
    )

    assert sorted(customer.identities.values_list("value", flat=True)) == ["+12025550143", "+442079460018"]


def test_a_read_only_actor_cannot_create(charlie):
    with pytest.raises(PermissionDeniedError):
        customer_services.create_customer(charlie.actor, CustomerInput(name="Ann"))

    assert Customer.objects.count() == 0


# --- updates ----------------------------------------------------------------------------------------------


def test_update_audits_only_the_fields_that_changed(alice, received, django_capture_on_commit_callbacks):
    # given
    customer = CustomerFactory(name="Ann", country="GB", locale="en-GB", tags=["vip"])

    # when
    with django_capture_on_commit_callbacks(execute=True):
        customer_services.update_customer(
            alice.actor,
            customer,
            {
                "name": "Ann Lee",
                "country": "gb",
                "locale": "en-GB",
                "tags": ["VIP", "press"],
                "lifecycle_stage": "loyal",
            },
        )

    # then
    customer.refresh_from_db()
    assert (customer.name, customer.search_name, customer.lifecycle_stage) == ("Ann Lee", "ann lee", "loyal")
    entry = AuditEntry.objects.get(action="customer.updated")
    assert entry.before == {"name": "Ann", "lifecycle_stage": "lead", "tags": ["vip"]}
    assert entry.after == {"name": "Ann Lee", "lifecycle_stage": "loyal", "tags": ["press", "vip"]}
    assert entry.summary == "Changed name, lifecycle_stage, tags"
    assert [(e.name, e.changed) for e in received] == [("customer.updated", ["name", "lifecycle_stage", "tags"])]


def test_an_update_that_changes_nothing_is_not_audited(alice, received, django_capture_on_commit_callbacks):
    customer = CustomerFactory(name="Ann", country="GB", tags=["vip"])

    with django_capture_on_commit_callbacks(execute=True):
        customer_services.update_customer(alice.actor, customer, {"name": " Ann ", "country": "gb", "tags": ["VIP"]})

    assert not AuditEntry.objects.filter(action="customer.updated").exists()
    assert received == []


def test_blank_values_clear_fields_and_an_empty_tag_list_clears_tags(alice):
    customer = CustomerFactory(name="Ann", country="GB", time_zone="Europe/London", tags=["vip"])

    customer_services.update_customer(alice.actor, customer, {"country": None, "time_zone": "", "tags": []})

    customer.refresh_from_db()
    assert (customer.name, customer.country, customer.time_zone) == ("Ann", "", "")
    assert customer.tags.count() == 0


def test_an_invalid_update_changes_nothing(alice):
    customer = CustomerFactory(name="Ann", country="GB")

    with pytest.raises(ValidationError) as caught:
        customer_services.update_customer(alice.actor, customer, {"name": "Bea", "country": "XX", "tags": ["ok"]})

    assert list(caught.value.fields) == ["country"]
    customer.refresh_from_db()
    assert (customer.name, customer.country, customer.tags.count()) == ("Ann", "GB", 0)
    assert _customer_audit() == []


def test_a_merged_customer_cannot_be_changed(alice, bob):
    target, source = CustomerFactory(), CustomerFactory(name="Old")
    customer_services.merge_customers(bob.actor, target, source)

    with pytest.raises(CustomerMergedError) as caught:
        customer_services.update_customer(alice.actor, source, {"name": "New"})
    with pytest.raises(CustomerMergedError):
        customer_services.add_identity(alice.actor, source, IdentityInput(kind="email", value="x@example.com"))

    assert caught.value.status == 409
    assert target.public_id in caught.value.message
    source.refresh_from_db()
    assert source.name == "Old"
    assert source.identities.count() == 0


def test_update_over_the_api_answers_the_new_profile(api, alice):
    created = api.post("/customers", alice, {"name": "Ann"}).json()

    response = api.patch(f"/customers/{created['id']}", alice, {"country": "fr", "time_zone": "Europe/Paris"})

    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["name"], body["country"], body["time_zone"]) == ("Ann", "FR", "Europe/Paris")
    assert body["updated_at"] >= created["updated_at"]


def test_an_outsider_cannot_update_over_the_api(api, charlie):
    customer = CustomerFactory(name="Ann")

    response = api.patch(f"/customers/{customer.public_id}", charlie, {"name": "Mallory"})

    assert response.status_code == 403
    customer.refresh_from_db()
    assert customer.name == "Ann"
    assert not AuditEntry.objects.filter(object_type="customer").exists()


# --- identities -------------------------------------------------------------------------------------------


def test_adding_verifying_and_removing_identities_is_audited(api, alice, received, django_capture_on_commit_callbacks):
    # given
    customer = CustomerFactory(country="GB")
    base = f"/customers/{customer.public_id}/identities"

    # when
    with django_capture_on_commit_callbacks(execute=True):
        added = api.post(base, alice, {"kind": "phone", "value": "07700 900123"}).json()
        verified = api.patch(f"{base}/{added['id']}", alice, {"is_verified": True}).json()
        api.patch(f"{base}/{added['id']}", alice, {"is_verified": True})  # no change: no entry
        removed = api.delete(f"{base}/{added['id']}", alice)

    # then
    assert (added["value"], added["source"], verified["is_verified"], removed.status_code) == (
        "+447700900123",
        "api",
        True,
        204,
    )
    entries = AuditEntry.objects.filter(object_id=customer.public_id).order_by("id")
    assert [e.action for e in entries] == ["identity.added", "identity.verified", "identity.removed"]
    assert entries[1].before["is_verified"] is False
    assert entries[1].after["is_verified"] is True
    assert entries[2].before["value"] == "+447700900123"
    assert [e.name for e in received] == ["identity.added", "identity.removed"]
    assert customer.identities.count() == 0


def test_adding_an_identity_someone_else_has_is_409(api, alice):
    owner = IdentityFactory(value="ann@example.com").customer
    customer = CustomerFactory()

    response = api.post(
        f"/customers/{customer.public_id}/identities", alice, {"kind": "email", "value": "Ann@Example.com"}
    )

    assert response.status_code == 409
    assert response.json()["error"] == {
        "code": "identity_taken",
        "message": f"The email ann@example.com belongs to customer {owner.public_id}.",
        "fields": {"value": f"already belongs to {owner.public_id}"},
    }
    assert customer.identities.count() == 0


def test_adding_an_identity_the_customer_has_returns_it_unchanged(alice):
    existing = IdentityFactory(value="ann@example.com")

    again = customer_services.add_identity(
        alice.actor, existing.customer, IdentityInput(kind="email", value="ANN@example.com")
    )

    assert again.pk == existing.pk
    assert not AuditEntry.objects.filter(action="identity.added").exists()


# --- deletion -----------------------------------------------------------------------------------------------


def test_a_supervisor_deletes_a_customer_with_its_timeline(api, bob, received, django_capture_on_commit_callbacks):
    # given
    customer = CustomerFactory(name="Ann")
    IdentityFactory(customer=customer, value="ann@example.com")
    InteractionFactory(customer=customer)

    # when
    with django_capture_on_commit_callbacks(execute=True):
        response = api.delete(f"/customers/{customer.public_id}", bob)

    # then
    assert response.status_code == 204
    assert not Customer.objects.filter(pk=customer.pk).exists()
    assert Identity.objects.count() == 0
    assert Interaction.objects.count() == 0
    entry = AuditEntry.objects.get(action="customer.deleted")
    assert (entry.object_id, entry.via, entry.after) == (customer.public_id, "api", None)
    assert entry.actor_label == f"bob (token {entry.actor_token.prefix})"
    assert entry.before["identities"][0]["value"] == "ann@example.com"
    assert [(e.name, e.customer_id) for e in received] == [("customer.deleted", customer.public_id)]
    assert api.get(f"/customers/{customer.public_id}", bob).status_code == 404


def test_an_agent_cannot_delete(api, alice):
    customer = CustomerFactory()

    response = api.delete(f"/customers/{customer.public_id}", alice)

    assert response.status_code == 403
    assert Customer.objects.filter(pk=customer.pk).exists()
    assert not AuditEntry.objects.filter(action="customer.deleted").exists()


def test_deleting_a_customer_deletes_the_profiles_merged_into_it(bob, received, django_capture_on_commit_callbacks):
    """The profiles merged into a customer are the same person: erasing one must not keep the others hidden."""
    # given: older -> middle -> kept, and a bystander
    kept, middle, older, bystander = (
        CustomerFactory(name="Ann"),
        CustomerFactory(name="A. Lee"),
        CustomerFactory(name="Ann L", attributes={}),
        CustomerFactory(),
    )
    customer_services.merge_customers(bob.actor, middle, older)
    customer_services.merge_customers(bob.actor, kept, middle)
    kept.refresh_from_db()

    # when
    with django_capture_on_commit_callbacks(execute=True):
        customer_services.delete_customer(bob.actor, kept)

    # then
    assert list(Customer.objects.values_list("pk", flat=True)) == [bystander.pk]
    entry = AuditEntry.objects.get(action="customer.deleted")
    assert entry.object_id == kept.public_id
    assert sorted(c["id"] for c in entry.before["merged_customers"]) == sorted([middle.public_id, older.public_id])
    assert [(e.name, e.customer_id) for e in received] == [
        ("customer.deleted", kept.public_id),
        ("customer.deleted", middle.public_id),
        ("customer.deleted", older.public_id),
    ]
