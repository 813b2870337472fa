"""The supervisor board: workloads, SLA alerts, missed promises, unassigned and hand-over counts, repeat-contact
rates; only those who supervise cases see it (alice the agent and charlie the analyst are refused)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from cxloop.cases.models import Case, Promise, PromiseStatus, RepeatContact
from cxloop.cases.services import cases as case_services
from cxloop.cases.services.cases import CaseInput
from cxloop.core import clock

pytestmark = pytest.mark.django_db


def text_of(response) -> str:  # type: ignore[no-untyped-def]
    return re.sub(r"\s+", " ", response.content.decode())


def test_board_shows_workloads_alerts_and_missed_promises(web, alice, bob, ann, bert):  # type: ignore[no-untyped-def]
    breached = case_services.open_case(alice.actor, CaseInput(customer=ann, subject="Broken boiler", owner=alice.user))
    Case.objects.filter(pk=breached.pk).update(sla_state="breached", sla_next_due_at=clock.now() - timedelta(hours=2))
    RepeatContact.objects.create(case=breached, matched_by="category", detected_at=clock.now())
    case_services.open_case(alice.actor, CaseInput(customer=bert, subject="Nobody's yet"))
    case_services.assign_case(alice.actor, breached, owner=bob.user, note="Over to you")
    now = clock.now()
    Promise.objects.create(
        customer=ann,
        case=breached,
        description="Call back about the boiler",
        due_at=now - timedelta(hours=3),
        owner=alice.user,
        status=PromiseStatus.MISSED,
        made_at=now - timedelta(days=1),
    )

    page = text_of(web(bob).get("/board/"))

    assert "Call back about the boiler" in page
    assert f"#{breached.pk} Broken boiler" in page
    assert "breached 2h ago" in page
    assert re.search(r'stat-value">1</span><span class="stat-label">Unassigned cases', page)
    assert re.search(r'stat-value">1</span><span class="stat-label">Hand-overs today', page)
    assert "1 cases and 0 conversations of a capacity of 20" in page  # bob now carries the breached case
    assert (
        '50% <span class="muted small">(1/2)' in page
    )  # one repeat contact among the two contacts (cases) without a category


@pytest.mark.parametrize("member", ["alice", "charlie"])
def test_board_is_for_supervisors_only(web, request, member):  # type: ignore[no-untyped-def]
    response = web(request.getfixturevalue(member)).get("/board/")

    assert response.status_code == 403


def test_board_link_shows_for_supervisors_only(web, alice, bob):  # type: ignore[no-untyped-def]
    assert 'href="/board/"' in web(bob).get("/").content.decode()
    assert 'href="/board/"' not in web(alice).get("/").content.decode()


def test_board_shows_the_promise_kept_rate_per_agent_and_team(web, alice, bob, ann):  # type: ignore[no-untyped-def]
    now = clock.now()
    for description, status, missed in (("A", "kept", False), ("B", "kept", True), ("C", "missed", True)):
        Promise.objects.create(
            customer=ann,
            description=description,
            due_at=now - timedelta(hours=2),
            owner=alice.user,
            team=alice.user.team,
            status=status,
            was_missed=missed,
            kept_at=now - timedelta(hours=3) if status == "kept" else None,
            made_at=now - timedelta(days=1),
        )

    page = text_of(web(bob).get("/board/"))

    assert "Promises kept on time" in page
    # alice kept one of three on time (one late, one missed); her team the same
    assert page.count('33% <span class="muted small">(1/3)') == 2
    assert 'aria-label="1 kept on time, 1 kept late, 1 missed"' in page
