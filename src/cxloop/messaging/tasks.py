"""Background work of the messaging module, run by `cxloop worker`."""

from __future__ import annotations

from django_tasks import task

from cxloop.messaging.services import dispatching


@task()
def dispatch_message(message_id: int) -> str:
    """messaging.dispatch_message: send one stored message. Idempotent: the claim lets only one run send it."""
    return dispatching.dispatch(message_id)


@task()
def dispatch_due_messages() -> int:
    """messaging.dispatch_due_messages (every minute, worker/schedule.py): retries and quiet-hours holds now due."""
    ids = dispatching.due_message_ids()
    for message_id in ids:
        dispatch_message.enqueue(message_id)
    return len(ids)


@task()
def fail_stuck_messages() -> int:
    """messaging.fail_stuck_messages (worker/schedule.py): see dispatching.fail_stuck_messages."""
    return dispatching.fail_stuck_messages()
