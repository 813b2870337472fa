"""A fake Meta Graph API for WhatsApp: POST /{version}/{phone-number-id}/messages, plus signed webhooks.

The X-Hub-Signature-256 is computed here from Meta's documented scheme on its own, not with cxloop's
code, so a passing test means both sides agree with the documentation.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from typing import Any

import requests

from tests.channels.fakes.server import FakeServer, Recorded, Reply

TOKEN = "EAAG-test-access-token"
APP_SECRET = "test-app-secret-0123456789"
VERIFY_TOKEN = "verify-me-please"
PHONE_NUMBER_ID = "106540352242922"
DISPLAY_NUMBER = "15550783881"
WABA_ID = "102290129340398"
VERSION = "v21.0"


def hub_signature(app_secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()


def graph_error(status: int, code: int, message: str, *, subcode: int | None = None, details: str = "") -> Reply:
    error: dict[str, Any] = {"message": message, "type": "OAuthException", "code": code, "fbtrace_id": "AbCdEf123"}
    if subcode is not None:
        error["error_subcode"] = subcode
    if details:
        error["error_data"] = {"messaging_product": "whatsapp", "details": details}
    return Reply(status, {"error": error})


def wamid() -> str:
    return "wamid." + base64.b64encode(uuid.uuid4().bytes * 2).decode()


def envelope(value: dict[str, Any], *, phone_number_id: str = PHONE_NUMBER_ID) -> dict[str, Any]:
    """The Graph webhook around one `messages` change, as Meta posts it."""
    value = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": DISPLAY_NUMBER, "phone_number_id": phone_number_id},
        **value,
    }
    return {
        "object": "whatsapp_business_account",
        "entry": [{"id": WABA_ID, "changes": [{"value": value, "field": "messages"}]}],
    }


def message_payload(
    wa_id: str, name: str, message: dict[str, Any], *, phone_number_id: str = PHONE_NUMBER_ID
) -> dict[str, Any]:
    message = {"from": wa_id, "id": wamid(), "timestamp": str(int(time.time())), **message}
    value = {"contacts": [{"profile": {"name": name}, "wa_id": wa_id}], "messages": [message]}
    return envelope(value, phone_number_id=phone_number_id)


def status_payload(
    message_id: str,
    status: str,
    recipient: str,
    errors: list[Any] | None = None,
    *,
    phone_number_id: str = PHONE_NUMBER_ID,
) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "id": message_id,
        "status": status,
        "timestamp": str(int(time.time())),
        "recipient_id": recipient,
    }
    if errors:
        entry["errors"] = errors
    return envelope({"statuses": [entry]}, phone_number_id=phone_number_id)


class FakeMeta(FakeServer):
    def __init__(self, token: str = TOKEN, app_secret: str = APP_SECRET, phone_number_id: str = PHONE_NUMBER_ID):
        super().__init__()
        self.token = token
        self.app_secret = app_secret
        self.phone_number_id = phone_number_id
        self.sent: dict[str, dict[str, Any]] = {}  # wamid → the JSON we were sent
        self.queued_replies: list[Reply] = []

    @property
    def api_base(self) -> str:
        return f"{self.base_url}/{VERSION}"

    def fail_next(self, reply: Reply) -> None:
        self.queued_replies.append(reply)

    # --- the Cloud API ---------------------------------------------------------------------------
    def handle(self, request: Recorded) -> Reply:
        if request.method != "POST" or not request.path.startswith(f"/{VERSION}/"):
            return graph_error(400, 100, "Unsupported request - method type: get")
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            return graph_error(401, 190, "Invalid OAuth access token - Cannot parse access token")
        if request.path != f"/{VERSION}/{self.phone_number_id}/messages":
            return graph_error(400, 100, "Unsupported post request. Object does not exist.", subcode=33)
        if self.queued_replies:
            return self.queued_replies.pop(0)
        try:
            body = json.loads(request.body)
        except ValueError:
            return graph_error(400, 100, "(#100) Invalid parameter")
        problem = self._invalid(body)
        if problem is not None:
            return problem
        message_id = wamid()
        self.sent[message_id] = body
        return Reply(
            200,
            {
                "messaging_product": "whatsapp",
                "contacts": [{"input": body["to"], "wa_id": body["to"]}],
                "messages": [{"id": message_id}],
            },
        )

    @staticmethod
    def _invalid(body: Any) -> Reply | None:
        if not isinstance(body, dict) or body.get("messaging_product") != "whatsapp":
            return graph_error(400, 100, "(#100) The parameter messaging_product is required.")
        if not str(body.get("to", "")).isdigit():
            return graph_error(400, 100, "(#100) Invalid parameter", details="to must be a phone number")
        if body.get("type") != "text" or not (body.get("text") or {}).get("body"):
            return graph_error(400, 100, "(#100) The parameter text['body'] is required.")
        return None

    # --- webhooks Meta posts to the application --------------------------------------------------
    def envelope(self, value: dict[str, Any]) -> dict[str, Any]:
        return envelope(value, phone_number_id=self.phone_number_id)

    def message_payload(self, wa_id: str, name: str, message: dict[str, Any]) -> dict[str, Any]:
        return message_payload(wa_id, name, message, phone_number_id=self.phone_number_id)

    def status_payload(self, message_id: str, status: str, recipient: str, errors: list[Any] | None = None) -> Any:
        return status_payload(message_id, status, recipient, errors, phone_number_id=self.phone_number_id)

    def post_signed(self, url: str, payload: Any, *, signature: str | None = None) -> requests.Response:
        body = json.dumps(payload).encode() if not isinstance(payload, bytes) else payload
        sig = hub_signature(self.app_secret, body) if signature is None else signature
        headers = {"Content-Type": "application/json"}
        if sig:
            headers["X-Hub-Signature-256"] = sig
        return requests.post(url, data=body, headers=headers, timeout=30)

    def post_text(self, url: str, wa_id: str, name: str, text: str, *, reply_to: str = "") -> requests.Response:
        message: dict[str, Any] = {"type": "text", "text": {"body": text}}
        if reply_to:
            message["context"] = {"from": DISPLAY_NUMBER, "id": reply_to}
        return self.post_signed(url, self.message_payload(wa_id, name, message))

    def report(self, url: str, message_id: str, status: str, errors: list[Any] | None = None) -> requests.Response:
        recipient = self.sent[message_id]["to"] if message_id in self.sent else ""
        return self.post_signed(url, self.status_payload(message_id, status, recipient, errors))
