from __future__ import annotations

from cxloop.customers.models import Customer, Identity
from cxloop.privacy.models import AuditEntry


def test_create_answers_201_with_canonical_identities(api, alice):
    # when
    response = api.post(
        "/customers",
        alice,
        {
            "name": "  Ann   Smith ",
            "country": "gb",
            "identities": [
                {"kind": "email", "value": "Ann.Smith+Shop@Example.COM"},
                {"kind": "phone", "value": "07700 900123"},
                {"kind": "social", "network": "X", "value": "@AnnS"},
            ],
        },
    )

    # then
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["id"].startswith("cus_")
    assert body["name"] == "Ann Smith"
    assert body["country"] == "GB"
    values = {(i["kind"], i["network"], i["value"]) for i in body["identities"]}
    assert values == {
        ("email", "", "ann.smith+shop@example.com"),
        ("phone", "", "+447700900123"),
        ("social", "x", "anns"),
    }
    assert AuditEntry.objects.filter(action="customer.created", object_id=body["id"]).count() == 1


def test_invalid_email_is_422_naming_the_field(api, alice):
    response = api.post("/customers", alice, {"name": "X", "identities": [{"kind": "email", "value": "not-an-email"}]})

    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert "identities[0].value" in error["fields"]
    assert Customer.objects.count() == 0


def test_invalid_phone_is_422_naming_the_field(api, alice):
    response = api.post("/customers", alice, {"identities": [{"kind": "phone", "value": "12"}]})

    assert response.status_code == 422
    assert "identities[0].value" in response.json()["error"]["fields"]


def test_lookup_finds_customer_from_national_spelling(api, alice):
    created = api.post("/customers", alice, {"identities": [{"kind": "phone", "value": "+1 202 555 0143"}]}).json()

    response = api.get("/customers/lookup?phone=(202)%20555-0143&region=US", alice)

    assert response.status_code == 200
    assert response.json()["id"] == created["id"]
    assert api.get("/customers/lookup?email=nobody@example.com", alice).status_code == 404


def test_taken_identity_is_409_and_nothing_is_written(api, alice):
    api.post("/customers", alice, {"identities": [{"kind": "email", "value": "a@example.com"}]})

    response = api.post(
        "/customers",
        alice,
        {
            "name": "Other",
            "identities": [{"kind": "email", "value": "b@example.com"}, {"kind": "email", "value": "A@example.com"}],
        },
    )

    assert response.status_code == 409
    assert response.json()["error"]["fields"] == {
        "identities[1].value": response.json()["error"]["fields"]["identities[1].value"]
    }
    assert Customer.objects.count() == 1
    assert not Identity.objects.filter(value="b@example.com").exists()


def test_merge_and_unmerge_restore_both(api, bob):
    first = api.post(
        "/customers", bob, {"name": "Ann", "identities": [{"kind": "email", "value": "ann@example.com"}]}
    ).json()
    second = api.post(
        "/customers", bob, {"name": "", "country": "GB", "identities": [{"kind": "phone", "value": "+447700900123"}]}
    ).json()
    api.post(
        f"/customers/{second['id']}/interactions",
        bob,
        {"channel": "phone", "direction": "inbound", "body": "Called about card"},
    )

    merged = api.post(f"/customers/{first['id']}/merge", bob, {"source": second["id"]})

    assert merged.status_code == 201, merged.content
    target = api.get(f"/customers/{first['id']}", bob).json()
    assert {i["value"] for i in target["identities"]} == {"ann@example.com", "+447700900123"}
    assert target["country"] == "GB"
    assert len(api.get(f"/customers/{first['id']}/timeline", bob).json()["items"]) == 1
    assert api.get(f"/customers/{second['id']}", bob).json()["status"] == "merged"

    undone = api.post(f"/merges/{merged.json()['id']}/unmerge", bob, {})

    assert undone.status_code == 200, undone.content
    restored_target = api.get(f"/customers/{first['id']}", bob).json()
    restored_source = api.get(f"/customers/{second['id']}", bob).json()
    assert {i["value"] for i in restored_target["identities"]} == {"ann@example.com"}
    assert restored_target["country"] == ""
    assert {i["value"] for i in restored_source["identities"]} == {"+447700900123"}
    assert restored_source["status"] == "active"
    assert len(api.get(f"/customers/{second['id']}/timeline", bob).json()["items"]) == 1
    assert api.post(f"/merges/{merged.json()['id']}/unmerge", bob, {}).status_code == 409


def test_agent_cannot_merge(api, alice, bob):
    first = api.post("/customers", bob, {"name": "A"}).json()
    second = api.post("/customers", bob, {"name": "B"}).json()

    response = api.post(f"/customers/{first['id']}/merge", alice, {"source": second["id"]})

    assert response.status_code == 403
    assert Customer.objects.get(public_id=second["id"]).status == "active"


def test_idempotency_key_replays_the_first_answer(api, alice):
    body = {"name": "Once", "identities": [{"kind": "email", "value": "once@example.com"}]}

    first = api.post("/customers", alice, body, HTTP_IDEMPOTENCY_KEY="k-1")
    second = api.post("/customers", alice, body, HTTP_IDEMPOTENCY_KEY="k-1")

    assert first.status_code == second.status_code == 201
    assert first.json()["id"] == second.json()["id"]
    assert second["Idempotent-Replayed"] == "true"
    assert Customer.objects.count() == 1


def test_export_holds_profile_and_timeline_and_is_audited(api, alice, charlie):
    created = api.post(
        "/customers", alice, {"name": "Eve", "identities": [{"kind": "email", "value": "eve@example.com"}]}
    ).json()
    api.post(
        f"/customers/{created['id']}/interactions", alice, {"channel": "note", "direction": "internal", "body": "VIP"}
    )

    response = api.get(f"/customers/{created['id']}/export", charlie)

    assert response.status_code == 200
    document = response.json()
    assert document["customer"]["identities"][0]["value"] == "eve@example.com"
    assert [i["body"] for i in document["interactions"]] == ["VIP"]
    entry = AuditEntry.objects.get(action="customer.exported")
    assert entry.object_id == created["id"]
    assert entry.actor_label.startswith("charlie")


def test_admin_defines_and_deletes_attributes_and_values_are_checked(api, ada, alice):
    assert (
        api.post(
            "/attributes", alice, {"key": "plan", "label": "Plan", "type": "choice", "choices": ["gold"]}
        ).status_code
        == 403
    )
    assert (
        api.post(
            "/attributes", ada, {"key": "plan", "label": "Plan", "type": "choice", "choices": ["gold", "silver"]}
        ).status_code
        == 201
    )

    bad = api.post("/customers", alice, {"name": "P", "attributes": {"plan": "bronze"}})
    good = api.post("/customers", alice, {"name": "P", "attributes": {"plan": "gold"}})

    assert bad.status_code == 422
    assert "attributes.plan" in bad.json()["error"]["fields"]
    assert good.status_code == 201
    assert api.delete("/attributes/plan", ada).status_code == 204
    assert api.get(f"/customers/{good.json()['id']}", alice).json()["attributes"] == {"plan": "gold"}
    assert api.delete("/attributes/plan", ada).status_code == 404
