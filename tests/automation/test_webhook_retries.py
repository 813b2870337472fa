"""Automatic retries of a rule's webhook action: a transient failure (no answer, 408, 429, 5xx) is sent again by the
worker on a backoff schedule with the same delivery id and signature, at most CXLOOP_AUTOMATION_WEBHOOK_RETRIES
times; other failures are final at once. The waiting retry lives in the database (the run's lease), so a second
worker, a restart or a manual retry never sends it twice. Time moves through core.clock, never by sleeping."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
from django_tasks_db.models import DBTaskResult

from cxloop.automation import runner, services, webhooks
from cxloop.automation.models import RuleRun
from cxloop.channels.outbound_webhook import DELIVERY_HEADER
from cxloop.channels.signing import SIGNATURE_HEADER, verify
from cxloop.core import clock
from cxloop.core.errors import ConflictError
from cxloop.events import bus
from cxloop.privacy.models import AuditEntry
from tests.automation.conftest import Receiver, purchase

SECRET = "s3cret-for-the-receiver"


@pytest.fixture
def move_clock(monkeypatch) -> Callable[[timedelta], datetime]:
    """Move cxloop's clock forward by a delta; returns the new now."""
    offset = {"by": timedelta(0)}
    real_now = clock.now
    monkeypatch.setattr(clock, "now", lambda: real_now() + offset["by"])

    def move(delta: timedelta) -> datetime:
        offset["by"] += delta
        return clock.now()

    return move


@pytest.fixture
def finished_events():
    seen: list[str] = []

    def listen(event):
        seen.append(event.status)

    bus.subscribe("automation_rule.ran", listen)
    yield seen
    bus.unsubscribe("automation_rule.ran", listen)


@pytest.fixture
def immediate_tasks(settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}


def _at(text: str | None) -> datetime:
    assert text is not None
    return datetime.fromisoformat(text)


def test_a_503_is_sent_again_a_minute_later_with_the_same_delivery_and_a_valid_signature(
    make_rule, customer, receiver, settings, move_clock, finished_events, django_capture_on_commit_callbacks
):
    # given
    settings.CXLOOP_OUTBOUND_WEBHOOK_SECRET = SECRET
    make_rule([{"type": "webhook", "url": receiver}, {"type": "tag", "add": ["notified"]}])
    Receiver.script = [(503, {})]

    # when: the first call fails
    with django_capture_on_commit_callbacks(execute=True):
        (run,) = runner.run_rules(purchase(customer))

    # then: the run waits for its retry; the other action ran
    run.refresh_from_db()
    first_at = _at(run.attempts[0]["at"])
    assert run.status == "retrying"
    assert run.finished_at is None
    assert run.lease_until == first_at + timedelta(minutes=1)
    assert [(o["type"], o["status"]) for o in run.outcomes] == [("webhook", "retrying"), ("tag", "succeeded")]
    assert run.outcomes[0]["detail"]["next_attempt_at"] == run.lease_until.isoformat()
    assert [(a["attempt"], a["status"], a["transient"]) for a in run.attempts] == [(1, 503, True)]
    assert finished_events == []  # not finished yet: automation_rule.ran waits for the last attempt
    task = DBTaskResult.objects.get(task_path="cxloop.automation.tasks.resume_run")
    assert (task.args_kwargs["args"], task.run_after) == ([run.pk], run.lease_until)

    # when: the catch-up passes before the retry is due, then after
    move_clock(timedelta(seconds=30))
    early = runner.resume_interrupted()
    move_clock(timedelta(seconds=31))
    with django_capture_on_commit_callbacks(execute=True):
        due = runner.resume_interrupted()

    # then: delivered on the 2nd attempt, same delivery id, both signed so the receiver verifies them
    run.refresh_from_db()
    assert (early, due) == (0, 1)
    assert [r["headers"][DELIVERY_HEADER] for r in Receiver.received] == [f"{run.public_id}.0"] * 2
    for request in Receiver.received:
        verify(SECRET, request["body"], request["headers"][SIGNATURE_HEADER])
        assert json.loads(request["body"])["run_id"] == run.public_id
    assert (run.status, run.lease_until) == ("succeeded", None)
    assert run.finished_at is not None
    assert [(o["type"], o["status"], o["detail"]["attempt"]) for o in run.outcomes if o["type"] == "webhook"] == [
        ("webhook", "succeeded", 2)
    ]
    assert [(a["attempt"], a["status"], a["next_attempt_at"] is None) for a in run.attempts] == [
        (1, 503, False),
        (2, 200, True),
    ]
    assert sorted(customer.tags.values_list("name", flat=True)) == ["notified", "vip"]  # the tag ran once
    assert finished_events == ["succeeded"]


