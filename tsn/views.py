"""Project-level pages. Like tsn.urls, this module sits above every app."""

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.db import DatabaseError, connection
from django.db.models import Prefetch
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from pathways.caseload import assigned_open_steps, coordinator_caseload
from pathways.indicators import territory_indicators
from patients.caseload import count_care_team_patients, count_gp_patients, unread_mentions
from patients.models import Patient
from professionals.models import Organization, PractitionerRole, Professional
from tsn.accounts import count_active_users_by_role
from tsn.audit import record_access
from tsn.audit_search import AuditSearchForm, page_before
from tsn.keyset import parse_cursor
from tsn.models import ApiToken, AuditEvent, Territory, User
from tsn.periods import in_effect_on


@login_not_required
def healthz(request: HttpRequest) -> JsonResponse:
    """For the load balancer and docker compose: the process answers and reaches the database."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError:
        return JsonResponse({"status": "database unavailable"}, status=503)
    return JsonResponse({"status": "ok"})


def home(request: HttpRequest) -> HttpResponse:
    """The landing page of the user's role; patients and caregivers land on their portal."""
    if request.user.role == User.Role.PATIENT:
        return redirect("portal:records")
    template_name, build_context = HOME_PAGES[request.user.role]
    return render(request, template_name, build_context(request))


def _mentions(request: HttpRequest) -> list[Patient]:
    """Unread liaison-notebook mentions; listing the patients' names is an audited access."""
    patients = unread_mentions(request.user)
    if patients:
        record_access(
            request=request,
            action=AuditEvent.Action.READ,
            object_type="mention_list",
            patient_id=None,
            object_id=str(len(patients)),
        )
    return patients


def _coordinator_home(request: HttpRequest) -> dict[str, Any]:
    professional = Professional.objects.filter(user=request.user).first()
    if professional is None:
        return {"professional": None}
    return {
        "professional": professional,
        "mentions": _mentions(request),
        "support_services": list(professional.support_services.select_related("organization")),
        "caseload": coordinator_caseload(professional, timezone.localdate()),
    }


def _professional_home(request: HttpRequest) -> dict[str, Any]:
    today = timezone.localdate()
    professional = (
        Professional.objects.filter(user=request.user)
        .prefetch_related(
            Prefetch(
                "roles",
                queryset=PractitionerRole.objects.filter(in_effect_on(today))
                .select_related("organization")
                .order_by("organization__name"),
                to_attr="current_roles",
            )
        )
        .first()
    )
    if professional is None:
        return {"professional": None}
    is_physician = professional.profession == Professional.Profession.PHYSICIAN
    return {
        "professional": professional,
        "mentions": _mentions(request),
        "care_team_patients": count_care_team_patients(professional, today),
        "gp_patients": count_gp_patients(professional) if is_physician else None,
        "steps": assigned_open_steps(professional, today),
    }


def _ars_home(request: HttpRequest) -> dict[str, Any]:
    return {
        "territory": Territory.objects.order_by("pk").first(),
        "indicators": territory_indicators(),
    }


def _admin_home(request: HttpRequest) -> dict[str, Any]:
    users_by_role = count_active_users_by_role()
    return {
        "territory": Territory.objects.order_by("pk").first(),
        "users_by_role": users_by_role,
        "active_users": sum(count for _label, count in users_by_role),
        "organizations": Organization.objects.count(),
        "professionals": Professional.objects.count(),
        "patients": Patient.objects.count(),
    }


HOME_PAGES: dict[str, tuple[str, Callable[[HttpRequest], dict[str, Any]]]] = {
    User.Role.COORDINATOR: ("tsn/home_coordinator.html", _coordinator_home),
    User.Role.PROFESSIONAL: ("tsn/home_professional.html", _professional_home),
    User.Role.ARS_ANALYST: ("tsn/home_ars.html", _ars_home),
    User.Role.ADMINISTRATOR: ("tsn/home_admin.html", _admin_home),
}


def audit_search(request: HttpRequest) -> HttpResponse:
    """Territory-wide audit trail for administrators: who accessed which record, when."""
    if request.user.role != User.Role.ADMINISTRATOR:
        raise Http404
    form = AuditSearchForm(request.GET)  # every filter is optional: no filter, all events
    events, next_cursor = [], None
    if form.is_valid():
        events, next_cursor = page_before(form.events(), parse_cursor(request.GET.get("before")))
    query = request.GET.copy()
    query.pop("before", None)
    return render(
        request,
        "tsn/audit_search.html",
        {"form": form, "events": events, "next_cursor": next_cursor, "query": query.urlencode()},
    )


class ApiTokenForm(forms.Form):
    name = forms.CharField(
        label=gettext_lazy("Usage"),
        max_length=100,
        help_text=gettext_lazy(
            "Par exemple « Logiciel du cabinet » : pour le reconnaître dans la liste."
        ),
        widget=forms.TextInput(attrs={"class": "form-control"}),
    )


@never_cache
def api_tokens(request: HttpRequest) -> HttpResponse:
    """The user's personal API tokens: create one (its key shown once, on this answer
    only), see when each was last used, revoke one."""
    form = ApiTokenForm(request.POST if request.method == "POST" else None)
    key = None
    if form.is_valid():
        _token, key = ApiToken.issue(user=request.user, name=form.cleaned_data["name"])
        form = ApiTokenForm()
    tokens = request.user.api_tokens.order_by("revoked_at", "-created_at")
    return render(request, "tsn/api_tokens.html", {"form": form, "key": key, "tokens": tokens})


@require_POST
def api_token_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    token = get_object_or_404(ApiToken, pk=pk, user=request.user)
    token.revoke()
    messages.success(request, _("Le jeton « %(name)s » est révoqué.") % {"name": token.name})
    return redirect("api_tokens")
