"""The case queues and the case page: what they show, what each form does through the case services, the
stale-version message that keeps typed work, refusals for charlie (the analyst reads but changes nothing),
and the number of queries the queue and the case page cost.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from cxloop.cases.models import Case, CaseLink, CaseStatus, CaseTask, Handover, TaskStatus
from cxloop.cases.services import cases as case_services
from cxloop.cases.services import plans
from cxloop.cases.services.cases import CaseChanges, CaseInput
from cxloop.core import clock
from cxloop.customers.models import Customer
from cxloop.interactions.models import Interaction
from cxloop.messaging.models import OutboundMessage
from tests.conftest import Member
from tests.web.conftest import make_customer

pytestmark = pytest.mark.django_db


def open_case(member: Member, customer: Customer, subject: str = "Card charged twice", **extra) -> Case:  # type: ignore[no-untyped-def]
    return case_services.open_case(member.actor, CaseInput(customer=customer, subject=subject, **extra))


@pytest.fixture
def alices_case(alice: Member, ann: Customer) -> Case:
    return open_case(alice, ann, owner=alice.user)


def text_of(response) -> str:  # type: ignore[no-untyped-def]
    return re.sub(r"\s+", " ", response.content.decode())


# --- queues ---------------------------------------------------------------------------------------------------------
def test_my_queue_lists_my_active_cases_with_their_sla_state(web, alice, bob, ann, bert):  # type: ignore[no-untyped-def]
    mine = open_case(alice, ann, "Refund missing", owner=alice.user)
    Case.objects.filter(pk=mine.pk).update(sla_state="breached", sla_next_due_at=clock.now() - timedelta(minutes=40))
    open_case(bob, bert, "Bob's own", owner=bob.user)

    page = text_of(web(alice).get("/cases/?tab=mine"))

    assert f"#{mine.pk} Refund missing" in page
    assert "Bob&#x27;s own" not in page
    assert "Bob's own" not in page
    assert "Breached" in page
    assert "breached 40m ago" in page


def test_unassigned_queue_and_filters(web, alice, ann, bert):  # type: ignore[no-untyped-def]
    loose = open_case(alice, ann, "Nobody has this", priority="urgent")
    open_case(alice, bert, "Low one", priority="low")

    page = text_of(web(alice).get("/cases/?tab=unassigned&priority=urgent"))

    assert f"#{loose.pk} Nobody has this" in page
    assert "Low one" not in page


def test_queue_refuses_an_unknown_tab_and_bad_filter_precisely(web, alice):  # type: ignore[no-untyped-def]
    client = web(alice)

    assert client.get("/cases/?tab=nope").status_code == 422
    response = client.get("/cases/?tab=all&priority=whenever")
    assert response.status_code == 422
    assert "Priority" in text_of(response)


def test_queue_pages_with_a_cursor(web, alice, ann):  # type: ignore[no-untyped-def]
    cases = [open_case(alice, ann, f"Case {index}", owner=alice.user) for index in range(27)]
    client = web(alice)

    first = text_of(client.get("/cases/?tab=mine"))
    match = re.search(r'href="(/cases/\?[^"]*cursor=[^"]+)"', first)
    assert match is not None
    second = text_of(client.get(match.group(1).replace("&amp;", "&")))

    assert f"#{cases[-1].pk} Case 26" in first
    assert f"#{cases[0].pk} Case 0" not in first
    assert f"#{cases[0].pk} Case 0" in second
    assert f"#{cases[-1].pk} Case 26" not in second


def test_queue_costs_few_queries(web, alice, ann, django_assert_max_num_queries):  # type: ignore[no-untyped-def]
    for index in range(10):
        open_case(alice, ann, f"Case {index}", owner=alice.user)
    client = web(alice)
    client.get("/cases/?tab=mine")

    # a fixed number, whatever the page size: the rows' goal, category, owner, team and queue are one small query
    # each (joining them all made PostgreSQL plan for longer than it ran)
    with django_assert_max_num_queries(20):
        assert client.get("/cases/?tab=mine").status_code == 200


def test_queues_need_a_login(client: Client):  # type: ignore[no-untyped-def]
    response = client.get("/cases/")

    assert response.status_code == 302
    assert "/login/" in response["Location"]


# --- bulk bar -------------------------------------------------------------------------------------------------------
def test_bulk_bar_sets_the_priority_of_the_ticked_cases(web, alice, ann, bert):  # type: ignore[no-untyped-def]
    one, two = open_case(alice, ann, "One", owner=alice.user), open_case(alice, bert, "Two", owner=alice.user)
    untouched = open_case(alice, ann, "Three", owner=alice.user)

    response = web(alice).post(
        "/cases/bulk/",
        {"case": [one.public_id, two.public_id], "action": "priority", "priority": "high", "return_to": "/cases/"},
    )

    assert response.status_code == 302
    priorities = dict(Case.objects.values_list("pk", "priority"))
    assert (priorities[one.pk], priorities[two.pk], priorities[untouched.pk]) == ("high", "high", "normal")


def test_bulk_status_reports_each_refused_case(web, alice, ann):  # type: ignore[no-untyped-def]
    closed = open_case(alice, ann, "Closed one", owner=alice.user)
    closed = case_services.change_status(alice.actor, closed, CaseStatus.RESOLVED)
    case_services.change_status(alice.actor, closed, CaseStatus.CLOSED)
    fine = open_case(alice, ann, "Fine one", owner=alice.user)
    client = web(alice)

    response = client.post(
        "/cases/bulk/",
        {"case": [closed.public_id, fine.public_id], "action": "status", "status": "waiting_on_customer"},
        follow=True,
    )

    page = text_of(response)
    assert "1 case changed." in page
    assert f"#{closed.pk} not changed" in page
    assert Case.objects.get(pk=fine.pk).status == CaseStatus.WAITING_ON_CUSTOMER


def test_charlie_may_not_use_the_bulk_bar(web, charlie, alice, ann):  # type: ignore[no-untyped-def]
    case = open_case(alice, ann, owner=alice.user)

    response = web(charlie).post("/cases/bulk/", {"case": [case.public_id], "action": "priority", "priority": "urgent"})

    assert response.status_code == 403
    assert Case.objects.get(pk=case.pk).priority == "normal"


# --- opening a case -------------------------------------------------------------------------------------------------
def test_open_a_case_from_the_customer_page(web, alice, ann):  # type: ignore[no-untyped-def]
    from cxloop.cases.apps import _register_web_panels

    _register_web_panels()  # test_customer_page swaps in a stand-in "cases" panel and then removes it
    client = web(alice)
    panel = text_of(client.get(f"/customers/{ann.public_id}/"))
    assert "Open a case for Ann Smith" in panel

    response = client.post(
        "/cases/new/", {"customer": ann.public_id, "subject": "Wants a callback", "priority": "high", "take": "on"}
    )

    case = Case.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/cases/{case.public_id}/"
    assert (case.subject, case.priority, case.owner, case.customer) == ("Wants a callback", "high", alice.user, ann)
    assert f"#{case.pk} Wants a callback" in text_of(client.get(f"/customers/{ann.public_id}/"))


def test_opening_a_case_without_subject_keeps_the_form(web, alice, ann):  # type: ignore[no-untyped-def]
    response = web(alice).post("/cases/new/", {"customer": ann.public_id, "subject": "", "description": "Kept text"})

    assert response.status_code == 422
    assert "Kept text" in text_of(response)
    assert not Case.objects.exists()


def test_charlie_may_not_open_a_case(web, charlie, ann):  # type: ignore[no-untyped-def]
    response = web(charlie).post("/cases/new/", {"customer": ann.public_id, "subject": "x", "priority": "normal"})

    assert response.status_code == 403
    assert not Case.objects.exists()


# --- the case page --------------------------------------------------------------------------------------------------
def test_case_page_shows_header_plan_and_only_allowed_transitions(web, alice, alices_case):  # type: ignore[no-untyped-def]
    plans.add_task(
        alice.actor, alices_case, plans.TaskInput(title="Check the ledger", checklist=("Find both charges",))
    )

    page = text_of(web(alice).get(f"/cases/{alices_case.public_id}/"))

    assert f"#{alices_case.pk} Card charged twice" in page
    assert "Check the ledger" in page
    assert "Find both charges" in page
    status_menu = re.search(r'name="status-status"[^>]*>(.*?)</select>', page)
    assert status_menu is not None
    offered = re.findall(r'<option value="([a-z_]+)"', status_menu.group(1))
    assert offered == ["waiting_on_customer", "waiting_on_us"]


def test_case_page_costs_few_queries(web, alice, alices_case, django_assert_max_num_queries):  # type: ignore[no-untyped-def]
    for index in range(5):
        plans.add_task(alice.actor, alices_case, plans.TaskInput(title=f"Task {index}"))
    client = web(alice)
    client.get(f"/cases/{alices_case.public_id}/")

    with django_assert_max_num_queries(30):
        assert client.get(f"/cases/{alices_case.public_id}/").status_code == 200


def test_charlie_reads_the_case_but_every_form_is_refused(web, charlie, alices_case):  # type: ignore[no-untyped-def]
    client = web(charlie)
    page = text_of(client.get(f"/cases/{alices_case.public_id}/"))
    assert "Card charged twice" in page
    assert "Add a task" not in page
    assert "Hand over" not in page
    url = f"/cases/{alices_case.public_id}/"
    posts = {
        "edit/": {"edit-version": 1, "edit-subject": "Hijacked", "edit-priority": "low", "edit-goal": "care"},
        "status/": {"status-version": 1, "status-status": "waiting_on_us"},
        "resolve/": {"resolve-version": 1, "resolve-goal_achieved": "yes", "resolve-outcome": "x"},
        "handover/": {"handover-version": 1, "handover-owner": "charlie", "handover-note": "mine now"},
        "tasks/": {"task-title": "Sneaky"},
        "notes/": {"note-body": "Sneaky note"},
        "links/": {"link-kind": "related", "link-other": "1"},
    }

    for path, data in posts.items():
        assert client.post(url + path, data).status_code == 403, path

    alices_case.refresh_from_db()
    assert (alices_case.subject, alices_case.version, alices_case.status) == ("Card charged twice", 1, "open")
    assert not CaseTask.objects.exists()
    assert not Handover.objects.exists()
    assert not Interaction.objects.filter(case_ref=alices_case.public_id).exists()


def test_unknown_case_is_a_404(web, alice):  # type: ignore[no-untyped-def]
    assert web(alice).get("/cases/case_nope/").status_code == 404


def test_stale_edit_says_so_and_keeps_what_was_typed(web, alice, bob, alices_case):  # type: ignore[no-untyped-def]
    case_services.update_case(bob.actor, alices_case, CaseChanges(priority="high"))  # version 1 -> 2
    client = web(alice)
    typed = {
        "edit-version": 1,
        "edit-subject": "Charged twice for one coffee",
        "edit-description": "Typed with care",
        "edit-priority": "normal",
        "edit-goal": "care",
    }

    response = client.post(f"/cases/{alices_case.public_id}/edit/", typed)

    assert response.status_code == 409
    page = text_of(response)
    assert "changed by someone else" in page
    assert 'value="Charged twice for one coffee"' in page
    assert "Typed with care" in page
    assert 'name="edit-version" value="2"' in page
    alices_case.refresh_from_db()
    assert (alices_case.subject, alices_case.priority) == ("Card charged twice", "high")

    again = client.post(f"/cases/{alices_case.public_id}/edit/", {**typed, "edit-version": 2})

    assert again.status_code == 302
    alices_case.refresh_from_db()
    assert (alices_case.subject, alices_case.description, alices_case.version) == (
        "Charged twice for one coffee",
        "Typed with care",
        3,
    )


def test_an_illegal_status_names_the_allowed_ones(web, alice, alices_case):  # type: ignore[no-untyped-def]
    response = web(alice).post(
        f"/cases/{alices_case.public_id}/status/", {"status-version": 1, "status-status": "closed"}
    )

    assert response.status_code == 422
    assert "the case may go to: Waiting on customer, Waiting on us" in text_of(response)
    assert Case.objects.get(pk=alices_case.pk).status == "open"


def test_resolve_records_the_outcome_and_reopen_undoes_it(web, alice, alices_case):  # type: ignore[no-untyped-def]
    client = web(alice)
    url = f"/cases/{alices_case.public_id}/"

    missing = client.post(url + "resolve/", {"resolve-version": 1, "resolve-outcome": "Refunded"})
    assert missing.status_code == 422
    assert (
        client.post(
            url + "resolve/", {"resolve-version": 1, "resolve-goal_achieved": "yes", "resolve-outcome": "Refunded"}
        ).status_code
        == 302
    )
    alices_case.refresh_from_db()
    assert (alices_case.status, alices_case.goal_achieved, alices_case.outcome) == ("resolved", True, "Refunded")

    assert client.post(url + "reopen/", {"status-version": 2, "status-status": "open"}).status_code == 302
    alices_case.refresh_from_db()
    assert (alices_case.status, alices_case.goal_achieved, alices_case.reopen_count) == ("open", None, 1)


# --- plan -----------------------------------------------------------------------------------------------------------
def test_plan_add_complete_skip_and_move(web, alice, alices_case):  # type: ignore[no-untyped-def]
    client = web(alice)
    url = f"/cases/{alices_case.public_id}/tasks/"
    assert (
        client.post(url, {"task-title": "Call the bank", "task-owner": "alice", "task-checklist": "a\nb"}).status_code
        == 302
    )
    assert client.post(url, {"task-title": "Write back"}).status_code == 302
    first, second = CaseTask.objects.order_by("position")
    assert (first.owner, first.checklist) == (alice.user, [{"text": "a", "done": False}, {"text": "b", "done": False}])

    assert client.post(f"{url}{second.pk}/move/", {"direction": "up"}).status_code == 302
    assert list(CaseTask.objects.order_by("position").values_list("title", flat=True)) == [
        "Write back",
        "Call the bank",
    ]

    refused = client.post(f"{url}{first.pk}/status/", {"status": "skipped", "reason": ""})
    assert refused.status_code == 422
    assert client.post(f"{url}{first.pk}/status/", {"status": "skipped", "reason": "Bank called us"}).status_code == 302
    assert client.post(f"{url}{second.pk}/status/", {"status": "done"}).status_code == 302
    assert client.post(f"{url}{first.pk}/checklist/", {"done": ["1"]}).status_code == 302

    statuses = dict(CaseTask.objects.values_list("title", "status"))
    assert statuses == {"Call the bank": TaskStatus.SKIPPED, "Write back": TaskStatus.DONE}
    first.refresh_from_db()
    assert first.skip_reason == "Bank called us"
    assert first.checklist == [{"text": "a", "done": False}, {"text": "b", "done": True}]


def test_a_task_title_is_required(web, alice, alices_case):  # type: ignore[no-untyped-def]
    response = web(alice).post(f"/cases/{alices_case.public_id}/tasks/", {"task-title": ""})

    assert response.status_code == 422
    assert not CaseTask.objects.exists()


# --- hand-over ------------------------------------------------------------------------------------------------------
def test_hand_over_needs_a_note_and_the_receiver_sees_the_summary(web, alice, bob, alices_case):  # type: ignore[no-untyped-def]
    client = web(alice)
    url = f"/cases/{alices_case.public_id}/"

    refused = client.post(url + "handover/", {"handover-version": 1, "handover-owner": "bob", "handover-note": ""})
    assert refused.status_code == 422
    assert "required when the case changes hands" in text_of(refused)
    assert not Handover.objects.exists()

    done = client.post(
        url + "handover/", {"handover-version": 1, "handover-owner": "bob", "handover-note": "Refund pending."}
    )
    assert done.status_code == 302
    handover = Handover.objects.get()
    assert (handover.from_user, handover.to_user, handover.note) == (alice.user, bob.user, "Refund pending.")

    receiver = web(bob)
    page = text_of(receiver.get(url))
    assert "handed this case to you" in page
    assert "Refund pending." in page
    assert "Who the customer is" in page
    assert receiver.post(f"{url}handovers/{handover.pk}/read/").status_code == 302
    assert Handover.objects.get().acknowledged_at is not None
    assert "handed this case to you" not in text_of(receiver.get(url))


def test_only_the_receiver_acknowledges(web, alice, bob, alices_case):  # type: ignore[no-untyped-def]
    case_services.assign_case(alice.actor, alices_case, owner=bob.user, note="Yours")
    handover = Handover.objects.get()

    assert web(alice).post(f"/cases/{alices_case.public_id}/handovers/{handover.pk}/read/").status_code == 403
    assert Handover.objects.get().acknowledged_at is None


# --- notes, replies, links ------------------------------------------------------------------------------------------
def test_note_and_email_reply_land_on_the_case(web, alice, alices_case):  # type: ignore[no-untyped-def]
    client = web(alice)
    url = f"/cases/{alices_case.public_id}/"

    assert client.post(url + "notes/", {"note-body": "Checked the ledger"}).status_code == 302
    reply = client.post(
        url + "reply/", {"reply-channel": "email", "reply-body": "We refund it.", "reply-idempotency_key": "k1"}
    )
    assert reply.status_code == 302

    note = Interaction.objects.get(case_ref=alices_case.public_id, channel="note")
    assert note.body == "Checked the ledger"
    message = OutboundMessage.objects.get()
    assert (message.channel, message.body_text, message.to_address) == ("email", "We refund it.", "ann@example.com")
    assert message.thread_ref  # a new conversation, now linked to the case
    assert alices_case.conversation_links.get().thread.public_id == message.thread_ref
    page = text_of(client.get(url))
    assert "Checked the ledger" in page
    assert "We refund it." in page


def test_an_empty_reply_keeps_the_form(web, alice, alices_case):  # type: ignore[no-untyped-def]
    response = web(alice).post(
        f"/cases/{alices_case.public_id}/reply/",
        {"reply-channel": "email", "reply-body": " ", "reply-idempotency_key": "k"},
    )

    assert response.status_code == 422
    assert not OutboundMessage.objects.exists()


def test_link_cases(web, alice, ann, alices_case):  # type: ignore[no-untyped-def]
    other = open_case(alice, ann, "Earlier complaint")
    client = web(alice)

    missing = client.post(f"/cases/{alices_case.public_id}/links/", {"link-kind": "related", "link-other": "#99999"})
    assert missing.status_code == 422
    ok = client.post(
        f"/cases/{alices_case.public_id}/links/", {"link-kind": "duplicate_of", "link-other": f"#{other.pk}"}
    )

    assert ok.status_code == 302
    assert CaseLink.objects.get().kind == "duplicate_of"
    assert "Duplicate of" in text_of(client.get(f"/cases/{alices_case.public_id}/"))
    assert "Duplicated by" in text_of(client.get(f"/cases/{other.public_id}/"))


def test_navigation_counts_my_active_cases(web, alice, ann, alices_case):  # type: ignore[no-untyped-def]
    open_case(alice, make_customer(alice.actor, "Cy", email="cy@example.com"), "Second", owner=alice.user)

    page = text_of(web(alice).get("/"))

    assert re.search(r"Cases <span class=\"count\">2<span class=\"visually-hidden\"> active cases of yours", page)


def test_promises_due_tab_and_case_promises(web, alice, alices_case):  # type: ignore[no-untyped-def]
    from cxloop.cases.services import promises as promise_services

    promise_services.make_promise(
        alice.actor,
        customer=alices_case.customer,
        description="Call Ann back about the refund",
        due_at=clock.now() + timedelta(hours=2),
        case=alices_case,
    )
    client = web(alice)

    queue = text_of(client.get("/cases/?tab=promises"))
    case_page = text_of(client.get(f"/cases/{alices_case.public_id}/"))

    assert "Call Ann back about the refund" in queue
    assert "due in 1h 59m" in queue or "due in 2h" in queue
    assert "Call Ann back about the refund" in case_page


def test_a_duplicate_case_is_merged_from_its_page(web, alice, ann):  # type: ignore[no-untyped-def]
    kept = open_case(alice, ann, "Card declined", owner=alice.user)
    duplicate = open_case(alice, ann, "Card declined again", owner=alice.user)

    response = web(alice).post(f"/cases/{duplicate.public_id}/merge/", {"merge-into": f"#{kept.pk}"})

    assert response.status_code == 302
    assert response["Location"].startswith(f"/cases/{kept.public_id}/")
    duplicate.refresh_from_db()
    assert (duplicate.status, duplicate.merged_into_id) == ("closed", kept.pk)


def test_merging_into_an_unknown_case_says_so_and_changes_nothing(web, alice, ann):  # type: ignore[no-untyped-def]
    duplicate = open_case(alice, ann, "Card declined again", owner=alice.user)

    response = web(alice).post(f"/cases/{duplicate.public_id}/merge/", {"merge-into": "#99999"})

    assert response.status_code == 422
    assert "No case with that number or id." in response.content.decode()
    duplicate.refresh_from_db()
    assert (duplicate.status, duplicate.merged_into_id) == ("open", None)


def test_links_are_removed_from_the_case_page_and_the_analyst_may_not(web, alice, charlie, ann):  # type: ignore[no-untyped-def]
    case = open_case(alice, ann, "Card declined", owner=alice.user)
    other = open_case(alice, ann, "Refund", owner=alice.user)
    link = case_services.link_cases(alice.actor, case, other, "related")

    refused = web(charlie).post(f"/cases/{other.public_id}/links/{link.pk}/remove/")
    assert refused.status_code == 403
    assert CaseLink.objects.filter(pk=link.pk).exists()

    response = web(alice).post(f"/cases/{other.public_id}/links/{link.pk}/remove/")  # from either end

    assert response.status_code == 302
    assert not CaseLink.objects.filter(pk=link.pk).exists()


def test_a_task_is_renamed_reassigned_and_rescheduled_on_the_case_page(web, alice, bob, ann):  # type: ignore[no-untyped-def]
    case = open_case(alice, ann, "Card declined", owner=alice.user)
    task = plans.add_task(alice.actor, case, plans.TaskInput(title="Call the issuer"))

    response = web(alice).post(
        f"/cases/{case.public_id}/tasks/{task.pk}/edit/",
        {"title": "Call the card issuer", "owner": "bob", "due_at": "2030-01-15T10:30"},
    )

    assert response.status_code == 302
    task.refresh_from_db()
    assert (task.title, task.owner, task.due_at is not None) == ("Call the card issuer", bob.user, True)
    assert timezone.localtime(task.due_at).strftime("%Y-%m-%d %H:%M") == "2030-01-15 10:30"


def test_a_task_edit_with_an_unknown_owner_changes_nothing(web, alice, ann):  # type: ignore[no-untyped-def]
    case = open_case(alice, ann, "Card declined", owner=alice.user)
    task = plans.add_task(alice.actor, case, plans.TaskInput(title="Call the issuer"))

    web(alice).post(f"/cases/{case.public_id}/tasks/{task.pk}/edit/", {"title": "Renamed", "owner": "nobody-here"})

    task.refresh_from_db()
    assert (task.title, task.owner) == ("Call the issuer", None)
