"""Settings → Message templates: the list, a template's settings, its versions per locale (immutable, with
history and a line diff of any two), and a live preview against a real customer.

Everyone who may read interactions may read templates and preview them; only CHANNELS_MANAGE edits.
Template syntax errors come back from the messaging services as field errors on these forms, never a 500.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.db.models import Prefetch
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from cxloop.core.actor import Actor
from cxloop.core.errors import CxloopError, NotFoundError, PermissionDeniedError
from cxloop.core.ids import whole_number
from cxloop.core.permissions import Perm
from cxloop.customers import queries as customer_queries
from cxloop.customers.models import Customer
from cxloop.messaging import queries as messaging_queries
from cxloop.messaging import services as messaging_services
from cxloop.messaging.models import Template, TemplateVersion
from cxloop.web.actor import web_actor
from cxloop.web.forms import apply_errors, attempt
from cxloop.web.messaging_forms import (
    PreviewForm,
    TemplateCreateForm,
    TemplateFilterForm,
    TemplateSettingsForm,
    TemplateVersionForm,
)
from cxloop.web.responses import partial_or_page, staff_view

CUSTOMER_OPTIONS = 8
# The session remembers, across the redirect after a saved version, whose drafts the page must forget.
DRAFT_CLEAR_SESSION_KEY = "cx_template_draft_clear"
_CONTENT_FIELDS = ("subject", "body_text", "body_html")
# The rendered HTML goes into a sandboxed frame (no scripts, no forms, no same origin) whose own policy
# refuses every remote load, as the inbox shows an email's HTML.
PREVIEW_DOCUMENT = (
    '<!doctype html><html><head><meta charset="utf-8">'
    '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; img-src data:; '
    "style-src 'unsafe-inline'\">"
    '<base target="_blank">'
    "<style>body{font:14px/1.5 system-ui,sans-serif;color:#1e293b;margin:.5rem;overflow-wrap:anywhere}"
    "img{max-width:100%;height:auto}table{max-width:100%}</style></head><body>"
)
VARIABLES_HELP = [
    ("customer.name", "the profile's name"),
    ("customer.first_name", "the first word of the name"),
    ("customer.id", "the public id (cus_…)"),
    ("customer.country", "two-letter country"),
    ("customer.locale", "e.g. en-gb"),
    ("customer.time_zone", "e.g. Europe/London"),
    ("customer.lifecycle_stage", "lead, customer, loyal…"),
    ("customer.attributes.<key>", "a custom attribute"),
    ("agent.name", "the staff member sending (empty for automated sends)"),
    ("agent.first_name", "their first name"),
    ("preference_url", "the customer's preference centre"),
    ("unsubscribe_url", "the one-click unsubscribe link"),
    ("anything else", "the sender's own variables, e.g. order.number"),
]


def _can_manage(actor: Actor) -> bool:
    return actor.can(Perm.CHANNELS_MANAGE)


def _draft_prefix(template: Template, locale: str) -> str:
    return f"cx-draft:template:{template.key}:{locale}"


# --- the list ------------------------------------------------------------------------------------
@staff_view
@require_http_methods(["GET", "POST"])
def template_list(request: HttpRequest) -> HttpResponse:
    """The templates (filtered), and a form to create one for those who manage channels."""
    actor = web_actor(request)
    filters = TemplateFilterForm(request.GET or None)
    wanted = filters.filters()
    create_form, status = TemplateCreateForm(request.POST or None), 200
    if request.method == "POST":
        actor.require(Perm.CHANNELS_MANAGE)
        created = _create(actor, create_form)
        if created is not None:
            messages.success(request, f"Created the template {created.name}. Now give it its first version.")
            return redirect("web:template", key=created.key)
        status = 422
    qs = messaging_queries.list_templates(actor, include_archived=wanted["archived"], channel=wanted["channel"])
    if wanted["purpose"]:
        qs = qs.filter(purpose=wanted["purpose"])
    qs = qs.prefetch_related(Prefetch("versions", queryset=TemplateVersion.objects.order_by("locale", "-version")))
    context = {
        "filters": filters,
        "filtered": any(wanted.values()),
        "templates": [(t, sorted({v.locale for v in t.versions.all()})) for t in qs],
        "create_form": create_form,
        "can_manage": _can_manage(actor),
    }
    return render(request, "web/message_templates/list.html", context, status=status)


def _create(actor: Actor, form: TemplateCreateForm) -> Template | None:
    if not form.is_valid():
        return None
    data = form.cleaned_data
    return attempt(
        form,
        lambda: messaging_services.create_template(
            actor,
            key=data["key"],
            name=data["name"],
            channel=data["channel"],
            purpose=data["purpose"],
            default_locale=data["default_locale"],
        ),
    )


# --- one template --------------------------------------------------------------------------------
def _settings_form(template: Template, data: Any = None) -> TemplateSettingsForm:
    initial = {
        "name": template.name,
        "purpose": template.purpose,
        "default_locale": template.default_locale,
        "is_active": template.is_active,
    }
    return TemplateSettingsForm(data, initial=initial)


def _version_form(
    template: Template, current: dict[str, TemplateVersion], locale: str, *, data: Any = None, clear: bool = False
) -> TemplateVersionForm:
    """Starts from the current content of `locale` (a new locale starts empty); unsaved edits live in drafts."""
    version = current.get(locale)
    initial = {"locale": locale}
    if version is not None:
        initial |= {"subject": version.subject, "body_text": version.body_text, "body_html": version.body_html}
    form = TemplateVersionForm(
        data, initial=initial, channel=template.channel, draft_prefix=_draft_prefix(template, locale)
    )
    for name in _CONTENT_FIELDS:
        if name in form.fields:
            form.fields[name].widget.attrs["data-draft-override"] = True
            if clear:
                form.fields[name].widget.attrs["data-draft-clear"] = True
    return form


def _detail_context(request: HttpRequest, actor: Actor, template: Template, **forms: Any) -> dict[str, Any]:
    versions = list(messaging_queries.template_versions(actor, template))
    current: dict[str, TemplateVersion] = {}
    for version in versions:
        current.setdefault(version.locale, version)
    locale = forms.pop("locale", None) or request.GET.get("locale", "")[:16] or template.default_locale
    cleared = request.session.pop(DRAFT_CLEAR_SESSION_KEY, None) if DRAFT_CLEAR_SESSION_KEY in request.session else None
    newest_two = [v for v in versions if v.locale == locale][:2]
    return {
        "template": template,
        "can_manage": _can_manage(actor),
        "versions": versions,
        "current": sorted(current.values(), key=lambda v: (v.locale != template.default_locale, v.locale)),
        "locale": locale,
        "settings_form": forms.get("settings_form") or _settings_form(template),
        "version_form": forms.get("version_form")
        or _version_form(template, current, locale, clear=cleared == template.key),
        "preview_form": forms.get("preview_form") or PreviewForm(initial={"locale": ""}),
        "compare_a": newest_two[1].pk if len(newest_two) == 2 else "",
        "compare_b": newest_two[0].pk if newest_two else "",
        "variables_help": VARIABLES_HELP,
    }


@staff_view
@require_http_methods(["GET", "POST"])
def template_detail(request: HttpRequest, key: str) -> HttpResponse:
    """The template's page; a POST saves its settings (name, purpose, default locale, active)."""
    actor = web_actor(request)
    template = messaging_queries.get_template(actor, key)
    if request.method == "GET":
        return render(request, "web/message_templates/detail.html", _detail_context(request, actor, template))
    actor.require(Perm.CHANNELS_MANAGE)
    form = _settings_form(template, request.POST)
    if form.is_valid():
        data = form.cleaned_data
        updated = attempt(
            form,
            lambda: messaging_services.update_template(
                actor,
                template,
                name=data["name"],
                purpose=data["purpose"],
                default_locale=data["default_locale"],
                is_active=data["is_active"],
            ),
        )
        if updated is not None:
            messages.success(request, f"Saved the settings of {updated.name}.")
            return redirect("web:template", key=template.key)
    template.refresh_from_db()  # the form keeps what was typed; the page shows what is stored
    context = _detail_context(request, actor, template, settings_form=form)
    return render(request, "web/message_templates/detail.html", context, status=422)


