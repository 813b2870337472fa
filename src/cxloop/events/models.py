"""Customer events: what a customer did in the business's own systems (a purchase, a sign-up, a page view).

Distinct from the domain events of bus.py, which are cxloop's own in-process notifications.
"""

from __future__ import annotations

from django.db import models

from cxloop.core.models import PublicIdModel, TimestampedModel


class EventType(TimestampedModel):
    """A kind of customer event that admins register: ingestion refuses types nobody registered, so a typo in a
    sender's code shows up as a 422 instead of a silently new kind of event."""

    key = models.CharField(max_length=100, unique=True, help_text='e.g. "purchase.completed"')
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    properties_schema = models.JSONField(default=dict, blank=True, help_text="JSON Schema of the properties")
    show_on_timeline = models.BooleanField(default=False)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["key"]

    def __str__(self) -> str:
        return self.key


class Event(PublicIdModel):
    PUBLIC_ID_PREFIX = "evt"

    # The sender's id: unique, so a resent event is recognised and changes nothing.
    event_id = models.CharField(max_length=200, unique=True)
    event_type = models.ForeignKey(EventType, on_delete=models.PROTECT, related_name="events")
    customer = models.ForeignKey("customers.Customer", on_delete=models.CASCADE, related_name="+")
    occurred_at = models.DateTimeField()
    properties = models.JSONField(default=dict, blank=True)
    # The timeline entry made for a type shown on the timeline (a public id; interactions are another module's).
    interaction_ref = models.CharField(max_length=32, blank=True)

    class Meta:
        indexes = [models.Index(fields=["customer", "occurred_at"], name="events_customer_time")]

    def __str__(self) -> str:
        return self.event_id
