"""What the FHIR API serves of each resource type: its rows, its search parameters, the
access check of a read and of a search (`$everything`: everything.py).

Patient data goes through the access chokepoint (patients/access.py) and leaves an audit
event: a read checks the row's patient with `get_patient_for`; a search about one patient
(`patient=`/`subject=`) checks that patient the same way (one event, object type
`fhir_<type>_list`); a search across patients is narrowed to `visible_patients_for` and
leaves one event for the list (its size as object id). The directory (practitioners,
their roles, organisations, services) is for any authenticated person or machine.
"""

import functools
import operator
from collections.abc import Callable

from django.db.models import Exists, F, OuterRef, Prefetch, Q, QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from pathways.fhir import resources
from pathways.fhir.errors import FhirError, not_found
from pathways.fhir.search import (
    NOTHING,
    Param,
    Reference,
    Search,
    Token,
    date,
    ids,
    keyset_page,
    parse_token,
    patient_reference,
    reference,
    string,
    token,
)
from pathways.models import CarePlan, CarePlanVersion, Step
from patients.access import can_read_access_log, get_patient_for, visible_patients_for
from patients.models import CareTeamMember, LiaisonMessage, Observation, Patient, TimelineEvent
from professionals.models import (
    Organization,
    OrganizationToken,
    PractitionerRole,
    Professional,
    SupportService,
)
from tsn.audit import record_access
from tsn.models import AuditEvent, User

Cursor = tuple[int, ...] | None
Page = tuple[list, Cursor]
# The FINESS system of FR Core 1.x, still sent by some clients: accepted in searches.
LEGACY_FINESS_SYSTEM = "http://finess.sante.gouv.fr"


def _id_of(resource_id: str) -> int:
    if not resource_id.isdigit() or len(resource_id) > 18:
        raise not_found()
    return int(resource_id)


class Endpoint:
    """A resource type served by the API. `patient_path` leads from a row to its
    patient's id (None for the directory); `also` is a rule beyond seeing the patient."""

    type: str = ""
    patient_path: str | None = None
    # Read the duplicates merged into the patient's record as one record (the timeline).
    merged_records: bool = False
    also: Callable[[User, Patient], bool] | None = None
    # The search parameters (the CapabilityStatement lists them with their documentation).
    params: dict[str, Param] = {}
    # How many numbers a page's cursor holds (the key the rows are ordered by).
    cursor_length: int = 1
    # Its rows go into `$everything` as they are (the Patient leads the bundle; the goals
    # come out of the care plans).
    exported: bool = True

    @property
    def object_type(self) -> str:
        return f"fhir_{self.type.lower()}"

    def rows(self) -> QuerySet:
        raise NotImplementedError

    def to_fhir(self, row) -> dict:
        raise NotImplementedError

    def patient_id(self, row) -> int | None:
        return getattr(row, "patient_id", None)

    def narrow(self, queryset: QuerySet, search: Search | None) -> QuerySet:
        """What a search shows unless asked otherwise (`search` None: the export)."""
        return queryset

    def prepare(self, rows: list) -> None:
        """Fetch, in one query, what the page's resources need beyond their rows."""

    def resources(self, rows: list) -> list[dict]:
        return [self.to_fhir(row) for row in rows]

    def page(self, queryset: QuerySet, search: Search) -> Page:
        return keyset_page(queryset, search)

    def read(self, request: HttpRequest, resource_id: str) -> dict:
        pk = _id_of(resource_id)
        row = self.rows().filter(pk=pk).first()
        if row is None:
            raise not_found()
        if self.patient_path is not None:
            patient_id = self.patient_id(row)
            if patient_id is None:
                raise not_found()
            get_patient_for(
                request, patient_id, object_type=self.object_type, object_id=pk, also=self.also
            )
        self.prepare([row])
        return self.to_fhir(row)

    def search(self, request: HttpRequest, search: Search) -> tuple[list[dict], Cursor]:
        """The page of resources the search finds among those the request may see, and
        the key of the next page (None on the last)."""
        queryset = self.rows()
        about_one_patient = self.patient_path is not None and search.patient_id is not None
        if about_one_patient:
            patient = get_patient_for(
                request,
                search.patient_id,
                object_type=f"{self.object_type}_list",
                also=self.also,
            )
            record = patient.record_ids() if self.merged_records else [patient.pk]
            queryset = queryset.filter(**{f"{self.patient_path}__in": record})
        elif self.patient_path is not None:
            if self.also is not None:
                raise FhirError(
                    400,
                    "required",
                    _("Précisez le patient (paramètre « patient »)."),
                    f"{self.type} searches need the 'patient' parameter.",
                )
            visible = visible_patients_for(request).values("pk")
            queryset = queryset.filter(**{f"{self.patient_path}__in": visible})
        for condition in search.conditions:
            queryset = queryset.filter(condition)
        rows, next_key = self.page(self.narrow(queryset, search), search)
        self.prepare(rows)
        found = self.resources(rows)
        if self.patient_path is not None and not about_one_patient:
            record_access(
                request=request,
                action=AuditEvent.Action.READ,
                object_type=f"{self.object_type}_list",
                patient_id=None,
                object_id=len(found),
            )
        return found, next_key


