"""Background work of the channels, run by `cxloop worker`."""

from __future__ import annotations

from typing import Any

from django_tasks import task

from cxloop.channels import batch
from cxloop.channels.email.imap import MailboxConfig, poll_mailbox


@task()
def poll_imap() -> dict[str, Any]:
    """channels.poll_imap (worker/schedule.py): new mail from the configured mailbox, each message once."""
    config = MailboxConfig.from_settings()
    if config is None:
        return {"configured": False}
    result = poll_mailbox(config)
    return {"configured": True, "fetched": result.fetched, "quarantined": result.quarantined, "reset": result.reset}


@task()
def process_received() -> dict[str, Any]:
    """channels.process_received: the kept inbound messages waiting for processing, in batches, until none is left.

    Enqueued by the SMTP server when it keeps mail (CXLOOP_SMTP_PROCESSING = "queued") and run every minute
    from worker/schedule.py as the sweep: it also takes rows whose worker died (claimed too long ago) and
    messages the inline path kept but never finished.
    """
    requeued = batch.queue_stale()
    return {"requeued": requeued, "processed": batch.drain()}
