"""Pages for running the instance: the audit trail, API tokens, and custom attribute definitions."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from cxloop.accounts import queries as account_queries
from cxloop.accounts import services as account_services
from cxloop.core.pagination import paginate
from cxloop.core.permissions import Perm, Role
from cxloop.customers import queries as customer_queries
from cxloop.customers import services as customer_services
from cxloop.privacy import queries as privacy_queries
from cxloop.web.actor import web_actor
from cxloop.web.forms import AttributeDefinitionForm, AuditFilterForm, TokenForm, attempt
from cxloop.web.responses import staff_view

AUDIT_PAGE = 50


@staff_view
@require_GET
def audit(request: HttpRequest) -> HttpResponse:
    actor = web_actor(request)
    actor.require(Perm.AUDIT_VIEW)
    form = AuditFilterForm(request.GET or None)
    page = None
    if not request.GET or form.is_valid():
        data = form.cleaned_data if request.GET else {}
        since, until = form.bounds() if request.GET else (None, None)
        qs = privacy_queries.search_audit(
            actor,
            text=data.get("text", ""),
            action=data.get("action", ""),
            object_id=data.get("object_id", ""),
            actor_name=data.get("actor", ""),
            since=since,
            until=until,
        )
        page = paginate(qs, ("-occurred_at", "-id"), request.GET.get("cursor") or None, AUDIT_PAGE)
    status = 422 if page is None else 200
    return render(request, "web/audit/list.html", {"form": form, "page": page}, status=status)


@staff_view
@require_http_methods(["GET", "POST"])
def tokens(request: HttpRequest) -> HttpResponse:
    """Your tokens (every token, for admins); a new token's secret is shown on this one answer only."""
    actor = web_actor(request)
    user = request.user
    allow_admin = getattr(user, "role", "") == Role.ADMIN.value
    form = TokenForm(request.POST or None, allow_admin=allow_admin)
    created, secret, status = None, None, 200
    if request.method == "POST":
        status = 422
        if form.is_valid():
            data = form.cleaned_data
            result = attempt(
                form,
                lambda: account_services.create_token(actor, user, name=data["name"], scopes=data["scopes"]),  # type: ignore[arg-type]
            )
            if result is not None:
                created, secret = result
                form, status = TokenForm(allow_admin=allow_admin), 201
    context = {
        "form": form,
        "tokens": account_queries.visible_tokens(actor).order_by("-created_at", "-id"),
        "created": created,
        "secret": secret,
        "show_owner": actor.can(Perm.TOKENS_MANAGE_ALL),
    }
    response = render(request, "web/tokens/list.html", context, status=status)
    if secret:
        response["Cache-Control"] = "no-store"
    return response


@staff_view
@require_POST
def token_revoke(request: HttpRequest, token_id: int) -> HttpResponse:
    actor = web_actor(request)
    token = account_queries.get_token(actor, token_id)
    account_services.revoke_token(actor, token)
    messages.success(request, f"Revoked the token {token.name} ({token.prefix}…).")
    return redirect("web:tokens")


@staff_view
@require_http_methods(["GET", "POST"])
def attribute_settings(request: HttpRequest) -> HttpResponse:
    actor = web_actor(request)
    actor.require(Perm.ATTRIBUTES_MANAGE)
    form = AttributeDefinitionForm(request.POST or None)
    status = 200
    if request.method == "POST":
        status = 422
        if form.is_valid():
            data = form.cleaned_data
            defined = attempt(
                form,
                lambda: customer_services.define_attribute(
                    actor,
                    key=data["key"],
                    label=data["label"],
                    type=data["type"],
                    choices=form.choice_list(),
                    description=data["description"],
                ),
            )
            if defined is not None:
                messages.success(request, f"Defined the attribute {defined.label}.")
                return redirect("web:attributes")
    definitions = customer_queries.attribute_definitions(actor)
    return render(request, "web/settings/attributes.html", {"form": form, "definitions": definitions}, status=status)


@staff_view
@require_POST
def attribute_delete(request: HttpRequest, key: str) -> HttpResponse:
    actor = web_actor(request)
    actor.require(Perm.ATTRIBUTES_MANAGE)
    definition = customer_queries.attribute_definitions(actor).filter(key=key).first()
    if definition is None:
        messages.error(request, f"No attribute {key}.")
        return redirect("web:attributes")
    customer_services.delete_attribute(actor, definition)
    messages.success(request, f"Deleted the attribute {definition.label}; values already on profiles are kept.")
    return redirect("web:attributes")
