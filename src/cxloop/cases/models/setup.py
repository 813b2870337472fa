"""What admins configure: engagement goals, categories, case fields, case templates (plans), macros, and
which channels open cases by themselves."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class Goal(models.Model):
    """A business goal a case serves. Five ship (attract, acquire, care, retain, grow); admins add more."""

    key = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=100)
    description = models.CharField(max_length=300, blank=True)
    position = models.PositiveSmallIntegerField(default=0)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["position", "name"]

    def __str__(self) -> str:
        return self.name


class Category(models.Model):
    """What a case is about ("billing", "delivery fault"); the unit of repeat-contact and root-cause counts."""

    key = models.SlugField(max_length=60, unique=True)
    name = models.CharField(max_length=100)
    goal = models.ForeignKey(
        Goal, null=True, blank=True, on_delete=models.SET_NULL, related_name="categories", help_text="Default goal."
    )
    description = models.CharField(max_length=300, blank=True)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "categories"

    def __str__(self) -> str:
        return self.name


class CaseFieldType(models.TextChoices):
    TEXT = "text", "Text"
    NUMBER = "number", "Number"
    BOOLEAN = "boolean", "Yes / no"
    DATE = "date", "Date"
    CHOICE = "choice", "Choice"


class CaseFieldDefinition(models.Model):
    """A custom case field; case.custom_fields values are checked against it."""

    key = models.SlugField(max_length=50, unique=True)
    label = models.CharField(max_length=100)
    type = models.CharField(max_length=10, choices=CaseFieldType.choices, default=CaseFieldType.TEXT)
    choices = models.JSONField(default=list, blank=True)
    required_to_resolve = models.BooleanField(default=False)
    description = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["label"]

    def __str__(self) -> str:
        return self.label


class CaseTemplate(models.Model):
    """A suggested plan for cases of one goal (and category): the tasks a case starts with; staff adapt them."""

    name = models.CharField(max_length=100, unique=True)
    goal = models.ForeignKey(Goal, null=True, blank=True, on_delete=models.CASCADE, related_name="templates")
    category = models.ForeignKey(Category, null=True, blank=True, on_delete=models.CASCADE, related_name="templates")
    description = models.CharField(max_length=300, blank=True)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class CaseTemplateTask(models.Model):
    template = models.ForeignKey(CaseTemplate, on_delete=models.CASCADE, related_name="tasks")
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    position = models.PositiveSmallIntegerField(default=0)
    checklist = models.JSONField(default=list, blank=True, help_text="Items (strings) the task starts with.")
    due_after_hours = models.PositiveIntegerField(null=True, blank=True, help_text="Due this long after opening.")

    class Meta:
        ordering = ["template", "position", "id"]

    def __str__(self) -> str:
        return self.title


class ChannelCaseSetting(models.Model):
    """Whether a new inbound conversation on this channel opens a case by itself, and with what."""

    channel = models.CharField(max_length=16, unique=True)
    opens_cases = models.BooleanField(default=False)
    goal = models.ForeignKey(Goal, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    category = models.ForeignKey(Category, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    priority = models.CharField(max_length=10, default="normal")

    def __str__(self) -> str:
        return self.channel


class Macro(models.Model):
    """A named bundle of case actions (set status, priority, category, add a task, add a note…) run in one go,
    on one case or on many at once (bulk)."""

    name = models.CharField(max_length=100, unique=True)
    description = models.CharField(max_length=300, blank=True)
    actions = models.JSONField(default=list, help_text='[{"type": "set_priority", "value": "high"}, …]')
    is_active = models.BooleanField(default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name
