"""A survey's questions as one JSON document: parsed, validated (errors name the path, as `questions[2].choices`),
translated, and used to check answers.

Document shape (docs/feedback.md has the full reference):

    {"title": "How did we do?", "intro": "…", "thank_you": "…",
     "questions": [
        {"id": "score", "type": "nps", "text": "How likely …?", "required": true,
         "low_label": "Not at all likely", "high_label": "Extremely likely"},
        {"id": "comment", "type": "text", "text": "What is the main reason for your score?"},
        {"id": "reason", "type": "single", "text": "…", "choices": [{"value": "price", "label": "Price"}],
         "show_if": {"question": "score", "at_most": 6}},
        {"id": "address", "type": "text", "text": "Confirm your delivery address", "attribute": "delivery_address"}
     ]}

Types: nps (0–10), csat (1–5), ces (1–7), rating (min..max, 1..5 by default), single, multiple (choices), text.
`show_if` refers to an earlier question: {"question": id, "in": [values]} | {"at_most": n} | {"at_least": n} |
{"answered": true}. `attribute` maps the answer onto a customer attribute (written with the survey as its source).
Nps, csat and ces surveys have their scale question under the id "score" and the open question under "comment".
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cxloop.core.errors import ValidationError
from cxloop.core.ids import whole_number

SCALES: dict[str, tuple[int, int]] = {"nps": (0, 10), "csat": (1, 5), "ces": (1, 7)}
QUESTION_TYPES = ("nps", "csat", "ces", "rating", "single", "multiple", "text")
SCORE_QUESTION = "score"
COMMENT_QUESTION = "comment"
MAX_QUESTIONS = 50
MAX_TEXT_ANSWER = 5000
_ID = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


@dataclass(frozen=True)
class Choice:
    value: str
    label: str


@dataclass(frozen=True)
class Condition:
    """When a question is shown, judged on an earlier answer."""

    question: str
    values: tuple[str, ...] = ()
    at_most: int | None = None
    at_least: int | None = None
    answered: bool = False

    def holds(self, answers: Mapping[str, Any]) -> bool:
        answer = answers.get(self.question)
        if answer in (None, "", []):
            return False
        if self.answered:
            return True
        if self.values:
            given = answer if isinstance(answer, list) else [answer]
            return any(str(item) in self.values for item in given)
        if not isinstance(answer, int) or isinstance(answer, bool):
            return False
        if self.at_most is not None and answer > self.at_most:
            return False
        return not (self.at_least is not None and answer < self.at_least)


@dataclass(frozen=True)
class Question:
    id: str
    type: str
    text: str
    required: bool = False
    choices: tuple[Choice, ...] = ()
    min: int = 0
    max: int = 0
    low_label: str = ""
    high_label: str = ""
    show_if: Condition | None = None
    attribute: str = ""

    @property
    def is_scale(self) -> bool:
        return self.type in (*SCALES, "rating")

    def shown(self, answers: Mapping[str, Any]) -> bool:
        return self.show_if is None or self.show_if.holds(answers)


@dataclass(frozen=True)
class SurveyDefinition:
    title: str
    intro: str
    thank_you: str
    questions: tuple[Question, ...]

    def question(self, question_id: str) -> Question | None:
        return next((q for q in self.questions if q.id == question_id), None)

    def visible(self, answers: Mapping[str, Any]) -> list[Question]:
        """The questions shown for these answers so far (conditions refer only to earlier questions)."""
        return [q for q in self.questions if q.shown(answers)]


def standard_definition(kind: str, *, subject: str = "us") -> dict[str, Any]:
    """The starting document of a new NPS, CSAT or CES survey: the scale question plus the open question."""
    if kind == "nps":
        score = {
            "id": SCORE_QUESTION,
            "type": "nps",
            "required": True,
            "text": f"How likely are you to recommend {subject} to a friend or colleague?",
            "low_label": "Not at all likely",
            "high_label": "Extremely likely",
        }
        comment = "What is the main reason for your score?"
    elif kind == "csat":
        score = {
            "id": SCORE_QUESTION,
            "type": "csat",
            "required": True,
            "text": "How satisfied are you with the help you received?",
            "low_label": "Very dissatisfied",
            "high_label": "Very satisfied",
        }
        comment = "What could we have done better?"
    elif kind == "ces":
        score = {
            "id": SCORE_QUESTION,
            "type": "ces",
            "required": True,
            "text": "How easy was it to get your issue resolved?",
            "low_label": "Very difficult",
            "high_label": "Very easy",
        }
        comment = "What made it easy or hard?"
    else:
        return {"title": "", "intro": "", "thank_you": "Thank you for your answers.", "questions": []}
    return {
        "title": "",
        "intro": "",
        "thank_you": "Thank you. We read every answer.",
        "questions": [score, {"id": COMMENT_QUESTION, "type": "text", "text": comment}],
    }


def _text(raw: Any, path: str, errors: dict[str, str], *, required: bool, limit: int = 1000) -> str:
    if raw is None:
        raw = ""
    if not isinstance(raw, str):
        errors[path] = "must be text"
        return ""
    value = raw.strip()
    if required and not value:
        errors[path] = "must not be empty"
    elif len(value) > limit:
        errors[path] = f"at most {limit} characters"
    return value


def _int(raw: Any, path: str, errors: dict[str, str]) -> int | None:
    if raw is None:
        return None
    if isinstance(raw, bool) or not isinstance(raw, int):
        errors[path] = "must be a whole number"
        return None
    return raw


def _choices(raw: Any, path: str, errors: dict[str, str]) -> tuple[Choice, ...]:
    if not isinstance(raw, list) or not raw:
        errors[path] = "must be a non-empty list"
        return ()
    found: list[Choice] = []
    for index, item in enumerate(raw):
        if isinstance(item, str):
            item = {"value": item, "label": item}
        if not isinstance(item, dict):
            errors[f"{path}[{index}]"] = "must be text or {value, label}"
            continue
        value = _text(item.get("value"), f"{path}[{index}].value", errors, required=True, limit=100)
        label = _text(item.get("label", value), f"{path}[{index}].label", errors, required=True, limit=300)
        if value and any(choice.value == value for choice in found):
            errors[f"{path}[{index}].value"] = f"{value!r} is listed twice"
        found.append(Choice(value, label))
    return tuple(found)


def _condition(raw: Any, path: str, earlier: dict[str, Question], errors: dict[str, str]) -> Condition | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        errors[path] = "must be an object"
        return None
    target = raw.get("question")
    if target not in earlier:
        errors[f"{path}.question"] = "must be the id of an earlier question"
        return None
    values = raw.get("in", [])
    if not isinstance(values, list):
        errors[f"{path}.in"] = "must be a list"
        values = []
    condition = Condition(
        question=str(target),
        values=tuple(str(v) for v in values),
        at_most=_int(raw.get("at_most"), f"{path}.at_most", errors),
        at_least=_int(raw.get("at_least"), f"{path}.at_least", errors),
        answered=bool(raw.get("answered", False)),
    )
    if not (condition.values or condition.at_most is not None or condition.at_least is not None or condition.answered):
        errors[path] = "needs one of in, at_most, at_least or answered"
    elif (condition.at_most is not None or condition.at_least is not None) and not earlier[target].is_scale:
        errors[path] = "at_most and at_least need a scale question"
    return condition


def _question(raw: Any, path: str, earlier: dict[str, Question], errors: dict[str, str]) -> Question | None:
    if not isinstance(raw, dict):
        errors[path] = "must be an object"
        return None
    question_id = raw.get("id")
    if not isinstance(question_id, str) or not _ID.match(question_id):
        errors[f"{path}.id"] = "must be a short lowercase id (letters, digits, _), starting with a letter"
        return None
    if question_id in earlier:
        errors[f"{path}.id"] = f"{question_id!r} is used twice"
    type_ = raw.get("type")
    if type_ not in QUESTION_TYPES:
        errors[f"{path}.type"] = f"must be one of {', '.join(QUESTION_TYPES)}"
        return None
    low, high = SCALES.get(str(type_), (0, 0))
    if type_ == "rating":
        low = _int(raw.get("min", 1), f"{path}.min", errors) or 0
        high = _int(raw.get("max", 5), f"{path}.max", errors) or 0
        if not 0 <= low < high <= 10:
            errors[f"{path}.max"] = "the scale must run from min to a larger max, within 0..10"
    attribute = raw.get("attribute", "")
    if not isinstance(attribute, str):
        errors[f"{path}.attribute"] = "must be an attribute key"
        attribute = ""
    return Question(
        id=question_id,
        type=str(type_),
        text=_text(raw.get("text"), f"{path}.text", errors, required=True),
        required=bool(raw.get("required", False)),
        choices=_choices(raw.get("choices"), f"{path}.choices", errors) if type_ in ("single", "multiple") else (),
        min=low,
        max=high,
        low_label=_text(raw.get("low_label"), f"{path}.low_label", errors, required=False, limit=100),
        high_label=_text(raw.get("high_label"), f"{path}.high_label", errors, required=False, limit=100),
        show_if=_condition(raw.get("show_if"), f"{path}.show_if", earlier, errors),
        attribute=attribute.strip(),
    )


def parse_definition(raw: Any, *, kind: str = "custom") -> SurveyDefinition:
    """The validated document; ValidationError with one entry per bad path otherwise.

    For nps, csat and ces surveys the first question must be the matching scale under the id "score".
    """
    errors: dict[str, str] = {}
    if not isinstance(raw, dict):
        raise ValidationError("A survey definition must be an object.", fields={"definition": "must be an object"})
    title = _text(raw.get("title"), "definition.title", errors, required=False, limit=200)
    intro = _text(raw.get("intro"), "definition.intro", errors, required=False, limit=2000)
    thank_you = _text(raw.get("thank_you"), "definition.thank_you", errors, required=False, limit=2000)
    items = raw.get("questions")
    questions: dict[str, Question] = {}
    if not isinstance(items, list) or not items:
        errors["definition.questions"] = "must be a non-empty list"
        items = []
    elif len(items) > MAX_QUESTIONS:
        errors["definition.questions"] = f"at most {MAX_QUESTIONS} questions"
    for index, item in enumerate(items[:MAX_QUESTIONS]):
        question = _question(item, f"definition.questions[{index}]", questions, errors)
        if question is not None and question.id not in questions:
            questions[question.id] = question
    if kind in SCALES and items:
        first = next(iter(questions.values()), None)
        if first is None or first.id != SCORE_QUESTION or first.type != kind:
            errors["definition.questions[0]"] = f'a {kind} survey starts with its {kind} question, id "score"'
    if errors:
        raise ValidationError("The survey definition is not valid.", fields=errors)
    return SurveyDefinition(title=title, intro=intro, thank_you=thank_you, questions=tuple(questions.values()))


def translated(raw: Mapping[str, Any], translations: Mapping[str, Any], locale: str) -> dict[str, Any]:
    """The definition document with the texts of `locale` (or its language, "de" for "de-AT") laid over it.

    A translation holds only texts: {"title", "intro", "thank_you", "questions": {id: {"text", "low_label",
    "high_label", "choices": {value: label}}}}; structure, ids and values stay those of the original.
    """
    texts = translations.get(locale) or translations.get(locale.split("-")[0].split("_")[0]) if locale else None
    if not isinstance(texts, Mapping):
        return dict(raw)
    result = dict(raw)
    for key in ("title", "intro", "thank_you"):
        if isinstance(texts.get(key), str) and texts[key].strip():
            result[key] = texts[key]
    found = texts.get("questions")
    by_id: Mapping[str, Any] = found if isinstance(found, Mapping) else {}
    questions = []
    for question in raw.get("questions", []):
        local = by_id.get(str(question.get("id"))) if isinstance(question, dict) else None
        if not isinstance(local, Mapping):
            questions.append(question)
            continue
        question = dict(question)
        for key in ("text", "low_label", "high_label"):
            if isinstance(local.get(key), str) and local[key].strip():
                question[key] = local[key]
        labels = local.get("choices")
        if isinstance(labels, Mapping) and isinstance(question.get("choices"), list):
            question["choices"] = [
                {"value": c, "label": labels.get(c, c)}
                if isinstance(c, str)
                else {**c, "label": labels.get(c.get("value"), c.get("label"))}
                for c in question["choices"]
            ]
        questions.append(question)
    result["questions"] = questions
    return result


def _answer(question: Question, raw: Any, errors: dict[str, str]) -> Any:
    path = f"answers.{question.id}"
    if question.is_scale:
        if isinstance(raw, str):
            text = raw.strip()
            number = whole_number(text.removeprefix("-"), max_digits=3)
            raw = raw if number is None else (-number if text.startswith("-") else number)
        if isinstance(raw, bool) or not isinstance(raw, int):
            errors[path] = f"must be a whole number from {question.min} to {question.max}"
            return None
        if not question.min <= raw <= question.max:
            errors[path] = f"must be between {question.min} and {question.max}"
            return None
        return raw
    if question.type == "text":
        if not isinstance(raw, str):
            errors[path] = "must be text"
            return None
        value = raw.strip()
        if len(value) > MAX_TEXT_ANSWER:
            errors[path] = f"at most {MAX_TEXT_ANSWER} characters"
            return None
        return value
    allowed = {choice.value for choice in question.choices}
    given = raw if isinstance(raw, list) else [raw]
    if question.type == "single" and isinstance(raw, list):
        errors[path] = "choose one"
        return None
    values = [str(item) for item in given if item not in (None, "")]
    wrong = [v for v in values if v not in allowed]
    if wrong:
        errors[path] = f"not a choice: {', '.join(wrong)}"
        return None
    return values if question.type == "multiple" else (values[0] if values else "")


def clean_answers(definition: SurveyDefinition, raw: Any, *, final: bool) -> dict[str, Any]:
    """Answers checked against the questions: unknown ids refused, values in range, and — when `final` —
    every required question that is shown answered. Answers to questions hidden by their condition are dropped."""
    if not isinstance(raw, Mapping):
        raise ValidationError("Answers must be an object.", fields={"answers": "must be an object"})
    errors: dict[str, str] = {}
    cleaned: dict[str, Any] = {}
    for key in raw:
        if definition.question(str(key)) is None:
            errors[f"answers.{key}"] = "no such question"
    for question in definition.questions:
        value = raw.get(question.id)
        if value in (None, "", []):
            continue
        answer = _answer(question, value, errors)
        if answer not in (None, "", []):
            cleaned[question.id] = answer
    for question in definition.questions:
        if not question.shown(cleaned):
            cleaned.pop(question.id, None)
        elif final and question.required and question.id not in cleaned:
            # An answer refused above keeps its own reason ("must be between 0 and 10"), not "please answer".
            errors.setdefault(f"answers.{question.id}", "please answer this question")
    if errors:
        raise ValidationError("Some answers are not valid.", fields=errors)
    return cleaned
