"""The case state machine: which status may follow which. Services consult it; nothing else changes status.

new ──▶ open ◀──▶ waiting on customer
 │       ▲ ▲──▶ waiting on us
 │       │          │
 └──────▶ resolved ◀┘ ──▶ closed (final)
          │  ▲
          └──┘ reopen (back to open)
"""

from __future__ import annotations

from cxloop.cases.models.case import CaseStatus

S = CaseStatus

TRANSITIONS: dict[str, tuple[str, ...]] = {
    S.NEW: (S.OPEN, S.WAITING_ON_CUSTOMER, S.WAITING_ON_US, S.RESOLVED, S.CLOSED),
    S.OPEN: (S.WAITING_ON_CUSTOMER, S.WAITING_ON_US, S.RESOLVED),
    S.WAITING_ON_CUSTOMER: (S.OPEN, S.WAITING_ON_US, S.RESOLVED),
    S.WAITING_ON_US: (S.OPEN, S.WAITING_ON_CUSTOMER, S.RESOLVED),
    S.RESOLVED: (S.OPEN, S.CLOSED),
    S.CLOSED: (),
}


def allowed_transitions(status: str) -> tuple[str, ...]:
    return tuple(str(s) for s in TRANSITIONS.get(status, ()))


def can_transition(current: str, requested: str) -> bool:
    return requested in allowed_transitions(current)


def is_reopening(current: str, requested: str) -> bool:
    return current == S.RESOLVED and requested == S.OPEN
