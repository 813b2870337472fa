"""A fixed-window request counter kept in the database, so every web process and server shares it.

The visitor API is public; these limits keep one browser or one address from flooding the inbox or the
customer table. Keys hold a hash of the client address, never the address itself.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import F

from cxloop.channels.webchat.models import RateCounter
from cxloop.core import clock


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    retry_after: int  # seconds until the window ends


def client_key(address: str | None) -> str:
    return hashlib.sha256((address or "unknown").encode()).hexdigest()[:24]


def hit(key: str, limit: int, window_seconds: int) -> Verdict:
    """Count one request against `key`; allowed while at most `limit` were counted in the current window."""
    if limit <= 0:
        return Verdict(True, 0)
    now = clock.now()
    bucket = int(now.timestamp()) // window_seconds
    ends = datetime.fromtimestamp((bucket + 1) * window_seconds, tz=UTC)
    full_key = f"{key}:{window_seconds}:{bucket}"[:150]
    with transaction.atomic():
        if not RateCounter.objects.filter(key=full_key).update(count=F("count") + 1):
            try:
                with transaction.atomic():
                    RateCounter.objects.create(key=full_key, count=1, expires_at=ends)
            except IntegrityError:  # another request opened the window first
                RateCounter.objects.filter(key=full_key).update(count=F("count") + 1)
            else:
                # A new window: the ended ones are not needed any more.
                RateCounter.objects.filter(expires_at__lt=now - timedelta(seconds=1)).delete()
        count = RateCounter.objects.filter(key=full_key).values_list("count", flat=True).first() or 0
    return Verdict(count <= limit, max(1, int((ends - now).total_seconds())))
