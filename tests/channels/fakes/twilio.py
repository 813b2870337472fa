"""A fake Twilio: the Messages API (create) plus signed webhooks posted the way Twilio posts them.

The signature is computed here from Twilio's documented algorithm on its own, not with cxloop's code,
so a test that passes means both sides agree with the documentation, not just with each other.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import uuid
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any
from urllib.parse import parse_qs

import requests

from tests.channels.fakes.server import FakeServer, Recorded, Reply

ACCOUNT_SID = "AC" + "1f" * 16
AUTH_TOKEN = "test-auth-token-0123456789abcdef"
OUR_NUMBER = "+15005550006"
_MESSAGES = re.compile(r"^/2010-04-01/Accounts/(?P<sid>[^/]+)/Messages\.json$")


def twilio_signature(auth_token: str, url: str, params: dict[str, str]) -> str:
    """Twilio's scheme: URL, then each parameter name+value sorted by name, HMAC-SHA1, base64."""
    data = url
    for name in sorted(params):
        data += name + params[name]
    return base64.b64encode(hmac.new(auth_token.encode(), data.encode(), hashlib.sha1).digest()).decode()


def _error(status: int, code: int, message: str) -> Reply:
    return Reply(
        status,
        {"code": code, "message": message, "more_info": f"https://www.twilio.com/docs/errors/{code}", "status": status},
    )


def inbound_params(
    sender: str,
    body: str,
    *,
    to: str = OUR_NUMBER,
    account_sid: str = ACCOUNT_SID,
    media: tuple[tuple[str, str], ...] = (),
) -> dict[str, str]:
    """The form Twilio posts for an incoming SMS/MMS, with the fields its documentation lists."""
    sid = ("MM" if media else "SM") + uuid.uuid4().hex
    params = {
        "ToCountry": "US",
        "ToState": "CA",
        "SmsMessageSid": sid,
        "NumMedia": str(len(media)),
        "ToCity": "",
        "FromZip": "",
        "SmsSid": sid,
        "FromState": "",
        "SmsStatus": "received",
        "FromCity": "",
        "Body": body,
        "FromCountry": "GB",
        "To": to,
        "ToZip": "",
        "NumSegments": "1",
        "MessageSid": sid,
        "AccountSid": account_sid,
        "From": sender,
        "ApiVersion": "2010-04-01",
    }
    for index, (url, content_type) in enumerate(media):
        params[f"MediaUrl{index}"] = url
        params[f"MediaContentType{index}"] = content_type
    return params


class FakeTwilio(FakeServer):
    def __init__(self, account_sid: str = ACCOUNT_SID, auth_token: str = AUTH_TOKEN) -> None:
        super().__init__()
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.messages: dict[str, dict[str, str]] = {}  # sid → the form we were sent
        self.queued_replies: list[Reply] = []

    # --- the Messages API ------------------------------------------------------------------------
    def fail_next(self, status: int, code: int, message: str) -> None:
        self.queued_replies.append(_error(status, code, message))

    def _authorised(self, request: Recorded, sid: str) -> bool:
        expected = "Basic " + base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode()).decode()
        given = request.headers.get("Authorization", "")
        return sid == self.account_sid and hmac.compare_digest(given, expected)

    def handle(self, request: Recorded) -> Reply:
        match = _MESSAGES.match(request.path)
        if request.method != "POST" or match is None:
            return _error(404, 20404, f"The requested resource {request.path} was not found")
        if not self._authorised(request, match["sid"]):
            return _error(401, 20003, "Authenticate")
        if self.queued_replies:
            return self.queued_replies.pop(0)
        form = {k: v[0] for k, v in parse_qs(request.body.decode(), keep_blank_values=True).items()}
        problem = self._invalid(form)
        if problem is not None:
            return problem
        sid = "SM" + uuid.uuid4().hex
        self.messages[sid] = form
        return Reply(201, self.resource(sid, "queued"))

    @staticmethod
    def _invalid(form: dict[str, str]) -> Reply | None:
        to = form.get("To", "")
        if not to:
            return _error(400, 21604, "A 'To' phone number is required.")
        if not re.fullmatch(r"\+[1-9]\d{6,14}", to):
            return _error(400, 21211, f"The 'To' number {to} is not a valid phone number.")
        if not form.get("From") and not form.get("MessagingServiceSid"):
            return _error(400, 21603, "A 'From' phone number is required.")
        if not form.get("Body") and not form.get("MediaUrl"):
            return _error(400, 21602, "Message body is required.")
        if len(form.get("Body", "")) > 1600:
            return _error(400, 21617, "The concatenated message body exceeds the 1600 character limit.")
        return None

    def resource(self, sid: str, status: str) -> dict[str, Any]:
        form = self.messages[sid]
        now = format_datetime(datetime.now(UTC), usegmt=True)
        return {
            "account_sid": self.account_sid,
            "api_version": "2010-04-01",
            "body": form.get("Body", ""),
            "date_created": now,
            "date_sent": None,
            "date_updated": now,
            "direction": "outbound-api",
            "error_code": None,
            "error_message": None,
            "from": form.get("From", ""),
            "messaging_service_sid": form.get("MessagingServiceSid"),
            "num_media": "0",
            "num_segments": "1",
            "price": None,
            "price_unit": "USD",
            "sid": sid,
            "status": status,
            "subresource_uris": {"media": f"/2010-04-01/Accounts/{self.account_sid}/Messages/{sid}/Media.json"},
            "to": form["To"],
            "uri": f"/2010-04-01/Accounts/{self.account_sid}/Messages/{sid}.json",
        }

    # --- webhooks Twilio posts to the application ------------------------------------------------
    def post_signed(self, url: str, params: dict[str, str], *, signature: str | None = None) -> requests.Response:
        sig = twilio_signature(self.auth_token, url, params) if signature is None else signature
        headers = {"X-Twilio-Signature": sig} if sig else {}
        headers["I-Twilio-Idempotency-Token"] = str(uuid.uuid4())
        return requests.post(url, data=params, headers=headers, timeout=30)

    def post_inbound(self, url: str, sender: str, body: str, **kwargs: Any) -> requests.Response:
        return self.post_signed(url, inbound_params(sender, body, account_sid=self.account_sid, **kwargs))

    def status_params(self, sid: str, status: str, *, error_code: str = "") -> dict[str, str]:
        form = self.messages[sid]
        params = {
            "AccountSid": self.account_sid,
            "ApiVersion": "2010-04-01",
            "From": form.get("From", OUR_NUMBER),
            "MessageSid": sid,
            "MessageStatus": status,
            "SmsSid": sid,
            "SmsStatus": status,
            "To": form["To"],
        }
        if form.get("MessagingServiceSid"):
            params["MessagingServiceSid"] = form["MessagingServiceSid"]
        if error_code:
            params["ErrorCode"] = error_code
        if status == "delivered":
            params["RawDlrDoneDate"] = datetime.now(UTC).strftime("%y%m%d%H%M")
        return params

    def report(self, sid: str, status: str, *, error_code: str = "") -> requests.Response:
        """Post a status callback to the StatusCallback the message was created with, as Twilio does."""
        callback = self.messages[sid]["StatusCallback"]
        return self.post_signed(callback, self.status_params(sid, status, error_code=error_code))
