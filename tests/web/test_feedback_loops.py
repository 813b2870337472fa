"""The closed loop in the staff UI: the follow-up panel on the case page ("Customer contacted", "Close the loop"
with an outcome), the follow-ups list with its measures and filters, and the follow-up rules pages. charlie
(analyst) may look, but every change is refused and nothing changes."""

from __future__ import annotations

import html
import re
from datetime import timedelta

import pytest

from cxloop.core import clock
from cxloop.core.actor import Actor
from cxloop.feedback.models import Loop, LoopRule
from cxloop.feedback.services import loops
from cxloop.privacy.models import AuditEntry
from tests.customers.factories import CustomerFactory
from tests.feedback.loop_helpers import answer

pytestmark = pytest.mark.django_db

ANGRY = "Waited three weeks & nobody called. <b>Furious</b>!"


def text_of(response) -> str:  # type: ignore[no-untyped-def]
    """The page's text as a reader sees it: tags out, whitespace collapsed, entities decoded."""
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.content.decode())))


@pytest.fixture
def loop(alice):  # type: ignore[no-untyped-def]
    customer = CustomerFactory(name="Ann Lee")
    response = answer(customer, score=3, comment=ANGRY, sentiment=-0.84, emotion="anger", agent=alice.user)
    opened = loops.open_loop(Actor.system("test"), response, at=clock.now() - timedelta(hours=3))
    assert opened is not None
    return opened


def case_url(loop: Loop) -> str:
    return f"/cases/{loop.case_ref}/"


def test_the_case_page_shows_the_answer_and_the_loop(web, alice, loop):  # type: ignore[no-untyped-def]
    response = web(alice).get(case_url(loop))

    page = text_of(response)
    assert response.status_code == 200
    assert "Follow-up of a survey answer" in page
    assert "NPS 3" in page
    assert ANGRY in page  # shown as text, escaped
    assert "<b>Furious</b>" not in response.content.decode()
    assert "-0.84 (negative)" in page
    assert "Emotion anger" in page
    assert "Customer contacted" in page
    assert "Close the loop" in page
    assert "Recovered: the customer is satisfied now" in page


def test_contacted_then_closed_from_the_case_page(web, alice, loop):  # type: ignore[no-untyped-def]
    client = web(alice)

    contacted = client.post(f"/feedback/loops/{loop.public_id}/contact/", {"next": case_url(loop)})
    closed = client.post(
        f"/feedback/loops/{loop.public_id}/close/",
        {"next": case_url(loop), "close-outcome": "recovered", "close-note": "Refunded; she is happy again"},
    )

    assert (contacted.status_code, contacted["Location"]) == (302, case_url(loop))
    assert (closed.status_code, closed["Location"]) == (302, case_url(loop))
    stored = Loop.objects.get(pk=loop.pk)
    assert (stored.state, stored.outcome, stored.outcome_note) == (
        "resolved",
        "recovered",
        "Refunded; she is happy again",
    )
    assert stored.contacted_at is not None
    page = text_of(client.get(case_url(loop)))
    assert "Recovered: the customer is satisfied now" in page
    assert "Refunded; she is happy again" in page
    assert "Customer contacted" not in page  # nothing left to do


def test_closing_without_an_outcome_keeps_the_typed_note(web, alice, loop):  # type: ignore[no-untyped-def]
    response = web(alice).post(
        f"/feedback/loops/{loop.public_id}/close/", {"next": case_url(loop), "close-note": "Called twice, voicemail"}
    )

    assert response.status_code == 422
    page = text_of(response)
    assert "This field is required." in page
    assert "Called twice, voicemail" in page
    assert Loop.objects.get(pk=loop.pk).state == "open"


def test_a_resolved_case_with_an_open_loop_asks_for_the_outcome(web, alice, loop):  # type: ignore[no-untyped-def]
    from cxloop.cases.models import Case
    from cxloop.cases.services import cases as case_services

    case = Case.objects.get(public_id=loop.case_ref)
    case_services.change_status(alice.actor, case, "resolved", goal_achieved=True, outcome="Refunded")

    page = text_of(web(alice).get(case_url(loop)))

    assert "The case is resolved but the loop is not closed." in page


def test_an_analyst_sees_the_loop_but_cannot_work_it(web, charlie, loop):  # type: ignore[no-untyped-def]
    client = web(charlie)
    audits = AuditEntry.objects.count()

    page = text_of(client.get(case_url(loop)))
    contact = client.post(f"/feedback/loops/{loop.public_id}/contact/", {"next": case_url(loop)})
    close = client.post(f"/feedback/loops/{loop.public_id}/close/", {"close-outcome": "recovered"})

    assert "Follow-up of a survey answer" in page
    assert "Close the loop" not in page
    assert (contact.status_code, close.status_code) == (403, 403)
    assert Loop.objects.get(pk=loop.pk).state == "open"
    assert AuditEntry.objects.count() == audits


