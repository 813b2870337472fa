"""Interactions: everything a customer and the business said or did, on any channel, on one timeline."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from cxloop.core.models import PublicIdModel


class Channel(models.TextChoices):
    EMAIL = "email", "Email"
    SMS = "sms", "SMS"
    WHATSAPP = "whatsapp", "WhatsApp"
    CHAT = "chat", "Web chat"
    SOCIAL = "social", "Social"
    PHONE = "phone", "Phone call"
    SURVEY = "survey", "Survey"
    EVENT = "event", "Event"
    NOTE = "note", "Note"


class Direction(models.TextChoices):
    INBOUND = "inbound", "From the customer"
    OUTBOUND = "outbound", "To the customer"
    INTERNAL = "internal", "Internal"


class ThreadStatus(models.TextChoices):
    OPEN = "open", "Open"
    WAITING = "waiting", "Waiting on customer"
    CLOSED = "closed", "Closed"


class Thread(PublicIdModel):
    """A conversation: the messages that belong together (an email thread, a chat session).

    It is also the unit of the inbox: it has a status and may be assigned to an agent and a team. The
    channel is where it started; replies may switch channel within the same conversation.
    """

    PUBLIC_ID_PREFIX = "thr"

    customer = models.ForeignKey("customers.Customer", on_delete=models.CASCADE, related_name="threads")
    channel = models.CharField(max_length=16, choices=Channel.choices)
    subject = models.CharField(max_length=300, blank=True)
    normalized_subject = models.CharField(max_length=300, blank=True)
    external_ref = models.CharField(max_length=255, blank=True, db_index=True)
    last_activity_at = models.DateTimeField(db_index=True)
    status = models.CharField(max_length=10, choices=ThreadStatus.choices, default=ThreadStatus.OPEN)
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="assigned_threads"
    )
    team = models.ForeignKey("accounts.Team", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    last_inbound_at = models.DateTimeField(null=True, blank=True)
    last_outbound_at = models.DateTimeField(null=True, blank=True)
    case_ref = models.CharField(
        max_length=32, blank=True, help_text="Public id of the case this conversation serves now, if any."
    )

    class Meta:
        indexes = [
            models.Index(fields=["status", "-last_activity_at", "-id"], name="threads_inbox"),
            models.Index(fields=["customer", "channel", "normalized_subject"], name="threads_subject"),
            models.Index(fields=["case_ref"], name="threads_case", condition=~models.Q(case_ref="")),
        ]


# The customer's own words, which text analytics scores: what they send on a written channel, and call notes.
CUSTOMER_TEXT_CHANNELS = ("email", "sms", "whatsapp", "chat", "social")
CALL_CHANNEL = "phone"


def customer_text_condition() -> models.Q:
    """Rows whose text is the customer's: inbound on a written channel, or a call (its notes, either direction)."""
    return models.Q(direction="inbound", channel__in=CUSTOMER_TEXT_CHANNELS) | models.Q(
        channel=CALL_CHANNEL, direction__in=("inbound", "outbound")
    )


class Interaction(PublicIdModel):
    PUBLIC_ID_PREFIX = "int"

    customer = models.ForeignKey("customers.Customer", on_delete=models.CASCADE, related_name="interactions")
    thread = models.ForeignKey(Thread, null=True, blank=True, on_delete=models.SET_NULL, related_name="interactions")
    channel = models.CharField(max_length=16, choices=Channel.choices)
    direction = models.CharField(max_length=10, choices=Direction.choices)
    occurred_at = models.DateTimeField()
    summary = models.CharField(max_length=500, blank=True)
    body = models.TextField(blank=True)
    raw_ref = models.CharField(max_length=500, blank=True, help_text="Where the raw payload is kept.")
    external_id = models.CharField(max_length=255, blank=True, help_text="The channel's own message id.")
    case_ref = models.CharField(max_length=32, blank=True, help_text="Public id of the linked case, if any.")
    sentiment = models.FloatField(null=True, blank=True)
    emotion = models.CharField(max_length=30, blank=True)
    themes = models.JSONField(default=list, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    text_analysed_at = models.DateTimeField(
        null=True, blank=True, help_text="When text analytics last looked at this row (empty: not yet)."
    )

    class Meta:
        indexes = [
            models.Index(fields=["customer", "-occurred_at", "-id"], name="interactions_timeline"),
            # Partial: only the rows text analytics has not looked at yet, so the index stays as small as the
            # backlog. One term without literals: SQLite uses a partial index only when the query repeats each
            # term of its condition, and the ORM sends values as parameters, which never match a literal.
            models.Index(fields=["id"], name="interactions_text_pending", condition=models.Q(text_analysed_at=None)),
            models.Index(fields=["channel", "external_id"], name="interactions_external"),
            # Partial: most messages serve no case, and ingest should not pay to index them.
            models.Index(
                fields=["case_ref", "-occurred_at"], name="interactions_case", condition=~models.Q(case_ref="")
            ),
        ]
