"""Survey management: standard questions by kind, definitions refused by path, the version, translations,
activation, archiving, the audit trail, and the API."""

from __future__ import annotations

import pytest

from cxloop.core.errors import ConflictError, PermissionDeniedError, ValidationError
from cxloop.feedback.models import Survey
from cxloop.feedback.services import surveys as survey_services
from cxloop.feedback.services.surveys import SurveyChanges, SurveyInput
from cxloop.privacy.models import AuditEntry
from tests.messaging.conftest import _messaging_settings, make_customer  # noqa: F401


@pytest.fixture
def nps(db, system) -> Survey:
    return survey_services.create_survey(system, SurveyInput(key="nps", name="NPS", kind="nps"))


def test_a_new_survey_starts_as_a_draft_with_its_kinds_questions(bob):
    survey = survey_services.create_survey(bob.actor, SurveyInput(key="ces-chat", name="CES after chat", kind="ces"))

    assert (survey.status, survey.version, survey.created_by) == ("draft", 1, bob.user)
    assert [(q["id"], q["type"]) for q in survey.definition["questions"]] == [("score", "ces"), ("comment", "text")]
    assert AuditEntry.objects.filter(action="survey.created", object_id=survey.public_id).count() == 1


@pytest.mark.parametrize(
    ("data", "fields"),
    [
        ({"key": "Bad Key", "kind": "nps"}, {"key"}),
        ({"key": "ok", "kind": "poll"}, {"kind"}),
        ({"key": "ok", "kind": "nps", "purpose": "spam"}, {"purpose"}),
        ({"key": "ok", "kind": "nps", "link_valid_days": 0}, {"link_valid_days"}),
        ({"key": "ok", "kind": "nps", "default_locale": "english!"}, {"default_locale"}),
    ],
)
def test_bad_surveys_are_refused_by_field(bob, data, fields):
    with pytest.raises(ValidationError) as refused:
        survey_services.create_survey(bob.actor, SurveyInput(name="X", **data))

    assert set(refused.value.fields) == fields
    assert Survey.objects.count() == 0


def test_a_key_is_used_once(bob, nps):
    with pytest.raises(ConflictError) as refused:
        survey_services.create_survey(bob.actor, SurveyInput(key="nps", name="Again", kind="nps"))

    assert refused.value.fields == {"key": "already used"}


def test_a_definition_is_refused_with_every_bad_path(bob, nps):
    definition = {
        "questions": [
            {"id": "score", "type": "csat", "text": "How satisfied?"},
            {"id": "why", "type": "single", "text": "", "choices": []},
        ]
    }

    with pytest.raises(ValidationError) as refused:
        survey_services.update_survey(bob.actor, nps, SurveyChanges(definition=definition))

    assert refused.value.fields == {
        "definition.questions[0]": 'a nps survey starts with its nps question, id "score"',
        "definition.questions[1].text": "must not be empty",
        "definition.questions[1].choices": "must be a non-empty list",
    }
    nps.refresh_from_db()
    assert nps.version == 1


def test_a_changed_definition_raises_the_version_and_the_same_one_does_not(bob, nps):
    changed = {**nps.definition, "title": "Two minutes?"}

    once = survey_services.update_survey(bob.actor, nps, SurveyChanges(definition=changed))
    again = survey_services.update_survey(bob.actor, once, SurveyChanges(definition=changed))
    renamed = survey_services.update_survey(bob.actor, again, SurveyChanges(name="Relationship NPS"))

    assert (once.version, again.version, renamed.version) == (2, 2, 2)
    assert list(
        AuditEntry.objects.filter(action="survey.updated").order_by("id").values_list("summary", flat=True)
    ) == ["nps: version 2 (definition)", "nps: settings changed (name)"]


def test_only_feedback_manage_may_change_a_survey(alice, charlie, nps):
    for member in (alice, charlie):
        with pytest.raises(PermissionDeniedError):
            survey_services.update_survey(member.actor, nps, SurveyChanges(name="Mine"))
        with pytest.raises(PermissionDeniedError):
            survey_services.activate_survey(member.actor, nps)

    nps.refresh_from_db()
    assert (nps.name, nps.status) == ("NPS", "draft")


