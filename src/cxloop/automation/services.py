"""Managing automation rules: the only code that writes the rules table (runs are written by runner.py).

Every change is checked whole (trigger, conditions, actions, the users, teams, goals and categories they name),
refused with the path of each problem, audited with before and after, and announced as automation_rule.changed.
A change also clears this process's memory of which triggers have rules (other processes notice within
runner.CACHE_SECONDS).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import Max

from cxloop.accounts import queries as account_queries
from cxloop.automation import conditions, definitions, runner
from cxloop.automation.events import RuleChanged
from cxloop.automation.models import Rule, RuleRun, RunStatus
from cxloop.core import clock
from cxloop.core.actor import Actor
from cxloop.core.errors import ConflictError, ValidationError
from cxloop.core.permissions import Perm
from cxloop.events import queries as event_queries
from cxloop.events.bus import publish
from cxloop.privacy.services import record_audit

logger = logging.getLogger(__name__)

NAME_MAX = 200
DESCRIPTION_MAX = 2000


@dataclass(frozen=True)
class RuleInput:
    name: str
    trigger_source: str
    trigger_type: str
    actions: list[Any]
    conditions: Any = None
    description: str = ""
    is_active: bool = True
    stop_processing: bool = False


@dataclass(frozen=True)
class RuleChanges:
    """Fields to change; a name left out (None) keeps its value. `conditions` uses `clear_conditions` for null."""

    name: str | None = None
    description: str | None = None
    trigger_source: str | None = None
    trigger_type: str | None = None
    conditions: Any = None
    clear_conditions: bool = False
    actions: list[Any] | None = None
    is_active: bool | None = None
    stop_processing: bool | None = None


def _known_event_types() -> set[str]:
    return {t.key for t in event_queries.event_types(_reader())}


def _reader() -> Actor:
    return Actor.system("automation")


def _check_references(actions: list[dict[str, Any]], errors: dict[str, str]) -> None:
    """Users, teams, goals and categories an action names must exist now (a typo shows at once, not at run time)."""
    from cxloop.cases.models import Category, Goal  # read-only lookups of keys

    for index, action in enumerate(actions):
        path = f"actions[{index}]"
        usernames = list(action.get("users", []))
        for key in ("user", "owner"):
            if action.get(key):
                usernames.append(action[key])
        for name in usernames:
            found = account_queries.find_user(name)
            if found is None or not found.is_active:
                where = "users" if name in action.get("users", []) else ("user" if action.get("user") else "owner")
                errors[f"{path}.{where}"] = f"no active user {name!r}"
        if action.get("team") and account_queries.find_team(action["team"]) is None:
            errors[f"{path}.team"] = f"no team {action['team']!r}"
        if action.get("goal") and not Goal.objects.filter(key=action["goal"]).exists():
            errors[f"{path}.goal"] = f"no goal {action['goal']!r}"
        if action.get("category") and not Category.objects.filter(key=action["category"]).exists():
            errors[f"{path}.category"] = f"no category {action['category']!r}"


def check_rule(data: RuleInput) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The cleaned conditions and actions of `data`, or a ValidationError naming every problem's path."""
    errors: dict[str, str] = {}
    name = " ".join(data.name.split())
    if not name or len(name) > NAME_MAX:
        errors["name"] = f"give a name of 1 to {NAME_MAX} characters"
    if len(data.description) > DESCRIPTION_MAX:
        errors["description"] = f"at most {DESCRIPTION_MAX} characters"
    definitions.check_trigger(data.trigger_source, data.trigger_type, _known_event_types(), errors)
    # PostgreSQL cannot store U+0000 in JSON; the API refuses it up front, the editor's JSON fields reach here.
    for field_name, value in (("name", data.name), ("conditions", data.conditions), ("actions", data.actions)):
        if "\\u0000" in json.dumps(value, default=str) or "\x00" in str(value):
            errors[field_name] = "must not contain NUL (U+0000) characters"
    if errors.get("conditions") is None:
        errors.update(conditions.check_conditions(data.conditions))
    actions = definitions.check_actions(data.actions, errors) if errors.get("actions") is None else []
    if not errors:
        _check_references(actions, errors)
    if errors:
        count = len(errors)
        raise ValidationError(f"The rule is not valid ({count} problem{'s' if count != 1 else ''}).", fields=errors)
    return data.conditions, actions


def snapshot(rule: Rule) -> dict[str, Any]:
    return {
        "name": rule.name,
        "description": rule.description,
        "trigger": {"source": rule.trigger_source, "type": rule.trigger_type},
        "conditions": rule.conditions,
        "actions": rule.actions,
        "position": rule.position,
        "is_active": rule.is_active,
        "stop_processing": rule.stop_processing,
    }


