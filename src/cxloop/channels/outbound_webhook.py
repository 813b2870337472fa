"""Signed calls to the business's own systems (a journey's webhook step, an automation rule's webhook action).

Each call is a JSON POST signed like every webhook of ours (channels.signing: `X-Cxloop-Signature: t=…,v1=…`
over `<t>.<body>` with CXLOOP_OUTBOUND_WEBHOOK_SECRET), and carries `X-Cxloop-Delivery`, an id that stays the
same when the same step or rule run is retried, so the receiver can drop a repeat. The caller decides what a
failure means (a journey retries, a rule logs it); this module only makes the call and reports what happened.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

import requests
from django.conf import settings

from cxloop.channels.signing import SIGNATURE_HEADER, sign

DELIVERY_HEADER = "X-Cxloop-Delivery"
EVENT_HEADER = "X-Cxloop-Event"
TIMEOUT_SECONDS = 10.0
_EXCERPT = 500


@dataclass(frozen=True)
class WebhookCall:
    """What happened: `ok` for a 2xx answer; `status` 0 when no answer came (refused, timed out). `retry_after` is
    the receiver's Retry-After header as sent, on an answer that is not 2xx (callers that retry read it)."""

    url: str
    ok: bool
    status: int
    response_excerpt: str = ""
    error: str = ""
    retry_after: str = ""

    def as_detail(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "ok": self.ok,
            "status": self.status,
            "response": self.response_excerpt,
            "error": self.error,
        }


TRANSIENT_STATUSES = frozenset({408, 429})


def is_transient(status: int) -> bool:
    """Whether an answer with this HTTP status (0: none came) may be different later: no answer, 408, 429, 5xx.
    Anything else that is not 2xx (400, 401, 404, 410, a redirect) will not change by asking again."""
    return status == 0 or status in TRANSIENT_STATUSES or 500 <= status <= 599


def retry_after_seconds(call: WebhookCall, now: datetime) -> float | None:
    """The receiver's Retry-After on a 429 or 503, as seconds from `now` (delta-seconds or an HTTP date); None
    when absent, unreadable, or on another answer."""
    text = call.retry_after.strip()
    if call.status not in (429, 503) or not text:
        return None
    if text.isdigit():
        return float(int(text))
    try:
        moment = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        return None
    return max(0.0, (moment - now).total_seconds())


def check_url(url: str) -> str | None:
    """The reason `url` cannot be called, or None. Only http(s) URLs with a host."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "must be an http:// or https:// URL with a host"
    return None


def post_signed(
    url: str,
    payload: dict[str, Any],
    *,
    delivery_id: str,
    event: str = "",
    secret: str | None = None,
    timeout: float = TIMEOUT_SECONDS,
) -> WebhookCall:
    """POST `payload` as JSON to `url`, signed; never raises for a failed call (the result says why)."""
    problem = check_url(url)
    if problem is not None:
        return WebhookCall(url=url, ok=False, status=0, error=f"url {problem}")
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":"), default=str).encode()
    headers = {"Content-Type": "application/json", DELIVERY_HEADER: delivery_id, "User-Agent": "cxloop-webhook/1"}
    if event:
        headers[EVENT_HEADER] = event
    key = settings.CXLOOP_OUTBOUND_WEBHOOK_SECRET if secret is None else secret
    if key:
        headers[SIGNATURE_HEADER] = sign(key, body)
    try:
        response = requests.post(url, data=body, headers=headers, timeout=timeout, allow_redirects=False)
    except requests.RequestException as exc:
        return WebhookCall(url=url, ok=False, status=0, error=f"{type(exc).__name__}: {str(exc)[:300]}")
    excerpt = response.text[:_EXCERPT]
    ok = 200 <= response.status_code < 300
    return WebhookCall(
        url=url,
        ok=ok,
        status=response.status_code,
        response_excerpt=excerpt,
        error="" if ok else f"HTTP {response.status_code}",
        retry_after="" if ok else response.headers.get("Retry-After", "")[:100],
    )
