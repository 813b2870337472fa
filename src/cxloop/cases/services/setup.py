"""What admins configure for case management: engagement goals, categories, case fields, case templates (the
suggested plans), which channels open cases by themselves, and macros.

Configuration is referenced by live cases, so nothing here deletes what a case still points at: a goal or a
category in use is retired (hidden from pickers, kept on old cases), a template is deactivated. Every change
is audited, because a changed template or macro changes what staff do to customers from then on.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import Max

from cxloop.cases.models import (
    Case,
    CaseFieldDefinition,
    CaseFieldType,
    CaseTemplate,
    CaseTemplateTask,
    Category,
    ChannelCaseSetting,
    Goal,
    Macro,
    Priority,
)
from cxloop.cases.services.macros import check_actions
from cxloop.core.actor import Actor
from cxloop.core.errors import ConflictError, ValidationError
from cxloop.core.permissions import Perm
from cxloop.interactions.models import Channel
from cxloop.privacy.services import record_audit

_KEY_RE = re.compile(r"^[a-z][a-z0-9_-]{0,39}$")
_FIELD_KEY_RE = re.compile(r"^[a-z][a-z0-9_]{0,49}$")
NAME_MAX = 100
DESCRIPTION_MAX = 300
TEMPLATE_TASKS_MAX = 50
CHECKLIST_MAX = 30


def _name(value: str, field: str = "name", limit: int = NAME_MAX) -> str:
    value = " ".join(value.split())
    if not value:
        raise ValidationError(f"The {field} must not be empty.", fields={field: "must not be empty"})
    if len(value) > limit:
        raise ValidationError(f"The {field} is too long.", fields={field: f"at most {limit} characters"})
    return value


def _description(value: str) -> str:
    value = value.strip()
    if len(value) > DESCRIPTION_MAX:
        raise ValidationError("The description is too long.", fields={"description": f"at most {DESCRIPTION_MAX}"})
    return value


def _key(value: str, pattern: re.Pattern[str] = _KEY_RE) -> str:
    if not pattern.match(value):
        raise ValidationError(
            "The key is not valid.",
            fields={"key": "lower-case letters, digits, '_' or '-', starting with a letter"},
        )
    return value


def _audit(actor: Actor, action: str, object_type: str, object_id: str, summary: str, **changes: Any) -> None:
    record_audit(
        actor,
        action,
        object_type=object_type,
        object_id=object_id,
        summary=summary,
        before=changes.get("before"),
        after=changes.get("after"),
    )


# --- goals ------------------------------------------------------------------------------------------------------


def _goal_snapshot(goal: Goal) -> dict[str, Any]:
    return {"key": goal.key, "name": goal.name, "description": goal.description, "is_active": goal.is_active}


@transaction.atomic
def create_goal(actor: Actor, *, key: str, name: str, description: str = "") -> Goal:
    actor.require(Perm.CASES_CONFIGURE)
    key, name, description = _key(key), _name(name), _description(description)
    if Goal.objects.filter(key=key).exists():
        raise ConflictError(f"A goal with key {key!r} exists already.", fields={"key": "already exists"})
    last = Goal.objects.aggregate(last=Max("position"))["last"]
    goal = Goal.objects.create(key=key, name=name, description=description, position=(last or 0) + 1)
    _audit(actor, "case_goal.created", "case_goal", key, f"Goal {name}", after=_goal_snapshot(goal))
    return goal


@transaction.atomic
def update_goal(
    actor: Actor,
    goal: Goal,
    *,
    name: str | None = None,
    description: str | None = None,
    is_active: bool | None = None,
) -> Goal:
    """Rename a goal, or retire (is_active=False) / restore it. Cases keep their goal either way."""
    actor.require(Perm.CASES_CONFIGURE)
    before = _goal_snapshot(goal)
    if name is not None:
        goal.name = _name(name)
    if description is not None:
        goal.description = _description(description)
    if is_active is not None:
        if not is_active and not Goal.objects.filter(is_active=True).exclude(pk=goal.pk).exists():
            raise ConflictError("The last active goal cannot be retired.", fields={"is_active": "last active goal"})
        goal.is_active = is_active
    goal.save()
    _audit(
        actor,
        "case_goal.updated",
        "case_goal",
        goal.key,
        f"Goal {goal.name}",
        before=before,
        after=_goal_snapshot(goal),
    )
    return goal


@transaction.atomic
def delete_goal(actor: Actor, goal: Goal) -> None:
    """Delete a goal nothing uses (a typo). A goal that cases or templates use is retired instead."""
    actor.require(Perm.CASES_CONFIGURE)
    if Case.objects.filter(goal=goal).exists():
        raise ConflictError(
            "Cases serve this goal; retire it instead.", fields={"goal": "used by cases"}, code="goal_in_use"
        )
    if CaseTemplate.objects.filter(goal=goal).exists():
        raise ConflictError(
            "Case templates use this goal; retire it instead.", fields={"goal": "used by templates"}, code="goal_in_use"
        )
    before = _goal_snapshot(goal)
    goal.delete()
    _audit(actor, "case_goal.deleted", "case_goal", before["key"], f"Goal {before['name']}", before=before)


# --- categories -------------------------------------------------------------------------------------------------


def _category_snapshot(category: Category) -> dict[str, Any]:
    return {
        "key": category.key,
        "name": category.name,
        "goal": category.goal.key if category.goal is not None else None,
        "description": category.description,
        "is_active": category.is_active,
    }


@transaction.atomic
def create_category(actor: Actor, *, key: str, name: str, goal: Goal | None = None, description: str = "") -> Category:
    actor.require(Perm.CASES_CONFIGURE)
    key, name, description = _key(key), _name(name), _description(description)
    if Category.objects.filter(key=key).exists():
        raise ConflictError(f"A category with key {key!r} exists already.", fields={"key": "already exists"})
    category = Category.objects.create(key=key, name=name, goal=goal, description=description)
    _audit(actor, "case_category.created", "case_category", key, f"Category {name}", after=_category_snapshot(category))
    return category


@transaction.atomic
def update_category(
    actor: Actor,
    category: Category,
    *,
    name: str | None = None,
    goal: Goal | None = None,
    clear_goal: bool = False,
    description: str | None = None,
    is_active: bool | None = None,
) -> Category:
    """Rename, change the default goal, retire or restore a category (cases keep it either way)."""
    actor.require(Perm.CASES_CONFIGURE)
    before = _category_snapshot(category)
    if name is not None:
        category.name = _name(name)
    if clear_goal:
        category.goal = None
    elif goal is not None:
        category.goal = goal
    if description is not None:
        category.description = _description(description)
    if is_active is not None:
        category.is_active = is_active
    category.save()
    after = _category_snapshot(category)
    _audit(
        actor,
        "case_category.updated",
        "case_category",
        category.key,
        f"Category {category.name}",
        before=before,
        after=after,
    )
    return category


# --- case fields ------------------------------------------------------------------------------------------------


def _field_snapshot(definition: CaseFieldDefinition) -> dict[str, Any]:
    return {
        "key": definition.key,
        "label": definition.label,
        "type": definition.type,
        "choices": list(definition.choices),
        "required_to_resolve": definition.required_to_resolve,
        "description": definition.description,
    }


def _choices(type_: str, choices: list[str]) -> list[str]:
    cleaned = list(dict.fromkeys(str(c).strip() for c in choices if str(c).strip()))
    if type_ == CaseFieldType.CHOICE and not cleaned:
        raise ValidationError("A choice field needs choices.", fields={"choices": "give at least one choice"})
    if type_ != CaseFieldType.CHOICE and cleaned:
        raise ValidationError("Only a choice field has choices.", fields={"choices": "only for type choice"})
    if any(len(c) > NAME_MAX for c in cleaned):
        raise ValidationError("A choice is too long.", fields={"choices": f"each at most {NAME_MAX} characters"})
    return cleaned


@transaction.atomic
def define_case_field(
    actor: Actor,
    *,
    key: str,
    label: str,
    type: str = CaseFieldType.TEXT.value,  # noqa: A002 - the field's name in the API and the model
    choices: list[str] | None = None,
    required_to_resolve: bool = False,
    description: str = "",
) -> CaseFieldDefinition:
    actor.require(Perm.CASES_CONFIGURE)
    key, label, description = _key(key, _FIELD_KEY_RE), _name(label, "label"), _description(description)
    if type not in CaseFieldType.values:
        raise ValidationError(
            "Unknown field type.", fields={"type": f"must be one of {', '.join(CaseFieldType.values)}"}
        )
    cleaned = _choices(type, choices or [])
    if CaseFieldDefinition.objects.filter(key=key).exists():
        raise ConflictError(f"A case field with key {key!r} exists already.", fields={"key": "already exists"})
    definition = CaseFieldDefinition.objects.create(
        key=key,
        label=label,
        type=type,
        choices=cleaned,
        required_to_resolve=required_to_resolve,
        description=description,
    )
    _audit(actor, "case_field.defined", "case_field", key, f"Case field {label}", after=_field_snapshot(definition))
    return definition


@transaction.atomic
def update_case_field(
    actor: Actor,
    definition: CaseFieldDefinition,
    *,
    label: str | None = None,
    choices: list[str] | None = None,
    required_to_resolve: bool | None = None,
    description: str | None = None,
) -> CaseFieldDefinition:
    """Change a field's label, choices or rules. Its key and type stay: stored values were checked against them."""
    actor.require(Perm.CASES_CONFIGURE)
    before = _field_snapshot(definition)
    if label is not None:
        definition.label = _name(label, "label")
    if choices is not None:
        definition.choices = _choices(definition.type, choices)
    if required_to_resolve is not None:
        definition.required_to_resolve = required_to_resolve
    if description is not None:
        definition.description = _description(description)
    definition.save()
    after = _field_snapshot(definition)
    _audit(
        actor,
        "case_field.updated",
        "case_field",
        definition.key,
        f"Case field {definition.label}",
        before=before,
        after=after,
    )
    return definition


