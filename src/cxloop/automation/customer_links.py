"""The run log follows its customer: merges move a customer's runs to the survivor (unmerge moves exactly those
back), and a personal-data export lists them. Registered in apps.py through core.customer_refs, since the
customers module cannot import this one."""

from __future__ import annotations

from typing import Any

from cxloop.automation.models import RuleRun


def move_customer_runs(from_customer_id: int, to_customer_id: int) -> list[int]:
    ids = list(RuleRun.objects.filter(customer_id=from_customer_id).values_list("pk", flat=True))
    RuleRun.objects.filter(pk__in=ids).update(customer_id=to_customer_id)
    return ids


def restore_customer_runs(ids: list[int], to_customer_id: int) -> None:
    RuleRun.objects.filter(pk__in=ids).update(customer_id=to_customer_id)


def export_customer_runs(customer_id: int) -> list[dict[str, Any]]:
    """Which automation rules were tried for the customer, on what, and what they did."""
    rows = RuleRun.objects.filter(customer_id=customer_id).select_related("rule").order_by("at", "id")
    return [
        {
            "id": run.public_id,
            "rule": run.rule.name,
            "trigger": run.trigger_type,
            "status": run.status,
            "at": run.at.isoformat(),
            "event": run.event_data,
            "actions": [{"summary": o.get("summary"), "status": o.get("status")} for o in run.outcomes],
        }
        for run in rows.iterator(chunk_size=500)
    ]
