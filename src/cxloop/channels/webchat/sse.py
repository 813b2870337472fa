"""Server-Sent Events for a WSGI server: a stream that ends by itself.

A WSGI worker thread is held for as long as a stream is open, so each stream closes after
CXLOOP_CHAT_STREAM_SECONDS (25 s by default); the browser's EventSource reconnects on its own, sending
Last-Event-ID, and the next stream resumes after that number. Comments keep proxies from timing out an
idle stream. docs/channels/webchat.md explains the choice and how to serve streams from their own process.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from django.conf import settings
from django.http import HttpRequest, StreamingHttpResponse

from cxloop.core.ids import whole_number

RETRY_MS = 2000

Fetch = Callable[[int], list[dict[str, Any]]]


def last_event_id(request: HttpRequest) -> int:
    """Where to resume: the Last-Event-ID header of a reconnect, else ?after=N; bad values mean 0."""
    for raw in (request.headers.get("Last-Event-ID", ""), request.GET.get("after", "")):
        number = whole_number(raw.strip())
        if number is not None:
            return number
    return 0


def format_event(event: str, data: dict[str, Any], event_id: int | None = None) -> bytes:
    lines = [f"id: {event_id}"] if event_id is not None else []
    lines += [f"event: {event}", f"data: {json.dumps(data, separators=(',', ':'))}"]
    return ("\n".join(lines) + "\n\n").encode()


def events(fetch: Fetch, after: int, *, is_open: Callable[[], bool] = lambda: True) -> Iterator[bytes]:
    """Lines numbered above `after` as `message` events (id = seq), until the time is up or the chat ends."""
    seconds = float(settings.CXLOOP_CHAT_STREAM_SECONDS)
    interval = float(settings.CXLOOP_CHAT_STREAM_INTERVAL)
    heartbeat = float(settings.CXLOOP_CHAT_STREAM_HEARTBEAT)
    started = last_beat = time.monotonic()
    yield f"retry: {RETRY_MS}\n: stream open for {seconds:g}s\n\n".encode()
    # The database connection is given back by Django's request_finished, sent when the server closes
    # the response after the last chunk.
    while True:
        for item in fetch(after):
            after = int(item["seq"])
            last_beat = time.monotonic()
            yield format_event("message", item, after)
        now = time.monotonic()
        if now - started >= seconds or not is_open():
            break
        if now - last_beat >= heartbeat:
            last_beat = now
            yield b": heartbeat\n\n"
        time.sleep(max(0.0, min(interval, seconds - (now - started))))
    yield b": closing, reconnect with Last-Event-ID\n\n"


class _Slots:
    """Streams open in this process. Each holds a server thread, so past CXLOOP_CHAT_MAX_STREAMS a stream is
    refused (the widget then polls) rather than leaving no thread for the staff UI and the API."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.open = 0

    def take(self) -> bool:
        with self._lock:
            if self.open >= int(settings.CXLOOP_CHAT_MAX_STREAMS):
                return False
            self.open += 1
            return True

    def give_back(self) -> None:
        with self._lock:
            self.open = max(0, self.open - 1)


slots = _Slots()


class _Held:
    """The stream's iterator, giving its slot back when the server closes the response (always, even when
    the client left before the first byte, which a generator's `finally` would not see)."""

    def __init__(self, stream: Iterator[bytes]) -> None:
        self._stream = stream
        self._held = True

    def __iter__(self) -> Iterator[bytes]:
        return self

    def __next__(self) -> bytes:
        return next(self._stream)

    def close(self) -> None:
        close = getattr(self._stream, "close", None)
        if close is not None:
            close()
        if self._held:
            self._held = False
            slots.give_back()


def stream_response(stream: Iterator[bytes]) -> StreamingHttpResponse:
    """The response for an open slot (the caller took it with `slots.take()`); it gives the slot back."""
    response = StreamingHttpResponse(_Held(stream), content_type="text/event-stream; charset=utf-8")
    response["Cache-Control"] = "no-cache, no-store"
    response["X-Accel-Buffering"] = "no"  # nginx: pass each event on at once
    return response
