"""Registration at start-up: the parsers always, a sender only when the channel's settings are complete."""

from __future__ import annotations

import pytest
from django.apps import apps

from cxloop.channels import registry
from cxloop.channels.sms.sender import TwilioSender
from cxloop.channels.whatsapp.sender import WhatsAppSender


@pytest.fixture
def empty_registry(monkeypatch):
    monkeypatch.setattr(registry, "_adapters", {})
    monkeypatch.setattr(registry, "_senders", {})


def start(label: str) -> None:
    apps.get_app_config(label).ready()


def test_unconfigured_channels_parse_but_do_not_send(settings, empty_registry):
    settings.CXLOOP_TWILIO_ACCOUNT_SID = settings.CXLOOP_TWILIO_AUTH_TOKEN = settings.CXLOOP_TWILIO_FROM = ""
    settings.CXLOOP_WHATSAPP_TOKEN = settings.CXLOOP_WHATSAPP_PHONE_NUMBER_ID = ""

    start("channels_sms")
    start("channels_whatsapp")

    assert registry.receivable_channels() == ["sms", "whatsapp"]
    assert registry.sendable_channels() == []


def test_configured_channels_send(settings, empty_registry):
    settings.CXLOOP_TWILIO_ACCOUNT_SID = "AC" + "0" * 32
    settings.CXLOOP_TWILIO_AUTH_TOKEN = "token"
    settings.CXLOOP_TWILIO_FROM = ""
    settings.CXLOOP_TWILIO_MESSAGING_SERVICE_SID = "MG" + "0" * 32
    settings.CXLOOP_WHATSAPP_TOKEN = "EAAG"
    settings.CXLOOP_WHATSAPP_PHONE_NUMBER_ID = "106540352242922"

    start("channels_sms")
    start("channels_whatsapp")

    assert isinstance(registry.sender_for("sms"), TwilioSender)
    assert isinstance(registry.sender_for("whatsapp"), WhatsAppSender)


def test_twilio_without_a_sender_number_does_not_send(settings, empty_registry):
    settings.CXLOOP_TWILIO_ACCOUNT_SID = "AC" + "0" * 32
    settings.CXLOOP_TWILIO_AUTH_TOKEN = "token"
    settings.CXLOOP_TWILIO_FROM = settings.CXLOOP_TWILIO_MESSAGING_SERVICE_SID = ""

    start("channels_sms")

    assert registry.sendable_channels() == []
