"""Signed outbound webhooks: a real HTTP server receives the call and checks the signature with the secret."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import pytest

from cxloop.channels.outbound_webhook import DELIVERY_HEADER, post_signed
from cxloop.channels.signing import SIGNATURE_HEADER, verify


class _Receiver(BaseHTTPRequestHandler):
    received: list[dict[str, Any]] = []
    status = 200

    def do_POST(self) -> None:  # noqa: N802 - the http.server API
        body = self.rfile.read(int(self.headers["Content-Length"]))
        _Receiver.received.append({"headers": dict(self.headers), "body": body})
        self.send_response(_Receiver.status)
        self.end_headers()
        self.wfile.write(b"thanks")

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[str]:
    _Receiver.received, _Receiver.status = [], 200
    server = HTTPServer(("127.0.0.1", 0), _Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/hook"
    server.shutdown()


def test_the_call_is_signed_and_carries_its_delivery_id(receiver):
    call = post_signed(receiver, {"customer": "cus_1"}, delivery_id="jny-7-3", secret="s3cret")

    (got,) = _Receiver.received
    verify("s3cret", got["body"], got["headers"][SIGNATURE_HEADER])
    assert (call.ok, call.status, call.response_excerpt) == (True, 200, "thanks")
    assert (got["headers"][DELIVERY_HEADER], json.loads(got["body"])) == ("jny-7-3", {"customer": "cus_1"})


def test_an_error_answer_is_reported_not_raised(receiver):
    _Receiver.status = 500

    call = post_signed(receiver, {}, delivery_id="d", secret="s")

    assert (call.ok, call.status, call.error) == (False, 500, "HTTP 500")


def test_no_answer_and_a_bad_url_are_reported():
    refused = post_signed("http://127.0.0.1:9/none", {}, delivery_id="d", timeout=2)
    bad = post_signed("file:///etc/passwd", {}, delivery_id="d")

    assert (refused.ok, refused.status, refused.error.startswith("ConnectionError")) == (False, 0, True)
    assert (bad.ok, bad.error) == (False, "url must be an http:// or https:// URL with a host")