def test_signed_out_visitors_are_sent_to_the_login(client, loop):  # type: ignore[no-untyped-def]
    for url in ("/feedback/loops/", f"/feedback/loops/{loop.public_id}/", "/feedback/loop-rules/"):
        assert client.get(url).status_code == 302
    assert client.post(f"/feedback/loops/{loop.public_id}/close/", {"close-outcome": "recovered"}).status_code == 302
    assert Loop.objects.get(pk=loop.pk).state == "open"


def test_the_follow_ups_list_with_measures_and_filters(web, bob, alice, loop):  # type: ignore[no-untyped-def]
    client = web(bob)

    page = text_of(client.get("/feedback/loops/"))
    theirs = text_of(client.get("/feedback/loops/?owner=bob"))
    old = text_of(client.get("/feedback/loops/?age=gt7d"))
    bad = client.get("/feedback/loops/?within=0")

    assert "Ann Lee" in page
    assert "NPS 3" in page
    assert "0% closed within 48 hours (0 of 1 opened in the period)" in page
    assert "alice 1 0 3 hours ago" in page  # open follow-ups by owner: open, contacted, oldest
    assert "No follow-ups match." in theirs
    assert "No follow-ups match." in old
    assert bad.status_code == 422


def test_the_follow_up_page(web, charlie, loop):  # type: ignore[no-untyped-def]
    page = text_of(web(charlie).get(f"/feedback/loops/{loop.public_id}/"))

    assert "Follow-up of Ann Lee" in page
    assert ANGRY in page
    assert loop.case_ref in page


# --- rules ---------------------------------------------------------------------------------------------------------


RULE = {
    "name": "Frustrated CES",
    "is_active": "on",
    "kinds": ["ces"],
    "emotions": ["frustration"],
    "score_at_most": "3",
    "has_comment": "yes",
    "priority": "urgent",
    "goal": "retain",
    "category": "",
    "owner": "bob",
    "team": "",
}


def test_a_manager_adds_edits_moves_and_deletes_a_rule(web, bob):  # type: ignore[no-untyped-def]
    client = web(bob)

    added = client.post("/feedback/loop-rules/", RULE)
    rule = LoopRule.objects.get(name="Frustrated CES")
    edited = client.post(f"/feedback/loop-rules/{rule.public_id}/", {**RULE, "owner": "", "assign_to_agent": "on"})
    moved = client.post(f"/feedback/loop-rules/{rule.public_id}/up/")
    switched = client.post(f"/feedback/loop-rules/{rule.public_id}/off/")

    assert [r.status_code for r in (added, edited, moved, switched)] == [302, 302, 302, 302]
    rule.refresh_from_db()
    assert rule.conditions == {"kinds": ["ces"], "score_at_most": 3, "emotions": ["frustration"], "has_comment": True}
    assert (rule.priority, rule.goal.key, rule.owner, rule.assign_to_agent, rule.is_active) == (
        "urgent",
        "retain",
        None,
        True,
        False,
    )
    assert list(LoopRule.objects.order_by("position").values_list("name", flat=True))[2] == "Frustrated CES"
    page = text_of(client.get("/feedback/loop-rules/"))
    assert "kinds: ces · score_at_most: 3 · emotions: frustration · has_comment: True" in page
    assert "Switched off" in page

    deleted = client.post(f"/feedback/loop-rules/{rule.public_id}/delete/")

    assert deleted.status_code == 302
    assert not LoopRule.objects.filter(pk=rule.pk).exists()


def test_a_rule_without_conditions_comes_back_with_what_was_typed(web, bob):  # type: ignore[no-untyped-def]
    response = web(bob).post(
        "/feedback/loop-rules/", {**RULE, "kinds": [], "emotions": [], "score_at_most": "", "has_comment": ""}
    )

    assert response.status_code == 422
    page = text_of(response)
    assert "give at least one condition" in page
    assert 'value="Frustrated CES"' in response.content.decode()
    assert not LoopRule.objects.filter(name="Frustrated CES").exists()


def test_agents_see_the_rules_but_cannot_change_them(web, alice):  # type: ignore[no-untyped-def]
    client = web(alice)
    rule = LoopRule.objects.order_by("position").first()

    page = text_of(client.get("/feedback/loop-rules/"))
    add = client.post("/feedback/loop-rules/", RULE)
    off = client.post(f"/feedback/loop-rules/{rule.public_id}/off/")

    assert "NPS detractor (≤ 6)" in page
    assert "Add a rule" not in page
    assert (add.status_code, off.status_code) == (403, 403)
    assert LoopRule.objects.count() == 3
    assert LoopRule.objects.get(pk=rule.pk).is_active
