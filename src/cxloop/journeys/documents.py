"""Journey documents: YAML or JSON text in, a typed, checked JourneyDocument out, or a ValidationError whose
`fields` maps the path of every problem ("steps[3].next", "trigger.event") to its reason.

Two passes, so an author sees all mistakes at once: the shipped JSON Schema (journey.schema.json) checks the
shape, then graph.py checks what a schema cannot express: every step id named exists, one start step, nothing
unreachable, every loop waits somewhere (a loop without a wait would spin), and every path ends at an exit or is
ended by the goal. The runtime relies on these, so it never meets a document it cannot run. The typed parts
(frozen dataclasses) are in elements.py.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping
from datetime import time, timedelta
from functools import cache
from importlib import resources
from typing import Any, Literal

import jsonschema_rs
import yaml

from cxloop.core.errors import ValidationError
from cxloop.journeys.elements import (
    AllOf,
    AnyOf,
    Branch,
    BranchStep,
    Comparison,
    Condition,
    DateAttributeTrigger,
    EventTrigger,
    ExitStep,
    HasEvent,
    JourneyDocument,
    ManualTrigger,
    Not,
    OpenCaseStep,
    Reentry,
    SegmentTrigger,
    SendMessageStep,
    SendSurveyStep,
    SetAttributeStep,
    Step,
    TagStep,
    Trigger,
    WaitStep,
    WebhookStep,
)
from cxloop.journeys.graph import check_graph

MAX_TEXT_LENGTH = 1_000_000
_MAX_DEPTH = 64
_MAX_NODES = 100_000
_ROOT = "document"

# ---------------------------------------------------------------- entry points


@cache
def journey_schema() -> dict[str, Any]:
    """The JSON Schema shipped with cxloop (also served to editors); callers must not mutate it."""
    text = resources.files("cxloop.journeys").joinpath("schema/journey.schema.json").read_text(encoding="utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


@cache
def _validator() -> jsonschema_rs.Validator:
    return jsonschema_rs.validator_for(journey_schema())


def parse_journey(text: str, *, syntax: Literal["yaml", "json"] = "yaml") -> JourneyDocument:
    """Parse and check a journey document; raises ValidationError with every problem's path."""
    if len(text) > MAX_TEXT_LENGTH:
        _refuse({_ROOT: f"longer than {MAX_TEXT_LENGTH:,} characters"})
    try:
        data = _load_json(text) if syntax == "json" else _load_yaml(text)
    except _SyntaxProblem as problem:
        _refuse({_ROOT: str(problem)})
    return validate_journey(data)


def validate_journey(data: object) -> JourneyDocument:
    """Check already-loaded data (a dict from a JSON API body, say) and build the typed document."""
    problems: dict[str, str] = {}
    _check_plain_json(data, _ROOT, problems)
    if problems:
        _refuse(problems)
    for error in _validator().iter_errors(data):
        for path, reason in _describe(error):
            _add(problems, path, reason)
    if problems:
        _refuse(problems)
    assert isinstance(data, dict)
    document = _build(data)
    problems = check_graph(document)
    if problems:
        _refuse(problems)
    return document


def load_example(name: str) -> JourneyDocument:
    """One of the ready-made journeys in examples/ ("onboarding", "win_back")."""
    if name not in example_names():
        raise ValueError(f"no example journey {name!r}")
    return parse_journey(example_text(name))


def example_text(name: str) -> str:
    return resources.files("cxloop.journeys").joinpath(f"examples/{name}.yaml").read_text(encoding="utf-8")


def example_names() -> tuple[str, ...]:
    folder = resources.files("cxloop.journeys").joinpath("examples")
    return tuple(sorted(p.name.removesuffix(".yaml") for p in folder.iterdir() if p.name.endswith(".yaml")))


def _refuse(problems: dict[str, str]) -> Any:
    count = len(problems)
    raise ValidationError(
        f"The journey document is not valid ({count} problem{'s' if count != 1 else ''}).", fields=problems
    )


def _add(problems: dict[str, str], path: str, reason: str) -> None:
    if path in problems:
        if reason not in problems[path].split("; "):
            problems[path] = f"{problems[path]}; {reason}"
    else:
        problems[path] = reason


# ---------------------------------------------------------------- text to plain data


class _SyntaxProblem(Exception):
    pass