def test_a_400_is_not_retried(make_rule, customer, receiver, move_clock, django_capture_on_commit_callbacks):
    make_rule([{"type": "webhook", "url": receiver}])
    Receiver.script = [(400, {})]

    with django_capture_on_commit_callbacks(execute=True):
        (run,) = runner.run_rules(purchase(customer))
    move_clock(timedelta(days=1))
    resumed = runner.resume_interrupted()

    run.refresh_from_db()
    assert (run.status, resumed, len(Receiver.received)) == ("failed", 0, 1)
    assert [(a["attempt"], a["status"], a["transient"], a["next_attempt_at"]) for a in run.attempts] == [
        (1, 400, False, None)
    ]
    assert DBTaskResult.objects.filter(task_path="cxloop.automation.tasks.resume_run").count() == 0


def test_the_attempts_run_out_on_the_schedule_and_the_run_fails_with_all_of_them_listed(
    make_rule, customer, receiver, settings, move_clock, finished_events, api, bob, django_capture_on_commit_callbacks
):
    # given: three retries, a receiver that always answers 502
    settings.CXLOOP_AUTOMATION_WEBHOOK_RETRIES = 3
    make_rule([{"type": "webhook", "url": receiver}])
    Receiver.status = 502
    (run,) = runner.run_rules(purchase(customer))

    # when: the catch-up passes every time a retry falls due
    waits = []
    with django_capture_on_commit_callbacks(execute=True):
        for _ in range(5):
            run.refresh_from_db()
            if run.status != "retrying":
                break
            waits.append(run.lease_until - _at(run.attempts[-1]["at"]))
            move_clock(run.lease_until - clock.now() + timedelta(seconds=1))
            assert runner.resume_interrupted() == 1

    # then: 1 + 3 attempts, 1 min, 5 min, 30 min apart; failed for good, announced once
    run.refresh_from_db()
    assert waits == [timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=30)]
    assert (run.status, len(Receiver.received), finished_events) == ("failed", 4, ["failed"])
    assert [o["status"] for o in run.outcomes] == ["failed"]
    body = api.get(f"/automation/runs/{run.public_id}", bob).json()
    assert [(a["attempt"], a["status"], a["next_attempt_at"] is not None) for a in body["attempts"]] == [
        (1, 502, True),
        (2, 502, True),
        (3, 502, True),
        (4, 502, False),
    ]
    assert (body["status"], body["next_attempt_at"]) == ("failed", None)


def test_no_automatic_retry_when_the_setting_is_0(make_rule, customer, receiver, settings, move_clock):
    settings.CXLOOP_AUTOMATION_WEBHOOK_RETRIES = 0
    make_rule([{"type": "webhook", "url": receiver}])
    Receiver.status = 503

    (run,) = runner.run_rules(purchase(customer))
    move_clock(timedelta(hours=1))
    resumed = runner.resume_interrupted()

    run.refresh_from_db()
    assert (run.status, resumed, len(Receiver.received)) == ("failed", 0, 1)
    assert [(a["status"], a["transient"], a["next_attempt_at"]) for a in run.attempts] == [(503, True, None)]


def test_no_answer_at_all_is_transient(make_rule, customer, db):
    make_rule([{"type": "webhook", "url": "http://127.0.0.1:9/nobody-listens"}])

    (run,) = runner.run_rules(purchase(customer))

    run.refresh_from_db()
    assert (run.status, run.attempts[0]["status"], run.attempts[0]["transient"]) == ("retrying", 0, True)
    assert "ConnectionError" in run.attempts[0]["error"]


