"""Reads of case configuration (goals, categories, fields, templates, channel settings, macros). Everyone who
may read cases may read how they are configured: the pickers of the case page need it."""

from __future__ import annotations

from django.db.models import QuerySet

from cxloop.cases.models import (
    CaseFieldDefinition,
    CaseTemplate,
    Category,
    ChannelCaseSetting,
    Goal,
    Macro,
)
from cxloop.core.actor import Actor
from cxloop.core.errors import NotFoundError
from cxloop.core.permissions import Perm


def list_goals(actor: Actor, *, include_retired: bool = False) -> list[Goal]:
    actor.require(Perm.CASES_VIEW)
    qs = Goal.objects.all() if include_retired else Goal.objects.filter(is_active=True)
    return list(qs.order_by("position", "name"))


def get_goal(actor: Actor, key: str) -> Goal:
    actor.require(Perm.CASES_VIEW)
    goal = Goal.objects.filter(key=key).first()
    if goal is None:
        raise NotFoundError(f"No goal {key!r}.")
    return goal


def list_categories(actor: Actor, *, include_retired: bool = False) -> list[Category]:
    actor.require(Perm.CASES_VIEW)
    qs = Category.objects.select_related("goal")
    return list((qs if include_retired else qs.filter(is_active=True)).order_by("name"))


def get_category(actor: Actor, key: str) -> Category:
    actor.require(Perm.CASES_VIEW)
    category = Category.objects.select_related("goal").filter(key=key).first()
    if category is None:
        raise NotFoundError(f"No category {key!r}.")
    return category


def list_case_fields(actor: Actor) -> list[CaseFieldDefinition]:
    actor.require(Perm.CASES_VIEW)
    return list(CaseFieldDefinition.objects.order_by("label", "key"))


def get_case_field(actor: Actor, key: str) -> CaseFieldDefinition:
    actor.require(Perm.CASES_VIEW)
    definition = CaseFieldDefinition.objects.filter(key=key).first()
    if definition is None:
        raise NotFoundError(f"No case field {key!r}.")
    return definition


def _templates() -> QuerySet[CaseTemplate]:
    return CaseTemplate.objects.select_related("goal", "category").prefetch_related("tasks")


def list_templates(actor: Actor, *, include_inactive: bool = False) -> list[CaseTemplate]:
    actor.require(Perm.CASES_VIEW)
    qs = _templates() if include_inactive else _templates().filter(is_active=True)
    return list(qs.order_by("name"))


def get_template(actor: Actor, template_id: int) -> CaseTemplate:
    actor.require(Perm.CASES_VIEW)
    template = _templates().filter(pk=template_id).first()
    if template is None:
        raise NotFoundError(f"No case template {template_id}.")
    return template


def list_channel_settings(actor: Actor) -> list[ChannelCaseSetting]:
    actor.require(Perm.CASES_VIEW)
    return list(ChannelCaseSetting.objects.select_related("goal", "category").order_by("channel"))


def list_macros(actor: Actor, *, include_inactive: bool = False) -> list[Macro]:
    actor.require(Perm.CASES_VIEW)
    qs = Macro.objects.select_related("created_by")
    return list((qs if include_inactive else qs.filter(is_active=True)).order_by("name"))


def get_macro(actor: Actor, macro_id: int) -> Macro:
    actor.require(Perm.CASES_VIEW)
    macro = Macro.objects.select_related("created_by").filter(pk=macro_id).first()
    if macro is None:
        raise NotFoundError(f"No macro {macro_id}.")
    return macro
