"""Template context for the navigation shell."""

from __future__ import annotations

from functools import cached_property
from typing import Any

from django.http import HttpRequest

from cxloop.accounts import notifications
from cxloop.cases.queries import board as board_queries
from cxloop.channels import queries as channel_queries
from cxloop.core.actor import Actor
from cxloop.core.permissions import Perm
from cxloop.customers import queries as customer_queries
from cxloop.interactions import inbox as inbox_queries

_SECTIONS = (
    ("feedback", "feedback"),
    ("customer", "customers"),
    ("suggestion", "suggestions"),
    ("merge", "suggestions"),
    ("audit", "audit"),
    ("token", "tokens"),
    ("attribute", "settings"),
    ("template", "settings"),
    ("suppression", "settings"),
    ("inbox", "inbox"),
    ("conversation", "inbox"),
    ("attachment", "inbox"),
    ("quarantine", "quarantine"),
    ("case", "cases"),
    ("board", "board"),
    ("setup", "settings"),
    ("sla", "settings"),
    ("notification", "notifications"),
    ("journey", "journeys"),
    ("automation", "automation"),
)


def _section(request: HttpRequest) -> str:
    """Which main navigation entry the current page belongs to (for aria-current)."""
    match = getattr(request, "resolver_match", None)
    name = match.url_name if match is not None and match.namespace == "web" else ""
    for prefix, section in _SECTIONS:
        if name and name.startswith(prefix):
            return section
    return ""


class Navigation:
    """What the top bar needs; the pending count is read only when a template shows it."""

    def __init__(self, actor: Actor, section: str) -> None:
        self.actor = actor
        self.section = section

    @cached_property
    def pending_suggestions(self) -> int:
        if not self.actor.can(Perm.CUSTOMERS_VIEW):
            return 0
        return customer_queries.pending_suggestions(self.actor).count()

    @cached_property
    def inbox_awaiting(self) -> int:
        """Open conversations assigned to the user: the ones waiting for their answer."""
        return inbox_queries.awaiting_me(self.actor)

    @cached_property
    def my_cases(self) -> int:
        """Active cases the user owns."""
        return board_queries.my_active_count(self.actor)

    @cached_property
    def quarantined(self) -> int:
        return channel_queries.quarantined_count(self.actor)

    @cached_property
    def unread_notifications(self) -> int:
        """The staff member's unread notifications (promise reminders and escalations, hand-overs...)."""
        return notifications.unread_count(self.actor)


def navigation(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    actor = Actor.for_user(user)
    return {
        "perms_cx": {p.name.lower(): actor.can(p) for p in Perm},
        "actor": actor,
        "nav": Navigation(actor, _section(request)),
    }
