"""Staff notifications: written in the caller's transaction, only to active users, read and marked only by their
own user, listed newest first a cursor page at a time."""

from __future__ import annotations

import pytest
from django.db import transaction

from cxloop.accounts import notifications
from cxloop.accounts.models import Notification, User
from cxloop.core.errors import NotFoundError, ValidationError


def test_notify_writes_one_row(alice):
    note = notifications.notify(alice.user, "promise.due_soon", "Promise due soon", "To Ann", "/customers/cus_1/")

    assert note is not None
    stored = Notification.objects.get()
    assert (stored.user, stored.kind, stored.title, stored.body, stored.url, stored.read_at) == (
        alice.user,
        "promise.due_soon",
        "Promise due soon",
        "To Ann",
        "/customers/cus_1/",
        None,
    )


def test_a_notification_is_kept_only_if_the_change_is(alice):
    @transaction.atomic
    def failing_change() -> None:
        notifications.notify(alice.user, "test", "Rolled back")
        raise RuntimeError("the change failed")

    with pytest.raises(RuntimeError):
        failing_change()
    assert Notification.objects.count() == 0


def test_long_text_is_cut_not_refused(alice):
    note = notifications.notify(alice.user, "test", "t" * 500, "b" * 5000)
    assert note is not None
    assert (len(note.title), len(note.body)) == (200, 1000)
    assert note.title.endswith("…")


@pytest.mark.parametrize(
    ("kind", "url", "fields"),
    [("", "", {"kind": "1 to 40 characters"}), ("test", "https://evil.example.com/", {"url": "a path starting /"})],
)
def test_bad_kind_or_url_is_refused(alice, kind, url, fields):
    with pytest.raises(ValidationError) as refused:
        notifications.notify(alice.user, kind, "Title", url=url)
    assert refused.value.fields == fields
    assert Notification.objects.count() == 0


def test_deactivated_users_get_nothing(alice, bob):
    User.objects.filter(pk=bob.user.pk).update(is_active=False)
    bob.user.refresh_from_db()

    assert notifications.notify(bob.user, "test", "Hi") is None
    written = notifications.notify_many(
        [
            notifications.NotificationInput(alice.user.pk, "test", "For alice"),
            notifications.NotificationInput(bob.user.pk, "test", "For bob"),
        ]
    )

    assert written == 1
    assert list(Notification.objects.values_list("user__username", "title")) == [("alice", "For alice")]


def test_notify_many_in_few_queries(alice, bob, django_assert_num_queries):
    items = [notifications.NotificationInput(u.pk, "test", f"N{i}") for i in range(50) for u in (alice.user, bob.user)]
    with django_assert_num_queries(2):  # which users are active, one bulk insert
        assert notifications.notify_many(items) == 100


def test_mark_read_and_all_read_touch_only_ones_own(alice, bob):
    # given
    mine = notifications.notify(alice.user, "test", "One")
    notifications.notify(alice.user, "test", "Two")
    bobs = notifications.notify(bob.user, "test", "Bob's")
    assert mine is not None
    assert bobs is not None

    # when / then: bob cannot see or mark alice's
    with pytest.raises(NotFoundError):
        notifications.get_notification(bob.actor, mine.pk)
    with pytest.raises(NotFoundError):
        notifications.mark_read(bob.actor, mine)
    assert notifications.unread_count(alice.actor) == 2

    read = notifications.mark_read(alice.actor, mine)
    first_read = read.read_at
    again = notifications.mark_read(alice.actor, mine)
    assert first_read is not None
    assert again.read_at == first_read
    assert notifications.unread_count(alice.actor) == 1

    assert notifications.mark_all_read(alice.actor) == 1
    assert notifications.unread_count(alice.actor) == 0
    assert notifications.unread_count(bob.actor) == 1


def test_the_list_is_newest_first_in_pages(alice, bob):
    for index in range(5):
        notifications.notify(alice.user, "test", f"N{index}")
    notifications.notify(bob.user, "test", "Bob's")
    notifications.mark_read(alice.actor, Notification.objects.get(title="N4"))

    first = notifications.list_notifications(alice.actor, limit=3)
    second = notifications.list_notifications(alice.actor, limit=3, cursor=first.next_cursor)
    unread = notifications.list_notifications(alice.actor, unread_only=True)

    assert [n.title for n in first.items + second.items] == ["N4", "N3", "N2", "N1", "N0"]
    assert second.next_cursor is None
    assert [n.title for n in unread.items] == ["N3", "N2", "N1", "N0"]


def test_unread_count_is_one_query(alice, django_assert_num_queries):
    notifications.notify(alice.user, "test", "One")
    with django_assert_num_queries(1):
        assert notifications.unread_count(alice.actor) == 1
