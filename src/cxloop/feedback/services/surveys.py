"""Survey management: create a survey from its kind's standard questions, edit its definition and translations,
set its sending rules, activate and archive it.

The definition is validated as a whole (definitions.parse_definition, errors named by path) and the survey's
`version` rises whenever it changes, so an answer is always read against the questions it answered. Every
change is audited: a changed survey changes what customers are asked from then on.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction

from cxloop.core.actor import Actor
from cxloop.core.errors import ConflictError, ValidationError
from cxloop.core.permissions import Perm
from cxloop.feedback.definitions import parse_definition, standard_definition, translated
from cxloop.feedback.models import Survey, SurveyKind, SurveyPurpose, SurveyStatus
from cxloop.privacy.services import record_audit

_KEY = re.compile(r"^[a-z][a-z0-9_-]{0,59}$")
_LOCALE = re.compile(r"^[a-z]{2,3}([-_][A-Za-z0-9]{2,8})?$")
NAME_MAX = 200
FATIGUE_DAYS_MAX = 3650
LINK_VALID_DAYS_MAX = 365
TRANSLATION_TEXT_MAX = 2000


@dataclass(frozen=True)
class SurveyInput:
    key: str
    name: str
    kind: str
    purpose: str = SurveyPurpose.SERVICE
    default_locale: str = "en"
    definition: dict[str, Any] | None = None  # None: the kind's standard questions
    fatigue_days: int | None = None
    link_valid_days: int = 30


@dataclass(frozen=True)
class SurveyChanges:
    """Only the fields given (not None) change; `fatigue_days=0` turns the survey's own limit off."""

    name: str | None = None
    purpose: str | None = None
    default_locale: str | None = None
    definition: dict[str, Any] | None = None
    fatigue_days: int | None = None
    link_valid_days: int | None = None
    translations: dict[str, dict[str, Any] | None] | None = None  # per locale: texts, or None to remove


def _name(value: str) -> str:
    value = " ".join(value.split())
    if not value:
        raise ValidationError("The name must not be empty.", fields={"name": "must not be empty"})
    if len(value) > NAME_MAX:
        raise ValidationError("The name is too long.", fields={"name": f"at most {NAME_MAX} characters"})
    return value


def _check_settings(
    *, purpose: str | None, locale: str | None, fatigue_days: int | None, link_valid_days: int | None
) -> None:
    errors: dict[str, str] = {}
    if purpose is not None and purpose not in SurveyPurpose.values:
        errors["purpose"] = f"must be one of {', '.join(SurveyPurpose.values)}"
    if locale is not None and not _LOCALE.match(locale):
        errors["default_locale"] = "must be a locale such as en or de-AT"
    if fatigue_days is not None and not 0 <= fatigue_days <= FATIGUE_DAYS_MAX:
        errors["fatigue_days"] = f"must be between 0 (off) and {FATIGUE_DAYS_MAX}"
    if link_valid_days is not None and not 1 <= link_valid_days <= LINK_VALID_DAYS_MAX:
        errors["link_valid_days"] = f"must be between 1 and {LINK_VALID_DAYS_MAX}"
    if errors:
        raise ValidationError("Some settings are not valid.", fields=errors)


def _snapshot(survey: Survey) -> dict[str, Any]:
    return {
        "name": survey.name,
        "status": survey.status,
        "purpose": survey.purpose,
        "default_locale": survey.default_locale,
        "version": survey.version,
        "fatigue_days": survey.fatigue_days,
        "link_valid_days": survey.link_valid_days,
    }


def _audit(actor: Actor, action: str, survey: Survey, summary: str, before: dict[str, Any] | None = None) -> None:
    if before is not None and before["status"] != survey.status:
        from cxloop.feedback.services.triggers import forget_event_names  # triggers import this module

        transaction.on_commit(forget_event_names)
    record_audit(
        actor,
        action,
        object_type="survey",
        object_id=survey.public_id,
        summary=f"{survey.key}: {summary}",
        before=before,
        after=_snapshot(survey),
    )


def _writable(survey: Survey) -> Survey:
    """The survey row, locked for this change; an archived survey keeps the questions its answers were given to."""
    current = Survey.objects.select_for_update().get(pk=survey.pk)
    if current.status == SurveyStatus.ARCHIVED:
        raise ConflictError("The survey is archived; it cannot change.", code="survey_archived")
    return current


