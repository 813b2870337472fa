"""The one NinjaAPI instance: authentication, the error shape, and each module's router."""

from __future__ import annotations

from ninja import NinjaAPI

from cxloop import __version__
from cxloop.accounts.api import router as tokens_router
from cxloop.api.auth import BearerToken, StaffSession
from cxloop.api.errors import install_error_handlers
from cxloop.api.guards import guard_request
from cxloop.automation.api import router as automation_router
from cxloop.cases.api import router as cases_router
from cxloop.cases.promises_api import router as promises_router
from cxloop.cases.routing_api import router as routing_router
from cxloop.cases.sla_api import router as sla_router
from cxloop.channels.api import router as inbound_router
from cxloop.channels.phone.api import router as calls_router
from cxloop.customers.api import router as customers_router
from cxloop.events.api import router as events_router
from cxloop.feedback.api_loops import router as feedback_loops_router
from cxloop.feedback.api_responses import router as survey_responses_router
from cxloop.feedback.api_scores import router as feedback_scores_router
from cxloop.feedback.api_surveys import router as surveys_router
from cxloop.interactions.api import router as interactions_router
from cxloop.interactions.conversations_api import router as conversations_router
from cxloop.journeys.api import router as journeys_router
from cxloop.messaging.api import router as messaging_router
from cxloop.privacy.api import router as audit_router

api = NinjaAPI(
    title="cxloop API",
    version=__version__,
    description=(
        "The cxloop REST API. Authenticate with a personal token: `Authorization: Bearer <token>` "
        "(create one under *API tokens* in the web UI or with `cxloop token create`). Creates accept an "
        '`Idempotency-Key` header. Errors have one shape: `{"error": {"code", "message", "fields"}}`.'
    ),
    auth=[BearerToken(), StaffSession()],
    urls_namespace="api",
)
install_error_handlers(api)
api.add_decorator(guard_request)
api.add_router("/", customers_router)
api.add_router("/", interactions_router)
api.add_router("/", events_router)
api.add_router("/", tokens_router)
api.add_router("/", audit_router)
api.add_router("/", inbound_router)
api.add_router("/", calls_router)
api.add_router("/", conversations_router)
api.add_router("/", messaging_router)
api.add_router("/", promises_router)
api.add_router("/", routing_router)
api.add_router("/", cases_router)
api.add_router("/", sla_router)
# Before any /surveys/{survey} router: /surveys/responses must not be read as a survey named "responses".
api.add_router("/", survey_responses_router)
api.add_router("/", feedback_loops_router)
api.add_router("/", surveys_router)
api.add_router("/", feedback_scores_router)
api.add_router("/", journeys_router)
api.add_router("/", automation_router)
