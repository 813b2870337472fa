"""The typed parts of a journey document: conditions, triggers, steps and the edges between steps.

Frozen dataclasses built by `documents.validate_journey` from schema-valid data; the runtime, the dry run and the
diagram read these rather than the raw dict, so each knows exactly which fields a step kind has.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import time, timedelta
from typing import Any, Literal

JSONValue = str | int | float | bool | None | list[Any] | dict[str, Any]


@dataclass(frozen=True)
class Comparison:
    field: str  # profile.<name>, attributes.<key>, event.type, event.at, event.properties.<key>..., tags
    operator: str  # eq ne lt lte gt gte in contains exists
    value: JSONValue = None


@dataclass(frozen=True)
class AllOf:
    conditions: tuple[Condition, ...]


@dataclass(frozen=True)
class AnyOf:
    conditions: tuple[Condition, ...]


@dataclass(frozen=True)
class Not:
    condition: Condition


@dataclass(frozen=True)
class HasEvent:
    """Past behaviour: the customer had at least `min_count` events of this type (in the last `within`)."""

    event_type: str
    within: timedelta | None = None
    where: Condition | None = None
    min_count: int = 1


Condition = AllOf | AnyOf | Not | Comparison | HasEvent


@dataclass(frozen=True)
class EventTrigger:
    event_type: str
    conditions: Condition | None = None


@dataclass(frozen=True)
class SegmentTrigger:
    """Entering a segment; segments arrive with the insights module, the trigger's shape is fixed now."""

    segment: str


@dataclass(frozen=True)
class DateAttributeTrigger:
    """A date in the customer's attributes plus `offset` (negative: before it), e.g. 30 days before renewal."""

    attribute: str
    offset: timedelta
    time_of_day: time | None = None
    conditions: Condition | None = None


@dataclass(frozen=True)
class ManualTrigger:
    pass


Trigger = EventTrigger | SegmentTrigger | DateAttributeTrigger | ManualTrigger


@dataclass(frozen=True)
class Reentry:
    policy: Literal["never", "after", "always"] = "never"
    days: int | None = None


@dataclass(frozen=True)
class Edge:
    """One arrow of the graph: where a step may lead, with its label ("timeout", a branch's label)."""

    target: str
    label: str = ""
    path: str = ""  # where the document names the target, e.g. "steps[2].branches[0].then"


@dataclass(frozen=True)
class WaitStep:
    id: str
    next: str
    label: str = ""
    duration: timedelta | None = None
    time_of_day: time | None = None  # in the customer's time zone
    event_type: str | None = None
    where: Condition | None = None
    timeout: timedelta | None = None
    on_timeout: str | None = None


@dataclass(frozen=True)
class Branch:
    when: Condition
    then: str
    label: str = ""


@dataclass(frozen=True)
class BranchStep:
    id: str
    branches: tuple[Branch, ...]
    otherwise: str
    label: str = ""


@dataclass(frozen=True)
class SendMessageStep:
    id: str
    channel: str
    template: str
    purpose: str
    next: str
    label: str = ""


@dataclass(frozen=True)
class OpenCaseStep:
    id: str
    subject: str
    next: str
    label: str = ""
    goal: str = ""
    priority: str = "normal"
    queue: str = ""
    assignee: str = ""
    is_task: bool = False


@dataclass(frozen=True)
class SendSurveyStep:
    id: str
    survey: str
    next: str
    label: str = ""
    channel: str = "last_used"


@dataclass(frozen=True)
class SetAttributeStep:
    id: str
    attribute: str
    value: str | int | float | bool | None
    next: str
    label: str = ""


@dataclass(frozen=True)
class TagStep:
    id: str
    next: str
    label: str = ""
    add: tuple[str, ...] = ()
    remove: tuple[str, ...] = ()


@dataclass(frozen=True)
class WebhookStep:
    id: str
    url: str
    next: str
    label: str = ""
    is_signed: bool = True


@dataclass(frozen=True)
class ExitStep:
    id: str
    label: str = ""
    reason: str = ""


Step = (
    WaitStep | BranchStep | SendMessageStep | OpenCaseStep | SendSurveyStep | SetAttributeStep | TagStep | WebhookStep
) | ExitStep


@dataclass(frozen=True)
class JourneyDocument:
    key: str
    name: str
    trigger: Trigger
    steps: tuple[Step, ...]
    entry: str  # the start step: `start` in the document, else the first step
    goal: Condition | None = None
    reentry: Reentry = field(default_factory=Reentry)
    description: str = ""
    version_note: str = ""
    data: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)  # as validated, to store

    def step(self, step_id: str) -> Step:
        return next(s for s in self.steps if s.id == step_id)


def step_kind(step: Step) -> str:
    return _KIND_OF[type(step)]


def edges(step: Step, index: int) -> tuple[Edge, ...]:
    """The arrows out of `step` (the `index`-th step), in the order the document gives them."""
    at = f"steps[{index}]"
    if isinstance(step, ExitStep):
        return ()
    if isinstance(step, BranchStep):
        arrows = [
            Edge(b.then, b.label or f"branch {n + 1}", f"{at}.branches[{n}].then") for n, b in enumerate(step.branches)
        ]
        return (*arrows, Edge(step.otherwise, "otherwise", f"{at}.otherwise"))
    if isinstance(step, WaitStep) and step.on_timeout is not None:
        return (Edge(step.next, "event", f"{at}.next"), Edge(step.on_timeout, "timeout", f"{at}.on_timeout"))
    return (Edge(step.next, "", f"{at}.next"),)


_KIND_OF: dict[type, str] = {
    WaitStep: "wait", BranchStep: "branch", SendMessageStep: "send_message", OpenCaseStep: "open_case",
    SendSurveyStep: "send_survey", SetAttributeStep: "set_attribute", TagStep: "tag", WebhookStep: "webhook",
    ExitStep: "exit",
}  # fmt: skip