@staff_view
@require_POST
def template_version_new(request: HttpRequest, key: str) -> HttpResponse:
    """Save the content as a new version of its locale (saving the current content unchanged makes none)."""
    actor = web_actor(request)
    actor.require(Perm.CHANNELS_MANAGE)
    template = messaging_queries.get_template(actor, key)
    locale = request.POST.get("version-locale", "")[:16]
    form = TemplateVersionForm(request.POST, channel=template.channel, draft_prefix=_draft_prefix(template, locale))
    result = None
    if form.is_valid():
        result = attempt(form, lambda: messaging_services.save_template_version(actor, template, form.content()))
    if result is None:
        context = _detail_context(request, actor, template, version_form=form, locale=locale)
        return render(request, "web/message_templates/detail.html", context, status=422)
    version, created = result
    if created:
        messages.success(request, f"Saved {version.locale} v{version.version}.")
    else:
        messages.info(request, f"Nothing changed: {version.locale} v{version.version} already says this.")
    request.session[DRAFT_CLEAR_SESSION_KEY] = template.key
    return redirect(reverse("web:template", args=[template.key]) + f"?locale={version.locale}#versions")


# --- preview -------------------------------------------------------------------------------------
def find_customer(actor: Actor, raw: str) -> Customer | None:
    """A cus_… id, or a name, email or phone that matches exactly one active customer."""
    value = raw.strip()
    if value.startswith("cus_"):
        try:
            return customer_queries.get_customer(actor, value)
        except NotFoundError:
            return None
    try:
        matches = list(customer_queries.search_customers(actor, q=value).order_by("id")[:2])
    except CxloopError:
        return None
    return matches[0] if len(matches) == 1 else None


