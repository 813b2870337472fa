"""/api/v1 routes of case management: behaviour only (who may call what is in tests/api/test_access.py)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from cxloop.cases.models import Case, CaseConversation, CaseLink, CaseTask, Handover, Macro, Promise
from cxloop.cases.services import cases as case_services
from cxloop.core import clock
from cxloop.interactions.models import Interaction
from tests.cases.factories import (
    CaseFactory,
    CaseTemplateFactory,
    CaseTemplateTaskFactory,
    CategoryFactory,
    MacroFactory,
)
from tests.customers.factories import CustomerFactory
from tests.interactions.factories import InteractionFactory, ThreadFactory

pytestmark = pytest.mark.django_db


def _put(client, path: str, member, body: object):  # type: ignore[no-untyped-def]
    return client.put(f"/api/v1{path}", data=body, content_type="application/json", **member.headers())


def _error(response, status: int, code: str) -> dict[str, str]:  # type: ignore[no-untyped-def]
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body["error"]) == {"code", "message", "fields"}
    assert body["error"]["code"] == code
    return dict(body["error"]["fields"])


# --- opening and reading ----------------------------------------------------------------------------------------


def test_open_a_case_and_read_it_by_id_and_number(api, alice):
    # given
    customer = CustomerFactory(name="Ann")
    category = CategoryFactory(key="billing")
    template = CaseTemplateFactory(name="Billing", category=category)
    CaseTemplateTaskFactory(template=template, title="Check invoice")

    # when
    response = api.post(
        "/cases",
        alice,
        {"customer": customer.public_id, "subject": "Charged twice", "category": "billing", "owner": "alice"},
    )

    # then
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["customer"], body["customer_name"], body["category"], body["goal"]) == (
        customer.public_id,
        "Ann",
        "billing",
        "care",
    )
    assert (body["status"], body["owner"], body["version"], body["promises"]) == ("open", "alice", 1, 0)
    assert body["allowed_statuses"] == ["waiting_on_customer", "waiting_on_us", "resolved"]
    assert api.get(f"/cases/{body['id']}", alice).json()["subject"] == "Charged twice"
    assert api.get(f"/cases/{body['number']}", alice).json()["id"] == body["id"]
    tasks = api.get(f"/cases/{body['id']}/tasks", alice).json()
    assert [(t["title"], t["from_template"]) for t in tasks] == [("Check invoice", True)]


def test_a_retried_create_opens_one_case(api, alice):
    customer = CustomerFactory()
    body = {"customer": customer.public_id, "subject": "Broken"}
    first = api.post("/cases", alice, body, HTTP_IDEMPOTENCY_KEY="open-1")
    again = api.post("/cases", alice, body, HTTP_IDEMPOTENCY_KEY="open-1")
    assert (first.status_code, again.status_code) == (201, 201)
    assert again["Idempotent-Replayed"] == "true"
    assert again.json()["id"] == first.json()["id"]
    assert Case.objects.count() == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"customer": "cus_nope", "subject": "x"}, "customer"),
        ({"subject": "x"}, "customer"),
        ({"customer": "@", "subject": "   "}, "subject"),
        ({"customer": "@", "subject": "x", "goal": "world-peace"}, "goal"),
        ({"customer": "@", "subject": "x", "category": "nope"}, "category"),
        ({"customer": "@", "subject": "x", "priority": "asap"}, "priority"),
        ({"customer": "@", "subject": "x", "owner": "ghost"}, "owner"),
        ({"customer": "@", "subject": "x", "team": 999999}, "team"),
        ({"customer": "@", "subject": "x", "conversation": "thr_nope"}, "conversation"),
        ({"customer": "@", "subject": "x", "template": 999999}, "template"),
        ({"customer": "@", "subject": "x", "custom_fields": {"ghost": 1}}, "custom_fields.ghost"),
    ],
)
def test_a_bad_case_is_refused_with_its_field(api, alice, body, field):
    customer = CustomerFactory()
    if body.get("customer") == "@":
        body = {**body, "customer": customer.public_id}
    fields = _error(api.post("/cases", alice, body), 422, "validation_error")
    assert field in fields
    assert Case.objects.count() == 0


def test_the_queues_filter_cases(api, alice, bob):
    # given
    mine = CaseFactory(owner=alice.user, team=alice.user.team, priority="high")
    teams = CaseFactory(owner=bob.user, team=bob.user.team)
    unassigned = CaseFactory(status="new")
    resolved = CaseFactory(status="resolved", owner=alice.user)
    breaching = CaseFactory(sla_next_due_at=clock.now() + timedelta(minutes=10), sla_state="warning")

    def ids(query: str) -> list[str]:
        response = api.get(f"/cases?{query}", alice)
        assert response.status_code == 200, response.content
        return [c["id"] for c in response.json()["items"]]

    # then
    assert ids("queue=mine") == [mine.public_id]
    assert ids("queue=team") == [teams.public_id, mine.public_id]
    assert ids("queue=unassigned") == [breaching.public_id, unassigned.public_id]
    assert ids("queue=breaching") == [breaching.public_id]
    assert ids("queue=mine&status=resolved") == [resolved.public_id]
    assert ids("priority=high") == [mine.public_id]
    assert ids(f"q=%23{mine.pk}") == [mine.public_id]
    assert ids(f"customer={mine.customer.public_id}&status=open,resolved") == [mine.public_id]
    assert _error(api.get("/cases?queue=everything", alice), 422, "validation_error") == {
        "queue": "must be one of mine, team, unassigned, breaching, all"
    }
    assert "status" in _error(api.get("/cases?status=lost", alice), 422, "validation_error")


def test_the_list_pages_by_cursor_and_counts_promises(api, alice):
    # given
    cases = [CaseFactory() for _ in range(3)]
    Promise.objects.create(
        customer=cases[2].customer, case=cases[2], description="Call", due_at=clock.now(), made_at=clock.now()
    )

    # when
    first = api.get("/cases?limit=2", alice).json()
    second = api.get(f"/cases?limit=2&cursor={first['next_cursor']}", alice).json()

    # then
    assert [c["id"] for c in first["items"]] == [cases[2].public_id, cases[1].public_id]
    assert [c["id"] for c in second["items"]] == [cases[0].public_id]
    assert second["next_cursor"] is None
    assert (first["items"][0]["promises"], first["items"][0]["open_promises"]) == (1, 1)
    assert _error(api.get("/cases?cursor=%%%", alice), 422, "validation_error") == {"cursor": "malformed cursor"}


def test_the_list_reads_a_fixed_number_of_queries(api, alice, django_assert_max_num_queries):
    for _ in range(10):
        CaseFactory(owner=alice.user)
    with django_assert_max_num_queries(8):
        response = api.get("/cases?limit=50", alice)
    assert len(response.json()["items"]) == 10


def test_an_unknown_case_is_404(api, alice):
    _error(api.get("/cases/case_nope", alice), 404, "not_found")
    _error(api.get("/cases/999999", alice), 404, "not_found")


# --- changing ---------------------------------------------------------------------------------------------------


def test_patch_with_the_version_read(api, alice):
    # given
    case = CaseFactory(subject="Old", category=CategoryFactory(key="old"))

    # when
    response = api.patch(f"/cases/{case.public_id}", alice, {"version": 1, "subject": "New", "category": None})

    # then
    assert response.status_code == 200, response.content
    assert (response.json()["subject"], response.json()["category"], response.json()["version"]) == ("New", None, 2)


def test_a_stale_patch_is_a_conflict(api, alice):
    # given
    case = CaseFactory(subject="Old")
    api.patch(f"/cases/{case.public_id}", alice, {"version": 1, "priority": "high"})

    # when
    fields = _error(
        api.patch(f"/cases/{case.public_id}", alice, {"version": 1, "subject": "Mine"}), 409, "stale_version"
    )

    # then
    assert fields == {"version": "current version is 2"}
    case.refresh_from_db()
    assert (case.subject, case.priority) == ("Old", "high")


def test_if_match_carries_the_version(api, alice):
    case = CaseFactory()
    _error(api.patch(f"/cases/{case.public_id}", alice, {"subject": "A"}, HTTP_IF_MATCH='"7"'), 409, "stale_version")
    assert api.patch(f"/cases/{case.public_id}", alice, {"subject": "A"}, HTTP_IF_MATCH='W/"1"').status_code == 200
    assert _error(
        api.patch(f"/cases/{case.public_id}", alice, {"subject": "B"}, HTTP_IF_MATCH="soon"), 422, "validation_error"
    ) == {"If-Match": 'e.g. "3"'}
    assert _error(
        api.patch(f"/cases/{case.public_id}", alice, {"subject": "B", "version": 2}, HTTP_IF_MATCH='"3"'),
        422,
        "validation_error",
    ) == {"version": "differs"}


def test_an_illegal_status_change_lists_the_allowed_ones(api, alice):
    # given
    case = CaseFactory(status="open")

    # when
    fields = _error(api.post(f"/cases/{case.public_id}/status", alice, {"status": "closed"}), 409, "illegal_transition")

    # then
    assert fields == {"status": "allowed: waiting_on_customer, waiting_on_us, resolved"}
    case.refresh_from_db()
    assert case.status == "open"


def test_resolving_through_the_api(api, alice):
    case = CaseFactory(status="open")
    response = api.post(
        f"/cases/{case.public_id}/status",
        alice,
        {"status": "resolved", "version": 1, "goal_achieved": True, "outcome": "Refunded"},
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["status"], body["goal_achieved"], body["outcome"], body["allowed_statuses"]) == (
        "resolved",
        True,
        "Refunded",
        ["open", "closed"],
    )


def test_assigning_and_handing_over(api, alice, bob):
    # given
    case = CaseFactory(status="new")

    # when: alice takes it, then hands it over without and with a note
    taken = api.post(f"/cases/{case.public_id}/assign", alice, {"owner": "alice"})
    missing = api.post(f"/cases/{case.public_id}/assign", alice, {"owner": "bob"})
    handed = api.post(f"/cases/{case.public_id}/assign", alice, {"owner": "bob", "note": "Needs a refund"})

    # then
    assert (taken.json()["owner"], taken.json()["status"]) == ("alice", "open")
    assert _error(missing, 422, "handover_note_required") == {"note": "required when the case changes hands"}
    assert (handed.json()["owner"], handed.json()["handover_count"]) == ("bob", 1)
    listed = api.get(f"/cases/{case.public_id}/handovers", bob).json()
    assert [(h["from_user"], h["to_user"], h["note"]) for h in listed] == [("alice", "bob", "Needs a refund")]
    assert listed[0]["summary"]["note"] == "Needs a refund"
    assert _error(api.post(f"/cases/{case.public_id}/assign", alice, {"owner": "ghost"}), 422, "validation_error") == {
        "owner": "unknown username"
    }


def test_acknowledging_a_handover(api, alice, bob):
    case = CaseFactory(owner=alice.user, team=alice.user.team)
    case_services.assign_case(alice.actor, case, owner=bob.user, note="Yours")
    handover = Handover.objects.get()
    _error(api.post(f"/handovers/{handover.pk}/acknowledge", alice), 403, "permission_denied")
    response = api.post(f"/handovers/{handover.pk}/acknowledge", bob)
    assert response.status_code == 200, response.content
    assert response.json()["acknowledged_at"] is not None
    _error(api.post("/handovers/999999/acknowledge", bob), 404, "not_found")


def test_the_handover_preview_is_what_a_receiver_would_read(api, alice):
    case = CaseFactory(owner=alice.user, subject="Parcel lost")
    preview = api.get(f"/cases/{case.public_id}/handover-preview", alice).json()
    assert (preview["from"], preview["case"]["subject"], preview["note"]) == ("alice", "Parcel lost", "")
    assert Handover.objects.count() == 0


# --- plan -------------------------------------------------------------------------------------------------------


def test_the_plan_through_the_api(api, client, alice, bob):
    # given
    case = CaseFactory()
    path = f"/cases/{case.public_id}/tasks"

    # when
    a = api.post(path, alice, {"title": "Call", "owner": "bob", "checklist": ["Ask for photos"]}).json()
    b = api.post(path, alice, {"title": "Refund"}).json()
    patched = api.patch(f"{path}/{a['id']}", alice, {"owner": None, "due_at": "2030-01-01T09:00:00Z"})
    skipped = api.post(f"{path}/{b['id']}/status", alice, {"status": "skipped", "reason": "Not needed"})
    ordered = _put(client, f"{path}/order", alice, {"task_ids": [b["id"], a["id"]]})

    # then
    assert (a["owner"], a["checklist"], a["position"]) == ("bob", [{"text": "Ask for photos", "done": False}], 0)
    assert (patched.json()["owner"], patched.json()["due_at"]) == (None, "2030-01-01T09:00:00Z")
    assert (skipped.json()["status"], skipped.json()["skip_reason"]) == ("skipped", "Not needed")
    assert [t["id"] for t in ordered.json()] == [b["id"], a["id"]]
    assert api.delete(f"{path}/{a['id']}", alice).status_code == 204
    assert list(CaseTask.objects.values_list("title", flat=True)) == ["Refund"]


def test_plan_errors_name_their_field(api, client, alice):
    case = CaseFactory()
    other = CaseFactory()
    path = f"/cases/{case.public_id}/tasks"
    task = api.post(path, alice, {"title": "One"}).json()
    assert _error(api.post(path, alice, {"title": " "}), 422, "validation_error") == {"title": "must not be empty"}
    assert _error(api.post(f"{path}/{task['id']}/status", alice, {"status": "skipped"}), 422, "validation_error") == {
        "reason": "required when skipping"
    }
    assert _error(_put(client, f"{path}/order", alice, {"task_ids": []}), 422, "validation_error") == {
        "task_ids": "must list each task once"
    }
    _error(api.patch(f"/cases/{other.public_id}/tasks/{task['id']}", alice, {"title": "x"}), 404, "not_found")


# --- conversations, links, timeline, notes ----------------------------------------------------------------------


def test_conversations_link_and_unlink(api, alice):
    # given
    case = CaseFactory()
    thread = ThreadFactory(customer=case.customer)
    message = InteractionFactory(customer=case.customer, thread=thread)
    path = f"/cases/{case.public_id}/conversations"

    # when
    linked = api.post(path, alice, {"conversation": thread.public_id})

    # then
    assert linked.status_code == 201, linked.content
    assert [c["id"] for c in linked.json()] == [thread.public_id]
    message.refresh_from_db()
    assert message.case_ref == case.public_id
    assert [c["id"] for c in api.get(path, alice).json()] == [thread.public_id]
    assert api.delete(f"{path}/{thread.public_id}", alice).status_code == 204
    assert CaseConversation.objects.count() == 0
    assert _error(api.post(path, alice, {"conversation": ThreadFactory().public_id}), 422, "validation_error") == {
        "conversation": "other customer"
    }


def test_links_between_cases(api, alice):
    case, other = CaseFactory(), CaseFactory()
    response = api.post(f"/cases/{case.public_id}/links", alice, {"case": f"#{other.pk}", "kind": "child_of"})
    assert response.status_code == 201, response.content
    assert [(link["kind"], link["case"]) for link in response.json()] == [("child_of", other.public_id)]
    seen_from_parent = api.get(f"/cases/{other.public_id}/links", alice).json()
    assert [(link["kind"], link["case"]) for link in seen_from_parent] == [("parent_of", case.public_id)]
    link_id = response.json()[0]["id"]
    assert _error(
        api.post(f"/cases/{case.public_id}/links", alice, {"case": other.public_id, "kind": "cousin"}),
        422,
        "validation_error",
    ) == {"kind": "must be one of duplicate_of, related, child_of"}
    assert api.delete(f"/cases/{other.public_id}/links/{link_id}", alice).status_code == 204
    assert CaseLink.objects.count() == 0


def test_the_timeline_is_the_cases_messages_newest_first(api, alice):
    # given
    case = CaseFactory()
    older = InteractionFactory(customer=case.customer, case_ref=case.public_id, occurred_at=clock.now() - timedelta(1))
    InteractionFactory(customer=case.customer)  # another matter of the same customer
    note = api.post(f"/cases/{case.public_id}/notes", alice, {"body": "Spoke to the courier"})

    # when
    first = api.get(f"/cases/{case.public_id}/timeline?limit=1", alice).json()
    second = api.get(f"/cases/{case.public_id}/timeline?limit=1&cursor={first['next_cursor']}", alice).json()

    # then
    assert note.status_code == 201, note.content
    assert [i["id"] for i in first["items"]] == [note.json()["id"]]
    assert (first["items"][0]["case"], first["items"][0]["channel"]) == (case.public_id, "note")
    assert [i["id"] for i in second["items"]] == [older.public_id]
    assert second["next_cursor"] is None


# --- merge, macros, bulk ----------------------------------------------------------------------------------------


def test_merge_through_the_api(api, alice):
    customer = CustomerFactory()
    duplicate, into = CaseFactory(customer=customer), CaseFactory(customer=customer)
    response = api.post(f"/cases/{duplicate.public_id}/merge", alice, {"into": into.public_id})
    assert response.status_code == 200, response.content
    assert response.json()["id"] == into.public_id
    merged = api.get(f"/cases/{duplicate.public_id}", alice).json()
    assert (merged["status"], merged["merged_into"]) == ("closed", into.public_id)
    assert _error(
        api.post(f"/cases/{into.public_id}/merge", alice, {"into": CaseFactory().public_id}), 422, "validation_error"
    ) == {"into": "belongs to another customer"}
    assert _error(
        api.post(f"/cases/{into.public_id}/merge", alice, {"into": "case_nope"}), 422, "validation_error"
    ) == {"into": "unknown case"}


def test_apply_a_macro_and_run_bulk_actions(api, alice):
    # given
    macro = MacroFactory(actions=[{"type": "set_priority", "value": "urgent"}])
    a, b = CaseFactory(), CaseFactory(status="closed")

    # when
    applied = api.post(f"/macros/{macro.pk}/apply", alice, {"case_ids": [a.public_id, b.public_id, "case_x"]})
    bulk = api.post(
        "/cases/bulk", alice, {"case_ids": [a.public_id], "actions": [{"type": "set_priority", "value": "low"}]}
    )

    # then
    assert applied.status_code == 200, applied.content
    assert (applied.json()["changed"], applied.json()["failed"]) == (1, 2)
    assert [(r["case"], r["ok"], r["code"]) for r in applied.json()["results"]] == [
        (a.public_id, True, ""),
        (b.public_id, False, "case_closed"),
        ("case_x", False, "not_found"),
    ]
    assert bulk.json()["changed"] == 1
    a.refresh_from_db()
    assert a.priority == "low"
    assert _error(
        api.post("/cases/bulk", alice, {"case_ids": [a.public_id], "actions": [{"type": "nope"}]}),
        422,
        "validation_error",
    ) == {
        "actions[0].type": "must be one of set_status, set_priority, set_category, set_goal, assign, add_task, add_note"
    }


# --- configuration ----------------------------------------------------------------------------------------------


def test_configuration_round_trip(api, client, bob, alice):
    # goals
    assert api.post("/case-goals", bob, {"key": "win-back", "name": "Win back"}).status_code == 201
    assert api.patch("/case-goals/win-back", bob, {"is_active": False}).json()["is_active"] is False
    assert "win-back" not in [g["key"] for g in api.get("/case-goals", alice).json()]
    assert "win-back" in [g["key"] for g in api.get("/case-goals?include_retired=true", alice).json()]
    assert api.delete("/case-goals/win-back", bob).status_code == 204
    # categories
    assert api.post("/case-categories", bob, {"key": "billing", "name": "Billing", "goal": "care"}).status_code == 201
    assert api.patch("/case-categories/billing", bob, {"goal": None}).json()["goal"] is None
    assert _error(
        api.post("/case-categories", bob, {"key": "x", "name": "X", "goal": "nope"}), 422, "validation_error"
    ) == {"goal": "unknown goal"}
    # fields
    field = api.post("/case-fields", bob, {"key": "root", "label": "Root", "type": "choice", "choices": ["a"]})
    assert field.status_code == 201, field.content
    assert api.patch("/case-fields/root", bob, {"required_to_resolve": True}).json()["required_to_resolve"] is True
    assert api.delete("/case-fields/root", bob).status_code == 204
    # templates
    template = api.post(
        "/case-templates",
        bob,
        {"name": "Billing", "category": "billing", "tasks": [{"title": "Check", "checklist": ["a"]}]},
    ).json()
    assert [t["title"] for t in template["tasks"]] == ["Check"]
    replaced = _put(client, f"/case-templates/{template['id']}/tasks", bob, {"tasks": [{"title": "A"}, {"title": "B"}]})
    assert [t["title"] for t in replaced.json()["tasks"]] == ["A", "B"]
    assert api.patch(f"/case-templates/{template['id']}", bob, {"is_active": False}).json()["is_active"] is False
    assert api.get("/case-templates", alice).json() == []
    # channel settings
    setting = _put(client, "/case-channel-settings/email", bob, {"opens_cases": True, "priority": "high"})
    assert setting.json() == {
        "channel": "email",
        "opens_cases": True,
        "goal": None,
        "category": None,
        "priority": "high",
    }
    pigeon = _put(client, "/case-channel-settings/pigeon", bob, {"opens_cases": True})
    assert list(_error(pigeon, 422, "validation_error")) == ["channel"]
    # macros
    macro = api.post("/macros", bob, {"name": "Close", "actions": [{"type": "set_status", "value": "closed"}]}).json()
    assert api.get(f"/macros/{macro['id']}", alice).json()["actions"] == [{"type": "set_status", "value": "closed"}]
    assert api.patch(f"/macros/{macro['id']}", bob, {"name": "Close it"}).json()["name"] == "Close it"
    assert api.delete(f"/macros/{macro['id']}", bob).status_code == 204
    assert Macro.objects.count() == 0


def test_a_goal_in_use_is_not_deleted_through_the_api(api, bob):
    CaseFactory()
    assert _error(api.delete("/case-goals/care", bob), 409, "goal_in_use") == {"goal": "used by cases"}


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("post", "/cases", {"customer": "@", "subject": "x"}),
        ("patch", "/cases/#", {"subject": "x"}),
        ("post", "/cases/#/status", {"status": "resolved"}),
        ("post", "/cases/#/assign", {"owner": "charlie"}),
        ("post", "/cases/#/tasks", {"title": "x"}),
        ("post", "/cases/#/notes", {"body": "x"}),
        ("post", "/cases/bulk", {"case_ids": ["#"], "actions": [{"type": "set_priority", "value": "low"}]}),
        ("post", "/case-goals", {"key": "mine", "name": "Mine"}),
        ("post", "/macros", {"name": "M", "actions": [{"type": "set_priority", "value": "low"}]}),
    ],
)
def test_the_outsider_changes_nothing(api, charlie, method, path, body):
    # given
    case = CaseFactory(status="new")
    path = path.replace("#", case.public_id)
    body = {
        k: ([case.public_id] if v == ["#"] else case.customer.public_id if v == "@" else v) for k, v in body.items()
    }
    interactions = Interaction.objects.count()

    # when
    response = getattr(api, method)(path, charlie, body)

    # then
    _error(response, 403, "permission_denied")
    case.refresh_from_db()
    assert (case.status, case.version, case.owner, case.priority) == ("new", 1, None, "normal")
    assert (Case.objects.count(), CaseTask.objects.count(), Interaction.objects.count()) == (1, 0, interactions)


@pytest.mark.parametrize("case_id", ["²", "#²", "9" * 30])
def test_a_case_id_that_is_no_number_nor_public_id_is_a_404(api, alice, case_id):
    from urllib.parse import quote

    response = api.get(f"/cases/{quote(case_id)}/timeline", alice)

    assert response.status_code == 404, response.content
