"""Running the rules for an event: the subscriber, the run itself, and the passes that make it durable.

From an event to actions:

1. `on_domain_event` (subscribed to every event, after commit) answers from a per-process set of the triggers that
   active rules use; an event no rule listens to costs one set lookup. A customer event (already stored) only
   kicks `process_new_events`, deferred KICK_SECONDS and at most once per process per KICK_SECONDS, so a batch of
   1,000 events costs one task row; a cxloop event (stored nowhere) travels as an `Occurrence` (plain JSON) in
   its own task `automation.run_rules`. The request that stored the event never waits for a rule.
2. `run_rules` tries the active rules on that trigger in order. Each rule's run is stored once per (rule, event):
   the first to insert the row owns it (the unique key), so a re-delivered event, a retried task and the catch-up
   meet on it and nothing runs twice. A rule whose conditions fail is logged as skipped with the reasons; a rule
   that matches and has `stop_processing` ends the pass.
3. A matching rule without a webhook runs whole in one transaction (the run, each action in its own savepoint,
   the outcome): all or nothing, so a crash leaves no trace and the catch-up runs it again. A rule with a webhook
   stores its run first (with a lease); each database action then commits with its line of the log, the webhook
   is called outside any transaction with a delivery id stable per run and action, its outcome written after.
   One failure is recorded and the next action still runs. A run whose lease passed (its process died) is
   resumed by the catch-up, skipping the outcomes already written: only a webhook whose answer was not yet
   recorded is sent again, with the same X-Cxloop-Delivery. A webhook that failed in a way that may pass (no
   answer, 408, 429, 5xx; webhooks.py) is retried automatically: its outcome is `retrying`, and once every other
   action was tried the run stays unfinished, status `retrying`, its lease ending when the retry is due, so the
   same claim (a deferred `automation.resume_run`, and the catch-up) resumes it then, once.
4. `catch_up` (worker/schedule.py, every 5 minutes) reads the customer events stored since its own, settled
   watermark and runs the rules for those that have no run yet: an event committed just before the process died
   is not lost. cxloop's own events are not stored, so they have no such catch-up (docs/automation.md says so).

Changes made by a rule's actions publish events too (a tag publishes customer.updated); those do not trigger
rules, so two rules cannot feed each other forever. The runner marks the time it acts with a context variable
that the subscriber reads.
"""

from __future__ import annotations

import itertools
import logging
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Case, F, Q, Value, When

from cxloop.automation import actions as rule_actions
from cxloop.automation import conditions, webhooks
from cxloop.automation.definitions import DOMAIN_TRIGGERS
from cxloop.automation.events import RuleRunFinished
from cxloop.automation.models import Rule, RuleRun, RunStatus, TriggerSource, Watermark
from cxloop.core import clock
from cxloop.core.actor import Actor
from cxloop.core.errors import CxloopError
from cxloop.customers.models import Customer, CustomerStatus
from cxloop.events.bus import DomainEvent, publish
from cxloop.journeys.conditions import Facts

logger = logging.getLogger(__name__)

CACHE_SECONDS = 10.0
LEASE = timedelta(minutes=5)
CATCH_UP_SETTLE = timedelta(minutes=2)  # the catch-up leaves younger events to the kick (they may still commit)
CATCH_UP_BATCH = 2000  # events read per query
CATCH_UP_BATCHES = 50  # queries per catch-up pass; the next pass does the rest
PROCESS_BATCHES = 20  # queries per kicked pass
KICK_SECONDS = 2.0
CUSTOMER_EVENT = "customer_event.received"
RETRYING = "retrying"  # a webhook action's outcome while it waits for its automatic retry (RunStatus too)
_WATERMARK = "customer_events"
_FAST_MARK = "customer_events.kick"
_kick: dict[str, float] = {"next_at": 0.0}
_cache: dict[str, Any] = {"at": 0.0, "keys": frozenset()}
_acting: ContextVar[bool] = ContextVar("automation_acting", default=False)


# --------------------------------------------------------------------------- which triggers have rules


