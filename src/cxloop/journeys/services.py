"""The writers of journeys and their versions: create from a document, publish a new version, activate, pause,
resume and archive, install a shipped example.

A document is checked whole (documents.parse_journey): a refused one answers 422 with the path of each problem
("steps[3].next", "trigger.event"; "document" for a syntax error), exactly as the parser names them, so the API
and the editor show the same reasons. A version is never changed once written: publishing makes the next
number and moves `current_version`; running enrolments keep the version they entered with. The journey's
`trigger_kind` / `trigger_event_type` follow the current version's trigger, so an incoming event finds its
journeys with one indexed query. Every change is audited and published (journey.published,
journey.status_changed) on commit.

Status rules (models.JourneyStatus): draft → active (activate); active → paused (pause); paused → active
(resume); draft, active or paused → archived (archive, which exits the running enrolments). Asking for the
status a journey already has changes nothing; any other move answers 409 `journey_not_active`.
"""

from __future__ import annotations

import json
import re
import uuid
from typing import Any, Literal

import yaml
from django.db import IntegrityError, transaction
from django.db.models import Max

from cxloop.core import clock
from cxloop.core.actor import Actor
from cxloop.core.errors import NotFoundError, ValidationError
from cxloop.core.permissions import Perm
from cxloop.customers.models import Customer
from cxloop.events.bus import publish
from cxloop.journeys import enrolments
from cxloop.journeys.documents import example_names, example_text, parse_journey
from cxloop.journeys.elements import (
    DateAttributeTrigger,
    EventTrigger,
    JourneyDocument,
    ManualTrigger,
    SegmentTrigger,
    Trigger,
)
from cxloop.journeys.errors import JourneyExistsError, JourneyNotActiveError
from cxloop.journeys.events import JourneyPublished, JourneyStatusChanged
from cxloop.journeys.models import Enrolment, EnrolmentState, Journey, JourneyStatus, JourneyVersion
from cxloop.privacy.services import record_audit

Syntax = Literal["yaml", "json"]
SYNTAXES: tuple[str, ...] = ("yaml", "json")
NOTE_MAX = 500
ARCHIVE_REASON = "journey archived"

# What each status change may start from, and its name in the audit trail.
_MOVES: dict[str, tuple[tuple[str, ...], str]] = {
    JourneyStatus.ACTIVE: ((JourneyStatus.DRAFT,), "activated"),
    JourneyStatus.PAUSED: ((JourneyStatus.ACTIVE,), "paused"),
    JourneyStatus.ARCHIVED: ((JourneyStatus.DRAFT, JourneyStatus.ACTIVE, JourneyStatus.PAUSED), "archived"),
}


def trigger_fields(trigger: Trigger) -> tuple[str, str]:
    """(trigger_kind, trigger_event_type) as the Journey row keeps them."""
    if isinstance(trigger, EventTrigger):
        return "event", trigger.event_type
    if isinstance(trigger, SegmentTrigger):
        return "segment", ""
    if isinstance(trigger, DateAttributeTrigger):
        return "date_attribute", ""
    assert isinstance(trigger, ManualTrigger)
    return "manual", ""


def parse_source(source: str, syntax: str) -> JourneyDocument:
    """The checked document of `source`, or a ValidationError naming each problem's path."""
    if syntax not in SYNTAXES:
        raise ValidationError("Unknown syntax.", fields={"syntax": "must be yaml or json"})
    if not source.strip():
        raise ValidationError("The journey document is empty.", fields={"document": "must not be empty"})
    return parse_journey(source, syntax="json" if syntax == "json" else "yaml")


def _snapshot(journey: Journey) -> dict[str, Any]:
    version = journey.current_version
    return {
        "key": journey.key,
        "name": journey.name,
        "status": journey.status,
        "version": version.number if version is not None else None,
        "trigger_kind": journey.trigger_kind,
        "trigger_event_type": journey.trigger_event_type,
    }


def _audit(actor: Actor, action: str, journey: Journey, summary: str, before: dict[str, Any] | None = None) -> None:
    record_audit(
        actor,
        action,
        object_type="journey",
        object_id=journey.public_id,
        summary=f"{journey.key}: {summary}",
        before=before,
        after=_snapshot(journey),
    )


