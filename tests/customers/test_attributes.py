"""Custom attributes: admins define them; every value written to a profile is checked against its type."""

from __future__ import annotations

import pytest

from cxloop.core.errors import ConflictError, PermissionDeniedError, ValidationError
from cxloop.customers import services as customer_services
from cxloop.customers.models import AttributeDefinition, Customer
from cxloop.privacy.models import AuditEntry
from tests.customers.factories import AttributeDefinitionFactory, CustomerFactory


@pytest.fixture
def definitions(db: None) -> None:
    AttributeDefinitionFactory(key="plan", type="text")
    AttributeDefinitionFactory(key="seats", type="number")
    AttributeDefinitionFactory(key="beta", type="boolean")
    AttributeDefinitionFactory(key="renews_on", type="date")
    AttributeDefinitionFactory(key="tier", type="choice", choices=["bronze", "silver", "gold"])


@pytest.mark.parametrize(
    ("key", "given", "stored"),
    [
        ("plan", "Gold plan", "Gold plan"),
        ("plan", 42, "42"),
        ("plan", 1.5, "1.5"),
        ("seats", 12, 12),
        ("seats", 2.5, 2.5),
        ("seats", "12", 12),
        ("seats", "-3", -3),
        ("seats", "2.5", 2.5),
        ("seats", "1e3", 1000.0),
        ("seats", 10**30, 10**30),
        ("beta", True, True),
        ("beta", False, False),
        ("beta", "yes", True),
        ("beta", "FALSE", False),
        ("renews_on", "2026-01-31", "2026-01-31"),
        ("tier", "gold", "gold"),
    ],
)
def test_values_are_stored_in_their_types_form(definitions, key, given, stored):
    assert customer_services.validate_attributes({key: given}) == {key: stored}


@pytest.mark.parametrize(
    ("key", "given", "reason"),
    [
        ("plan", True, "must be text"),
        ("plan", ["a"], "must be text"),
        ("plan", {"a": 1}, "must be text"),
        ("plan", "x" * 1001, "must be at most 1000 characters"),
        ("seats", "twelve", "must be a number"),
        ("seats", True, "must be a number"),
        ("seats", [1], "must be a number"),
        ("seats", float("nan"), "must be a number"),
        ("seats", float("inf"), "must be a number"),
        ("seats", "-inf", "must be a number"),
        ("seats", "1e999", "must be a number"),
        ("beta", "maybe", "must be true or false"),
        ("beta", 1, "must be true or false"),
        ("renews_on", "31/01/2026", "must be a date written YYYY-MM-DD"),
        ("renews_on", "2026-02-30", "must be a date written YYYY-MM-DD"),
        ("tier", "platinum", "must be one of bronze, silver, gold"),
        ("tier", "Gold", "must be one of bronze, silver, gold"),
    ],
)
def test_a_value_of_the_wrong_type_is_refused_naming_the_attribute(definitions, key, given, reason):
    with pytest.raises(ValidationError) as caught:
        customer_services.validate_attributes({key: given})

    assert caught.value.fields == {f"attributes.{key}": reason}


def test_every_bad_attribute_is_reported_at_once(definitions):
    with pytest.raises(ValidationError) as caught:
        customer_services.validate_attributes({"seats": "many", "colour": "red", "tier": "gold"})

    assert caught.value.fields == {
        "attributes.seats": "must be a number",
        "attributes.colour": "unknown attribute; an admin must define it first",
    }


def test_null_removes_an_attribute_and_other_values_are_kept(definitions):
    current = {"plan": "gold", "seats": 3}

    assert customer_services.validate_attributes({"plan": None, "beta": True}, current=current) == {
        "seats": 3,
        "beta": True,
    }
    assert current == {"plan": "gold", "seats": 3}


def test_unknown_attribute_on_create_is_422_and_nothing_is_written(api, alice, definitions):
    response = api.post("/customers", alice, {"name": "Ann", "attributes": {"plan": "gold", "colour": "red"}})

    assert response.status_code == 422
    assert response.json()["error"]["fields"] == {
        "attributes.colour": "unknown attribute; an admin must define it first"
    }
    assert Customer.objects.count() == 0


