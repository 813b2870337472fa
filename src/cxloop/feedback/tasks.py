"""Background work of feedback, run by `cxloop worker` (the periodic ones are listed in worker/schedule.py)."""

from __future__ import annotations

from django_tasks import task


@task()
def send_invitation(invitation_id: int) -> str:
    """feedback.send_invitation: send one scheduled invitation that is due (a trigger without a delay).
    Idempotent: the invitation is claimed with a conditional update, so only one run sends it."""
    from cxloop.feedback.services import invitations

    return invitations.send_scheduled(invitation_id)


@task()
def send_due_invitations() -> dict[str, int]:
    """feedback.send_due_invitations (every minute): scheduled invitations whose time has come, in batches.
    Idempotent as send_invitation."""
    from cxloop.feedback.services import invitations

    return invitations.send_due_invitations()


@task()
def expire_invitations() -> dict[str, int]:
    """feedback.expire_invitations (hourly): unanswered invitations past their link's validity become expired."""
    from cxloop.feedback.services import invitations

    return {"expired": invitations.expire_invitations()}
