"""A journey as an inline SVG diagram, laid out on the server: one box per step (its kind and a short label),
arrows for the edges with branch labels, layers from top to bottom.

Like web/charts.py: no JavaScript, nothing from a CDN, prints. The <svg role="img"> is named by its <title> and
described by its <desc>; an ordered text outline of the same graph follows it (visually hidden) for screen
readers, since a picture of arrows cannot be read aloud. All text goes through `escape`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from cxloop.journeys.elements import (
    BranchStep,
    DateAttributeTrigger,
    EventTrigger,
    ExitStep,
    JourneyDocument,
    ManualTrigger,
    OpenCaseStep,
    SegmentTrigger,
    SendMessageStep,
    SendSurveyStep,
    SetAttributeStep,
    Step,
    TagStep,
    WaitStep,
    WebhookStep,
    edges,
    step_kind,
)

BOX_W, BOX_H = 200, 56
GAP_X, GAP_Y = 40, 64
MARGIN = 24
LOOP_LANE = 28  # room on the right for arrows that go back up (loops)
SKIP_LANE = 40  # room on the left for arrows that skip layers (so they never cross a box)
INK = "#2b2f36"
MUTED = "#5b6270"
EDGE = "#5b6270"
FILL = {"exit": "#eef6f0", "branch": "#fdf6e3", "wait": "#eef3fa"}
KIND_NAMES = {
    "wait": "Wait",
    "branch": "Branch",
    "send_message": "Send message",
    "open_case": "Open case",
    "send_survey": "Send survey",
    "set_attribute": "Set attribute",
    "tag": "Tag",
    "webhook": "Call webhook",
    "exit": "Exit",
}


@dataclass(frozen=True)
class Box:
    step_id: str
    layer: int
    x: float
    y: float


def summary(step: Step) -> str:
    """A short label for the step: its own `label`, else one drawn from its settings."""
    if step.label:
        return step.label
    if isinstance(step, WaitStep):
        if step.event_type:
            return f"until {step.event_type}"
        if step.time_of_day:
            return f"until {step.time_of_day:%H:%M} local"
        return _human_duration(step.duration.total_seconds() if step.duration else 0)
    if isinstance(step, SendMessageStep):
        return f"{step.channel}: {step.template}"
    if isinstance(step, OpenCaseStep):
        return step.subject
    if isinstance(step, SendSurveyStep):
        return step.survey
    if isinstance(step, SetAttributeStep):
        return f"{step.attribute} = {step.value}"
    if isinstance(step, TagStep):
        return ", ".join([f"+{t}" for t in step.add] + [f"-{t}" for t in step.remove])
    if isinstance(step, WebhookStep):
        return step.url.split("//", 1)[-1].split("/", 1)[0]
    if isinstance(step, ExitStep):
        return step.reason
    return ""


def trigger_text(document: JourneyDocument) -> str:
    trigger = document.trigger
    if isinstance(trigger, EventTrigger):
        return f"the event {trigger.event_type}" + (" (with conditions)" if trigger.conditions else "")
    if isinstance(trigger, SegmentTrigger):
        return f"entering the segment {trigger.segment}"
    if isinstance(trigger, DateAttributeTrigger):
        seconds = trigger.offset.total_seconds()
        if trigger.attribute == "activity.last":
            return f"{_human_duration(abs(seconds))} with no activity" if seconds > 0 else "the last activity"
        if seconds == 0:
            return f"the date in {trigger.attribute}"
        side = "before" if seconds < 0 else "after"
        return f"{_human_duration(abs(seconds))} {side} the date in {trigger.attribute}"
    assert isinstance(trigger, ManualTrigger)
    return "manual enrolment"


def _human_duration(seconds: float) -> str:
    for unit, size in (("week", 604800), ("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size and seconds % size == 0:
            amount = int(seconds // size)
            return f"{amount} {unit}{'s' if amount != 1 else ''}"
    return f"{int(seconds)} seconds"


def _clip(text: str, length: int = 28) -> str:
    return text if len(text) <= length else text[: length - 1] + "…"


def layout(document: JourneyDocument) -> dict[str, Box]:
    """Layers by longest path from the entry over the graph without its back edges (so loops point upwards)."""
    targets = {step.id: [e.target for e in edges(step, n)] for n, step in enumerate(document.steps)}
    back = _back_edges(document.entry, targets)
    layer = {document.entry: 0}
    order = [document.entry]
    changed = True
    while changed:  # longest path on a DAG of at most 200 steps: relax until stable
        changed = False
        for source in list(order):
            for target in targets[source]:
                if (source, target) in back:
                    continue
                if layer.get(target, -1) < layer[source] + 1:
                    layer[target] = layer[source] + 1
                    changed = True
                    if target not in order:
                        order.append(target)
    rows: dict[int, list[str]] = {}
    for step_id in order:
        rows.setdefault(layer[step_id], []).append(step_id)
    widest = max(len(row) for row in rows.values())
    full = widest * BOX_W + (widest - 1) * GAP_X
    boxes = {}
    for depth, row in rows.items():
        row_w = len(row) * BOX_W + (len(row) - 1) * GAP_X
        left = MARGIN + SKIP_LANE + (full - row_w) / 2
        for position, step_id in enumerate(row):
            boxes[step_id] = Box(step_id, depth, left + position * (BOX_W + GAP_X), MARGIN + depth * (BOX_H + GAP_Y))
    return boxes


def _back_edges(entry: str, targets: Mapping[str, list[str]]) -> set[tuple[str, str]]:
    back: set[tuple[str, str]] = set()
    state: dict[str, int] = {entry: 1}
    work: list[tuple[str, int]] = [(entry, 0)]
    while work:
        node, child = work.pop()
        if child < len(targets[node]):
            work.append((node, child + 1))
            target = targets[node][child]
            if state.get(target) == 1:
                back.add((node, target))
            elif target not in state:
                state[target] = 1
                work.append((target, 0))
        else:
            state[node] = 2
    return back


def journey_diagram(
    document: JourneyDocument, *, diagram_id: str = "journey-diagram", counts: Mapping[str, int] | None = None
) -> SafeString:
    """The diagram as a <figure>; `counts` (step id → customers in it) adds a count to each box."""
    boxes = layout(document)
    width = max(b.x for b in boxes.values()) + BOX_W + MARGIN + LOOP_LANE
    height = max(b.y for b in boxes.values()) + BOX_H + MARGIN
    marker_id = escape(f"{diagram_id}-arrow")
    parts = [
        f'<defs><marker id="{marker_id}" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="8" markerHeight="8" '
        f'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="{EDGE}"/></marker></defs>'
    ]
    lanes = 0
    for n, step in enumerate(document.steps):
        for edge in edges(step, n):
            if edge.target in boxes and step.id in boxes:
                source, target = boxes[step.id], boxes[edge.target]
                lane = lanes if target.layer > source.layer + 1 or target.layer <= source.layer else 0
                parts.append(_arrow(source, target, edge.label, diagram_id, width, lane))
                lanes += 1 if lane == lanes else 0
    for step in document.steps:
        if step.id in boxes:
            parts.append(_box(step, boxes[step.id], None if counts is None else counts.get(step.id, 0)))
    description = (
        f"Starts on {trigger_text(document)} at the step {document.entry}; {len(document.steps)} steps. "
        "The list after the diagram describes each step and where it leads."
    )
    return mark_safe(  # noqa: S308 - every value went through escape()
        f'<figure class="journey-diagram" id="{escape(diagram_id)}">'
        f'<svg viewBox="0 0 {width:.0f} {height:.0f}" width="100%" style="max-width:{width:.0f}px" role="img" '
        f'focusable="false" aria-labelledby="{escape(diagram_id)}-title" aria-describedby="{escape(diagram_id)}-desc" '
        f'font-family="system-ui, sans-serif" font-size="12">'
        f'<title id="{escape(diagram_id)}-title">{escape(document.name)}: journey diagram</title>'
        f'<desc id="{escape(diagram_id)}-desc">{escape(description)}</desc>'
        f"{''.join(parts)}</svg>{outline(document, counts)}</figure>"
    )


def _box(step: Step, box: Box, count: int | None) -> str:
    kind = step_kind(step)
    label = summary(step)
    count_text = "" if count is None else f" · {count} in step"
    return (
        f'<g class="journey-step journey-step-{kind}" data-step="{escape(step.id)}">'
        f"<title>{escape(step.id)}: {escape(KIND_NAMES[kind])} {escape(label)}{escape(count_text)}</title>"
        f'<rect x="{box.x:.0f}" y="{box.y:.0f}" width="{BOX_W}" height="{BOX_H}" rx="{24 if kind == "exit" else 6}" '
        f'fill="{FILL.get(kind, "#ffffff")}" stroke="{INK}" stroke-width="1.5"/>'
        f'<text x="{box.x + BOX_W / 2:.0f}" y="{box.y + 22:.0f}" text-anchor="middle" fill="{INK}" '
        f'font-weight="600">{escape(KIND_NAMES[kind])}{escape(count_text)}</text>'
        f'<text x="{box.x + BOX_W / 2:.0f}" y="{box.y + 40:.0f}" text-anchor="middle" fill="{MUTED}">'
        f"{escape(_clip(label))}</text></g>"
    )


def _arrow(source: Box, target: Box, label: str, diagram_id: str, width: float, lane: int) -> str:
    """Down to the next layer: a straight arrow. Further down: along the left lane. Back up: the right lane.
    Lanes are offset per arrow so that two long arrows do not run on top of each other."""
    marker = f'marker-end="url(#{escape(diagram_id)}-arrow)"'
    stroke = f'fill="none" stroke="{EDGE}" stroke-width="1.5"'
    offset = (lane % 4) * 6
    if target.layer == source.layer + 1:
        x1, y1 = source.x + BOX_W / 2, source.y + BOX_H
        x2, y2 = target.x + BOX_W / 2, target.y
        shape = f'<line x1="{x1:.0f}" y1="{y1:.0f}" x2="{x2:.0f}" y2="{y2:.0f}" {stroke} {marker}/>'
        lx, ly, anchor = x1 + (x2 - x1) * 0.3 + 4, y1 + (y2 - y1) * 0.3 + 4, "start"
    elif target.layer > source.layer:
        lane_x = MARGIN + SKIP_LANE / 2 - offset
        y1, y2 = source.y + BOX_H / 2 + offset / 2, target.y + BOX_H / 2 - offset / 2
        shape = f'<path d="M{source.x:.0f},{y1:.0f} H{lane_x:.0f} V{y2:.0f} H{target.x:.0f}" {stroke} {marker}/>'
        lx, ly, anchor = source.x - 4, y1 - 4, "end"
    else:
        lane_x = width - LOOP_LANE / 2 + offset / 2
        y1, y2 = source.y + BOX_H / 2 + offset / 2, target.y + BOX_H / 2 - offset / 2
        shape = (
            f'<path d="M{source.x + BOX_W:.0f},{y1:.0f} H{lane_x:.0f} V{y2:.0f} H{target.x + BOX_W:.0f}" {stroke} '
            f'stroke-dasharray="4 3" {marker}/>'
        )
        lx, ly, anchor = source.x + BOX_W + 4, y1 - 4, "start"
    text = (
        f'<text x="{lx:.0f}" y="{ly:.0f}" fill="{INK}" font-size="11" text-anchor="{anchor}">'
        f"{escape(_clip(label, 20))}</text>"
        if label
        else ""
    )
    return f'<g class="journey-edge">{shape}{text}</g>'


def outline(document: JourneyDocument, counts: Mapping[str, int] | None = None) -> str:
    """The same graph as an ordered list, step by step, for screen readers (and for tests)."""
    items = []
    for n, step in enumerate(document.steps):
        kind = KIND_NAMES[step_kind(step)]
        label = summary(step)
        head = f"{step.id}: {kind}" + (f" ({label})" if label else "")
        if counts is not None:
            head += f", {counts.get(step.id, 0)} in step"
        ways = []
        for edge in edges(step, n):
            if isinstance(step, BranchStep) or edge.label:
                ways.append(f"{edge.label or 'next'} → {edge.target}")
            else:
                ways.append(f"then {edge.target}")
        tail = "; ".join(ways) if ways else "the customer leaves the journey"
        items.append(f'<li data-step="{escape(step.id)}">{escape(head)}. {escape(tail)}.</li>')
    return (
        f'<div class="visually-hidden journey-outline"><p>{escape(document.name)} starts on '
        f"{escape(trigger_text(document))}.</p><ol>{''.join(items)}</ol></div>"
    )