@transaction.atomic
def create_survey(actor: Actor, data: SurveyInput) -> Survey:
    """A draft survey; without a definition it starts from the kind's standard questions (editable later)."""
    actor.require(Perm.FEEDBACK_MANAGE)
    errors: dict[str, str] = {}
    if not _KEY.match(data.key):
        errors["key"] = "lower-case letters, digits, '_' or '-', starting with a letter (at most 60)"
    if data.kind not in SurveyKind.values:
        errors["kind"] = f"must be one of {', '.join(SurveyKind.values)}"
    if errors:
        raise ValidationError("The survey is not valid.", fields=errors)
    name = _name(data.name)
    _check_settings(
        purpose=data.purpose,
        locale=data.default_locale,
        fatigue_days=data.fatigue_days,
        link_valid_days=data.link_valid_days,
    )
    definition = data.definition if data.definition is not None else standard_definition(data.kind)
    if data.definition is not None or data.kind != SurveyKind.CUSTOM:
        parse_definition(definition, kind=data.kind)  # a custom survey may start empty and be written later
    survey = Survey(
        key=data.key,
        name=name,
        kind=data.kind,
        purpose=data.purpose,
        default_locale=data.default_locale,
        definition=definition,
        fatigue_days=data.fatigue_days or None,
        link_valid_days=data.link_valid_days,
        created_by=actor.user,
    )
    try:
        with transaction.atomic():
            survey.save()
    except IntegrityError:
        raise ConflictError("A survey with this key exists.", fields={"key": "already used"}) from None
    _audit(actor, "survey.created", survey, f"created ({survey.kind})")
    return survey


@transaction.atomic
def update_survey(actor: Actor, survey: Survey, changes: SurveyChanges) -> Survey:
    """Change settings and/or the definition. A new definition is validated against the survey's kind and
    raises the version only when it differs from the current one."""
    actor.require(Perm.FEEDBACK_MANAGE)
    _check_settings(
        purpose=changes.purpose,
        locale=changes.default_locale,
        fatigue_days=changes.fatigue_days,
        link_valid_days=changes.link_valid_days,
    )
    survey = _writable(survey)
    before = _snapshot(survey)
    fields: list[str] = []
    if changes.name is not None:
        survey.name = _name(changes.name)
        fields.append("name")
    for name in ("purpose", "default_locale", "link_valid_days"):
        value = getattr(changes, name)
        if value is not None:
            setattr(survey, name, value)
            fields.append(name)
    if changes.fatigue_days is not None:
        survey.fatigue_days = changes.fatigue_days or None
        fields.append("fatigue_days")
    if changes.definition is not None:
        parse_definition(changes.definition, kind=survey.kind)
        if changes.definition != survey.definition:
            survey.definition = changes.definition
            survey.version += 1
            fields += ["definition", "version"]
    after = _snapshot(survey)
    changed = sorted({key for key in after if after[key] != before[key]} - {"version"})
    if "definition" in fields:
        changed.append("definition")
    if changed:
        survey.save(update_fields=[*fields, "updated_at"])
        summary = f"version {survey.version}" if "definition" in fields else "settings changed"
        _audit(actor, "survey.updated", survey, f"{summary} ({', '.join(changed)})", before)
    for locale, texts in (changes.translations or {}).items():
        try:
            survey = set_translation(actor, survey, locale, texts)
        except ValidationError as exc:  # name the paths as the caller wrote them: translations.<locale>.…
            named = {
                f"translations.{locale}{k.removeprefix('translation').removeprefix('locale')}": v
                for k, v in exc.fields.items()
            }
            raise ValidationError(exc.message, fields=named) from None
    return survey


def _text(value: Any, path: str, errors: dict[str, str]) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        errors[path] = "must be text"
        return ""
    if len(value) > TRANSLATION_TEXT_MAX:
        errors[path] = f"at most {TRANSLATION_TEXT_MAX} characters"
    return value.strip()


def _choice_labels(labels: Any, question: dict[str, Any], path: str, errors: dict[str, str]) -> dict[str, str]:
    if not isinstance(labels, dict):
        errors[path] = "must be an object: choice value → label"
        return {}
    values = {c if isinstance(c, str) else str(c.get("value")) for c in question.get("choices", []) if c}
    found: dict[str, str] = {}
    for value, label in labels.items():
        if value not in values:
            errors[f"{path}.{value}"] = "no such choice"
        elif text := _text(label, f"{path}.{value}", errors):
            found[value] = text
    return found


def _question_texts(texts: Any, question: dict[str, Any], path: str, errors: dict[str, str]) -> dict[str, Any]:
    if not isinstance(texts, dict):
        errors[path] = "must be an object"
        return {}
    local: dict[str, Any] = {}
    for key in ("text", "low_label", "high_label"):
        if value := _text(texts.get(key), f"{path}.{key}", errors):
            local[key] = value
    labels = texts.get("choices")
    if labels is not None and (found := _choice_labels(labels, question, f"{path}.choices", errors)):
        local["choices"] = found
    return local


