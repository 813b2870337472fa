"""Forms of the message-template, contact-preference and suppression pages. They only parse: the messaging
services own the rules, and their errors come back onto these fields through `attempt`/`apply_errors`.
"""

from __future__ import annotations

import json
from typing import Any

from django import forms

from cxloop.messaging.models import ANY_CHANNEL, Purpose, SuppressionReason
from cxloop.messaging.services.addresses import CHANNEL_KINDS
from cxloop.messaging.types import ConsentChange, TemplateContent

_CHANNEL_LABELS = {"email": "Email", "sms": "SMS", "whatsapp": "WhatsApp", "social": "Social", "chat": "Web chat"}
CHANNELS = [(channel, _CHANNEL_LABELS.get(channel, channel)) for channel in CHANNEL_KINDS]
MAX_BODY = 100_000


def channel_label(channel: str) -> str:
    if channel == ANY_CHANNEL:
        return "Every channel"
    return _CHANNEL_LABELS.get(channel, channel)


class TemplateFilterForm(forms.Form):
    channel = forms.ChoiceField(choices=[("", "Any channel"), *CHANNELS], required=False)
    purpose = forms.ChoiceField(choices=[("", "Any purpose"), *Purpose.choices], required=False)
    archived = forms.BooleanField(required=False, label="Include archived")

    def filters(self) -> dict[str, Any]:
        if not self.is_valid():
            return {"channel": "", "purpose": "", "archived": False}
        data = self.cleaned_data
        return {"channel": data["channel"], "purpose": data["purpose"], "archived": bool(data["archived"])}


class TemplateCreateForm(forms.Form):
    name = forms.CharField(max_length=200)
    key = forms.CharField(
        max_length=80, help_text="How the API and journeys name it: lower-case letters, digits, - and _"
    )
    channel = forms.ChoiceField(choices=CHANNELS, initial="email")
    purpose = forms.ChoiceField(choices=Purpose.choices, initial=Purpose.SERVICE)
    default_locale = forms.CharField(max_length=16, initial="en", label="Default locale", help_text="e.g. en, pt-br")


class TemplateSettingsForm(forms.Form):
    prefix = "settings"

    name = forms.CharField(max_length=200)
    purpose = forms.ChoiceField(choices=Purpose.choices)
    default_locale = forms.CharField(max_length=16, label="Default locale")
    is_active = forms.BooleanField(required=False, label="Active (unticked: archived, not offered for sending)")


def _textarea(rows: int, draft: str = "") -> forms.Textarea:
    attrs: dict[str, Any] = {"rows": rows, "spellcheck": "false", "class": "code-input"}
    if draft:
        attrs["data-draft"] = draft
    return forms.Textarea(attrs=attrs)


class TemplateVersionForm(forms.Form):
    """New content for one locale; the HTML body and the subject only for email templates."""

    prefix = "version"

    locale = forms.CharField(max_length=16, help_text="e.g. en, fr, pt-br")
    subject = forms.CharField(max_length=300, required=False)
    body_text = forms.CharField(max_length=MAX_BODY, required=False, label="Text body", strip=False)
    body_html = forms.CharField(
        max_length=MAX_BODY, required=False, label="HTML body", strip=False, help_text="Optional; email only"
    )

    def __init__(self, *args: Any, channel: str, draft_prefix: str = "", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.channel = channel
        self.fields["body_text"].widget = _textarea(8, f"{draft_prefix}:body_text" if draft_prefix else "")
        self.fields["body_html"].widget = _textarea(8, f"{draft_prefix}:body_html" if draft_prefix else "")
        if draft_prefix:
            self.fields["subject"].widget.attrs["data-draft"] = f"{draft_prefix}:subject"
        if channel != "email":
            del self.fields["subject"]
            del self.fields["body_html"]

    def content(self) -> TemplateContent:
        data = self.cleaned_data
        return TemplateContent(
            locale=data["locale"],
            subject=data.get("subject") or "",
            body_text=data.get("body_text") or "",
            body_html=data.get("body_html") or "",
        )


class PreviewForm(forms.Form):
    """Whom to render for: a customer's public id, or a name, email or phone that finds exactly one customer."""

    prefix = "preview"

    customer = forms.CharField(
        max_length=200, label="Customer", help_text="Type a name, email or phone and pick one, or give the cus_… id"
    )
    locale = forms.CharField(max_length=16, required=False, help_text="Empty: the customer's own locale")
    variables = forms.CharField(
        required=False,
        max_length=20_000,
        label="Extra variables (JSON)",
        help_text='e.g. {"order": {"number": "1042"}}',
        widget=forms.Textarea(attrs={"rows": 2, "spellcheck": "false", "class": "code-input"}),
    )

    def clean_variables(self) -> dict[str, Any]:
        raw = (self.cleaned_data.get("variables") or "").strip()
        if not raw:
            return {}
        try:
            value = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise forms.ValidationError(f"not valid JSON ({exc.msg} at line {exc.lineno})") from exc
        if not isinstance(value, dict):
            raise forms.ValidationError('must be a JSON object, e.g. {"order": {"number": "1042"}}')
        return value


_CONSENT_CHANNELS = [*CHANNELS, (ANY_CHANNEL, "Every channel")]


class ConsentForm(forms.Form):
    prefix = "consent"

    granted = forms.TypedChoiceField(
        choices=[("true", "Grant"), ("false", "Withdraw")],
        coerce=lambda value: value == "true",
        widget=forms.RadioSelect,
        initial="false",
        label="Change",
    )
    channel = forms.ChoiceField(choices=_CONSENT_CHANNELS, initial="email")
    purpose = forms.ChoiceField(choices=Purpose.choices, initial=Purpose.MARKETING)
    note = forms.CharField(max_length=300, required=False, help_text="e.g. asked on the phone on 3 May")

    def change(self) -> ConsentChange:
        data = self.cleaned_data
        return ConsentChange(
            channel=data["channel"], purpose=data["purpose"], granted=bool(data["granted"]), note=data["note"]
        )


class SuppressionFilterForm(forms.Form):
    channel = forms.ChoiceField(choices=[("", "Any channel"), *CHANNELS], required=False)
    reason = forms.ChoiceField(choices=[("", "Any reason"), *SuppressionReason.choices], required=False)
    address = forms.CharField(max_length=254, required=False, help_text="Exact address; choose its channel too")

    def filters(self) -> dict[str, str]:
        if not self.is_valid():
            return {"channel": "", "reason": "", "address": ""}
        return {k: self.cleaned_data.get(k) or "" for k in ("channel", "reason", "address")}


class SuppressionForm(forms.Form):
    prefix = "add"

    channel = forms.ChoiceField(choices=CHANNELS, initial="email")
    address = forms.CharField(max_length=254, help_text="Email address, phone number, or network:handle for social")
    reason = forms.ChoiceField(choices=SuppressionReason.choices, initial=SuppressionReason.MANUAL)
    note = forms.CharField(max_length=300, required=False)
