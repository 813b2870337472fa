"""The journey pages: the list with its figures, the journey page (diagram with per-step counts, figures, trend,
versions, enrolments), status buttons, an enrolment's history, the editor (errors by path, typed text kept, new
versions), examples, the dry run, the customer page's panel, and who may do what."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from cxloop.journeys.models import Journey, JourneyVersion
from cxloop.privacy.models import AuditEntry
from tests.customers.factories import CustomerFactory
from tests.journeys.factories import enrolment, make_journey, simple_source


@pytest.fixture
def welcome(db) -> Journey:
    """Active, with 2 customers waiting a day, 1 at the welcome, 1 at the goal and 1 exited."""
    journey = make_journey("welcome", status="active")
    enrolment(journey, step="wait_a_day", passed=("welcome",))
    enrolment(journey, step="wait_a_day", passed=("welcome",), customer=CustomerFactory(name="Ann Lee"))
    enrolment(journey, step="welcome")
    enrolment(journey, step="done", state="goal", passed=("welcome", "wait_a_day"))
    enrolment(journey, step="done", state="exited", exit_reason="finished", passed=("welcome", "wait_a_day"))
    return journey


def _text(html: bytes) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html.decode()))


def test_the_list_shows_status_trigger_and_figures(client, charlie, welcome):
    make_journey("quiet")
    client.force_login(charlie.user)

    page = client.get("/journeys/")

    assert page.status_code == 200
    row = page.content.decode().split('id="journey-welcome"')[1].split("</tr>")[0]
    cells = [c.split("<")[0].strip() for c in row.split('<td class="num">')[1:]]
    assert cells == ["5", "3", "20%"]
    assert "Active" in row
    assert "account.created" in row
    assert b'aria-current="page">Journeys' in page.content
    assert b"New journey" not in page.content  # charlie (analyst) reads, does not manage


def test_the_journey_page_shows_the_diagram_with_per_step_counts(client, charlie, welcome):
    client.force_login(charlie.user)

    page = client.get("/journeys/welcome/")

    assert page.status_code == 200
    html = page.content.decode()
    assert '<figure class="journey-diagram"' in html
    assert "wait_a_day: Wait (1 day), 2 in step" in html  # the outline beside the SVG
    assert "welcome: Send message (email: test.welcome), 1 in step" in html
    assert 'id="figure-entered">5<' in html
    assert 'id="figure-active">3<' in html
    assert 'id="figure-conversion">20%<' in html
    steps = html.split('id="steps"')[1].split("</table>")[0]
    assert re.findall(r'data-step="([^"]+)".*?<td class="num">(\d+)</td><td class="num">(\d+)</td>', steps, re.S) == [
        ("welcome", "1", "5"),
        ("wait_a_day", "2", "4"),
        ("done", "0", "2"),
    ]
    assert 'id="journey-trend"' in html
    assert "finished: <strong>1</strong>" in html
    assert "Ann Lee" in html
    assert b'name="action" value="pause"' not in page.content  # no status buttons for an analyst


def test_the_enrolments_filter_by_state_and_step(client, charlie, welcome):
    client.force_login(charlie.user)

    page = client.get("/journeys/welcome/?state=active&step=wait_a_day")

    table = page.content.decode().split('id="enrolments"')[1]
    assert table.count("/journeys/welcome/enrolments/enr_") == 2


def test_an_older_version_shows_its_own_diagram_and_figures(client, bob, welcome):
    from cxloop.journeys import services

    services.publish_version(bob.actor, welcome, simple_source().replace("1 day", "2 days"))
    client.force_login(bob.user)

    current = client.get("/journeys/welcome/").content.decode()
    first = client.get("/journeys/welcome/?version=1").content.decode()

    assert "Wait (2 days), 0 in step" in current
    assert "3 more are on older versions" in current
    assert "Wait (1 day), 2 in step" in first
    assert "not the current one: v2" in first
    assert client.get("/journeys/welcome/?version=7").status_code == 404
    assert client.get("/journeys/welcome/?version=x").status_code == 422


def test_status_buttons(client, bob, welcome):
    client.force_login(bob.user)

    paused = client.post("/journeys/welcome/status/", {"action": "pause"}, follow=True)
    refused = client.post("/journeys/welcome/status/", {"action": "activate"}, follow=True)

    assert b"Paused Welcome" in paused.content
    assert b"The journey is paused; only draft journeys can be activated." in refused.content
    welcome.refresh_from_db()
    assert welcome.status == "paused"


def test_duplicate_opens_the_draft_copy_in_the_editor(client, bob, welcome):
    client.force_login(bob.user)

    page = client.get("/journeys/welcome/")
    response = client.post("/journeys/welcome/duplicate/")

    assert b"Duplicate</button>" in page.content
    assert response.status_code == 302
    assert response["Location"] == "/journeys/welcome-copy/edit/"
    copy = Journey.objects.get(key="welcome-copy")
    assert (copy.name, copy.status) == ("Copy of Welcome", "draft")
    assert "Added Copy of Welcome as a draft" in _text(client.get(response["Location"]).content)


def test_agents_and_analysts_cannot_change_the_status(client, alice, welcome):
    client.force_login(alice.user)
    audits = AuditEntry.objects.count()

    response = client.post("/journeys/welcome/status/", {"action": "pause"})

    assert response.status_code == 403
    welcome.refresh_from_db()
    assert welcome.status == "active"
    assert AuditEntry.objects.count() == audits


def test_an_enrolment_shows_its_history_and_why(client, charlie, welcome):
    row = enrolment(welcome, step="wait_a_day", passed=("welcome",), detail={"why": "waits 1 day, until 11 March"})
    client.force_login(charlie.user)

    page = client.get(f"/journeys/welcome/enrolments/{row.public_id}/")

    assert page.status_code == 200
    history = _text(page.content.split(b'id="history"')[1])
    assert "welcome step done waits 1 day, until 11 March" in history
    assert "wait_a_day wait waiting waits 1 day, until 11 March" in history
    assert b"Take out of the journey" not in page.content  # charlie may not remove
    other = make_journey("other")
    assert client.get(f"/journeys/{other.key}/enrolments/{row.public_id}/").status_code == 404


def test_the_editor_checks_and_lists_each_problem_by_path_keeping_the_text(client, bob, welcome):
    client.force_login(bob.user)
    typed = simple_source().replace("next: done", "next: gone")

    response = client.post("/journeys/welcome/edit/", {"source": typed, "syntax": "yaml", "action": "save"})

    assert response.status_code == 422
    problems = response.content.decode().split('id="problems"')[1].split("</div>")[0]
    assert 'line 17</span> <span class="mono">steps[1].next</span>: no step has the id &#x27;gone&#x27;' in problems
    assert "next: gone" in response.content.decode()  # the text as typed
    assert JourneyVersion.objects.filter(journey=welcome).count() == 1


def test_check_draws_the_diagram_of_a_valid_draft_without_saving(client, bob, welcome):
    client.force_login(bob.user)

    response = client.post("/journeys/welcome/edit/", {"source": simple_source(), "syntax": "yaml", "action": "check"})

    assert response.status_code == 200
    assert b"The document is valid: 3 steps" in response.content
    assert b'id="draft-diagram"' in response.content
    assert JourneyVersion.objects.filter(journey=welcome).count() == 1


def test_saving_makes_a_new_version_and_forgets_the_draft(client, bob, welcome):
    client.force_login(bob.user)
    changed = simple_source().replace("1 day", "3 days")

    saved = client.post(
        "/journeys/welcome/edit/", {"source": changed, "syntax": "yaml", "note": "Longer wait", "action": "save"}
    )
    editor = client.get("/journeys/welcome/edit/")

    assert saved.status_code == 302
    welcome.refresh_from_db()
    assert (welcome.current_version.number, welcome.current_version.note) == (2, "Longer wait")
    assert welcome.current_version.source == changed
    assert b'data-draft="cx-draft:journey:welcome"' in editor.content
    assert b"data-draft-clear" in editor.content
    assert b"data-draft-clear" not in client.get("/journeys/welcome/edit/").content


def test_a_new_journey_from_an_example_and_an_example_installed(client, bob, db):
    client.force_login(bob.user)

    editor = client.get("/journeys/new/?example=onboarding")
    created = client.post("/journeys/new/", {"source": simple_source("hello"), "syntax": "yaml", "action": "save"})
    installed = client.post("/journeys/examples/win_back/install/")
    again = client.post("/journeys/examples/win_back/install/", follow=True)

    assert b"key: onboarding" in editor.content
    assert b'data-draft="cx-draft:journey:new:onboarding"' in editor.content
    assert created["Location"] == "/journeys/hello/"
    assert installed["Location"] == "/journeys/win_back/"
    assert b"A journey with the key win_back exists." in again.content
    assert sorted(Journey.objects.values_list("key", "status")) == [("hello", "draft"), ("win_back", "draft")]


def test_only_managers_edit(client, alice, welcome):
    client.force_login(alice.user)

    assert client.get("/journeys/welcome/edit/").status_code == 403
    assert client.post("/journeys/new/", {"source": simple_source("x"), "action": "save"}).status_code == 403
    assert client.post("/journeys/examples/onboarding/install/").status_code == 403
    assert Journey.objects.count() == 1


def test_pages_need_login(client, welcome):
    assert client.get("/journeys/").status_code == 302
    assert client.get("/journeys/welcome/").status_code == 302


def test_the_customer_page_has_a_journeys_panel_with_enrol_in(client, alice, welcome):
    customer = CustomerFactory(name="Bo Chen")
    row = enrolment(welcome, step="wait_a_day", customer=customer)
    make_journey("draft-one")
    client.force_login(alice.user)

    page = client.get(f"/customers/{customer.public_id}/")

    panel = page.content.decode().split('id="panel-journeys"')[1].split("</section>")[0]
    assert f"/journeys/welcome/enrolments/{row.public_id}/" in panel
    assert "Enrol in…" in panel
    assert '<option value="welcome">Welcome</option>' in panel
    assert "draft-one" not in panel  # only active journeys take customers


def test_analysts_see_the_panel_without_enrol_in(client, charlie, welcome):
    customer = CustomerFactory()
    client.force_login(charlie.user)

    page = client.get(f"/customers/{customer.public_id}/")

    panel = page.content.decode().split('id="panel-journeys"')[1].split("</section>")[0]
    assert "has not been in a journey" in panel
    assert "Enrol in…" not in panel


def test_enrol_from_the_customer_page(client, alice, welcome):
    customer = CustomerFactory(name="Bo Chen")
    client.force_login(alice.user)

    response = client.post(
        f"/customers/{customer.public_id}/journeys/enrol/", {"enrol-journey": "welcome"}, follow=True
    )

    assert b"Enrolled Bo Chen in Welcome." in response.content
    assert welcome.enrolments.filter(customer=customer).count() == 1


def test_the_dry_run_page_refuses_an_unknown_customer(client, charlie, welcome):
    client.force_login(charlie.user)

    page = client.get("/journeys/welcome/dry-run/")
    refused = client.post("/journeys/welcome/dry-run/", {"customer": "cus_nobody", "events": "product.used"})

    assert page.status_code == 200
    assert refused.status_code == 422
    assert b"No single customer matches" in refused.content


def test_the_dry_run_page_shows_the_path(client, charlie, welcome):
    customer = CustomerFactory(name="Cy Dee")
    client.force_login(charlie.user)

    page = client.post(
        "/journeys/welcome/dry-run/", {"customer": customer.public_id, "start": "2026-03-02 09:00", "events": ""}
    )

    assert page.status_code == 200
    path = _text(page.content.split(b'id="path"')[1].split(b"</section>")[0])
    assert "wait_a_day wait · Tue 3 Mar 2026, 09:00 · waited the wait ended at" in path
    assert path.endswith("exited : finished ")


def test_a_branch_in_the_history_says_which_way_and_what_it_read(client, charlie, welcome):
    detail = {
        "taken": "otherwise",
        "tried": [
            {
                "branch": "active again",
                "result": False,
                "checks": [
                    {"has_event": "session.started", "within": "30 days", "found": 0, "min_count": 1, "result": False},
                    {
                        "field": "attributes.plan",
                        "operator": "eq",
                        "expected": "Plus",
                        "value": "Basic",
                        "result": False,
                    },
                ],
            }
        ],
    }
    row = enrolment(welcome, step="wait_a_day", passed=("welcome",), detail=detail)
    client.force_login(charlie.user)

    page = client.get(f"/journeys/welcome/enrolments/{row.public_id}/")

    history = _text(page.content.split(b'id="history"')[1])
    assert (
        "took “otherwise” — active again: session.started within 30 days: 0 found, 1 needed (no); "
        "attributes.plan eq &#x27;Plus&#x27;: was &#x27;Basic&#x27; (no)"
    ) in history


def test_the_journey_page_does_not_query_per_enrolment(client, charlie, welcome, django_assert_max_num_queries):
    client.force_login(charlie.user)
    client.get("/journeys/welcome/")  # the session and the navigation's own queries settle first
    with CaptureQueriesContext(connection) as few:
        client.get("/journeys/welcome/")
    for _ in range(20):
        enrolment(welcome, step="wait_a_day", passed=("welcome",))

    with django_assert_max_num_queries(len(few.captured_queries)):
        page = client.get("/journeys/welcome/")

    assert page.status_code == 200


def test_an_agent_takes_a_customer_out_and_an_analyst_may_not(client, alice, charlie, welcome):
    row = enrolment(welcome, step="wait_a_day", passed=("welcome",), customer=CustomerFactory(name="Di Eve"))
    client.force_login(charlie.user)
    refused = client.post(f"/journeys/welcome/enrolments/{row.public_id}/remove/", {"reason": "no"})
    client.force_login(alice.user)

    done = client.post(f"/journeys/welcome/enrolments/{row.public_id}/remove/", {"reason": "asked us to"}, follow=True)
    again = client.post(f"/journeys/welcome/enrolments/{row.public_id}/remove/", {"reason": "twice"}, follow=True)

    assert refused.status_code == 403
    assert b"Took Di Eve out of Welcome." in done.content
    row.refresh_from_db()
    assert (row.state, row.exit_reason) == ("exited", "asked us to")
    assert b"already finished (exited)" in again.content
    assert b"Take out of the journey" not in again.content


def test_enrolling_twice_says_why_not(client, alice, welcome):
    customer = CustomerFactory(name="Bo Chen")
    client.force_login(alice.user)
    url = f"/customers/{customer.public_id}/journeys/enrol/"
    client.post(url, {"enrol-journey": "welcome"})

    again = client.post(url, {"enrol-journey": "welcome"}, follow=True)
    unknown = client.post(url, {"enrol-journey": "nothing"}, follow=True)

    assert f"{customer.public_id} is kept out of welcome: already entered this journey.".encode() in again.content
    assert b"Choose an active journey." in unknown.content
    assert welcome.enrolments.filter(customer=customer).count() == 1


def test_enrol_a_customer_from_the_journey_page(client, alice, charlie, welcome):
    customer = CustomerFactory(name="Eli Fox")
    client.force_login(charlie.user)
    assert b'id="enrol"' not in client.get("/journeys/welcome/").content  # analysts do not enrol
    client.force_login(alice.user)

    enrolled = client.post("/journeys/welcome/enrol/", {"customer": customer.public_id}, follow=True)
    again = client.post("/journeys/welcome/enrol/", {"customer": customer.public_id})
    nobody = client.post("/journeys/welcome/enrol/", {"customer": "nobody at all"})

    assert b"Enrolled Eli Fox in Welcome." in enrolled.content
    assert b"History" in enrolled.content
    assert again.status_code == 422
    assert b"already entered this journey" in again.content
    assert nobody.status_code == 422
    assert b"No single customer matches" in nobody.content
    assert welcome.enrolments.filter(customer=customer).count() == 1


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        (simple_source().replace("kind: wait", "kind: sleep"), [("steps[1].kind", 15)]),
        (simple_source().replace("  event: account.created\n", ""), [("trigger.event", 4)]),
        ("key: [1,\n", [("document", None)]),
        ("[" * 3000 + "]" * 3000, [("document", None)]),
    ],
)
def test_each_problem_comes_with_its_line(client, bob, welcome, source, expected):
    client.force_login(bob.user)

    response = client.post("/journeys/welcome/edit/", {"source": source, "syntax": "yaml", "action": "check"})

    assert response.status_code == 422
    items = re.findall(
        r'<li>(?:<span class="muted small">line (\d+)</span> )?<span class="mono">([^<]+)</span>',
        response.content.decode().split('id="problems"')[1].split("</div>")[0],
    )
    assert [(path, int(line) if line else None) for line, path in items] == expected


def test_a_journey_without_a_goal_shows_no_conversion(client, charlie):
    make_journey("no-goal", status="active")
    client.force_login(charlie.user)

    html = client.get("/journeys/no-goal/").content.decode()

    assert 'id="figure-goal">–<' in html
    assert "figure-conversion" not in html
