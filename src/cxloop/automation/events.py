"""Domain events of automation rules (published on commit through events.bus; listed in docs/events.md)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from cxloop.events.bus import DomainEvent


@dataclass(frozen=True)
class RuleChanged(DomainEvent):
    """A rule was created, updated, switched on or off, moved or deleted (`change` says which)."""

    name: ClassVar[str] = "automation_rule.changed"
    rule_id: str
    change: str  # created, updated, activated, deactivated, reordered, deleted


@dataclass(frozen=True)
class RuleRunFinished(DomainEvent):
    """A rule ran for an event: its actions were tried (status succeeded, partially or failed)."""

    name: ClassVar[str] = "automation_rule.ran"
    run_id: str
    rule_id: str
    customer_id: str
    status: str