@transaction.atomic
def delete_case_field(actor: Actor, definition: CaseFieldDefinition) -> None:
    """Remove the definition. Values already stored on cases are kept (nothing typed is lost)."""
    actor.require(Perm.CASES_CONFIGURE)
    before = _field_snapshot(definition)
    definition.delete()
    _audit(actor, "case_field.deleted", "case_field", before["key"], f"Case field {before['label']}", before=before)


# --- templates --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TemplateTaskInput:
    title: str
    description: str = ""
    checklist: tuple[str, ...] = ()
    due_after_hours: int | None = None


@dataclass(frozen=True)
class TemplateInput:
    name: str
    goal: Goal | None = None
    category: Category | None = None
    description: str = ""
    tasks: tuple[TemplateTaskInput, ...] = ()


def _template_snapshot(template: CaseTemplate) -> dict[str, Any]:
    return {
        "name": template.name,
        "goal": template.goal.key if template.goal is not None else None,
        "category": template.category.key if template.category is not None else None,
        "description": template.description,
        "is_active": template.is_active,
        "tasks": [t.title for t in template.tasks.order_by("position", "id")],
    }


def _check_tasks(tasks: tuple[TemplateTaskInput, ...]) -> list[CaseTemplateTask]:
    if len(tasks) > TEMPLATE_TASKS_MAX:
        raise ValidationError("Too many tasks.", fields={"tasks": f"at most {TEMPLATE_TASKS_MAX}"})
    rows: list[CaseTemplateTask] = []
    errors: dict[str, str] = {}
    for index, task in enumerate(tasks):
        title = " ".join(task.title.split())
        if not title or len(title) > 200:
            errors[f"tasks[{index}].title"] = "must be 1 to 200 characters"
        items = [item.strip()[:300] for item in task.checklist if item.strip()]
        if len(items) > CHECKLIST_MAX:
            errors[f"tasks[{index}].checklist"] = f"at most {CHECKLIST_MAX} items"
        if task.due_after_hours is not None and not 0 < task.due_after_hours <= 24 * 365:
            errors[f"tasks[{index}].due_after_hours"] = "must be between 1 and 8760"
        rows.append(
            CaseTemplateTask(
                title=title,
                description=task.description.strip(),
                position=index,
                checklist=items,
                due_after_hours=task.due_after_hours,
            )
        )
    if errors:
        raise ValidationError("Some tasks are not valid.", fields=errors)
    return rows


