"""A rule's webhook call and what its failure means: transient (sent again later, with backoff) or not.

The call is the one every webhook of ours makes (channels.outbound_webhook.post_signed: a signed JSON POST
carrying X-Cxloop-Delivery and X-Cxloop-Event, no redirects, 10 seconds); this module decides what its answer
means for a retry, reading the receiver's Retry-After from it.

Transient: no answer (refused, reset, timed out), 408, 429 and 5xx. Anything else that is not 2xx (400, 401, 404,
410, a redirect) will not change by asking again, so it fails at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings

from cxloop.channels.outbound_webhook import WebhookCall, check_url, is_transient, post_signed, retry_after_seconds

# Waits before the 1st, 2nd, … automatic retry; past the end, the last one again.
BACKOFF = (
    timedelta(minutes=1),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=6),
)
RETRY_AFTER_MAX = timedelta(hours=6)  # a longer Retry-After is not waited for whole


@dataclass(frozen=True)
class Answer:
    """One attempt: the call as every webhook reports it, whether asking again may help, and the receiver's
    Retry-After (seconds) when it gave one."""

    call: WebhookCall
    transient: bool
    retry_after: float | None = None


def retries_allowed() -> int:
    """CXLOOP_AUTOMATION_WEBHOOK_RETRIES, never below 0 (0: no automatic retry)."""
    return max(0, int(getattr(settings, "CXLOOP_AUTOMATION_WEBHOOK_RETRIES", 0)))


def next_attempt_at(now: datetime, retry: int, retry_after: float | None) -> datetime:
    """When the `retry`-th automatic retry (1-based) is due: the schedule's wait, or the receiver's Retry-After
    when that is longer, capped at RETRY_AFTER_MAX (never sooner than our own backoff, so a receiver answering
    "Retry-After: 0" is not hammered)."""
    wait = BACKOFF[min(retry, len(BACKOFF)) - 1]
    if retry_after is not None:
        wait = max(wait, min(timedelta(seconds=retry_after), RETRY_AFTER_MAX))
    return now + wait


def post(url: str, payload: dict[str, Any], *, delivery_id: str, event: str, now: datetime) -> Answer:
    """POST `payload` to `url` as every webhook of ours is sent; never raises (the answer says what happened)."""
    if check_url(url) is not None:  # refused before sending: asking again cannot help
        return Answer(post_signed(url, payload, delivery_id=delivery_id, event=event), transient=False)
    call = post_signed(url, payload, delivery_id=delivery_id, event=event)
    if call.ok:
        return Answer(call, transient=False)
    return Answer(
        call,
        transient=is_transient(call.status),
        retry_after=retry_after_seconds(call, now),
    )
