from __future__ import annotations

from django.db.models import QuerySet

from cxloop.accounts.models import ApiToken, Team, User
from cxloop.core.actor import Actor
from cxloop.core.errors import NotFoundError
from cxloop.core.permissions import Perm


def visible_tokens(actor: Actor) -> QuerySet[ApiToken]:
    """Admins see every token; everyone else their own."""
    qs = ApiToken.objects.select_related("user")
    if actor.can(Perm.TOKENS_MANAGE_ALL):
        return qs
    return qs.filter(user=actor.user)


def get_token(actor: Actor, token_id: int) -> ApiToken:
    try:
        return visible_tokens(actor).get(pk=token_id)
    except ApiToken.DoesNotExist:
        raise NotFoundError(f"No token {token_id}.") from None


def find_user(username: str) -> User | None:
    return User.objects.filter(username=username).first()


def find_team(name: str) -> Team | None:
    return Team.objects.filter(name=name).first()