# --- Directory -------------------------------------------------------------------------------


def _practitioner_identifier(value: Token) -> Q:
    system, code = value
    rpps = Q(rpps=code)
    idnps = Q(rpps=code[1:]) if code.startswith("8") else NOTHING
    if system == resources.RPPS_SYSTEM:
        return rpps
    if system == resources.IDNPS_SYSTEM:
        return idnps
    return rpps | idnps if system is None else NOTHING


class PractitionerEndpoint(Endpoint):
    type = "Practitioner"
    params = {
        "_id": ids(),
        "identifier": token(
            f"RPPS ({resources.RPPS_SYSTEM}|…) or IDNPS ({resources.IDNPS_SYSTEM}|8…).",
            _practitioner_identifier,
        ),
        "name": string(
            "Last or first name (starts a word; accents ignored).", "last_name", "first_name"
        ),
    }

    def rows(self) -> QuerySet:
        return Professional.objects.all()

    def to_fhir(self, row: Professional) -> dict:
        return resources.practitioner(row)


def _by_id(field: str) -> Callable[[Reference], Q]:
    return lambda value: Q(**{field: value.id})


class PractitionerRoleEndpoint(Endpoint):
    type = "PractitionerRole"
    params = {
        "_id": ids(),
        "practitioner": reference("The practitioner (Practitioner/…).", _by_id("professional_id")),
        "organization": reference("The organisation (Organization/…).", _by_id("organization_id")),
    }

    def rows(self) -> QuerySet:
        return PractitionerRole.objects.select_related("professional", "organization")

    def to_fhir(self, row: PractitionerRole) -> dict:
        return resources.practitioner_role(row, timezone.localdate())


def _organization_identifier(value: Token) -> Q:
    system, code = value
    finess, siret = Q(finess=code), Q(siret=code)
    if system in (resources.FINESS_SYSTEM, LEGACY_FINESS_SYSTEM):
        return finess
    if system == resources.SIRET_SYSTEM:
        return siret
    return finess | siret if system is None else NOTHING


class OrganizationEndpoint(Endpoint):
    type = "Organization"
    params = {
        "_id": ids(),
        "identifier": token(
            f"FINESS ({resources.FINESS_SYSTEM}|…) or SIRET ({resources.SIRET_SYSTEM}|…).",
            _organization_identifier,
        ),
        "name": string("Name (starts a word; accents ignored).", "name"),
    }

    def rows(self) -> QuerySet:
        return Organization.objects.select_related("commune")

    def to_fhir(self, row: Organization) -> dict:
        return resources.organization(row, timezone.localdate())


class HealthcareServiceEndpoint(Endpoint):
    type = "HealthcareService"
    params = {
        "_id": ids(),
        "organization": reference("The organisation providing it.", _by_id("organization_id")),
        "name": string("Name (starts a word; accents ignored).", "name"),
    }

    def rows(self) -> QuerySet:
        return SupportService.objects.select_related("organization")

    def to_fhir(self, row: SupportService) -> dict:
        return resources.healthcare_service(row)


# --- The patient and their record -------------------------------------------------------------


def _patient_identifier(value: Token) -> Q:
    """The INS (a qualified identity's NIR): an unqualified one is not an INS."""
    system, code = value
    if system not in (None, resources.INS_NIR_SYSTEM):
        return NOTHING
    return Q(nir=code, identity_status=Patient.IdentityStatus.QUALIFIED)


def _active(value: Token) -> Q:
    code = value[1]
    if code not in ("true", "false"):
        return NOTHING
    return Q(merged_into__isnull=code == "true")


