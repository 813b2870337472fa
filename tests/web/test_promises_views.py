"""Promises in the staff UI: the customer page's panel (open, missed highlighted, the form, keep/cancel, the link),
the case page's panel, the actions behind them, and the notifications link and page; the outsider (charlie, an
analyst) sees promises but changes nothing."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from cxloop.accounts import notifications
from cxloop.accounts.models import Notification
from cxloop.cases.models import Promise
from cxloop.cases.services import promises
from cxloop.core import clock
from cxloop.privacy.models import AuditEntry
from tests.cases.factories import CaseFactory


def text_of(response) -> str:  # type: ignore[no-untyped-def]
    return re.sub(r"\s+", " ", response.content.decode())


def _local(delta: timedelta) -> str:
    """A datetime-local value in the server's zone (UTC in tests)."""
    return (clock.now() + delta).strftime("%Y-%m-%dT%H:%M")


def _make(member, customer, text: str = "Call back", due_in: timedelta = timedelta(hours=3), **kwargs) -> Promise:  # type: ignore[no-untyped-def]
    return promises.make_promise(
        member.actor, customer=customer, description=text, due_at=clock.now() + due_in, **kwargs
    )


def test_the_customer_page_shows_open_and_missed_promises_and_the_tools(web, alice, ann):
    # given: one missed and one open promise
    missed = _make(alice, ann, "Call back about the router", timedelta(minutes=1))
    promises.sweep_promises(at=clock.now() + timedelta(minutes=2))
    _make(alice, ann, "Refund within 5 days", timedelta(days=2))

    # when
    page = web(alice).get(f"/customers/{ann.public_id}/")

    # then
    html = text_of(page)
    assert page.status_code == 200
    assert 'id="panel-promises"' in html
    assert f'<li class="promise-item promise-missed" id="promise-{missed.public_id}">' in html
    assert html.count("promise-missed") == 1
    assert "Refund within 5 days" in html
    assert "Make a promise to Ann Smith" in html
    assert "Copy the customer's promises link" in html
    assert html.count(">Mark kept<") == 2


def test_the_outsider_sees_promises_without_tools(web, alice, charlie, ann):
    _make(alice, ann, "Refund within 5 days")

    html = text_of(web(charlie).get(f"/customers/{ann.public_id}/"))

    assert "Refund within 5 days" in html
    assert "Make a promise" not in html
    assert "Mark kept" not in html
    assert "promises link" not in html


def test_make_a_promise_from_the_customer_page(web, alice, ann):
    # when
    response = web(alice).post(
        f"/customers/{ann.public_id}/promises/",
        {
            "description": "Call back on Friday",
            "due_at": _local(timedelta(days=1)),
            "channel": "phone",
            "next": f"/customers/{ann.public_id}/#panel-promises",
        },
    )

    # then
    assert response.status_code == 302
    assert response["Location"] == f"/customers/{ann.public_id}/#panel-promises"
    promise = Promise.objects.get()
    assert (promise.description, promise.owner, promise.channel, promise.customer) == (
        "Call back on Friday",
        alice.user,
        "phone",
        ann,
    )


def test_a_promise_without_a_due_time_is_shown_again_with_the_reason(web, alice, ann):
    response = web(alice).post(f"/customers/{ann.public_id}/promises/", {"description": "Call back", "due_at": ""})

    assert response.status_code == 422
    html = text_of(response)
    assert 'value="Call back"' in html  # what was typed is kept
    assert "required" in html
    assert Promise.objects.count() == 0


def test_a_past_due_time_is_refused_with_the_reason(web, alice, ann):
    response = web(alice).post(
        f"/customers/{ann.public_id}/promises/", {"description": "Call back", "due_at": _local(-timedelta(hours=2))}
    )
    assert response.status_code == 422
    assert "must be in the future" in text_of(response)
    assert Promise.objects.count() == 0


def test_a_foreign_next_is_ignored(web, alice, ann):
    response = web(alice).post(
        f"/customers/{ann.public_id}/promises/",
        {"description": "Call back", "due_at": _local(timedelta(days=1)), "next": "https://evil.example.com/"},
    )
    assert response.status_code == 302
    assert response["Location"] == f"/customers/{ann.public_id}/#panel-promises"


def test_keep_cancel_and_reschedule(web, alice, ann):
    # given
    client = web(alice)
    keep, cancel, move = (_make(alice, ann, text) for text in ("Keep me", "Cancel me", "Move me"))
    new_due = clock.now() + timedelta(days=2)

    # when
    kept = client.post(f"/promises/{keep.public_id}/keep/", {})
    no_reason = client.post(f"/promises/{cancel.public_id}/cancel/", {"reason": ""})
    cancelled = client.post(f"/promises/{cancel.public_id}/cancel/", {"reason": "Customer withdrew"})
    moved = client.post(
        f"/promises/{move.public_id}/reschedule/",
        {"due_at": new_due.strftime("%Y-%m-%dT%H:%M"), "reason": "Parts late"},
    )

    # then
    assert [r.status_code for r in (kept, no_reason, cancelled, moved)] == [302, 422, 302, 302]
    assert kept["Location"] == f"/customers/{ann.public_id}/#panel-promises"
    assert Promise.objects.get(pk=keep.pk).status == "kept"
    assert Promise.objects.get(pk=cancel.pk).status == "cancelled"
    assert Promise.objects.get(pk=move.pk).due_at == new_due.replace(second=0, microsecond=0)


