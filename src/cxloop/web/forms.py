"""Forms of the staff UI. They only parse input: the services own the rules, and their errors are
mapped back onto these fields with `apply_errors`, so a rule lives in one place for the UI and the API.
"""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from django import forms
from django.forms.utils import flatatt
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from cxloop.core.errors import CxloopError, NotFoundError, PermissionDeniedError
from cxloop.core.permissions import Scope
from cxloop.customers.models import AttributeDefinition, AttributeType, IdentityKind, LifecycleStage
from cxloop.interactions.models import Channel, Direction

T = TypeVar("T")
_INDEXED = re.compile(r"\[\d+\].*$")
TIME_ZONES = sorted(zoneinfo.available_timezones())
_TZ_INPUT = forms.TextInput(attrs={"list": "time-zones", "autocomplete": "off"})

_STAGES = [("", "Any stage"), *LifecycleStage.choices]
# Channels staff log by hand; messages on the other channels arrive through their adapters.
LOGGABLE_CHANNELS = [
    (c.value, c.label)
    for c in (Channel.NOTE, Channel.PHONE, Channel.EMAIL, Channel.SMS, Channel.WHATSAPP, Channel.CHAT, Channel.SOCIAL)
]


def apply_errors(form: forms.Form, exc: CxloopError, aliases: dict[str, str] | None = None) -> None:
    """Put a service error's per-field reasons on the matching form fields; the rest on the form."""
    aliases = aliases or {}
    for name, reason in exc.fields.items():
        target = aliases.get(name, name)
        if target.startswith("attributes."):
            target = target.removeprefix("attributes.")
        target = _INDEXED.sub("", target)  # "tags[2]" -> "tags"
        if target in form.fields:
            form.add_error(target, reason)
        else:
            form.add_error(None, f"{name}: {reason}")
    if not exc.fields:
        form.add_error(None, exc.message)


def attempt(form: forms.Form, operation: Callable[[], T], aliases: dict[str, str] | None = None) -> T | None:
    """Run a service call for a valid form; a business error becomes form errors and None.

    Permission and not-found errors are not the form's business: they go up to `staff_view`.
    """
    try:
        return operation()
    except (PermissionDeniedError, NotFoundError):
        raise
    except CxloopError as exc:
        apply_errors(form, exc, aliases)
        return None


class CustomerCreateForm(forms.Form):
    name = forms.CharField(max_length=200, required=False)
    email = forms.CharField(max_length=254, required=False, label="Email")
    phone = forms.CharField(max_length=64, required=False, label="Phone", help_text="National or +international")
    country = forms.CharField(max_length=2, required=False, help_text="Two letters, e.g. GB")
    locale = forms.CharField(max_length=16, required=False, help_text="e.g. en-GB")
    time_zone = forms.CharField(
        max_length=64, required=False, label="Time zone", help_text="e.g. Europe/London", widget=_TZ_INPUT
    )
    lifecycle_stage = forms.ChoiceField(choices=LifecycleStage.choices, initial=LifecycleStage.LEAD, label="Stage")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not any(data.get(f) for f in ("name", "email", "phone")):
            raise forms.ValidationError("Give at least a name, an email or a phone number.")
        return data


class ProfileForm(forms.Form):
    prefix = "profile"

    name = forms.CharField(max_length=200, required=False)
    country = forms.CharField(max_length=2, required=False)
    locale = forms.CharField(max_length=16, required=False)
    time_zone = forms.CharField(max_length=64, required=False, label="Time zone", widget=_TZ_INPUT)
    lifecycle_stage = forms.ChoiceField(choices=LifecycleStage.choices, label="Stage")
    tags = forms.CharField(max_length=1000, required=False, help_text="Separate tags with commas")

    def changes(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        data["tags"] = [t for t in (part.strip() for part in data["tags"].split(",")) if t]
        return data


class IdentityForm(forms.Form):
    prefix = "identity"

    kind = forms.ChoiceField(choices=IdentityKind.choices)
    network = forms.CharField(max_length=50, required=False, help_text="For social and external ids, e.g. x, shopify")
    value = forms.CharField(max_length=254)
    is_verified = forms.BooleanField(required=False, label="Verified")


class InteractionForm(forms.Form):
    prefix = "log"

    channel = forms.ChoiceField(choices=LOGGABLE_CHANNELS, initial=Channel.NOTE)
    direction = forms.ChoiceField(choices=Direction.choices, initial=Direction.INTERNAL)
    summary = forms.CharField(max_length=500, required=False, help_text="Optional; taken from the text if empty")
    body = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 4}), label="What happened")


