"""The audit trail: one entry per change or export, naming who did it and how things looked; admins search it."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import quote, urlencode

import pytest
from django.test import Client

from cxloop.accounts.models import ApiToken
from cxloop.core import clock
from cxloop.core.actor import Actor
from cxloop.privacy import queries as privacy_queries
from cxloop.privacy.models import AuditEntry
from tests.customers.factories import AttributeDefinitionFactory, CustomerFactory


def _customer_entries(object_id: str) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(object_type="customer", object_id=object_id).order_by("id"))


def test_every_change_and_export_over_the_api_writes_one_entry(api, bob):
    # given
    AttributeDefinitionFactory(key="plan", type="text")
    token = ApiToken.objects.get(user=bob.user)
    other = CustomerFactory(name="A. Lee")

    # when: a whole life cycle, each step once
    created = api.post(
        "/customers", bob, {"name": "Ann", "identities": [{"kind": "email", "value": "ann@example.com"}]}
    )
    cid = created.json()["id"]
    api.patch(f"/customers/{cid}", bob, {"name": "Ann Lee", "attributes": {"plan": "gold"}})
    api.patch(f"/customers/{cid}", bob, {"name": "Ann Lee"})  # changes nothing
    identity = api.post(f"/customers/{cid}/identities", bob, {"kind": "phone", "value": "+447700900123"}).json()
    api.patch(f"/customers/{cid}/identities/{identity['id']}", bob, {"is_verified": True})
    api.delete(f"/customers/{cid}/identities/{identity['id']}", bob)
    merge = api.post(f"/customers/{cid}/merge", bob, {"source": other.public_id}).json()
    api.post(f"/merges/{merge['id']}/unmerge", bob, {})
    api.get(f"/customers/{cid}/export", bob)
    api.get(f"/customers/{cid}", bob)  # reads are not audited
    api.delete(f"/customers/{cid}", bob)

    # then
    entries = _customer_entries(cid)
    assert [e.action for e in entries] == [
        "customer.created",
        "customer.updated",
        "identity.added",
        "identity.verified",
        "identity.removed",
        "customer.merged",
        "customer.unmerged",
        "customer.exported",
        "customer.deleted",
    ]
    for entry in entries:
        assert (entry.actor_user, entry.actor_token, entry.via, entry.ip_address) == (
            bob.user,
            token,
            "api",
            "127.0.0.1",
        )
        assert entry.actor_label == f"bob (token {token.prefix})"
        assert entry.occurred_at <= clock.now()
    by_action = {e.action: e for e in entries}
    assert by_action["customer.created"].before is None
    assert by_action["customer.created"].after["name"] == "Ann"
    assert by_action["customer.updated"].before == {"name": "Ann", "attributes": {}}
    assert by_action["customer.updated"].after == {"name": "Ann Lee", "attributes": {"plan": "gold"}}
    assert by_action["identity.added"].after["value"] == "+447700900123"
    assert by_action["identity.verified"].before["is_verified"] is False
    assert by_action["identity.removed"].before["value"] == "+447700900123"
    assert by_action["customer.merged"].before["source"]["name"] == "A. Lee"
    assert by_action["customer.unmerged"].after["source"]["status"] == "active"
    exported = by_action["customer.exported"].after
    assert exported["interactions"] == 0
    assert set(exported.values()) == {0}  # one count per exported section (each module's rows), all empty
    assert by_action["customer.deleted"].before["name"] == "Ann Lee"
    assert by_action["customer.deleted"].after is None


def test_a_staff_member_in_the_browser_is_recorded_as_such(alice):
    browser = Client()
    browser.force_login(alice.user)

    created = browser.post(
        "/api/v1/customers", {"name": "Ann"}, content_type="application/json", REMOTE_ADDR="10.0.0.7"
    )

    entry = AuditEntry.objects.get(action="customer.created")
    assert (entry.object_id, entry.actor_user, entry.actor_token) == (created.json()["id"], alice.user, None)
    assert (entry.actor_label, entry.via, entry.ip_address) == ("alice", "web", "10.0.0.7")


def test_the_label_outlives_the_user(api, alice):
    api.post("/customers", alice, {"name": "Ann"})

    alice.user.delete()

    entry = AuditEntry.objects.get(action="customer.created")
    assert entry.actor_user is None
    assert entry.actor_label.startswith("alice (token cxl_")


def test_exports_need_the_export_permission(api, alice, charlie):
    customer = CustomerFactory()

    assert api.get(f"/customers/{customer.public_id}/export", alice).status_code == 403
    exported = api.get(f"/customers/{customer.public_id}/export", charlie)

    assert exported.status_code == 200
    assert exported.json()["customer"]["id"] == customer.public_id
    assert [e.actor_label.split(" ")[0] for e in _customer_entries(customer.public_id)] == ["charlie"]


# --- searching ------------------------------------------------------------------------------------------


@pytest.fixture
def trail(db):  # type: ignore[no-untyped-def]
    """Twelve entries by two people and the system, an hour apart, newest last."""
    start = clock.now() - timedelta(hours=12)
    rows = []
    for i in range(12):
        rows.append(
            AuditEntry.objects.create(
                occurred_at=start + timedelta(hours=i),
                actor_label=["alice", "bob (token cxl_abc123)", "system"][i % 3],
                via=["web", "api", "worker"][i % 3],
                action=["customer.created", "customer.updated", "customer.merged", "identity.added"][i % 4],
                object_type="customer",
                object_id=f"cus_{i % 5}",
                summary=f"Entry {i}" + (" for the Refund team" if i % 6 == 0 else ""),
            )
        )
    return rows


def _search(api, member, **params):  # type: ignore[no-untyped-def]
    response = api.get("/audit?" + urlencode(params), member)
    assert response.status_code == 200, response.content
    return response.json()


def _ids(rows):  # type: ignore[no-untyped-def]
    return [r.pk for r in sorted(rows, key=lambda r: (r.occurred_at, r.pk), reverse=True)]


@pytest.mark.parametrize(
    ("params", "keep"),
    [
        ({}, lambda r: True),
        ({"action": "customer."}, lambda r: r.action.startswith("customer.")),
        ({"action": "customer.merged"}, lambda r: r.action == "customer.merged"),
        ({"object_id": "cus_3"}, lambda r: r.object_id == "cus_3"),
        ({"actor": "BOB"}, lambda r: r.actor_label.startswith("bob")),
        ({"q": "refund"}, lambda r: "Refund" in r.summary),
        ({"q": "cus_4"}, lambda r: r.object_id == "cus_4"),
    ],
)
def test_admins_search_the_trail(api, ada, trail, params, keep):
    found = [item["id"] for item in _search(api, ada, limit=200, **params)["items"]]

    expected = _ids([r for r in trail if keep(r)])
    assert [i for i in found if i in set(expected)] == expected
    assert set(found) - set(expected) <= {e.pk for e in AuditEntry.objects.exclude(pk__in=[r.pk for r in trail])}


def test_since_and_until_bound_the_search(api, ada, trail):
    since, until = trail[3].occurred_at, trail[8].occurred_at

    found = _search(api, ada, since=since.isoformat(), until=until.isoformat())["items"]

    assert [i["id"] for i in found] == _ids(trail[3:8])


def test_the_trail_pages_by_cursor(api, ada, trail):
    seen: list[int] = []
    cursor = ""
    while True:
        page = _search(api, ada, limit=5, **({"cursor": cursor} if cursor else {}), object_id="cus_0")
        seen += [i["id"] for i in page["items"]]
        if not page["next_cursor"]:
            break
        cursor = page["next_cursor"]

    assert seen == _ids([r for r in trail if r.object_id == "cus_0"])


def test_an_entry_shows_who_what_and_how(api, ada, trail):
    item = _search(api, ada, object_id="cus_1", action="customer.updated")["items"][0]

    entry = trail[1]
    assert item == {
        "id": entry.pk,
        "occurred_at": item["occurred_at"],
        "actor": "bob (token cxl_abc123)",
        "via": "api",
        "action": "customer.updated",
        "object_type": "customer",
        "object_id": "cus_1",
        "summary": "Entry 1",
        "before": None,
        "after": None,
    }


@pytest.mark.parametrize("member", ["alice", "bob", "charlie"])
def test_only_admins_read_the_trail(api, request, trail, member):
    response = api.get("/audit", request.getfixturevalue(member))

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"


def test_an_admins_read_only_token_does_not_read_the_trail(client, ada, trail):
    from cxloop.accounts import services as account_services

    _, secret = account_services.create_token(Actor.system("test"), ada.user, name="r", scopes=["read"])

    assert client.get("/api/v1/audit", HTTP_AUTHORIZATION=f"Bearer {secret}").status_code == 403


def test_the_history_of_one_object(trail):
    history = privacy_queries.history_of(Actor.system("test"), "customer", "cus_2")

    assert [e.pk for e in history] == _ids([r for r in trail if r.object_id == "cus_2"])


def test_a_forged_cursor_is_422(api, ada, trail):
    response = api.get("/audit?cursor=" + quote("WyJ4Iiwx"), ada)

    assert response.status_code == 422
    assert response.json()["error"]["fields"] == {"cursor": "malformed cursor"}
