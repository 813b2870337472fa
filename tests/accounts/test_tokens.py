"""Personal API tokens: hashed at rest, narrowed by scopes, revocable, and created from the CLI."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from cxloop.accounts import services as account_services
from cxloop.accounts.models import ApiToken, User
from cxloop.core.actor import Actor
from cxloop.core.errors import PermissionDeniedError, ValidationError
from cxloop.customers.models import Customer
from cxloop.privacy.models import AuditEntry


def _bearer(secret: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {secret}"}


def test_only_a_hash_of_the_secret_is_stored(ada):
    # when
    token, secret = account_services.create_token(ada.actor, ada.user, name="ci", scopes=["read"])

    # then
    assert secret.startswith("cxl_")
    assert len(secret) >= 40
    row = ApiToken.objects.filter(pk=token.pk).values().get()
    assert row["token_hash"] == hashlib.sha256(secret.encode()).hexdigest()
    assert row["prefix"] == secret[:10]
    assert not any(secret in str(value) for value in row.values())
    assert not AuditEntry.objects.filter(after__icontains=secret[10:]).exists()
    assert not AuditEntry.objects.filter(summary__icontains=secret[10:]).exists()


def test_two_tokens_never_share_a_secret(ada):
    secrets = {account_services.create_token(ada.actor, ada.user, name=f"t{i}", scopes=["read"])[1] for i in range(20)}

    assert len(secrets) == 20


@pytest.mark.parametrize(
    "raw",
    ["", "cxl_", "cxl_wrong", "not-a-token", "Bearer cxl_x", "cxl_" + "A" * 43],
)
def test_unknown_secrets_do_not_authenticate(alice, raw):
    assert account_services.authenticate_token(raw) is None


def test_a_revoked_token_no_longer_authenticates(api, alice, client):
    # given
    token = ApiToken.objects.get(user=alice.user)
    assert client.get("/api/v1/customers", **_bearer(alice.token)).status_code == 200

    # when
    account_services.revoke_token(alice.actor, token)

    # then
    assert account_services.authenticate_token(alice.token) is None
    response = client.get("/api/v1/customers", **_bearer(alice.token))
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"
    entry = AuditEntry.objects.get(action="token.revoked")
    assert (entry.object_id, entry.actor_label) == ("alice", "alice")


def test_a_deactivated_users_token_is_refused(alice, client):
    User.objects.filter(pk=alice.user.pk).update(is_active=False)

    assert client.get("/api/v1/customers", **_bearer(alice.token)).status_code == 401


def test_last_used_at_is_noted_at_most_once_a_minute(alice, client):
    token = ApiToken.objects.get(user=alice.user)
    assert token.last_used_at is None

    client.get("/api/v1/customers", **_bearer(alice.token))
    token.refresh_from_db()
    first_use = token.last_used_at
    assert first_use is not None

    client.get("/api/v1/customers", **_bearer(alice.token))
    token.refresh_from_db()
    assert token.last_used_at == first_use  # no write on every request

    ApiToken.objects.filter(pk=token.pk).update(last_used_at=first_use - timedelta(minutes=5))
    client.get("/api/v1/customers", **_bearer(alice.token))
    token.refresh_from_db()
    assert token.last_used_at > first_use - timedelta(minutes=5)


def test_scopes_narrow_what_the_role_allows(ada, client):
    # given: an admin's read-only token
    _, secret = account_services.create_token(ada.actor, ada.user, name="read only", scopes=["read"])

    # then: reading works; writing, auditing and defining attributes do not
    assert client.get("/api/v1/customers", **_bearer(secret)).status_code == 200
    created = client.post("/api/v1/customers", {"name": "Ann"}, content_type="application/json", **_bearer(secret))
    assert created.status_code == 403
    assert client.get("/api/v1/audit", **_bearer(secret)).status_code == 403
    attribute = {"key": "plan", "label": "Plan"}
    assert (
        client.post("/api/v1/attributes", attribute, content_type="application/json", **_bearer(secret)).status_code
        == 403
    )
    assert Customer.objects.count() == 0


def test_a_write_scope_does_not_lift_a_read_only_role(charlie, client):
    _, secret = account_services.create_token(charlie.actor, charlie.user, name="w", scopes=["read", "write"])

    response = client.post("/api/v1/customers", {"name": "Ann"}, content_type="application/json", **_bearer(secret))

    assert response.status_code == 403
    assert Customer.objects.count() == 0


@pytest.mark.parametrize("member", ["alice", "bob", "charlie"])
def test_only_admins_hold_admin_tokens(request, member):
    who = request.getfixturevalue(member)
    count = ApiToken.objects.count()

    with pytest.raises(ValidationError) as caught:
        account_services.create_token(Actor.system("test"), who.user, name="x", scopes=["read", "admin"])

    assert caught.value.fields == {"scopes": "admin scope needs an admin"}
    assert ApiToken.objects.count() == count


@pytest.mark.parametrize(("scopes", "name"), [([], "x"), (["root"], "x"), (["read"], ""), (["read"], "n" * 101)])
def test_malformed_token_requests_are_refused(alice, scopes, name):
    with pytest.raises(ValidationError):
        account_services.create_token(alice.actor, alice.user, name=name, scopes=scopes)


def test_nobody_but_an_admin_creates_tokens_for_someone_else(alice, bob, ada):
    with pytest.raises(PermissionDeniedError):
        account_services.create_token(alice.actor, bob.user, name="x", scopes=["read"])

    token, _ = account_services.create_token(ada.actor, bob.user, name="for bob", scopes=["read"])
    assert token.user == bob.user
    entry = AuditEntry.objects.filter(action="token.created").latest("id")
    assert (entry.object_id, entry.actor_label, entry.after) == (
        "bob",
        "ada",
        {"token": token.prefix, "scopes": ["read"]},
    )


# --- /api/v1/tokens ---------------------------------------------------------------------------------------


def test_creating_a_token_over_the_api_shows_the_secret_once(api, alice, client):
    # when
    response = api.post("/tokens", alice, {"name": "zapier", "scopes": ["read"]})

    # then
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["user"] == "alice"
    assert body["scopes"] == ["read"]
    assert body["token"].startswith(body["prefix"])
    assert client.get("/api/v1/customers", **_bearer(body["token"])).status_code == 200
    listed = api.get("/tokens", alice).json()
    assert {t["name"] for t in listed} == {"test", "zapier"}
    assert all("token" not in t for t in listed)


def test_a_token_cannot_create_a_stronger_token(api, ada, client):
    # given: an admin's read-only token (say, given to a reporting tool)
    _, secret = account_services.create_token(ada.actor, ada.user, name="reports", scopes=["read"])
    count = ApiToken.objects.count()

    # when: it asks for a write or admin token
    for scopes in (["read", "write"], ["admin"]):
        response = client.post(
            "/api/v1/tokens", {"name": "escalate", "scopes": scopes}, content_type="application/json", **_bearer(secret)
        )

        # then
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "permission_denied"
    assert ApiToken.objects.count() == count
    weaker = client.post(
        "/api/v1/tokens", {"name": "copy", "scopes": ["read"]}, content_type="application/json", **_bearer(secret)
    )
    assert weaker.status_code == 201


def test_people_see_and_revoke_only_their_own_tokens_and_admins_everyones(api, alice, bob, ada, client):
    bobs = ApiToken.objects.get(user=bob.user)

    assert {t["user"] for t in api.get("/tokens", alice).json()} == {"alice"}
    assert {t["user"] for t in api.get("/tokens", ada).json()} == {"alice", "bob", "ada"}
    assert api.delete(f"/tokens/{bobs.pk}", alice).status_code == 404
    bobs.refresh_from_db()
    assert bobs.revoked_at is None

    assert api.delete(f"/tokens/{bobs.pk}", ada).status_code == 204
    bobs.refresh_from_db()
    assert bobs.revoked_at is not None
    assert client.get("/api/v1/customers", **_bearer(bob.token)).status_code == 401


def test_a_token_can_revoke_itself(api, alice):
    own = ApiToken.objects.get(user=alice.user)

    assert api.delete(f"/tokens/{own.pk}", alice).status_code == 204
    assert api.get("/tokens", alice).status_code == 401


# --- the staff session -----------------------------------------------------------------------------------


def test_a_logged_in_staff_member_uses_the_api_with_csrf(alice):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(alice.user)

    assert browser.get("/api/v1/customers").status_code == 200
    refused = browser.post("/api/v1/customers", {"name": "Ann"}, content_type="application/json")
    assert refused.status_code == 403
    assert Customer.objects.count() == 0
    token = browser.get("/login/").cookies["csrftoken"].value
    accepted = browser.post(
        "/api/v1/customers", {"name": "Ann"}, content_type="application/json", HTTP_X_CSRFTOKEN=token
    )
    assert accepted.status_code == 201, accepted.content


# --- the CLI ----------------------------------------------------------------------------------------------


def test_cli_prints_only_the_token_and_it_works(alice, client):
    out = StringIO()

    call_command("token", "create", "--user", "alice", "--scopes", "read,write", stdout=out)

    printed = out.getvalue()
    secret = printed.strip()
    assert printed == secret + "\n"
    assert secret.startswith("cxl_")
    assert " " not in secret
    token = ApiToken.objects.get(token_hash=hashlib.sha256(secret.encode()).hexdigest())
    assert (token.user, token.scopes, token.name) == (alice.user, ["read", "write"], "cli")
    created = client.post("/api/v1/customers", {"name": "Ann"}, content_type="application/json", **_bearer(secret))
    assert created.status_code == 201
    assert AuditEntry.objects.get(action="customer.created").actor_label == f"alice (token {token.prefix})"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--user", "nobody", "--scopes", "read"], "No user 'nobody'"),
        (["--user", "alice", "--scopes", "read,admin"], "admin scope needs an admin"),
        (["--user", "alice", "--scopes", "sudo"], "choose from read, write, admin"),
    ],
)
def test_cli_refusals_create_nothing(alice, args, message):
    count = ApiToken.objects.count()

    with pytest.raises(CommandError, match=message):
        call_command("token", "create", *args, stdout=StringIO())

    assert ApiToken.objects.count() == count


def test_cli_admin_token_for_an_admin(ada, client):
    out = StringIO()
    call_command("token", "create", "--user", "ada", "--scopes", "admin", "--name", "ops", stdout=out)

    assert client.get("/api/v1/audit", **_bearer(out.getvalue().strip())).status_code == 200


def test_cli_lists_and_revokes(alice):
    token = ApiToken.objects.get(user=alice.user)
    listing = StringIO()
    call_command("token", "list", "--user", "alice", stdout=listing)
    assert listing.getvalue() == f"{token.pk}\t{token.prefix}…\tread,write\tactive\ttest\n"

    revoking = StringIO()
    call_command("token", "revoke", str(token.pk), stdout=revoking)

    assert revoking.getvalue() == f"revoked token {token.pk}\n"
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert AuditEntry.objects.get(action="token.revoked").actor_label == "cli"