def _changed(actor: Actor, rule: Rule, change: str, before: dict[str, Any] | None, summary: str) -> None:
    record_audit(
        actor,
        f"automation_rule.{change}",
        object_type="automation_rule",
        object_id=rule.public_id,
        summary=summary,
        before=before,
        after=snapshot(rule) if change != "deleted" else None,
    )
    publish(RuleChanged(rule_id=rule.public_id, change=change))
    transaction.on_commit(runner.forget_triggers)


@transaction.atomic
def create_rule(actor: Actor, data: RuleInput) -> Rule:
    """A new rule goes last: it runs after the rules that exist (move it up to run earlier)."""
    actor.require(Perm.JOURNEYS_MANAGE)
    cleaned_conditions, actions = check_rule(data)
    last = Rule.objects.select_for_update().aggregate(last=Max("position"))["last"] or 0
    rule = Rule.objects.create(
        name=" ".join(data.name.split()),
        description=data.description.strip(),
        trigger_source=data.trigger_source,
        trigger_type=data.trigger_type,
        conditions=cleaned_conditions,
        actions=actions,
        position=last + 1,
        is_active=data.is_active,
        stop_processing=data.stop_processing,
        created_by=actor.user,
    )
    _changed(actor, rule, "created", None, f"Rule {rule.name!r} on {rule.trigger_type}")
    return rule


def duplicate_rule(actor: Actor, rule: Rule) -> Rule:
    """A copy of `rule` to change without touching the original: "Copy of …", switched off, tried last.

    It is checked and recorded as any new rule (create_rule): an action naming a team or user that no longer
    exists refuses the copy with that action's path, as a save of the original would."""
    name = f"Copy of {rule.name}"
    if len(name) > NAME_MAX:
        name = name[: NAME_MAX - 1].rstrip() + "…"
    return create_rule(
        actor,
        RuleInput(
            name=name,
            description=rule.description,
            trigger_source=rule.trigger_source,
            trigger_type=rule.trigger_type,
            conditions=rule.conditions,
            actions=rule.actions,
            is_active=False,
            stop_processing=rule.stop_processing,
        ),
    )


def _locked(rule: Rule) -> Rule:
    return Rule.objects.select_for_update().get(pk=rule.pk)


@transaction.atomic
def update_rule(actor: Actor, rule: Rule, changes: RuleChanges) -> Rule:
    actor.require(Perm.JOURNEYS_MANAGE)
    rule = _locked(rule)
    before = snapshot(rule)
    merged = RuleInput(
        name=changes.name if changes.name is not None else rule.name,
        description=changes.description if changes.description is not None else rule.description,
        trigger_source=changes.trigger_source if changes.trigger_source is not None else rule.trigger_source,
        trigger_type=changes.trigger_type if changes.trigger_type is not None else rule.trigger_type,
        conditions=None
        if changes.clear_conditions
        else (changes.conditions if changes.conditions is not None else rule.conditions),
        actions=changes.actions if changes.actions is not None else rule.actions,
        is_active=changes.is_active if changes.is_active is not None else rule.is_active,
        stop_processing=changes.stop_processing if changes.stop_processing is not None else rule.stop_processing,
    )
    cleaned_conditions, actions = check_rule(merged)
    rule.name, rule.description = " ".join(merged.name.split()), merged.description.strip()
    rule.trigger_source, rule.trigger_type = merged.trigger_source, merged.trigger_type
    rule.conditions, rule.actions = cleaned_conditions, actions
    rule.is_active, rule.stop_processing = merged.is_active, merged.stop_processing
    if snapshot(rule) == before:
        return rule
    rule.save()
    _changed(actor, rule, "updated", before, f"Rule {rule.name!r} changed")
    return rule


@transaction.atomic
def set_active(actor: Actor, rule: Rule, is_active: bool) -> Rule:
    """Switch a rule on or off; runs already logged stay, and an off rule is simply not tried."""
    actor.require(Perm.JOURNEYS_MANAGE)
    rule = _locked(rule)
    if rule.is_active == is_active:
        return rule
    before = snapshot(rule)
    rule.is_active = is_active
    rule.save(update_fields=["is_active", "updated_at"])
    change = "activated" if is_active else "deactivated"
    _changed(actor, rule, change, before, f"Rule {rule.name!r} {change}")
    return rule


@transaction.atomic
def delete_rule(actor: Actor, rule: Rule) -> None:
    """Its run log goes with it; the audit entry keeps what the rule was."""
    actor.require(Perm.JOURNEYS_MANAGE)
    rule = _locked(rule)
    before = snapshot(rule)
    _changed(actor, rule, "deleted", before, f"Rule {rule.name!r} deleted")
    rule.delete()