def trigger_keys() -> frozenset[tuple[str, str]]:
    """(source, type) of every active rule, remembered per process for CACHE_SECONDS."""
    now = time.monotonic()
    if now - float(_cache["at"]) > CACHE_SECONDS:
        rows = Rule.objects.filter(is_active=True).values_list("trigger_source", "trigger_type").distinct()
        _cache["keys"], _cache["at"] = frozenset(rows), now
    keys: frozenset[tuple[str, str]] = _cache["keys"]
    return keys


def forget_triggers() -> None:
    """Read the triggers afresh on the next event (a rule changed in this process)."""
    _cache["at"] = 0.0


# --------------------------------------------------------------------------- the occurrence of a trigger


@dataclass(frozen=True)
class Occurrence:
    """One event a rule may react to, as plain JSON (tasks carry it)."""

    source: str
    type: str
    ref: str  # unique per event: "customer_event:<event_id>", "case.opened:case_…", "customer.updated:<uuid>"
    customer_id: str
    occurred_at: str  # ISO 8601
    received_at: str  # ISO 8601: rules created after this do not run for it
    properties: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def of(cls, data: dict[str, Any]) -> Occurrence:
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})


def occurrence_of(event: DomainEvent, now: datetime | None = None) -> Occurrence | None:
    """The occurrence a cxloop event about a customer stands for, or None when no rule could listen to it.
    (Customer events are read back from their table instead: see process_new_events.)"""
    now = now or clock.now()
    trigger = DOMAIN_TRIGGERS.get(event.name)
    if trigger is None:
        return None
    data = event.payload()
    if not data.get("customer_id"):
        return None
    own_id = str(data.get(trigger.ref_field) or "") if trigger.ref_field else ""
    return Occurrence(
        source=TriggerSource.DOMAIN_EVENT,
        type=event.name,
        ref=f"{event.name}:{own_id or uuid.uuid4().hex}",
        customer_id=str(data["customer_id"]),
        occurred_at=now.isoformat(),
        received_at=now.isoformat(),
        properties=data,
    )


def on_domain_event(event: DomainEvent) -> None:
    """Subscribed to every event ("*"): a set lookup for the events no active rule listens to.

    A customer event is already stored, so it only kicks process_new_events (one deferred task per process every
    KICK_SECONDS, however many events a batch stored); a cxloop event is stored nowhere, so it travels in its own
    task. Never raises into the publisher: the catch-up finds customer events again."""
    if _acting.get():
        return
    if event.name == CUSTOMER_EVENT:
        key = (TriggerSource.CUSTOMER_EVENT.value, str(getattr(event, "type", "")))
    elif event.name in DOMAIN_TRIGGERS:
        key = (TriggerSource.DOMAIN_EVENT.value, event.name)
    else:
        return
    if key not in trigger_keys():
        return
    try:
        if event.name == CUSTOMER_EVENT:
            request_processing()
            return
        occurrence = occurrence_of(event)
        if occurrence is not None:
            from cxloop.automation import tasks

            tasks.run_rules.enqueue(occurrence.as_dict())
    except Exception:
        logger.exception("could not enqueue automation rules for %s", event.name)


@contextmanager
def acting() -> Iterator[None]:
    token = _acting.set(True)
    try:
        yield
    finally:
        _acting.reset(token)


# --------------------------------------------------------------------------- one event, every rule


def _customer(public_id: str) -> Customer | None:
    customer = Customer.objects.filter(public_id=public_id).select_related("merged_into").first()
    hops = 0
    while customer is not None and not customer.is_active and customer.merged_into is not None and hops < 10:
        customer, hops = customer.merged_into, hops + 1
    return customer if customer is not None and customer.is_active else None


def _facts(occurrence: Occurrence, customer: Customer) -> Facts:
    try:
        at: datetime | None = datetime.fromisoformat(occurrence.occurred_at)
    except ValueError:
        at = None
    return conditions.facts_of(customer, occurrence.type, at, occurrence.properties, occurrence.ref)


