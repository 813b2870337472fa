"""Retrying a run's failed actions: only those run again (a webhook with its same delivery id), by the worker, audited;
refused for runs where nothing failed, for rules changed since, and for people who may not manage rules."""

from __future__ import annotations

from datetime import timedelta

import pytest

from cxloop.accounts.models import User
from cxloop.automation import runner, services
from cxloop.automation.models import RuleRun
from cxloop.channels.outbound_webhook import DELIVERY_HEADER
from cxloop.core import clock
from cxloop.core.errors import ConflictError, PermissionDeniedError
from cxloop.privacy.models import AuditEntry
from tests.automation.conftest import Receiver, purchase


@pytest.fixture
def immediate_tasks(settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}


def test_only_the_failed_actions_run_again(
    make_rule, customer, receiver, bob, alice, immediate_tasks, django_capture_on_commit_callbacks, settings
):
    settings.CXLOOP_AUTOMATION_WEBHOOK_RETRIES = 0  # a 503 fails at once (test_webhook_retries.py retries it)
    make_rule(
        [
            {"type": "tag", "add": ["buyer"]},
            {"type": "assign", "target": "case", "user": "alice"},
            {"type": "webhook", "url": receiver},
        ]
    )
    User.objects.filter(username="alice").update(is_active=False)
    Receiver.status = 503
    (run,) = runner.run_rules(purchase(customer))
    User.objects.filter(username="alice").update(is_active=True)
    Receiver.status = 200

    with django_capture_on_commit_callbacks(execute=True):
        services.retry_run(bob.actor, run)

    run.refresh_from_db()
    assert [(o["type"], o["status"]) for o in run.outcomes] == [
        ("tag", "succeeded"),
        ("assign", "skipped"),  # alice is back, but the customer has no open case
        ("webhook", "succeeded"),
    ]
    assert run.status == "succeeded"
    assert [r["headers"][DELIVERY_HEADER] for r in Receiver.received] == [f"{run.public_id}.2"] * 2
    entry = AuditEntry.objects.get(action="automation_run.retried")
    assert [o["type"] for o in entry.before["failed"]] == ["assign", "webhook"]
    assert sorted(customer.tags.values_list("name", flat=True)) == ["buyer", "vip"]


def test_a_run_that_did_not_fail_or_whose_rule_changed_is_not_retried(make_rule, customer, bob):
    rule = make_rule([{"type": "tag", "add": ["buyer"]}])
    (ok,) = runner.run_rules(purchase(customer))
    failed = RuleRun.objects.create(
        rule=rule,
        event_ref="customer_event:old",
        trigger_type="purchase.completed",
        customer=customer,
        status="failed",
        outcomes=[{"index": 0, "type": "tag", "status": "failed", "error": "x"}],
        at=clock.now() - timedelta(days=1),
        finished_at=clock.now() - timedelta(days=1),
    )

    with pytest.raises(ConflictError) as not_failed:
        services.retry_run(bob.actor, ok)
    with pytest.raises(ConflictError) as changed:
        services.retry_run(bob.actor, failed)  # the rule was made after that run

    assert (not_failed.value.code, changed.value.code) == ("run_not_failed", "rule_changed")
    failed.refresh_from_db()
    assert (failed.status, len(failed.outcomes)) == ("failed", 1)


def test_agents_may_not_retry(make_rule, customer, alice, settings):
    settings.CXLOOP_AUTOMATION_WEBHOOK_RETRIES = 0
    make_rule([{"type": "webhook", "url": "http://127.0.0.1:9/none"}])
    (run,) = runner.run_rules(purchase(customer))

    with pytest.raises(PermissionDeniedError):
        services.retry_run(alice.actor, run)

    run.refresh_from_db()
    assert (run.status, AuditEntry.objects.filter(action="automation_run.retried").count()) == ("failed", 0)


def test_the_run_page_offers_the_retry_to_managers(make_rule, customer, client, bob, charlie, settings):
    settings.CXLOOP_AUTOMATION_WEBHOOK_RETRIES = 0
    make_rule([{"type": "webhook", "url": "http://127.0.0.1:9/none"}])
    (run,) = runner.run_rules(purchase(customer))

    client.force_login(charlie.user)
    reader = client.get(f"/automation/runs/{run.public_id}/").content.decode()
    refused = client.post(f"/automation/runs/{run.public_id}/retry/")
    client.force_login(bob.user)
    manager = client.get(f"/automation/runs/{run.public_id}/").content.decode()
    retried = client.post(f"/automation/runs/{run.public_id}/retry/")

    assert "Retry the failed actions" not in reader
    assert refused.status_code == 403
    assert "Retry the failed actions" in manager
    assert (retried.status_code, retried["Location"]) == (302, f"/automation/runs/{run.public_id}/")
    run.refresh_from_db()
    assert (run.status, run.outcomes) == ("matched", [])
