"""Repeat contacts: a customer comes back within CXLOOP_REPEAT_CONTACT_DAYS about a matter a recent case handled.

Two ways in:
- check_new_case, called by open_case inside its transaction: the new case is compared with the customer's other
  recent cases (opened, resolved or closed within the window). It is a repeat of one when they share a
  conversation (a message on a closed case's conversation opened it), when both carry the same category, or when
  their texts are similar (cxloop.cases.similarity at CXLOOP_REPEAT_SIMILARITY). The new case is flagged, linked
  "related" to the earlier one, and the earlier one's repeat_count goes up.
- find_recent_case + fold_into_case, used by the inbound intake (cases.services.intake) for the first message of a
  new conversation: when it is about an active or resolved case of the customer, the conversation joins that case
  (a resolved case reopens) instead of starting another, and the case records the repeat contact.

A category only counts as evidence when a person (or a rule other than the channel's default) chose it: a case the
intake opened with its channel's default category says nothing about the matter, so only its text is compared.
Two cases whose chosen categories differ are different matters, however alike their words.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import F, Q

from cxloop.cases.events import CaseLinked, RepeatContactDetected
from cxloop.cases.models import (
    Case,
    CaseConversation,
    CaseLink,
    CaseLinkKind,
    CaseStatus,
    ChannelCaseSetting,
    RepeatContact,
)
from cxloop.cases.services import activity
from cxloop.cases.similarity import term_similarity, terms
from cxloop.core import clock
from cxloop.core.actor import Actor
from cxloop.events.bus import DomainEvent, publish_all
from cxloop.interactions.models import Direction, Interaction, Thread
from cxloop.privacy.services import record_audit

# Matched-by values of RepeatContact.
BY_CONVERSATION = "conversation"
BY_CATEGORY = "category"
BY_TEXT = "text"

# A customer with more recent cases than this is compared with the newest ones only (a bound on the work per message).
MAX_CANDIDATES = 20
# How many of a case's first customer messages go into its text, and how much of each.
MESSAGES_PER_CASE = 3
MESSAGE_CHARS = 2000
_PRIORITY = {BY_CONVERSATION: 2, BY_CATEGORY: 1, BY_TEXT: 0}


def _actor() -> Actor:
    return Actor.system("cases:repeats")


def window() -> timedelta:
    return timedelta(days=max(int(settings.CXLOOP_REPEAT_CONTACT_DAYS), 0))


def threshold() -> float:
    return float(settings.CXLOOP_REPEAT_SIMILARITY)


@dataclass(frozen=True)
class Match:
    """The recent case a new item is about, and why we think so."""

    case: Case
    matched_by: str  # conversation | category | text
    similarity: float | None


def recent_cases(customer_id: int, at: datetime, *, exclude: int | None = None) -> list[Case]:
    """The customer's cases opened, resolved or closed within the window before `at` (merged duplicates left out),
    newest first."""
    days = window()
    if not days:
        return []
    since = at - days
    rows = (
        Case.objects.filter(customer_id=customer_id, merged_into__isnull=True, opened_at__lte=at)
        .filter(Q(opened_at__gte=since) | Q(resolved_at__gte=since) | Q(closed_at__gte=since))
        .select_related("category")
        .order_by("-opened_at", "-id")
    )
    if exclude is not None:
        rows = rows.exclude(pk=exclude)
    return list(rows[:MAX_CANDIDATES])


def _message_text(interaction: Interaction) -> str:
    return (interaction.body or interaction.summary)[:MESSAGE_CHARS]


def case_text(case: Case) -> str:
    """What a case is about in words: subject, description and its first messages from the customer."""
    messages = Interaction.objects.filter(case_ref=case.public_id, direction=Direction.INBOUND).order_by(
        "occurred_at", "id"
    )[:MESSAGES_PER_CASE]
    return "\n".join([case.subject, case.description, *(_message_text(m) for m in messages)])


def message_text(thread: Thread, interaction: Interaction) -> str:
    """What a new conversation's first message is about: the conversation's subject and the message."""
    return f"{thread.subject}\n{_message_text(interaction)}"


def _chosen_category(case: Case) -> int | None:
    """The case's category if it says something about the matter: not merely the default of the channel that
    opened it by itself."""
    if case.category_id is None:
        return None
    if case.created_by_id is None and case.source_channel:
        default = ChannelCaseSetting.objects.filter(
            channel=case.source_channel, opens_cases=True, category_id=case.category_id
        ).exists()
        if default:
            return None
    return case.category_id


def _thread_ids(case: Case) -> list[int]:
    return list(CaseConversation.objects.filter(case=case).values_list("thread_id", flat=True))


def _conversation_match(thread_ids: list[int], candidates: list[Case]) -> Match | None:
    """An earlier case that served one of this case's conversations (a message on a closed case's conversation)."""
    if not thread_ids:
        return None
    by_pk = {c.pk: c for c in candidates}
    shared = (
        CaseConversation.objects.filter(thread_id__in=thread_ids, case_id__in=list(by_pk))
        .order_by("-linked_at", "-id")
        .values_list("case_id", flat=True)
        .first()
    )
    return Match(by_pk[shared], BY_CONVERSATION, None) if shared is not None else None


def _new_case_text(case: Case, thread_ids: list[int]) -> str:
    """The new case's words: subject, description and the newest customer messages of its conversations (when the
    intake opened it, the message that started it)."""
    messages = Interaction.objects.filter(thread_id__in=thread_ids, direction=Direction.INBOUND).order_by(
        "-occurred_at", "-id"
    )[:MESSAGES_PER_CASE]
    return "\n".join([case.subject, case.description, *(_message_text(m) for m in messages)])


def best_match(text: str, candidates: list[Case], *, category_id: int | None = None) -> Match | None:
    """The candidate most likely on the same matter as `text` (and its chosen `category_id`), or None.

    A shared chosen category beats text similarity; among equals the more similar, then the newer case wins.
    Candidates whose chosen category differs from `category_id` are other matters and are skipped."""
    words = terms(text)
    limit = threshold()
    best: tuple[tuple[int, float, int], Match] | None = None
    for newness, candidate in enumerate(reversed(candidates)):  # candidates come newest first
        theirs = _chosen_category(candidate) if category_id is not None else None
        if theirs is not None and theirs != category_id:
            continue
        score = term_similarity(words, terms(case_text(candidate)))
        if theirs is not None:
            match = Match(candidate, BY_CATEGORY, score)
        elif score >= limit:
            match = Match(candidate, BY_TEXT, score)
        else:
            continue
        key = (_PRIORITY[match.matched_by], score, newness)
        if best is None or key > best[0]:
            best = (key, match)
    return best[1] if best is not None else None


def check_new_case(case: Case, *, at: datetime) -> RepeatContact | None:
    """Flag a case being opened as a repeat contact when its customer had a case on the same matter within the
    window. Runs inside open_case's transaction, after the case's conversation (if any) is linked."""
    candidates = recent_cases(case.customer_id, at, exclude=case.pk)
    if not candidates:
        return None
    thread_ids = _thread_ids(case)
    match = _conversation_match(thread_ids, candidates)
    if match is None:
        match = best_match(_new_case_text(case, thread_ids), candidates, category_id=_chosen_category(case))
    if match is None:
        return None
    interaction_ref = (
        Interaction.objects.filter(thread_id__in=thread_ids, direction=Direction.INBOUND)
        .order_by("-occurred_at", "-id")
        .values_list("public_id", flat=True)
        .first()
        if thread_ids
        else None
    )
    case.is_repeat_contact = True
    case.save(update_fields=["is_repeat_contact", "updated_at"])
    link, linked = CaseLink.objects.get_or_create(from_case=case, to_case=match.case, kind=CaseLinkKind.RELATED)
    events: list[DomainEvent] = []
    if linked:
        events.append(CaseLinked(case_id=case.public_id, other_case_id=match.case.public_id, kind=link.kind))
    return _record(case, match, interaction_ref or "", at, events)


def _record(case: Case, match: Match, interaction_ref: str, at: datetime, events: list[DomainEvent]) -> RepeatContact:
    """The RepeatContact row, the earlier case's counter, the audit entry and the event."""
    previous = match.case
    repeat = RepeatContact.objects.create(
        case=case,
        previous_case=previous,
        interaction_ref=interaction_ref,
        matched_by=match.matched_by,
        similarity=match.similarity,
        detected_at=at,
    )
    Case.objects.filter(pk=previous.pk).update(repeat_count=F("repeat_count") + 1)
    previous.refresh_from_db(fields=["repeat_count"])
    how = match.matched_by + (f" {match.similarity:.2f}" if match.similarity is not None else "")
    record_audit(
        _actor(),
        "case.repeat_contact",
        object_type="case",
        object_id=case.public_id,
        summary=(
            f"#{case.pk} repeats #{previous.pk} ({how})"
            if previous.pk != case.pk
            else f"#{case.pk}: the customer came back ({how})"
        ),
        after={
            "previous_case": previous.public_id,
            "matched_by": match.matched_by,
            "similarity": match.similarity,
            "interaction": interaction_ref or None,
        },
    )
    events.append(
        RepeatContactDetected(
            case_id=case.public_id,
            previous_case_id=previous.public_id,
            interaction_id=interaction_ref,
            matched_by=match.matched_by,
        )
    )
    publish_all(events)
    return repeat


