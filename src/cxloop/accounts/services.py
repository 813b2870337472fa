"""API tokens and staff accounts."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from django.db import transaction

from cxloop.accounts.models import ApiToken, Team, User
from cxloop.core import clock
from cxloop.core.actor import Actor
from cxloop.core.errors import ConflictError, PermissionDeniedError, ValidationError
from cxloop.core.permissions import Perm, Role, Scope
from cxloop.privacy.services import record_audit

TOKEN_PREFIX = "cxl_"  # noqa: S105 - a public marker, not a secret
_LAST_USED_RESOLUTION = timedelta(minutes=1)


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def _clean_scopes(scopes: list[str]) -> list[str]:
    cleaned = sorted({s.strip() for s in scopes if s.strip()})
    unknown = [s for s in cleaned if s not in Scope._value2member_map_]
    if not cleaned or unknown:
        raise ValidationError(
            "Token scopes are not valid.", fields={"scopes": f"choose from {', '.join(s.value for s in Scope)}"}
        )
    return cleaned


@transaction.atomic
def create_token(actor: Actor, user: User, *, name: str, scopes: list[str]) -> tuple[ApiToken, str]:
    """Create a token for `user`; returns the row and the secret, which is never shown again."""
    if actor.user is not None and actor.user.pk != user.pk:
        actor.require(Perm.TOKENS_MANAGE_ALL)
    name = name.strip()
    if not name or len(name) > 100:
        raise ValidationError("A token needs a name.", fields={"name": "1 to 100 characters"})
    scopes = _clean_scopes(scopes)
    if actor.token is not None and not set(scopes) <= set(actor.token.scopes):
        # Scopes narrow what a token may do; a token minting a wider one would undo that narrowing.
        raise PermissionDeniedError("A token can only create tokens with its own scopes or fewer.")
    if Scope.ADMIN.value in scopes and user.role != Role.ADMIN.value:
        raise ValidationError("Only admins can hold admin tokens.", fields={"scopes": "admin scope needs an admin"})
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user, name=name, prefix=raw[: len(TOKEN_PREFIX) + 6], token_hash=hash_token(raw), scopes=scopes
    )
    record_audit(
        actor,
        "token.created",
        object_type="user",
        object_id=user.get_username(),
        summary=f"Created API token {name} ({token.prefix}…) with {','.join(scopes)}",
        after={"token": token.prefix, "scopes": scopes},
    )
    return token, raw


@transaction.atomic
def revoke_token(actor: Actor, token: ApiToken) -> ApiToken:
    if actor.user is None or actor.user.pk != token.user_id:
        actor.require(Perm.TOKENS_MANAGE_ALL)
    if token.revoked_at is None:
        token.revoked_at = clock.now()
        token.save(update_fields=["revoked_at"])
        record_audit(
            actor,
            "token.revoked",
            object_type="user",
            object_id=token.user.get_username(),
            summary=f"Revoked API token {token.name} ({token.prefix}…)",
        )
    return token


def authenticate_token(raw: str) -> ApiToken | None:
    """The active token with this secret, noting when it was last used (at most once a minute)."""
    if not raw.startswith(TOKEN_PREFIX):
        return None
    token = ApiToken.objects.select_related("user").filter(token_hash=hash_token(raw), revoked_at=None).first()
    if token is None or not token.user.is_active:
        return None
    now = clock.now()
    if token.last_used_at is None or now - token.last_used_at > _LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token


# --- staff accounts and teams --------------------------------------------------------------------
@transaction.atomic
def create_team(actor: Actor, *, name: str) -> Team:
    """A team of staff users; names are unique."""
    actor.require(Perm.USERS_MANAGE)
    name = " ".join(name.split())
    if not name or len(name) > 100:
        raise ValidationError("A team needs a name.", fields={"name": "1 to 100 characters"})
    if Team.objects.filter(name=name).exists():
        raise ConflictError(f"A team named {name!r} exists already.", fields={"name": "already taken"})
    team = Team.objects.create(name=name)
    record_audit(actor, "team.created", object_type="team", object_id=str(team.pk), summary=f"Created team {name}")
    return team


@transaction.atomic
def create_user(
    actor: Actor,
    *,
    username: str,
    password: str,
    role: str,
    team: Team | None = None,
    first_name: str = "",
    last_name: str = "",
    email: str = "",
) -> User:
    """A staff user with one role. The password is stored hashed; it is never written to the audit trail."""
    actor.require(Perm.USERS_MANAGE)
    errors: dict[str, str] = {}
    username = username.strip()
    if not username or len(username) > 150:
        errors["username"] = "1 to 150 characters"
    if role not in Role._value2member_map_:
        errors["role"] = f"must be one of {', '.join(r.value for r in Role)}"
    if not password:
        errors["password"] = "must not be empty"  # noqa: S105 - a reason, not a password
    if errors:
        raise ValidationError("The user is not valid.", fields=errors)
    if User.objects.filter(username=username).exists():
        raise ConflictError(f"A user named {username!r} exists already.", fields={"username": "already taken"})
    user = User.objects.create_user(
        username=username,
        password=password,
        role=role,
        team=team,
        first_name=first_name.strip(),
        last_name=last_name.strip(),
        email=email.strip(),
    )
    record_audit(
        actor,
        "user.created",
        object_type="user",
        object_id=username,
        summary=f"Created {role} {username}" + (f" in {team.name}" if team else ""),
        after={"username": username, "role": role, "team": team.name if team else None, "email": user.email},
    )
    return user