def _write_version(
    actor: Actor, journey: Journey, document: JourneyDocument, source: str, syntax: str, note: str, number: int
) -> JourneyVersion:
    note = (note or document.version_note).strip()
    if len(note) > NOTE_MAX:
        raise ValidationError("The note is too long.", fields={"note": f"at most {NOTE_MAX} characters"})
    version = JourneyVersion.objects.create(
        journey=journey,
        number=number,
        document=dict(document.data),
        source=source,
        syntax=syntax,
        note=note,
        created_by=actor.user,
    )
    journey.current_version = version
    journey.name = document.name
    journey.description = document.description
    journey.trigger_kind, journey.trigger_event_type = trigger_fields(document.trigger)
    return version


@transaction.atomic
def create_journey(actor: Actor, source: str, *, syntax: str = "yaml") -> Journey:
    """A draft journey with version 1; its key, name and description come from the document."""
    actor.require(Perm.JOURNEYS_MANAGE)
    document = parse_source(source, syntax)
    journey = Journey(key=document.key, name=document.name, description=document.description, created_by=actor.user)
    try:
        with transaction.atomic():
            journey.save()
    except IntegrityError:
        raise JourneyExistsError(
            f"A journey with the key {document.key} exists.", fields={"key": "already used by another journey"}
        ) from None
    version = _write_version(actor, journey, document, source, syntax, "", 1)
    journey.save()
    _audit(actor, "journey.created", journey, f"created as a draft (version {version.number})")
    publish(JourneyPublished(journey_id=journey.public_id, key=journey.key, version=version.number))
    return journey


@transaction.atomic
def publish_version(
    actor: Actor, journey: Journey, source: str, *, syntax: str = "yaml", note: str = ""
) -> JourneyVersion:
    """The next version becomes current; enrolments already running go on with the version they entered with."""
    actor.require(Perm.JOURNEYS_MANAGE)
    document = parse_source(source, syntax)
    journey = Journey.objects.select_related("current_version").select_for_update(of=("self",)).get(pk=journey.pk)
    if journey.status == JourneyStatus.ARCHIVED:
        raise JourneyNotActiveError("The journey is archived; it takes no new versions.")
    if document.key != journey.key:
        raise ValidationError(
            "The document names another journey.", fields={"key": f"must stay {journey.key} (the journey's key)"}
        )
    before = _snapshot(journey)
    latest = JourneyVersion.objects.filter(journey=journey).aggregate(n=Max("number"))["n"] or 0
    version = _write_version(actor, journey, document, source, syntax, note, latest + 1)
    journey.save()
    _audit(actor, "journey.published", journey, f"version {version.number} published", before)
    publish(JourneyPublished(journey_id=journey.public_id, key=journey.key, version=version.number))
    return version


def _move(actor: Actor, journey: Journey, target: str, *, verb: str | None = None) -> tuple[Journey, str | None]:
    """Lock the journey and set `target`; returns the journey and the previous status (None: nothing to do)."""
    actor.require(Perm.JOURNEYS_MANAGE)
    journey = Journey.objects.select_related("current_version").select_for_update(of=("self",)).get(pk=journey.pk)
    starts, done = _MOVES[target]
    if target == JourneyStatus.ACTIVE and verb == "resumed":
        starts = (JourneyStatus.PAUSED,)
    if journey.status == target:
        return journey, None
    if journey.status not in starts:
        allowed = " or ".join(JourneyStatus(s).label.lower() for s in starts)
        raise JourneyNotActiveError(
            f"The journey is {JourneyStatus(journey.status).label.lower()}; only {allowed} journeys can be "
            f"{verb or done}."
        )
    before = _snapshot(journey)
    previous = journey.status
    journey.status = target
    now = clock.now()
    if target == JourneyStatus.PAUSED:
        journey.paused_at = now
    elif target == JourneyStatus.ACTIVE:
        journey.paused_at = None
    else:
        journey.archived_at = now
    journey.save(update_fields=["status", "paused_at", "archived_at", "updated_at"])
    _audit(actor, f"journey.{verb or done}", journey, verb or done, before)
    publish(JourneyStatusChanged(journey_id=journey.public_id, key=journey.key, status=target, previous=previous))
    return journey, previous


@transaction.atomic
def activate_journey(actor: Actor, journey: Journey) -> Journey:
    """A draft starts enrolling on its trigger."""
    return _move(actor, journey, JourneyStatus.ACTIVE, verb="activated")[0]


@transaction.atomic
def pause_journey(actor: Actor, journey: Journey) -> Journey:
    """No new enrolments, and the timers of running ones wait; due ones run on resume."""
    return _move(actor, journey, JourneyStatus.PAUSED)[0]


