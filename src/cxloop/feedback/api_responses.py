"""/api/v1/surveys/responses: answering a survey without its page (a web widget, an app, a headless front end)
and reading one answer.

The API has no anonymous endpoints (every operation needs a credential), so posting answers takes a staff
token with feedback.send — the integration that showed the survey relays the customer's answers. The
invitation's signed token in the body is what names the invitation; the response is recorded as the customer's
(the audit shows "survey <key>" and the relaying token). Bad answers are 422 with `answers.<question id>`; a
second answer 409 `already_answered`; a forged token 404; an expired one 410.
"""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Router, Status

from cxloop.api.auth import actor_of, client_ip
from cxloop.core.permissions import Perm
from cxloop.feedback.queries import responses as response_queries
from cxloop.feedback.response_schemas import ResponseIn, ResponseOut
from cxloop.feedback.services import responses as response_services

router = Router(tags=["survey responses"])


@router.post(
    "/surveys/responses",
    response={201: ResponseOut},
    summary="Record a customer's answers to a survey invitation (one per invitation)",
)
def submit_response(request: HttpRequest, payload: ResponseIn) -> Status[ResponseOut]:
    caller = actor_of(request)
    caller.require(Perm.FEEDBACK_SEND)
    respondent = response_services.respondent_actor(client_ip(request), via="api", relayed_by=caller)
    response = response_services.submit_response(respondent, payload.token, payload.answers)
    return Status(201, ResponseOut.of(response))


@router.get("/surveys/responses/{response_id}", response=ResponseOut, summary="One survey response")
def get_response(request: HttpRequest, response_id: str) -> ResponseOut:
    return ResponseOut.of(response_queries.get_response(actor_of(request), response_id))