def _preview_errors(exc: CxloopError, preview_form: PreviewForm, version_form: TemplateVersionForm | None) -> None:
    """Content errors belong on the draft's fields; reserved variable names and the rest on the preview form."""
    content = {k: v for k, v in exc.fields.items() if k in _CONTENT_FIELDS}
    rest = {("variables" if k.startswith("variables.") else k): v for k, v in exc.fields.items() if k not in content}
    if version_form is not None and content:
        apply_errors(version_form, CxloopError(exc.message, fields=content))
    if rest or version_form is None or not content:
        apply_errors(preview_form, CxloopError(exc.message, fields=rest))


def _run_preview(
    actor: Actor, template: Template, preview_form: PreviewForm, version_form: TemplateVersionForm | None
) -> tuple[messaging_queries.Preview | None, Customer | None]:
    customer = find_customer(actor, preview_form.cleaned_data["customer"])
    if customer is None:
        preview_form.add_error("customer", "no single customer matches: pick one from the list or give the cus_… id")
        return None, None
    data = preview_form.cleaned_data
    try:
        preview = messaging_queries.preview_template(
            actor,
            template,
            customer,
            locale=data["locale"],
            variables=data["variables"],
            draft=version_form.content() if version_form is not None else None,
        )
    except (PermissionDeniedError, NotFoundError):
        raise
    except CxloopError as exc:
        _preview_errors(exc, preview_form, version_form)
        return None, customer
    return preview, customer


