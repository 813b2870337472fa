"""Twilio settings, read when needed so a changed setting (or a test's override) takes effect at once."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.urls import reverse


@dataclass(frozen=True)
class TwilioConfig:
    account_sid: str = ""
    auth_token: str = ""
    from_number: str = ""
    messaging_service_sid: str = ""
    api_base: str = "https://api.twilio.com"
    public_url: str = ""

    @classmethod
    def from_settings(cls) -> TwilioConfig:
        return cls(
            account_sid=settings.CXLOOP_TWILIO_ACCOUNT_SID,
            auth_token=settings.CXLOOP_TWILIO_AUTH_TOKEN,
            from_number=settings.CXLOOP_TWILIO_FROM,
            messaging_service_sid=settings.CXLOOP_TWILIO_MESSAGING_SERVICE_SID,
            api_base=settings.CXLOOP_TWILIO_API_BASE,
            public_url=settings.CXLOOP_PUBLIC_URL,
        )

    @property
    def can_receive(self) -> bool:
        """Webhooks need only the auth token: it is the key Twilio signs them with."""
        return bool(self.auth_token)

    @property
    def can_send(self) -> bool:
        return bool(self.account_sid and self.auth_token and (self.from_number or self.messaging_service_sid))

    def status_callback_url(self) -> str:
        """Where Twilio reports delivery; without a public URL Twilio has nowhere to post it."""
        if not self.public_url:
            return ""
        return self.public_url.rstrip("/") + reverse("channels_sms:status")
