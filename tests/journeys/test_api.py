"""/api/v1/journeys: create from text or a JSON object, errors by path, versions, status moves, analytics,
enrolments with their history, manual enrolment and removal, the dry run, the shipped examples."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from cxloop.journeys.documents import example_text
from cxloop.journeys.models import Enrolment, Journey, JourneyVersion
from cxloop.privacy.models import AuditEntry
from tests.customers.factories import CustomerFactory
from tests.journeys.factories import enrolment, make_journey, simple_source

pytestmark = pytest.mark.django_db

DOCUMENT = {
    "key": "ping",
    "name": "Ping",
    "trigger": {"kind": "manual"},
    "steps": [{"id": "wait", "kind": "wait", "duration": "1 hour", "next": "bye"}, {"id": "bye", "kind": "exit"}],
}


def test_create_from_yaml_text_then_read_it_back(api, bob):
    created = api.post("/journeys", bob, {"source": simple_source()})
    body = api.get("/journeys/welcome", bob).json()

    assert created.status_code == 201, created.content
    assert created.json()["id"] == body["id"]
    assert (body["key"], body["status"], body["version"], body["trigger_kind"]) == ("welcome", "draft", 1, "event")
    assert (body["trigger_event_type"], body["source"], body["syntax"]) == ("account.created", simple_source(), "yaml")
    assert body["document"]["steps"][2] == {"id": "done", "kind": "exit", "reason": "finished"}
    assert [(v["number"], v["created_by"]) for v in body["versions"]] == [(1, "bob")]


def test_create_from_a_json_object(api, bob):
    response = api.post("/journeys", bob, {"document": DOCUMENT})

    assert response.status_code == 201, response.content
    journey = Journey.objects.get(key="ping")
    assert (journey.trigger_kind, journey.current_version.syntax) == ("manual", "json")
    assert journey.current_version.document["steps"][0]["duration"] == "1 hour"


def test_an_invalid_document_answers_422_with_each_path(api, bob):
    broken = {**DOCUMENT, "steps": [{"id": "wait", "kind": "wait", "next": "gone"}, {"id": "bye", "kind": "exit"}]}

    response = api.post("/journeys", bob, {"document": broken})

    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert error["fields"] == {"steps[0]": "a wait has exactly one of: duration, time_of_day, event"}
    assert Journey.objects.count() == 0


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({}, {"source": "required (or document)"}),
        ({"source": "key: x", "document": DOCUMENT}, {"document": "not with source"}),
        ({"source": "{}", "syntax": "xml"}, {"syntax": "must be yaml or json"}),
    ],
)
def test_a_body_without_one_document_is_refused(api, bob, body, fields):
    response = api.post("/journeys", bob, body)

    assert response.status_code == 422
    assert response.json()["error"]["fields"] == fields
    assert Journey.objects.count() == 0


def test_a_taken_key_answers_409(api, bob):
    make_journey("welcome")

    response = api.post("/journeys", bob, {"source": simple_source()})

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "journey_exists"


def test_publish_a_version_and_read_it(api, bob):
    make_journey("welcome")

    published = api.post("/journeys/welcome/versions", bob, {"source": simple_source(event="x.y"), "note": "x.y"})
    first = api.get("/journeys/welcome/versions/1", bob).json()
    missing = api.get("/journeys/welcome/versions/9", bob)

    assert published.status_code == 201, published.content
    assert (published.json()["number"], published.json()["note"]) == (2, "x.y")
    assert first["document"]["trigger"] == {"kind": "event", "event": "account.created"}
    assert missing.status_code == 404
    assert api.get("/journeys/welcome", bob).json()["trigger_event_type"] == "x.y"


def test_status_moves_and_a_refused_one(api, bob):
    make_journey("welcome")

    active = api.post("/journeys/welcome/activate", bob)
    paused = api.post("/journeys/welcome/pause", bob)
    refused = api.post("/journeys/welcome/activate", bob)
    resumed = api.post("/journeys/welcome/resume", bob)

    assert [r.json().get("status") for r in (active, paused, resumed)] == ["active", "paused", "active"]
    assert refused.status_code == 409
    assert refused.json()["error"] == {
        "code": "journey_not_active",
        "message": "The journey is paused; only draft journeys can be activated.",
        "fields": {},
    }


def test_the_list_has_the_figures(api, charlie):
    journey = make_journey("welcome", status="active")
    make_journey("quiet")
    enrolment(journey, step="wait_a_day")
    enrolment(journey, step="done", state="goal")

    body = api.get("/journeys", charlie).json()

    assert [(j["key"], j["entered"], j["active"], j["goal"], j["conversion"]) for j in body["items"]] == [
        ("quiet", 0, 0, 0, None),
        ("welcome", 2, 1, 1, 0.5),
    ]
    assert body["next_cursor"] is None
    assert [j["key"] for j in api.get("/journeys?status=active", charlie).json()["items"]] == ["welcome"]
    assert api.get("/journeys?status=asleep", charlie).status_code == 422


def test_analytics(api, charlie):
    journey = make_journey("welcome", status="active")
    enrolment(journey, step="wait_a_day", passed=("welcome",))
    enrolment(journey, step="done", state="exited", exit_reason="finished", passed=("welcome", "wait_a_day"))

    body = api.get("/journeys/welcome/analytics?days=2", charlie).json()

    assert (body["version"], body["entered"], body["active"], body["goal"], body["exited"]) == (None, 2, 1, 0, 1)
    assert body["exited_by_reason"] == {"finished": 1}
    assert body["steps"] == [
        {"step": "welcome", "now": 0, "passed": 2},
        {"step": "wait_a_day", "now": 1, "passed": 2},
        {"step": "done", "now": 0, "passed": 1},
    ]
    assert [d["entered"] for d in body["per_day"]] == [0, 2]
    assert body["versions"] == [
        {"version": 1, "entered": 2, "active": 1, "goal": 0, "exited": 1, "failed": 0, "conversion": 0.0}
    ]


def test_enrolments_and_one_with_its_history(api, charlie):
    journey = make_journey("welcome", status="active")
    customer = CustomerFactory(name="Ann Lee")
    row = enrolment(journey, step="wait_a_day", passed=("welcome",), customer=customer, detail={"why": "1 day"})
    enrolment(journey, step="done", state="exited")

    page = api.get("/journeys/welcome/enrolments?state=active", charlie).json()
    one = api.get(f"/journeys/welcome/enrolments/{row.public_id}", charlie).json()
    elsewhere = api.get(f"/journeys/{make_journey('other').key}/enrolments/{row.public_id}", charlie)

    assert [(e["id"], e["customer"], e["customer_name"], e["step"]) for e in page["items"]] == [
        (row.public_id, customer.public_id, "Ann Lee", "wait_a_day")
    ]
    assert [(h["seq"], h["step"], h["outcome"], h["detail"]) for h in one["history"]] == [
        (0, "welcome", "done", {"why": "1 day"}),
        (1, "wait_a_day", "waiting", {"why": "1 day"}),
    ]
    assert elsewhere.status_code == 404


def test_examples_list_show_and_install(api, bob):
    names = [e["name"] for e in api.get("/journeys/examples", bob).json()]
    shown = api.get("/journeys/examples/win_back", bob).json()
    installed = api.post("/journeys/examples/win_back/install", bob)
    missing = api.get("/journeys/examples/nothing", bob)

    assert names == ["onboarding", "win_back"]
    assert (shown["key"], shown["title"], shown["source"]) == ("win_back", "Win-back", example_text("win_back"))
    assert installed.status_code == 201
    assert (installed.json()["key"], installed.json()["status"]) == ("win_back", "draft")
    assert missing.status_code == 404


def test_analysts_read_but_do_not_write(api, charlie):
    make_journey("welcome")
    audits = AuditEntry.objects.count()

    created = api.post("/journeys", charlie, {"source": simple_source("other")})
    activated = api.post("/journeys/welcome/activate", charlie)

    assert (created.status_code, activated.status_code) == (403, 403)
    assert Journey.objects.get(key="welcome").status == "draft"
    assert (Journey.objects.count(), JourneyVersion.objects.count(), AuditEntry.objects.count()) == (1, 1, audits)


def test_manual_enrolment_then_removal(api, alice):
    make_journey("welcome", status="active")
    customer = CustomerFactory(name="Bo")

    enrolled = api.post("/journeys/welcome/enrolments", alice, {"customer": customer.public_id})
    enrolment_id = enrolled.json()["id"]
    removed = api.post(f"/journeys/welcome/enrolments/{enrolment_id}/remove", alice, {"reason": "asked to stop"})
    unknown = api.post("/journeys/welcome/enrolments", alice, {"customer": "cus_nobody"})

    assert enrolled.status_code == 201, enrolled.content
    assert enrolled.json()["trigger_ref"].startswith("manual:alice:")
    assert (removed.json()["state"], removed.json()["exit_reason"]) == ("exited", "asked to stop")
    assert (unknown.status_code, unknown.json()["error"]["fields"]) == (422, {"customer": "unknown customer"})
    assert Enrolment.objects.get(public_id=enrolment_id).state == "exited"


def test_manual_enrolment_into_a_draft_answers_409(api, alice):
    make_journey("welcome")

    response = api.post("/journeys/welcome/enrolments", alice, {"customer": CustomerFactory().public_id})

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "journey_not_active"
    assert Enrolment.objects.count() == 0


def test_dry_run_shows_the_path_with_times_and_reasons(api, charlie):
    make_journey("welcome", status="active")
    body = {"customer": CustomerFactory().public_id, "start": "2026-03-02T09:00:00Z"}

    response = api.post("/journeys/welcome/dry-run", charlie, body)

    assert response.status_code == 200, response.content
    result = response.json()
    assert [(s["step"], s["outcome"], s["at"]) for s in result["steps"]] == [
        ("welcome", "entered", "2026-03-02T09:00:00Z"),
        ("welcome", "would_run", "2026-03-02T09:00:00Z"),
        ("wait_a_day", "waiting", "2026-03-02T09:00:00Z"),
        ("wait_a_day", "waited", "2026-03-03T09:00:00Z"),
        ("done", "exit", "2026-03-03T09:00:00Z"),
    ]
    assert result["steps"][1]["why"] == "would send test.welcome by email (service; consent and quiet hours apply then)"
    assert (result["outcome"], result["reason"]) == ("exited", "finished")
    assert Enrolment.objects.count() == 0


def test_dry_run_of_unsaved_text_reports_its_errors(api, charlie):
    make_journey("welcome", status="active")

    response = api.post(
        "/journeys/welcome/dry-run",
        charlie,
        {"customer": CustomerFactory().public_id, "source": simple_source().replace("next: done", "next: gone")},
    )

    assert response.status_code == 422
    assert response.json()["error"]["fields"]["steps[1].next"] == "no step has the id 'gone'"


def test_the_list_costs_the_same_for_more_journeys(api, charlie, django_assert_max_num_queries):
    for key in ("a-one", "b-two"):
        enrolment(make_journey(key, status="active"), step="welcome")
    api.get("/journeys", charlie)
    with CaptureQueriesContext(connection) as two:
        api.get("/journeys", charlie)
    for key in ("c-three", "d-four", "e-five"):
        enrolment(make_journey(key, status="active"), step="welcome")

    with django_assert_max_num_queries(len(two.captured_queries)):
        body = api.get("/journeys", charlie).json()

    assert [j["entered"] for j in body["items"]] == [1, 1, 1, 1, 1]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"start": "9999-12-31T23:00:00Z"}, "start"),
        ({"start": "0001-01-01T00:00:00Z"}, "start"),
        ({"events": [{"type": "product.used", "at": "9999-12-31T23:00:00Z"}]}, "events[0].at"),
    ],
)
def test_dry_run_refuses_a_time_out_of_reach_with_its_field(api, charlie, body, field):
    make_journey("welcome", status="active")

    response = api.post("/journeys/welcome/dry-run", charlie, {"customer": CustomerFactory().public_id, **body})

    assert response.status_code == 422, response.content
    assert list(response.json()["error"]["fields"]) == [field]


def test_dry_run_takes_a_start_in_any_offset_iso_8601_allows(api, charlie):
    make_journey("welcome", status="active")
    body = {"customer": CustomerFactory().public_id, "start": "2026-03-02T09:00:00+23:59"}

    response = api.post("/journeys/welcome/dry-run", charlie, body)

    assert response.status_code == 200, response.content
    assert response.json()["started_at"] == "2026-03-01T09:01:00Z"


def test_duplicate_answers_201_with_the_draft_copy(api, bob):
    make_journey("welcome", status="active")

    copied = api.post("/journeys/welcome/duplicate", bob)

    assert copied.status_code == 201, copied.content
    body = copied.json()
    assert (body["key"], body["name"], body["status"], body["version"]) == (
        "welcome-copy",
        "Copy of Welcome",
        "draft",
        1,
    )
    assert body["document"]["steps"] == api.get("/journeys/welcome", bob).json()["document"]["steps"]
