"""Server-Sent Events: the visitor's stream and the agent's, read through Django's streaming responses."""

from __future__ import annotations

import json

import pytest
from django.core.signals import request_finished
from django.db import close_old_connections
from django.test import Client

from cxloop.channels.webchat import services
from cxloop.channels.webchat.models import ChatSession
from tests.channels.webchat.conftest import read_stream, stream_events

pytestmark = pytest.mark.django_db


def open_stream(visitor, *, key: str | None = None, **headers: str):  # type: ignore[no-untyped-def]
    query = {"key": visitor.stream_key if key is None else key}
    return visitor.client.get(f"/chat/api/sessions/{visitor.id}/stream", query, headers=headers)


def hang_up(response) -> None:  # type: ignore[no-untyped-def]
    """Close a stream unread, as the server does when its client leaves (without the server's request_finished
    closing the test's database connection, which Django's test client avoids the same way)."""
    request_finished.disconnect(close_old_connections)
    try:
        response.close()
    finally:
        request_finished.connect(close_old_connections)


def agent_line(visitor, text: str) -> None:  # type: ignore[no-untyped-def]
    services.append_agent_message(ChatSession.objects.get(public_id=visitor.id).anonymous_id, text)


def test_the_stream_sends_lines_as_message_events_with_the_seq_as_id(visitor):
    visitor.say("Hello")
    agent_line(visitor, "Hi Ann, how can I help?")

    response = open_stream(visitor)

    assert response.status_code == 200
    assert response["Content-Type"] == "text/event-stream; charset=utf-8"
    assert response["Cache-Control"] == "no-cache, no-store"
    body = read_stream(response)
    assert body.startswith("retry: 2000\n")
    events = stream_events(body)
    assert [(e["id"], e["event"]) for e in events] == [("1", "message"), ("2", "message")]
    assert json.loads(events[1]["data"]) == {
        "seq": 2,
        "direction": "agent",
        "text": "Hi Ann, how can I help?",
        "created_at": json.loads(events[1]["data"])["created_at"],
    }


def test_the_stream_resumes_after_last_event_id_before_after(visitor):
    for text in ("one", "two", "three"):
        visitor.say(text)

    resumed = stream_events(read_stream(open_stream(visitor, **{"Last-Event-ID": "2"})))
    by_query = stream_events(
        read_stream(
            visitor.client.get(f"/chat/api/sessions/{visitor.id}/stream", {"key": visitor.stream_key, "after": 1})
        )
    )
    header_wins = stream_events(
        read_stream(
            visitor.client.get(
                f"/chat/api/sessions/{visitor.id}/stream",
                {"key": visitor.stream_key, "after": 0},
                headers={"Last-Event-ID": "2"},
            )
        )
    )

    assert [e["id"] for e in resumed] == ["3"]
    assert [e["id"] for e in by_query] == ["2", "3"]
    assert [e["id"] for e in header_wins] == ["3"]


def test_an_idle_stream_sends_heartbeat_comments_and_closes_by_itself(visitor):
    body = read_stream(open_stream(visitor))

    assert stream_events(body) == []
    assert ": heartbeat\n\n" in body
    assert body.endswith(": closing, reconnect with Last-Event-ID\n\n")


def test_the_stream_takes_the_token_in_a_header_too(visitor):
    response = visitor.client.get(f"/chat/api/sessions/{visitor.id}/stream", headers=visitor.auth())

    assert response.status_code == 200
    read_stream(response)


def test_the_stream_needs_the_key_of_its_own_session(visitor, new_visitor):
    other = new_visitor()
    other.start()

    assert open_stream(visitor, key="").status_code == 401
    assert open_stream(visitor, key="forged").status_code == 403
    assert open_stream(visitor, key=other.stream_key).status_code == 403


def test_a_stream_for_a_closed_chat_ends_at_once_after_the_backlog(visitor, settings):
    settings.CXLOOP_CHAT_STREAM_SECONDS = 30
    visitor.say("bye")
    visitor.client.post(f"/chat/api/sessions/{visitor.id}/close", headers=visitor.auth())

    events = stream_events(read_stream(open_stream(visitor)))  # would take 30 s if it did not end

    assert [e["id"] for e in events] == ["1"]


def test_with_streaming_off_the_widget_is_told_to_poll(visitor, settings):
    settings.CXLOOP_CHAT_SSE = False

    response = open_stream(visitor)

    assert response.status_code == 503
    assert response.json()["error"]["code"] == "streaming_off"


def test_a_stream_from_an_allowed_origin_has_cors_headers(visitor):
    response = open_stream(visitor, Origin="https://shop.example")

    assert response["Access-Control-Allow-Origin"] == "https://shop.example"
    read_stream(response)


def test_over_the_stream_cap_a_stream_is_refused_so_the_widget_polls(visitor, settings):
    settings.CXLOOP_CHAT_MAX_STREAMS = 2
    first, second = open_stream(visitor), open_stream(visitor)

    refused = open_stream(visitor)
    hang_up(first)
    again = open_stream(visitor)

    assert first.status_code == second.status_code == 200
    assert refused.status_code == 503
    assert refused.json()["error"]["code"] == "streaming_busy"
    assert again.status_code == 200
    hang_up(second)
    hang_up(again)


# --- the agent's stream ----------------------------------------------------------------------------
def agent_stream(client: Client, thread_id: str, **headers: str):  # type: ignore[no-untyped-def]
    return client.get(f"/chat/agent/{thread_id}/stream", headers=headers)


def test_an_agent_follows_the_chat_of_a_conversation(visitor, alice, client):
    visitor.say("Is anyone there?")
    thread_ref = ChatSession.objects.get(public_id=visitor.id).thread_ref
    client.force_login(alice.user)

    response = agent_stream(client, thread_ref, **{"Last-Event-ID": "0"})

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/event-stream")
    events = stream_events(read_stream(response))
    assert [json.loads(e["data"])["text"] for e in events] == ["Is anyone there?"]
    assert json.loads(events[0]["data"])["direction"] == "visitor"


def test_the_agent_stream_requires_a_staff_login(visitor, client):
    visitor.say("Hello")
    thread_ref = ChatSession.objects.get(public_id=visitor.id).thread_ref

    refused = agent_stream(client, thread_ref)
    with_visitor_token = agent_stream(client, thread_ref, Authorization=f"Bearer {visitor.token}")

    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == "login_required"
    assert with_visitor_token.status_code == 401


def test_a_deactivated_member_cannot_follow_a_chat(visitor, client, charlie):
    visitor.say("Hello")
    thread_ref = ChatSession.objects.get(public_id=visitor.id).thread_ref
    charlie.user.is_active = False
    charlie.user.save()
    client.force_login(charlie.user)

    response = agent_stream(client, thread_ref)

    assert response.status_code in (401, 403)


def test_a_conversation_without_a_chat_is_404(alice, client):
    client.force_login(alice.user)

    response = agent_stream(client, "thr_unknown")

    assert response.status_code == 404
