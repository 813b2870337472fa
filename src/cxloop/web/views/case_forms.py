"""Forms of the case pages. They only parse: the case services own the rules, and their errors come back onto
these fields through `cxloop.web.forms.attempt`.

Every form that changes a case carries the version the page showed (`version`, hidden), so a change someone
else made in between is reported ("changed by someone else") instead of silently overwritten.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django import forms

from cxloop.cases.models import ACTIVE_STATUSES, CaseLinkKind, CaseStatus, Priority
from cxloop.cases.queries.cases import CaseFilters
from cxloop.web.forms import FastSelect, FastWidgetsMixin

Choices = Iterable[tuple[Any, str]]

# The status filter of the queues: "active" (the default) or one status, or any.
STATUS_VIEWS: dict[str, tuple[str, ...]] = {
    "active": ACTIVE_STATUSES,
    **{value: (value,) for value in CaseStatus.values},
    "any": tuple(CaseStatus.values),
}
_STATUS_VIEW_CHOICES = [("active", "Active (not resolved)"), *CaseStatus.choices, ("any", "Any status")]
_DATETIME_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S"]
TEXT_MAX = 20_000


def _set_choices(form: forms.Form, name: str, choices: Choices, *, empty: str | None = None) -> None:
    options = list(choices)
    if empty is not None:
        options = [("", empty), *options]
    field = form.fields[name]
    if type(field.widget) is forms.Select:  # long lists (staff, categories): options rendered without templates
        field.widget = FastSelect(attrs=field.widget.attrs)
    field.choices = options  # type: ignore[attr-defined]


class VersionedForm(FastWidgetsMixin, forms.Form):
    version = forms.IntegerField(min_value=1, widget=forms.HiddenInput)


class CaseFilterForm(FastWidgetsMixin, forms.Form):
    q = forms.CharField(max_length=200, required=False, label="Search subject or number")
    status = forms.ChoiceField(choices=_STATUS_VIEW_CHOICES, required=False, label="Status")
    priority = forms.ChoiceField(choices=[("", "Any priority"), *Priority.choices], required=False, label="Priority")
    goal = forms.ChoiceField(choices=[], required=False, label="Goal")
    category = forms.ChoiceField(choices=[], required=False, label="Category")
    routing_queue = forms.TypedChoiceField(choices=[], coerce=int, empty_value=None, required=False, label="Queue")
    owner = forms.ChoiceField(choices=[], required=False, label="Owner")

    def __init__(
        self,
        *args: Any,
        goals: Choices = (),
        categories: Choices = (),
        queues: Choices = (),
        owners: Choices = (),
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        _set_choices(self, "goal", goals, empty="Any goal")
        _set_choices(self, "category", categories, empty="Any category")
        _set_choices(self, "routing_queue", queues, empty="Any queue")
        _set_choices(self, "owner", owners, empty="Anyone")

    def filters(self, queue: str) -> CaseFilters:
        data = self.cleaned_data
        return CaseFilters(
            queue=queue,
            statuses=STATUS_VIEWS[data.get("status") or "active"],
            priority=data.get("priority") or "",
            goal=data.get("goal") or "",
            category=data.get("category") or "",
            queue_id=data.get("routing_queue"),
            owner=data.get("owner") or "",
            text=(data.get("q") or "").strip(),
        )


class CaseCreateForm(FastWidgetsMixin, forms.Form):
    customer = forms.CharField(max_length=32, label="Customer", help_text="The customer's id (cus_…)")
    subject = forms.CharField(max_length=300, label="Subject")
    description = forms.CharField(max_length=TEXT_MAX, required=False, widget=forms.Textarea(attrs={"rows": 3}))
    goal = forms.ChoiceField(choices=[], required=False, label="Goal")
    category = forms.ChoiceField(choices=[], required=False, label="Category")
    priority = forms.ChoiceField(choices=Priority.choices, initial=Priority.NORMAL, label="Priority")
    conversation = forms.CharField(max_length=32, required=False, widget=forms.HiddenInput)
    take = forms.BooleanField(required=False, initial=True, label="Assign it to me")

    def __init__(self, *args: Any, goals: Choices = (), categories: Choices = (), **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", "newcase-%s")  # unique beside the other forms of the customer/conversation page
        super().__init__(*args, **kwargs)
        _set_choices(self, "goal", goals, empty="From the category (else Care)")
        _set_choices(self, "category", categories, empty="None")


class CaseEditForm(VersionedForm):
    prefix = "edit"
    subject = forms.CharField(max_length=300, label="Subject")
    description = forms.CharField(max_length=TEXT_MAX, required=False, widget=forms.Textarea(attrs={"rows": 3}))
    priority = forms.ChoiceField(choices=Priority.choices, label="Priority")
    goal = forms.ChoiceField(choices=[], label="Goal")
    category = forms.ChoiceField(choices=[], required=False, label="Category")

    def __init__(self, *args: Any, goals: Choices = (), categories: Choices = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _set_choices(self, "goal", goals)
        _set_choices(self, "category", categories, empty="None")


class StatusForm(VersionedForm):
    prefix = "status"
    status = forms.ChoiceField(choices=CaseStatus.choices, label="Move to")
    reason = forms.CharField(max_length=300, required=False, label="Why (optional)")


class ResolveForm(VersionedForm):
    prefix = "resolve"
    goal_achieved = forms.TypedChoiceField(
        choices=[("yes", "Yes"), ("no", "No")],
        coerce=lambda value: value == "yes",
        widget=forms.RadioSelect,
        label="Was the goal achieved?",
    )
    outcome = forms.CharField(
        max_length=TEXT_MAX, label="How did it end?", widget=forms.Textarea(attrs={"rows": 3}), strip=True
    )


class HandoverForm(VersionedForm):
    prefix = "handover"
    owner = forms.ChoiceField(choices=[], required=False, label="To person")
    team = forms.TypedChoiceField(choices=[], coerce=int, empty_value=None, required=False, label="To team")
    note = forms.CharField(
        max_length=TEXT_MAX,
        required=False,
        label="Hand-over note",
        help_text="What the next person needs to know that the record does not say.",
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def __init__(self, *args: Any, users: Choices = (), teams: Choices = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _set_choices(self, "owner", users, empty="Nobody (the team's queue)")
        _set_choices(self, "team", teams, empty="The person's own team")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not data.get("owner") and not data.get("team"):
            raise forms.ValidationError("Choose a person or a team to hand the case to.")
        return data


class TaskForm(FastWidgetsMixin, forms.Form):
    prefix = "task"
    title = forms.CharField(max_length=200, label="Task")
    owner = forms.ChoiceField(choices=[], required=False, label="Owner")
    due_at = forms.DateTimeField(
        required=False,
        input_formats=_DATETIME_FORMATS,
        label="Due",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
    checklist = forms.CharField(
        max_length=4000,
        required=False,
        label="Checklist",
        help_text="One item per line.",
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(self, *args: Any, users: Choices = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _set_choices(self, "owner", users, empty="Nobody")

    def checklist_items(self) -> tuple[str, ...]:
        return tuple(line.strip() for line in self.cleaned_data.get("checklist", "").splitlines() if line.strip())


class SkipForm(FastWidgetsMixin, forms.Form):
    reason = forms.CharField(max_length=300, label="Why skip it?")


class ReorderForm(FastWidgetsMixin, forms.Form):
    direction = forms.ChoiceField(choices=[("up", "Up"), ("down", "Down")])


class ChecklistForm(FastWidgetsMixin, forms.Form):
    """The ticked boxes of a task's checklist: `done` lists the indexes of the ticked items."""

    done = forms.TypedMultipleChoiceField(choices=[], coerce=int, required=False)

    def __init__(self, *args: Any, size: int = 0, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _set_choices(self, "done", [(index, str(index)) for index in range(size)])


class LinkForm(FastWidgetsMixin, forms.Form):
    prefix = "link"
    kind = forms.ChoiceField(choices=CaseLinkKind.choices, label="This case is")
    other = forms.CharField(max_length=40, label="Case", help_text="Number (#12) or id (case_…)")


class MergeForm(FastWidgetsMixin, forms.Form):
    prefix = "merge"
    into = forms.CharField(max_length=40, label="Merge this case into", help_text="Number (#12) or id (case_…)")


class BulkForm(FastWidgetsMixin, forms.Form):
    """The bulk bar of the queues: one action on the ticked cases."""

    ACTIONS = [
        ("status", "Set status"),
        ("priority", "Set priority"),
        ("assign", "Assign"),
        ("macro", "Apply macro"),
    ]
    action = forms.ChoiceField(choices=ACTIONS, label="Action")
    status = forms.ChoiceField(choices=[("", "—"), *CaseStatus.choices], required=False, label="Status")
    priority = forms.ChoiceField(choices=[("", "—"), *Priority.choices], required=False, label="Priority")
    owner = forms.ChoiceField(choices=[], required=False, label="Assign to")
    note = forms.CharField(max_length=2000, required=False, label="Hand-over note")
    macro = forms.TypedChoiceField(choices=[], coerce=int, empty_value=None, required=False, label="Macro")

    def __init__(self, *args: Any, users: Choices = (), macros: Choices = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _set_choices(self, "owner", users, empty="—")
        _set_choices(self, "macro", macros, empty="—")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        action = data.get("action")
        needed = {"status": "status", "priority": "priority", "assign": "owner", "macro": "macro"}.get(action or "")
        if needed and not data.get(needed):
            self.add_error(needed, "Choose a value for this action.")
        return data
