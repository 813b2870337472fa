"""Recording interactions on a customer's timeline: the one writer every channel calls."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import transaction

from cxloop.core import clock
from cxloop.core.actor import Actor
from cxloop.core.errors import ValidationError
from cxloop.core.permissions import Perm
from cxloop.customers import services as customer_services
from cxloop.customers.models import Customer
from cxloop.customers.types import IdentityInput
from cxloop.events.bus import publish
from cxloop.interactions.events import InteractionRecorded
from cxloop.interactions.models import Channel, Direction, Interaction, Thread
from cxloop.interactions.types import InteractionInput
from cxloop.privacy.services import record_audit

MAX_BODY = 200_000
_FUTURE_TOLERANCE = timedelta(hours=24)


def summarize(body: str, limit: int = 200) -> str:
    text = " ".join(body.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def clean_interaction(data: InteractionInput) -> InteractionInput:
    errors: dict[str, str] = {}
    if data.channel not in Channel.values:
        errors["channel"] = f"must be one of {', '.join(Channel.values)}"
    if data.direction not in Direction.values:
        errors["direction"] = f"must be one of {', '.join(Direction.values)}"
    if data.occurred_at is not None:
        if data.occurred_at.tzinfo is None:
            errors["occurred_at"] = "must include a time zone offset (e.g. 2026-01-31T09:00:00Z)"
        elif data.occurred_at > clock.now() + _FUTURE_TOLERANCE:
            errors["occurred_at"] = "must not be in the future"
    if len(data.body) > MAX_BODY:
        errors["body"] = f"must be at most {MAX_BODY} characters"
    if len(data.summary) > 500:
        errors["summary"] = "must be at most 500 characters"
    if len(data.subject) > 300:
        errors["subject"] = "must be at most 300 characters"
    if not (data.summary.strip() or data.body.strip()):
        errors["body"] = "give a body or a summary"
    if errors:
        raise ValidationError("The interaction is not valid.", fields=errors)
    return data


def _thread_for(customer: Customer, data: InteractionInput, occurred_at: datetime) -> Thread | None:
    if not data.thread_ref:
        return None
    thread, created = Thread.objects.get_or_create(
        customer=customer,
        channel=data.channel,
        external_ref=data.thread_ref[:255],
        defaults={"subject": data.subject[:300], "last_activity_at": occurred_at},
    )
    if not created and thread.last_activity_at < occurred_at:
        thread.last_activity_at = occurred_at
        thread.save(update_fields=["last_activity_at", "updated_at"])
    return thread


@transaction.atomic
def record_interaction(actor: Actor, customer: Customer, data: InteractionInput) -> Interaction:
    actor.require(Perm.INTERACTIONS_WRITE)
    if not customer.is_active:
        customer = Customer.objects.get(pk=customer.merged_into_id) if customer.merged_into_id else customer
    data = clean_interaction(data)
    occurred_at = data.occurred_at or clock.now()
    interaction = Interaction.objects.create(
        customer=customer,
        thread=_thread_for(customer, data, occurred_at),
        channel=data.channel,
        direction=data.direction,
        occurred_at=occurred_at,
        summary=data.summary.strip() or summarize(data.body),
        body=data.body,
        raw_ref=data.raw_ref,
        external_id=data.external_id,
        metadata=data.metadata,
        created_by=actor.user,
    )
    record_audit(
        actor,
        "interaction.recorded",
        object_type="customer",
        object_id=customer.public_id,
        summary=f"{data.direction} {data.channel}: {interaction.summary[:120]}",
        after={"interaction": interaction.public_id, "channel": data.channel, "direction": data.direction},
    )
    publish(
        InteractionRecorded(
            interaction_id=interaction.public_id,
            customer_id=customer.public_id,
            channel=interaction.channel,
            direction=interaction.direction,
        )
    )
    return interaction


@transaction.atomic
def ingest_interaction(
    actor: Actor, identities: list[IdentityInput], data: InteractionInput, *, name: str = "", country: str = ""
) -> tuple[Interaction, customer_services.Resolution]:
    """An inbound item: resolve who it is from, then put it on their timeline."""
    clean_interaction(data)
    resolution = customer_services.resolve_customer(actor, identities, name=name, country=country, source=data.channel)
    return record_interaction(actor, resolution.customer, data), resolution


# --- merge support (registered in apps.py) ---------------------------------------------------
def move_customer_interactions(from_customer_id: int, to_customer_id: int) -> list[int]:
    ids = list(Interaction.objects.filter(customer_id=from_customer_id).values_list("pk", flat=True))
    Interaction.objects.filter(pk__in=ids).update(customer_id=to_customer_id)
    return ids


def restore_customer_interactions(ids: list[int], to_customer_id: int) -> None:
    Interaction.objects.filter(pk__in=ids).update(customer_id=to_customer_id)


def export_customer_interactions(customer_id: int) -> list[dict[str, object]]:
    """Every interaction of a customer as plain data, oldest first, for a personal-data export."""
    rows = Interaction.objects.filter(customer_id=customer_id).select_related("thread").order_by("occurred_at", "id")
    return [
        {
            "id": i.public_id,
            "channel": i.channel,
            "direction": i.direction,
            "occurred_at": i.occurred_at.isoformat(),
            "subject": i.thread.subject if i.thread else "",
            "summary": i.summary,
            "body": i.body,
        }
        for i in rows.iterator(chunk_size=1000)
    ]


def move_customer_threads(from_customer_id: int, to_customer_id: int) -> list[int]:
    ids = list(Thread.objects.filter(customer_id=from_customer_id).values_list("pk", flat=True))
    Thread.objects.filter(pk__in=ids).update(customer_id=to_customer_id)
    return ids


def restore_customer_threads(ids: list[int], to_customer_id: int) -> None:
    Thread.objects.filter(pk__in=ids).update(customer_id=to_customer_id)