def find_recent_case(thread: Thread, interaction: Interaction, *, at: datetime | None = None) -> Match | None:
    """The customer's recent case the first message of a new conversation is about (by its words), if any."""
    now = at or clock.now()
    candidates = recent_cases(thread.customer_id, now)
    if not candidates:
        return None
    return best_match(message_text(thread, interaction), candidates)


def fold_into_case(match: Match, thread: Thread, interaction: Interaction, *, at: datetime | None = None) -> Case:
    """The new conversation is the customer coming back about `match.case` (active or resolved): it joins that case,
    a resolved case reopens ("repeat contact"), the message counts as the customer's on the case, and the case
    records the repeat contact. Runs in the caller's transaction."""
    from cxloop.cases.services import cases as case_services  # cases imports this module

    now = at or clock.now()
    actor = _actor()
    case = case_services.link_conversation(actor, match.case, thread)
    if case.status == CaseStatus.RESOLVED:
        case = case_services.change_status(actor, case, CaseStatus.OPEN, reason="repeat contact", at=now)
    activity.note_case_message(case.public_id, interaction.public_id)
    case.refresh_from_db()
    _record(case, Match(case, match.matched_by, match.similarity), interaction.public_id, now, [])
    case.refresh_from_db(fields=["repeat_count"])
    return case