def _new_run(rule: Rule, occurrence: Occurrence, customer: Customer, verdict: conditions.Verdict) -> RuleRun:
    now = clock.now()
    return RuleRun.objects.create(
        rule=rule,
        event_ref=occurrence.ref[:255],
        trigger_type=occurrence.type,
        customer=customer,
        event_data={
            "source": occurrence.source,
            "occurred_at": occurrence.occurred_at,
            "received_at": occurrence.received_at,
            "properties": occurrence.properties,
        },
        status=RunStatus.MATCHED if verdict.holds else RunStatus.SKIPPED,
        explanation=verdict.reasons[:100],
        outcomes=[],
        at=now,
        finished_at=None if verdict.holds else now,
        lease_until=now + LEASE if verdict.holds else None,
    )


def _claim(rule: Rule, occurrence: Occurrence, customer: Customer, verdict: conditions.Verdict) -> RuleRun | None:
    """The run of `rule` for this event, created and committed now (and owned), or None when another worker
    has it."""
    try:
        with transaction.atomic():
            return _new_run(rule, occurrence, customer, verdict)
    except IntegrityError:
        return None


def _calls_out(rule: Rule) -> bool:
    return any(action.get("type") == "webhook" for action in rule.actions)


def _received_at(occurrence: Occurrence) -> datetime:
    try:
        return datetime.fromisoformat(occurrence.received_at)
    except ValueError:
        return clock.now()


def _rules_for(occurrence: Occurrence) -> list[Rule]:
    return list(
        Rule.objects.filter(
            is_active=True,
            trigger_source=occurrence.source,
            trigger_type=occurrence.type,
            created_at__lte=_received_at(occurrence),
        ).order_by("position", "id")
    )


def run_rules(
    occurrence: Occurrence, *, rules: list[Rule] | None = None, customer: Customer | None = None
) -> list[RuleRun]:
    """Try every active rule on the occurrence's trigger, in order; the runs of this call (new or resumed).

    `rules` (the active rules on the trigger, in order, none newer than the event) and `customer` may be given by
    a caller that loaded them for many events at once."""
    rules = _rules_for(occurrence) if rules is None else rules
    if not rules:
        return []
    customer = customer or _customer(occurrence.customer_id)
    if customer is None:
        logger.info("automation: no active customer %s for %s", occurrence.customer_id, occurrence.ref)
        return []
    existing = {run.rule_id: run for run in RuleRun.objects.filter(event_ref=occurrence.ref[:255], rule__in=rules)}
    facts: Facts | None = None
    runs: list[RuleRun] = []
    for rule in rules:
        run = existing.get(rule.pk)
        if run is None:
            facts = facts or _facts(occurrence, customer)
            verdict = conditions.evaluate(conditions.parse(rule.conditions), facts)
            whole = verdict.holds and not _calls_out(rule)
            run = (
                _run_whole(rule, occurrence, customer, verdict)
                if whole
                else _claim(rule, occurrence, customer, verdict)
            )
            if run is None:  # another worker inserted it first: it runs the actions
                run = RuleRun.objects.filter(rule=rule, event_ref=occurrence.ref[:255]).first()
                if run is None:
                    continue
            elif run.status == RunStatus.MATCHED and not whole:
                _perform(run, rule, occurrence, customer)
        elif run.finished_at is None and _take_over(run):
            _perform(run, rule, occurrence, customer)
        runs.append(run)
        if run.status != RunStatus.SKIPPED and rule.stop_processing:
            break
    return runs


def _take_over(run: RuleRun) -> bool:
    """Claim an unfinished run whose lease passed (its worker died, or its webhook retry fell due); exactly one
    caller wins. A claimed retrying run reads as matched (actions running) until it closes again."""
    now = clock.now()
    taken = RuleRun.objects.filter(
        Q(lease_until__isnull=True) | Q(lease_until__lt=now), pk=run.pk, finished_at__isnull=True
    ).update(
        lease_until=now + LEASE,
        status=Case(When(status=RunStatus.RETRYING, then=Value(RunStatus.MATCHED)), default=F("status")),
    )
    if taken == 1:
        run.refresh_from_db()
    return taken == 1


# --------------------------------------------------------------------------- the actions of one run


