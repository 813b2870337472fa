"""A message a dead worker left in "sending" becomes failed with a reason, and is never resent by itself."""

from __future__ import annotations

from datetime import timedelta

import pytest

from cxloop.core import clock
from cxloop.messaging import services
from cxloop.messaging.models import MessageStatus, OutboundMessage
from cxloop.messaging.services.dispatching import fail_stuck_messages
from cxloop.messaging.types import SendRequest
from cxloop.privacy.models import AuditEntry
from tests.customers.factories import CustomerFactory, IdentityFactory

pytestmark = pytest.mark.django_db


def test_a_message_stuck_in_sending_fails_once_with_an_explanation(alice, settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}  # nothing runs by itself
    customer = CustomerFactory()
    IdentityFactory(customer=customer, kind="email", value="ann@example.com")
    message = services.send_message(
        alice.actor, SendRequest(customer_id=customer.public_id, channel="email", text="Hi")
    )
    fresh = services.send_message(alice.actor, SendRequest(customer_id=customer.public_id, channel="email", text="Yo"))
    OutboundMessage.objects.filter(pk=message.pk).update(
        status=MessageStatus.SENDING, updated_at=clock.now() - timedelta(minutes=30)
    )
    OutboundMessage.objects.filter(pk=fresh.pk).update(status=MessageStatus.SENDING, updated_at=clock.now())

    assert fail_stuck_messages() == 1
    assert fail_stuck_messages() == 0
    message.refresh_from_db()
    assert (message.status, message.reason_code) == ("failed", "outcome_unknown")
    assert "check before sending again" in message.reason
    assert OutboundMessage.objects.get(pk=fresh.pk).status == "sending"
    assert AuditEntry.objects.filter(action="message.failed").count() == 1
    assert services.dispatch(message.pk) == "skipped"
