"""A run waiting for its webhook's automatic retry, in a real Chromium: the page says when it is retried, lists the
attempt, offers "Retry now" to a supervisor, and is axe-clean."""

from __future__ import annotations

import pytest

from cxloop.automation import runner, services
from cxloop.automation.services import RuleInput
from cxloop.core.actor import Actor
from cxloop.events import services as event_services
from cxloop.events.types import EventTypeInput
from tests.automation.conftest import purchase
from tests.browser.test_feedback_dashboard import axe_violations
from tests.customers.factories import CustomerFactory

pytestmark = pytest.mark.browser


def test_a_retrying_run_shows_its_next_attempt(page, login_as, bob):
    # given: a webhook nobody answers (transient), so the run waits for its retry
    event_services.create_event_type(
        Actor.system("test"), EventTypeInput(key="purchase.completed", name="Purchase completed")
    )
    services.create_rule(
        bob.actor,
        RuleInput(
            name="Tell the shop",
            trigger_source="customer_event",
            trigger_type="purchase.completed",
            actions=[{"type": "webhook", "url": "http://127.0.0.1:9/nobody"}],
        ),
    )
    (run,) = runner.run_rules(purchase(CustomerFactory(name="Maya Patel")))
    run.refresh_from_db()
    login_as(bob)

    # when
    page.goto(f"/automation/runs/{run.public_id}/")

    # then
    retrying = " ".join((page.locator("#retrying").text_content() or "").split())
    assert "retrying at" in retrying
    assert page.locator("#retrying time").get_attribute("datetime") == run.lease_until.isoformat()
    rows = page.locator("#attempts tbody tr")
    assert rows.count() == 1
    assert "ConnectionError" in (rows.nth(0).text_content() or "")
    assert page.get_by_role("button", name="Retry now").is_visible()
    assert axe_violations(page) == []