def _recorded(run: RuleRun, index: int) -> bool:
    """Whether action `index` is done (a webhook waiting for its automatic retry is not)."""
    return any(o.get("index") == index and o.get("status") != RETRYING for o in run.outcomes)


def _outcome(
    index: int, action: dict[str, Any], status: str, detail: dict[str, Any], error: str = ""
) -> dict[str, Any]:
    from cxloop.automation.definitions import action_summary

    return {
        "index": index,
        "type": action.get("type", ""),
        "summary": action_summary(action),
        "status": status,
        "detail": detail,
        "error": error[:1000],
        "at": clock.now().isoformat(),
    }


def _with_outcome(outcomes: list[dict[str, Any]], outcome: dict[str, Any]) -> list[dict[str, Any]]:
    """`outcomes` with `outcome` in place of its action's waiting (retrying) one, in the order of the actions."""
    kept = [o for o in outcomes if o.get("index") != outcome["index"]]
    return sorted([*kept, outcome], key=lambda o: int(o.get("index", 0)))


def _error_text(exc: Exception) -> str:
    if isinstance(exc, CxloopError):
        fields = "; ".join(f"{k}: {v}" for k, v in exc.fields.items())
        return f"{exc.message} ({fields})" if fields else exc.message
    return f"{type(exc).__name__}: {str(exc)[:300]}"


def webhook_payload(run: RuleRun, rule: Rule, occurrence: Occurrence, customer: Customer) -> dict[str, Any]:
    """What a webhook action posts (documented in docs/automation.md)."""
    return {
        "rule": {"id": rule.public_id, "name": rule.name},
        "run_id": run.public_id,
        "event": {
            "source": occurrence.source,
            "type": occurrence.type,
            "ref": occurrence.ref,
            "occurred_at": occurrence.occurred_at,
            "properties": occurrence.properties,
        },
        "customer": {
            "id": customer.public_id,
            "name": customer.name,
            "country": customer.country,
            "locale": customer.locale,
            "lifecycle_stage": customer.lifecycle_stage,
            "tags": sorted(customer.tags.values_list("name", flat=True)),
            "attributes": customer.attributes or {},
        },
    }


def delivery_id(run: RuleRun, index: int) -> str:
    """Stable for a run's action: a resumed run sends the same id, so the receiver can drop the repeat."""
    return f"{run.public_id}.{index}"


def _retries_used(attempts: list[dict[str, Any]], index: int) -> int:
    """How many automatic retries action `index` has had in its current series: the attempts at its end that
    scheduled another (an attempt that did not, or a manual retry's first, ends a series)."""
    used = 0
    for attempt in reversed([a for a in attempts if a.get("index") == index]):
        if not attempt.get("next_attempt_at"):
            break
        used += 1
    return used


def _do_webhook(
    run: RuleRun, rule: Rule, index: int, action: dict[str, Any], occurrence: Occurrence, customer: Customer
) -> None:
    """Called outside any transaction; the attempt and its outcome are written once it answered (or did not). A
    transient failure with retries left is written as a `retrying` outcome with the time of the next attempt (the
    run closes as retrying, see _close); otherwise the outcome is final."""
    now = clock.now()
    answer = webhooks.post(
        action["url"],
        webhook_payload(run, rule, occurrence, customer),
        delivery_id=delivery_id(run, index),
        event="automation_rule.ran",
        now=now,
    )
    call = answer.call
    with transaction.atomic():
        locked = RuleRun.objects.select_for_update().get(pk=run.pk)
        if not _recorded(locked, index):
            used = _retries_used(locked.attempts, index)
            retry_at = None
            if not call.ok and answer.transient and used < webhooks.retries_allowed():
                retry_at = webhooks.next_attempt_at(now, used + 1, answer.retry_after)
            number = sum(1 for a in locked.attempts if a.get("index") == index) + 1
            locked.attempts = [
                *locked.attempts,
                {
                    "index": index,
                    "attempt": number,
                    "at": now.isoformat(),
                    "status": call.status,
                    "error": call.error,
                    "transient": answer.transient,
                    "retry_after": answer.retry_after,
                    "next_attempt_at": retry_at.isoformat() if retry_at is not None else None,
                },
            ]
            detail: dict[str, Any] = {**call.as_detail(), "delivery_id": delivery_id(run, index), "attempt": number}
            if retry_at is not None:
                detail["next_attempt_at"] = retry_at.isoformat()
                status = RETRYING
            else:
                status = "succeeded" if call.ok else "failed"
            locked.outcomes = _with_outcome(locked.outcomes, _outcome(index, action, status, detail, call.error))
            locked.save(update_fields=["attempts", "outcomes", "updated_at"])
        run.outcomes, run.attempts = locked.outcomes, locked.attempts