def _unique_template_name(name: str, exclude: int | None = None) -> None:
    others = CaseTemplate.objects.filter(name=name)
    if exclude is not None:
        others = others.exclude(pk=exclude)
    if others.exists():
        raise ConflictError(f"A template named {name!r} exists already.", fields={"name": "already exists"})


@transaction.atomic
def create_template(actor: Actor, data: TemplateInput) -> CaseTemplate:
    actor.require(Perm.CASES_CONFIGURE)
    name, description = _name(data.name), _description(data.description)
    rows = _check_tasks(data.tasks)
    _unique_template_name(name)
    template = CaseTemplate.objects.create(name=name, goal=data.goal, category=data.category, description=description)
    for row in rows:
        row.template = template
    CaseTemplateTask.objects.bulk_create(rows)
    _audit(
        actor,
        "case_template.created",
        "case_template",
        str(template.pk),
        f"Template {name}",
        after=_template_snapshot(template),
    )
    return template


@transaction.atomic
def update_template(
    actor: Actor,
    template: CaseTemplate,
    *,
    name: str | None = None,
    goal: Goal | None = None,
    clear_goal: bool = False,
    category: Category | None = None,
    clear_category: bool = False,
    description: str | None = None,
    is_active: bool | None = None,
) -> CaseTemplate:
    """Rename, re-target (goal, category), deactivate or reactivate a template. Existing cases keep their plan."""
    actor.require(Perm.CASES_CONFIGURE)
    before = _template_snapshot(template)
    if name is not None:
        cleaned = _name(name)
        _unique_template_name(cleaned, exclude=template.pk)
        template.name = cleaned
    if clear_goal:
        template.goal = None
    elif goal is not None:
        template.goal = goal
    if clear_category:
        template.category = None
    elif category is not None:
        template.category = category
    if description is not None:
        template.description = _description(description)
    if is_active is not None:
        template.is_active = is_active
    template.save()
    after = _template_snapshot(template)
    _audit(
        actor,
        "case_template.updated",
        "case_template",
        str(template.pk),
        f"Template {template.name}",
        before=before,
        after=after,
    )
    return template