def test_a_bad_reschedule_is_shown_again(web, alice, ann):
    move = _make(alice, ann, "Move me")
    response = web(alice).post(f"/promises/{move.public_id}/reschedule/", {"due_at": "", "reason": "Later"})
    assert response.status_code == 422
    assert "required" in text_of(response)
    assert Promise.objects.get(pk=move.pk).due_at == move.due_at


@pytest.mark.parametrize("action", ["keep", "cancel", "reschedule"])
def test_the_outsider_cannot_change_a_promise(web, alice, charlie, ann, action):
    promise = _make(alice, ann)

    response = web(charlie).post(
        f"/promises/{promise.public_id}/{action}/", {"reason": "x", "due_at": _local(timedelta(days=1))}
    )

    assert response.status_code == 403
    assert Promise.objects.get(pk=promise.pk).status == "open"
    assert Promise.objects.get(pk=promise.pk).due_at == promise.due_at


def test_the_outsider_cannot_make_a_promise_or_get_the_link(web, charlie, ann):
    client = web(charlie)
    made = client.post(
        f"/customers/{ann.public_id}/promises/", {"description": "x", "due_at": _local(timedelta(days=1))}
    )
    link = client.get(f"/customers/{ann.public_id}/promises-link/")
    assert (made.status_code, link.status_code) == (403, 403)
    assert Promise.objects.count() == 0
    assert AuditEntry.objects.filter(action="promise.link_issued").count() == 0


def test_the_link_to_copy(web, alice, ann, settings):
    settings.CXLOOP_BASE_URL = "https://cx.example.com"

    response = web(alice).get(f"/customers/{ann.public_id}/promises-link/", HTTP_HX_REQUEST="true")

    html = text_of(response)
    assert response.status_code == 200
    match = re.search(r'value="(https://cx\.example\.com/p/promises/[^"]+/)"', html)
    assert match is not None
    assert 'data-copy="#promises-link-' in html
    assert AuditEntry.objects.filter(action="promise.link_issued", object_id=ann.public_id).count() == 1


def test_the_case_page_panel(web, alice, ann):
    # given
    case = CaseFactory(customer=ann, owner=alice.user)
    promise = _make(alice, ann, "Replace the router", case=case)

    # when
    html = text_of(web(alice).get(f"/cases/{case.public_id}/"))

    # then
    assert "Replace the router" in html
    assert f'action="/promises/{promise.public_id}/keep/"' in html
    assert f'name="case" value="{case.public_id}"' in html


def test_a_promise_made_on_the_case_page_goes_back_there(web, alice, ann):
    case = CaseFactory(customer=ann, owner=alice.user)

    response = web(alice).post(
        f"/customers/{ann.public_id}/promises/",
        {"description": "Call back", "due_at": _local(timedelta(days=1)), "case": case.public_id},
    )

    assert response.status_code == 302
    assert response["Location"] == f"/cases/{case.public_id}/#promises"
    assert Promise.objects.get().case == case


# --- notifications ------------------------------------------------------------------------------------------------


def test_the_header_counts_unread_notifications_and_the_page_lists_them(web, alice, bob, ann):
    # given: a missed promise notifies alice (owner) and bob (her supervisor)
    _make(alice, ann, "Call back", timedelta(minutes=1))
    promises.sweep_promises(at=clock.now() + timedelta(minutes=2))
    client = web(alice)

    # when
    home = text_of(client.get("/customers/"))
    page = text_of(client.get("/notifications/"))

    # then
    assert 'href="/notifications/"' in home
    assert '<span class="count">1<span class="visually-hidden"> unread</span></span>' in home
    assert "Promise missed: Call back" in page
    assert "Mark all read (1)" in page


def test_open_marks_read_and_follows_the_link(web, alice, ann):
    note = notifications.notify(alice.user, "test", "Look here", url=f"/customers/{ann.public_id}/")
    assert note is not None

    response = web(alice).post(f"/notifications/{note.pk}/open/")

    assert (response.status_code, response["Location"]) == (302, f"/customers/{ann.public_id}/")
    assert Notification.objects.get(pk=note.pk).read_at is not None


def test_mark_read_and_mark_all_read(web, alice):
    first = notifications.notify(alice.user, "test", "One")
    notifications.notify(alice.user, "test", "Two")
    client = web(alice)
    assert first is not None

    client.post(f"/notifications/{first.pk}/read/")
    assert Notification.objects.filter(read_at__isnull=True).count() == 1
    client.post("/notifications/read-all/")
    assert Notification.objects.filter(read_at__isnull=True).count() == 0
    assert "Nothing unread." in text_of(client.get("/notifications/?unread=1"))


def test_nobody_reads_or_marks_anothers_notification(web, alice, charlie):
    note = notifications.notify(alice.user, "test", "Alice's secret")
    assert note is not None
    client = web(charlie)

    assert "Alice" not in text_of(client.get("/notifications/"))
    assert client.post(f"/notifications/{note.pk}/read/").status_code == 404
    assert client.post(f"/notifications/{note.pk}/open/").status_code == 404
    client.post("/notifications/read-all/")
    assert Notification.objects.get(pk=note.pk).read_at is None


def test_notifications_need_a_login(client):
    response = client.get("/notifications/")
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")
