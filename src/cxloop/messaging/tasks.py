"""Background work of the messaging module, run by `cxloop worker`."""

from __future__ import annotations

from django_tasks import task

from cxloop.messaging.services import dispatching


@task()
def dispatch_message(message_id: int) -> str:
    """messaging.dispatch_message: send one stored message. Idempotent: the claim lets only one run send it."""
    return dispatching.dispatch(message_id)


@task()
def dispatch_messages(message_ids: list[int]) -> dict[str, int]:
    """messaging.dispatch_messages: send many stored messages, one provider session per channel and batch.
    Idempotent as dispatch_message: each message is claimed before it is sent."""
    return dispatching.dispatch_batch(message_ids)


@task()
def dispatch_due_messages() -> int:
    """messaging.dispatch_due_messages (every minute, worker/schedule.py): retries and quiet-hours holds now
    due, in batches (a campaign held for quiet hours comes due all at once)."""
    ids = dispatching.due_message_ids()
    for start in range(0, len(ids), dispatching.BATCH_SIZE):
        dispatch_messages.enqueue(ids[start : start + dispatching.BATCH_SIZE])
    return len(ids)


@task()
def fail_stuck_messages() -> int:
    """messaging.fail_stuck_messages (worker/schedule.py): see dispatching.fail_stuck_messages."""
    return dispatching.fail_stuck_messages()
