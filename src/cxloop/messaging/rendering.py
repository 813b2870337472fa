"""Rendering templates with Django's template language, in engines of our own.

Two engines: HTML with autoescaping on (a customer called `<b>Ann</b>` must not become bold), text and
subjects with it off (an SMS must not read `&amp;`). Neither engine has loaders or tag libraries beyond
the built-ins, and the context holds plain dicts and strings only, so a template cannot call a model
method (`{{ customer.delete }}`), and the tags are a safe subset (template_library).

Unknown variables render empty, as in any Django template; `unknown_variables` renders once more with a
marker to tell the author which names were not found.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from typing import Any

from django.template import Context, Engine, Template, TemplateDoesNotExist, TemplateSyntaxError

from cxloop.core.errors import ValidationError

_MARK = "\x1fUNKNOWN:%s\x1f"
_MARK_RE = re.compile("\x1fUNKNOWN:(.*?)\x1f")


class MessageEngine(Engine):
    """An engine with only the built-ins of template_library (no loader tags, no `load`, no `debug`)."""

    default_builtins = ["django.template.defaultfilters", "cxloop.messaging.template_library"]

    def __init__(self, *, autoescape: bool, string_if_invalid: str = "") -> None:
        super().__init__(
            dirs=[],
            app_dirs=False,
            libraries={},
            loaders=[],
            autoescape=autoescape,
            string_if_invalid=string_if_invalid,
        )


_HTML = MessageEngine(autoescape=True)
_TEXT = MessageEngine(autoescape=False)
_HTML_PROBE = MessageEngine(autoescape=True, string_if_invalid=_MARK)
_TEXT_PROBE = MessageEngine(autoescape=False, string_if_invalid=_MARK)

TEXT_FIELDS = ("subject", "body_text")
HTML_FIELDS = ("body_html",)


@dataclass
class Rendered:
    subject: str = ""
    text: str = ""
    html: str = ""
    warnings: list[str] = field(default_factory=list)


def _engine(field_name: str, *, probe: bool = False) -> Engine:
    if field_name in HTML_FIELDS:
        return _HTML_PROBE if probe else _HTML
    return _TEXT_PROBE if probe else _TEXT


def _describe(exc: Exception) -> str:
    if isinstance(exc, TemplateDoesNotExist):
        return "other templates cannot be included"
    message = str(exc).splitlines()[0] if str(exc) else exc.__class__.__name__
    return message[:200]


def check_syntax(fields: dict[str, str]) -> None:
    """Compile each field and render it once with nothing in the context; a 422 names every broken field."""
    errors: dict[str, str] = {}
    for name, source in fields.items():
        if not source:
            continue
        try:
            engine = _engine(name)
            engine.from_string(source).render(Context({}, autoescape=engine.autoescape))
        except (TemplateSyntaxError, TemplateDoesNotExist) as exc:
            errors[name] = _describe(exc)
        except Exception as exc:  # noqa: BLE001 - a filter that chokes on empty input is still the author's error
            errors[name] = _describe(exc)
    if errors:
        raise ValidationError("The template does not compile.", fields=errors)


@functools.lru_cache(maxsize=128)
def _compiled(name: str, source: str, probe: bool) -> Template:
    """A field's compiled template, kept: a journey step or campaign renders the same version for every
    customer, and compiling cost more than rendering. Compiled templates keep no state between renders (what
    a tag remembers lives in the render context), which is why Django's cached loader can keep them too."""
    return _engine(name, probe=probe).from_string(source)


def _render_one(name: str, source: str, context: dict[str, Any], *, probe: bool = False) -> str:
    try:
        engine = _engine(name, probe=probe)
        return _compiled(name, source, probe).render(Context(context, autoescape=engine.autoescape))
    except (TemplateSyntaxError, TemplateDoesNotExist) as exc:
        raise ValidationError("The template cannot be rendered.", fields={name: _describe(exc)}) from exc
    except Exception as exc:  # noqa: BLE001 - e.g. a filter given a value it cannot take
        raise ValidationError("The template cannot be rendered.", fields={name: _describe(exc)}) from exc


def unknown_variables(fields: dict[str, str], context: dict[str, Any]) -> list[str]:
    """Names a template uses that the context does not hold, in order of first use."""
    found: list[str] = []
    for name, source in fields.items():
        if not source:
            continue
        for unknown in _MARK_RE.findall(_render_one(name, source, context, probe=True)):
            if unknown and unknown not in found:
                found.append(unknown)
    return found


def render(subject: str, body_text: str, body_html: str, context: dict[str, Any], *, warn: bool = False) -> Rendered:
    fields = {"subject": subject, "body_text": body_text, "body_html": body_html}
    result = Rendered(
        subject=" ".join(_render_one("subject", subject, context).split()) if subject else "",
        text=_render_one("body_text", body_text, context) if body_text else "",
        html=_render_one("body_html", body_html, context) if body_html else "",
    )
    if warn:
        result.warnings = [f"unknown variable: {name}" for name in unknown_variables(fields, context)]
    return result
