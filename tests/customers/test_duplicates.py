"""Batch duplicate detection: real Splink runs (DuckDB, in memory) on generated customers with known duplicates.

The people come from cxloop.demo.people: realistic names of nine countries, identities as people type
them, and planted second profiles of the same person (a typo, a nickname, the name surname-first or
in capitals, a sub-addressed or work e-mail, the same number seen on WhatsApp, a WhatsApp profile
with only a first name). Traps sit beside them: namesakes (same full name, own contacts) and relatives
(same surname and country). The tests measure precision and recall against that ground truth.
"""

from __future__ import annotations

import random
import time
from io import StringIO

import pytest
from django.core.management import call_command
from django_tasks_db.models import DBTaskResult

from cxloop.core.actor import Actor
from cxloop.core.errors import PermissionDeniedError, ValidationError
from cxloop.customers import duplicates
from cxloop.customers import services as customer_services
from cxloop.customers.models import Customer, MergeSuggestion, SuggestionStatus
from cxloop.customers.nicknames import canonical_given_name
from cxloop.customers.tasks import find_duplicates as find_duplicates_task
from cxloop.customers.types import CustomerInput, IdentityInput
from cxloop.demo.people import DUPLICATE_VARIANTS, PeopleGenerator, Person
from cxloop.privacy.models import AuditEntry

Pair = tuple[int, int]


class Population:
    """Customers created through the services, with the pairs that are truly one person."""

    def __init__(self) -> None:
        self.customers: list[Customer] = []
        self.planted: set[Pair] = set()
        self.traps: set[Pair] = set()
        self.variants: dict[Pair, str] = {}

    def add(self, person: Person) -> Customer:
        customer = customer_services.create_customer(
            Actor.system("test"),
            CustomerInput(
                name=person.name,
                country=person.country,
                locale=person.locale,
                time_zone=person.time_zone,
                identities=[
                    IdentityInput(kind=i.kind, value=i.value, network=i.network or None, region=i.region or None)
                    for i in person.identities
                ],
            ),
        )
        self.customers.append(customer)
        return customer


def _pair(first: Customer, second: Customer) -> Pair:
    return (min(first.pk, second.pk), max(first.pk, second.pk))


def _populate(size: int, *, duplicates_share: float, traps: int, seed: int) -> Population:
    """`size` customers, of whom `duplicates_share` are second profiles, plus `traps` namesakes and relatives."""
    generator, rng, population = PeopleGenerator(seed), random.Random(seed), Population()
    planted = int(size * duplicates_share)
    originals = [(person, population.add(person)) for person in (generator.person() for _ in range(size - planted))]
    for person, customer in rng.sample(originals, planted):
        duplicate = generator.duplicate_of(person)
        pair = _pair(customer, population.add(duplicate))
        population.planted.add(pair)
        population.variants[pair] = duplicate.variant
    for person, customer in rng.sample(originals, traps):
        trap = generator.namesake(person) if rng.random() < 0.5 else generator.relative(person)
        population.traps.add(_pair(customer, population.add(trap)))
    return population


def _suggested() -> set[Pair]:
    return {
        (s.customer_a_id, s.customer_b_id)
        for s in MergeSuggestion.objects.filter(source="splink", status=SuggestionStatus.PENDING)
    }


@pytest.fixture
def small_population(db: None) -> Population:
    return _populate(36, duplicates_share=0.1, traps=4, seed=11)


def test_planted_duplicates_are_found_and_unrelated_pairs_are_not(db, capsys):
    # given 200 customers with 20 planted duplicates, 12 namesakes/relatives, and every other pair unrelated
    population = _populate(188, duplicates_share=0.1, traps=12, seed=2024)
    assert len(population.customers) == 200
    assert len(population.planted) == 18
    assert set(population.variants.values()) == set(DUPLICATE_VARIANTS)  # this seed plants every kind

    # when
    started = time.perf_counter()
    run = duplicates.find_duplicates(Actor.system("test"), threshold=0.9)
    seconds = time.perf_counter() - started

    # then every planted pair is suggested (recall 1.0) and nothing else is (precision 1.0)
    suggested = _suggested()
    true_positives = suggested & population.planted
    precision = len(true_positives) / len(suggested)
    recall = len(true_positives) / len(population.planted)
    with capsys.disabled():
        print(f"\nsplink: 200 customers, P={precision:.3f} R={recall:.3f}, {seconds:.2f} s, {run.pairs_scored} pairs")  # noqa: T201 - the measured figures
    missed = {population.variants[p] for p in population.planted - suggested}
    assert suggested - population.planted == set(), "unrelated pairs suggested"
    assert missed == set(), "planted duplicates missed"
    assert not suggested & population.traps
    assert run.customers_scanned == 200
    assert run.suggestions_created == run.pairs_above_threshold == 18
    assert run.pairs_scored > 18
    assert run.trained_with == "priors"


