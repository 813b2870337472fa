"""The visitor API: sessions, messages, contact details, tokens, CORS and rate limits."""

from __future__ import annotations

import json

import pytest

from cxloop.channels.webchat.models import ChatMessage, ChatSession, RateCounter
from cxloop.channels.webchat.services import hash_token

pytestmark = pytest.mark.django_db


def test_start_returns_a_session_and_a_token_that_is_kept_only_hashed(new_visitor):
    visitor = new_visitor()

    response = visitor.start(**{"User-Agent": "Mozilla/5.0 test"})

    assert response.status_code == 201
    body = response.json()
    assert body["id"].startswith("chs_")
    assert body["status"] == "open"
    assert body["last_seq"] == 0
    assert len(body["token"]) >= 40
    assert body["stream_key"]
    assert body["streaming"] is True
    session = ChatSession.objects.get(public_id=body["id"])
    assert session.token_hash == hash_token(body["token"]) != body["token"]
    assert session.anonymous_id.startswith("anon_")
    assert session.user_agent == "Mozilla/5.0 test"
    assert session.customer is None  # no profile for a visitor who has said nothing yet


def test_a_sent_message_is_numbered_and_read_back_after_n(visitor):
    first = visitor.say("Hello, is anyone there?")
    second = visitor.say("  I have a question about boots.\r\n ")

    assert first.status_code == 201
    assert second.status_code == 201
    assert first.json()["message"]["seq"] == 1
    assert second.json()["message"] == {
        "seq": 2,
        "direction": "visitor",
        "text": "I have a question about boots.",
        "created_at": second.json()["message"]["created_at"],
    }
    everything = visitor.poll(0).json()
    assert [m["seq"] for m in everything["messages"]] == [1, 2]
    assert everything["last_seq"] == 2
    after_one = visitor.poll(1).json()["messages"]
    assert [m["text"] for m in after_one] == ["I have a question about boots."]
    assert visitor.poll(2).json()["messages"] == []


@pytest.mark.parametrize(
    ("text", "reason"),
    [("", "must not be empty"), ("   \n ", "must not be empty"), (42, "must be a string"), (None, "must be a string")],
)
def test_an_empty_or_non_text_message_is_refused_with_422(visitor, text, reason):
    response = visitor.say(text)

    assert response.status_code == 422
    assert response.json()["error"]["code"] == "validation_error"
    assert response.json()["error"]["fields"] == {"text": reason}
    assert not ChatMessage.objects.exists()


def test_a_message_over_the_limit_is_refused(visitor, settings):
    settings.CXLOOP_CHAT_MAX_MESSAGE_CHARS = 10

    response = visitor.say("x" * 11)

    assert response.status_code == 422
    assert response.json()["error"]["fields"] == {"text": "must be at most 10 characters"}
    assert visitor.say("x" * 10).status_code == 201


def test_a_body_that_is_not_a_json_object_is_a_422_not_a_500(visitor):
    for raw in (b"not json", b"[1, 2]", b"\xff\xfe"):
        response = visitor.client.post(
            f"/chat/api/sessions/{visitor.id}/messages",
            data=raw,
            content_type="application/json",
            headers=visitor.auth(),
        )
        assert response.status_code == 422, raw
        assert response.json()["error"]["fields"] == {"body": "must be a JSON object"}


def test_a_retried_send_with_the_same_client_id_is_one_message(visitor):
    first = visitor.say("Where is my order?", client_id="c-1")
    again = visitor.say("Where is my order?", client_id="c-1")

    assert first.json()["message"]["seq"] == again.json()["message"]["seq"] == 1
    assert ChatMessage.objects.count() == 1


def test_the_token_is_required(visitor):
    response = visitor.client.get(f"/chat/api/sessions/{visitor.id}/messages")

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "token_required"


def test_a_wrong_token_or_another_sessions_token_is_refused_with_403(visitor, new_visitor):
    other = new_visitor()
    other.start()

    assert visitor.poll(0, token="not-the-token").status_code == 403
    assert visitor.say("hi", token=other.token).status_code == 403
    assert visitor.poll(0, token=visitor.stream_key).status_code == 403  # the stream key cannot read or post
    assert visitor.poll(0, token=other.token).json()["error"]["code"] == "invalid_token"
    assert not ChatMessage.objects.exists()


def test_an_unknown_session_is_404(visitor):
    response = visitor.client.get("/chat/api/sessions/chs_nope/messages", headers=visitor.auth())

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_after_must_be_a_whole_number(visitor):
    response = visitor.poll("-1")

    assert response.status_code == 422
    assert response.json()["error"]["fields"] == {"after": "must be a whole number ≥ 0"}


def test_a_closed_chat_takes_no_more_messages(visitor):
    closed = visitor.client.post(f"/chat/api/sessions/{visitor.id}/close", headers=visitor.auth())

    response = visitor.say("hello?")

    assert closed.json()["status"] == "closed"
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "chat_closed"


def test_a_wrong_method_is_405_with_allow(visitor):
    response = visitor.client.delete(f"/chat/api/sessions/{visitor.id}/messages", headers=visitor.auth())

    assert response.status_code == 405
    assert response["Allow"] == "GET, POST, OPTIONS"


def test_an_oversized_body_is_413(visitor):
    response = visitor.say("x" * 70_000)

    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"


