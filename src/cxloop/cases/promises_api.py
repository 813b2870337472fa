"""/api/v1/promises: the promises ledger for integrations (list, make, keep, cancel, reschedule), the kept rate,
and the customer's signed "what we promised you" link.

A promise needs a due time in the future: one without is refused with 422 and `fields.due_at`. Keeping or
cancelling a promise that is already kept or cancelled answers 409 `promise_closed`.
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest
from ninja import Query, Router, Status

from cxloop.accounts.models import User
from cxloop.api.auth import actor_of
from cxloop.cases.models import Case
from cxloop.cases.promise_schemas import (
    KeptRateFilter,
    KeptRateOut,
    PromiseCancel,
    PromiseCreate,
    PromiseFilter,
    PromiseKeep,
    PromiseOut,
    PromisePage,
    PromiseReschedule,
    PromisesLinkOut,
)
from cxloop.cases.queries import cases as case_queries
from cxloop.cases.queries import promises as promise_queries
from cxloop.cases.services import promises as promise_services
from cxloop.core.actor import Actor
from cxloop.core.errors import NotFoundError, ValidationError
from cxloop.customers import queries as customer_queries
from cxloop.customers.models import Customer

router = Router(tags=["promises"])


# --- references named in bodies: an unknown one is a 422 on that field, not a 404 of the URL ----------------------


def _customer(actor: Actor, public_id: str) -> Customer:
    try:
        return customer_queries.get_customer(actor, public_id)
    except NotFoundError:
        raise ValidationError("No such customer.", fields={"customer": "unknown customer"}) from None


def _owner(username: str | None) -> User | None:
    if not username:
        return None
    user = User.objects.filter(username=username).first()
    if user is None:
        raise ValidationError("No such user.", fields={"owner": "unknown username"})
    return user


def _case(actor: Actor, public_id: str | None) -> Case | None:
    if not public_id:
        return None
    try:
        return case_queries.get_case(actor, public_id)
    except NotFoundError:
        raise ValidationError("No such case.", fields={"case": "unknown case"}) from None


def _fresh(actor: Actor, public_id: str) -> PromiseOut:
    return PromiseOut.of(promise_queries.get_promise(actor, public_id))


# --- routes (the fixed paths before /promises/{promise_id}) -------------------------------------------------------


@router.get("/promises", response=PromisePage, summary="Promises, soonest due first, with filters")
def list_promises(request: HttpRequest, filters: Query[PromiseFilter]) -> PromisePage:
    statuses = tuple(s.strip() for s in filters.status.split(",") if s.strip())
    page = promise_queries.list_promises(
        actor_of(request),
        promise_queries.PromiseFilters(
            statuses=statuses,
            owner=filters.owner,
            customer=filters.customer,
            case=filters.case,
            due_before=filters.due_before,
        ),
        cursor=filters.cursor,
        limit=filters.limit,
    )
    return PromisePage(items=[PromiseOut.of(p) for p in page.items], next_cursor=page.next_cursor)


@router.post("/promises", response={201: PromiseOut}, summary="Record a promise made to a customer")
def make_promise(request: HttpRequest, payload: PromiseCreate) -> Status[PromiseOut]:
    actor = actor_of(request)
    promise = promise_services.make_promise(
        actor,
        customer=_customer(actor, payload.customer),
        description=payload.description,
        due_at=payload.due_at,
        owner=_owner(payload.owner),
        channel=payload.channel,
        case=_case(actor, payload.case),
    )
    return Status(201, _fresh(actor, promise.public_id))


@router.get("/promises/kept-rate", response=list[KeptRateOut], summary="The promise-kept rate per agent or team")
def kept_rate(request: HttpRequest, filters: Query[KeptRateFilter]) -> list[KeptRateOut]:
    rows = promise_queries.kept_rate(actor_of(request), by=filters.by, since=filters.since, until=filters.until)
    return [KeptRateOut.of(row) for row in rows]


@router.get("/promises/{promise_id}", response=PromiseOut, summary="One promise")
def get_promise(request: HttpRequest, promise_id: str) -> PromiseOut:
    return PromiseOut.of(promise_queries.get_promise(actor_of(request), promise_id))


@router.post("/promises/{promise_id}/keep", response=PromiseOut, summary="Mark it kept (late if past its due time)")
def keep_promise(request: HttpRequest, promise_id: str, payload: PromiseKeep) -> PromiseOut:
    actor = actor_of(request)
    promise = promise_services.keep_promise(actor, promise_queries.get_promise(actor, promise_id), payload.note)
    return _fresh(actor, promise.public_id)


@router.post("/promises/{promise_id}/cancel", response=PromiseOut, summary="Withdraw it, with the reason")
def cancel_promise(request: HttpRequest, promise_id: str, payload: PromiseCancel) -> PromiseOut:
    actor = actor_of(request)
    promise = promise_services.cancel_promise(actor, promise_queries.get_promise(actor, promise_id), payload.reason)
    return _fresh(actor, promise.public_id)


@router.post("/promises/{promise_id}/reschedule", response=PromiseOut, summary="Move an open promise to a new time")
def reschedule_promise(request: HttpRequest, promise_id: str, payload: PromiseReschedule) -> PromiseOut:
    actor = actor_of(request)
    promise = promise_services.reschedule_promise(
        actor, promise_queries.get_promise(actor, promise_id), payload.due_at, payload.reason
    )
    return _fresh(actor, promise.public_id)


@router.get(
    "/customers/{customer_id}/promises-link",
    response=PromisesLinkOut,
    summary="The customer's signed 'what we promised you' link (logged)",
)
def promises_link(request: HttpRequest, customer_id: str) -> PromisesLinkOut:
    actor = actor_of(request)
    customer = customer_queries.get_customer(actor, customer_id)
    url = promise_services.promises_link(actor, customer)
    return PromisesLinkOut(url=url, expires_in_days=int(settings.CXLOOP_PROMISE_LINK_DAYS))
