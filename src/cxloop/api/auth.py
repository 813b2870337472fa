"""API authentication: a personal bearer token, or the staff session (with CSRF) for the web UI's calls."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja.security import APIKeyCookie, HttpBearer

from cxloop.accounts import services as account_services
from cxloop.core.actor import Actor


def client_ip(request: HttpRequest) -> str | None:
    return request.META.get("REMOTE_ADDR")


class BearerToken(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> Actor | None:
        found = account_services.authenticate_token(token)
        if found is None:
            return None
        return Actor.for_token(found, ip_address=client_ip(request))


class StaffSession(APIKeyCookie):
    """The logged-in staff user; ninja checks the CSRF token for unsafe methods."""

    param_name = "sessionid"

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and user.is_active:
            return Actor.for_user(user, via="web", ip_address=client_ip(request))
        return None


def actor_of(request: HttpRequest) -> Actor:
    actor = request.auth  # type: ignore[attr-defined]
    assert isinstance(actor, Actor)
    return actor
