"""Directory pages."""

import re

from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from professionals.models import Professional

SEARCH_LIMIT = 20
# The form field the picked professional is posted as, e.g. "member-professional".
_FIELD_NAME = re.compile(r"^[a-z_-]{1,50}$")


def search(request: HttpRequest) -> HttpResponse:
    """Professionals matching ?q= by name (accents ignored), profession or RPPS: an htmx
    fragment of radio buttons named after ?champ=, to sit inside the caller's form."""
    if not request.user.is_clinical:
        raise Http404
    query = request.GET.get("q", "").strip()
    field_name = request.GET.get("champ", "professional")
    if not _FIELD_NAME.match(field_name):
        field_name = "professional"
    professionals = Professional.objects.none()
    if len(query) >= 2:
        professionals = Professional.objects.all()
        for term in query.split()[:4]:
            professions = [
                value
                for value, label in Professional.Profession.choices
                if term.lower() in str(label).lower()
            ]
            professionals = professionals.filter(
                Q(last_name__unaccent__icontains=term)
                | Q(first_name__unaccent__icontains=term)
                | Q(rpps__startswith=term)
                | Q(specialty__unaccent__icontains=term)
                | Q(profession__in=professions)
            )
        professionals = professionals.order_by("last_name", "first_name", "pk")[:SEARCH_LIMIT]
    return render(
        request,
        "professionals/professional_search.html#results",
        {"professionals": professionals, "query": query, "field_name": field_name},
    )
