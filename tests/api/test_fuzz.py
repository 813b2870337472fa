"""Schemathesis against the in-process WSGI app: whatever it sends, from valid to garbage, nothing is a 500.

Bounded on purpose (a few examples per operation, valid and invalid); raise CXLOOP_FUZZ_EXAMPLES for a
longer run. The requests carry an admin's token so they reach every handler, not just the 401.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
import schemathesis
from django.core.signals import request_started
from django.db import close_old_connections, transaction
from hypothesis import HealthCheck, settings

from cxloop.config.wsgi import application
from tests.customers.factories import CustomerFactory, IdentityFactory
from tests.interactions.factories import InteractionFactory

EXAMPLES = int(os.environ.get("CXLOOP_FUZZ_EXAMPLES", "12"))

schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", application)
schema.config.generation.update(max_examples=EXAMPLES)


@pytest.fixture
def in_test_transaction() -> Iterator[None]:
    """Django's WSGI handler closes the connection at each request start; the test client does not, so
    neither may we here, or the test's transaction would be lost."""
    request_started.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)


@pytest.fixture
def some_data(db: None) -> None:
    customer = CustomerFactory(name="Ann")
    IdentityFactory(customer=customer, value="ann@example.com")
    InteractionFactory(customer=customer)


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.filter_too_much],
)
def test_no_request_is_answered_with_a_server_error(case, ada, some_data, in_test_transaction):
    with transaction.atomic():  # one savepoint per example: a failure cannot spoil the next ones
        response = case.call(headers={"Authorization": f"Bearer {ada.token}"})

    assert response.status_code < 500, (case.method, case.formatted_path, case.body, response.text[:500])
    if response.status_code >= 400 and response.status_code != 405:  # 405 is django-ninja's plain-text answer
        error = response.json()["error"]
        assert set(error) == {"code", "message", "fields"}, response.text
