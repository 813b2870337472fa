"""/api/v1/conversations: the inbox for integrations."""

from __future__ import annotations

import pytest

from cxloop.core import clock
from cxloop.interactions import conversations
from cxloop.interactions.models import Interaction, Thread
from cxloop.privacy.models import AuditEntry
from tests.customers.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def open_conversation(name: str = "Ann", channel: str = "email", subject: str = "Card charged twice") -> Thread:
    customer = CustomerFactory(name=name)
    thread = conversations.open_thread(
        customer, channel, subject=subject, normalized_subject=subject.lower(), external_ref=f"{name}@x", at=clock.now()
    )
    conversations.note_inbound(thread, clock.now())
    return thread


def test_the_inbox_lists_open_conversations_with_filters(api, alice):
    email = open_conversation()
    sms = open_conversation("Bo", "sms", "Where is my card")
    closed = open_conversation("Cy")
    Thread.objects.filter(pk=closed.pk).update(status="closed")
    listed = api.get("/conversations", alice).json()["items"]
    assert {c["id"] for c in listed} == {email.public_id, sms.public_id}
    assert all(c["awaiting_reply"] for c in listed)
    assert [c["id"] for c in api.get("/conversations?channel=sms", alice).json()["items"]] == [sms.public_id]
    assert [c["id"] for c in api.get("/conversations?status=closed", alice).json()["items"]] == [closed.public_id]
    assert [c["id"] for c in api.get("/conversations?q=bo", alice).json()["items"]] == [sms.public_id]
    assert api.get("/conversations?status=lost", alice).status_code == 422


def test_an_agent_takes_a_conversation_and_finds_it_under_mine(api, alice, bob):
    thread = open_conversation()
    response = api.post(f"/conversations/{thread.public_id}/assign", alice, {"assignee": "alice"})
    assert response.status_code == 200, response.content
    assert response.json()["assignee"] == "alice"
    assert [c["id"] for c in api.get("/conversations?assigned=mine", alice).json()["items"]] == [thread.public_id]
    assert api.get("/conversations?assigned=mine", bob).json()["items"] == []
    assert api.post(f"/conversations/{thread.public_id}/assign", alice, {"assignee": "bob"}).status_code == 403
    assert api.post(f"/conversations/{thread.public_id}/assign", bob, {"assignee": "nobody"}).status_code == 422
    assert AuditEntry.objects.filter(action="conversation.assigned", object_id=thread.public_id).count() == 1


def test_status_changes_and_notes(api, alice):
    thread = open_conversation()
    assert (
        api.post(f"/conversations/{thread.public_id}/status", alice, {"status": "closed"}).json()["status"] == "closed"
    )
    assert api.post(f"/conversations/{thread.public_id}/status", alice, {"status": "gone"}).status_code == 422
    note = api.post(f"/conversations/{thread.public_id}/notes", alice, {"body": "Called the bank"})
    assert note.status_code == 201
    assert Interaction.objects.get(public_id=note.json()["id"]).thread == thread
    messages = api.get(f"/conversations/{thread.public_id}/messages", alice).json()["items"]
    assert [m["body"] for m in messages] == ["Called the bank"]
    assert api.get("/conversations/thr_missing", alice).status_code == 404
