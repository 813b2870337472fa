"""/api/v1/tokens: a user's own API tokens (admins: everyone's)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import Router, Schema, Status
from pydantic import Field

from cxloop.accounts import queries, services
from cxloop.accounts.models import ApiToken
from cxloop.api.auth import actor_of
from cxloop.core.errors import PermissionDeniedError

router = Router(tags=["tokens"])


class TokenIn(Schema):
    name: str = Field(min_length=1, max_length=100)
    scopes: list[str] = Field(min_length=1)


class TokenOut(Schema):
    id: int
    name: str
    user: str
    prefix: str
    scopes: list[str]
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None

    @staticmethod
    def from_model(t: ApiToken) -> TokenOut:
        return TokenOut(
            id=t.pk,
            name=t.name,
            user=t.user.get_username(),
            prefix=t.prefix,
            scopes=list(t.scopes),
            created_at=t.created_at,
            last_used_at=t.last_used_at,
            revoked_at=t.revoked_at,
        )


class TokenCreated(TokenOut):
    token: str = Field(description="The secret. It is shown only this once.")


@router.get("/tokens", response=list[TokenOut])
def list_tokens(request: HttpRequest) -> list[TokenOut]:
    return [TokenOut.from_model(t) for t in queries.visible_tokens(actor_of(request))[:500]]


@router.post("/tokens", response={201: TokenCreated}, summary="Create a token for yourself")
def create_token(request: HttpRequest, payload: TokenIn, response: HttpResponse) -> Status[Any]:
    actor = actor_of(request)
    if actor.user is None:
        raise PermissionDeniedError("Tokens belong to users.")
    token, secret = services.create_token(actor, actor.user, name=payload.name, scopes=payload.scopes)
    # The answer holds the secret: no cache may keep it, nor the Idempotency-Key table.
    response["Cache-Control"] = "no-store"
    return Status(201, TokenCreated(**TokenOut.from_model(token).model_dump(), token=secret))


@router.delete("/tokens/{token_id}", response={204: None}, summary="Revoke a token")
def revoke_token(request: HttpRequest, token_id: int) -> Status[Any]:
    actor = actor_of(request)
    services.revoke_token(actor, queries.get_token(actor, token_id))
    return Status(204, None)
