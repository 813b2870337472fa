"""Signed links to the preference centre: the link is the customer's only credential there, so it is signed,
salted for this one purpose, and expires (CXLOOP_PREFERENCE_LINK_DAYS)."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.urls import reverse

from cxloop.core.actor import Actor
from cxloop.core.permissions import Perm
from cxloop.customers.models import Customer

SALT = "cxloop.portal.preferences"


class LinkInvalidError(Exception):
    """The token is forged or damaged: nobody may see whose preferences it claims."""


class LinkExpiredError(LinkInvalidError):
    """The signature is good but the link is older than CXLOOP_PREFERENCE_LINK_DAYS."""


def preference_token(customer: Customer) -> str:
    return signing.dumps({"c": customer.public_id}, salt=SALT, compress=False)


def _link(name: str, token: str) -> str:
    return str(settings.CXLOOP_BASE_URL).rstrip("/") + reverse(name, kwargs={"token": token})


def preference_link(customer: Customer) -> str:
    """The absolute URL of the customer's preference centre (used as List-Unsubscribe and unsubscribe_url)."""
    return _link("portal:preferences", preference_token(customer))


def unsubscribe_link(customer: Customer) -> str:
    """The List-Unsubscribe URL (RFC 8058): a POST there unsubscribes from all marketing at once, a GET
    (a person clicking it, or a link scanner) only leads to the preference centre."""
    return _link("portal:unsubscribe", preference_token(customer))


def customer_links(customer: Customer) -> tuple[str, str]:
    """(preference_link, unsubscribe_link) with one signed token: every templated message renders both."""
    token = preference_token(customer)
    return _link("portal:preferences", token), _link("portal:unsubscribe", token)


def customer_for_token(token: str) -> Customer:
    """The active customer the token names (following merges), or LinkInvalidError / LinkExpiredError."""
    max_age = timedelta(days=int(settings.CXLOOP_PREFERENCE_LINK_DAYS))
    try:
        data = signing.loads(token, salt=SALT, max_age=max_age)
    except signing.SignatureExpired as exc:
        raise LinkExpiredError(str(exc)) from exc
    except (signing.BadSignature, ValueError, UnicodeDecodeError) as exc:
        raise LinkInvalidError(str(exc)) from exc
    public_id = data.get("c") if isinstance(data, dict) else None
    if not isinstance(public_id, str):
        raise LinkInvalidError("the token names no customer")
    customer = Customer.objects.prefetch_related("identities").filter(public_id=public_id).first()
    seen = 0
    while customer is not None and not customer.is_active and customer.merged_into_id and seen < 20:
        customer = Customer.objects.prefetch_related("identities").filter(pk=customer.merged_into_id).first()
        seen += 1
    if customer is None or not customer.is_active:
        raise LinkInvalidError("the customer no longer exists")
    return customer


def preference_centre_actor(ip_address: str | None = None) -> Actor:
    """The customer acting on their own consents through a signed link: no staff user, only that right."""
    return Actor(
        user=None,
        via="preference_centre",
        ip_address=ip_address,
        permissions=frozenset({Perm.CUSTOMERS_VIEW, Perm.CUSTOMERS_EDIT}),
    )
