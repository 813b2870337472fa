"""Audit trail, API tokens, attribute definitions, and the Django admin, each for the right roles."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from cxloop.accounts.models import ApiToken
from cxloop.accounts.services import hash_token
from cxloop.customers import services as customer_services
from cxloop.customers.models import AttributeDefinition
from cxloop.privacy.models import AuditEntry
from tests.web.conftest import make_customer


# --- audit ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("member_name", ["alice", "bob", "charlie"])
def test_audit_is_for_admins_only(web, request, member_name):
    assert web(request.getfixturevalue(member_name)).get("/audit/").status_code == 403


def test_audit_search_by_action_object_and_actor(web, ada, bob, ann, bert):
    customer_services.update_customer(bob.actor, ann, {"name": "Ann B"})
    client = web(ada)

    by_action = client.get("/audit/", {"action": "customer.updated"}).content.decode()
    by_object = client.get("/audit/", {"object_id": bert.public_id}).content.decode()
    by_actor = client.get("/audit/", {"actor": "bob"}).content.decode()

    assert "customer.updated" in by_action
    assert "customer.created" not in by_action
    assert bert.public_id in by_object
    assert ann.public_id not in by_object
    assert "Changed name" in by_actor
    assert "customer.created" not in by_actor


def test_audit_date_range_includes_the_whole_last_day(web, ada, ann):
    entry = AuditEntry.objects.filter(action="customer.created").get()
    day = entry.occurred_at.astimezone(dt.UTC).date()
    client = web(ada)

    that_day = client.get("/audit/", {"since": day.isoformat(), "until": day.isoformat()}).content.decode()
    before = client.get("/audit/", {"until": (day - dt.timedelta(days=1)).isoformat()}).content.decode()
    backwards = client.get("/audit/", {"since": day.isoformat(), "until": (day - dt.timedelta(days=2)).isoformat()})

    assert "customer.created" in that_day
    assert "customer.created" not in before
    assert backwards.status_code == 422
    assert 'id="id_until_error"' in backwards.content.decode()


def test_audit_before_and_after_are_escaped_json(web, ada, system):
    make_customer(system, "<img src=x onerror=alert(1)>")

    html = web(ada).get("/audit/", {"action": "customer.created"}).content.decode()

    assert "<img src=x" not in html
    assert "&quot;name&quot;: &quot;&lt;img src=x onerror=alert(1)&gt;&quot;" in html
    assert "Before and after" in html


def test_audit_pages_with_a_cursor(web, ada, system):
    for index in range(55):
        make_customer(system, f"Audit {index}")
    client = web(ada)

    first = client.get("/audit/").content.decode()
    cursor = re.search(r'rel="next" href="\?cursor=([^"]+)"', first).group(1)
    second = client.get("/audit/", {"cursor": cursor}).content.decode()

    assert first.count("<tr>") - 1 == 50  # minus the header row
    assert second.count("<tr>") - 1 == 56 - 50  # 55 customers + the admin token of the cast


# --- API tokens ----------------------------------------------------------------------------------
def test_token_secret_is_shown_once_and_only_its_hash_is_kept(web, alice):
    client = web(alice)

    created = client.post("/tokens/", {"name": "CRM sync", "scopes": ["read", "write"]})

    html = created.content.decode()
    secret = re.search(r'id="new-token-secret" class="mono" type="text" value="(cxl_[^"]+)"', html).group(1)
    token = ApiToken.objects.get(name="CRM sync")
    assert created.status_code == 201
    assert created["Cache-Control"] == "no-store"
    assert token.user == alice.user
    assert token.scopes == ["read", "write"]
    assert token.token_hash == hash_token(secret)
    assert secret not in client.get("/tokens/").content.decode()
    assert "CRM sync" in client.get("/tokens/").content.decode()


def test_token_form_errors_create_nothing(web, alice):
    client = web(alice)
    before = ApiToken.objects.count()

    no_scope = client.post("/tokens/", {"name": "No scope"})
    admin_scope = client.post("/tokens/", {"name": "Too much", "scopes": ["admin"]})

    assert no_scope.status_code == 422
    assert admin_scope.status_code == 422
    assert 'id="id_scopes_error"' in admin_scope.content.decode()
    assert ApiToken.objects.count() == before


def test_admin_scope_is_offered_to_admins_only(web, alice, ada):
    assert 'value="admin"' not in web(alice).get("/tokens/").content.decode()
    assert 'value="admin"' in web(ada).get("/tokens/").content.decode()


def test_staff_see_and_revoke_their_own_tokens_only(web, alice, bob):
    client = web(alice)
    bobs = ApiToken.objects.get(user=bob.user)
    alices = ApiToken.objects.get(user=alice.user)

    html = client.get("/tokens/").content.decode()
    foreign = client.post(f"/tokens/{bobs.pk}/revoke/")
    own = client.post(f"/tokens/{alices.pk}/revoke/")

    assert alices.prefix in html
    assert bobs.prefix not in html
    assert foreign.status_code == 404
    assert own.status_code == 302
    bobs.refresh_from_db()
    alices.refresh_from_db()
    assert bobs.revoked_at is None
    assert alices.revoked_at is not None


def test_admins_see_every_token_with_its_owner(web, ada, alice, bob):
    html = web(ada).get("/tokens/").content.decode()

    for token in ApiToken.objects.all():
        assert token.prefix in html
    assert ">Owner<" in html
    assert "token_hash" not in html


# --- attribute definitions -----------------------------------------------------------------------
@pytest.mark.parametrize("member_name", ["alice", "bob", "charlie"])
def test_attribute_settings_are_for_admins_only(web, request, member_name):
    client = web(request.getfixturevalue(member_name))

    assert client.get("/settings/attributes/").status_code == 403
    assert client.post("/settings/attributes/", {"key": "x", "label": "X", "type": "text"}).status_code == 403
    assert not AttributeDefinition.objects.exists()


def test_admin_defines_and_deletes_an_attribute(web, ada):
    client = web(ada)

    created = client.post(
        "/settings/attributes/", {"key": "tier", "label": "Tier", "type": "choice", "choices": "gold, silver,,"}
    )
    definition = AttributeDefinition.objects.get()
    listed = client.get("/settings/attributes/").content.decode()
    deleted = client.post("/settings/attributes/tier/delete/")

    assert created.status_code == 302
    assert definition.choices == ["gold", "silver"]
    assert "gold, silver" in listed
    assert deleted.status_code == 302
    assert not AttributeDefinition.objects.exists()


def test_bad_attribute_definition_shows_field_errors(web, ada):
    response = web(ada).post("/settings/attributes/", {"key": "Bad Key", "label": "X", "type": "choice", "choices": ""})

    html = response.content.decode()
    assert response.status_code == 422
    assert 'id="id_key_error"' in html
    assert 'id="id_choices_error"' in html
    assert not AttributeDefinition.objects.exists()


def test_duplicate_attribute_key_is_refused_on_the_key(web, ada, system):
    customer_services.define_attribute(system, key="tier", label="Tier", type="text")

    response = web(ada).post("/settings/attributes/", {"key": "tier", "label": "Tier 2", "type": "text"})

    assert response.status_code == 422
    assert "already defined" in response.content.decode()
    assert AttributeDefinition.objects.count() == 1


# --- Django admin --------------------------------------------------------------------------------
def test_django_admin_is_for_admin_role_users(web, ada, ann):
    client = web(ada)

    index = client.get("/admin/")
    customers = client.get("/admin/customers/customer/")
    customer = client.get(f"/admin/customers/customer/{ann.pk}/change/")
    audit = client.get("/admin/privacy/auditentry/")
    users = client.get("/admin/accounts/user/")

    assert index.status_code == 200
    assert customers.status_code == 200
    assert b"Ann Smith" in customers.content
    assert customer.status_code == 200
    assert b"ann@example.com" in customer.content
    assert audit.status_code == 200
    assert users.status_code == 200
    assert b">ada<" in users.content


def test_django_admin_is_read_only_for_domain_tables(web, ada, ann):
    client = web(ada)

    assert client.get("/admin/customers/customer/add/").status_code == 403
    assert client.get("/admin/privacy/auditentry/add/").status_code == 403
    assert client.post(f"/admin/customers/customer/{ann.pk}/delete/", {"post": "yes"}).status_code == 403
    assert client.get("/admin/accounts/user/add/").status_code == 200  # accounts are managed here


def test_django_admin_never_shows_token_hashes(web, ada, alice):
    token = ApiToken.objects.get(user=alice.user)
    client = web(ada)

    html = client.get(f"/admin/accounts/apitoken/{token.pk}/change/").content.decode()
    listing = client.get("/admin/accounts/apitoken/").content.decode()

    assert token.prefix in html
    assert token.token_hash not in html
    assert token.token_hash not in listing


@pytest.mark.parametrize("member_name", ["alice", "bob", "charlie"])
def test_django_admin_refuses_other_roles(web, request, member_name):
    response = web(request.getfixturevalue(member_name)).get("/admin/customers/customer/")

    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


def test_audit_and_token_pages_queries_stay_bounded(web, ada, system, django_assert_max_num_queries):
    from cxloop.accounts import services as account_services

    for index in range(30):
        make_customer(system, f"Audit {index}")
        account_services.create_token(system, ada.user, name=f"t{index}", scopes=["read"])
    client = web(ada)

    # The navigation's badges (merge suggestions, conversations awaiting me, quarantine) are one query each.
    # +2: the header counts my active cases and unread notifications
    with django_assert_max_num_queries(9):
        audit = client.get("/audit/")
    # +2: the header counts my active cases and unread notifications
    with django_assert_max_num_queries(9):
        tokens = client.get("/tokens/")

    assert audit.status_code == 200
    assert tokens.status_code == 200
    assert tokens.content.decode().count("Revoke<span") == 31
