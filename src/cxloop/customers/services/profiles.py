"""Creating, changing and deleting customer profiles."""

from __future__ import annotations

import re
import zoneinfo
from typing import Any

import phonenumbers
from django.db import transaction

from cxloop.core.actor import Actor
from cxloop.core.errors import ValidationError
from cxloop.core.permissions import Perm
from cxloop.customers import events
from cxloop.customers.errors import CustomerMergedError
from cxloop.customers.models import Customer, CustomerStatus, LifecycleStage, Tag
from cxloop.customers.services.attributes import validate_attributes
from cxloop.customers.services.identities import attach_identities, canonicalize_all
from cxloop.customers.services.snapshots import customer_snapshot, search_key
from cxloop.customers.types import CustomerInput
from cxloop.events.bus import publish
from cxloop.privacy.services import record_audit

_LOCALE_RE = re.compile(r"^[a-z]{2,3}([-_][A-Za-z0-9]{2,8})*$")
_TAG_RE = re.compile(r"^[\w][\w .:/-]{0,49}$")
PROFILE_FIELDS = ("name", "country", "locale", "time_zone", "lifecycle_stage")
_TIME_ZONES = zoneinfo.available_timezones()


def clean_profile(values: dict[str, Any]) -> dict[str, Any]:
    """Check and normalise the plain profile fields present in `values`."""
    cleaned: dict[str, Any] = {}
    errors: dict[str, str] = {}
    if "name" in values:
        name = " ".join(str(values["name"] or "").split())
        if len(name) > 200:
            errors["name"] = "must be at most 200 characters"
        cleaned["name"] = name
    if "country" in values:
        country = str(values["country"] or "").strip().upper()
        if country and country not in phonenumbers.SUPPORTED_REGIONS:
            errors["country"] = "must be an ISO 3166 two-letter country code, e.g. GB or US"
        cleaned["country"] = country
    if "locale" in values:
        locale = str(values["locale"] or "").strip()
        if locale and not _LOCALE_RE.match(locale):
            errors["locale"] = "must be a language tag such as en, en-GB or pt_BR"
        cleaned["locale"] = locale.replace("_", "-")
    if "time_zone" in values:
        tz = str(values["time_zone"] or "").strip()
        if tz and tz not in _TIME_ZONES:
            errors["time_zone"] = "must be an IANA time zone such as Europe/London"
        cleaned["time_zone"] = tz
    if "lifecycle_stage" in values:
        stage = str(values["lifecycle_stage"] or "").strip() or LifecycleStage.LEAD
        if stage not in LifecycleStage.values:
            errors["lifecycle_stage"] = f"must be one of {', '.join(LifecycleStage.values)}"
        cleaned["lifecycle_stage"] = stage
    if errors:
        raise ValidationError("Some profile fields are not valid.", fields=errors)
    return cleaned


def clean_tags(tags: list[str]) -> list[str]:
    cleaned: list[str] = []
    for index, raw in enumerate(tags):
        tag = " ".join(str(raw).split()).lower()
        if not tag or not _TAG_RE.match(tag):
            raise ValidationError(
                "A tag is not valid.", fields={f"tags[{index}]": "letters, digits, spaces and .:/- (at most 50)"}
            )
        if tag not in cleaned:
            cleaned.append(tag)
    return cleaned


def _apply_tags(customer: Customer, tags: list[str]) -> None:
    objects = [Tag.objects.get_or_create(name=name)[0] for name in tags]
    customer.tags.set(objects)


