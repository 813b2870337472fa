"""Events of the customers module (names in noun.verb form; the full catalogue is in docs/events.md)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from cxloop.events.bus import DomainEvent


@dataclass(frozen=True)
class CustomerCreated(DomainEvent):
    name: ClassVar[str] = "customer.created"
    customer_id: str
    source: str


@dataclass(frozen=True)
class CustomerUpdated(DomainEvent):
    name: ClassVar[str] = "customer.updated"
    customer_id: str
    changed: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class CustomerDeleted(DomainEvent):
    name: ClassVar[str] = "customer.deleted"
    customer_id: str


@dataclass(frozen=True)
class IdentityAdded(DomainEvent):
    name: ClassVar[str] = "identity.added"
    customer_id: str
    identity_id: str
    kind: str


@dataclass(frozen=True)
class IdentityRemoved(DomainEvent):
    name: ClassVar[str] = "identity.removed"
    customer_id: str
    identity_id: str


@dataclass(frozen=True)
class CustomerMerged(DomainEvent):
    name: ClassVar[str] = "customer.merged"
    merge_id: str
    target_id: str
    source_id: str


@dataclass(frozen=True)
class CustomerUnmerged(DomainEvent):
    name: ClassVar[str] = "customer.unmerged"
    merge_id: str
    target_id: str
    source_id: str


@dataclass(frozen=True)
class MergeSuggested(DomainEvent):
    name: ClassVar[str] = "merge.suggested"
    suggestion_id: str
    customer_a_id: str
    customer_b_id: str
    probability: float
