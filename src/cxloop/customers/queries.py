"""Reads of the customers module. Every function takes the acting user and checks what they may see."""

from __future__ import annotations

import contextlib
from typing import Any

from django.conf import settings
from django.db.models import Prefetch, Q, QuerySet

from cxloop.core.actor import Actor
from cxloop.core.errors import NotFoundError, ValidationError
from cxloop.core.permissions import Perm
from cxloop.customers.errors import CustomerNotFoundError
from cxloop.customers.models import (
    AttributeDefinition,
    Customer,
    CustomerStatus,
    Identity,
    IdentityKind,
    Merge,
    MergeSuggestion,
    SuggestionStatus,
)
from cxloop.customers.normalization import (
    normalize_email,
    normalize_phone,
)
from cxloop.customers.services.snapshots import search_key


def _base(actor: Actor) -> QuerySet[Customer]:
    actor.require(Perm.CUSTOMERS_VIEW)
    return Customer.objects.prefetch_related(
        Prefetch("identities", queryset=Identity.objects.order_by("kind", "id")), "tags"
    )


def get_customer(actor: Actor, public_id: str) -> Customer:
    try:
        return _base(actor).select_related("merged_into").get(public_id=public_id)
    except Customer.DoesNotExist:
        raise CustomerNotFoundError(f"No customer {public_id}.") from None


def search_customers(
    actor: Actor,
    *,
    q: str = "",
    name: str = "",
    email: str = "",
    phone: str = "",
    identity: str = "",
    region: str = "",
    tag: str = "",
    lifecycle_stage: str = "",
    attributes: dict[str, str] | None = None,
    include_merged: bool = False,
) -> QuerySet[Customer]:
    """Filter customers. `q` matches a name fragment or, if it looks like one, an email or phone."""
    qs = _base(actor)
    if not include_merged:
        qs = qs.filter(status=CustomerStatus.ACTIVE)
    if q:
        qs = qs.filter(_free_text(q, region))
    if name:
        qs = qs.filter(search_name__contains=search_key(name))
    if email:
        _, match = normalize_email(email, field="email")
        qs = qs.filter(identities__kind=IdentityKind.EMAIL, identities__match_value=match)
    if phone:
        e164 = normalize_phone(phone, region=_phone_region(region), field="phone")
        qs = qs.filter(identities__kind__in=[IdentityKind.PHONE, IdentityKind.WHATSAPP], identities__value=e164)
    if identity:
        qs = qs.filter(identities__value=identity.strip())
    if tag:
        qs = qs.filter(tags__name=tag.strip().lower())
    if lifecycle_stage:
        qs = qs.filter(lifecycle_stage=lifecycle_stage)
    for key, value in (attributes or {}).items():
        qs = qs.filter(_attribute_filter(key, value))
    # Filters through identities or tags join one row per match (a phone and a WhatsApp with one number).
    return qs.distinct() if (q or email or phone or identity or tag) else qs


def _free_text(q: str, region: str) -> Q:
    text = q.strip()
    condition = Q(search_name__contains=search_key(text)) | Q(public_id=text)
    if "@" in text:
        try:
            _, match = normalize_email(text)
            condition |= Q(identities__kind=IdentityKind.EMAIL, identities__match_value=match)
        except ValidationError:
            condition |= Q(identities__kind=IdentityKind.EMAIL, identities__value__startswith=text.lower())
    elif sum(ch.isdigit() for ch in text) >= 6:
        with contextlib.suppress(ValidationError):
            condition |= Q(identities__value=normalize_phone(text, region=_phone_region(region)))
    return condition


def _phone_region(region: str) -> str:
    """The region to read a national number in: the one given, else CXLOOP_DEFAULT_REGION (as when storing)."""
    return region or str(settings.CXLOOP_DEFAULT_REGION)