def _attempt(ctx: rule_actions.Context, index: int, action: dict[str, Any]) -> dict[str, Any]:
    """One database action in its own savepoint: its outcome, never an exception (a failure rolls back only
    what this action did)."""
    perform = rule_actions.IN_TRANSACTION[action["type"]]
    try:
        with transaction.atomic():
            detail = perform(ctx, action)
        return _outcome(index, action, "succeeded", detail)
    except rule_actions.Skipped as skipped:
        return _outcome(index, action, "skipped", {}, str(skipped))
    except Exception as exc:  # noqa: BLE001 - one action's failure must not hide the others' outcomes
        if not isinstance(exc, CxloopError):
            logger.exception("automation action %s of rule %s failed", action.get("type"), ctx.rule_id)
        return _outcome(index, action, "failed", {}, _error_text(exc))


def _do_in_transaction(run: RuleRun, index: int, action: dict[str, Any], ctx: rule_actions.Context) -> None:
    """A database action of a run that also calls out: done in one transaction with its line of the log."""
    with transaction.atomic():
        locked = RuleRun.objects.select_for_update().get(pk=run.pk)
        if not _recorded(locked, index):
            locked.outcomes = _with_outcome(locked.outcomes, _attempt(ctx, index, action))
            locked.save(update_fields=["outcomes", "updated_at"])
        run.outcomes = locked.outcomes


def _status(outcomes: list[dict[str, Any]]) -> str:
    failed = sum(1 for o in outcomes if o["status"] == "failed")
    if not failed:
        return RunStatus.SUCCEEDED
    return RunStatus.FAILED if failed == len(outcomes) else RunStatus.PARTIALLY


def _context(rule: Rule, occurrence: Occurrence, customer: Customer) -> rule_actions.Context:
    return rule_actions.Context(
        actor=Actor.system("automation"),
        rule_id=rule.public_id,
        rule_name=rule.name,
        customer=customer,
        trigger_type=occurrence.type,
        properties=occurrence.properties,
    )


def _finished(run: RuleRun, rule: Rule, customer: Customer) -> None:
    publish(
        RuleRunFinished(run_id=run.public_id, rule_id=rule.public_id, customer_id=customer.public_id, status=run.status)
    )


def _run_whole(rule: Rule, occurrence: Occurrence, customer: Customer, verdict: conditions.Verdict) -> RuleRun | None:
    """A matching rule without a webhook: the run, its actions (each in a savepoint) and its outcome in ONE
    transaction. A process that dies midway leaves nothing, so the catch-up runs it again whole: exactly once,
    and one commit per run instead of one per action. None when another worker has the run."""
    ctx = _context(rule, occurrence, customer)
    try:
        with acting(), transaction.atomic():
            run = _new_run(rule, occurrence, customer, verdict)
            outcomes = []
            for index, action in enumerate(rule.actions):
                customer.refresh_from_db()  # an earlier action (a tag) changed it
                outcomes.append(_attempt(ctx, index, action))
            run.outcomes, run.status = outcomes, _status(outcomes)
            run.finished_at, run.lease_until = clock.now(), None
            run.save(update_fields=["outcomes", "status", "finished_at", "lease_until", "updated_at"])
            _finished(run, rule, customer)
        return run
    except IntegrityError:
        return None


