import re

from cxloop.journeys.diagram import journey_diagram, layout, outline
from cxloop.journeys.documents import load_example, validate_journey


def test_diagram_has_a_box_per_step_and_an_arrow_per_edge():
    document = load_example("win_back")

    svg = str(journey_diagram(document, diagram_id="wb"))

    assert svg.count('class="journey-step ') == 7
    assert svg.count('class="journey-edge"') == 7  # 2 from the branch, 2 from the wait, 3 single
    assert 'role="img"' in svg
    assert '<title id="wb-title">Win-back: journey diagram</title>' in svg
    assert "Starts on 30 days with no activity at the step still_away; 7 steps." in svg
    assert ">active again</text>" in svg
    assert ">otherwise</text>" in svg
    assert ">timeout</text>" in svg


def test_layers_run_top_to_bottom_from_the_entry():
    document = load_example("onboarding")

    boxes = layout(document)

    assert boxes["welcome"].layer == 0
    assert boxes["wait_first_use"].layer == 1
    assert boxes["nudge"].layer == 2
    assert boxes["pause_a_day"].layer == 4  # below both waits that lead to it
    assert boxes["done"].layer == 9
    assert len({(b.x, b.y) for b in boxes.values()}) == 11  # no two boxes overlap


def test_loop_back_is_drawn_as_a_dashed_path_upwards():
    document = validate_journey(
        {
            "key": "reminders",
            "name": "Reminders",
            "trigger": {"kind": "manual"},
            "goal": {"has_event": "invoice.paid"},
            "steps": [
                {
                    "id": "remind",
                    "kind": "send_message",
                    "channel": "sms",
                    "template": "pay",
                    "purpose": "service",
                    "next": "wait",
                },
                {"id": "wait", "kind": "wait", "duration": "1 week", "next": "remind"},
            ],
        }
    )

    svg = str(journey_diagram(document))

    assert len(re.findall(r'<path d="M[^"]*" fill="none"[^>]*stroke-dasharray', svg)) == 1
    assert svg.count("<line ") == 1


def test_outline_reads_the_graph_in_words():
    document = load_example("win_back")

    text = outline(document, counts={"we_miss_you": 3})

    assert "Win-back starts on 30 days with no activity." in text
    assert "still_away: Branch, 0 in step. active again → back; otherwise → we_miss_you." in text
    assert "we_miss_you: Send message (email: win-back-we-miss-you), 3 in step. then wait_return." in text
    assert "gone_quiet: Exit (handed to the account owner), 0 in step. the customer leaves the journey." in text


def test_text_is_escaped():
    document = validate_journey(
        {
            "key": "x",
            "name": "<script>alert(1)</script>",
            "trigger": {"kind": "manual"},
            "steps": [{"id": "bye", "kind": "exit", "label": "<b>&"}],
        }
    )

    svg = str(journey_diagram(document))

    assert "<script>" not in svg
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in svg
    assert "&lt;b&gt;&amp;" in svg
