"""Staff notifications in the app: the bell in the header and the /notifications/ page.

Any module tells a person about something with `notify()` (or `notify_many()` for a batch, as the promise sweep
does). Both run inside the caller's transaction, so a notification exists only if the change it reports was
committed. Reading and marking read are personal: a staff member only ever sees and marks their own.

Notifications are not audited: they are copies of changes that are audited where they happen, and "read"
is a person's own view state (like a token's last-used time), not a change to the business's data.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.db.models import QuerySet

from cxloop.accounts.models import Notification, User
from cxloop.core import clock
from cxloop.core.actor import Actor
from cxloop.core.errors import NotFoundError, ValidationError
from cxloop.core.pagination import Page, paginate

KIND_MAX = 40
TITLE_MAX = 200
BODY_MAX = 1000
URL_MAX = 500
BATCH_SIZE = 1000


@dataclass(frozen=True)
class NotificationInput:
    """One notification for `notify_many`: the same fields `notify` takes, the user by primary key."""

    user_id: int
    kind: str
    title: str
    body: str = ""
    url: str = ""


def _clip(text: str, limit: int) -> str:
    """Titles and bodies are built from customer data of any length: cut them, never refuse a notification."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _row(item: NotificationInput, now: datetime) -> Notification:
    if not item.kind or len(item.kind) > KIND_MAX:
        raise ValidationError("A notification needs a kind.", fields={"kind": f"1 to {KIND_MAX} characters"})
    if len(item.url) > URL_MAX or (item.url and not item.url.startswith("/")):
        raise ValidationError("A notification links to a page of this site.", fields={"url": "a path starting /"})
    return Notification(
        user_id=item.user_id,
        kind=item.kind,
        title=_clip(item.title, TITLE_MAX) or item.kind,
        body=_clip(item.body, BODY_MAX),
        url=item.url,
        created_at=now,
    )


def notify(user: User, kind: str, title: str, body: str = "", url: str = "") -> Notification | None:
    """Tell `user` about something, in the caller's transaction. A deactivated user gets nothing (None)."""
    if not user.is_active:
        return None
    row = _row(NotificationInput(user.pk, kind, title, body, url), clock.now())
    row.save()
    return row


def notify_many(items: Sequence[NotificationInput]) -> int:
    """Many notifications with bulk inserts (sweeps tell hundreds of people at once); deactivated users and
    unknown ids are skipped. Returns how many were written."""
    if not items:
        return 0
    now = clock.now()
    rows = [_row(item, now) for item in items]
    active = set(User.objects.filter(pk__in={r.user_id for r in rows}, is_active=True).values_list("pk", flat=True))
    rows = [r for r in rows if r.user_id in active]
    Notification.objects.bulk_create(rows, batch_size=BATCH_SIZE)
    return len(rows)


def _own(actor: Actor) -> QuerySet[Notification]:
    if actor.user is None:
        return Notification.objects.none()
    return Notification.objects.filter(user_id=actor.user.pk)


def get_notification(actor: Actor, notification_id: int) -> Notification:
    """One of the actor's own notifications; anyone else's is "not found", so ids reveal nothing."""
    found = _own(actor).filter(pk=notification_id).first()
    if found is None:
        raise NotFoundError(f"No notification {notification_id}.")
    return found


@transaction.atomic
def mark_read(actor: Actor, notification: Notification) -> Notification:
    """Mark one of the actor's own notifications read (again is harmless: the first read time stays)."""
    updated = _own(actor).filter(pk=notification.pk, read_at__isnull=True).update(read_at=clock.now())
    if not updated and not _own(actor).filter(pk=notification.pk).exists():
        raise NotFoundError(f"No notification {notification.pk}.")
    notification.refresh_from_db(fields=["read_at"])
    return notification


@transaction.atomic
def mark_all_read(actor: Actor) -> int:
    """Mark every unread notification of the actor read; returns how many were."""
    return _own(actor).filter(read_at__isnull=True).update(read_at=clock.now())


# --- reads ------------------------------------------------------------------------------------------------------


def unread_count(actor: Actor) -> int:
    """How many of the actor's notifications are unread (the header's count; one indexed COUNT)."""
    return _own(actor).filter(read_at__isnull=True).count()


def list_notifications(
    actor: Actor, *, unread_only: bool = False, cursor: str | None = None, limit: int = 25
) -> Page[Notification]:
    """The actor's notifications, newest first, a cursor page at a time."""
    qs = _own(actor)
    if unread_only:
        qs = qs.filter(read_at__isnull=True)
    return paginate(qs, ("-created_at", "-id"), cursor, limit)
