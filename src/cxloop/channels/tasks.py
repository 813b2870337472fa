"""Background work of the channels, run by `cxloop worker`."""

from __future__ import annotations

from typing import Any

from django_tasks import task

from cxloop.channels.email.imap import MailboxConfig, poll_mailbox


@task()
def poll_imap() -> dict[str, Any]:
    """channels.poll_imap (worker/schedule.py): new mail from the configured mailbox, each message once."""
    config = MailboxConfig.from_settings()
    if config is None:
        return {"configured": False}
    result = poll_mailbox(config)
    return {"configured": True, "fetched": result.fetched, "quarantined": result.quarantined, "reset": result.reset}