class PatientEndpoint(Endpoint):
    type = "Patient"
    patient_path = "pk"
    exported = False
    params = {
        "_id": ids(),
        "identifier": token(
            f"INS-NIR ({resources.INS_NIR_SYSTEM}|…): qualified identities only.",
            _patient_identifier,
        ),
        "name": string(
            "Birth or used name, or first names (starts a word; accents ignored).",
            "birth_last_name",
            "used_last_name",
            "first_names",
            "used_first_name",
        ),
        "family": string("Birth or used last name.", "birth_last_name", "used_last_name"),
        "given": string("Birth first names or used first name.", "first_names", "used_first_name"),
        "birthdate": date("Date of birth.", "birth_date", is_date=True),
        "active": token("false for a duplicate merged into another record.", _active),
    }

    def rows(self) -> QuerySet:
        return Patient.objects.select_related("gp", "commune").prefetch_related(
            Prefetch("merged_records", queryset=Patient.objects.only("pk", "merged_into_id"))
        )

    def to_fhir(self, row: Patient) -> dict:
        return resources.patient(row)

    def read(self, request: HttpRequest, resource_id: str) -> dict:
        person = get_patient_for(request, _id_of(resource_id), object_type=self.object_type)
        return self.to_fhir(person)

    def search(self, request: HttpRequest, search: Search) -> tuple[list[dict], Cursor]:
        queryset = self.rows().filter(pk__in=visible_patients_for(request).values("pk"))
        for condition in search.conditions:
            queryset = queryset.filter(condition)
        rows, next_key = self.page(queryset, search)
        # A list of identities is an access too; a search that finds one patient (by
        # INS, by id) is traced in that patient's log.
        record_access(
            request=request,
            action=AuditEvent.Action.READ,
            object_type=f"{self.object_type}_list",
            patient_id=rows[0].pk if len(rows) == 1 else None,
            object_id=len(rows),
        )
        return self.resources(rows), next_key


def _subject_params() -> dict[str, Param]:
    return {
        "patient": patient_reference("The patient (Patient/…): checked, and traced."),
        "subject": patient_reference("The patient (Patient/…), as `patient`."),
    }


class CareTeamEndpoint(Endpoint):
    """One care team per patient, its id the patient's."""

    type = "CareTeam"
    patient_path = "pk"
    params = {"_id": ids(), **_subject_params()}

    def rows(self) -> QuerySet:
        members = CareTeamMember.objects.select_related("professional").order_by("start", "pk")
        return Patient.objects.prefetch_related(Prefetch("care_team", queryset=members))

    def patient_id(self, row: Patient) -> int:
        return row.pk

    def to_fhir(self, row: Patient) -> dict:
        return resources.care_team(row, row.care_team.all())


def _current_versions() -> Prefetch:
    versions = CarePlanVersion.objects.filter(
        number=F("care_plan__current_version")
    ).select_related("author__professional", "referent", "validated_by")
    return Prefetch("versions", queryset=versions, to_attr="current")


class CarePlanEndpoint(Endpoint):
    """The PPCS: its current version."""

    type = "CarePlan"
    patient_path = "patient"
    params = {
        "_id": ids(),
        **_subject_params(),
        "date": date(
            "When the current version was saved (ge, gt, le, lt, eq).",
            "versions__created_at",
            also=Q(versions__number=F("current_version")),
        ),
    }

    def rows(self) -> QuerySet:
        return CarePlan.objects.filter(current_version__gt=0).prefetch_related(_current_versions())

    def to_fhir(self, row: CarePlan) -> dict:
        return resources.care_plan(row, row.current[0])


def _goal_statuses(lifecycle: str) -> list[str]:
    """The PPCS goal statuses shown as this lifecycle status."""
    return [status for status, (shown, _a) in resources.GOAL_STATUSES.items() if shown == lifecycle]


def _lifecycle(value: Token) -> Q:
    """The care plans whose current version has a goal of this lifecycle status (the
    page then keeps those goals only)."""
    statuses = _goal_statuses(value[1])
    if not statuses:
        return NOTHING
    having = functools.reduce(
        operator.or_, (Q(goals__contains=[{"status": status}]) for status in statuses)
    )
    current = CarePlanVersion.objects.filter(
        having, care_plan=OuterRef("pk"), number=OuterRef("current_version")
    )
    return Q(Exists(current))


