"""Repeat contacts: a case opened while the customer had a recent case on the same matter is flagged and linked,
the text similarity behind it, and the repeat-contact rate per category and team."""

from __future__ import annotations

from datetime import timedelta

import pytest

from cxloop.cases import similarity
from cxloop.cases.models import Case, CaseLink, ChannelCaseSetting, RepeatContact
from cxloop.cases.queries import repeats as repeat_queries
from cxloop.cases.services import cases as case_services
from cxloop.core import clock
from cxloop.core.actor import Actor
from cxloop.core.errors import PermissionDeniedError, ValidationError
from cxloop.events import bus
from cxloop.privacy.models import AuditEntry
from tests.cases.factories import CaseFactory, CategoryFactory, TeamFactory
from tests.customers.factories import CustomerFactory

CHARGED = ("Card charged twice for one coffee", "I was charged twice at the cafe on Monday")
CHARGED_AGAIN = ("Double charge on my card", "The coffee on Monday was charged twice to my card")
ADDRESS = ("Change my delivery address", "Please send the parcel to my new flat in Leeds")


@pytest.fixture
def events():  # type: ignore[no-untyped-def]
    seen: list[bus.DomainEvent] = []
    bus.subscribe("*", seen.append)
    yield seen
    bus.unsubscribe("*", seen.append)


def _earlier(customer, text=CHARGED, *, days_ago: float = 2, **kwargs) -> Case:  # type: ignore[no-untyped-def]
    subject, description = text
    return CaseFactory(
        customer=customer,
        subject=subject,
        description=description,
        opened_at=clock.now() - timedelta(days=days_ago),
        **kwargs,
    )


def _open(actor, customer, text=CHARGED_AGAIN, **kwargs) -> Case:  # type: ignore[no-untyped-def]
    subject, description = text
    data = case_services.CaseInput(customer=customer, subject=subject, description=description, route=False, **kwargs)
    return case_services.open_case(actor, data)


# --- similarity --------------------------------------------------------------------------------------------------


def test_similarity_is_one_for_the_same_words_and_zero_for_none_shared():
    assert similarity.similarity("Card charged twice", "card CHARGED twice!") == 1.0
    assert similarity.similarity("Card charged twice", "Change my delivery address") == 0.0
    assert similarity.similarity("", "anything") == 0.0


def test_similarity_ignores_stop_words_and_meets_word_forms():
    # "the", "my", "was", "please" say nothing; "charged"/"charging" and "cards"/"card" are one word each
    assert similarity.terms("Please, the card was charged") == {"card", "charg"}
    assert similarity.terms("charging my cards") == {"charg", "card"}


def test_same_complaint_reworded_scores_above_the_threshold_and_another_matter_below(settings):
    threshold = settings.CXLOOP_REPEAT_SIMILARITY
    assert similarity.similarity("\n".join(CHARGED), "\n".join(CHARGED_AGAIN)) >= threshold
    assert similarity.similarity("\n".join(CHARGED), "\n".join(ADDRESS)) < threshold


# --- check_new_case (inside open_case) ------------------------------------------------------------------------


def test_same_category_within_the_window_is_a_repeat(alice, events, django_capture_on_commit_callbacks):
    # given: different words, same chosen category
    customer, category = CustomerFactory(), CategoryFactory(key="billing")
    earlier = _earlier(customer, ADDRESS, category=category)

    # when
    with django_capture_on_commit_callbacks(execute=True):
        case = _open(alice.actor, customer, category=category)

    # then
    case.refresh_from_db()
    earlier.refresh_from_db()
    assert case.is_repeat_contact is True
    repeat = RepeatContact.objects.get(case=case)
    assert (repeat.previous_case_id, repeat.matched_by) == (earlier.pk, "category")
    assert CaseLink.objects.filter(from_case=case, to_case=earlier, kind="related").count() == 1
    assert earlier.repeat_count == 1
    assert earlier.version == 1  # bookkeeping, not an edit of the earlier case
    audit = AuditEntry.objects.get(action="case.repeat_contact", object_id=case.public_id)
    assert audit.after["previous_case"] == earlier.public_id
    detected = [e for e in events if e.name == "case.repeat_contact"]
    assert [(e.case_id, e.previous_case_id, e.matched_by) for e in detected] == [  # type: ignore[attr-defined]
        (case.public_id, earlier.public_id, "category")
    ]