# --- contact details -------------------------------------------------------------------------------
def test_identify_with_a_bad_email_names_the_field(visitor):
    response = visitor.identify(name="Ann", email="ann@@example")

    assert response.status_code == 422
    fields = response.json()["error"]["fields"]
    assert set(fields) == {"email"}
    assert fields["email"]


def test_identify_reports_every_bad_field_at_once(visitor):
    response = visitor.identify(name="A" * 201, email="nope", phone="12")

    assert response.status_code == 422
    assert set(response.json()["error"]["fields"]) == {"name", "email", "phone"}


@pytest.mark.parametrize("details", [{}, {"name": "Ann"}, {"email": "", "phone": "  "}])
def test_identify_needs_an_email_or_a_phone(visitor, details):
    response = visitor.identify(**details)

    assert response.status_code == 422
    assert response.json()["error"]["fields"] == {"email": "give an email address or a phone number"}


def test_identify_refuses_non_text_values(visitor):
    response = visitor.identify(email=["ann@example.com"])

    assert response.status_code == 422
    assert response.json()["error"]["fields"] == {"email": "must be a string"}


def test_identify_answers_with_a_confirmation_line(visitor):
    response = visitor.identify(name="Ann Lee", email="Ann.Lee@Example.com")

    assert response.status_code == 200
    message = response.json()["message"]
    assert message["direction"] == "system"
    assert message["seq"] == 1
    assert message["text"] == "Thank you, Ann Lee. If we miss you here, we will reply by email."
    assert visitor.poll(0).json()["messages"][0]["text"] == message["text"]


# --- CORS ------------------------------------------------------------------------------------------
def test_an_allowed_origin_gets_cors_headers_and_a_preflight(visitor):
    preflight = visitor.client.options(
        f"/chat/api/sessions/{visitor.id}/messages",
        headers={"Origin": "https://shop.example", "Access-Control-Request-Method": "POST"},
    )
    sent = visitor.say("from the shop", Origin="https://shop.example")

    assert preflight.status_code == 204
    assert preflight["Access-Control-Allow-Origin"] == "https://shop.example"
    assert "Authorization" in preflight["Access-Control-Allow-Headers"]
    assert "POST" in preflight["Access-Control-Allow-Methods"]
    assert sent.status_code == 201
    assert sent["Access-Control-Allow-Origin"] == "https://shop.example"
    assert sent["Vary"] == "Origin"
    assert "Access-Control-Allow-Credentials" not in sent


def test_a_denied_origin_is_refused_without_cors_headers(visitor, new_visitor):
    preflight = visitor.client.options(
        "/chat/api/sessions", headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"}
    )
    sent = visitor.say("from elsewhere", Origin="https://evil.example")
    started = new_visitor().start(Origin="https://evil.example")

    for response in (preflight, sent, started):
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "origin_not_allowed"
        assert "Access-Control-Allow-Origin" not in response
    assert not ChatMessage.objects.exists()
    assert ChatSession.objects.count() == 1


def test_the_instance_itself_is_always_an_allowed_origin(new_visitor, settings):
    settings.CXLOOP_CHAT_ALLOWED_ORIGINS = []

    response = new_visitor().start(Origin="http://testserver")

    assert response.status_code == 201
    assert response["Access-Control-Allow-Origin"] == "http://testserver"


def test_a_star_allows_every_origin(new_visitor, settings):
    settings.CXLOOP_CHAT_ALLOWED_ORIGINS = ["*"]

    response = new_visitor().start(Origin="https://anywhere.example")

    assert response.status_code == 201
    assert response["Access-Control-Allow-Origin"] == "https://anywhere.example"


# --- rate limits -----------------------------------------------------------------------------------
def test_messages_over_the_per_session_limit_get_429_with_retry_after(visitor, settings):
    settings.CXLOOP_CHAT_MESSAGES_PER_MINUTE = 3

    statuses = [visitor.say(f"message {n}").status_code for n in range(5)]

    assert statuses == [201, 201, 201, 429, 429]
    limited = visitor.say("again")
    assert limited.json()["error"]["code"] == "rate_limited"
    assert 1 <= int(limited["Retry-After"]) <= 60
    assert ChatMessage.objects.count() == 3


def test_new_sessions_are_limited_per_client_address(new_visitor, settings):
    settings.CXLOOP_CHAT_SESSIONS_PER_HOUR = 2

    statuses = [new_visitor().start(remote_addr="203.0.113.9").status_code for _ in range(3)]
    elsewhere = new_visitor().start(remote_addr="198.51.100.7")

    assert statuses == [201, 201, 429]
    assert elsewhere.status_code == 201
    assert not RateCounter.objects.filter(key__contains="203.0.113.9").exists()  # addresses are hashed


def test_writes_are_limited_per_client_address_across_sessions(new_visitor, settings):
    settings.CXLOOP_CHAT_IP_WRITES_PER_MINUTE = 2
    first, second = new_visitor(), new_visitor()
    first.start()
    second.start()

    statuses = [first.say("a").status_code, second.say("b").status_code, second.say("c").status_code]

    assert statuses == [201, 201, 429]


def test_polling_is_not_counted(visitor, settings):
    settings.CXLOOP_CHAT_MESSAGES_PER_MINUTE = 1

    assert all(visitor.poll(0).status_code == 200 for _ in range(5))
    assert visitor.say("still allowed").status_code == 201


def test_json_error_bodies_are_json(visitor):
    response = visitor.say("")

    assert response["Content-Type"].startswith("application/json")
    assert json.loads(response.content)["error"]["message"] == "The message is empty."