def test_evidence_names_the_fields_that_agreed(small_population):
    # when
    duplicates.find_duplicates(Actor.system("test"))

    # then each suggestion says which comparison levels the pair reached, with both sides' values
    suggestions = list(MergeSuggestion.objects.filter(source="splink"))
    assert {(s.customer_a_id, s.customer_b_id) for s in suggestions} == small_population.planted
    for suggestion in suggestions:
        evidence = suggestion.evidence
        assert evidence["model"] == "splink"
        assert set(evidence["fields"]) == {"name", "email", "phone", "country"}
        agreed = [name for name, f in evidence["fields"].items() if f["gamma"] > 0]
        assert evidence["agreed"] == agreed
        assert evidence["rule"].startswith(f"Splink, p = {suggestion.probability:.4f}: ")
        assert all(f"{name}: {evidence['fields'][name]['level']}" in evidence["rule"] for name in agreed)
        assert {"email", "phone"} & set(agreed), "every planted pair shares an address or a number"
        for field in evidence["fields"].values():
            assert set(field) == {"level", "gamma", "agrees", "values"}
            assert len(field["values"]) == 2
        assert 0.9 <= suggestion.probability < 1
    name_values = {tuple(s.evidence["fields"]["name"]["values"]) for s in suggestions}
    names = {c.pk: c.name for c in small_population.customers}
    expected = {tuple(duplicates.normalise_name(names[pk]) for pk in pair) for pair in small_population.planted}
    assert name_values == expected


def test_rerun_creates_no_new_suggestions(small_population):
    first = duplicates.find_duplicates(Actor.system("test"))
    before = list(MergeSuggestion.objects.order_by("pk").values_list("pk", "status", "probability"))
    audits = AuditEntry.objects.filter(action="customer.duplicates_found").count()

    second = duplicates.find_duplicates(Actor.system("test"))

    assert first.suggestions_created == len(small_population.planted) == 3
    assert second.suggestions_created == 0
    assert second.pairs_above_threshold == first.pairs_above_threshold
    assert list(MergeSuggestion.objects.order_by("pk").values_list("pk", "status", "probability")) == before
    assert AuditEntry.objects.filter(action="customer.duplicates_found").count() == audits == 1


def test_dismissed_pair_is_not_suggested_again(small_population, bob):
    duplicates.find_duplicates(Actor.system("test"))
    dismissed = MergeSuggestion.objects.order_by("pk").first()
    customer_services.dismiss_suggestion(bob.actor, dismissed)

    run = duplicates.find_duplicates(Actor.system("test"))

    assert run.suggestions_created == 0
    pair = MergeSuggestion.objects.filter(customer_a=dismissed.customer_a, customer_b=dismissed.customer_b)
    assert list(pair.values_list("status", flat=True)) == [SuggestionStatus.DISMISSED]
    assert _suggested() == small_population.planted - {(dismissed.customer_a_id, dismissed.customer_b_id)}


def test_merged_profiles_leave_the_scan(small_population, bob):
    duplicates.find_duplicates(Actor.system("test"))
    accepted = MergeSuggestion.objects.order_by("pk").first()
    customer_services.accept_suggestion(bob.actor, accepted, keep=accepted.customer_a)

    run = duplicates.find_duplicates(Actor.system("test"))

    assert run.customers_scanned == len(small_population.customers) - 1
    assert run.suggestions_created == 0
    assert MergeSuggestion.objects.filter(status=SuggestionStatus.MERGED).count() == 1
    assert MergeSuggestion.objects.count() == len(small_population.planted)


def test_empty_database_is_nothing_to_do(db):
    run = duplicates.find_duplicates(Actor.system("test"))

    assert run.customers_scanned == 0
    assert run.skipped.startswith("fewer than 10 active customers")
    assert run.pairs_scored == run.suggestions_created == 0
    assert not MergeSuggestion.objects.exists()


def test_small_database_is_skipped_even_with_a_duplicate(db):
    generator, population = PeopleGenerator(5), Population()
    people = [generator.person() for _ in range(8)]
    for person in people:
        population.add(person)
    population.add(generator.duplicate_of(people[0], "typo"))

    run = duplicates.find_duplicates(Actor.system("test"))

    assert run.customers_scanned == 9
    assert run.skipped
    assert not MergeSuggestion.objects.exists()


