"""Roles, permissions and token scopes: one table that the UI and the API both consult.

A permission is a capability string such as "customers.merge". A user's role grants a set of them; an
API token narrows that set further by its scopes, so a read-only token of an admin still cannot write.
"""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    ADMIN = "admin"
    SUPERVISOR = "supervisor"
    AGENT = "agent"
    ANALYST = "analyst"


class Scope(StrEnum):
    READ = "read"
    WRITE = "write"
    ADMIN = "admin"


class Perm(StrEnum):
    CUSTOMERS_VIEW = "customers.view"
    CUSTOMERS_EDIT = "customers.edit"
    CUSTOMERS_DELETE = "customers.delete"
    CUSTOMERS_MERGE = "customers.merge"
    CUSTOMERS_EXPORT = "customers.export"
    INTERACTIONS_VIEW = "interactions.view"
    INTERACTIONS_WRITE = "interactions.write"
    ATTRIBUTES_MANAGE = "attributes.manage"
    AUDIT_VIEW = "audit.view"
    TOKENS_MANAGE_ALL = "tokens.manage_all"
    USERS_MANAGE = "users.manage"
    CONVERSATIONS_ASSIGN = "conversations.assign"
    CHANNELS_MANAGE = "channels.manage"
    CASES_VIEW = "cases.view"
    CASES_WORK = "cases.work"  # open and work cases, tasks and promises; hand over one's own cases
    CASES_ASSIGN = "cases.assign"  # assign and hand over anyone's case; bulk actions
    CASES_SUPERVISE = "cases.supervise"  # the supervisor board; receive escalations
    CASES_CONFIGURE = "cases.configure"  # goals, categories, fields, templates, SLAs, routing, macros
    FEEDBACK_VIEW = "feedback.view"  # scores, verbatims, loops
    FEEDBACK_SEND = "feedback.send"  # invite a customer to a survey
    FEEDBACK_MANAGE = "feedback.manage"  # surveys, triggers, closed-loop rules
    JOURNEYS_VIEW = "journeys.view"  # journeys, their diagrams, analytics and enrolment histories; automation rules
    JOURNEYS_ENROL = "journeys.enrol"  # put a customer into an active journey by hand, or take them out
    JOURNEYS_MANAGE = "journeys.manage"  # write, publish, pause, resume and archive journeys; automation rules


_READ = {Perm.CUSTOMERS_VIEW, Perm.INTERACTIONS_VIEW, Perm.CASES_VIEW, Perm.FEEDBACK_VIEW, Perm.JOURNEYS_VIEW}
_AGENT = _READ | {
    Perm.CUSTOMERS_EDIT,
    Perm.INTERACTIONS_WRITE,
    Perm.CASES_WORK,
    Perm.FEEDBACK_SEND,
    Perm.JOURNEYS_ENROL,
}
_SUPERVISOR = _AGENT | {
    Perm.CUSTOMERS_MERGE,
    Perm.CUSTOMERS_DELETE,
    Perm.CUSTOMERS_EXPORT,
    Perm.CONVERSATIONS_ASSIGN,
    Perm.CHANNELS_MANAGE,
    Perm.CASES_ASSIGN,
    Perm.CASES_SUPERVISE,
    Perm.CASES_CONFIGURE,
    Perm.FEEDBACK_MANAGE,
    Perm.JOURNEYS_MANAGE,
}
_ANALYST = _READ | {Perm.CUSTOMERS_EXPORT}

ROLE_PERMISSIONS: dict[Role, frozenset[Perm]] = {
    Role.ADMIN: frozenset(Perm),
    Role.SUPERVISOR: frozenset(_SUPERVISOR),
    Role.AGENT: frozenset(_AGENT),
    Role.ANALYST: frozenset(_ANALYST),
}

# What each token scope allows at most; the role still applies on top.
SCOPE_PERMISSIONS: dict[Scope, frozenset[Perm]] = {
    Scope.READ: frozenset(_READ | {Perm.CUSTOMERS_EXPORT}),
    Scope.WRITE: frozenset(_SUPERVISOR),
    Scope.ADMIN: frozenset(Perm),
}


def permissions_for(role: str, scopes: list[str] | None = None) -> frozenset[Perm]:
    granted = ROLE_PERMISSIONS.get(Role(role), frozenset()) if role in Role._value2member_map_ else frozenset()
    if scopes is None:
        return granted
    allowed: set[Perm] = set()
    for scope in scopes:
        if scope in Scope._value2member_map_:
            allowed |= SCOPE_PERMISSIONS[Scope(scope)]
    return granted & frozenset(allowed)