def test_similar_text_without_categories_is_a_repeat(alice):
    customer = CustomerFactory()
    earlier = _earlier(customer, CHARGED)

    case = _open(alice.actor, customer, CHARGED_AGAIN)

    repeat = RepeatContact.objects.get(case=case)
    assert (repeat.previous_case_id, repeat.matched_by) == (earlier.pk, "text")
    assert repeat.similarity is not None
    assert repeat.similarity >= 0.4
    assert case.is_repeat_contact is True


def test_a_case_resolved_within_the_window_counts_though_opened_long_ago(alice):
    customer = CustomerFactory()
    earlier = _earlier(customer, CHARGED, days_ago=30, status="resolved", resolved_at=clock.now() - timedelta(days=3))

    case = _open(alice.actor, customer, CHARGED_AGAIN)

    assert RepeatContact.objects.get(case=case).previous_case_id == earlier.pk


def test_outside_the_window_is_not_a_repeat(alice, settings):
    settings.CXLOOP_REPEAT_CONTACT_DAYS = 7
    customer, category = CustomerFactory(), CategoryFactory(key="billing")
    _earlier(customer, CHARGED, days_ago=8, category=category)

    case = _open(alice.actor, customer, CHARGED_AGAIN, category=category)

    assert case.is_repeat_contact is False
    assert not RepeatContact.objects.exists()


def test_dissimilar_text_is_not_a_repeat(alice):
    customer = CustomerFactory()
    earlier = _earlier(customer, ADDRESS)

    case = _open(alice.actor, customer, CHARGED_AGAIN)

    earlier.refresh_from_db()
    assert case.is_repeat_contact is False
    assert earlier.repeat_count == 0
    assert not CaseLink.objects.exists()


def test_another_customers_case_is_not_a_repeat(alice):
    _earlier(CustomerFactory(), CHARGED)

    case = _open(alice.actor, CustomerFactory(), CHARGED_AGAIN)

    assert case.is_repeat_contact is False


def test_different_chosen_categories_are_different_matters_however_alike_the_words(alice):
    customer = CustomerFactory()
    _earlier(customer, CHARGED, category=CategoryFactory(key="billing"))

    case = _open(alice.actor, customer, CHARGED_AGAIN, category=CategoryFactory(key="fraud"))

    assert case.is_repeat_contact is False


def test_a_channels_default_category_is_no_evidence(db, system):
    # given: the email channel opens cases as "general"; the customer had an unrelated "general" case
    general = CategoryFactory(key="general")
    ChannelCaseSetting.objects.create(channel="email", opens_cases=True, category=general)
    customer = CustomerFactory()
    _earlier(customer, ADDRESS, category=general)

    # when: the intake (a system actor) opens a case on another matter with the default category
    case = _open(system, customer, CHARGED_AGAIN, category=general, source_channel="email")

    # then
    assert case.is_repeat_contact is False


def test_the_category_match_wins_over_a_more_similar_text(alice):
    customer, category = CustomerFactory(), CategoryFactory(key="billing")
    by_category = _earlier(customer, ADDRESS, days_ago=3, category=category)
    _earlier(customer, CHARGED, days_ago=1)

    case = _open(alice.actor, customer, CHARGED_AGAIN, category=category)

    assert RepeatContact.objects.get(case=case).previous_case_id == by_category.pk


def test_a_merged_duplicate_is_not_a_previous_case(alice):
    customer = CustomerFactory()
    survivor = _earlier(customer, ADDRESS)
    _earlier(customer, CHARGED, status="closed", merged_into=survivor)

    case = _open(alice.actor, customer, CHARGED_AGAIN)

    assert case.is_repeat_contact is False