def test_customers_without_names_or_contacts_are_scored_without_error(db):
    # given profiles created from anonymous web ids only: no name, no e-mail, no phone
    for index in range(12):
        customer_services.create_customer(
            Actor.system("test"), CustomerInput(identities=[IdentityInput(kind="anonymous", value=f"anon-{index}")])
        )

    run = duplicates.find_duplicates(Actor.system("test"))

    assert run.customers_scanned == 12
    assert run.suggestions_created == 0


@pytest.mark.parametrize("threshold", [0, 1, 1.5, -0.1])
def test_threshold_outside_zero_one_is_refused(db, threshold):
    with pytest.raises(ValidationError) as caught:
        duplicates.find_duplicates(Actor.system("test"), threshold=threshold)

    assert caught.value.fields == {"threshold": "0 < p < 1"}


def test_agent_may_not_run_the_scan(small_population, alice):
    with pytest.raises(PermissionDeniedError):
        duplicates.find_duplicates(alice.actor)

    assert not MergeSuggestion.objects.exists()


def test_lower_threshold_admits_weaker_pairs(small_population):
    strict = duplicates.score_pairs(duplicates.load_records(), threshold=0.999)
    loose = duplicates.score_pairs(duplicates.load_records(), threshold=0.01)

    assert len(strict.pairs) <= len(small_population.planted) <= len(loose.pairs)
    assert {(p.first_id, p.second_id) for p in strict.pairs} <= {(p.first_id, p.second_id) for p in loose.pairs}
    assert [p.probability for p in loose.pairs] == sorted((p.probability for p in loose.pairs), reverse=True)


def test_task_runs_as_the_system_and_is_idempotent(small_population):
    first = find_duplicates_task.call()
    second = find_duplicates_task.call()

    assert first["suggestions_created"] == 3
    assert second["suggestions_created"] == 0
    assert first["customers_scanned"] == len(small_population.customers)
    entry = AuditEntry.objects.get(action="customer.duplicates_found")
    assert entry.actor_label == "duplicates"
    assert entry.actor_user is None


def test_command_prints_progress_and_summary(small_population):
    out, err = StringIO(), StringIO()

    call_command("find_duplicates", "--threshold", "0.95", stdout=out, stderr=err)

    assert "reading active customers" in err.getvalue()
    assert "scoring candidate pairs" in err.getvalue()
    summary = out.getvalue()
    assert f"Scanned {len(small_population.customers)} customers" in summary
    assert "3 new suggestions" in summary
    assert "p ≥ 0.95" in summary


def test_command_on_an_empty_database_says_so(db):
    out = StringIO()

    call_command("find_duplicates", stdout=out, stderr=StringIO())

    assert out.getvalue().startswith("Nothing to do: fewer than 10 active customers")


def test_duckdb_never_fetches_extensions():
    con = duplicates._connection()

    settings = dict(
        con.execute(
            "SELECT name, value FROM duckdb_settings() "
            "WHERE name IN ('autoinstall_known_extensions', 'autoload_known_extensions')"
        ).fetchall()
    )

    assert settings == {"autoinstall_known_extensions": "false", "autoload_known_extensions": "false"}


def test_name_normalisation_folds_accents_case_and_punctuation():
    assert duplicates.normalise_name("  Seán O'Brien-Smith ") == "sean obrien smith"
    assert duplicates.normalise_name("MAŁGORZATA Dąbrowski") == "malgorzata dabrowski"
    assert duplicates.normalise_name("") == ""


def test_mailbox_names_made_of_the_name_are_not_evidence():
    words = ["anna", "de", "jong"]
    emails = ["annadejong@example.com", "a.dejong@example.org", "dejong.anna@example.net", "anna_dj62@example.com"]

    assert duplicates.distinctive_mailboxes(emails, words) == ["anna_dj62"]
    assert duplicates.distinctive_mailboxes(["hummingbird@example.com"], words) == ["hummingbird"]


def test_nicknames_fold_to_the_full_given_name():
    assert canonical_given_name("bob") == "robert"
    assert canonical_given_name("kasia") == "katarzyna"
    assert canonical_given_name("robert") == "robert"
    assert canonical_given_name("zoe") == "zoe"


def test_the_worker_runs_the_daily_scan(transactional_db):
    # given committed data: the worker closes and reopens connections as a real one does
    population = _populate(36, duplicates_share=0.1, traps=4, seed=11)

    # when the worker runs once: it enqueues the due periodic jobs, then runs what is queued
    out = StringIO()
    call_command("worker", "--batch", stdout=out)

    # then the scheduled scan ran as a task and left its suggestions
    assert "enqueued periodic job customers.find_duplicates" in out.getvalue()
    result = DBTaskResult.objects.get(task_path="cxloop.customers.tasks.find_duplicates")
    assert result.status == "SUCCESSFUL"
    assert result.return_value["suggestions_created"] == 3
    assert _suggested() == population.planted
