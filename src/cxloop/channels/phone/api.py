"""/api/v1 routes for call records: from staff tools for a known customer, or from a telephony system."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from django.http import HttpRequest
from ninja import Router, Schema, Status
from pydantic import Field

from cxloop.api.auth import actor_of
from cxloop.channels.phone import services
from cxloop.core.permissions import Perm
from cxloop.customers import queries as customer_queries
from cxloop.interactions.models import Interaction

router = Router(tags=["calls"])


class CallIn(Schema):
    direction: Literal["inbound", "outbound"]
    outcome: Literal["answered", "no_answer", "voicemail", "busy", "missed", "failed"]
    duration_seconds: int = Field(default=0, ge=0, le=services.MAX_DURATION)
    notes: str = Field(default="", max_length=50_000)
    recording_url: str = Field(default="", max_length=2000)
    occurred_at: datetime | None = None
    external_id: str = Field(default="", max_length=255, description="The telephony system's call id")


class NumberCallIn(CallIn):
    number: str = Field(min_length=1, max_length=64, description="The customer's number, any format")
    region: str | None = Field(default=None, max_length=2, description="Region for a national-format number")
    name: str = Field(default="", max_length=200)


class CallOut(Schema):
    id: str
    customer_id: str
    direction: str
    occurred_at: datetime
    summary: str
    notes: str
    outcome: str
    duration_seconds: int
    recording_url: str

    @staticmethod
    def of(interaction: Interaction) -> CallOut:
        meta = interaction.metadata
        return CallOut(
            id=interaction.public_id,
            customer_id=interaction.customer.public_id,
            direction=interaction.direction,
            occurred_at=interaction.occurred_at,
            summary=interaction.summary,
            notes=interaction.body,
            outcome=str(meta.get("outcome", "")),
            duration_seconds=int(meta.get("duration_seconds", 0)),
            recording_url=str(meta.get("recording_url", "")),
        )


def _input(payload: CallIn) -> services.CallInput:
    return services.CallInput(
        direction=payload.direction,
        outcome=payload.outcome,
        duration_seconds=payload.duration_seconds,
        notes=payload.notes,
        recording_url=payload.recording_url,
        occurred_at=payload.occurred_at,
        external_id=payload.external_id,
    )


@router.post("/customers/{customer_id}/calls", response={201: CallOut}, summary="Log a call with a customer")
def log_call(request: HttpRequest, customer_id: str, payload: CallIn) -> Status[CallOut]:
    actor = actor_of(request)
    customer = customer_queries.get_customer(actor, customer_id)
    return Status(201, CallOut.of(services.log_call(actor, customer, _input(payload))))


@router.post(
    "/calls",
    response={201: CallOut},
    summary="Log a call by the customer's number (telephony integrations)",
    description="The number is resolved to its customer (a new lead when nobody has it yet).",
)
def log_call_by_number(request: HttpRequest, payload: NumberCallIn) -> Status[CallOut]:
    actor = actor_of(request)
    actor.require(Perm.CUSTOMERS_EDIT)
    data = _input(payload)
    data.from_number = payload.number if payload.direction == "inbound" else ""
    data.to_number = payload.number if payload.direction == "outbound" else ""
    interaction, _ = services.log_call_from_number(
        actor, payload.number, data, region=payload.region, name=payload.name
    )
    return Status(201, CallOut.of(interaction))
