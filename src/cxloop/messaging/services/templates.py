"""Message templates: one per channel and purpose, versioned per locale, rendered against a real customer."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from django.db import transaction
from django.db.models import Max

from cxloop.core.actor import Actor
from cxloop.core.errors import ConflictError, ValidationError
from cxloop.core.permissions import Perm
from cxloop.customers.models import Customer
from cxloop.messaging import rendering
from cxloop.messaging.errors import TemplateNotFoundError
from cxloop.messaging.models import Purpose, Template, TemplateVersion
from cxloop.messaging.services.addresses import CHANNEL_KINDS
from cxloop.messaging.types import TemplateContent
from cxloop.privacy.services import record_audit

_KEY_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,79}$")
_LOCALE_RE = re.compile(r"^[a-z]{2,3}(-[a-z0-9]{2,8})*$")
RESERVED_VARIABLES = frozenset({"customer", "agent", "preference_url", "unsubscribe_url"})
MAX_BODY = 100_000


def normalize_locale(raw: str, *, field: str = "locale") -> str:
    """ "pt_BR", "PT-br" -> "pt-br": one spelling, so lookups by locale compare equal."""
    locale = raw.strip().replace("_", "-").lower()
    if not _LOCALE_RE.match(locale):
        raise ValidationError(f"{field}: not a locale", fields={field: "must be a locale such as en, fr or pt-br"})
    return locale


def get_template_by_key(key: str) -> Template:
    template = Template.objects.filter(key=key).first()
    if template is None:
        raise TemplateNotFoundError(f"No template {key!r}.")
    return template


def _check_template_fields(*, key: str | None, name: str | None, channel: str | None, purpose: str | None) -> None:
    errors: dict[str, str] = {}
    if key is not None and not _KEY_RE.match(key):
        errors["key"] = "use 1-80 lower-case letters, digits, '-' or '_'"
    if name is not None and not (0 < len(name.strip()) <= 200):
        errors["name"] = "must be 1-200 characters"
    if channel is not None and channel not in CHANNEL_KINDS:
        errors["channel"] = f"must be one of {', '.join(CHANNEL_KINDS)}"
    if purpose is not None and purpose not in Purpose.values:
        errors["purpose"] = "must be service or marketing"
    if errors:
        raise ValidationError("The template is not valid.", fields=errors)


def _check_content(template: Template, content: TemplateContent) -> dict[str, str]:
    errors: dict[str, str] = {}
    if not content.body_text.strip():
        errors["body_text"] = "must not be empty"
    if len(content.subject) > 300:
        errors["subject"] = "must be at most 300 characters"
    for name in ("body_text", "body_html"):
        if len(getattr(content, name)) > MAX_BODY:
            errors[name] = f"must be at most {MAX_BODY} characters"
    if content.body_html and template.channel != "email":
        errors["body_html"] = "only email templates have an HTML body"
    if errors:
        raise ValidationError("The template version is not valid.", fields=errors)
    fields = {"subject": content.subject, "body_text": content.body_text, "body_html": content.body_html}
    rendering.check_syntax(fields)
    return fields


@transaction.atomic
def create_template(
    actor: Actor,
    *,
    key: str,
    name: str,
    channel: str,
    purpose: str = Purpose.SERVICE,
    default_locale: str = "en",
    content: TemplateContent | None = None,
) -> Template:
    """A new template, with its first version when `content` is given."""
    actor.require(Perm.CHANNELS_MANAGE)
    _check_template_fields(key=key, name=name, channel=channel, purpose=purpose)
    locale = normalize_locale(default_locale, field="default_locale")
    if Template.objects.filter(key=key).exists():
        raise ConflictError(f"A template with the key {key!r} exists.", fields={"key": "already taken"})
    template = Template.objects.create(
        key=key, name=name.strip(), channel=channel, purpose=purpose, default_locale=locale, created_by=actor.user
    )
    record_audit(
        actor,
        "template.created",
        object_type="template",
        object_id=template.key,
        summary=f"{template.name} ({channel}, {purpose})",
        after={"key": key, "channel": channel, "purpose": purpose, "default_locale": locale},
    )
    if content is not None:
        save_template_version(actor, template, content)
    return template


@transaction.atomic
def update_template(
    actor: Actor,
    template: Template,
    *,
    name: str | None = None,
    purpose: str | None = None,
    default_locale: str | None = None,
    is_active: bool | None = None,
) -> Template:
    actor.require(Perm.CHANNELS_MANAGE)
    _check_template_fields(key=None, name=name, channel=None, purpose=purpose)
    wanted: dict[str, Any] = {
        "name": name.strip() if name is not None else None,
        "purpose": purpose,
        "default_locale": normalize_locale(default_locale, field="default_locale") if default_locale else None,
        "is_active": is_active,
    }
    before = {k: getattr(template, k) for k, v in wanted.items() if v is not None and getattr(template, k) != v}
    if not before:
        return template
    for field_name in before:
        setattr(template, field_name, wanted[field_name])
    template.save(update_fields=[*before, "updated_at"])
    record_audit(
        actor,
        "template.updated",
        object_type="template",
        object_id=template.key,
        summary=f"changed {', '.join(before)}",
        before=before,
        after={k: wanted[k] for k in before},
    )
    return template


@transaction.atomic
def save_template_version(actor: Actor, template: Template, content: TemplateContent) -> tuple[TemplateVersion, bool]:
    """A new version for the content's locale; saving what the current version already says makes none.

    Returns (version, created). Versions are never edited: a sent message keeps pointing at the words it used.
    """
    actor.require(Perm.CHANNELS_MANAGE)
    locale = normalize_locale(content.locale)
    _check_content(template, content)
    Template.objects.select_for_update().filter(pk=template.pk).first()  # one new version number at a time
    versions = TemplateVersion.objects.filter(template=template, locale=locale)
    current = versions.order_by("-version").first()
    if current is not None and (current.subject, current.body_text, current.body_html) == (
        content.subject,
        content.body_text,
        content.body_html,
    ):
        return current, False
    number = (versions.aggregate(top=Max("version"))["top"] or 0) + 1
    version = TemplateVersion.objects.create(
        template=template,
        locale=locale,
        version=number,
        subject=content.subject,
        body_text=content.body_text,
        body_html=content.body_html,
        created_by=actor.user,
    )
    record_audit(
        actor,
        "template.version_saved",
        object_type="template",
        object_id=template.key,
        summary=f"{locale} v{number}",
        after={"locale": locale, "version": number},
    )
    return version, True


def resolve_version(template: Template, locale: str) -> TemplateVersion:
    """The newest version in `locale`, else in its language ("pt" for "pt-br"), else in the default locale."""
    wanted: list[str] = []
    if locale:
        try:
            exact = normalize_locale(locale)
        except ValidationError:
            exact = ""
        if exact:
            wanted += [exact, exact.split("-", 1)[0]]
    wanted.append(template.default_locale)
    for candidate in dict.fromkeys(wanted):
        version = TemplateVersion.objects.filter(template=template, locale=candidate).order_by("-version").first()
        if version is not None:
            return version
    raise ValidationError(
        "The template has no content for this locale or its default locale.",
        fields={"template": f"no version in {locale or template.default_locale} or {template.default_locale}"},
    )


def _first_name(name: str) -> str:
    parts = name.split()
    return parts[0] if parts else ""


def _customer_context(customer: Customer) -> dict[str, Any]:
    """Plain data only: a template must never reach a model method."""
    return {
        "id": customer.public_id,
        "name": customer.name,
        "first_name": _first_name(customer.name),
        "country": customer.country,
        "locale": customer.locale,
        "time_zone": customer.time_zone,
        "lifecycle_stage": customer.lifecycle_stage,
        "attributes": dict(customer.attributes or {}),
    }


def _agent_context(actor: Actor) -> dict[str, Any]:
    user = actor.user
    if user is None:
        return {"name": "", "first_name": ""}
    name = user.get_full_name() or user.get_username()
    return {"name": name, "first_name": user.first_name or _first_name(name)}


def build_context(
    actor: Actor, customer: Customer, variables: Mapping[str, Any], *, preference_url: str, unsubscribe_url: str = ""
) -> dict[str, Any]:
    clashing = sorted(RESERVED_VARIABLES & set(variables))
    if clashing:
        raise ValidationError(
            "Some variables use reserved names.", fields={f"variables.{name}": "reserved name" for name in clashing}
        )
    return {
        **dict(variables),
        "customer": _customer_context(customer),
        "agent": _agent_context(actor),
        "preference_url": preference_url,
        "unsubscribe_url": unsubscribe_url or preference_url,
    }


def render_version(version: TemplateVersion, context: dict[str, Any], *, warn: bool = False) -> rendering.Rendered:
    return rendering.render(version.subject, version.body_text, version.body_html, context, warn=warn)