@staff_view
@require_POST
def template_preview(request: HttpRequest, key: str) -> HttpResponse:
    """Render the saved template (or, with source=draft, the unsaved editor content) for a real customer."""
    actor = web_actor(request)
    template = messaging_queries.get_template(actor, key)
    preview_form = PreviewForm(request.POST)
    version_form = None
    if request.POST.get("source") == "draft":
        version_form = TemplateVersionForm(request.POST, channel=template.channel)
    preview, customer = None, None
    # The rendered text and subject are the text engine's output (not escaped, and marked safe by Django):
    # the partial escapes them with force_escape.
    preview_valid = preview_form.is_valid()
    draft_valid = version_form is None or version_form.is_valid()
    if preview_valid and draft_valid:
        preview, customer = _run_preview(actor, template, preview_form, version_form)
    context = {
        "template": template,
        "preview": preview,
        "preview_customer": customer,
        "preview_form": preview_form,
        "draft_form": version_form,
        # Plain str on purpose: the page escapes it into srcdoc, so the frame gets the rendered HTML as is.
        "html_document": str(PREVIEW_DOCUMENT + str(preview.rendered.html) + "</body></html>") if preview else "",
    }
    status = 200 if preview is not None else 422
    return partial_or_page(request, "web/message_templates/_preview.html", context, title="Preview", status=status)


@staff_view
@require_GET
def template_customers(request: HttpRequest) -> HttpResponse:
    """Options for the preview's customer picker: a <datalist> of up to eight matches, by public id."""
    actor = web_actor(request)
    q = request.GET.get("preview-customer", request.GET.get("q", "")).strip()[:200]
    results: list[Customer] = []
    if len(q) >= 2 and not q.startswith("cus_"):
        try:
            qs = customer_queries.search_customers(actor, q=q).order_by("search_name", "id")
            results = list(qs.prefetch_related("identities")[:CUSTOMER_OPTIONS])
        except CxloopError:
            results = []
    return render(request, "web/message_templates/_customer_options.html", {"results": results})


# --- history -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class DiffLine:
    kind: str  # "same", "added", "removed"
    text: str


@dataclass(frozen=True)
class FieldDiff:
    label: str
    lines: list[DiffLine]
    changed: bool


def diff_lines(before: str, after: str) -> list[DiffLine]:
    """A line diff that reads top to bottom: unchanged lines, then what went, then what came."""
    old, new = before.splitlines(), after.splitlines()
    lines: list[DiffLine] = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(a=old, b=new, autojunk=False).get_opcodes():
        if tag == "equal":
            lines += [DiffLine("same", text) for text in old[i1:i2]]
            continue
        lines += [DiffLine("removed", text) for text in old[i1:i2]]
        lines += [DiffLine("added", text) for text in new[j1:j2]]
    return lines


def version_diff(a: TemplateVersion, b: TemplateVersion) -> list[FieldDiff]:
    labels = {"subject": "Subject", "body_text": "Text body", "body_html": "HTML body"}
    diffs = []
    for name, label in labels.items():
        before, after = getattr(a, name), getattr(b, name)
        if before or after:
            diffs.append(FieldDiff(label, diff_lines(before, after), before != after))
    return diffs


@staff_view
@require_GET
def template_compare(request: HttpRequest, key: str) -> HttpResponse:
    """Two versions of a template side by side as a line diff (any locales, in the order given)."""
    actor = web_actor(request)
    template = messaging_queries.get_template(actor, key)
    versions = messaging_queries.template_versions(actor, template)
    picked = []
    for name in ("a", "b"):
        raw = request.GET.get(name, "")
        number = whole_number(raw)
        version = versions.filter(pk=number).first() if number is not None else None
        if version is None:
            messages.error(request, "Pick two versions of this template to compare.")
            return redirect(reverse("web:template", args=[template.key]) + "#history")
        picked.append(version)
    a, b = picked
    context = {"template": template, "a": a, "b": b, "diffs": version_diff(a, b), "versions": list(versions)}
    return render(request, "web/message_templates/compare.html", context)