@transaction.atomic
def replace_template_tasks(actor: Actor, template: CaseTemplate, tasks: tuple[TemplateTaskInput, ...]) -> CaseTemplate:
    """The template's suggested tasks become `tasks`, in that order. Cases seeded earlier keep their own tasks
    (their link to the old template task is cleared by the database)."""
    actor.require(Perm.CASES_CONFIGURE)
    before = _template_snapshot(template)
    rows = _check_tasks(tasks)
    template.tasks.all().delete()
    for row in rows:
        row.template = template
    CaseTemplateTask.objects.bulk_create(rows)
    template.save(update_fields=["updated_at"])
    after = _template_snapshot(template)
    _audit(
        actor,
        "case_template.tasks_replaced",
        "case_template",
        str(template.pk),
        f"Template {template.name}: {len(rows)} task(s)",
        before=before,
        after=after,
    )
    return template


# --- channel case settings --------------------------------------------------------------------------------------


@transaction.atomic
def set_channel_case_setting(
    actor: Actor,
    channel: str,
    *,
    opens_cases: bool,
    goal: Goal | None = None,
    category: Category | None = None,
    priority: str = Priority.NORMAL.value,
) -> ChannelCaseSetting:
    """Whether a new inbound conversation on `channel` opens a case by itself, and with which goal, category and
    priority (one setting per channel; this creates or replaces it)."""
    actor.require(Perm.CASES_CONFIGURE)
    errors: dict[str, str] = {}
    if channel not in Channel.values:
        errors["channel"] = f"must be one of {', '.join(Channel.values)}"
    if priority not in Priority.values:
        errors["priority"] = f"must be one of {', '.join(Priority.values)}"
    if errors:
        raise ValidationError("The channel setting is not valid.", fields=errors)
    existing = ChannelCaseSetting.objects.filter(channel=channel).select_related("goal", "category").first()
    before = _setting_snapshot(existing) if existing is not None else None
    setting, _ = ChannelCaseSetting.objects.update_or_create(
        channel=channel,
        defaults={"opens_cases": opens_cases, "goal": goal, "category": category, "priority": priority},
    )
    _audit(
        actor,
        "case_channel_setting.set",
        "case_channel_setting",
        channel,
        f"{channel}: {'opens cases' if opens_cases else 'does not open cases'}",
        before=before,
        after=_setting_snapshot(setting),
    )
    return setting