def test_a_restarted_or_second_worker_does_not_send_a_due_retry_twice(
    make_rule, customer, receiver, move_clock, immediate_tasks
):
    # given: a run waiting for its retry
    make_rule([{"type": "webhook", "url": receiver}])
    Receiver.script = [(500, {}), (500, {})]
    (run,) = runner.run_rules(purchase(customer))
    run.refresh_from_db()

    # when: the retry falls due and two passes (a worker restarted, and another beside it) and the deferred task
    # all claim it
    move_clock(timedelta(minutes=1, seconds=1))
    first = runner.resume_interrupted()
    second = runner.resume_interrupted()
    task = runner.resume_run(run.pk)

    # then: one of them sent it; it failed again and waits 5 minutes, nobody sends it sooner
    run.refresh_from_db()
    assert (first, second, task, len(Receiver.received)) == (1, 0, None, 2)
    assert run.status == "retrying"
    assert run.lease_until == _at(run.attempts[-1]["at"]) + timedelta(minutes=5)
    move_clock(timedelta(minutes=4))
    assert (runner.resume_interrupted(), runner.resume_run(run.pk), len(Receiver.received)) == (0, None, 2)

    # when: it falls due again
    move_clock(timedelta(minutes=1, seconds=1))
    runner.resume_interrupted()
    runner.resume_interrupted()

    run.refresh_from_db()
    assert (run.status, len(Receiver.received)) == ("succeeded", 3)
    assert {r["headers"][DELIVERY_HEADER] for r in Receiver.received} == {f"{run.public_id}.0"}


def test_a_429_retry_after_is_honoured_within_reason(make_rule, customer, receiver, move_clock):
    make_rule([{"type": "webhook", "url": receiver}])
    later = clock.now().astimezone(UTC) + timedelta(minutes=20)
    Receiver.script = [(429, {"Retry-After": "600"}), (503, {"Retry-After": format_datetime(later, usegmt=True)})]
    (run,) = runner.run_rules(purchase(customer))
    run.refresh_from_db()
    first_wait = run.lease_until - _at(run.attempts[0]["at"])

    move_clock(first_wait + timedelta(seconds=1))
    runner.resume_interrupted()
    run.refresh_from_db()

    assert first_wait == timedelta(minutes=10)  # longer than the 1 minute of the schedule
    assert run.attempts[0]["retry_after"] == 600
    # an HTTP date 20 minutes after the first call: about 10 minutes after the second, longer than its 5 minutes
    assert abs(run.lease_until - later.replace(microsecond=0)) < timedelta(milliseconds=1)


def test_the_schedule_and_the_retry_after_cap():
    now = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)

    waits = [webhooks.next_attempt_at(now, n, None) - now for n in range(1, 8)]

    assert waits == [
        timedelta(minutes=1),
        timedelta(minutes=5),
        timedelta(minutes=30),
        timedelta(hours=2),
        timedelta(hours=6),
        timedelta(hours=6),
        timedelta(hours=6),
    ]
    assert webhooks.next_attempt_at(now, 1, 10 * 86400) - now == timedelta(hours=6)
    assert webhooks.next_attempt_at(now, 2, 0) - now == timedelta(minutes=5)
    assert [
        s for s in (200, 301, 400, 401, 404, 408, 409, 410, 422, 429, 500, 502, 503, 0) if webhooks.is_transient(s)
    ] == [
        408,
        429,
        500,
        502,
        503,
        0,
    ]


def test_a_manual_retry_of_a_waiting_run_sends_now_and_only_once(
    make_rule, customer, receiver, bob, move_clock, immediate_tasks, django_capture_on_commit_callbacks
):
    # given: a run waiting for its retry (a minute); the receiver is fixed meanwhile
    make_rule([{"type": "webhook", "url": receiver}])
    Receiver.script = [(503, {})]
    (run,) = runner.run_rules(purchase(customer))
    run.refresh_from_db()
    due = run.lease_until

    # when: a supervisor retries now, then the original retry time passes
    with django_capture_on_commit_callbacks(execute=True):
        services.retry_run(bob.actor, run)
    move_clock(due - clock.now() + timedelta(minutes=10))
    late = (runner.resume_interrupted(), runner.resume_run(run.pk))

    # then: sent once more, at once; nothing later
    run.refresh_from_db()
    assert (run.status, len(Receiver.received), late) == ("succeeded", 2, (0, None))
    assert [a["status"] for a in run.attempts] == [503, 200]
    entry = AuditEntry.objects.get(action="automation_run.retried")
    assert (entry.before["status"], [o["status"] for o in entry.before["retrying"]]) == ("retrying", ["retrying"])