def test_translations_keep_only_texts_of_known_questions(bob, nps):
    with pytest.raises(ValidationError) as refused:
        survey_services.set_translation(
            bob.actor, nps, "fr", {"questions": {"score": {"text": 3}, "other": {"text": "?"}}, "colour": "blue"}
        )
    survey = survey_services.set_translation(
        bob.actor,
        nps,
        "fr",
        {"title": "Deux minutes ?", "questions": {"score": {"text": "Nous recommanderiez-vous ?"}}},
    )

    assert refused.value.fields == {
        "translation.colour": "not a translatable text",
        "translation.questions.score.text": "must be text",
        "translation.questions.other": "no such question",
    }
    assert survey.translations == {
        "fr": {"title": "Deux minutes ?", "questions": {"score": {"text": "Nous recommanderiez-vous ?"}}}
    }
    assert survey.version == 1
    assert survey_services.localized_definition(survey, "fr-CA")["questions"][0]["text"] == "Nous recommanderiez-vous ?"


def test_an_archived_survey_cannot_change(bob, nps):
    survey_services.archive_survey(bob.actor, nps)

    with pytest.raises(ConflictError) as refused:
        survey_services.update_survey(bob.actor, nps, SurveyChanges(name="Later"))

    assert refused.value.code == "survey_archived"


def test_a_custom_survey_without_questions_cannot_be_activated(bob):
    survey = survey_services.create_survey(bob.actor, SurveyInput(key="empty", name="Empty", kind="custom"))

    with pytest.raises(ValidationError) as refused:
        survey_services.activate_survey(bob.actor, survey)

    assert refused.value.fields == {"definition.questions": "must be a non-empty list"}


# --- the API ------------------------------------------------------------------------------------------------------


def test_the_api_creates_edits_and_activates_a_survey(api, bob):
    created = api.post("/surveys", bob, {"key": "csat", "name": "CSAT", "kind": "csat", "fatigue_days": 14})
    patched = api.patch(
        "/surveys/csat",
        bob,
        {"name": "CSAT after a case", "translations": {"de": {"questions": {"score": {"text": "Zufrieden?"}}}}},
    )
    activated = api.post("/surveys/csat/activate", bob)

    assert created.status_code == 201, created.content
    assert created.json()["definition"]["questions"][0]["type"] == "csat"
    assert patched.status_code == 200
    assert patched.json()["translations"] == {"de": {"questions": {"score": {"text": "Zufrieden?"}}}}
    assert (activated.json()["status"], activated.json()["fatigue_days"]) == ("active", 14)


def test_the_api_names_the_path_of_a_bad_definition_or_translation(api, bob, nps):
    bad = api.patch("/surveys/nps", bob, {"definition": {"questions": [{"id": "Score!", "type": "nps"}]}})
    bad_translation = api.patch("/surveys/nps", bob, {"translations": {"de": {"questions": {"x": {"text": "?"}}}}})

    assert bad.status_code == 422
    assert bad.json()["error"]["fields"] == {
        "definition.questions[0].id": "must be a short lowercase id (letters, digits, _), starting with a letter",
        "definition.questions[0]": 'a nps survey starts with its nps question, id "score"',
    }
    assert bad_translation.status_code == 422
    assert bad_translation.json()["error"]["fields"] == {"translations.de.questions.x": "no such question"}


def test_the_api_refuses_a_fatigued_customer_with_409_and_the_date(api, alice, system, settings, nps, monkeypatch):
    from cxloop.channels import registry
    from tests.messaging.conftest import RecordingSender

    monkeypatch.setitem(registry._senders, "email", RecordingSender("email"))
    settings.CXLOOP_SURVEY_FATIGUE_DAYS = 30
    survey_services.activate_survey(system, nps)
    ann = make_customer()
    first = api.post("/surveys/nps/invitations", alice, {"customer": ann.public_id})

    second = api.post("/surveys/nps/invitations", alice, {"customer": ann.public_id})
    batch = api.post("/surveys/nps/invitations/batch", alice, {"customers": [ann.public_id, "cus_nobody"]})
    listed = api.get(f"/invitations?customer={ann.public_id}", alice)

    assert first.status_code == 201, first.content
    assert first.json()["status"] == "sent"
    assert second.status_code == 409
    assert second.json()["error"]["code"] == "survey_fatigue"
    assert "The customer was last sent a survey (NPS) on " in second.json()["error"]["message"]
    assert batch.status_code == 200
    assert [(i["customer"], i["error"]["code"]) for i in batch.json()["items"]] == [
        (ann.public_id, "survey_fatigue"),
        ("cus_nobody", "customer_not_found"),
    ]
    assert batch.json()["refused"] == 2
    assert [i["id"] for i in listed.json()["items"]] == [first.json()["id"]]
