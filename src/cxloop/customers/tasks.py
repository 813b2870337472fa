"""Background work of the customers module, run by `cxloop worker`."""

from __future__ import annotations

from typing import Any

from django_tasks import task

from cxloop.core.actor import Actor
from cxloop.customers import duplicates


@task()
def find_duplicates(threshold: float | None = None) -> dict[str, Any]:
    """customers.find_duplicates: the daily Splink scan (worker/schedule.py).

    Idempotent: a pair already suggested, merged or dismissed is never suggested again, so a retried
    or doubly enqueued run creates nothing new. Returns the run's summary as the task result.
    """
    return duplicates.find_duplicates(Actor.system("duplicates"), threshold=threshold).as_dict()
