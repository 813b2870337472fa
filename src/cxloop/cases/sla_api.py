"""/api/v1 routes for SLAs: policies, business calendars with holidays, team calendars, and a case's clocks.

Reading needs CASES_VIEW; changing needs CASES_CONFIGURE (checked in the services)."""

from __future__ import annotations

import dataclasses
from typing import Any

from django.http import HttpRequest
from ninja import Router, Status

from cxloop.api.auth import actor_of
from cxloop.cases.queries import cases as case_queries
from cxloop.cases.queries import sla as sla_queries
from cxloop.cases.services import sla_config
from cxloop.cases.sla_schemas import (
    CalendarIn,
    CalendarOut,
    CalendarUpdate,
    ClockOut,
    HolidayIn,
    HolidayOut,
    PolicyIn,
    PolicyOut,
    PolicyUpdate,
    TeamCalendarIn,
    TeamCalendarOut,
)
from cxloop.core.errors import NotFoundError

router = Router(tags=["sla"])


# --- policies ----------------------------------------------------------------------------------------------------


@router.get("/sla/policies", response=list[PolicyOut], summary="SLA policies, in the order they are tried")
def list_policies(request: HttpRequest) -> list[PolicyOut]:
    return [PolicyOut.of(p) for p in sla_queries.list_policies(actor_of(request))]


@router.post("/sla/policies", response={201: PolicyOut}, summary="Create an SLA policy")
def create_policy(request: HttpRequest, payload: PolicyIn) -> Status[Any]:
    data = sla_config.PolicyInput(**{**payload.dict(), "priorities": tuple(payload.priorities)})
    data = dataclasses.replace(data, categories=tuple(payload.categories), customer_tiers=tuple(payload.customer_tiers))
    return Status(201, PolicyOut.of(sla_config.create_policy(actor_of(request), data)))


@router.get("/sla/policies/{policy_id}", response=PolicyOut)
def get_policy(request: HttpRequest, policy_id: int) -> PolicyOut:
    return PolicyOut.of(sla_queries.get_policy(actor_of(request), policy_id))


@router.patch("/sla/policies/{policy_id}", response=PolicyOut, summary="Change an SLA policy (fields sent only)")
def update_policy(request: HttpRequest, policy_id: int, payload: PolicyUpdate) -> PolicyOut:
    actor = actor_of(request)
    policy = sla_queries.get_policy(actor, policy_id)
    sent = {k: getattr(payload, k) for k in payload.model_fields_set}
    nullable = {"first_response_minutes", "next_response_minutes", "resolution_minutes"}
    changes: dict[str, Any] = {
        k: tuple(v) if isinstance(v, list) else v for k, v in sent.items() if v is not None or k in nullable
    }
    data = dataclasses.replace(sla_config.policy_input_of(policy), **changes)
    return PolicyOut.of(sla_config.update_policy(actor, policy, data))


@router.delete("/sla/policies/{policy_id}", response={204: None}, summary="Delete an SLA policy")
def delete_policy(request: HttpRequest, policy_id: int) -> Status[None]:
    actor = actor_of(request)
    sla_config.delete_policy(actor, sla_queries.get_policy(actor, policy_id))
    return Status(204, None)


# --- calendars ---------------------------------------------------------------------------------------------------


@router.get("/sla/calendars", response=list[CalendarOut], summary="Business calendars with holidays and teams")
def list_calendars(request: HttpRequest) -> list[CalendarOut]:
    return [CalendarOut.of(c) for c in sla_queries.list_calendars(actor_of(request))]


@router.post("/sla/calendars", response={201: CalendarOut}, summary="Create a business calendar")
def create_calendar(request: HttpRequest, payload: CalendarIn) -> Status[Any]:
    actor = actor_of(request)
    calendar = sla_config.create_calendar(actor, sla_config.CalendarInput(**payload.dict()))
    return Status(201, CalendarOut.of(sla_queries.get_calendar(actor, calendar.pk)))


@router.get("/sla/calendars/{calendar_id}", response=CalendarOut)
def get_calendar(request: HttpRequest, calendar_id: int) -> CalendarOut:
    return CalendarOut.of(sla_queries.get_calendar(actor_of(request), calendar_id))


@router.patch("/sla/calendars/{calendar_id}", response=CalendarOut, summary="Change a calendar (fields sent only)")
def update_calendar(request: HttpRequest, calendar_id: int, payload: CalendarUpdate) -> CalendarOut:
    actor = actor_of(request)
    calendar = sla_queries.get_calendar(actor, calendar_id)
    changes: dict[str, Any] = {
        k: getattr(payload, k) for k in payload.model_fields_set if getattr(payload, k) is not None
    }
    sla_config.update_calendar(actor, calendar, dataclasses.replace(sla_config.calendar_input_of(calendar), **changes))
    return CalendarOut.of(sla_queries.get_calendar(actor, calendar_id))


@router.delete("/sla/calendars/{calendar_id}", response={204: None}, summary="Delete a calendar")
def delete_calendar(request: HttpRequest, calendar_id: int) -> Status[None]:
    actor = actor_of(request)
    sla_config.delete_calendar(actor, sla_queries.get_calendar(actor, calendar_id))
    return Status(204, None)


@router.post("/sla/calendars/{calendar_id}/holidays", response={201: HolidayOut}, summary="Add a holiday")
def add_holiday(request: HttpRequest, calendar_id: int, payload: HolidayIn) -> Status[Any]:
    actor = actor_of(request)
    calendar = sla_queries.get_calendar(actor, calendar_id)
    return Status(201, HolidayOut.of(sla_config.add_holiday(actor, calendar, day=payload.date, name=payload.name)))


@router.delete("/sla/calendars/{calendar_id}/holidays/{holiday_id}", response={204: None}, summary="Remove a holiday")
def remove_holiday(request: HttpRequest, calendar_id: int, holiday_id: int) -> Status[None]:
    actor = actor_of(request)
    calendar = sla_queries.get_calendar(actor, calendar_id)
    holiday = next((h for h in calendar.holidays.all() if h.pk == holiday_id), None)
    if holiday is None:
        raise NotFoundError("No such holiday in this calendar.")
    sla_config.remove_holiday(actor, holiday)
    return Status(204, None)


@router.get("/sla/teams", response=list[TeamCalendarOut], summary="Which calendar each team's SLAs count in")
def list_team_calendars(request: HttpRequest) -> list[TeamCalendarOut]:
    return [TeamCalendarOut.of(t, c) for t, c in sla_queries.list_team_calendars(actor_of(request))]


@router.put("/sla/teams/{team_id}/calendar", response=TeamCalendarOut, summary="Set a team's calendar")
def set_team_calendar(request: HttpRequest, team_id: int, payload: TeamCalendarIn) -> TeamCalendarOut:
    actor = actor_of(request)
    team = sla_queries.get_team(actor, team_id)
    calendar = sla_queries.get_calendar(actor, payload.calendar) if payload.calendar is not None else None
    sla_config.set_team_calendar(actor, team, calendar)
    return TeamCalendarOut.of(team, calendar)


# --- a case's clocks ---------------------------------------------------------------------------------------------


@router.get("/cases/{case_id}/sla", response=list[ClockOut], summary="The case's SLA clocks with time left")
def case_clocks(request: HttpRequest, case_id: str) -> list[ClockOut]:
    actor = actor_of(request)
    return [ClockOut.of(v) for v in sla_queries.sla_clocks_for(actor, case_queries.get_case(actor, case_id))]
