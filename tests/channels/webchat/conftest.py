"""A visitor's side of the chat API, as the widget uses it, and quick event streams for the tests."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client


@pytest.fixture(autouse=True)
def _chat_settings(settings) -> None:  # type: ignore[no-untyped-def]
    settings.CXLOOP_CHAT_ALLOWED_ORIGINS = ["https://shop.example"]
    settings.CXLOOP_CHAT_STREAM_SECONDS = 0.3
    settings.CXLOOP_CHAT_STREAM_INTERVAL = 0.05
    settings.CXLOOP_CHAT_STREAM_HEARTBEAT = 0.1
    settings.CXLOOP_CHAT_SESSIONS_PER_HOUR = 50
    settings.CXLOOP_CHAT_MESSAGES_PER_MINUTE = 50
    settings.CXLOOP_CHAT_IP_WRITES_PER_MINUTE = 500
    settings.CXLOOP_CHAT_MAX_STREAMS = 3


@pytest.fixture(autouse=True)
def _streams_give_their_slots_back():  # type: ignore[no-untyped-def]
    """Every stream a test opened and closed must have given its thread slot back."""
    from cxloop.channels.webchat import sse

    sse.slots.open = 0
    yield
    assert sse.slots.open == 0, "a closed stream kept its slot"


@dataclass
class Visitor:
    client: Client
    id: str = ""
    token: str = ""
    stream_key: str = ""

    def start(self, remote_addr: str = "127.0.0.1", **headers: str):  # type: ignore[no-untyped-def]
        response = self.client.post(
            "/chat/api/sessions", data="{}", content_type="application/json", headers=headers, REMOTE_ADDR=remote_addr
        )
        if response.status_code == 201:
            body = response.json()
            self.id, self.token, self.stream_key = body["id"], body["token"], body["stream_key"]
        return response

    def auth(self, token: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token if token is None else token}"}

    def say(self, text: Any, *, client_id: str = "", token: str | None = None, **headers: str):  # type: ignore[no-untyped-def]
        body = {"text": text, **({"client_id": client_id} if client_id else {})}
        return self.client.post(
            f"/chat/api/sessions/{self.id}/messages",
            data=json.dumps(body),
            content_type="application/json",
            headers={**self.auth(token), **headers},
        )

    def identify(self, **details: Any):  # type: ignore[no-untyped-def]
        return self.client.post(
            f"/chat/api/sessions/{self.id}/identify",
            data=json.dumps(details),
            content_type="application/json",
            headers=self.auth(),
        )

    def poll(self, after: int | str = 0, *, token: str | None = None, **headers: str):  # type: ignore[no-untyped-def]
        return self.client.get(
            f"/chat/api/sessions/{self.id}/messages", {"after": after}, headers={**self.auth(token), **headers}
        )


@pytest.fixture
def visitor(db: None) -> Visitor:
    chatting = Visitor(Client())
    assert chatting.start().status_code == 201
    return chatting


@pytest.fixture
def new_visitor(db: None):  # type: ignore[no-untyped-def]
    return lambda: Visitor(Client())


def read_stream(response) -> str:  # type: ignore[no-untyped-def]
    assert response.streaming
    return b"".join(response.streaming_content).decode()


def stream_events(text: str) -> list[dict[str, str]]:
    """The events of an SSE body (comments and the retry field left out), as {"id", "event", "data"}."""
    found = []
    for block in text.split("\n\n"):
        fields: dict[str, str] = {}
        for line in block.split("\n"):
            if line.startswith(":") or not line:
                continue
            name, _, value = line.partition(": ")
            fields[name] = value
        if "event" in fields:
            found.append(fields)
    return found
