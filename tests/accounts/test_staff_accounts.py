"""accounts.services.create_team / create_user: staff accounts made by admins (and by `cxloop demo`)."""

from __future__ import annotations

import pytest

from cxloop.accounts import services
from cxloop.accounts.models import Team, User
from cxloop.core.actor import Actor
from cxloop.core.errors import ConflictError, PermissionDeniedError, ValidationError
from cxloop.privacy.models import AuditEntry


def test_admin_creates_a_team_and_a_user_in_it(ada):
    team = services.create_team(ada.actor, name="  Cards   & Payments ")

    user = services.create_user(
        ada.actor, username="dmitri", password="s3cret-pass", role="agent", team=team, first_name="Dmitri"
    )

    assert team.name == "Cards & Payments"
    assert user.team == team
    assert user.role == "agent"
    assert user.check_password("s3cret-pass")
    assert not user.is_staff
    entry = AuditEntry.objects.get(action="user.created")
    assert entry.object_id == "dmitri"
    assert "s3cret-pass" not in str(entry.after) + entry.summary
    assert AuditEntry.objects.filter(action="team.created", summary="Created team Cards & Payments").count() == 1


def test_admin_role_gets_django_admin_access(ada):
    user = services.create_user(ada.actor, username="root2", password="x", role="admin")

    assert user.is_staff


@pytest.mark.parametrize(
    ("fields", "problem"),
    [
        ({"username": " ", "password": "x", "role": "agent"}, "username"),
        ({"username": "eve", "password": "x", "role": "owner"}, "role"),
        ({"username": "eve", "password": "", "role": "agent"}, "password"),
    ],
)
def test_invalid_user_is_refused_naming_the_field(ada, fields, problem):
    with pytest.raises(ValidationError) as caught:
        services.create_user(ada.actor, **fields)

    assert problem in caught.value.fields
    assert not User.objects.filter(username="eve").exists()


def test_taken_username_and_team_name_are_conflicts(ada, alice):
    with pytest.raises(ConflictError):
        services.create_user(ada.actor, username="alice", password="x", role="agent")
    with pytest.raises(ConflictError):
        services.create_team(ada.actor, name="Team A")

    assert Team.objects.filter(name="Team A").count() == 1


def test_supervisor_may_not_create_users_or_teams(bob):
    with pytest.raises(PermissionDeniedError):
        services.create_user(bob.actor, username="mallory", password="x", role="admin")
    with pytest.raises(PermissionDeniedError):
        services.create_team(bob.actor, name="Shadow team")

    assert not User.objects.filter(username="mallory").exists()
    assert not Team.objects.filter(name="Shadow team").exists()
    assert not AuditEntry.objects.filter(action__in=["user.created", "team.created"]).exists()


def test_system_actor_may_create_users(db):
    user = services.create_user(Actor.system("demo"), username="ops", password="x", role="supervisor")

    assert AuditEntry.objects.get(action="user.created").actor_label == "demo"
    assert user.role == "supervisor"
