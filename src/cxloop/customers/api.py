"""/api/v1 routes of the customers module: parse, authorise, one service or query call, shape."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Query, Router, Schema, Status
from pydantic import Field

from cxloop.api.auth import actor_of
from cxloop.core.pagination import paginate
from cxloop.customers import queries
from cxloop.customers import services as customer_services
from cxloop.customers.schemas import (
    AttributeDefinitionIn,
    AttributeDefinitionOut,
    CustomerCreate,
    CustomerOut,
    CustomerPage,
    CustomerUpdate,
    IdentityIn,
    IdentityOut,
    IdentityUpdate,
    MergeIn,
    MergeOut,
    SuggestionDecision,
    SuggestionOut,
    SuggestionPage,
    UnmergeIn,
)
from cxloop.customers.types import CustomerInput, IdentityInput

router = Router(tags=["customers"])


class CustomerFilter(Schema):
    q: str = Field(default="", description="Name fragment, email or phone")
    name: str = ""
    email: str = ""
    phone: str = ""
    region: str = Field(default="", max_length=2)
    identity: str = Field(default="", description="Any identity value, exact")
    tag: str = ""
    lifecycle_stage: str = ""
    include_merged: bool = False
    cursor: str | None = None
    limit: int = Field(default=25, ge=1, le=200)


class PageQuery(Schema):
    cursor: str | None = None
    limit: int = Field(default=25, ge=1, le=200)


class LookupQuery(Schema):
    email: str = ""
    phone: str = ""
    region: str = Field(default="", max_length=2)


def _identity_input(item: IdentityIn) -> IdentityInput:
    return IdentityInput(
        kind=item.kind,
        value=item.value,
        region=item.region,
        network=item.network,
        is_verified=item.is_verified,
        source=item.source,
    )


@router.get("/customers", response=CustomerPage, summary="Search customers")
def list_customers(request: HttpRequest, filters: Query[CustomerFilter]) -> CustomerPage:
    """Filter by name, email, phone, any identity, tag, stage, and custom attributes as `attr.<key>=value`."""
    attributes = {k[5:]: str(v) for k, v in request.GET.items() if k.startswith("attr.")}
    qs = queries.search_customers(
        actor_of(request),
        q=filters.q,
        name=filters.name,
        email=filters.email,
        phone=filters.phone,
        identity=filters.identity,
        region=filters.region,
        tag=filters.tag,
        lifecycle_stage=filters.lifecycle_stage,
        attributes=attributes,
        include_merged=filters.include_merged,
    )
    page = paginate(qs.select_related("merged_into"), ("-id",), filters.cursor, filters.limit)
    return CustomerPage(items=[CustomerOut.from_model(c) for c in page.items], next_cursor=page.next_cursor)


@router.post("/customers", response={201: CustomerOut}, summary="Create a customer")
def create_customer(request: HttpRequest, payload: CustomerCreate) -> Status[Any]:
    data = CustomerInput(
        name=payload.name,
        country=payload.country,
        locale=payload.locale,
        time_zone=payload.time_zone,
        lifecycle_stage=payload.lifecycle_stage,
        identities=[_identity_input(i) for i in payload.identities],
        attributes=payload.attributes,
        tags=payload.tags,
        source="api",
    )
    customer = customer_services.create_customer(actor_of(request), data)
    return Status(201, CustomerOut.from_model(queries.get_customer(actor_of(request), customer.public_id)))


@router.get("/customers/lookup", response=CustomerOut, summary="Find the customer with an email or phone")
def lookup_customer(request: HttpRequest, params: Query[LookupQuery]) -> CustomerOut:
    customer = queries.lookup_customer(actor_of(request), email=params.email, phone=params.phone, region=params.region)
    return CustomerOut.from_model(customer)


@router.get("/customers/{customer_id}", response=CustomerOut)
def get_customer(request: HttpRequest, customer_id: str) -> CustomerOut:
    return CustomerOut.from_model(queries.get_customer(actor_of(request), customer_id))


@router.patch("/customers/{customer_id}", response=CustomerOut)
def update_customer(request: HttpRequest, customer_id: str, payload: CustomerUpdate) -> CustomerOut:
    actor = actor_of(request)
    customer = queries.get_customer(actor, customer_id)
    customer_services.update_customer(actor, customer, payload.model_dump(exclude_unset=True))
    return CustomerOut.from_model(queries.get_customer(actor, customer_id))


@router.delete("/customers/{customer_id}", response={204: None})
def delete_customer(request: HttpRequest, customer_id: str) -> Status[Any]:
    actor = actor_of(request)
    customer_services.delete_customer(actor, queries.get_customer(actor, customer_id))
    return Status(204, None)


@router.get("/customers/{customer_id}/export", response=dict[str, Any], summary="Export a customer's personal data")
def export_customer(request: HttpRequest, customer_id: str) -> dict[str, Any]:
    """Profile, identities and timeline as one JSON document (audited as an export)."""
    actor = actor_of(request)
    return customer_services.export_customer(actor, queries.get_customer(actor, customer_id))


@router.get("/customers/{customer_id}/identities", response=list[IdentityOut])
def list_identities(request: HttpRequest, customer_id: str) -> list[IdentityOut]:
    customer = queries.get_customer(actor_of(request), customer_id)
    return [IdentityOut.from_model(i) for i in customer.identities.all()]


@router.post("/customers/{customer_id}/identities", response={201: IdentityOut})
def add_identity(request: HttpRequest, customer_id: str, payload: IdentityIn) -> Status[Any]:
    actor = actor_of(request)
    customer = queries.get_customer(actor, customer_id)
    identity = customer_services.add_identity(actor, customer, _identity_input(payload))
    return Status(201, IdentityOut.from_model(identity))


@router.patch("/customers/{customer_id}/identities/{identity_id}", response=IdentityOut)
def update_identity(request: HttpRequest, customer_id: str, identity_id: str, payload: IdentityUpdate) -> IdentityOut:
    actor = actor_of(request)
    identity = queries.get_identity(actor, queries.get_customer(actor, customer_id), identity_id)
    return IdentityOut.from_model(customer_services.set_identity_verified(actor, identity, payload.is_verified))


@router.delete("/customers/{customer_id}/identities/{identity_id}", response={204: None})
def remove_identity(request: HttpRequest, customer_id: str, identity_id: str) -> Status[Any]:
    actor = actor_of(request)
    identity = queries.get_identity(actor, queries.get_customer(actor, customer_id), identity_id)
    customer_services.remove_identity(actor, identity)
    return Status(204, None)


@router.post("/customers/{customer_id}/merge", response={201: MergeOut}, summary="Merge another customer into this one")
def merge_customer(request: HttpRequest, customer_id: str, payload: MergeIn) -> Status[Any]:
    actor = actor_of(request)
    target = queries.get_customer(actor, customer_id)
    source = queries.get_customer(actor, payload.source)
    merge = customer_services.merge_customers(actor, target, source, reason=payload.reason)
    return Status(201, MergeOut.from_model(merge))


@router.get("/customers/{customer_id}/merges", response=list[MergeOut])
def list_merges(request: HttpRequest, customer_id: str) -> list[MergeOut]:
    actor = actor_of(request)
    return [MergeOut.from_model(m) for m in queries.merges_of(actor, queries.get_customer(actor, customer_id))]


@router.post("/merges/{merge_id}/unmerge", response=MergeOut, summary="Undo a merge")
def unmerge(request: HttpRequest, merge_id: str, payload: UnmergeIn) -> MergeOut:
    actor = actor_of(request)
    merge = customer_services.unmerge(actor, queries.get_merge(actor, merge_id), reason=payload.reason)
    return MergeOut.from_model(merge)


@router.get("/merge-suggestions", response=SuggestionPage)
def list_suggestions(request: HttpRequest, params: Query[PageQuery]) -> SuggestionPage:
    page = paginate(
        queries.pending_suggestions(actor_of(request)), ("-probability", "-id"), params.cursor, params.limit
    )
    return SuggestionPage(items=[SuggestionOut.from_model(s) for s in page.items], next_cursor=page.next_cursor)


@router.post("/merge-suggestions/{suggestion_id}/decision", response=SuggestionOut)
def decide_suggestion(request: HttpRequest, suggestion_id: str, payload: SuggestionDecision) -> SuggestionOut:
    actor = actor_of(request)
    suggestion = queries.get_suggestion(actor, suggestion_id)
    if payload.action == "dismiss":
        customer_services.dismiss_suggestion(actor, suggestion)
    else:
        keep = queries.get_customer(actor, payload.keep or suggestion.customer_a.public_id)
        customer_services.accept_suggestion(actor, suggestion, keep=keep)
    return SuggestionOut.from_model(queries.get_suggestion(actor, suggestion_id))


@router.get("/attributes", response=list[AttributeDefinitionOut], tags=["attributes"])
def list_attributes(request: HttpRequest) -> list[AttributeDefinitionOut]:
    return [AttributeDefinitionOut.from_orm(d) for d in queries.attribute_definitions(actor_of(request))]


@router.post("/attributes", response={201: AttributeDefinitionOut}, tags=["attributes"])
def define_attribute(request: HttpRequest, payload: AttributeDefinitionIn) -> Status[Any]:
    definition = customer_services.define_attribute(actor_of(request), **payload.model_dump())
    return Status(201, AttributeDefinitionOut.from_orm(definition))


@router.delete("/attributes/{key}", response={204: None}, tags=["attributes"])
def delete_attribute(request: HttpRequest, key: str) -> Status[None]:
    """Remove a definition; values already stored on profiles are kept."""
    actor = actor_of(request)
    customer_services.delete_attribute(actor, queries.get_attribute_definition(actor, key))
    return Status(204, None)