# --- the repeat-contact rate ------------------------------------------------------------------------------------


def _repeat(case: Case, previous: Case) -> RepeatContact:
    return RepeatContact.objects.create(
        case=case, previous_case=previous, matched_by="text", similarity=0.8, detected_at=clock.now()
    )


@pytest.fixture
def rated(db):  # type: ignore[no-untyped-def]
    """billing: 3 cases in team A, one a repeat of another, plus a contact folded into one → 2 of 4 contacts.
    delivery: 2 cases in team B, no repeat. One billing case and repeat from last year fall outside the period."""
    billing, delivery = CategoryFactory(key="billing", name="Billing"), CategoryFactory(key="delivery", name="Delivery")
    team_a, team_b = TeamFactory(name="Team A"), TeamFactory(name="Team B")
    first, second, _ = (CaseFactory(category=billing, team=team_a) for _ in range(3))
    _repeat(second, first)
    _repeat(first, first)  # a new conversation joined the first case
    CaseFactory.create_batch(2, category=delivery, team=team_b)
    old = CaseFactory(category=billing, team=team_a, opened_at=clock.now() - timedelta(days=400))
    RepeatContact.objects.create(
        case=old, previous_case=old, matched_by="text", detected_at=clock.now() - timedelta(days=400)
    )
    return billing, delivery


def test_rate_per_category_counts_contacts_within_the_period(alice, rated):
    rows = repeat_queries.repeat_contact_rate(alice.actor, by="category", since=clock.now() - timedelta(days=30))

    assert [(r.key, r.label, r.cases, r.repeat_contacts, r.contacts, r.rate) for r in rows] == [
        ("billing", "Billing", 3, 2, 4, 0.5),
        ("delivery", "Delivery", 2, 0, 2, 0.0),
    ]


def test_rate_per_team(charlie, rated):
    rows = repeat_queries.repeat_contact_rate(charlie.actor, by="team", since=clock.now() - timedelta(days=30))

    assert [(r.label, r.cases, r.repeat_contacts, r.rate) for r in rows] == [
        ("Team A", 3, 2, 0.5),
        ("Team B", 2, 0, 0.0),
    ]


def test_rate_without_a_period_counts_everything(alice, rated):
    rows = repeat_queries.repeat_contact_rate(alice.actor)
    assert [(r.key, r.cases, r.repeat_contacts, r.contacts) for r in rows] == [
        ("billing", 4, 3, 6),
        ("delivery", 2, 0, 2),
    ]


def test_rate_refuses_an_unknown_grouping_and_an_empty_period(alice):
    with pytest.raises(ValidationError) as unknown:
        repeat_queries.repeat_contact_rate(alice.actor, by="owner")
    assert unknown.value.fields == {"by": "one of category, team"}
    now = clock.now()
    with pytest.raises(ValidationError) as empty:
        repeat_queries.repeat_contact_rate(alice.actor, since=now, until=now)
    assert empty.value.fields == {"until": "must be after since"}


def test_rate_and_repeat_list_refuse_who_may_not_read_cases(db):
    nobody = Actor(user=None, via="test")
    with pytest.raises(PermissionDeniedError):
        repeat_queries.repeat_contact_rate(nobody)
    with pytest.raises(PermissionDeniedError):
        repeat_queries.case_repeat_contacts(nobody, CaseFactory())


def test_a_cases_repeat_contacts_both_ways_newest_first(alice):
    customer = CustomerFactory()
    earlier = _earlier(customer, CHARGED)
    later = _open(alice.actor, customer, CHARGED_AGAIN)
    folded = _repeat(earlier, earlier)

    on_earlier = repeat_queries.case_repeat_contacts(alice.actor, earlier)
    on_later = repeat_queries.case_repeat_contacts(alice.actor, later)

    assert [r.pk for r in on_earlier] == [folded.pk, RepeatContact.objects.get(case=later).pk]
    assert [(r.case_id, r.previous_case_id) for r in on_later] == [(later.pk, earlier.pk)]