class _Loader(yaml.SafeLoader):
    """SafeLoader without YAML 1.1's surprises: 10:30 stays the text "10:30" (not 630) and 2026-01-01 stays text,
    so times of day and dates mean what they look like and the data is plain JSON."""


_NO_SEXAGESIMAL = {
    "tag:yaml.org,2002:int": re.compile(
        r"^(?:[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+)$"
    ),
    "tag:yaml.org,2002:float": re.compile(
        r"^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?|\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?"
        r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
    ),
}
_Loader.yaml_implicit_resolvers = {
    first: [
        (tag, _NO_SEXAGESIMAL.get(tag, regexp)) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"
    ]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _load_yaml(text: str) -> object:
    try:
        return yaml.load(text, Loader=_Loader)  # noqa: S506 - _Loader is a SafeLoader
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        raise _SyntaxProblem(f"YAML syntax error{where}: {error.problem or error.context}") from None
    except yaml.YAMLError as error:
        raise _SyntaxProblem(f"YAML syntax error: {error}") from None
    except RecursionError:
        raise _SyntaxProblem("nested too deeply") from None


def _load_json(text: str) -> object:
    def no_constants(name: str) -> object:
        raise _SyntaxProblem(f"JSON syntax error: {name} is not a number JSON allows")

    try:
        return json.loads(text, parse_constant=no_constants)
    except json.JSONDecodeError as error:
        raise _SyntaxProblem(f"JSON syntax error at line {error.lineno}, column {error.colno}: {error.msg}") from None
    except RecursionError:
        raise _SyntaxProblem("nested too deeply") from None


def _check_plain_json(data: object, path: str, problems: dict[str, str]) -> None:
    """Refuse what JSON cannot hold (YAML's non-text keys, NaN, binary), too-deep nesting and alias bombs, before
    the schema validator sees the data."""
    stack: list[tuple[object, str, int]] = [(data, path, 0)]
    seen = 0
    while stack:
        value, at, depth = stack.pop()
        seen += 1
        if seen > _MAX_NODES:
            _add(problems, _ROOT, f"more than {_MAX_NODES:,} values")
            return
        if depth > _MAX_DEPTH:
            _add(problems, at, f"nested more than {_MAX_DEPTH} levels deep")
            continue
        if isinstance(value, dict):
            for key, item in value.items():
                if not isinstance(key, str):
                    _add(problems, at, f"the key {key!r} is not text")
                else:
                    stack.append((item, _join(at, key), depth + 1))
        elif isinstance(value, list):
            stack.extend((item, f"{at}[{n}]", depth + 1) for n, item in enumerate(value))
        elif isinstance(value, float) and not math.isfinite(value):
            _add(problems, at, "not a finite number")
        elif not isinstance(value, str | int | float | bool | type(None)):
            _add(problems, at, f"a {type(value).__name__} is not a JSON value")


def _join(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return key if path == _ROOT else f"{path}.{key}"


# ---------------------------------------------------------------- schema errors to paths and reasons


def _describe(error: jsonschema_rs.ValidationError) -> list[tuple[str, str]]:
    path = _ROOT
    for part in error.instance_path:
        path = _join(path, part)
    keyword = error.schema_path[-1] if error.schema_path else ""
    details = error.kind.as_dict()
    if keyword in {"required", "dependentRequired"}:
        return [(_join(path, str(details["property"])), "required")]
    if keyword == "additionalProperties":
        return [(_join(path, str(name)), "unknown field here") for name in details.get("unexpected", [])]
    own_message = _schema_at(error.schema_path[:-1]).get("errorMessage")
    if keyword in {"oneOf", "anyOf", "not", "pattern", "type"} and isinstance(own_message, str):
        return [(path, own_message)]
    if keyword == "enum":
        return [(path, "must be one of: " + ", ".join(str(option) for option in details.get("options", [])))]
    return [(path, error.message)]


def _schema_at(schema_path: list[str | int]) -> dict[str, Any]:
    node: Any = journey_schema()
    for part in schema_path:
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            return {}
    return node if isinstance(node, dict) else {}


# ---------------------------------------------------------------- valid data to dataclasses

_UNIT_SECONDS = {"minute": 60, "hour": 3600, "day": 86400, "week": 604800}


def parse_duration(text: str) -> timedelta:
    """ "3 days" → timedelta(days=3); the schema has already checked the shape."""
    amount, unit = text.split(" ")
    return timedelta(seconds=int(amount) * _UNIT_SECONDS[unit.removesuffix("s")])


def _duration(value: object) -> timedelta | None:
    return parse_duration(value) if isinstance(value, str) else None


def _time(value: object) -> time | None:
    if not isinstance(value, str):
        return None
    hours, minutes = value.split(":")
    return time(int(hours), int(minutes))


def build_condition(data: Mapping[str, Any]) -> Condition:
    """A schema-valid condition object as its dataclass (the runtime and the dry run evaluate these)."""
    if "all" in data:
        return AllOf(tuple(build_condition(item) for item in data["all"]))
    if "any" in data:
        return AnyOf(tuple(build_condition(item) for item in data["any"]))
    if "not" in data:
        return Not(build_condition(data["not"]))
    if "has_event" in data:
        where = data.get("where")
        return HasEvent(
            data["has_event"], _duration(data.get("within")), build_condition(where) if where else None,
            data.get("min_count", 1),
        )  # fmt: skip
    return Comparison(data["field"], data["operator"], data.get("value"))


def _maybe_condition(data: object) -> Condition | None:
    return build_condition(data) if isinstance(data, dict) else None


def _build_trigger(data: Mapping[str, Any]) -> Trigger:
    kind = data["kind"]
    if kind == "event":
        return EventTrigger(data["event"], _maybe_condition(data.get("conditions")))
    if kind == "segment":
        return SegmentTrigger(data["segment"])
    if kind == "date_attribute":
        offset_data = data["offset"]
        offset = _duration(offset_data.get("duration")) or timedelta(0)
        if offset_data["direction"] == "before":
            offset = -offset
        return DateAttributeTrigger(
            data["attribute"], offset, _time(data.get("time_of_day")), _maybe_condition(data.get("conditions"))
        )
    return ManualTrigger()


def _build_wait(d: Mapping[str, Any]) -> Step:
    return WaitStep(
        d["id"], d["next"], d.get("label", ""), _duration(d.get("duration")), _time(d.get("time_of_day")),
        d.get("event"), _maybe_condition(d.get("where")), _duration(d.get("timeout")), d.get("on_timeout"),
    )  # fmt: skip


def _build_branch(d: Mapping[str, Any]) -> Step:
    branches = tuple(Branch(build_condition(b["when"]), b["then"], b.get("label", "")) for b in d["branches"])
    return BranchStep(d["id"], branches, d["otherwise"], d.get("label", ""))


_STEP_BUILDERS: dict[str, Callable[[Mapping[str, Any]], Step]] = {
    "wait": _build_wait,
    "branch": _build_branch,
    "send_message": lambda d: SendMessageStep(
        d["id"], d["channel"], d["template"], d["purpose"], d["next"], d.get("label", "")
    ),
    "open_case": lambda d: OpenCaseStep(
        d["id"],
        d["subject"],
        d["next"],
        d.get("label", ""),
        d.get("goal", ""),
        d.get("priority", "normal"),
        d.get("queue", ""),
        d.get("assignee", ""),
        d.get("task", False),
    ),  # fmt: skip
    "send_survey": lambda d: SendSurveyStep(
        d["id"], d["survey"], d["next"], d.get("label", ""), d.get("channel", "last_used")
    ),
    "set_attribute": lambda d: SetAttributeStep(d["id"], d["attribute"], d["value"], d["next"], d.get("label", "")),
    "tag": lambda d: TagStep(
        d["id"], d["next"], d.get("label", ""), tuple(d.get("add", ())), tuple(d.get("remove", ()))
    ),
    "webhook": lambda d: WebhookStep(d["id"], d["url"], d["next"], d.get("label", ""), d.get("signed", True)),
    "exit": lambda d: ExitStep(d["id"], d.get("label", ""), d.get("reason", "")),
}


def _build(data: dict[str, Any]) -> JourneyDocument:
    steps = tuple(_STEP_BUILDERS[item["kind"]](item) for item in data["steps"])
    reentry = data.get("reentry", {"policy": "never"})
    return JourneyDocument(
        key=data["key"], name=data["name"], trigger=_build_trigger(data["trigger"]), steps=steps,
        entry=data.get("start", steps[0].id),
        goal=_maybe_condition(data.get("goal")), reentry=Reentry(reentry["policy"], reentry.get("days")),
        description=data.get("description", ""), version_note=data.get("version_note", ""), data=data,
    )  # fmt: skip