def _drop_retries_of_changed_rule(run: RuleRun, rule: Rule) -> None:
    """A webhook waiting for its automatic retry is not sent once its rule changed (edited, switched off) after
    the run: the rule's actions may no longer be the ones the run's outcomes number, as a manual retry refuses
    then too. Its outcome becomes failed, saying why."""
    if rule.updated_at <= run.at or not any(o.get("status") == RETRYING for o in run.outcomes):
        return
    with transaction.atomic():
        locked = RuleRun.objects.select_for_update().get(pk=run.pk)
        locked.outcomes = [
            {**o, "status": "failed", "error": f"{o.get('error', '')}; not retried: the rule changed after this run"}
            if o.get("status") == RETRYING
            else o
            for o in locked.outcomes
        ]
        locked.save(update_fields=["outcomes", "updated_at"])
        run.outcomes = locked.outcomes


def _perform(run: RuleRun, rule: Rule, occurrence: Occurrence, customer: Customer) -> None:
    """Run the rule's actions that have no outcome yet, in order, then close the run."""
    _drop_retries_of_changed_rule(run, rule)
    ctx = _context(rule, occurrence, customer)
    with acting():
        for index, action in enumerate(rule.actions):
            if _recorded(run, index):
                continue
            if action.get("type") == "webhook":
                _do_webhook(run, rule, index, action, occurrence, customer)
            else:
                # Re-read the customer: an earlier action (a tag) changed it.
                customer.refresh_from_db()
                _do_in_transaction(run, index, action, ctx)
        _close(run, rule, customer)


def _next_attempt(outcomes: list[dict[str, Any]]) -> datetime | None:
    """The earliest automatic retry the run's webhooks wait for, or None when none waits."""
    due = [
        datetime.fromisoformat(str(o.get("detail", {}).get("next_attempt_at")))
        for o in outcomes
        if o.get("status") == RETRYING and o.get("detail", {}).get("next_attempt_at")
    ]
    return min(due) if due else None


def _close(run: RuleRun, rule: Rule, customer: Customer) -> None:
    """Every action has been tried: finish the run (and announce it), or, when a webhook waits for an automatic
    retry, leave it unfinished as `retrying` with its lease ending when the retry is due: the claim that resumes
    an interrupted run (resume_run, deferred to then, and the catch-up) picks it up, and only one worker wins."""
    with transaction.atomic():
        locked = RuleRun.objects.select_for_update().get(pk=run.pk)
        if locked.finished_at is None:
            due = _next_attempt(locked.outcomes)
            if due is not None:
                locked.status, locked.lease_until = RunStatus.RETRYING, due
                locked.save(update_fields=["status", "lease_until", "updated_at"])
                pk = locked.pk
                transaction.on_commit(lambda: schedule_resume(pk, due))
            else:
                locked.status = _status(locked.outcomes)
                locked.finished_at = clock.now()
                locked.lease_until = None
                locked.save(update_fields=["status", "finished_at", "lease_until", "updated_at"])
                _finished(locked, rule, customer)
        run.status, run.finished_at, run.lease_until, run.outcomes, run.attempts = (
            locked.status,
            locked.finished_at,
            locked.lease_until,
            locked.outcomes,
            locked.attempts,
        )


def schedule_resume(run_pk: int, due: datetime) -> None:
    """Ask the worker to resume the run when its retry is due (a deferred automation.resume_run). Best effort: a
    backend that cannot defer, or a queue that refuses, leaves it to the catch-up, which claims due runs too."""
    from cxloop.automation import tasks

    try:
        if tasks.resume_run.get_backend().supports_defer:
            tasks.resume_run.using(run_after=due).enqueue(run_pk)
    except Exception:  # noqa: BLE001 - the catch-up resumes the run once its lease passed
        logger.exception("could not schedule the retry of automation run %s", run_pk)


# --------------------------------------------------------------------------- durability


def resume_interrupted(limit: int = 200) -> int:
    """Finish the runs whose worker died, and send the webhook retries that fell due (lease passed, not
    finished). Returns how many were resumed."""
    now = clock.now()
    stale = list(
        RuleRun.objects.filter(finished_at__isnull=True, lease_until__lt=now)
        .select_related("rule", "customer")
        .order_by("at")[:limit]
    )
    resumed = 0
    for run in stale:
        if run.customer is None or not _take_over(run):
            continue
        _perform(run, run.rule, _occurrence_of_run(run), run.customer)
        resumed += 1
    return resumed


