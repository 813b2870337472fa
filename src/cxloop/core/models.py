"""Shared model bases and the one infrastructure table (idempotency records)."""

from __future__ import annotations

from typing import Any, ClassVar

from django.db import models

from cxloop.core.ids import new_public_id


class TimestampedModel(models.Model):
    created_at = models.DateTimeField(auto_now_add=True, db_index=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class PublicIdModel(TimestampedModel):
    """A model with a prefixed public id. Subclasses set PUBLIC_ID_PREFIX."""

    PUBLIC_ID_PREFIX: ClassVar[str] = "obj"

    public_id = models.CharField(max_length=32, unique=True, editable=False)

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        # Assigning an identifier is an invariant of the row, not domain behaviour.
        if not self.public_id:
            self.public_id = new_public_id(self.PUBLIC_ID_PREFIX)
        super().save(*args, **kwargs)


class IdempotencyRecord(models.Model):
    """A remembered API response, so a retried create never creates twice.

    Infrastructure rather than a domain table, which is why it lives in core (see docs/architecture.md).
    """

    scope = models.CharField(max_length=64, help_text="Hash of the caller's credential.")
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64, help_text="Hash of method, path and body.")
    status_code = models.PositiveSmallIntegerField(null=True)
    response_body = models.BinaryField(null=True)
    content_type = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["scope", "key"], name="core_idempotency_scope_key")]

    def __str__(self) -> str:
        return self.key
