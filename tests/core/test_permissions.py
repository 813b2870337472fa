"""Roles grant permissions; token scopes narrow them; the actor is what every service checks."""

from __future__ import annotations

import re

import pytest

from cxloop.core.actor import Actor
from cxloop.core.errors import PermissionDeniedError
from cxloop.core.ids import new_public_id
from cxloop.core.permissions import Perm, permissions_for

P = Perm

ROLE_TABLE = {
    "agent": {
        P.CUSTOMERS_VIEW,
        P.INTERACTIONS_VIEW,
        P.CASES_VIEW,
        P.CUSTOMERS_EDIT,
        P.INTERACTIONS_WRITE,
        P.CASES_WORK,
        P.FEEDBACK_VIEW,
        P.FEEDBACK_SEND,
        P.JOURNEYS_VIEW,
        P.JOURNEYS_ENROL,
    },
    "supervisor": {
        P.CUSTOMERS_VIEW,
        P.INTERACTIONS_VIEW,
        P.CASES_VIEW,
        P.CUSTOMERS_EDIT,
        P.INTERACTIONS_WRITE,
        P.CASES_WORK,
        P.CASES_ASSIGN,
        P.CASES_SUPERVISE,
        P.CASES_CONFIGURE,
        P.CUSTOMERS_MERGE,
        P.CUSTOMERS_DELETE,
        P.CUSTOMERS_EXPORT,
        P.CONVERSATIONS_ASSIGN,
        P.CHANNELS_MANAGE,
        P.FEEDBACK_VIEW,
        P.FEEDBACK_SEND,
        P.FEEDBACK_MANAGE,
        P.JOURNEYS_VIEW,
        P.JOURNEYS_ENROL,
        P.JOURNEYS_MANAGE,
    },
    "analyst": {
        P.CUSTOMERS_VIEW,
        P.INTERACTIONS_VIEW,
        P.CASES_VIEW,
        P.FEEDBACK_VIEW,
        P.JOURNEYS_VIEW,
        P.CUSTOMERS_EXPORT,
    },
    "admin": set(Perm),
}


@pytest.mark.parametrize(("role", "expected"), ROLE_TABLE.items())
def test_each_role_grants_exactly_its_permissions(role, expected):
    assert permissions_for(role) == frozenset(expected)


@pytest.mark.parametrize(
    ("role", "scopes", "expected"),
    [
        (
            "admin",
            ["read"],
            {P.CUSTOMERS_VIEW, P.INTERACTIONS_VIEW, P.CASES_VIEW, P.FEEDBACK_VIEW, P.JOURNEYS_VIEW, P.CUSTOMERS_EXPORT},
        ),
        ("admin", ["read", "write"], ROLE_TABLE["supervisor"]),
        ("admin", ["admin"], set(Perm)),
        ("agent", ["read", "write", "admin"], ROLE_TABLE["agent"]),
        ("analyst", ["read", "write"], ROLE_TABLE["analyst"]),
        (
            "supervisor",
            ["read"],
            {P.CUSTOMERS_VIEW, P.INTERACTIONS_VIEW, P.CASES_VIEW, P.FEEDBACK_VIEW, P.JOURNEYS_VIEW, P.CUSTOMERS_EXPORT},
        ),
        ("agent", ["write"], ROLE_TABLE["agent"]),
        ("admin", [], set()),
        ("admin", ["root", "sudo"], set()),
    ],
)
def test_scopes_narrow_the_role_and_never_widen_it(role, scopes, expected):
    assert permissions_for(role, scopes) == frozenset(expected)


@pytest.mark.parametrize("role", ["", "owner", "ADMIN"])
def test_an_unknown_role_grants_nothing(role):
    assert permissions_for(role) == frozenset()
    assert permissions_for(role, ["admin"]) == frozenset()


def test_an_inactive_user_can_do_nothing(alice):
    alice.user.is_active = False

    actor = Actor.for_user(alice.user)

    assert actor.permissions == frozenset()
    with pytest.raises(PermissionDeniedError) as caught:
        actor.require(P.CUSTOMERS_VIEW)
    assert caught.value.status == 403
    assert caught.value.message == "You do not have the permission 'customers.view'."


def test_actors_label_themselves_for_the_audit_trail(alice):
    from cxloop.accounts.models import ApiToken

    token = ApiToken.objects.get(user=alice.user)

    assert Actor.for_user(alice.user).label == "alice"
    assert Actor.for_token(token).label == f"alice (token {token.prefix})"
    assert Actor.for_token(token).via == "api"
    assert Actor.system("cli").label == "cli"
    assert Actor.system("cli").permissions == frozenset(Perm)


def test_public_ids_are_prefixed_unguessable_and_unique():
    ids = {new_public_id("cus") for _ in range(5000)}

    assert len(ids) == 5000
    assert all(re.fullmatch(r"cus_[0-9abcdefghjkmnpqrstvwxyz]{16}", i) for i in ids)
    letters = "".join(i[4:] for i in ids)
    counts = [letters.count(c) for c in "0123456789abcdefghjkmnpqrstvwxyz"]
    assert min(counts) > 0.8 * (len(letters) / 32)  # every letter about equally likely
