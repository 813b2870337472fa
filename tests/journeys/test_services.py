"""Managing journeys: create from a document, versions, status moves, the shipped examples, the audit trail and
the events published."""

from __future__ import annotations

import json

import pytest

from cxloop.core.errors import NotFoundError, PermissionDeniedError, ValidationError
from cxloop.events import bus
from cxloop.journeys import services
from cxloop.journeys.documents import example_text
from cxloop.journeys.errors import JourneyExistsError, JourneyNotActiveError
from cxloop.journeys.events import JourneyPublished, JourneyStatusChanged
from cxloop.journeys.models import Enrolment, Journey, JourneyVersion
from cxloop.privacy.models import AuditEntry
from tests.journeys.factories import enrolment, make_journey, simple_source


@pytest.fixture
def published(monkeypatch: pytest.MonkeyPatch) -> list[bus.DomainEvent]:
    seen: list[bus.DomainEvent] = []
    monkeypatch.setattr(bus, "_deliver", seen.append)
    return seen


def test_a_new_journey_is_a_draft_with_version_1(bob, published, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        journey = services.create_journey(bob.actor, simple_source())

    journey.refresh_from_db()
    version = journey.current_version
    assert (journey.key, journey.name, journey.status, journey.created_by) == ("welcome", "Welcome", "draft", bob.user)
    assert (journey.trigger_kind, journey.trigger_event_type) == ("event", "account.created")
    assert (version.number, version.syntax, version.source, version.created_by) == (
        1,
        "yaml",
        simple_source(),
        bob.user,
    )
    assert version.document["steps"][0]["id"] == "welcome"
    assert published == [JourneyPublished(journey_id=journey.public_id, key="welcome", version=1)]
    assert list(AuditEntry.objects.filter(object_type="journey").values_list("action", "object_id")) == [
        ("journey.created", journey.public_id)
    ]


def test_a_json_document_is_kept_as_written(bob):
    source = json.dumps(
        {
            "key": "ping",
            "name": "Ping",
            "trigger": {"kind": "manual"},
            "steps": [{"id": "bye", "kind": "exit"}],
        }
    )

    journey = services.create_journey(bob.actor, source, syntax="json")

    assert (journey.trigger_kind, journey.trigger_event_type) == ("manual", "")
    assert (journey.current_version.syntax, journey.current_version.source) == ("json", source)


def test_an_invalid_document_is_refused_with_the_path_of_each_error(bob):
    source = simple_source().replace("kind: wait", "kind: sleep").replace("key: welcome", "key: Bad Key")

    with pytest.raises(ValidationError) as refused:
        services.create_journey(bob.actor, source)

    assert refused.value.fields == {
        "key": '"Bad Key" does not match "^[a-z][a-z0-9_-]{0,63}$"',
        "steps[1].kind": "must be one of: wait, branch, send_message, open_case, send_survey, set_attribute, tag, "
        "webhook, exit",
    }
    assert Journey.objects.count() == 0
    assert AuditEntry.objects.filter(object_type="journey").count() == 0


def test_a_graph_error_names_its_path(bob):
    with pytest.raises(ValidationError) as refused:
        services.create_journey(bob.actor, simple_source().replace("next: done", "next: nowhere"))

    assert refused.value.fields["steps[1].next"] == "no step has the id 'nowhere'"
    assert Journey.objects.count() == 0


@pytest.mark.parametrize(
    ("source", "syntax", "fields"),
    [
        ("key: [", "yaml", {"document"}),
        ("   ", "yaml", {"document"}),
        ("{}", "toml", {"syntax"}),
    ],
)
def test_text_that_is_no_document_is_refused(bob, source, syntax, fields):
    with pytest.raises(ValidationError) as refused:
        services.create_journey(bob.actor, source, syntax=syntax)

    assert set(refused.value.fields) == fields
    assert Journey.objects.count() == 0


def test_a_key_is_used_once(bob):
    make_journey("welcome")

    with pytest.raises(JourneyExistsError) as refused:
        services.create_journey(bob.actor, simple_source())

    assert refused.value.fields == {"key": "already used by another journey"}
    assert Journey.objects.count() == 1
    assert JourneyVersion.objects.count() == 1


def test_only_managers_write_journeys(alice, charlie):
    for member in (alice, charlie):
        with pytest.raises(PermissionDeniedError):
            services.create_journey(member.actor, simple_source())

    assert Journey.objects.count() == 0


def test_publishing_makes_the_next_version_current_and_running_enrolments_keep_theirs(bob, published):
    journey = make_journey("welcome", status="active")
    first = journey.current_version
    running = enrolment(journey, step="wait_a_day")
    changed = simple_source(event="order.paid").replace("duration: 1 day", "duration: 2 days")

    version = services.publish_version(bob.actor, journey, changed, note="Two days")

    journey.refresh_from_db()
    running.refresh_from_db()
    assert (version.number, version.note, journey.current_version) == (2, "Two days", version)
    assert (journey.trigger_kind, journey.trigger_event_type, journey.status) == ("event", "order.paid", "active")
    assert running.version == first
    first.refresh_from_db()
    assert first.document["steps"][1]["duration"] == "1 day"
    assert AuditEntry.objects.filter(action="journey.published").count() == 1


def test_a_version_must_keep_the_journeys_key(bob):
    journey = make_journey("welcome")

    with pytest.raises(ValidationError) as refused:
        services.publish_version(bob.actor, journey, simple_source(key="other"))

    assert refused.value.fields == {"key": "must stay welcome (the journey's key)"}
    assert JourneyVersion.objects.filter(journey=journey).count() == 1


def test_an_invalid_version_changes_nothing(bob):
    journey = make_journey("welcome")

    with pytest.raises(ValidationError) as refused:
        services.publish_version(bob.actor, journey, simple_source().replace("kind: wait", "kind: sleep"))

    assert "steps[1].kind" in refused.value.fields
    journey.refresh_from_db()
    assert journey.current_version.number == 1
    assert AuditEntry.objects.filter(action="journey.published").count() == 0


def test_status_moves_follow_the_rules(bob, published, django_capture_on_commit_callbacks):
    journey = make_journey("welcome")

    with django_capture_on_commit_callbacks(execute=True):
        journey = services.activate_journey(bob.actor, journey)
        journey = services.pause_journey(bob.actor, journey)
        paused_at = journey.paused_at
        journey = services.resume_journey(bob.actor, journey)
        journey = services.archive_journey(bob.actor, journey)

    assert paused_at is not None
    assert (journey.status, journey.paused_at is None, journey.archived_at is not None) == ("archived", True, True)
    moves = [(e.status, e.previous) for e in published if isinstance(e, JourneyStatusChanged)]
    assert moves == [("active", "draft"), ("paused", "active"), ("active", "paused"), ("archived", "active")]
    assert list(
        AuditEntry.objects.filter(object_id=journey.public_id).order_by("id").values_list("action", flat=True)
    ) == [
        "journey.created",
        "journey.activated",
        "journey.paused",
        "journey.resumed",
        "journey.archived",
    ]


@pytest.mark.parametrize(
    ("status", "move", "message"),
    [
        ("draft", "pause_journey", "The journey is draft; only active journeys can be paused."),
        ("draft", "resume_journey", "The journey is draft; only paused journeys can be resumed."),
        ("paused", "activate_journey", "The journey is paused; only draft journeys can be activated."),
        ("archived", "activate_journey", "The journey is archived; only draft journeys can be activated."),
        ("archived", "pause_journey", "The journey is archived; only active journeys can be paused."),
    ],
)
def test_a_move_the_status_does_not_allow_is_refused(bob, status, move, message):
    journey = make_journey("welcome", status=status)
    audits = AuditEntry.objects.count()

    with pytest.raises(JourneyNotActiveError) as refused:
        getattr(services, move)(bob.actor, journey)

    assert (refused.value.status, refused.value.message) == (409, message)
    journey.refresh_from_db()
    assert journey.status == status
    assert AuditEntry.objects.count() == audits


def test_asking_for_the_status_it_has_changes_nothing(bob, published):
    journey = make_journey("welcome", status="active")
    audits = AuditEntry.objects.count()

    again = services.activate_journey(bob.actor, journey)

    assert again.status == "active"
    assert AuditEntry.objects.count() == audits


def test_an_archived_journey_takes_no_new_version(bob):
    journey = make_journey("welcome", status="archived")

    with pytest.raises(JourneyNotActiveError):
        services.publish_version(bob.actor, journey, simple_source())

    assert JourneyVersion.objects.filter(journey=journey).count() == 1


def test_archiving_exits_running_enrolments(bob):
    journey = make_journey("welcome", status="active")
    running = enrolment(journey, step="wait_a_day")
    done = enrolment(journey, step="done", state="exited", exit_reason="finished")

    services.archive_journey(bob.actor, journey)

    running.refresh_from_db()
    done.refresh_from_db()
    assert (running.state, running.exit_reason) == ("exited", services.ARCHIVE_REASON)
    assert (done.state, done.exit_reason) == ("exited", "finished")


def test_installing_an_example_makes_an_editable_draft(bob):
    journey = services.install_example(bob.actor, "onboarding")

    assert (journey.key, journey.status, journey.trigger_event_type) == ("onboarding", "draft", "account.created")
    assert journey.current_version.source == example_text("onboarding")
    assert journey.current_version.note == "Shipped example."


def test_an_example_installs_once_and_unknown_ones_are_not_found(bob):
    services.install_example(bob.actor, "win_back")

    with pytest.raises(JourneyExistsError):
        services.install_example(bob.actor, "win_back")
    with pytest.raises(NotFoundError):
        services.install_example(bob.actor, "nothing")

    assert list(Journey.objects.values_list("key", flat=True)) == ["win_back"]


def test_removing_needs_a_reason(alice):
    journey = make_journey("welcome", status="active")
    running = enrolment(journey, step="wait_a_day")

    with pytest.raises(ValidationError) as refused:
        services.remove_enrolment(alice.actor, running, reason="   ")

    assert refused.value.fields == {"reason": "must not be empty"}
    assert Enrolment.objects.get(pk=running.pk).state == "active"


def test_analysts_may_not_enrol_or_remove(charlie):
    journey = make_journey("welcome", status="active")
    running = enrolment(journey, step="wait_a_day")

    with pytest.raises(PermissionDeniedError):
        services.enrol_manually(charlie.actor, journey, running.customer)
    with pytest.raises(PermissionDeniedError):
        services.remove_enrolment(charlie.actor, running, reason="no")

    assert list(Enrolment.objects.values_list("state", flat=True)) == ["active"]


def test_a_duplicate_is_a_new_draft_of_the_current_document_with_its_comments(bob):
    # given: an active journey with a second version, written with comments, and customers in it
    original = services.create_journey(bob.actor, simple_source())
    services.publish_version(bob.actor, original, "# our welcome\n" + simple_source(), note="comment")
    original = services.activate_journey(bob.actor, original)
    enrolment(original, step="welcome")

    # when: duplicated twice
    first = services.duplicate_journey(bob.actor, original)
    second = services.duplicate_journey(bob.actor, original)

    # then: drafts at version 1 under free keys, the document the same but for key and name, nobody in them
    assert [(j.key, j.name, j.status) for j in (first, second)] == [
        ("welcome-copy", "Copy of Welcome", "draft"),
        ("welcome-copy-2", "Copy of Welcome", "draft"),
    ]
    version = first.current_version
    assert version.number == 1
    assert version.source.startswith("# our welcome\n")  # YAML keeps its comments and layout
    expected = {**original.current_version.document, "key": "welcome-copy", "name": "Copy of Welcome"}
    assert version.document == expected
    assert not Enrolment.objects.filter(journey__in=[first, second]).exists()
    assert AuditEntry.objects.filter(action="journey.created", object_id=first.public_id).count() == 1


def test_a_json_journey_is_duplicated_as_json(bob):
    source = json.dumps(
        {"key": "ping", "name": "Ping", "trigger": {"kind": "manual"}, "steps": [{"id": "bye", "kind": "exit"}]}
    )
    original = services.create_journey(bob.actor, source, syntax="json")

    copy = services.duplicate_journey(bob.actor, original)

    assert (copy.key, copy.current_version.syntax) == ("ping-copy", "json")
    assert json.loads(copy.current_version.source)["steps"] == [{"id": "bye", "kind": "exit"}]


def test_only_managers_duplicate_journeys(bob, alice):
    original = services.create_journey(bob.actor, simple_source())

    with pytest.raises(PermissionDeniedError):
        services.duplicate_journey(alice.actor, original)
    assert Journey.objects.count() == 1
