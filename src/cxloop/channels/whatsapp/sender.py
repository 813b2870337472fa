"""Sending a WhatsApp text through the Cloud API: POST {api_base}/{phone-number-id}/messages.

Free-form text is allowed only within 24 hours of the customer's last message; outside it WhatsApp
answers error 131047 and only an approved template may be sent, which is reported as a permanent
failure saying so. The Cloud API has no idempotency key either: a timed-out send is reported as
transient with code "timeout" and whether to retry (and risk a duplicate) is the caller's decision.
"""

from __future__ import annotations

from typing import Any, ClassVar

import requests

from cxloop.channels.base import OutboundPayload, SendFailed, SendOutcome
from cxloop.channels.whatsapp.config import WhatsAppConfig
from cxloop.channels.whatsapp.content import dict_of

CONNECT_TIMEOUT = 5.0
READ_TIMEOUT = 20.0
MAX_TEXT = 4096  # the Cloud API's limit for a text message body
REENGAGEMENT_CODE = "131047"
# Graph/WhatsApp error codes that pass: rate limits, throttling, temporary service trouble.
TRANSIENT_CODES = frozenset(
    {"1", "2", "4", "17", "32", "613", "80007", "130429", "131000", "131016", "131048", "131056"}
)


class WhatsAppSender:
    channel: ClassVar[str] = "whatsapp"

    def __init__(self, config: WhatsAppConfig, *, session: requests.Session | None = None) -> None:
        self.config = config
        self.session = session or requests.Session()

    def messages_url(self) -> str:
        return f"{self.config.api_base.rstrip('/')}/{self.config.phone_number_id}/messages"

    def body(self, payload: OutboundPayload) -> dict[str, Any]:
        body: dict[str, Any] = {
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": payload.to.strip().lstrip("+"),  # a wa_id: the international number as bare digits
            "type": "text",
            "text": {"body": payload.text, "preview_url": False},
        }
        if payload.thread.in_reply_to:
            body["context"] = {"message_id": payload.thread.in_reply_to}
        return body

    def send(self, payload: OutboundPayload) -> SendOutcome:
        if not payload.text.strip():
            raise SendFailed("A WhatsApp message needs text.", permanent=True, code="empty_body")
        if len(payload.text) > MAX_TEXT:
            raise SendFailed(f"WhatsApp text is limited to {MAX_TEXT} characters.", permanent=True, code="too_long")
        try:
            response = self.session.post(
                self.messages_url(),
                json=self.body(payload),
                headers={"Authorization": f"Bearer {self.config.token}", "Accept": "application/json"},
                timeout=(CONNECT_TIMEOUT, READ_TIMEOUT),
            )
        except requests.ConnectTimeout as exc:
            raise SendFailed(f"WhatsApp could not be reached in time: {exc}", code="connection") from exc
        except requests.Timeout as exc:
            raise SendFailed(
                f"WhatsApp did not answer in time ({exc}); the message may have been accepted, "
                "so a retry may duplicate it.",
                code="timeout",
            ) from exc
        except requests.RequestException as exc:
            raise SendFailed(f"WhatsApp could not be reached: {exc}", code="connection") from exc
        return _outcome(response)


def _json(response: requests.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _outcome(response: requests.Response) -> SendOutcome:
    body = _json(response)
    if 200 <= response.status_code < 300:
        messages = body.get("messages")
        first = messages[0] if isinstance(messages, list) and messages and isinstance(messages[0], dict) else {}
        message_id = first.get("id")
        if not isinstance(message_id, str) or not message_id:
            raise SendFailed(
                f"WhatsApp answered {response.status_code} without a message id; the message may have been sent.",
                permanent=True,
                code="bad_response",
            )
        return SendOutcome(provider_message_id=message_id, state="queued")
    raise _failure(response.status_code, body)


def _failure(status: int, body: dict[str, Any]) -> SendFailed:
    error = dict_of(body.get("error"))
    code = str(error.get("code") or "")
    message = str(error.get("message") or f"HTTP {status}")
    details = dict_of(error.get("error_data")).get("details")
    trace = str(error.get("fbtrace_id") or "")
    if code == REENGAGEMENT_CODE:
        return SendFailed(
            "More than 24 hours have passed since the customer's last WhatsApp message, so WhatsApp accepts "
            "only an approved message template now, not free text (error 131047).",
            permanent=True,
            code=code,
        )
    reason = f"WhatsApp refused the message: {message}"
    if details:
        reason += f" — {details}"
    if code:
        subcode = error.get("error_subcode")
        reason += f" (error {code}{'/' + str(subcode) if subcode else ''}{', trace ' + trace if trace else ''})"
    transient = status >= 500 or status == 429 or code in TRANSIENT_CODES
    return SendFailed(reason, permanent=not transient, code=code or f"http_{status}")
