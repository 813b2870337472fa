from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django_tasks import task

from cxloop.core import clock
from cxloop.core.models import IdempotencyRecord


@task()
def prune_idempotency_records() -> int:
    """Forget idempotency keys past their retention, so the table stays small."""
    horizon = clock.now() - timedelta(hours=settings.CXLOOP_IDEMPOTENCY_HOURS)
    deleted, _ = IdempotencyRecord.objects.filter(created_at__lt=horizon).delete()
    return deleted
