"""An email's inline (cid:) image shows inside the sandboxed frame as a data: URL; remote images never load."""

from __future__ import annotations

import html
from pathlib import Path

import pytest

from cxloop.channels import services as channel_services
from cxloop.channels.base import RawPayload
from cxloop.channels.models import Attachment
from cxloop.interactions.models import Thread

CORPUS = Path(__file__).resolve().parents[1] / "channels" / "email" / "corpus"
pytestmark = pytest.mark.django_db(transaction=True)


def conversation_page(client, alice) -> str:
    raw = (CORPUS / "inline_cid_image.eml").read_bytes()
    channel_services.receive(RawPayload(channel="email", data=raw, source="test"))
    client.force_login(alice.user)
    return html.unescape(client.get(f"/inbox/{Thread.objects.get().public_id}/").content.decode())


def test_the_inline_image_is_embedded_and_the_tracker_is_left_blocked(client, alice):
    page = conversation_page(client, alice)
    assert Attachment.objects.get().content_id == "ii_m5x1@example.com"
    assert 'src="data:image/png;base64,' in page
    assert "cid:ii_m5x1@example.com" not in page
    assert "img-src data:" in page  # the frame's policy: a remote tracker image stays unloaded
    assert "tracker.example.net" not in page  # the sanitiser dropped the remote image


def test_an_image_over_the_inline_limit_stays_a_plain_attachment(client, alice, monkeypatch):
    from cxloop.web.views import conversation_display

    monkeypatch.setattr(conversation_display, "_INLINE_MAX_BYTES", 10)
    page = conversation_page(client, alice)
    assert "data:image/png;base64," not in page
    assert "cid:ii_m5x1@example.com" in page