class GoalEndpoint(Endpoint):
    """The goals of each care plan's current version; ids "<care plan id>-<index>".
    A page is cut along (care plan, index)."""

    type = "Goal"
    patient_path = "patient"
    cursor_length = 2
    exported = False
    params = {
        **_subject_params(),
        "lifecycle-status": token(
            "planned, active or completed (the goal's status in the PPCS).", _lifecycle
        ),
    }

    def rows(self) -> QuerySet:
        return CarePlanEndpoint().rows()

    def _goals(self, plan: CarePlan, statuses: set[str] | None) -> list[tuple[int, int]]:
        version = plan.current[0]
        return [
            (plan.pk, index)
            for index, content in enumerate(version.goals)
            if statuses is None
            or resources.GOAL_STATUSES.get(content["status"], ("proposed",))[0] in statuses
        ]

    def page(self, queryset: QuerySet, search: Search) -> Page:
        after = search.cursor
        if after is not None:
            queryset = queryset.filter(pk__gte=after[0])
        plans = list(queryset.order_by("pk")[: search.count + 1])
        statuses = self._statuses(search)
        by_pk = {plan.pk: plan for plan in plans}
        keys = [
            key
            for plan in plans
            for key in self._goals(plan, statuses)
            if after is None or key > after
        ]
        page_keys = keys[: search.count]
        rows = [(by_pk[plan_pk], index) for plan_pk, index in page_keys]
        if len(keys) > search.count:
            return rows, page_keys[-1]
        if len(plans) > search.count:  # every goal of these plans is shown: go past them
            return rows, (plans[-1].pk, 10**9)
        return rows, None

    @staticmethod
    def _statuses(search: Search) -> set[str] | None:
        """The lifecycle statuses asked for (repeated parameters are ANDed: a goal has one
        status, so it must be in each list)."""
        wanted = [
            {parse_token(value.strip())[1] for value in raw.split(",")}
            for key, raw in search.applied
            if key == "lifecycle-status"
        ]
        return set.intersection(*wanted) if wanted else None

    def resources(self, rows: list) -> list[dict]:
        return [resources.goal(plan, plan.current[0], index) for plan, index in rows]

    def read(self, request: HttpRequest, resource_id: str) -> dict:
        plan_id, _dash, index = resource_id.partition("-")
        if not index.isdigit() or len(index) > 6:
            raise not_found()
        plan = self.rows().filter(pk=_id_of(plan_id)).first()
        if plan is None:
            raise not_found()
        get_patient_for(
            request, plan.patient_id, object_type=self.object_type, object_id=resource_id
        )
        if int(index) >= len(plan.current[0].goals):
            raise not_found()
        return resources.goal(plan, plan.current[0], int(index))

    def export(self, plans: list[CarePlan]) -> list[dict]:
        return self.resources(
            [(plan, index) for plan in plans for _p, index in self._goals(plan, None)]
        )


def _task_status(value: Token) -> Q:
    steps = [step for step, status in resources.TASK_STATUSES.items() if status == value[1]]
    return Q(status__in=steps) if steps else NOTHING


class TaskEndpoint(Endpoint):
    """The steps of the patient's pathways."""

    type = "Task"
    patient_path = "pathway__patient"
    params = {
        "_id": ids(),
        **_subject_params(),
        "date": date("The step's due date.", "due_on", is_date=True),
        "status": token("requested, accepted, completed or cancelled.", _task_status),
    }

    def rows(self) -> QuerySet:
        return Step.objects.select_related("template_step", "pathway__template", "assignee")

    def patient_id(self, row: Step) -> int:
        return row.pathway.patient_id

    def to_fhir(self, row: Step) -> dict:
        return resources.task(row)


def _encounter_status(value: Token) -> Q:
    unknown_end = resources.ENCOUNTERS_OF_UNKNOWN_END
    return {
        "entered-in-error": Q(entered_in_error=True),
        "unknown": Q(entered_in_error=False, kind__in=unknown_end),
        "finished": Q(entered_in_error=False) & ~Q(kind__in=unknown_end),
    }.get(value[1], NOTHING)


