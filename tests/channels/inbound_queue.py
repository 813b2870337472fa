"""Waiting for kept inbound mail to be processed, as the worker does it (channels.batch)."""

from __future__ import annotations

import time

from cxloop.channels import batch
from cxloop.channels.models import InboundMessage, InboundStatus


def drained(timeout: float = 10.0) -> None:
    """Process what is queued (the worker's step) until nothing kept waits any more; fail after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        batch.drain()
        waiting = InboundMessage.objects.filter(status__in=[InboundStatus.QUEUED, InboundStatus.RECEIVED])
        if not waiting.exists():
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"still waiting: {list(waiting.values_list('public_id', 'status'))}")
        time.sleep(0.05)