def resume_run(run_id: int) -> RuleRun | None:
    """Finish one unfinished run whose lease passed (a manual retry, or an automatic one that fell due); None
    when another worker has it or it is not due."""
    run = RuleRun.objects.select_related("rule", "customer").filter(pk=run_id, finished_at__isnull=True).first()
    if run is None or run.customer is None or not _take_over(run):
        return None
    _perform(run, run.rule, _occurrence_of_run(run), run.customer)
    return run


def _occurrence_of_run(run: RuleRun) -> Occurrence:
    """The occurrence a stored run was for, from what the run kept of it."""
    assert run.customer is not None
    data = run.event_data or {}
    return Occurrence(
        source=str(data.get("source") or run.rule.trigger_source),
        type=run.trigger_type,
        ref=run.event_ref,
        customer_id=run.customer.public_id,
        occurred_at=str(data.get("occurred_at") or run.at.isoformat()),
        received_at=str(data.get("received_at") or run.at.isoformat()),
        properties=dict(data.get("properties") or {}),
    )


def _start_mark() -> int:
    """Where the first pass starts: just before the first event stored after the oldest rule (rules never run
    for events older than themselves), or after the newest event when there is none."""
    from cxloop.events.models import Event  # read-only: the events module owns the table

    oldest_rule = Rule.objects.order_by("created_at").values_list("created_at", flat=True).first()
    if oldest_rule is not None:
        first = Event.objects.filter(created_at__gte=oldest_rule).order_by("pk").values_list("pk", flat=True).first()
        if first is not None:
            return int(first) - 1
    return int(Event.objects.order_by("-pk").values_list("pk", flat=True).first() or 0)


def _event_rows(after: int, types: list[str], limit: int) -> list[tuple[Any, ...]]:
    from cxloop.events.models import Event  # read-only: the events module owns the table

    return list(
        Event.objects.filter(pk__gt=after, event_type__key__in=types)
        .order_by("pk")
        .values_list(
            "pk", "event_id", "event_type__key", "customer__public_id", "occurred_at", "created_at", "properties"
        )[:limit]
    )


def _run_event_rows(rows: list[tuple[Any, ...]], counts: dict[str, int]) -> None:
    """Run the rules for each stored event of `rows` that has no run yet, with the rules and customers of the
    whole chunk read at once."""
    refs = [f"customer_event:{row[1]}" for row in rows]
    seen = set(RuleRun.objects.filter(event_ref__in=refs).values_list("event_ref", flat=True)) if refs else set()
    rules_by_type: dict[str, list[Rule]] = {}
    for rule in Rule.objects.filter(
        is_active=True, trigger_source=TriggerSource.CUSTOMER_EVENT, trigger_type__in={row[2] for row in rows}
    ).order_by("position", "id"):
        rules_by_type.setdefault(rule.trigger_type, []).append(rule)
    wanted = [row for row in rows if f"customer_event:{row[1]}" not in seen]
    customers = {
        c.public_id: c
        for c in Customer.objects.filter(public_id__in={row[3] for row in wanted}, status=CustomerStatus.ACTIVE)
    }
    for _pk, event_id, type_key, customer_id, occurred_at, created_at, properties in wanted:
        rules = [rule for rule in rules_by_type.get(type_key, []) if rule.created_at <= created_at]
        if not rules:
            continue
        occurrence = Occurrence(
            source=TriggerSource.CUSTOMER_EVENT,
            type=type_key,
            ref=f"customer_event:{event_id}",
            customer_id=customer_id,
            occurred_at=occurred_at.isoformat(),
            received_at=created_at.isoformat(),
            properties=properties or {},
        )
        counts["events"] += 1
        counts["runs"] += len(run_rules(occurrence, rules=rules, customer=customers.get(customer_id)))


