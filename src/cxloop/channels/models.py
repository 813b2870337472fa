"""What arrived on a channel, kept before parsing, and the files that came with it."""

from __future__ import annotations

from django.db import models

from cxloop.core.models import PublicIdModel


class InboundStatus(models.TextChoices):
    RECEIVED = "received", "Received, not yet processed"
    QUEUED = "queued", "Kept and acknowledged, waiting for the worker"
    PROCESSED = "processed", "Processed"
    QUARANTINED = "quarantined", "Quarantined"
    DUPLICATE = "duplicate", "Duplicate of an earlier delivery"
    DISCARDED = "discarded", "Discarded by an admin"


class InboundMessage(PublicIdModel):
    """One raw payload exactly as it arrived (an email, a webhook body), with what became of it.

    The bytes live in Django's storage under `raw_path`, so they can be re-processed after a parser fix
    and shown to an admin when they could not be understood.
    """

    PUBLIC_ID_PREFIX = "inb"

    channel = models.CharField(max_length=16)
    source = models.CharField(max_length=100, blank=True)
    received_at = models.DateTimeField(db_index=True)
    content_type = models.CharField(max_length=100, blank=True)
    raw_path = models.CharField(max_length=300)
    size = models.PositiveIntegerField(default=0)
    sha256 = models.CharField(max_length=64)
    meta = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=12, choices=InboundStatus.choices, default=InboundStatus.RECEIVED)
    reason = models.TextField(blank=True, help_text="Why it was quarantined, or what the parser noticed.")
    attempts = models.PositiveSmallIntegerField(default=0)
    processed_at = models.DateTimeField(null=True, blank=True)
    customer_ref = models.CharField(max_length=32, blank=True)
    interaction_refs = models.JSONField(default=list, blank=True)

    class Meta:
        indexes = [models.Index(fields=["status", "-received_at", "-id"], name="inbound_status")]


class Attachment(PublicIdModel):
    """A file that came with (or was sent in) an interaction; the content is in Django's storage."""

    PUBLIC_ID_PREFIX = "att"

    interaction = models.ForeignKey("interactions.Interaction", on_delete=models.CASCADE, related_name="attachments")
    inbound = models.ForeignKey(InboundMessage, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    filename = models.CharField(max_length=255)
    content_type = models.CharField(max_length=100, blank=True)
    detected_type = models.CharField(max_length=100, blank=True)
    size = models.PositiveIntegerField(default=0)
    storage_path = models.CharField(max_length=300, blank=True, help_text="Empty when it was too large to keep.")
    sha256 = models.CharField(max_length=64, blank=True)
    content_id = models.CharField(max_length=255, blank=True)
    inline = models.BooleanField(default=False)
    oversized = models.BooleanField(default=False)


class MailboxCursor(models.Model):
    """How far an IMAP mailbox has been read: the highest UID taken under the current UIDVALIDITY."""

    mailbox = models.CharField(max_length=255, unique=True)
    uidvalidity = models.BigIntegerField()
    last_uid = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.mailbox} @ {self.last_uid}"