def test_a_run_whose_retry_is_being_sent_cannot_be_retried_by_hand(make_rule, customer, receiver, bob, move_clock):
    make_rule([{"type": "webhook", "url": receiver}])
    Receiver.script = [(503, {})]
    (run,) = runner.run_rules(purchase(customer))
    move_clock(timedelta(minutes=2))
    assert runner._take_over(run)  # a worker claimed it and is calling the receiver

    with pytest.raises(ConflictError) as refused:
        services.retry_run(bob.actor, run)

    assert refused.value.code == "run_not_failed"
    run.refresh_from_db()
    assert run.status == "matched"


def test_a_manual_retry_after_the_attempts_ran_out_gets_a_fresh_series(
    make_rule, customer, receiver, bob, settings, move_clock, immediate_tasks, django_capture_on_commit_callbacks
):
    settings.CXLOOP_AUTOMATION_WEBHOOK_RETRIES = 1
    make_rule([{"type": "webhook", "url": receiver}])
    Receiver.status = 503
    (run,) = runner.run_rules(purchase(customer))
    move_clock(timedelta(minutes=2))
    runner.resume_interrupted()
    run.refresh_from_db()
    assert run.status == "failed"

    with django_capture_on_commit_callbacks(execute=True):
        services.retry_run(bob.actor, run)

    run.refresh_from_db()
    assert run.status == "retrying"  # the manual attempt failed too, and may be retried once more
    assert [(a["attempt"], a["next_attempt_at"] is not None) for a in run.attempts] == [
        (1, True),
        (2, False),
        (3, True),
    ]


def test_the_run_page_and_the_api_show_the_waiting_retry(make_rule, customer, receiver, client, bob, api):
    make_rule([{"type": "webhook", "url": receiver}])
    Receiver.script = [(503, {})]
    (run,) = runner.run_rules(purchase(customer))
    run.refresh_from_db()

    client.force_login(bob.user)
    page = client.get(f"/automation/runs/{run.public_id}/").content.decode()
    body = api.get(f"/automation/runs/{run.public_id}", bob).json()
    listed = api.get("/automation/runs?status=retrying", bob).json()

    assert "retrying at" in page
    assert f'<time datetime="{run.lease_until.isoformat()}"' in page
    assert "Webhook attempts" in page
    assert "HTTP 503" in page
    assert "Retry now" in page
    assert (body["status"], body["next_attempt_at"][:19]) == ("retrying", run.lease_until.isoformat()[:19])
    assert [(a["attempt"], a["status"]) for a in body["attempts"]] == [(1, 503)]
    assert [item["id"] for item in listed["items"]] == [run.public_id]
    assert RuleRun.objects.count() == 1


def test_a_waiting_retry_is_not_sent_once_the_rule_changed(make_rule, customer, receiver, system, move_clock):
    # given: a run waiting for its retry
    rule = make_rule([{"type": "webhook", "url": receiver}])
    Receiver.script = [(503, {})]
    (run,) = runner.run_rules(purchase(customer))

    # when: the rule is switched off meanwhile, and the retry falls due
    move_clock(timedelta(seconds=10))
    services.set_active(system, rule, False)
    move_clock(timedelta(minutes=1))
    resumed = runner.resume_interrupted()

    # then: nothing sent again; the run failed, saying why
    run.refresh_from_db()
    assert (resumed, len(Receiver.received), run.status) == (1, 1, "failed")
    assert run.outcomes[0]["error"] == "HTTP 503; not retried: the rule changed after this run"
    assert run.finished_at is not None
