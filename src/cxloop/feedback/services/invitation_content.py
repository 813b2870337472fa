"""The words of a survey invitation per channel: an email with the question and one-click score links (each
score a link that records it), a short text with the link for SMS, WhatsApp, social and chat.

Pure functions of the (localised) definition and the invitation's links, so the survey page can preview them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.utils.html import escape

from cxloop.feedback.definitions import SCALES

SHORT_QUESTION_MAX = 140
_SUBJECTS = {
    "nps": "Would you recommend us?",
    "csat": "How did we do?",
    "ces": "How easy was it?",
}


@dataclass(frozen=True)
class InvitationContent:
    subject: str
    text: str
    html: str


def _first_question(definition: dict[str, Any]) -> dict[str, Any]:
    questions = definition.get("questions") or []
    first = questions[0] if questions and isinstance(questions[0], dict) else {}
    return first


def one_click_scale(kind: str, definition: dict[str, Any]) -> tuple[int, int] | None:
    """The score range an email offers as links: the standard scale of an nps, csat or ces survey."""
    first = _first_question(definition)
    if kind in SCALES and first.get("type") == kind:
        return SCALES[kind]
    return None


def subject_of(kind: str, name: str, definition: dict[str, Any]) -> str:
    title = str(definition.get("title") or "").strip()
    return (title or _SUBJECTS.get(kind) or name)[:300]


def _short(text: str, limit: int = SHORT_QUESTION_MAX) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def short_text(kind: str, name: str, definition: dict[str, Any], url: str) -> str:
    """SMS, WhatsApp, social and chat: the question and the link, in one short message."""
    question = str(_first_question(definition).get("text") or subject_of(kind, name, definition))
    return f"{_short(question)} Tell us here: {url}"


def email_content(
    kind: str,
    name: str,
    definition: dict[str, Any],
    *,
    url: str,
    score_url: Callable[[int], str],
    expires_at: datetime,
) -> InvitationContent:
    first = _first_question(definition)
    question = str(first.get("text") or "")
    intro = str(definition.get("intro") or "").strip()
    low, high = str(first.get("low_label") or ""), str(first.get("high_label") or "")
    scale = one_click_scale(kind, definition)
    until = expires_at.strftime("%d %B %Y")
    text_lines = [intro, ""] if intro else []
    html_parts = [f"<p>{escape(intro)}</p>"] if intro else []
    if scale is not None:
        text_lines += [question, "Click the score you would give:", ""]
        cells = []
        for score in range(scale[0], scale[1] + 1):
            label = f" ({low})" if score == scale[0] and low else f" ({high})" if score == scale[1] and high else ""
            link = score_url(score)
            text_lines.append(f"{score}{label}: {link}")
            cells.append(
                f'<td style="padding:2px"><a href="{escape(link)}" aria-label="{score}{escape(label)}" '
                'style="display:inline-block;min-width:28px;padding:8px 6px;border:1px solid #1f5fbf;'
                'border-radius:4px;color:#1f5fbf;text-align:center;text-decoration:none;font-weight:bold">'
                f"{score}</a></td>"
            )
        html_parts += [
            f"<p><strong>{escape(question)}</strong></p>",
            f'<table role="presentation" cellspacing="0" cellpadding="0"><tr>{"".join(cells)}</tr></table>',
        ]
        if low or high:
            html_parts.append(f'<p style="color:#555;font-size:90%">{escape(low)} … {escape(high)}</p>')
        text_lines += ["", f"Or open the survey: {url}"]
        html_parts.append(f'<p><a href="{escape(url)}">Open the survey</a></p>')
    else:
        if question:
            text_lines += [question, ""]
            html_parts.append(f"<p><strong>{escape(question)}</strong></p>")
        text_lines.append(f"Answer here: {url}")
        html_parts.append(f'<p><a href="{escape(url)}">Answer the survey</a></p>')
    text_lines += ["", f"The link works until {until}."]
    html_parts.append(f'<p style="color:#555;font-size:90%">The link works until {escape(until)}.</p>')
    return InvitationContent(
        subject=subject_of(kind, name, definition),
        text="\n".join(text_lines).strip() + "\n",
        html="\n".join(html_parts),
    )
