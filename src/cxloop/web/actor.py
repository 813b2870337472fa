"""Views get the acting user as an Actor, the same object the API and services use."""

from __future__ import annotations

from django.http import HttpRequest

from cxloop.api.auth import client_ip
from cxloop.core.actor import Actor


def web_actor(request: HttpRequest) -> Actor:
    return Actor.for_user(request.user, via="web", ip_address=client_ip(request))  # type: ignore[arg-type]
