"""Sending an SMS through Twilio's Messages API (POST /2010-04-01/Accounts/{AccountSid}/Messages.json).

Twilio has no idempotency header for this call. A send that timed out may or may not have been
accepted, so it is reported as a transient failure with code "timeout" and the retry decision (and
the risk of a duplicate text) stays with the caller, the distribution service, which knows the
message's history. A connection that could not even be opened is safe to retry ("connection").
"""

from __future__ import annotations

from typing import Any, ClassVar
from urllib.parse import quote

import requests

from cxloop.channels.base import DeliveryState, OutboundPayload, SendFailed, SendOutcome
from cxloop.channels.sms.config import TwilioConfig

CONNECT_TIMEOUT = 5.0
READ_TIMEOUT = 20.0
_ACCEPTED_STATES: dict[str, DeliveryState] = {"sent": "sent", "delivered": "delivered"}


class TwilioSender:
    channel: ClassVar[str] = "sms"

    def __init__(self, config: TwilioConfig, *, session: requests.Session | None = None) -> None:
        self.config = config
        self.session = session or requests.Session()

    def messages_url(self) -> str:
        return f"{self.config.api_base.rstrip('/')}/2010-04-01/Accounts/{quote(self.config.account_sid)}/Messages.json"

    def form(self, payload: OutboundPayload) -> dict[str, str]:
        form = {"To": payload.to, "Body": payload.text}
        if self.config.messaging_service_sid:
            form["MessagingServiceSid"] = self.config.messaging_service_sid
        else:
            form["From"] = self.config.from_number
        callback = self.config.status_callback_url()
        if callback:
            form["StatusCallback"] = callback
        return form

    def send(self, payload: OutboundPayload) -> SendOutcome:
        if not payload.text.strip():
            raise SendFailed("An SMS needs text.", permanent=True, code="empty_body")
        try:
            response = self.session.post(
                self.messages_url(),
                data=self.form(payload),
                auth=(self.config.account_sid, self.config.auth_token),
                headers={"Accept": "application/json"},
                timeout=(CONNECT_TIMEOUT, READ_TIMEOUT),
            )
        except requests.ConnectTimeout as exc:
            raise SendFailed(f"Twilio could not be reached in time: {exc}", code="connection") from exc
        except requests.Timeout as exc:
            raise _timed_out(exc) from exc
        except requests.RequestException as exc:
            raise SendFailed(f"Twilio could not be reached: {exc}", code="connection") from exc
        return _outcome(response)


def _timed_out(exc: Exception) -> SendFailed:
    return SendFailed(
        f"Twilio did not answer in time ({exc}); the message may have been accepted, so a retry may duplicate it.",
        code="timeout",
    )


def _json(response: requests.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _outcome(response: requests.Response) -> SendOutcome:
    body = _json(response)
    if 200 <= response.status_code < 300:
        sid = body.get("sid")
        if not isinstance(sid, str) or not sid:
            # Accepted but unreadable: retrying could send it twice, so it is not retried.
            raise SendFailed(
                f"Twilio answered {response.status_code} without a message sid; the message may have been sent.",
                permanent=True,
                code="bad_response",
            )
        return SendOutcome(provider_message_id=sid, state=_ACCEPTED_STATES.get(str(body.get("status")), "queued"))
    raise _failure(response.status_code, body)


def _failure(status: int, body: dict[str, Any]) -> SendFailed:
    code = str(body.get("code") or "")
    message = str(body.get("message") or f"HTTP {status}")
    more_info = str(body.get("more_info") or "")
    reason = f"Twilio refused the message: {message}"
    if code:
        reason += f" (error {code}{', ' + more_info if more_info else ''})"
    permanent = 400 <= status < 500 and status != 429
    return SendFailed(reason, permanent=permanent, code=code or f"http_{status}")