@transaction.atomic
def reorder_rules(actor: Actor, rule_ids: Sequence[str]) -> list[Rule]:
    """Put the rules in this order (every rule's public id, once): the first is tried first."""
    actor.require(Perm.JOURNEYS_MANAGE)
    rules = {r.public_id: r for r in Rule.objects.select_for_update()}
    if len(set(rule_ids)) != len(rule_ids) or set(rule_ids) != set(rules):
        reason = "list every rule once"
        missing, extra = sorted(set(rules) - set(rule_ids)), sorted(set(rule_ids) - set(rules))
        if missing:
            reason += f"; missing {', '.join(missing)}"
        if extra:
            reason += f"; unknown {', '.join(extra)}"
        if len(set(rule_ids)) != len(rule_ids):
            reason += "; a rule is named twice"
        raise ValidationError("The order must name every rule once.", fields={"ids": reason})
    before = [r.public_id for r in sorted(rules.values(), key=lambda r: (r.position, r.pk))]
    ordered = [rules[public_id] for public_id in rule_ids]
    for position, rule in enumerate(ordered, start=1):
        rule.position = position
    Rule.objects.bulk_update(ordered, ["position"])
    if before != list(rule_ids):
        record_audit(
            actor,
            "automation_rule.reordered",
            object_type="automation_rule",
            object_id="",
            summary="Automation rules reordered",
            before={"order": before},
            after={"order": list(rule_ids)},
        )
        publish(RuleChanged(rule_id="", change="reordered"))
    return ordered


def move_rule(actor: Actor, rule: Rule, offset: int) -> list[Rule]:
    """Move one rule up (offset -1) or down (+1), for the rules page's arrows."""
    actor.require(Perm.JOURNEYS_MANAGE)
    with transaction.atomic():
        order = list(Rule.objects.select_for_update().order_by("position", "id").values_list("public_id", flat=True))
        index = order.index(rule.public_id)
        target = max(0, min(len(order) - 1, index + offset))
        order.insert(target, order.pop(index))
        return reorder_rules(actor, order)


@transaction.atomic
def retry_run(actor: Actor, run: RuleRun) -> RuleRun:
    """Run the failed actions of a finished run again (fixed the receiver, reactivated the user): their outcomes
    are cleared and the worker performs them as a resumed run, a webhook with its same delivery id. The audit
    entry keeps the failures. Refused when nothing failed, or when the rule changed since (its actions might no
    longer be the ones the run's outcomes number).

    A run waiting for a webhook's automatic retry (retrying) may be retried too: its wait ends now. It is sent
    once: the run is claimed by its lease (runner._take_over), which this moves to now, and a run whose retry a
    worker is sending at this moment reads as matched, which is refused like any run still going."""
    actor.require(Perm.JOURNEYS_MANAGE)
    run = RuleRun.objects.select_for_update().select_related("rule").get(pk=run.pk)
    if run.status not in (RunStatus.FAILED, RunStatus.PARTIALLY, RunStatus.RETRYING):
        raise ConflictError("Only a failed, partly failed or retrying run can be retried.", code="run_not_failed")
    if run.rule.updated_at > run.at:
        raise ConflictError("The rule changed since this run; its actions may not be the same.", code="rule_changed")
    failed = [o for o in run.outcomes if o.get("status") == "failed"]
    waiting = [o for o in run.outcomes if o.get("status") == runner.RETRYING]
    before = {"status": run.status, "failed": failed, **({"retrying": waiting} if waiting else {})}
    run.outcomes = [o for o in run.outcomes if o.get("status") != "failed"]
    run.status, run.finished_at, run.lease_until = RunStatus.MATCHED, None, clock.now()
    run.save(update_fields=["outcomes", "status", "finished_at", "lease_until", "updated_at"])
    summary = f"Rule {run.rule.name!r}: {len(failed)} failed action(s) retried"
    if waiting:
        summary += f", {len(waiting)} automatic retry(ies) brought forward"
    record_audit(
        actor,
        "automation_run.retried",
        object_type="automation_run",
        object_id=run.public_id,
        summary=summary,
        before=before,
        after={"status": run.status},
    )
    run_pk = run.pk

    def enqueue() -> None:
        from cxloop.automation import tasks

        try:
            tasks.resume_run.enqueue(run_pk)
        except Exception:  # the catch-up resumes a run whose lease passed
            logger.exception("could not enqueue the retry of run %s", run_pk)

    transaction.on_commit(enqueue)
    return run
