"""The open conversation page learns about new messages and delivery changes without a reload."""

from __future__ import annotations

import re

import pytest

from cxloop.core import clock
from cxloop.interactions import conversations, services
from cxloop.interactions.types import InteractionInput
from tests.customers.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def test_the_messages_section_polls_and_is_sent_again_only_when_something_changed(client, alice):
    customer = CustomerFactory(name="Ann")
    thread = conversations.open_thread(
        customer, "chat", subject="Chat", normalized_subject="", external_ref="chat:chs_1", at=clock.now()
    )
    services.record_interaction(
        alice.actor, customer, InteractionInput("chat", "inbound", body="Hello?"), thread=thread
    )
    client.force_login(alice.user)
    page = client.get(f"/inbox/{thread.public_id}/").content.decode()
    url = re.search(r'hx-get="(/inbox/[^"]+/live/\?v=[^"]+)"', page).group(1)
    assert 'data-agent-stream="/chat/agent/' in page  # chat pages also listen to the agent stream

    assert client.get(url, HTTP_HX_REQUEST="true").status_code == 204
    services.record_interaction(
        alice.actor, customer, InteractionInput("chat", "inbound", body="Anyone there?"), thread=thread
    )
    fresh = client.get(url, HTTP_HX_REQUEST="true")
    assert fresh.status_code == 200
    assert b"Anyone there?" in fresh.content
    newer = re.search(r'hx-get="(/inbox/[^"]+/live/\?v=[^"]+)"', fresh.content.decode()).group(1)
    assert newer != url
    assert client.get(newer, HTTP_HX_REQUEST="true").status_code == 204


def test_an_analyst_may_watch_but_a_stranger_may_not(client, charlie):
    customer = CustomerFactory()
    thread = conversations.open_thread(
        customer, "email", subject="s", normalized_subject="s", external_ref="x", at=clock.now()
    )
    assert client.get(f"/inbox/{thread.public_id}/live/?v=0").status_code == 302  # to the login page
    client.force_login(charlie.user)
    assert client.get(f"/inbox/{thread.public_id}/live/?v=0").status_code == 200
