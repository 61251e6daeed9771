"""The main navigation of each role.

Only pages that exist are listed, so there is never a dead link: the pages still to come
are added here by the issues that build them.
"""

from dataclasses import dataclass

from django.urls import reverse
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from tsn.models import User


@dataclass(frozen=True)
class NavItem:
    label: str | Promise
    url_name: str
    # The admin site turns away users who are not staff: no link for them.
    staff_only: bool = False


@dataclass(frozen=True)
class NavLink:
    label: str | Promise
    url: str
    is_current: bool


HOME = NavItem(_("Accueil"), "home")

MAIN_NAVIGATION: dict[str, tuple[NavItem, ...]] = {
    User.Role.COORDINATOR: (
        HOME,
        NavItem(_("Liste de travail"), "pathways:worklist"),
        NavItem(_("File active"), "pathways:caseload"),
        NavItem(_("Demandes reçues"), "pathways:referral_inbox"),
        NavItem(_("Patients"), "patients:search"),
        NavItem(_("Annuaire"), "professionals:directory"),
        NavItem(_("Orientation"), "pathways:orientation"),
    ),
    User.Role.PROFESSIONAL: (
        HOME,
        NavItem(_("Mes patients"), "patients:search"),
        NavItem(_("Annuaire"), "professionals:directory"),
        NavItem(_("Orientation"), "pathways:orientation"),
        NavItem(_("Télé-expertise"), "pathways:tele_expertise_inbox"),
        NavItem(_("Agenda"), "pathways:calendar_settings"),
    ),
    User.Role.ARS_ANALYST: (
        NavItem(_("Indicateurs"), "home"),
        NavItem(_("Rapports d'évaluation"), "pathways:evaluation_reports"),
    ),
    User.Role.ADMINISTRATOR: (
        HOME,
        NavItem(_("Doublons"), "patients:duplicates"),
        NavItem(_("Traçabilité"), "audit_search"),
        NavItem(_("Envois en échec"), "pathways:failed_notifications"),
        NavItem(_("Flux hospitalier"), "pathways:hospital_feed"),
        NavItem(_("Rapports d'évaluation"), "pathways:evaluation_reports"),
        NavItem(_("Administration"), "admin:index", staff_only=True),
    ),
    User.Role.PATIENT: (NavItem(_("Mon dossier"), "portal:records"),),
}


def main_navigation(user: User, current_path: str) -> list[NavLink]:
    """The links of the user's role, the one leading to the current page marked."""
    if not user.is_authenticated:
        return []
    links = []
    for item in MAIN_NAVIGATION.get(user.role, ()):
        if item.staff_only and not user.is_staff:
            continue
        url = reverse(item.url_name)
        is_current = current_path == url or (url != "/" and current_path.startswith(url))
        links.append(NavLink(item.label, url, is_current))
    return links