def _translation_texts(raw: Any, definition: dict[str, Any]) -> dict[str, Any]:
    """A translation holds only texts, for the ids and values the definition has (translated() lays it over)."""
    if not isinstance(raw, dict):
        raise ValidationError("A translation must be an object.", fields={"translation": "must be an object"})
    errors: dict[str, str] = {}
    for key in sorted(set(raw) - {"title", "intro", "thank_you", "questions"}):
        errors[f"translation.{key}"] = "not a translatable text"
    result: dict[str, Any] = {}
    for key in ("title", "intro", "thank_you"):
        if value := _text(raw.get(key), f"translation.{key}", errors):
            result[key] = value
    questions = raw.get("questions", {})
    if not isinstance(questions, dict):
        errors["translation.questions"] = "must be an object keyed by question id"
        questions = {}
    by_id = {str(q.get("id")): q for q in definition.get("questions", []) if isinstance(q, dict)}
    found: dict[str, Any] = {}
    for question_id, texts in questions.items():
        path = f"translation.questions.{question_id}"
        if question_id not in by_id:
            errors[path] = "no such question"
        elif local := _question_texts(texts, by_id[question_id], path, errors):
            found[question_id] = local
    if found:
        result["questions"] = found
    if errors:
        raise ValidationError("The translation is not valid.", fields=errors)
    return result


@transaction.atomic
def set_translation(actor: Actor, survey: Survey, locale: str, texts: dict[str, Any] | None) -> Survey:
    """Store (or with None / nothing translated, remove) the texts of one locale. Translations change no
    structure, so the version stays."""
    actor.require(Perm.FEEDBACK_MANAGE)
    if not _LOCALE.match(locale):
        raise ValidationError("Not a locale.", fields={"locale": "must be a locale such as de or pt-BR"})
    if locale == survey.default_locale:
        raise ValidationError(
            "That is the survey's own language.", fields={"locale": "edit the definition for the default locale"}
        )
    survey = _writable(survey)
    cleaned = _translation_texts(texts, survey.definition) if texts is not None else {}
    translations = dict(survey.translations or {})
    before = translations.get(locale)
    if cleaned:
        translations[locale] = cleaned
    else:
        translations.pop(locale, None)
    if translations.get(locale) == before:
        return survey
    survey.translations = translations
    survey.save(update_fields=["translations", "updated_at"])
    record_audit(
        actor,
        "survey.translated",
        object_type="survey",
        object_id=survey.public_id,
        summary=f"{survey.key}: {locale} " + ("saved" if cleaned else "removed"),
        before={"locale": locale, "texts": before},
        after={"locale": locale, "texts": cleaned or None},
    )
    return survey


def localized_definition(survey: Survey, locale: str) -> dict[str, Any]:
    """The definition in `locale` when a translation exists (by locale, then its language), else the original."""
    if not locale or locale == survey.default_locale:
        return dict(survey.definition)
    return translated(survey.definition, survey.translations or {}, locale)


@transaction.atomic
def activate_survey(actor: Actor, survey: Survey) -> Survey:
    """A draft (or archived) survey starts taking invitations; its definition must be complete."""
    actor.require(Perm.FEEDBACK_MANAGE)
    survey = Survey.objects.select_for_update().get(pk=survey.pk)
    if survey.status == SurveyStatus.ACTIVE:
        return survey
    parse_definition(survey.definition, kind=survey.kind)
    before = _snapshot(survey)
    survey.status = SurveyStatus.ACTIVE
    survey.save(update_fields=["status", "updated_at"])
    _audit(actor, "survey.activated", survey, "activated", before)
    return survey


@transaction.atomic
def archive_survey(actor: Actor, survey: Survey) -> Survey:
    """No new invitations (triggers stop, scheduled ones are skipped when due); sent links still work until
    they expire, and the answers stay in the scores."""
    actor.require(Perm.FEEDBACK_MANAGE)
    survey = Survey.objects.select_for_update().get(pk=survey.pk)
    if survey.status == SurveyStatus.ARCHIVED:
        return survey
    before = _snapshot(survey)
    survey.status = SurveyStatus.ARCHIVED
    survey.save(update_fields=["status", "updated_at"])
    _audit(actor, "survey.archived", survey, "archived", before)
    return survey


@transaction.atomic
def set_widget(actor: Actor, survey: Survey, *, enabled: bool) -> Survey:
    """Allow (or stop) websites showing this survey in the web widget. Off by default: a survey written for an
    email after a case makes no sense on a home page, so an admin opts each survey in."""
    actor.require(Perm.FEEDBACK_MANAGE)
    survey = _writable(survey)
    if survey.widget_enabled == enabled:
        return survey
    before = {**_snapshot(survey), "widget_enabled": survey.widget_enabled}
    survey.widget_enabled = enabled
    survey.save(update_fields=["widget_enabled", "updated_at"])
    record_audit(
        actor,
        "survey.widget_enabled" if enabled else "survey.widget_disabled",
        object_type="survey",
        object_id=survey.public_id,
        summary=f"{survey.key}: {'allowed in' if enabled else 'taken out of'} the web widget",
        before=before,
        after={**_snapshot(survey), "widget_enabled": enabled},
    )
    return survey
