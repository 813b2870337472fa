"""Reads of the messaging module. Every staff-visible read takes the actor and checks what it may see."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.db.models import Prefetch, Q, QuerySet

from cxloop.core.actor import Actor
from cxloop.core.errors import ValidationError
from cxloop.core.pagination import Page, paginate
from cxloop.core.permissions import Perm
from cxloop.customers.models import Customer, IdentityKind
from cxloop.messaging import rendering
from cxloop.messaging.errors import MessageNotFoundError, TemplateNotFoundError
from cxloop.messaging.models import (
    ANY_CHANNEL,
    ConsentRecord,
    DeliveryEvent,
    MessageStatus,
    OutboundMessage,
    Purpose,
    Suppression,
    Template,
    TemplateVersion,
)
from cxloop.messaging.rendering import Rendered
from cxloop.messaging.services import consent, templates
from cxloop.messaging.services.addresses import CHANNEL_KINDS, suppression_key
from cxloop.messaging.services.links import preference_link, unsubscribe_link
from cxloop.messaging.types import ConsentState, TemplateContent

ORDER = ("-id",)


def _messages(actor: Actor) -> QuerySet[OutboundMessage]:
    actor.require(Perm.INTERACTIONS_VIEW)
    return OutboundMessage.objects.select_related("customer", "template_version__template")


def get_message(actor: Actor, public_id: str) -> OutboundMessage:
    message = (
        _messages(actor)
        .prefetch_related(Prefetch("events", queryset=DeliveryEvent.objects.order_by("occurred_at", "id")))
        .filter(public_id=public_id)
        .first()
    )
    if message is None:
        raise MessageNotFoundError(f"No message {public_id}.")
    return message


def list_messages(
    actor: Actor,
    *,
    customer: str = "",
    channel: str = "",
    status: str = "",
    thread: str = "",
    cursor: str | None = None,
    limit: int = 25,
) -> Page[OutboundMessage]:
    qs = _messages(actor)
    if customer:
        qs = qs.filter(customer__public_id=customer)
    if thread:
        qs = qs.filter(thread_ref=thread)
    if channel:
        if channel not in CHANNEL_KINDS:
            raise ValidationError("Unknown channel.", fields={"channel": f"must be one of {', '.join(CHANNEL_KINDS)}"})
        qs = qs.filter(channel=channel)
    if status:
        if status not in MessageStatus.values:
            raise ValidationError(
                "Unknown status.", fields={"status": f"must be one of {', '.join(MessageStatus.values)}"}
            )
        qs = qs.filter(status=status)
    return paginate(qs, ORDER, cursor, limit)


def list_templates(actor: Actor, *, include_archived: bool = False, channel: str = "") -> QuerySet[Template]:
    actor.require(Perm.INTERACTIONS_VIEW)
    qs = Template.objects.order_by("key")
    if not include_archived:
        qs = qs.filter(is_active=True)
    if channel:
        qs = qs.filter(channel=channel)
    return qs


def get_template(actor: Actor, key: str) -> Template:
    actor.require(Perm.INTERACTIONS_VIEW)
    template = Template.objects.filter(key=key).first()
    if template is None:
        raise TemplateNotFoundError(f"No template {key!r}.")
    return template


def template_versions(actor: Actor, template: Template, *, locale: str = "") -> QuerySet[TemplateVersion]:
    actor.require(Perm.INTERACTIONS_VIEW)
    qs = TemplateVersion.objects.filter(template=template).select_related("created_by")
    if locale:
        qs = qs.filter(locale=templates.normalize_locale(locale))
    return qs.order_by("locale", "-version")


def current_versions(actor: Actor, template: Template) -> list[TemplateVersion]:
    """The newest version of each locale."""
    latest: dict[str, TemplateVersion] = {}
    for version in template_versions(actor, template):
        latest.setdefault(version.locale, version)
    return list(latest.values())


@dataclass
class Preview:
    version: TemplateVersion | None
    locale: str
    rendered: Rendered


def preview_template(
    actor: Actor,
    template: Template,
    customer: Customer,
    *,
    locale: str = "",
    variables: Mapping[str, Any] | None = None,
    draft: TemplateContent | None = None,
) -> Preview:
    """The template (or an unsaved draft of it) rendered for a real customer, with unknown variables as warnings."""
    actor.require(Perm.INTERACTIONS_VIEW)
    actor.require(Perm.CUSTOMERS_VIEW)
    context = templates.build_context(
        actor,
        customer,
        variables or {},
        preference_url=preference_link(customer),
        unsubscribe_url=unsubscribe_link(customer),
    )
    if draft is not None:
        fields = {"subject": draft.subject, "body_text": draft.body_text, "body_html": draft.body_html}
        rendering.check_syntax(fields)
        rendered = rendering.render(draft.subject, draft.body_text, draft.body_html, context, warn=True)
        return Preview(version=None, locale=templates.normalize_locale(draft.locale), rendered=rendered)
    version = templates.resolve_version(template, locale or customer.locale)
    return Preview(
        version=version, locale=version.locale, rendered=templates.render_version(version, context, warn=True)
    )


def consent_overview(actor: Actor, customer: Customer) -> list[ConsentState]:
    """Current consent per channel and purpose (every channel that could reach a customer)."""
    actor.require(Perm.CUSTOMERS_VIEW)
    return [
        consent.consent_state(customer.pk, channel, purpose)
        for channel in CHANNEL_KINDS
        for purpose in (Purpose.SERVICE, Purpose.MARKETING)
    ]


def consent_history(actor: Actor, customer: Customer, *, limit: int = 200) -> list[ConsentRecord]:
    actor.require(Perm.CUSTOMERS_VIEW)
    return list(ConsentRecord.objects.filter(customer=customer).order_by("-at", "-id")[:limit])


@dataclass(frozen=True)
class ConsentSummary:
    current: list[ConsentState]
    history: list[ConsentRecord]


def _state_of(channel: str, purpose: str, record: ConsentRecord | None) -> ConsentState:
    """What services.consent.consent_state answers when `record` is the latest one for (channel or "*", purpose)."""
    if record is None:
        return ConsentState(channel=channel, purpose=purpose, allowed=purpose == Purpose.SERVICE, explicit=False)
    return ConsentState(
        channel=channel,
        purpose=purpose,
        allowed=record.granted,
        explicit=True,
        source=record.source,
        at=record.at.isoformat(),
    )


def consent_summary(actor: Actor, customer: Customer, *, limit: int = 200) -> ConsentSummary:
    """consent_overview and consent_history in one read (the customer page shows both).

    The history is newest first, the order in which the latest record decides, so while it is whole the
    current state per channel and purpose is its first matching record; past `limit` records the overview
    is read the usual way.
    """
    actor.require(Perm.CUSTOMERS_VIEW)
    history = list(ConsentRecord.objects.filter(customer=customer).order_by("-at", "-id")[: limit + 1])
    if len(history) > limit:
        return ConsentSummary(consent_overview(actor, customer), history[:limit])
    current = [
        _state_of(
            channel,
            purpose,
            next((r for r in history if r.purpose == purpose and r.channel in (channel, ANY_CHANNEL)), None),
        )
        for channel in CHANNEL_KINDS
        for purpose in (Purpose.SERVICE, Purpose.MARKETING)
    ]
    return ConsentSummary(current, history)


def list_suppressions(
    actor: Actor, *, channel: str = "", address: str = "", reason: str = "", cursor: str | None = None, limit: int = 50
) -> Page[Suppression]:
    actor.require(Perm.CUSTOMERS_VIEW)
    qs = Suppression.objects.all()
    if channel:
        if channel not in CHANNEL_KINDS:
            raise ValidationError("Unknown channel.", fields={"channel": f"must be one of {', '.join(CHANNEL_KINDS)}"})
        qs = qs.filter(channel=channel)
    if address:
        if not channel:
            raise ValidationError("Give the channel with an address.", fields={"channel": "required with address"})
        qs = qs.filter(address=suppression_key(channel, address))
    if reason:
        qs = qs.filter(reason=reason)
    return paginate(qs, ORDER, cursor, limit)


@dataclass(frozen=True)
class SuppressedAddress:
    channel: str
    address: str  # as the customer's identity spells it (the suppression holds the canonical key)
    suppression: Suppression


def customer_suppressions(actor: Actor, customer: Customer) -> list[SuppressedAddress]:
    """The customer's own addresses that are on the suppression list: why nothing reaches them on a channel."""
    actor.require(Perm.CUSTOMERS_VIEW)
    keys: dict[tuple[str, str], str] = {}
    for identity in customer.identities.all():
        address = f"{identity.network}:{identity.value}" if identity.kind == IdentityKind.SOCIAL else identity.value
        for channel, kinds in CHANNEL_KINDS.items():
            if identity.kind not in kinds:
                continue
            try:
                keys.setdefault((channel, suppression_key(channel, address)), address)
            except ValidationError:  # an identity that no longer normalises cannot be on the list either
                continue
    if not keys:
        return []
    wanted = Q()
    for channel, key in keys:
        wanted |= Q(channel=channel, address=key)
    rows = Suppression.objects.filter(wanted).order_by("channel", "address", "id")
    return [SuppressedAddress(row.channel, keys[(row.channel, row.address)], row) for row in rows]