def _setting_snapshot(setting: ChannelCaseSetting) -> dict[str, Any]:
    return {
        "channel": setting.channel,
        "opens_cases": setting.opens_cases,
        "goal": setting.goal.key if setting.goal is not None else None,
        "category": setting.category.key if setting.category is not None else None,
        "priority": setting.priority,
    }


# --- macros -----------------------------------------------------------------------------------------------------


def _macro_snapshot(macro: Macro) -> dict[str, Any]:
    return {
        "name": macro.name,
        "description": macro.description,
        "actions": list(macro.actions),
        "is_active": macro.is_active,
    }


def _unique_macro_name(name: str, exclude: int | None = None) -> None:
    others = Macro.objects.filter(name=name)
    if exclude is not None:
        others = others.exclude(pk=exclude)
    if others.exists():
        raise ConflictError(f"A macro named {name!r} exists already.", fields={"name": "already exists"})


@transaction.atomic
def create_macro(actor: Actor, *, name: str, actions: list[dict[str, Any]], description: str = "") -> Macro:
    """Save a macro. Its actions are checked now (types, values, named goals, users…), so running it later on
    many cases cannot fail for a typo."""
    actor.require(Perm.CASES_CONFIGURE)
    name, description = _name(name), _description(description)
    cleaned = check_actions(actions)
    _unique_macro_name(name)
    macro = Macro.objects.create(name=name, description=description, actions=cleaned, created_by=actor.user)
    _audit(actor, "macro.created", "macro", str(macro.pk), f"Macro {name}", after=_macro_snapshot(macro))
    return macro


@transaction.atomic
def update_macro(
    actor: Actor,
    macro: Macro,
    *,
    name: str | None = None,
    description: str | None = None,
    actions: list[dict[str, Any]] | None = None,
    is_active: bool | None = None,
) -> Macro:
    actor.require(Perm.CASES_CONFIGURE)
    before = _macro_snapshot(macro)
    if name is not None:
        cleaned = _name(name)
        _unique_macro_name(cleaned, exclude=macro.pk)
        macro.name = cleaned
    if description is not None:
        macro.description = _description(description)
    if actions is not None:
        macro.actions = check_actions(actions)
    if is_active is not None:
        macro.is_active = is_active
    macro.save()
    _audit(
        actor,
        "macro.updated",
        "macro",
        str(macro.pk),
        f"Macro {macro.name}",
        before=before,
        after=_macro_snapshot(macro),
    )
    return macro


@transaction.atomic
def delete_macro(actor: Actor, macro: Macro) -> None:
    """A macro is only a shortcut: deleting it changes no case (what it did stays in the audit trail)."""
    actor.require(Perm.CASES_CONFIGURE)
    before = _macro_snapshot(macro)
    object_id = str(macro.pk)
    macro.delete()
    _audit(actor, "macro.deleted", "macro", object_id, f"Macro {before['name']}", before=before)