def _mark(name: str) -> int:
    mark, created = Watermark.objects.get_or_create(name=name, defaults={"value": 0})
    return _start_mark() if created or mark.value == 0 else int(mark.value)


def _advance(name: str, value: int) -> None:
    Watermark.objects.filter(name=name, value__lt=value).update(value=value)


def process_new_events(batches: int = PROCESS_BATCHES) -> dict[str, int]:
    """Run the rules for the customer events stored since this pass's own watermark (the kick after ingest).

    Reads in chunks of CATCH_UP_BATCH events of the listened types, at most `batches` chunks; the next kick or
    the catch-up does the rest. Its watermark moves over everything it read, settled or not: an event whose
    transaction committed after a later one was read is the catch-up's to find."""
    from cxloop.events.models import Event  # read-only: the events module owns the table

    counts = {"events": 0, "runs": 0}
    forget_triggers()  # one query per pass: a rule made a moment ago in a web process counts at once
    types = sorted(t for source, t in trigger_keys() if source == TriggerSource.CUSTOMER_EVENT)
    after = _mark(_FAST_MARK)
    newest = int(Event.objects.order_by("-pk").values_list("pk", flat=True).first() or 0)
    if not types:
        _advance(_FAST_MARK, newest)
        return counts
    for _ in range(batches):
        rows = _event_rows(after, types, CATCH_UP_BATCH)
        _run_event_rows(rows, counts)
        if rows:
            after = int(rows[-1][0])
        if len(rows) < CATCH_UP_BATCH:
            after = max(after, newest)
            break
    _advance(_FAST_MARK, after)
    return counts


def request_processing() -> bool:
    """Enqueue process_new_events KICK_SECONDS from now, unless this process did so within KICK_SECONDS, so a
    batch of 1,000 events costs one task row instead of 1,000. Returns whether a task was enqueued. A backend
    that cannot defer (tests) gets a task per call."""
    from cxloop.automation import tasks

    now = time.monotonic()
    if not tasks.process_new_events.get_backend().supports_defer:
        tasks.process_new_events.enqueue()
        return True
    if now < float(_kick["next_at"]):
        return False
    _kick["next_at"] = now + KICK_SECONDS
    tasks.process_new_events.using(run_after=clock.now() + timedelta(seconds=KICK_SECONDS)).enqueue()
    return True


def reset_kick() -> None:
    """Forget the last kick (tests; a forked process)."""
    _kick["next_at"] = 0.0


def catch_up(batches: int = CATCH_UP_BATCHES) -> dict[str, int]:
    """Run the rules for the customer events stored since the watermark that have no run yet, then resume
    interrupted runs. Safe anywhere and any number of times: runs are unique per (rule, event).

    The watermark advances only over settled events (older than CATCH_UP_SETTLE), so an event whose transaction
    committed a little after a later one is still read on the next pass."""
    from cxloop.events.models import Event  # read-only: the events module owns the table

    counts = {"events": 0, "runs": 0, "resumed": 0}
    settled_before = clock.now() - CATCH_UP_SETTLE
    forget_triggers()
    types = sorted(t for source, t in trigger_keys() if source == TriggerSource.CUSTOMER_EVENT)
    after = _mark(_WATERMARK)
    done = not types  # True once every listened event since the mark was read
    for _ in range(batches if types else 0):
        rows = _event_rows(after, types, CATCH_UP_BATCH)
        settled = list(itertools.takewhile(lambda row: row[5] <= settled_before, rows))
        _run_event_rows(settled, counts)
        if settled:
            after = int(settled[-1][0])
        if len(settled) < len(rows):
            break  # a young event: it and what follows wait for the next pass
        if len(rows) < CATCH_UP_BATCH:
            done = True
            break
    if done:
        # Nothing listened to is left since the mark: step over the settled events of other types too.
        newest = (
            Event.objects.filter(pk__gt=after, created_at__lte=settled_before)
            .order_by("-pk")
            .values_list("pk", flat=True)
            .first()
        )
        after = max(after, int(newest or 0))
    _advance(_WATERMARK, after)
    counts["resumed"] = resume_interrupted()
    return counts
