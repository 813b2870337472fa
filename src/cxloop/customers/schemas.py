"""API shapes of the customers module."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from ninja import Schema
from pydantic import Field

from cxloop.customers.models import Customer, Identity, Merge, MergeSuggestion

IdentityKindName = Literal["email", "phone", "whatsapp", "social", "external", "anonymous"]


class IdentityIn(Schema):
    kind: IdentityKindName
    value: str = Field(min_length=1, max_length=254)
    region: str | None = Field(default=None, max_length=2, description="Country to read a national phone number in")
    network: str | None = Field(default=None, max_length=50, description="Social network or external system")
    is_verified: bool = False
    source: str = Field(default="", max_length=50)


class IdentityOut(Schema):
    id: str
    kind: str
    network: str
    value: str
    is_verified: bool
    source: str
    created_at: datetime
    last_seen_at: datetime | None

    @staticmethod
    def from_model(identity: Identity) -> IdentityOut:
        return IdentityOut(
            id=identity.public_id,
            kind=identity.kind,
            network=identity.network,
            value=identity.value,
            is_verified=identity.is_verified,
            source=identity.source,
            created_at=identity.created_at,
            last_seen_at=identity.last_seen_at,
        )


class IdentityUpdate(Schema):
    is_verified: bool


class CustomerCreate(Schema):
    name: str = Field(default="", max_length=200)
    country: str = Field(default="", max_length=2)
    locale: str = Field(default="", max_length=16)
    time_zone: str = Field(default="", max_length=64)
    lifecycle_stage: str = "lead"
    identities: list[IdentityIn] = Field(default_factory=list, max_length=50)
    attributes: dict[str, Any] = Field(default_factory=dict)
    tags: list[str] = Field(default_factory=list, max_length=50)


class CustomerUpdate(Schema):
    name: str | None = Field(default=None, max_length=200)
    country: str | None = Field(default=None, max_length=2)
    locale: str | None = Field(default=None, max_length=16)
    time_zone: str | None = Field(default=None, max_length=64)
    lifecycle_stage: str | None = None
    attributes: dict[str, Any] | None = Field(default=None, description="Merged into the profile; null removes a key")
    tags: list[str] | None = Field(default=None, description="Replaces the tags")


class CustomerOut(Schema):
    id: str
    name: str
    country: str
    locale: str
    time_zone: str
    lifecycle_stage: str
    status: str
    merged_into: str | None
    attributes: dict[str, Any]
    tags: list[str]
    identities: list[IdentityOut]
    created_at: datetime
    updated_at: datetime

    @staticmethod
    def from_model(customer: Customer) -> CustomerOut:
        return CustomerOut(
            id=customer.public_id,
            name=customer.name,
            country=customer.country,
            locale=customer.locale,
            time_zone=customer.time_zone,
            lifecycle_stage=customer.lifecycle_stage,
            status=customer.status,
            merged_into=customer.merged_into.public_id if customer.merged_into_id and customer.merged_into else None,
            attributes=customer.attributes,
            tags=sorted(t.name for t in customer.tags.all()),
            identities=[IdentityOut.from_model(i) for i in customer.identities.all()],
            created_at=customer.created_at,
            updated_at=customer.updated_at,
        )


class CustomerPage(Schema):
    items: list[CustomerOut]
    next_cursor: str | None


class MergeIn(Schema):
    source: str = Field(description="Id of the customer folded into this one")
    reason: str = Field(default="", max_length=300)


class UnmergeIn(Schema):
    reason: str = Field(default="", max_length=300)


class MergeOut(Schema):
    id: str
    target: str
    source: str
    moved: dict[str, int]
    created_at: datetime
    undone_at: datetime | None

    @staticmethod
    def from_model(merge: Merge) -> MergeOut:
        return MergeOut(
            id=merge.public_id,
            target=merge.target.public_id,
            source=merge.source.public_id,
            moved={k: len(v) for k, v in merge.moved.items()},
            created_at=merge.created_at,
            undone_at=merge.undone_at,
        )


class SuggestionOut(Schema):
    id: str
    customer_a: str
    customer_b: str
    probability: float
    source: str
    evidence: dict[str, Any]
    status: str
    created_at: datetime

    @staticmethod
    def from_model(s: MergeSuggestion) -> SuggestionOut:
        return SuggestionOut(
            id=s.public_id,
            customer_a=s.customer_a.public_id,
            customer_b=s.customer_b.public_id,
            probability=s.probability,
            source=s.source,
            evidence=s.evidence,
            status=s.status,
            created_at=s.created_at,
        )


class SuggestionPage(Schema):
    items: list[SuggestionOut]
    next_cursor: str | None


class SuggestionDecision(Schema):
    action: Literal["merge", "dismiss"]
    keep: str | None = Field(default=None, description="For merge: the customer id that survives")


class AttributeDefinitionIn(Schema):
    key: str = Field(max_length=50)
    label: str = Field(max_length=100)
    type: Literal["text", "number", "boolean", "date", "choice"] = "text"
    choices: list[str] = Field(default_factory=list)
    description: str = Field(default="", max_length=300)


class AttributeDefinitionOut(Schema):
    key: str
    label: str
    type: str
    choices: list[str]
    description: str