class TimelineFilterForm(forms.Form):
    channel = forms.ChoiceField(choices=[("", "All channels"), *Channel.choices], required=False)
    direction = forms.ChoiceField(choices=[("", "Any direction"), *Direction.choices], required=False)
    text = forms.CharField(max_length=200, required=False, label="Search the timeline")

    def filters(self) -> dict[str, str]:
        if not self.is_valid():
            return {"channel": "", "direction": "", "text": ""}
        return {k: self.cleaned_data.get(k) or "" for k in ("channel", "direction", "text")}


class CustomerFilterForm(forms.Form):
    q = forms.CharField(max_length=200, required=False, label="Name, email or phone")
    lifecycle_stage = forms.ChoiceField(choices=_STAGES, required=False, label="Stage")
    tag = forms.CharField(max_length=50, required=False)
    attr_key = forms.ChoiceField(choices=[("", "Any attribute")], required=False, label="Attribute")
    attr_value = forms.CharField(max_length=200, required=False, label="Attribute value")

    def __init__(self, *args: Any, definitions: Iterable[AttributeDefinition] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["attr_key"].choices = [("", "Any attribute"), *((d.key, d.label) for d in definitions)]  # type: ignore[attr-defined]

    def attributes(self) -> dict[str, str]:
        key, value = self.cleaned_data.get("attr_key"), self.cleaned_data.get("attr_value")
        return {key: value} if key and value else {}


class AuditFilterForm(forms.Form):
    text = forms.CharField(max_length=200, required=False, label="Text")
    action = forms.CharField(max_length=64, required=False, help_text="e.g. customer.merged or customer.")
    actor = forms.CharField(max_length=200, required=False, label="Actor")
    object_id = forms.CharField(max_length=64, required=False, label="Object id")
    since = forms.DateField(required=False, label="From", widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(required=False, label="To", widget=forms.DateInput(attrs={"type": "date"}))

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        since, until = data.get("since"), data.get("until")
        if since and until and since > until:
            self.add_error("until", "must be on or after the start date")
        return data

    def bounds(self) -> tuple[dt.datetime | None, dt.datetime | None]:
        """The date range as UTC instants; the end date is included whole."""
        since, until = self.cleaned_data.get("since"), self.cleaned_data.get("until")
        start = dt.datetime.combine(since, dt.time.min, tzinfo=dt.UTC) if since else None
        end = dt.datetime.combine(until + dt.timedelta(days=1), dt.time.min, tzinfo=dt.UTC) if until else None
        return start, end


class TokenForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="Say what uses it, e.g. 'CRM sync'")
    scopes = forms.MultipleChoiceField(
        choices=[(s.value, s.value) for s in Scope], widget=forms.CheckboxSelectMultiple, required=False
    )

    def __init__(self, *args: Any, allow_admin: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        labels = {
            "read": "read — see customers and timelines",
            "write": "write — change them",
            "admin": "admin — settings, other people's tokens, the audit trail",
        }
        allowed = [s for s in Scope if s != Scope.ADMIN or allow_admin]
        self.fields["scopes"].choices = [(s.value, labels[s.value]) for s in allowed]  # type: ignore[attr-defined]


class AttributeDefinitionForm(forms.Form):
    key = forms.CharField(max_length=50, help_text="Lower-case letters, digits and _, e.g. loyalty_tier")
    label = forms.CharField(max_length=100)
    type = forms.ChoiceField(choices=AttributeType.choices)
    choices = forms.CharField(
        required=False, max_length=2000, help_text="For a choice attribute: the options, separated by commas"
    )
    description = forms.CharField(max_length=300, required=False)

    def choice_list(self) -> list[str]:
        return [c.strip() for c in self.cleaned_data.get("choices", "").split(",") if c.strip()]


def attribute_field(definition: AttributeDefinition, value: Any) -> forms.Field:
    """The input that suits an admin-defined attribute; empty means 'remove the value'."""
    common: dict[str, Any] = {"label": definition.label, "required": False, "help_text": definition.description}
    if definition.type == AttributeType.NUMBER:
        return forms.CharField(widget=forms.NumberInput(attrs={"step": "any"}), initial=value, **common)
    if definition.type == AttributeType.BOOLEAN:
        initial = "" if value is None else ("true" if value else "false")
        return forms.ChoiceField(choices=[("", "—"), ("true", "Yes"), ("false", "No")], initial=initial, **common)
    if definition.type == AttributeType.DATE:
        return forms.CharField(widget=forms.DateInput(attrs={"type": "date"}), initial=value, **common)
    if definition.type == AttributeType.CHOICE:
        options = [("", "—"), *((c, c) for c in definition.choices)]
        return forms.ChoiceField(choices=options, initial=value or "", **common)
    return forms.CharField(max_length=1000, initial=value, **common)


class AttributesForm(forms.Form):
    """One field per attribute definition, named by the attribute's key (under the "attr" prefix)."""

    prefix = "attr"

    def __init__(self, *args: Any, definitions: Iterable[AttributeDefinition], current: dict[str, Any], **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.definitions = list(definitions)
        for definition in self.definitions:
            self.fields[definition.key] = attribute_field(definition, current.get(definition.key))

    def changes(self) -> dict[str, Any]:
        """Each defined attribute's new value; an empty input removes the value (None)."""
        return {key: (value if value not in ("", None) else None) for key, value in self.cleaned_data.items()}


class FastSelect(forms.Select):
    """A <select> rendered in Python. Django renders each <option> through its own template include (~0.1 ms
    apiece); with a couple of hundred staff in the owner lists of a case page that was a third of its time.
    Same markup as Django's Select: the select's attributes, then each option with its own (selected…)."""

    def render(self, name: str, value: Any, attrs: dict[str, Any] | None = None, renderer: Any = None) -> SafeString:
        widget = self.get_context(name, value, attrs)["widget"]
        parts = [f'<select name="{escape(widget["name"])}"{flatatt(widget["attrs"])}>']
        for group, options, _index in widget["optgroups"]:
            if group:
                parts.append(f'<optgroup label="{escape(group)}">')
            for o in options:
                parts.append(f'<option value="{escape(o["value"])}"{flatatt(o["attrs"])}>{escape(o["label"])}</option>')
            if group:
                parts.append("</optgroup>")
        parts.append("</select>")
        return mark_safe("".join(parts))  # noqa: S308 - every value above is escaped


class FastInput(forms.widgets.Input):
    """An <input> rendered in Python, with the markup of Django's input.html and attrs.html."""

    def render(self, name: str, value: Any, attrs: dict[str, Any] | None = None, renderer: Any = None) -> SafeString:
        widget = self.get_context(name, value, attrs)["widget"]
        shown = "" if widget["value"] is None else f' value="{escape(widget["value"])}"'
        html = (
            f'<input type="{escape(widget["type"])}" name="{escape(widget["name"])}"{shown}{flatatt(widget["attrs"])}>'
        )
        return mark_safe(html)  # noqa: S308 - every value above is escaped


class FastTextarea(forms.Textarea):
    def render(self, name: str, value: Any, attrs: dict[str, Any] | None = None, renderer: Any = None) -> SafeString:
        widget = self.get_context(name, value, attrs)["widget"]
        text = escape(widget["value"]) if widget["value"] else ""
        return mark_safe(f'<textarea name="{escape(widget["name"])}"{flatatt(widget["attrs"])}>\n{text}</textarea>')  # noqa: S308


_FAST: dict[type[forms.Widget], type[forms.Widget]] = {
    forms.Select: FastSelect,
    forms.Textarea: FastTextarea,
    **{
        kind: type(f"Fast{kind.__name__}", (FastInput, kind), {})
        for kind in (
            forms.TextInput,
            forms.NumberInput,
            forms.EmailInput,
            forms.URLInput,
            forms.HiddenInput,
            forms.DateInput,
            forms.DateTimeInput,
        )
    },
}


class FastWidgetsMixin:
    """Forms of busy pages render their plain widgets in Python instead of through Django's widget templates
    (about 0.5 ms a field through the template engine, a few microseconds this way); the HTML is the same.
    Widgets with their own templates (radio buttons, checkboxes, custom classes) are left as they are."""

    fields: dict[str, forms.Field]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            fast = _FAST.get(type(field.widget))
            if fast is not None:
                field.widget.__class__ = fast  # the form's own deep copy of the widget