def _attribute_filter(key: str, value: str) -> Q:
    definition = AttributeDefinition.objects.filter(key=key).first()
    if definition is None:
        raise ValidationError(f"Unknown attribute {key!r}.", fields={f"attr.{key}": "unknown attribute"})
    typed: Any = value
    if definition.type == "number":
        try:
            typed = float(value) if "." in value else int(value)
        except ValueError:
            raise ValidationError("Not a number.", fields={f"attr.{key}": "must be a number"}) from None
    elif definition.type == "boolean":
        typed = value.lower() in {"true", "yes", "1"}
    return Q(**{f"attributes__{key}": typed})


def lookup_customer(actor: Actor, *, email: str = "", phone: str = "", region: str = "") -> Customer:
    """The customer owning this email or phone, written in any national or international style."""
    if bool(email) == bool(phone):
        raise ValidationError("Give exactly one of email or phone.", fields={"email": "give email or phone"})
    if email:
        value, match_value = normalize_email(email, field="email")
        condition = Q(kind=IdentityKind.EMAIL, value=value)
        loose = Q(kind=IdentityKind.EMAIL, match_value=match_value)
    else:
        e164 = normalize_phone(phone, region=_phone_region(region), field="phone")
        condition = Q(kind__in=[IdentityKind.PHONE, IdentityKind.WHATSAPP], value=e164)
        loose = condition
    actor.require(Perm.CUSTOMERS_VIEW)
    found = Identity.objects.filter(condition).values_list("customer__public_id", flat=True).first()
    if found is None:
        found = Identity.objects.filter(loose).values_list("customer__public_id", flat=True).first()
    if found is None:
        raise CustomerNotFoundError("No customer has that " + ("email." if email else "phone number."))
    return get_customer(actor, found)


def get_identity(actor: Actor, customer: Customer, identity_id: str) -> Identity:
    actor.require(Perm.CUSTOMERS_VIEW)
    try:
        return customer.identities.get(public_id=identity_id)
    except Identity.DoesNotExist:
        raise NotFoundError(f"No identity {identity_id} on this customer.") from None


def pending_suggestions(actor: Actor) -> QuerySet[MergeSuggestion]:
    """Suggestions awaiting review whose two customers both still exist unmerged."""
    actor.require(Perm.CUSTOMERS_VIEW)
    return (
        MergeSuggestion.objects.filter(
            status=SuggestionStatus.PENDING,
            customer_a__status=CustomerStatus.ACTIVE,
            customer_b__status=CustomerStatus.ACTIVE,
        )
        .select_related("customer_a", "customer_b")
        .prefetch_related("customer_a__identities", "customer_b__identities", "customer_a__tags", "customer_b__tags")
    )


def get_suggestion(actor: Actor, public_id: str) -> MergeSuggestion:
    actor.require(Perm.CUSTOMERS_VIEW)
    try:
        return MergeSuggestion.objects.select_related("customer_a", "customer_b").get(public_id=public_id)
    except MergeSuggestion.DoesNotExist:
        raise NotFoundError(f"No merge suggestion {public_id}.") from None


def merges_of(actor: Actor, customer: Customer) -> QuerySet[Merge]:
    """Merges in which this customer took part, newest first."""
    actor.require(Perm.CUSTOMERS_VIEW)
    return (
        Merge.objects.filter(Q(target=customer) | Q(source=customer))
        .select_related("target", "source", "performed_by", "undone_by")
        .order_by("-created_at", "-id")
    )


def get_merge(actor: Actor, public_id: str) -> Merge:
    actor.require(Perm.CUSTOMERS_VIEW)
    try:
        return Merge.objects.select_related("target", "source").get(public_id=public_id)
    except Merge.DoesNotExist:
        raise NotFoundError(f"No merge {public_id}.") from None


def attribute_definitions(actor: Actor) -> QuerySet[AttributeDefinition]:
    actor.require(Perm.CUSTOMERS_VIEW)
    return AttributeDefinition.objects.all()


def get_attribute_definition(actor: Actor, key: str) -> AttributeDefinition:
    actor.require(Perm.CUSTOMERS_VIEW)
    try:
        return AttributeDefinition.objects.get(key=key)
    except AttributeDefinition.DoesNotExist:
        raise NotFoundError(f"No attribute {key!r}.") from None
