"""/api/v1 routes for the timeline and for recording interactions."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.http import HttpRequest
from ninja import Query, Router, Schema, Status
from pydantic import Field
from pydantic import ValidationError as PydanticValidationError

from cxloop.api.auth import actor_of
from cxloop.customers import queries as customer_queries
from cxloop.customers.types import IdentityInput
from cxloop.interactions import queries, services
from cxloop.interactions.schemas import (
    BatchItemError,
    BatchItemOut,
    InboundBatchIn,
    InboundBatchOut,
    InboundIn,
    InboundOut,
    InteractionIn,
    InteractionOut,
    TimelinePage,
)
from cxloop.interactions.types import InboundItem, InteractionInput

router = Router(tags=["timeline"])


class TimelineFilter(Schema):
    channel: str = Field(default="", description="One channel or several, comma-separated")
    direction: str = ""
    since: datetime | None = None
    until: datetime | None = None
    q: str = Field(default="", max_length=200)
    cursor: str | None = None
    limit: int = Field(default=25, ge=1, le=200)


def _input(payload: InteractionIn) -> InteractionInput:
    return InteractionInput(
        channel=payload.channel,
        direction=payload.direction,
        occurred_at=payload.occurred_at,
        summary=payload.summary,
        body=payload.body,
        subject=payload.subject,
        thread_ref=payload.thread_ref,
        external_id=payload.external_id,
        metadata=payload.metadata,
    )


@router.get("/customers/{customer_id}/timeline", response=TimelinePage, summary="A customer's timeline")
def customer_timeline(request: HttpRequest, customer_id: str, filters: Query[TimelineFilter]) -> TimelinePage:
    actor = actor_of(request)
    customer = customer_queries.get_customer(actor, customer_id)
    page = queries.timeline(
        actor,
        customer,
        channel=filters.channel,
        direction=filters.direction,
        since=filters.since,
        until=filters.until,
        text=filters.q,
        cursor=filters.cursor,
        limit=filters.limit,
    )
    return TimelinePage(items=[InteractionOut.from_model(i) for i in page.items], next_cursor=page.next_cursor)


@router.post("/customers/{customer_id}/interactions", response={201: InteractionOut}, summary="Record an interaction")
def record_interaction(request: HttpRequest, customer_id: str, payload: InteractionIn) -> Status[Any]:
    actor = actor_of(request)
    customer = customer_queries.get_customer(actor, customer_id)
    interaction = services.record_interaction(actor, customer, _input(payload))
    return Status(201, InteractionOut.from_model(interaction))


@router.post("/interactions", response={201: InboundOut}, summary="Ingest an inbound item from any channel")
def ingest(request: HttpRequest, payload: InboundIn) -> Status[Any]:
    """Resolves the identities to a customer (creating one if needed) and records the interaction."""
    item = _inbound_item(payload)
    interaction, resolution = services.ingest_interaction(
        actor_of(request), item.identities, item.interaction, name=item.name, country=item.country
    )
    return Status(
        201,
        InboundOut(
            interaction=InteractionOut.from_model(interaction),
            customer=resolution.customer.public_id,
            customer_created=resolution.created,
            merge_suggestions=[s.public_id for s in resolution.suggestions],
        ),
    )


def _inbound_item(payload: InboundIn) -> InboundItem:
    identities = [
        IdentityInput(
            kind=i.kind,
            value=i.value,
            region=i.region,
            network=i.network,
            is_verified=i.is_verified,
            source=i.source or payload.channel,
        )
        for i in payload.identities
    ]
    return InboundItem(identities=identities, interaction=_input(payload), name=payload.name, country=payload.country)


def _item_error(index: int, code: str, message: str, fields: dict[str, str]) -> BatchItemOut:
    return BatchItemOut(
        index=index,
        ok=False,
        interaction=None,
        customer=None,
        customer_created=False,
        merge_suggestions=[],
        error=BatchItemError(code=code, message=message, fields=fields),
    )


def _schema_errors(exc: PydanticValidationError) -> dict[str, str]:
    fields: dict[str, str] = {}
    for error in exc.errors():
        key = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error["loc"]).lstrip(".") or "item"
        fields.setdefault(key, str(error["msg"]).removeprefix("Value error, "))
    return fields


def _batch_item_out(index: int, result: services.ItemResult) -> BatchItemOut:
    if result.error is not None:
        return _item_error(index, result.error.code, result.error.message, result.error.fields)
    assert result.interaction is not None
    assert result.resolution is not None
    return BatchItemOut(
        index=index,
        ok=True,
        interaction=result.interaction.public_id,
        customer=result.resolution.customer.public_id,
        customer_created=result.resolution.created,
        merge_suggestions=[s.public_id for s in result.resolution.suggestions],
        error=None,
    )


# Declared before GET /interactions/{interaction_id}, whose path would otherwise swallow "batch".
@router.post("/interactions/batch", response=InboundBatchOut, summary="Ingest up to 1,000 inbound items at once")
def ingest_batch(request: HttpRequest, payload: InboundBatchIn) -> InboundBatchOut:
    """Each item as in POST /interactions; invalid items are reported by index, the others stored together."""
    parsed: list[tuple[int, InboundIn]] = []
    outcomes: dict[int, BatchItemOut] = {}
    for index, raw in enumerate(payload.items):
        try:
            parsed.append((index, InboundIn.model_validate(raw)))
        except PydanticValidationError as exc:
            outcomes[index] = _item_error(index, "validation_error", "The item is not valid.", _schema_errors(exc))
    result = services.ingest_batch(actor_of(request), [_inbound_item(item) for _, item in parsed])
    for (index, _), item_result in zip(parsed, result.items, strict=True):
        outcomes[index] = _batch_item_out(index, item_result)
    items = [outcomes[index] for index in range(len(payload.items))]
    stored = sum(item.ok for item in items)
    return InboundBatchOut(stored=stored, failed=len(items) - stored, items=items)


@router.get("/interactions/{interaction_id}", response=InteractionOut)
def get_interaction(request: HttpRequest, interaction_id: str) -> InteractionOut:
    return InteractionOut.from_model(queries.get_interaction(actor_of(request), interaction_id))
