"""Chat sessions and their messages, as the visitor and the agent both read them ("after seq N").

The transcript of record is the conversation thread on the customer's timeline; these rows are the
live wire of the widget: numbered messages both sides can poll or stream, and the visitor's token.
"""

from __future__ import annotations

from django.db import models

from cxloop.core.models import PublicIdModel


class SessionStatus(models.TextChoices):
    OPEN = "open", "Open"
    CLOSED = "closed", "Closed"


class Direction(models.TextChoices):
    VISITOR = "visitor", "From the visitor"
    AGENT = "agent", "From an agent"
    SYSTEM = "system", "From cxloop"


class ChatSession(PublicIdModel):
    """One visitor's conversation in the widget; `anonymous_id` is their identity until they say who they are."""

    PUBLIC_ID_PREFIX = "chs"

    token_hash = models.CharField(max_length=64, help_text="SHA-256 of the visitor's token; the token is not kept.")
    anonymous_id = models.CharField(max_length=40, unique=True)
    customer = models.ForeignKey(
        "customers.Customer", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    thread_ref = models.CharField(max_length=32, blank=True, db_index=True, help_text="Public id of the thread.")
    status = models.CharField(max_length=8, choices=SessionStatus.choices, default=SessionStatus.OPEN)
    last_seq = models.PositiveIntegerField(default=0)
    last_seen_at = models.DateTimeField()
    identified_at = models.DateTimeField(null=True, blank=True)
    origin = models.CharField(max_length=200, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)

    def __str__(self) -> str:
        return self.public_id


class ChatMessage(models.Model):
    """One line of the chat, numbered within its session so readers ask for "everything after N"."""

    session = models.ForeignKey(ChatSession, on_delete=models.CASCADE, related_name="messages")
    seq = models.PositiveIntegerField()
    direction = models.CharField(max_length=8, choices=Direction.choices)
    text = models.TextField()
    created_at = models.DateTimeField()
    client_ref = models.CharField(max_length=64, blank=True, help_text="The widget's id of a line: a retry is one.")
    outbound_ref = models.CharField(max_length=32, blank=True, help_text="messaging's public id of an agent message.")
    interaction_ref = models.CharField(max_length=32, blank=True)
    thread_ref = models.CharField(max_length=32, blank=True, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["session", "seq"], name="webchat_message_seq"),
            models.UniqueConstraint(
                fields=["session", "client_ref"],
                condition=~models.Q(client_ref=""),
                name="webchat_message_client_ref",
            ),
            models.UniqueConstraint(
                fields=["session", "outbound_ref"],
                condition=~models.Q(outbound_ref=""),
                name="webchat_message_outbound_ref",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.session_id}#{self.seq}"


class RateCounter(models.Model):
    """Requests counted per key and fixed window, in the database so every web process shares the count."""

    key = models.CharField(max_length=150, unique=True)
    count = models.PositiveIntegerField(default=0)
    expires_at = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return f"{self.key}={self.count}"
