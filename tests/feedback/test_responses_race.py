"""One response per invitation when several submits of the same link arrive at once (a double tap, a retrying
widget): real threads, each with its own database connection, committing for real."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from django.db import connection, connections

from cxloop import textanalytics
from cxloop.feedback.definitions import standard_definition
from cxloop.feedback.errors import AlreadyAnsweredError
from cxloop.feedback.links import invitation_token
from cxloop.feedback.models import Invitation, Response
from cxloop.feedback.services import responses
from cxloop.interactions.models import Interaction
from cxloop.privacy.models import AuditEntry
from tests.customers.factories import CustomerFactory
from tests.feedback.factories import InvitationFactory, SurveyFactory

THREADS = 6


@pytest.mark.django_db(transaction=True)
def test_simultaneous_submits_count_once(monkeypatch: pytest.MonkeyPatch) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("needs a server database: SQLite's in-memory test database is not shared between threads")
    # given: an invitation, and a slow step between the checks and the insert, so every thread is inside at once
    survey = SurveyFactory(key="nps-race", kind="nps", definition=standard_definition("nps"))
    invitation = InvitationFactory(survey=survey, customer=CustomerFactory(name="Ann Lee"))
    token = invitation_token(invitation.public_id)
    analyse = textanalytics.analyse

    def slow_analyse(text: str, **kwargs: Any) -> textanalytics.TextAnalysis:
        time.sleep(0.2)
        return analyse(text, **kwargs)

    monkeypatch.setattr(responses.textanalytics, "analyse", slow_analyse)
    start = threading.Barrier(THREADS)
    outcomes: list[str] = []

    def submit(score: int) -> None:
        try:
            start.wait()
            responses.submit_response(
                responses.respondent_actor(), token, {"score": score, "comment": f"Answer {score}"}
            )
            outcomes.append("saved")
        except AlreadyAnsweredError:
            outcomes.append("already answered")
        except Exception as exc:  # noqa: BLE001 - any other outcome is the failure this test looks for
            outcomes.append(repr(exc))
        finally:
            connections.close_all()

    # when
    threads = [threading.Thread(target=submit, args=(score,)) for score in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    # then
    assert sorted(outcomes) == ["already answered"] * (THREADS - 1) + ["saved"]
    assert Response.objects.count() == 1
    assert Interaction.objects.count() == 1
    assert AuditEntry.objects.filter(action="response.received").count() == 1
    saved = Response.objects.get()
    assert Invitation.objects.get().status == "answered"
    assert saved.comment == f"Answer {saved.score}"
