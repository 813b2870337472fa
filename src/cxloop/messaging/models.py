"""Templates, consent history, the suppression list, outbound messages and their delivery history."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from cxloop.core.models import PublicIdModel


class Purpose(models.TextChoices):
    SERVICE = "service", "Service"
    MARKETING = "marketing", "Marketing"


class Template(PublicIdModel):
    """A named message for one channel; its content lives in versions, one line of versions per locale."""

    PUBLIC_ID_PREFIX = "tpl"

    key = models.SlugField(max_length=80, unique=True)
    name = models.CharField(max_length=200)
    channel = models.CharField(max_length=16)
    purpose = models.CharField(max_length=10, choices=Purpose.choices, default=Purpose.SERVICE)
    default_locale = models.CharField(max_length=16, default="en")
    is_active = models.BooleanField(default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    def __str__(self) -> str:
        return self.key


class TemplateVersion(models.Model):
    """Immutable content of a template in one locale: a save makes a new one, sends point at the one used."""

    template = models.ForeignKey(Template, on_delete=models.CASCADE, related_name="versions")
    locale = models.CharField(max_length=16)
    version = models.PositiveIntegerField()
    subject = models.CharField(max_length=300, blank=True)
    body_text = models.TextField()
    body_html = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["template", "locale", "version"], name="messaging_template_version")
        ]

    def __str__(self) -> str:
        return f"{self.template_id}:{self.locale}:v{self.version}"


class ConsentSource(models.TextChoices):
    STAFF = "staff", "Staff"
    API = "api", "API"
    PREFERENCE_CENTRE = "preference_centre", "Preference centre"
    KEYWORD = "keyword", "Keyword reply (STOP/START)"
    IMPORT = "import", "Import"


ANY_CHANNEL = "*"


class ConsentRecord(models.Model):
    """One change of a customer's consent; the current state is the latest record per (channel or "*", purpose).

    History only ever grows, so merges move rows and unmerges move exactly those rows back, and "latest
    wins" stays true on the merged profile without reconciling two state tables.
    """

    customer = models.ForeignKey("customers.Customer", on_delete=models.CASCADE, related_name="+")
    channel = models.CharField(max_length=16, help_text='A channel, or "*" for every channel.')
    purpose = models.CharField(max_length=10, choices=Purpose.choices)
    granted = models.BooleanField()
    source = models.CharField(max_length=20, choices=ConsentSource.choices)
    note = models.CharField(max_length=300, blank=True)
    actor_label = models.CharField(max_length=200)
    actor_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["customer", "purpose", "channel", "-at", "-id"], name="messaging_consent_now")]

    def __str__(self) -> str:
        return f"{self.purpose} on {self.channel}: {'granted' if self.granted else 'withdrawn'}"


class SuppressionReason(models.TextChoices):
    HARD_BOUNCE = "hard_bounce", "Hard bounce"
    OPT_OUT = "opt_out", "Opted out"
    KEYWORD_STOP = "keyword_stop", "STOP reply"
    COMPLAINT = "complaint", "Complaint"
    MANUAL = "manual", "Added by staff"


class Suppression(PublicIdModel):
    """An address nothing may be sent to on a channel, whoever it belongs to, with why and from where."""

    PUBLIC_ID_PREFIX = "sup"

    channel = models.CharField(max_length=16)
    address = models.CharField(max_length=254, help_text="Email match value, or E.164 for SMS and WhatsApp.")
    reason = models.CharField(max_length=20, choices=SuppressionReason.choices)
    source = models.CharField(max_length=50, blank=True)
    note = models.CharField(max_length=300, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["channel", "address", "reason"], name="messaging_suppression_unique")
        ]
        indexes = [models.Index(fields=["channel", "address"], name="messaging_suppression_lookup")]


class MessageStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    SCHEDULED = "scheduled", "Scheduled (quiet hours)"
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    DELIVERED = "delivered", "Delivered"
    READ = "read", "Read"
    FAILED = "failed", "Failed"
    BLOCKED = "blocked", "Blocked"


class OutboundMessage(PublicIdModel):
    PUBLIC_ID_PREFIX = "msg"

    customer = models.ForeignKey("customers.Customer", on_delete=models.CASCADE, related_name="+")
    channel = models.CharField(max_length=16)
    purpose = models.CharField(max_length=10, choices=Purpose.choices)
    to_address = models.CharField(max_length=254, blank=True)
    template_version = models.ForeignKey(
        TemplateVersion, null=True, blank=True, on_delete=models.PROTECT, related_name="messages"
    )
    subject = models.CharField(max_length=300, blank=True)
    body_text = models.TextField(blank=True)
    body_html = models.TextField(blank=True)
    status = models.CharField(max_length=10, choices=MessageStatus.choices, default=MessageStatus.QUEUED)
    reason = models.CharField(max_length=300, blank=True, help_text="Why it was blocked or failed.")
    reason_code = models.CharField(max_length=40, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    provider_message_id = models.CharField(max_length=255, blank=True)
    idempotency_scope = models.CharField(max_length=64, blank=True)
    idempotency_key = models.CharField(max_length=255, blank=True)
    request_fingerprint = models.CharField(max_length=64, blank=True)
    thread_ref = models.CharField(max_length=32, blank=True, help_text="Public id of the thread replied in.")
    reply_context = models.JSONField(default=dict, blank=True)
    respect_quiet_hours = models.BooleanField(default=False)
    automated = models.BooleanField(default=False)
    interaction_ref = models.CharField(max_length=32, blank=True, help_text="Public id of the timeline entry.")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_by_label = models.CharField(max_length=200, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["idempotency_scope", "idempotency_key"],
                condition=~models.Q(idempotency_key=""),
                name="messaging_message_idempotency",
            )
        ]
        indexes = [
            models.Index(fields=["customer", "-id"], name="messaging_message_customer"),
            models.Index(fields=["status", "next_attempt_at"], name="messaging_message_due"),
            models.Index(fields=["channel", "provider_message_id"], name="messaging_message_provider"),
            models.Index(fields=["customer", "purpose", "created_at"], name="messaging_message_cap"),
        ]

    def __str__(self) -> str:
        return self.public_id


class DeliveryEvent(models.Model):
    """What happened to a message, in order: queued, scheduled, attempts, provider reports."""

    message = models.ForeignKey(OutboundMessage, on_delete=models.CASCADE, related_name="events")
    state = models.CharField(max_length=20)
    occurred_at = models.DateTimeField()
    detail = models.CharField(max_length=500, blank=True)
    error_code = models.CharField(max_length=64, blank=True)
    applied = models.BooleanField(default=True, help_text="False when a late report did not change the status.")

    class Meta:
        ordering = ["occurred_at", "id"]

    def __str__(self) -> str:
        return f"{self.state} at {self.occurred_at:%Y-%m-%d %H:%M}"
