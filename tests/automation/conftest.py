"""Shared set-up of the automation tests: a registered event type, a customer, a rule maker, a local webhook."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import pytest

from cxloop.automation import runner, services
from cxloop.automation.models import Rule
from cxloop.automation.runner import Occurrence
from cxloop.automation.services import RuleInput
from cxloop.core.actor import Actor
from cxloop.customers.models import Customer
from cxloop.events import services as event_services
from cxloop.events.models import EventType
from cxloop.events.types import EventTypeInput
from tests.customers.factories import CustomerFactory

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _fresh_trigger_cache() -> Iterator[None]:
    runner.forget_triggers()
    runner.reset_kick()
    yield
    runner.forget_triggers()
    runner.reset_kick()


@pytest.fixture
def purchase_type(db: None, system: Actor) -> EventType:
    return event_services.create_event_type(system, EventTypeInput(key="purchase.completed", name="Purchase completed"))


@pytest.fixture
def customer(db: None) -> Customer:
    return CustomerFactory(name="Maya Patel", attributes={"plan": "pro"}, tags=["vip"])


@pytest.fixture
def make_rule(system: Actor, purchase_type: EventType) -> Callable[..., Rule]:
    counter = iter(range(1, 1000))

    def make(actions: list[dict[str, Any]] | None = None, **fields: Any) -> Rule:
        values: dict[str, Any] = {
            "name": f"Rule {next(counter)}",
            "trigger_source": "customer_event",
            "trigger_type": "purchase.completed",
            "actions": actions or [{"type": "tag", "add": ["buyer"]}],
        }
        values.update(fields)
        return services.create_rule(system, RuleInput(**values))

    return make


def purchase(customer: Customer, n: int = 1, **properties: Any) -> Occurrence:
    """The occurrence a stored purchase event hands the runner (as the subscriber builds it)."""
    return Occurrence(
        source="customer_event",
        type="purchase.completed",
        ref=f"customer_event:p-{n}",
        customer_id=customer.public_id,
        occurred_at=T0.isoformat(),
        received_at=datetime.now(UTC).isoformat(),
        properties=properties,
    )


class Receiver(BaseHTTPRequestHandler):
    """Answers `status`, or, while `script` has entries, the next (status, extra headers) of it."""

    received: list[dict[str, Any]] = []
    status = 200
    script: list[tuple[int, dict[str, str]]] = []

    def do_POST(self) -> None:  # noqa: N802 - the http.server API
        body = self.rfile.read(int(self.headers["Content-Length"]))
        Receiver.received.append({"headers": dict(self.headers), "body": body})
        status, headers = Receiver.script.pop(0) if Receiver.script else (Receiver.status, {})
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[str]:
    Receiver.received, Receiver.status, Receiver.script = [], 200, []
    server = HTTPServer(("127.0.0.1", 0), Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/hook"
    server.shutdown()
    server.server_close()
