"""/api/v1/sla/…: policies, calendars with holidays, team calendars, and a case's clocks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from cxloop.cases.models import BusinessCalendar, Holiday, SlaPolicy, TeamCalendar
from cxloop.cases.services import sla
from cxloop.privacy.models import AuditEntry
from tests.cases.factories import (
    BusinessCalendarFactory,
    CaseFactory,
    CategoryFactory,
    HolidayFactory,
    SlaPolicyFactory,
)

OFFICE = {"mon": [["09:00", "17:00"]], "fri": [["22:00", "06:00"]]}


# --- policies ----------------------------------------------------------------------------------------------------


def test_create_and_read_a_policy(api, bob, charlie):
    CategoryFactory(key="billing")

    response = api.post(
        "/sla/policies",
        bob,
        {
            "name": "Gold billing",
            "priorities": ["high", "urgent"],
            "categories": ["billing"],
            "customer_tiers": ["Gold", " gold "],
            "first_response_minutes": 30,
            "resolution_minutes": 480,
        },
    )

    assert response.status_code == 201, response.content
    body = response.json()
    assert body == {
        "id": body["id"],
        "name": "Gold billing",
        "position": 0,
        "is_active": True,
        "priorities": ["high", "urgent"],
        "categories": ["billing"],
        "customer_tiers": ["gold"],
        "first_response_minutes": 30,
        "next_response_minutes": None,
        "resolution_minutes": 480,
        "warn_before_minutes": 30,
    }
    assert api.get(f"/sla/policies/{body['id']}", charlie).json() == body  # reading needs only cases.view
    assert [p["name"] for p in api.get("/sla/policies", charlie).json()] == ["Gold billing"]
    assert AuditEntry.objects.filter(action="sla.policy_created", object_id=str(body["id"])).count() == 1


@pytest.mark.parametrize(
    ("payload", "field", "reason"),
    [
        ({"name": "X", "priorities": ["asap"], "first_response_minutes": 5}, "priorities", "unknown 'asap'"),
        ({"name": "X", "categories": ["nope"], "first_response_minutes": 5}, "categories", "no category 'nope'"),
        ({"name": "X"}, "first_response_minutes", "set at least one target"),
        ({"name": "  ", "first_response_minutes": 5}, "name", "must not be empty"),
    ],
)
def test_bad_policies_are_refused_with_the_field(api, bob, payload, field, reason):
    response = api.post("/sla/policies", bob, payload)

    assert response.status_code == 422
    assert reason in response.json()["error"]["fields"][field]
    assert not SlaPolicy.objects.exists()


def test_payload_validation_is_422_not_500(api, bob):
    response = api.post("/sla/policies", bob, {"name": "X", "first_response_minutes": 0})

    assert response.status_code == 422
    assert not SlaPolicy.objects.exists()


def test_duplicate_policy_name_is_a_conflict(api, bob):
    SlaPolicyFactory(name="Standard")

    response = api.post("/sla/policies", bob, {"name": "standard", "resolution_minutes": 60})

    assert response.status_code == 409
    assert response.json()["error"]["fields"] == {"name": "already taken"}


def test_patch_changes_only_what_is_sent_and_null_removes_a_target(api, bob):
    policy = SlaPolicyFactory(name="Standard", priorities=["low"])

    response = api.patch(f"/sla/policies/{policy.pk}", bob, {"first_response_minutes": None, "position": 3})

    assert response.status_code == 200, response.content
    policy.refresh_from_db()
    assert (policy.first_response_minutes, policy.resolution_minutes, policy.position, policy.priorities) == (
        None,
        480,
        3,
        ["low"],
    )


def test_delete_policy(api, bob, charlie):
    policy = SlaPolicyFactory()

    refused = api.delete(f"/sla/policies/{policy.pk}", charlie)
    deleted = api.delete(f"/sla/policies/{policy.pk}", bob)

    assert (refused.status_code, deleted.status_code) == (403, 204)
    assert not SlaPolicy.objects.exists()
    assert api.get(f"/sla/policies/{policy.pk}", bob).status_code == 404


def test_the_outsider_cannot_change_policies(api, charlie):
    policy = SlaPolicyFactory(name="Standard")

    created = api.post("/sla/policies", charlie, {"name": "Mine", "first_response_minutes": 5})
    changed = api.patch(f"/sla/policies/{policy.pk}", charlie, {"name": "Theirs"})

    assert (created.status_code, changed.status_code) == (403, 403)
    assert list(SlaPolicy.objects.values_list("name", flat=True)) == ["Standard"]
    assert not AuditEntry.objects.filter(action__startswith="sla.").exists()


# --- calendars ---------------------------------------------------------------------------------------------------


def test_create_a_calendar_with_holidays_and_a_team(api, bob, team_a):
    created = api.post(
        "/sla/calendars", bob, {"name": "London office", "time_zone": "Europe/London", "hours": OFFICE}
    ).json()

    holiday = api.post(f"/sla/calendars/{created['id']}/holidays", bob, {"date": "2030-12-25", "name": "Christmas"})
    team = api._call("put", f"/sla/teams/{team_a.pk}/calendar", bob, {"calendar": created["id"]})

    assert holiday.status_code == 201
    assert team.json() == {
        "team_id": team_a.pk,
        "team": "Team A",
        "calendar": created["id"],
        "calendar_name": "London office",
    }
    shown = api.get(f"/sla/calendars/{created['id']}", bob).json()
    assert shown["hours"] == {
        "mon": [["09:00", "17:00"]],
        "tue": [],
        "wed": [],
        "thu": [],
        "fri": [["22:00", "06:00"]],
        "sat": [],
        "sun": [],
    }
    assert shown["holidays"] == [{"id": holiday.json()["id"], "date": "2030-12-25", "name": "Christmas"}]
    assert shown["teams"] == ["Team A"]
    assert {"team_id": team_a.pk, "team": "Team A", "calendar": created["id"], "calendar_name": "London office"} in (
        api.get("/sla/teams", bob).json()
    )


def test_team_back_to_the_default(api, bob, team_a):
    calendar = BusinessCalendarFactory()
    TeamCalendar.objects.create(team=team_a, calendar=calendar)

    response = api._call("put", f"/sla/teams/{team_a.pk}/calendar", bob, {"calendar": None})

    assert response.json()["calendar"] is None
    assert not TeamCalendar.objects.exists()


@pytest.mark.parametrize(
    ("payload", "field", "reason"),
    [
        ({"time_zone": "Mars/Olympus"}, "time_zone", "is not a known time zone (e.g. Europe/London)"),
        ({"hours": {"mon": [["9", "17"]]}}, "hours.mon", "times are HH:MM"),
        ({"hours": {}}, "hours", "no open time in the week"),
    ],
)
def test_bad_calendars_are_refused_with_the_field(api, bob, payload, field, reason):
    response = api.post("/sla/calendars", bob, {"name": "Bad", "hours": OFFICE, **payload})

    assert response.status_code == 422
    assert response.json()["error"]["fields"] == {field: reason}
    assert not BusinessCalendar.objects.exists()


def test_only_one_default_calendar(api, bob):
    first = BusinessCalendarFactory(name="First", is_default=True)
    second = BusinessCalendarFactory(name="Second")

    response = api.patch(f"/sla/calendars/{second.pk}", bob, {"is_default": True})

    assert response.json()["is_default"] is True
    first.refresh_from_db()
    assert first.is_default is False


def test_same_holiday_twice_is_a_conflict(api, bob):
    holiday = HolidayFactory(date="2030-12-25")

    response = api.post(f"/sla/calendars/{holiday.calendar_id}/holidays", bob, {"date": "2030-12-25", "name": "Again"})

    assert response.status_code == 409
    assert response.json()["error"]["fields"] == {"date": "already a holiday"}


def test_remove_a_holiday_only_through_its_calendar(api, bob):
    holiday = HolidayFactory(date="2030-12-25")
    other = BusinessCalendarFactory()

    wrong = api.delete(f"/sla/calendars/{other.pk}/holidays/{holiday.pk}", bob)
    right = api.delete(f"/sla/calendars/{holiday.calendar_id}/holidays/{holiday.pk}", bob)

    assert (wrong.status_code, right.status_code) == (404, 204)
    assert not Holiday.objects.exists()


def test_the_outsider_cannot_change_calendars(api, charlie, team_b):
    calendar = BusinessCalendarFactory(name="Office")

    responses = [
        api.post("/sla/calendars", charlie, {"name": "Mine", "is_always_open": True}),
        api.patch(f"/sla/calendars/{calendar.pk}", charlie, {"name": "Theirs"}),
        api.post(f"/sla/calendars/{calendar.pk}/holidays", charlie, {"date": "2030-01-01", "name": "NY"}),
        api._call("put", f"/sla/teams/{team_b.pk}/calendar", charlie, {"calendar": calendar.pk}),
        api.delete(f"/sla/calendars/{calendar.pk}", charlie),
    ]

    assert [r.status_code for r in responses] == [403] * 5
    assert list(BusinessCalendar.objects.values_list("name", flat=True)) == ["Office"]
    assert not Holiday.objects.exists()
    assert not TeamCalendar.objects.exists()


# --- a case's clocks ---------------------------------------------------------------------------------------------


def test_case_clocks(api, alice, monkeypatch):
    at = datetime(2024, 6, 10, 9, 0, tzinfo=UTC)
    SlaPolicyFactory()
    case = CaseFactory(opened_at=at)
    sla.start_clocks(case, at)
    monkeypatch.setattr("cxloop.core.clock.now", lambda: at + timedelta(minutes=75))

    body = api.get(f"/cases/{case.public_id}/sla", alice).json()

    assert [(c["metric"], c["state"], c["remaining_seconds"], c["is_breached"]) for c in body] == [
        ("first_response", "running", -15 * 60, False),
        ("resolution", "running", 405 * 60, False),
    ]
    assert body[0]["due_at"] == "2024-06-10T10:00:00Z"


def test_case_clocks_of_an_unknown_case_is_404(api, alice):
    assert api.get("/cases/case_nope/sla", alice).status_code == 404
