"""The personalised care plan (PPCS): versions saved under optimistic locking, and the GP's
validation.

Each save writes a new version. The caller says which version it started from
(`base_version`, the lock): if someone saved since, `StaleCarePlan` is raised with the
current version and nothing is written, so an edit never silently overwrites another.
"""

import datetime
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from pathways.access import can_validate_care_plan
from pathways.models import CarePlan, CarePlanVersion, Pathway
from pathways.services.pathway import complete_care_plan_validation_steps
from patients.models import CareTeamMember, Patient, TimelineEvent
from patients.services import add_timeline_event
from professionals.models import Professional
from tsn.audit import record_access
from tsn.models import AuditEvent
from tsn.periods import in_effect_on

Version = CarePlanVersion


@dataclass
class CarePlanContent:
    """What a version holds, as the form or the API gives it."""

    referent: Professional | None = None
    next_review_on: datetime.date | None = None
    general_information: str = ""
    needs: dict[str, str] = field(default_factory=dict)
    # [{"text", "target", "status", "comment"}]
    goals: list[dict] = field(default_factory=list)
    # [{"text", "kind", "owner" (Professional or None), "due_on" (date or None)}]
    actions: list[dict] = field(default_factory=list)
    preferences: str = ""


class StaleCarePlan(Exception):
    """The care plan was saved by someone else since the version the edit started from."""

    def __init__(self, current: CarePlanVersion) -> None:
        super().__init__(f"care plan saved since: version {current.number}")
        self.current = current


def care_plan_people(patient: Patient) -> QuerySet[Professional]:
    """Who may own an action or be the referent: the active care team and the
    coordinators following the patient's open pathways."""
    team = CareTeamMember.objects.filter(in_effect_on(timezone.localdate())).filter(patient=patient)
    following = Pathway.objects.filter(
        patient=patient, status__in=[Pathway.Status.PROPOSED, Pathway.Status.ACTIVE]
    )
    return Professional.objects.filter(
        Q(pk__in=team.values("professional_id")) | Q(pk__in=following.values("referent_id"))
    ).order_by("last_name", "first_name")


def changed_sections(before: CarePlanVersion | None, after: CarePlanVersion) -> list[str]:
    """The names of the sections that differ between two versions (all when no before)."""
    sections = (
        ("general_information", _("Informations générales")),
        ("referent_id", _("Référent")),
        ("next_review_on", _("Prochaine révision")),
        ("needs", _("Problèmes et besoins")),
        ("goals", _("Objectifs partagés")),
        ("actions", _("Plan d'actions")),
        ("preferences", _("Préférences et projet du patient")),
    )
    return [
        label
        for name, label in sections
        if before is None or getattr(before, name) != getattr(after, name)
    ]


def _clean(content: CarePlanContent) -> dict:
    """The version's fields from the content, its shape checked."""
    domains = set(Version.Domain.values)
    if set(content.needs) - domains:
        raise ValidationError(_("Domaine de besoins inconnu."), code="needs_domain")
    goals = []
    for goal in content.goals:
        if goal.get("status") not in Version.GoalStatus.values or not goal.get("text", "").strip():
            raise ValidationError(
                _("Chaque objectif a un intitulé et un état connu."), code="goal_shape"
            )
        goals.append(
            {key: str(goal.get(key, "")) for key in ("text", "target", "status", "comment")}
        )
    actions = []
    for action in content.actions:
        if (
            action.get("kind") not in Version.ActionKind.values
            or not action.get("text", "").strip()
        ):
            raise ValidationError(
                _("Chaque action a un intitulé et une nature (prévention, soins, accompagnement)."),
                code="action_shape",
            )
        owner, due_on = action.get("owner"), action.get("due_on")
        actions.append(
            {
                "text": str(action["text"]),
                "kind": action["kind"],
                "owner": owner.pk if owner else None,
                "owner_name": str(owner) if owner else "",
                "due_on": due_on.isoformat() if due_on else "",
            }
        )
    return {
        "referent": content.referent,
        "next_review_on": content.next_review_on,
        "general_information": content.general_information,
        "needs": {key: text for key, text in content.needs.items() if text.strip()},
        "goals": goals,
        "actions": actions,
        "preferences": content.preferences,
    }


@transaction.atomic
def save_care_plan(
    *, request: HttpRequest, patient: Patient, base_version: int, content: CarePlanContent
) -> CarePlanVersion:
    """Save the next version of the patient's care plan, if `base_version` is still the
    current one (0 for a first version); raise StaleCarePlan otherwise."""
    fields = _clean(content)
    care_plan, _created = CarePlan.objects.get_or_create(patient=patient)
    care_plan = CarePlan.objects.select_for_update().get(pk=care_plan.pk)
    if care_plan.current_version != base_version:
        raise StaleCarePlan(
            care_plan.versions.select_related("author").get(number=care_plan.current_version)
        )
    version = CarePlanVersion.objects.create(
        care_plan=care_plan, number=base_version + 1, author=request.user, **fields
    )
    care_plan.current_version = version.number
    care_plan.next_review_on = version.next_review_on
    care_plan.updated_at = timezone.now()
    care_plan.save(update_fields=["current_version", "next_review_on", "updated_at"])
    add_timeline_event(
        request=request,
        patient=patient,
        kind=TimelineEvent.Kind.NOTE,
        title=_("PPCS mis à jour (version %(number)d)") % {"number": version.number},
    )
    record_access(
        request=request,
        action=AuditEvent.Action.CREATE if version.number == 1 else AuditEvent.Action.UPDATE,
        object_type="care_plan",
        object_id=version.number,
        patient_id=patient.pk,
    )
    return version


@transaction.atomic
def validate_care_plan(
    *, request: HttpRequest, patient: Patient, version_number: int
) -> CarePlanVersion:
    """The patient's GP validates the current version (once); the pathways' steps "care
    plan validated by the GP" are done with it."""
    if not can_validate_care_plan(request.user, patient):
        raise ValidationError(
            _("Seul le médecin traitant du patient valide le PPCS."), code="not_the_gp"
        )
    care_plan = CarePlan.objects.select_for_update().get(patient=patient)
    if version_number != care_plan.current_version:
        raise ValidationError(
            _("Une version plus récente a été enregistrée : relisez-la avant de valider."),
            code="stale",
        )
    now = timezone.now()
    claimed = CarePlanVersion.objects.filter(
        care_plan=care_plan, number=version_number, validated_at=None
    ).update(validated_by=request.user.professional, validated_at=now)
    if not claimed:
        raise ValidationError(_("Cette version est déjà validée."), code="already_validated")
    version = care_plan.versions.select_related("validated_by").get(number=version_number)
    add_timeline_event(
        request=request,
        patient=patient,
        kind=TimelineEvent.Kind.NOTE,
        title=_("PPCS validé par le médecin traitant (version %(number)d)")
        % {"number": version_number},
    )
    record_access(
        request=request,
        action=AuditEvent.Action.UPDATE,
        object_type="care_plan",
        object_id=version_number,
        patient_id=patient.pk,
    )
    complete_care_plan_validation_steps(
        request=request,
        patient=patient,
        outcome=_("PPCS version %(number)d validé.") % {"number": version_number},
    )
    return version