@transaction.atomic
def resume_journey(actor: Actor, journey: Journey) -> Journey:
    return _move(actor, journey, JourneyStatus.ACTIVE, verb="resumed")[0]


@transaction.atomic
def archive_journey(actor: Actor, journey: Journey) -> Journey:
    """Finished for good: nobody new enters and every running enrolment is exited (in the same transaction)."""
    journey, previous = _move(actor, journey, JourneyStatus.ARCHIVED)
    running = Enrolment.objects.filter(journey=journey, state=EnrolmentState.ACTIVE)
    if previous is not None and running.exists():
        enrolments.exit_all(actor, journey, reason=ARCHIVE_REASON)
    return journey


KEY_MAX = 64  # the document schema's key pattern allows 64 characters
_TOP_LEVEL_LINE = {name: re.compile(rf"(?m)^{name}:[ \t]*\S.*$") for name in ("key", "name")}


def _free_key(base: str) -> str:
    """`base`, or `base-2`, `base-3`…: the first key no journey has, within the schema's length."""
    candidates = [base[:KEY_MAX]] + [f"{base[: KEY_MAX - len(str(n)) - 1]}-{n}" for n in range(2, 1000)]
    taken = set(Journey.objects.filter(key__in=candidates).values_list("key", flat=True))
    return next(c for c in candidates if c not in taken)


def _renamed_source(source: str, syntax: str, key: str, name: str) -> str:
    """The document's text with another key and name. YAML keeps its comments and layout when its top-level
    key and name lines are found once each; otherwise (and for JSON) the data is written out again."""
    if syntax == "yaml":
        lines = {field: pattern.findall(source) for field, pattern in _TOP_LEVEL_LINE.items()}
        if all(len(found) == 1 for found in lines.values()):
            source = _TOP_LEVEL_LINE["key"].sub(f"key: {key}", source)
            return _TOP_LEVEL_LINE["name"].sub(lambda _: f"name: {json.dumps(name, ensure_ascii=False)}", source)
        data = yaml.safe_load(source)
        data.update(key=key, name=name)
        return str(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
    data = json.loads(source)
    data.update(key=key, name=name)
    return json.dumps(data, ensure_ascii=False, indent=2)


@transaction.atomic
def duplicate_journey(actor: Actor, journey: Journey) -> Journey:
    """A new draft journey from `journey`'s current document, as "<key>-copy" / "Copy of <name>", to change and
    activate on its own: no enrolments, figures or versions come with it (create_journey checks and audits it)."""
    actor.require(Perm.JOURNEYS_MANAGE)
    version = journey.current_version
    if version is None:
        raise ValidationError("The journey has no document to copy.", fields={"journey": "has no version"})
    name = f"Copy of {journey.name}"[:200]
    source = _renamed_source(version.source, version.syntax, _free_key(f"{journey.key}-copy"), name)
    return create_journey(actor, source, syntax=version.syntax)


@transaction.atomic
def install_example(actor: Actor, name: str) -> Journey:
    """A shipped example (examples/<name>.yaml, comments included) as an editable draft journey."""
    actor.require(Perm.JOURNEYS_MANAGE)
    if name not in example_names():
        raise NotFoundError(f"No example journey {name}.", code="example_not_found")
    return create_journey(actor, example_text(name), syntax="yaml")


def enrol_manually(
    actor: Actor, journey: Journey, customer: Customer, *, context: dict[str, Any] | None = None, ref: str = ""
) -> Enrolment:
    """Put a customer into an active journey by hand (the re-entry policy still applies: 409 already_enrolled).

    `ref` makes a retry idempotent (the same ref enrols once); without one every call is a new request.
    """
    actor.require(Perm.JOURNEYS_ENROL)
    who = actor.user.get_username() if actor.user is not None else actor.via
    trigger_ref = f"manual:{who}:{ref or uuid.uuid4().hex}"
    return enrolments.enrol(actor, journey, customer, trigger_ref=trigger_ref, context=context)


def remove_enrolment(actor: Actor, enrolment: Enrolment, *, reason: str) -> Enrolment:
    """Take a customer out of a journey (their enrolment exits with `reason`; 409 when it already finished)."""
    actor.require(Perm.JOURNEYS_ENROL)
    reason = " ".join(reason.split())
    if not reason:
        raise ValidationError("Say why.", fields={"reason": "must not be empty"})
    return enrolments.remove(actor, enrolment, reason=reason[:300])