class EncounterEndpoint(Endpoint):
    """Encounters of the timeline (admissions, transfers, discharges, emergency visits,
    consultations, home visits). One marked "entered in error" is read with that status,
    and left out of searches unless `status=entered-in-error` asks for it."""

    type = "Encounter"
    patient_path = "patient"
    merged_records = True
    params = {
        "_id": ids(),
        **_subject_params(),
        "date": date("When it happened.", "occurred_at"),
        "status": token(
            "finished, unknown (admissions, transfers) or entered-in-error.", _encounter_status
        ),
    }

    def rows(self) -> QuerySet:
        corrected = TimelineEvent.objects.filter(corrects=OuterRef("pk"))
        return (
            TimelineEvent.objects.filter(kind__in=resources.ENCOUNTER_CLASSES)
            .select_related("author", "organization")
            .annotate(entered_in_error=Exists(corrected))
        )

    def narrow(self, queryset: QuerySet, search: Search | None) -> QuerySet:
        if search is not None and "status" in search.names:
            return queryset
        return queryset.filter(entered_in_error=False)

    def to_fhir(self, row: TimelineEvent) -> dict:
        return resources.encounter(row, entered_in_error=row.entered_in_error)


class CommunicationEndpoint(Endpoint):
    """The liaison notebook's messages."""

    type = "Communication"
    patient_path = "patient"
    params = {"_id": ids(), **_subject_params(), "date": date("When it was sent.", "sent_at")}

    def rows(self) -> QuerySet:
        mentioned = User.objects.select_related("professional")
        return LiaisonMessage.objects.select_related("author__professional").prefetch_related(
            Prefetch("mentions", queryset=mentioned)
        )

    def to_fhir(self, row: LiaisonMessage) -> dict:
        return resources.communication(row)


def _observation_code(value: Token) -> Q:
    system, code = value
    if system not in (None, resources.LOINC):
        return NOTHING
    kinds = [
        kind
        for kind, codes in resources.OBSERVATION_CODES.items()
        if code in {loinc for loinc, _display in codes}
    ]
    return Q(kind__in=kinds) if kinds else NOTHING


def _observation_category(value: Token) -> Q:
    system, code = value
    if system not in (None, resources.OBSERVATION_CATEGORY):
        return NOTHING
    laboratory = Q(kind__in=resources.LABORATORY_KINDS)
    return {"laboratory": laboratory, "vital-signs": ~laboratory}.get(code, NOTHING)


class ObservationEndpoint(Endpoint):
    """Remote-monitoring measurements."""

    type = "Observation"
    patient_path = "patient"
    merged_records = True
    params = {
        "_id": ids(),
        **_subject_params(),
        "date": date("When it was measured.", "measured_at"),
        "code": token(f"LOINC code ({resources.LOINC}|…).", _observation_code),
        "category": token("vital-signs or laboratory (glucose).", _observation_category),
    }

    def rows(self) -> QuerySet:
        return Observation.objects.select_related("organization")

    def to_fhir(self, row: Observation) -> dict:
        return resources.observation(row)


class AuditEventEndpoint(Endpoint):
    """A patient's audit trail: for the patient and their referent coordinators only
    (`can_read_access_log`), so a search names the patient."""

    type = "AuditEvent"
    patient_path = "patient_id"
    also = staticmethod(can_read_access_log)
    params = {
        "_id": ids(),
        "patient": patient_reference("The patient (Patient/…): required."),
        "date": date("When the access happened.", "occurred_at"),
    }

    def rows(self) -> QuerySet:
        return AuditEvent.objects.filter(patient_id__isnull=False).select_related(
            "actor__professional"
        )

    def prepare(self, rows: list) -> None:
        """The organisation of each machine (token) among the page's actors."""
        prefix = f"{OrganizationToken.AUDIT_KIND}:"
        token_ids = {
            int(row.api_token.removeprefix(prefix))
            for row in rows
            if row.actor_id is None and row.api_token.startswith(prefix)
        }
        machines = (
            {
                token.pk: token.organization
                for token in OrganizationToken.objects.filter(pk__in=token_ids).select_related(
                    "organization"
                )
            }
            if token_ids
            else {}
        )
        for row in rows:
            token_id = row.api_token.removeprefix(prefix)
            row.machine = machines.get(int(token_id)) if token_id.isdigit() else None

    def to_fhir(self, row: AuditEvent) -> dict:
        return resources.audit_event(row, getattr(row, "machine", None))


ENDPOINTS: dict[str, Endpoint] = {
    endpoint.type: endpoint
    for endpoint in (
        PatientEndpoint(),
        PractitionerEndpoint(),
        PractitionerRoleEndpoint(),
        OrganizationEndpoint(),
        HealthcareServiceEndpoint(),
        CareTeamEndpoint(),
        CarePlanEndpoint(),
        GoalEndpoint(),
        TaskEndpoint(),
        EncounterEndpoint(),
        CommunicationEndpoint(),
        ObservationEndpoint(),
        AuditEventEndpoint(),
    )
}
