"""Background work of the interactions module, run by `cxloop worker`."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django_tasks import task

from cxloop.core import clock
from cxloop.core.actor import Actor
from cxloop.interactions import conversations


@task()
def close_waiting_conversations() -> int:
    """interactions.close_waiting (worker/schedule.py): answered conversations the customer left silent
    for CXLOOP_AUTO_CLOSE_WAITING_DAYS leave the inbox; a new message from them reopens it."""
    days = settings.CXLOOP_AUTO_CLOSE_WAITING_DAYS
    if days <= 0:
        return 0
    return conversations.close_inactive(Actor.system("auto-close"), idle_since=clock.now() - timedelta(days=days))