def test_attributes_over_the_api_merge_and_null_removes(api, alice, definitions):
    # given
    created = api.post("/customers", alice, {"name": "Ann", "attributes": {"plan": "gold", "seats": "4"}}).json()
    assert created["attributes"] == {"plan": "gold", "seats": 4}

    # when
    response = api.patch(f"/customers/{created['id']}", alice, {"attributes": {"plan": None, "tier": "silver"}})

    # then
    assert response.status_code == 200, response.content
    assert response.json()["attributes"] == {"seats": 4, "tier": "silver"}
    entry = AuditEntry.objects.filter(action="customer.updated").get()
    assert entry.before == {"attributes": {"plan": "gold", "seats": 4}}
    assert entry.after == {"attributes": {"seats": 4, "tier": "silver"}}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ('{"attributes": {"seats": 1e999}}', "attributes.seats"),
        ('{"attributes": {"seats": -1e999}}', "attributes.seats"),
        ('{"attributes": {"seats": NaN}}', None),
        ('{"attributes": {"tier": "platinum"}}', "attributes.tier"),
        ('{"attributes": {"mystery": 1}}', "attributes.mystery"),
    ],
)
def test_a_bad_attribute_in_an_update_is_422_and_changes_nothing(client, alice, definitions, body, field):
    # given
    customer = CustomerFactory(attributes={"seats": 3})

    # when
    response = client.patch(
        f"/api/v1/customers/{customer.public_id}", data=body, content_type="application/json", **alice.headers()
    )

    # then: never a 500, and nothing written
    assert response.status_code == 422, response.content
    if field is not None:
        assert field in response.json()["error"]["fields"]
    customer.refresh_from_db()
    assert customer.attributes == {"seats": 3}
    assert not AuditEntry.objects.filter(action="customer.updated").exists()


# --- definitions ----------------------------------------------------------------------------------------


def test_an_admin_defines_an_attribute_and_it_is_audited(ada):
    definition = customer_services.define_attribute(
        ada.actor, key="tier", label=" Tier ", type="choice", choices=[" gold ", "", "silver"], description=" d "
    )

    assert (definition.key, definition.label, definition.choices, definition.description) == (
        "tier",
        "Tier",
        ["gold", "silver"],
        "d",
    )
    entry = AuditEntry.objects.get(action="attribute.defined")
    assert (entry.object_id, entry.actor_label) == ("tier", "ada")
    assert entry.after == {
        "key": "tier",
        "label": "Tier",
        "type": "choice",
        "choices": ["gold", "silver"],
        "description": "d",
    }


@pytest.mark.parametrize("member", ["alice", "bob", "charlie"])
def test_only_admins_define_attributes(request, member):
    actor = request.getfixturevalue(member).actor

    with pytest.raises(PermissionDeniedError):
        customer_services.define_attribute(actor, key="plan", label="Plan", type="text")

    assert AttributeDefinition.objects.count() == 0
    assert not AuditEntry.objects.filter(action="attribute.defined").exists()


@pytest.mark.parametrize(
    ("key", "label", "type_", "choices", "fields"),
    [
        ("Plan", "Plan", "text", [], {"key"}),
        ("1plan", "Plan", "text", [], {"key"}),
        ("plan-x", "Plan", "text", [], {"key"}),
        ("plan", "  ", "text", [], {"label"}),
        ("plan", "Plan", "colour", [], {"type"}),
        ("plan", "Plan", "choice", ["", " "], {"choices"}),
        ("Bad Key", "", "choice", [], {"key", "label", "choices"}),
    ],
)
def test_a_malformed_definition_is_refused(ada, key, label, type_, choices, fields):
    with pytest.raises(ValidationError) as caught:
        customer_services.define_attribute(ada.actor, key=key, label=label, type=type_, choices=choices)

    assert set(caught.value.fields) == fields
    assert AttributeDefinition.objects.count() == 0


def test_a_key_can_be_defined_once(ada):
    customer_services.define_attribute(ada.actor, key="plan", label="Plan", type="text")

    with pytest.raises(ConflictError) as caught:
        customer_services.define_attribute(ada.actor, key="plan", label="Other", type="number")

    assert caught.value.fields == {"key": "already defined"}
    assert list(AttributeDefinition.objects.values_list("label", flat=True)) == ["Plan"]


def test_definitions_over_the_api_are_admin_only(api, ada, bob, alice, charlie):
    body = {"key": "plan", "label": "Plan", "type": "choice", "choices": ["a", "b"]}

    for member in (alice, bob, charlie):
        refused = api.post("/attributes", member, body)
        assert refused.status_code == 403
        assert refused.json()["error"]["code"] == "permission_denied"
    assert AttributeDefinition.objects.count() == 0

    created = api.post("/attributes", ada, body)
    assert created.status_code == 201, created.content
    assert created.json() == {
        "key": "plan",
        "label": "Plan",
        "type": "choice",
        "choices": ["a", "b"],
        "description": "",
    }
    assert [d["key"] for d in api.get("/attributes", charlie).json()] == ["plan"]
    assert api.post("/attributes", ada, body).status_code == 409


def test_deleting_a_definition_keeps_the_values_on_profiles(api, ada, bob, definitions):
    customer = CustomerFactory(attributes={"plan": "gold"})

    assert api.delete("/attributes/plan", bob).status_code == 403
    response = api.delete("/attributes/plan", ada)

    assert response.status_code == 204
    assert not AttributeDefinition.objects.filter(key="plan").exists()
    customer.refresh_from_db()
    assert customer.attributes == {"plan": "gold"}
    entry = AuditEntry.objects.get(action="attribute.deleted")
    assert (entry.object_id, entry.before["type"]) == ("plan", "text")
    assert api.delete("/attributes/plan", ada).status_code == 404
