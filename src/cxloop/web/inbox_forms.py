"""Forms of the inbox and the conversation page. They only parse; the services own the rules."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from django import forms

from cxloop.interactions.inbox import DEFAULT_STATUSES, InboxFilters
from cxloop.interactions.models import Channel, ThreadStatus
from cxloop.web.forms import FastWidgetsMixin

# "active" is the inbox's default view: everything that is not closed.
STATUS_VIEWS: dict[str, tuple[str, ...]] = {
    "active": DEFAULT_STATUSES,
    "open": (ThreadStatus.OPEN.value,),
    "waiting": (ThreadStatus.WAITING.value,),
    "closed": (ThreadStatus.CLOSED.value,),
    "all": tuple(ThreadStatus.values),
}
_STATUS_CHOICES = [
    ("active", "Open and waiting"),
    ("open", "Open (ours to answer)"),
    ("waiting", "Waiting on customer"),
    ("closed", "Closed"),
    ("all", "Any status"),
]
_CONVERSATION_CHANNELS = [("", "Any channel")] + [
    (c.value, c.label) for c in Channel if c not in (Channel.NOTE, Channel.EVENT, Channel.SURVEY)
]
MAX_MESSAGE = 20_000


class InboxFilterForm(FastWidgetsMixin, forms.Form):
    q = forms.CharField(max_length=200, required=False, label="Search subject or customer")
    status = forms.ChoiceField(choices=_STATUS_CHOICES, required=False, label="Status")
    assigned = forms.CharField(max_length=150, required=False, label="Assigned")
    channel = forms.ChoiceField(choices=_CONVERSATION_CHANNELS, required=False, label="Channel")
    team = forms.TypedChoiceField(choices=[], coerce=int, empty_value=None, required=False, label="Team")
    sentiment = forms.ChoiceField(
        choices=[("", "Any"), ("negative", "Negative"), ("neutral", "Neutral"), ("positive", "Positive")],
        required=False,
        label="Customer's latest message",
    )

    def __init__(self, *args: object, team_choices: Iterable[tuple[int, str]] = (), **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["team"].choices = [("", "Any team"), *team_choices]  # type: ignore[attr-defined]

    def filters(self) -> InboxFilters:
        data = self.cleaned_data
        return InboxFilters(
            channel=data.get("channel") or "",
            statuses=STATUS_VIEWS[data.get("status") or "active"],
            assigned=(data.get("assigned") or "anyone").strip(),
            team=data.get("team"),
            text=data.get("q") or "",
            sentiment=data.get("sentiment") or "",
        )


class StatusForm(FastWidgetsMixin, forms.Form):
    status = forms.ChoiceField(choices=ThreadStatus.choices)


class AssignForm(FastWidgetsMixin, forms.Form):
    assignee = forms.ChoiceField(choices=[], required=False, label="Assign to")
    team = forms.TypedChoiceField(choices=[], coerce=int, empty_value=None, required=False, label="Team")

    def __init__(
        self,
        *args: object,
        users: Iterable[tuple[str, str]] = (),
        team_choices: Iterable[tuple[int, str]] = (),
        **kwargs: object,
    ) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["assignee"].choices = [("", "Nobody"), *users]  # type: ignore[attr-defined]
        self.fields["team"].choices = [("", "Their own team"), *team_choices]  # type: ignore[attr-defined]


class NoteForm(FastWidgetsMixin, forms.Form):
    prefix = "note"
    body = forms.CharField(
        max_length=MAX_MESSAGE, label="Internal note", widget=forms.Textarea(attrs={"rows": 3}), strip=True
    )


class ReplyForm(FastWidgetsMixin, forms.Form):
    prefix = "reply"
    channel = forms.ChoiceField(choices=[], label="Send by")
    body = forms.CharField(max_length=MAX_MESSAGE, label="Reply", widget=forms.Textarea(attrs={"rows": 5}))
    # A fresh key per rendered form: a double click or a resubmitted POST sends the message once.
    idempotency_key = forms.CharField(max_length=64, widget=forms.HiddenInput)

    def __init__(self, *args: object, channels: Iterable[tuple[str, str]] = (), **kwargs: object) -> None:
        kwargs.setdefault("initial", {})
        initial = kwargs["initial"]
        assert isinstance(initial, dict)
        initial.setdefault("idempotency_key", uuid.uuid4().hex)
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["channel"].choices = list(channels)  # type: ignore[attr-defined]

    def clean_body(self) -> str:
        body: str = self.cleaned_data["body"]
        if not body.strip():
            raise forms.ValidationError("Write a reply first.")
        return body
