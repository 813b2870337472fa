from __future__ import annotations

from django import forms

from cxloop.channels.phone.services import DIRECTIONS, OUTCOMES


class CallForm(forms.Form):
    direction = forms.ChoiceField(choices=list(DIRECTIONS.items()), initial="outbound")
    outcome = forms.ChoiceField(choices=list(OUTCOMES.items()), initial="answered")
    minutes = forms.IntegerField(min_value=0, max_value=24 * 60, required=False, initial=0, label="Minutes")
    seconds = forms.IntegerField(min_value=0, max_value=59, required=False, initial=0, label="Seconds")
    notes = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False, max_length=50_000)
    recording_url = forms.URLField(required=False, label="Recording link", assume_scheme="https")

    def duration(self) -> int:
        return (self.cleaned_data.get("minutes") or 0) * 60 + (self.cleaned_data.get("seconds") or 0)
