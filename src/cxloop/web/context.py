"""Template context for the navigation shell."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from cxloop.core.actor import Actor
from cxloop.core.permissions import Perm


def navigation(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    actor = Actor.for_user(user)
    return {"perms_cx": {p.name.lower(): actor.can(p) for p in Perm}, "actor": actor}
