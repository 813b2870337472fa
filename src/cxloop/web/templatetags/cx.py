"""Small presentation helpers for the staff templates. All of them return plain (escaped) text."""

from __future__ import annotations

import json
from typing import Any

from django import template

register = template.Library()

_CHANNEL_ICONS = {
    "email": "✉",
    "sms": "✆",
    "whatsapp": "◍",
    "chat": "❝",
    "social": "#",
    "phone": "☎",
    "survey": "★",
    "event": "⚑",
    "note": "✎",
}


@register.simple_tag
def time_zones() -> list[str]:
    from cxloop.web.forms import TIME_ZONES

    return TIME_ZONES


@register.filter
def pretty_json(value: Any) -> str:
    """Indented JSON for the audit trail; the template escapes it like any other text."""
    if value is None:
        return ""
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False, default=str)


@register.filter
def channel_icon(channel: str) -> str:
    return _CHANNEL_ICONS.get(channel, "•")


@register.filter
def percent(probability: float | None) -> str:
    if probability is None:
        return ""
    return f"{probability * 100:.0f}%"


@register.filter
def get_item(mapping: dict[str, Any] | None, key: str) -> Any:
    if not mapping:
        return None
    return mapping.get(key)


@register.filter
def attribute_value(value: Any) -> str:
    """How a stored custom attribute reads on a profile."""
    if value is True:
        return "Yes"
    if value is False:
        return "No"
    if value is None:
        return ""
    return str(value)


def _short(value: Any) -> str:
    if isinstance(value, list | tuple):
        return ", ".join(_short(v) for v in value[:4]) + ("…" if len(value) > 4 else "")
    if isinstance(value, dict):
        return "; ".join(f"{k}: {_short(v)}" for k, v in list(value.items())[:3])
    if isinstance(value, float):
        return f"{value:.2f}"
    return str(value)


@register.filter
def evidence_summary(evidence: dict[str, Any] | None) -> str:
    """One line saying why a pair was suggested, whatever produced the evidence."""
    if not evidence:
        return ""
    if evidence.get("rule"):
        return str(evidence["rule"])
    parts = [f"{key.replace('_', ' ')}: {_short(value)}" for key, value in list(evidence.items())[:3]]
    text = " · ".join(parts)
    return text if len(text) <= 160 else text[:159] + "…"
