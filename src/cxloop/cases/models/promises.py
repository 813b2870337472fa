"""The promises ledger: every commitment made to a customer, tracked until it is kept."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from cxloop.core.models import PublicIdModel


class PromiseStatus(models.TextChoices):
    OPEN = "open", "Open"
    KEPT = "kept", "Kept"
    MISSED = "missed", "Missed"  # its due time passed while open; it may still be kept (late)
    CANCELLED = "cancelled", "Cancelled"


class Promise(PublicIdModel):
    """ "We'll call you back Friday": what, by when, who owns it, and on which channel it was made.

    A missed promise kept later ends as kept with `was_missed` set, so the kept-on-time rate stays honest.
    """

    PUBLIC_ID_PREFIX = "prm"

    customer = models.ForeignKey("customers.Customer", on_delete=models.CASCADE, related_name="promises")
    case = models.ForeignKey("cases.Case", null=True, blank=True, on_delete=models.SET_NULL, related_name="promises")
    description = models.CharField(max_length=500)
    due_at = models.DateTimeField()
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="promises"
    )
    team = models.ForeignKey("accounts.Team", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    channel = models.CharField(max_length=16, blank=True, help_text="Where it was promised (phone, email…).")
    status = models.CharField(max_length=10, choices=PromiseStatus.choices, default=PromiseStatus.OPEN)
    was_missed = models.BooleanField(default=False)
    made_at = models.DateTimeField()
    made_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reminded_at = models.DateTimeField(null=True, blank=True)
    missed_at = models.DateTimeField(null=True, blank=True)
    escalated_to = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    kept_at = models.DateTimeField(null=True, blank=True)
    kept_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    cancelled_at = models.DateTimeField(null=True, blank=True)
    resolution_note = models.CharField(max_length=500, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["status", "due_at"], name="cases_promise_due"),
            models.Index(fields=["status", "reminded_at", "due_at"], name="cases_promise_remind"),
            models.Index(fields=["customer", "status", "due_at"], name="cases_promise_customer"),
            models.Index(fields=["owner", "status", "due_at"], name="cases_promise_owner"),
        ]

    def __str__(self) -> str:
        return self.description
