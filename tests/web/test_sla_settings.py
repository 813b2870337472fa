"""SLA settings pages: policies, business calendars with holidays, and team calendars."""

from __future__ import annotations

import pytest

from cxloop.cases.models import BusinessCalendar, Holiday, SlaPolicy, TeamCalendar
from cxloop.privacy.models import AuditEntry
from tests.cases.factories import BusinessCalendarFactory, CategoryFactory, HolidayFactory, SlaPolicyFactory

WEEK = {"mon": "09:00-17:00", "tue": "09:00-12:00, 13:00-17:00", "fri": "22:00-06:00"}


def test_supervisor_adds_a_policy(web, bob):
    CategoryFactory(key="billing", name="Billing")
    client = web(bob)

    response = client.post(
        "/settings/sla/",
        {
            "name": "Gold",
            "position": "1",
            "is_active": "on",
            "priorities": ["high"],
            "categories": ["billing"],
            "customer_tiers": "gold, Platinum",
            "first_response_minutes": "30",
            "resolution_minutes": "240",
            "warn_before_minutes": "15",
        },
    )

    assert response.status_code == 302
    policy = SlaPolicy.objects.get()
    assert (policy.name, policy.priorities, policy.customer_tiers, policy.first_response_minutes) == (
        "Gold",
        ["high"],
        ["gold", "platinum"],
        30,
    )
    assert [c.key for c in policy.categories.all()] == ["billing"]
    page = client.get("/settings/sla/").content.decode()
    assert "Gold" in page
    assert "tier: gold, platinum" in page


def test_a_policy_without_targets_comes_back_with_the_reason(web, bob):
    response = web(bob).post("/settings/sla/", {"name": "Empty", "position": "0", "warn_before_minutes": "30"})

    assert response.status_code == 422
    assert "set at least one target" in response.content.decode()
    assert not SlaPolicy.objects.exists()


def test_edit_and_delete_a_policy(web, bob):
    policy = SlaPolicyFactory(name="Standard")
    client = web(bob)

    form = client.get(f"/settings/sla/policies/{policy.pk}/").content.decode()
    saved = client.post(
        f"/settings/sla/policies/{policy.pk}/",
        {"name": "Standard", "position": "0", "resolution_minutes": "600", "warn_before_minutes": "60"},
    )
    policy.refresh_from_db()
    deleted = client.post(f"/settings/sla/policies/{policy.pk}/delete/")

    assert 'value="Standard"' in form
    assert saved.status_code == 302
    assert (policy.first_response_minutes, policy.resolution_minutes, policy.is_active) == (None, 600, False)
    assert deleted.status_code == 302
    assert not SlaPolicy.objects.exists()


def test_add_a_calendar_with_hours(web, bob):
    response = web(bob).post("/settings/sla/calendars/", {"name": "London", "time_zone": "Europe/London", **WEEK})

    calendar = BusinessCalendar.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/settings/sla/calendars/{calendar.pk}/"
    assert calendar.hours["tue"] == [["09:00", "12:00"], ["13:00", "17:00"]]
    assert calendar.hours["fri"] == [["22:00", "06:00"]]
    assert calendar.hours["sat"] == []


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"mon": "9-17"}, "times are HH:MM"),
        ({"mon": "09:00 to 17:00"}, "write each interval as HH:MM-HH:MM"),
        ({"time_zone": "Mars/Olympus"}, "is not a known time zone"),
        ({"mon": ""}, "no open time in the week"),
    ],
)
def test_bad_calendars_come_back_with_the_reason(web, bob, fields, message):
    response = web(bob).post("/settings/sla/calendars/", {"name": "Bad", "time_zone": "UTC", **fields})

    assert response.status_code == 422
    assert message in response.content.decode()
    assert not BusinessCalendar.objects.exists()


def test_holidays_and_team_calendar(web, bob, team_a):
    calendar = BusinessCalendarFactory(name="Office", hours={"mon": [["09:00", "17:00"]]})
    client = web(bob)

    added = client.post(f"/settings/sla/calendars/{calendar.pk}/holidays/", {"date": "2030-12-25", "name": "Xmas"})
    again = client.post(f"/settings/sla/calendars/{calendar.pk}/holidays/", {"date": "2030-12-25", "name": "Xmas"})
    assigned = client.post(f"/settings/sla/teams/{team_a.pk}/", {"calendar": str(calendar.pk)})
    page = client.get("/settings/sla/calendars/").content.decode()

    assert (added.status_code, again.status_code, assigned.status_code) == (302, 422, 302)
    assert "already a holiday" in again.content.decode()
    assert TeamCalendar.objects.get().calendar == calendar
    assert f'<option value="{calendar.pk}" selected>Office</option>' in page

    holiday = Holiday.objects.get()
    removed = client.post(f"/settings/sla/calendars/{calendar.pk}/holidays/{holiday.pk}/remove/")
    cleared = client.post(f"/settings/sla/teams/{team_a.pk}/", {"calendar": ""})

    assert (removed.status_code, cleared.status_code) == (302, 302)
    assert not Holiday.objects.exists()
    assert not TeamCalendar.objects.exists()


def test_the_agent_may_look_but_not_change(web, alice):
    SlaPolicyFactory(name="Standard")
    calendar = BusinessCalendarFactory(name="Office")
    client = web(alice)

    policies = client.get("/settings/sla/")
    calendar_page = client.get(f"/settings/sla/calendars/{calendar.pk}/")

    assert policies.status_code == 200
    assert "Standard" in policies.content.decode()
    assert "New policy" not in policies.content.decode()
    assert "Add holiday" not in calendar_page.content.decode()


@pytest.mark.parametrize(
    "path",
    [
        "/settings/sla/",
        "/settings/sla/policies/{policy}/",
        "/settings/sla/policies/{policy}/delete/",
        "/settings/sla/calendars/",
        "/settings/sla/calendars/{calendar}/",
        "/settings/sla/calendars/{calendar}/delete/",
        "/settings/sla/calendars/{calendar}/holidays/",
        "/settings/sla/calendars/{calendar}/holidays/{holiday}/remove/",
        "/settings/sla/teams/{team}/",
    ],
)
def test_the_outsider_cannot_change_anything(web, charlie, team_b, path):
    policy = SlaPolicyFactory(name="Standard")
    holiday = HolidayFactory(date="2030-12-25")
    url = path.format(policy=policy.pk, calendar=holiday.calendar_id, holiday=holiday.pk, team=team_b.pk)
    body = {
        "name": "Theirs",
        "position": "0",
        "first_response_minutes": "5",
        "warn_before_minutes": "1",
        "time_zone": "UTC",
        "is_always_open": "on",
        "date": "2030-01-01",
        "calendar": str(holiday.calendar_id),
    }

    response = web(charlie).post(url, body)

    assert response.status_code == 403
    assert list(SlaPolicy.objects.values_list("name", flat=True)) == ["Standard"]
    assert BusinessCalendar.objects.count() == 1
    assert Holiday.objects.count() == 1
    assert not TeamCalendar.objects.exists()
    assert not AuditEntry.objects.filter(action__startswith="sla.").exists()


def test_settings_nav_links_to_slas(web, bob):
    page = web(bob).get("/settings/sla/calendars/").content.decode()

    assert 'href="/settings/sla/"' in page
    assert 'aria-current="page">SLAs</a>' in page