@transaction.atomic
def create_customer(actor: Actor, data: CustomerInput) -> Customer:
    """Create a profile with its identities. Fails whole if any identity belongs to someone else."""
    actor.require(Perm.CUSTOMERS_EDIT)
    profile = clean_profile(
        {
            "name": data.name,
            "country": data.country,
            "locale": data.locale,
            "time_zone": data.time_zone,
            "lifecycle_stage": data.lifecycle_stage,
        }
    )
    canonical = canonicalize_all(data.identities, customer_country=profile["country"])
    attributes = validate_attributes(data.attributes) if data.attributes else {}
    tags = clean_tags(data.tags)
    customer = Customer(**profile, attributes=attributes, search_name=search_key(profile["name"]))
    customer.save()
    attach_identities(customer, canonical, data.identities, source=data.source or actor.via)
    if tags:
        _apply_tags(customer, tags)
    record_audit(
        actor,
        "customer.created",
        object_type="customer",
        object_id=customer.public_id,
        summary=f"Created customer {customer.display_name}",
        after=customer_snapshot(customer),
    )
    publish(events.CustomerCreated(customer_id=customer.public_id, source=data.source or actor.via))
    return customer


def _ensure_active(customer: Customer) -> None:
    if not customer.is_active:
        target = customer.merged_into.public_id if customer.merged_into else "another customer"
        raise CustomerMergedError(f"This customer was merged into {target}; change that customer instead.")


@transaction.atomic
def update_customer(
    actor: Actor,
    customer: Customer,
    changes: dict[str, Any],
) -> Customer:
    """Apply a partial update: profile fields, `attributes` (merged; null removes) and `tags` (replaced)."""
    actor.require(Perm.CUSTOMERS_EDIT)
    customer = Customer.objects.select_for_update().get(pk=customer.pk)
    _ensure_active(customer)
    before = customer_snapshot(customer, with_identities=False)
    profile = clean_profile({k: v for k, v in changes.items() if k in PROFILE_FIELDS})
    attributes = (
        validate_attributes(changes["attributes"], current=customer.attributes)
        if changes.get("attributes") is not None
        else None
    )
    tags = clean_tags(changes["tags"]) if changes.get("tags") is not None else None
    for field, value in profile.items():
        setattr(customer, field, value)
    if "name" in profile:
        customer.search_name = search_key(profile["name"])
    if attributes is not None:
        customer.attributes = attributes
    customer.save()
    if tags is not None:
        _apply_tags(customer, tags)
    after = customer_snapshot(customer, with_identities=False)
    changed = [key for key in after if after[key] != before[key]]
    if changed:
        record_audit(
            actor,
            "customer.updated",
            object_type="customer",
            object_id=customer.public_id,
            summary=f"Changed {', '.join(changed)}",
            before={k: before[k] for k in changed},
            after={k: after[k] for k in changed},
        )
        publish(events.CustomerUpdated(customer_id=customer.public_id, changed=changed))
    return customer


def _merged_into(customer: Customer) -> list[Customer]:
    """Every profile merged into `customer`, directly or through another merged profile."""
    found: list[Customer] = []
    frontier = [customer.pk]
    while frontier:
        layer = list(Customer.objects.filter(merged_into_id__in=frontier, status=CustomerStatus.MERGED))
        found += layer
        frontier = [c.pk for c in layer]
    return found


@transaction.atomic
def delete_customer(actor: Actor, customer: Customer) -> None:
    """Delete a profile with its identities and timeline; the audit entry keeps what it held.

    The profiles merged into it go too: they are the same person, and left behind (merged into nothing)
    they would keep personal data that no page shows and no unmerge can bring back.
    """
    actor.require(Perm.CUSTOMERS_DELETE)
    merged = _merged_into(customer)
    before = customer_snapshot(customer)
    if merged:
        before["merged_customers"] = [customer_snapshot(c) for c in merged]
    public_id = customer.public_id
    Customer.objects.filter(pk__in=[c.pk for c in merged]).delete()
    customer.delete()
    record_audit(
        actor,
        "customer.deleted",
        object_type="customer",
        object_id=public_id,
        summary=f"Deleted customer {before['name'] or public_id}"
        + (f" and {len(merged)} profile(s) merged into it" if merged else ""),
        before=before,
    )
    for deleted_id in [public_id, *(c.public_id for c in merged)]:
        publish(events.CustomerDeleted(customer_id=deleted_id))
