"""Our models in their FHIR R4 form (JSON-ready dicts), one function per resource type.

Ids are the models' ids (a Goal, which lives inside a care plan version, is
"<care plan id>-<index>"). Identifiers follow FR Core (https://hl7.fr/ig/fhir/core): the
INS only for a qualified identity, with the RNIV identity status beside it; RPPS and
IDNPS for professionals; FINESS and SIRET for organisations. The functions read only
what the caller selected or prefetched: they never query.
"""

import datetime
from collections.abc import Iterable

from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from pathways.models import CarePlan, CarePlanVersion, Step
from patients.models import (
    CareTeamMember,
    LiaisonMessage,
    Observation,
    Patient,
    TimelineEvent,
)
from professionals.models import Organization, PractitionerRole, Professional, SupportService
from tsn.models import AuditEvent, User

FR_CORE = "https://hl7.fr/ig/fhir/core"
IDENTIFIER_TYPE = f"{FR_CORE}/CodeSystem/fr-core-cs-v2-0203"
IDENTITY_RELIABILITY = f"{FR_CORE}/StructureDefinition/fr-core-identity-reliability"
IDENTITY_STATUS = f"{FR_CORE}/CodeSystem/fr-core-cs-identity-status"
BIRTH_LIST_GIVEN_NAME = f"{FR_CORE}/StructureDefinition/fr-core-patient-birth-list-given-name"
INSEE_CODE = f"{FR_CORE}/StructureDefinition/fr-core-address-insee-code"
BIRTH_PLACE = "http://hl7.org/fhir/StructureDefinition/patient-birthPlace"
COMMUNE_CODES = "https://mos.esante.gouv.fr/NOS/TRE_R13-CommuneOM/FHIR/TRE-R13-CommuneOM"
PROFESSIONS = "https://mos.esante.gouv.fr/NOS/TRE_G15-ProfessionSante/FHIR/TRE-G15-ProfessionSante"
SPECIALTIES = (
    "https://mos.esante.gouv.fr/NOS/TRE_R38-SpecialiteOrdinale/FHIR/TRE-R38-SpecialiteOrdinale"
)
FINESS_CATEGORIES = (
    "https://mos.esante.gouv.fr/NOS/TRE_R66-CategorieEtablissement/FHIR/"
    "TRE-R66-CategorieEtablissement"
)

INS_NIR_SYSTEM = "urn:oid:1.2.250.1.213.1.4.8"
RPPS_SYSTEM = "https://rpps.esante.gouv.fr"
IDNPS_SYSTEM = "urn:oid:1.2.250.1.71.4.2.1"
FINESS_SYSTEM = "https://finess.esante.gouv.fr"
SIRET_SYSTEM = "https://sirene.fr"

LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
ACT_REASON = "http://terminology.hl7.org/CodeSystem/v3-ActReason"
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
GOAL_ACHIEVEMENT = "http://terminology.hl7.org/CodeSystem/goal-achievement"
DICOM = "http://dicom.nema.org/resources/ontology/DCM"
AUDIT_ENTITY_TYPE = "http://terminology.hl7.org/CodeSystem/audit-entity-type"
OBJECT_ROLE = "http://terminology.hl7.org/CodeSystem/object-role"

# RNIV identity statuses (FR Core CodeSystem fr-core-cs-identity-status).
IDENTITY_STATUS_CODES = {
    Patient.IdentityStatus.PROVISIONAL: ("PROV", "Identité provisoire"),
    Patient.IdentityStatus.RETRIEVED: ("RECUP", "Identité récupérée"),
    Patient.IdentityStatus.VALIDATED: ("VALI", "Identité validée"),
    Patient.IdentityStatus.QUALIFIED: ("QUAL", "Identité qualifiée"),
}
GENDERS = {"F": "female", "M": "male", "I": "other"}

# Remote-monitoring measurements: LOINC codes, and the category of each.
OBSERVATION_CODES = {
    Observation.Kind.WEIGHT: [("29463-7", "Body weight")],
    Observation.Kind.SYSTOLIC_BP: [("8480-6", "Systolic blood pressure")],
    Observation.Kind.DIASTOLIC_BP: [("8462-4", "Diastolic blood pressure")],
    Observation.Kind.HEART_RATE: [("8867-4", "Heart rate")],
    Observation.Kind.SPO2: [
        ("59408-5", "Oxygen saturation in Arterial blood by Pulse oximetry"),
        ("2708-6", "Oxygen saturation in Arterial blood"),
    ],
    # Stored in mmol/L: the molar LOINC code, not 2339-0 (mass per volume).
    Observation.Kind.GLUCOSE: [("15074-8", "Glucose [Moles/volume] in Blood")],
}
# A capillary glucose is a (point-of-care) laboratory result, not a vital sign.
LABORATORY_KINDS = (Observation.Kind.GLUCOSE,)

# Timeline events that are encounters, and their class (v3 ActCode).
ENCOUNTER_CLASSES = {
    TimelineEvent.Kind.HOSPITAL_ADMISSION: ("IMP", "inpatient encounter"),
    TimelineEvent.Kind.HOSPITAL_TRANSFER: ("IMP", "inpatient encounter"),
    TimelineEvent.Kind.HOSPITAL_DISCHARGE: ("IMP", "inpatient encounter"),
    TimelineEvent.Kind.EMERGENCY_VISIT: ("EMER", "emergency"),
    TimelineEvent.Kind.CONSULTATION: ("AMB", "ambulatory"),
    TimelineEvent.Kind.HOME_VISIT: ("HH", "home health"),
}
# An admission or a transfer says when a stay began, not whether it has ended.
ENCOUNTERS_OF_UNKNOWN_END = (
    TimelineEvent.Kind.HOSPITAL_ADMISSION,
    TimelineEvent.Kind.HOSPITAL_TRANSFER,
)

TASK_STATUSES = {
    Step.Status.PLANNED: "requested",
    Step.Status.SCHEDULED: "accepted",
    Step.Status.DONE: "completed",
    Step.Status.SKIPPED: "cancelled",
}
# Care plan goal status -> (Goal.lifecycleStatus, Goal.achievementStatus code or None).
GOAL_STATUSES = {
    CarePlanVersion.GoalStatus.PLANNED: ("planned", None),
    CarePlanVersion.GoalStatus.IN_PROGRESS: ("active", "in-progress"),
    CarePlanVersion.GoalStatus.ACHIEVED: ("completed", "achieved"),
    CarePlanVersion.GoalStatus.NOT_ACHIEVED: ("active", "not-achieved"),
}
AUDIT_ACTIONS = {
    AuditEvent.Action.CREATE: "C",
    AuditEvent.Action.READ: "R",
    AuditEvent.Action.UPDATE: "U",
    AuditEvent.Action.DELETE: "D",
    AuditEvent.Action.EXPORT: "R",  # R4 has no export action: a read, typed "Export"
}


# --- Datatypes -------------------------------------------------------------------------------


def ref(resource_type: str, pk: object, display: object = None) -> dict:
    reference = {"reference": f"{resource_type}/{pk}"}
    if display:
        reference["display"] = str(display)
    return reference


def _instant(moment: datetime.datetime) -> str:
    return timezone.localtime(moment).isoformat()


def _day(day: datetime.date) -> str:
    """A date in a French text (notes), e.g. 01/03/2027."""
    return date_format(day, "SHORT_DATE_FORMAT")


def _coding(system: str, code: str, display: str | None = None) -> dict:
    coding = {"system": system, "code": code}
    if display:
        coding["display"] = display
    return coding


def _identifier(system: str, value: str, type_code: str, type_display: str) -> dict:
    return {
        "use": "official",
        "type": {"coding": [_coding(IDENTIFIER_TYPE, type_code, type_display)]},
        "system": system,
        "value": value,
    }


def _telecom(phone: str = "", email: str = "", use: str | None = None) -> list[dict]:
    points = []
    if phone:
        points.append({"system": "phone", "value": phone})
    if email:
        points.append({"system": "email", "value": email})
    if use:
        for point in points:
            point["use"] = use
    return points


def _address(line: str, postcode: str, commune, use: str | None = None) -> list[dict]:
    address: dict = {}
    if use:
        address["use"] = use
    if line:
        address["line"] = [line]
    if postcode:
        address["postalCode"] = postcode
    if commune is not None:
        address["city"] = commune.name
        address["extension"] = [
            {"url": INSEE_CODE, "valueCoding": _coding(COMMUNE_CODES, commune.insee_code)}
        ]
    if not (line or postcode or commune is not None):
        return []
    address["country"] = "FRA"
    return [address]


def _period(start: datetime.date | None, end: datetime.date | None) -> dict:
    period = {}
    if start:
        period["start"] = start.isoformat()
    if end:
        period["end"] = end.isoformat()
    return period


def _practitioner_ref(professional: Professional | None) -> dict | None:
    return ref("Practitioner", professional.pk, professional) if professional else None


def _user_ref(user: User) -> dict:
    """A person of the platform: their Practitioner when they are a professional."""
    professional = getattr(user, "professional", None)
    if professional is not None:
        return ref("Practitioner", professional.pk, professional)
    return {"display": str(user)}


def _compact(resource: dict) -> dict:
    """Without the empty elements (FHIR forbids empty arrays, objects and strings)."""
    return {key: value for key, value in resource.items() if value not in (None, "", [], {})}


# --- Directory -------------------------------------------------------------------------------


def practitioner(professional: Professional) -> dict:
    identifiers = []
    if professional.rpps:
        identifiers = [
            _identifier(RPPS_SYSTEM, professional.rpps, "RPPS", "N° RPPS"),
            _identifier(
                IDNPS_SYSTEM,
                professional.idnps,
                "IDNPS",
                "Identifiant National de Professionnel de Santé",
            ),
        ]
    profession = {"text": professional.get_profession_display()}
    if professional.profession_code:
        profession["coding"] = [_coding(PROFESSIONS, professional.profession_code)]
    qualifications = [{"code": profession}]
    if professional.specialty:
        specialty = {"text": professional.specialty}
        if professional.specialty_code.startswith("SM"):
            specialty["coding"] = [_coding(SPECIALTIES, professional.specialty_code)]
        qualifications.append({"code": specialty})
    return _compact(
        {
            "resourceType": "Practitioner",
            "id": str(professional.pk),
            "identifier": identifiers,
            "active": True,
            "name": [
                _compact(
                    {
                        "use": "official",
                        "family": professional.last_name,
                        "given": [professional.first_name] if professional.first_name else [],
                    }
                )
            ],
            "telecom": _telecom(professional.phone, professional.mssante_address, "work"),
            "qualification": qualifications,
        }
    )


def practitioner_role(role: PractitionerRole, today: datetime.date) -> dict:
    in_effect = role.start <= today and (role.end is None or role.end > today)
    organization = role.organization
    return _compact(
        {
            "resourceType": "PractitionerRole",
            "id": str(role.pk),
            "active": in_effect,
            "period": _period(role.start, role.end),
            "practitioner": _practitioner_ref(role.professional),
            "organization": ref("Organization", organization.pk, organization)
            if organization
            else None,
            "code": [{"text": role.function}] if role.function else [],
            "telecom": _telecom(role.phone, role.email, "work"),
        }
    )


def organization(org: Organization, today: datetime.date) -> dict:
    identifiers = []
    if org.finess:
        identifiers.append(
            _identifier(FINESS_SYSTEM, org.finess, "FINEG", "FINESS d'entité géographique")
        )
    if org.siret:
        identifiers.append(
            _identifier(
                SIRET_SYSTEM, org.siret, "SIRET", "Identification de l'organisation au SIRET"
            )
        )
    types = [{"text": org.get_kind_display()}]
    if org.category_code:
        types.append(
            {"coding": [_coding(FINESS_CATEGORIES, org.category_code, org.category or None)]}
        )
    return _compact(
        {
            "resourceType": "Organization",
            "id": str(org.pk),
            "identifier": identifiers,
            "active": org.closed_on is None or org.closed_on > today,
            "type": types,
            "name": org.name,
            "telecom": _telecom(org.phone, org.mssante_address, "work"),
            "address": _address(org.address, org.postcode, org.commune, "work"),
        }
    )


def healthcare_service(service: SupportService) -> dict:
    details = []
    if service.capacity is not None:
        details.append(_("Capacité : %(capacity)d.") % {"capacity": service.capacity})
    if service.waiting_days is not None:
        details.append(_("Délai d'attente : %(days)d jours.") % {"days": service.waiting_days})
    return _compact(
        {
            "resourceType": "HealthcareService",
            "id": str(service.pk),
            "active": True,
            "providedBy": ref("Organization", service.organization_id, service.organization),
            "category": [{"text": service.get_category_display()}],
            "name": service.name,
            "comment": service.description,
            "eligibility": [{"comment": service.eligibility}] if service.eligibility else [],
            "extraDetails": " ".join(details),
        }
    )


# --- The patient ----------------------------------------------------------------------------


def patient(person: Patient) -> dict:
    """The patient (reads `gp`, `commune` and `merged_records`: select and prefetch them)."""
    code, display = IDENTITY_STATUS_CODES[Patient.IdentityStatus(person.identity_status)]
    extensions = [
        {
            "url": IDENTITY_RELIABILITY,
            "extension": [
                {"url": "identityStatus", "valueCoding": _coding(IDENTITY_STATUS, code, display)}
            ],
        }
    ]
    if person.birth_place_insee:
        # Born abroad: "99" and the country's code, outside the communes' code system.
        place = person.birth_place_insee
        coding = {"code": place} if place.startswith("99") else _coding(COMMUNE_CODES, place)
        extensions.append(
            {
                "url": BIRTH_PLACE,
                "valueAddress": {"extension": [{"url": INSEE_CODE, "valueCoding": coding}]},
            }
        )
    identifiers = []
    if person.ins:  # qualified identities only
        identifiers.append(_identifier(INS_NIR_SYSTEM, person.ins, "INS-NIR", "NIR définitif"))
    given = person.first_names.split()
    names = [
        {
            "extension": [{"url": BIRTH_LIST_GIVEN_NAME, "valueString": person.first_names}],
            "use": "official",
            "family": person.birth_last_name,
            "given": given,
        }
    ]
    if person.used_last_name or person.used_first_name:
        names.append(
            {
                "use": "usual",
                "family": person.display_last_name,
                "given": [person.display_first_name],
            }
        )
    links = [
        {"other": ref("Patient", merged.pk), "type": "replaces"}
        for merged in person.merged_records.all()
    ]
    if person.merged_into_id:
        links.append({"other": ref("Patient", person.merged_into_id), "type": "replaced-by"})
    return _compact(
        {
            "resourceType": "Patient",
            "id": str(person.pk),
            "extension": extensions,
            "identifier": identifiers,
            "active": person.merged_into_id is None,
            "name": names,
            "telecom": _telecom(person.phone, person.email, "home"),
            "gender": GENDERS[person.sex],
            "birthDate": person.birth_date.isoformat(),
            "address": _address(person.address, person.postcode, person.commune, "home"),
            "generalPractitioner": [_practitioner_ref(person.gp)] if person.gp else [],
            "link": links,
        }
    )


def care_team(person: Patient, members: Iterable[CareTeamMember]) -> dict:
    """The patient's care team, ended memberships included (their period says so)."""
    participants = [
        _compact(
            {
                "role": [{"text": member.get_role_display()}],
                "member": _practitioner_ref(member.professional),
                "period": _period(member.start, member.end),
            }
        )
        for member in members
    ]
    return _compact(
        {
            "resourceType": "CareTeam",
            "id": str(person.pk),
            "status": "active",
            "name": _("Équipe de soins"),
            "subject": ref("Patient", person.pk),
            "participant": participants,
        }
    )


def care_plan(plan: CarePlan, version: CarePlanVersion) -> dict:
    """The current version of the PPCS: its referent is the author, its writer a
    contributor; needs, preferences, review date and validation are notes."""
    domains = dict(CarePlanVersion.Domain.choices)
    kinds = dict(CarePlanVersion.ActionKind.choices)
    notes = [
        {"text": f"{domains.get(domain, domain)} : {text}"}
        for domain, text in version.needs.items()
    ]
    if version.preferences:
        notes.append(
            {"text": _("Préférences du patient : %(text)s") % {"text": version.preferences}}
        )
    if version.next_review_on:
        notes.append(
            {"text": _("Prochaine révision : %(date)s") % {"date": _day(version.next_review_on)}}
        )
    if version.validated_by_id:
        notes.append(
            {
                "text": _("Validé par %(name)s le %(date)s")
                % {
                    "name": version.validated_by,
                    "date": _day(timezone.localdate(version.validated_at)),
                },
            }
        )
    activities = []
    for action in version.actions:
        detail = {
            "code": {"text": str(kinds.get(action["kind"], action["kind"]))},
            "status": "unknown",
            "description": action["text"],
        }
        if action.get("owner"):
            detail["performer"] = [ref("Practitioner", action["owner"], action.get("owner_name"))]
        if action.get("due_on"):
            detail["scheduledPeriod"] = {"end": action["due_on"]}
        activities.append({"detail": detail})
    return _compact(
        {
            "resourceType": "CarePlan",
            "id": str(plan.pk),
            "status": "active",
            "intent": "plan",
            "title": _("Plan personnalisé de coordination en santé, version %(number)d")
            % {"number": version.number},
            "description": version.general_information,
            "subject": ref("Patient", plan.patient_id),
            "period": {"start": _instant(version.created_at)},
            "created": _instant(version.created_at),
            "author": _practitioner_ref(version.referent),
            "contributor": [_user_ref(version.author)],
            "careTeam": [ref("CareTeam", plan.patient_id)],
            "goal": [ref("Goal", goal_id(plan, index)) for index in range(len(version.goals))],
            "activity": activities,
            "note": notes,
        }
    )


def goal_id(plan: CarePlan, index: int) -> str:
    return f"{plan.pk}-{index}"


def goal(plan: CarePlan, version: CarePlanVersion, index: int) -> dict:
    """One goal of the current version (its id follows its place in the version)."""
    content = version.goals[index]
    lifecycle, achievement = GOAL_STATUSES.get(content["status"], ("proposed", None))
    notes = []
    if content.get("target"):
        notes.append({"text": _("Cible : %(target)s") % {"target": content["target"]}})
    if content.get("comment"):
        notes.append({"text": content["comment"]})
    return _compact(
        {
            "resourceType": "Goal",
            "id": goal_id(plan, index),
            "lifecycleStatus": lifecycle,
            "achievementStatus": {"coding": [_coding(GOAL_ACHIEVEMENT, achievement)]}
            if achievement
            else None,
            "description": {"text": content["text"]},
            "subject": ref("Patient", plan.patient_id),
            "statusDate": timezone.localdate(version.created_at).isoformat(),
            "note": notes,
        }
    )


def task(step: Step) -> dict:
    """A pathway step (reads `template_step`, `pathway__template`, `assignee`)."""
    pathway = step.pathway
    execution = {}
    if step.scheduled_at:
        execution["start"] = _instant(step.scheduled_at)
    if step.done_at:
        execution["end"] = _instant(step.done_at)
    skipped = step.status == Step.Status.SKIPPED
    return _compact(
        {
            "resourceType": "Task",
            "id": str(step.pk),
            "status": TASK_STATUSES[step.status],
            "statusReason": {"text": step.outcome} if skipped and step.outcome else None,
            "businessStatus": {"text": step.get_status_display()},
            "intent": "plan",
            "code": {"text": pathway.template.name},
            "description": step.template_step.name,
            "for": ref("Patient", pathway.patient_id),
            "executionPeriod": execution,
            "owner": _practitioner_ref(step.assignee),
            "restriction": {"period": {"end": step.due_on.isoformat()}} if step.due_on else None,
            "note": [{"text": step.outcome}] if step.outcome and not skipped else [],
        }
    )


def encounter(event: TimelineEvent, *, entered_in_error: bool) -> dict:
    """A timeline event that is an encounter. One marked "entered in error" by a later
    event keeps its content and says so by its status."""
    code, display = ENCOUNTER_CLASSES[event.kind]
    if entered_in_error:
        status = "entered-in-error"
    elif event.kind in ENCOUNTERS_OF_UNKNOWN_END:
        status = "unknown"
    else:
        status = "finished"
    moment = _instant(event.occurred_at)
    ends = event.kind == TimelineEvent.Kind.HOSPITAL_DISCHARGE
    return _compact(
        {
            "resourceType": "Encounter",
            "id": str(event.pk),
            "status": status,
            "class": _coding(ACT_CODE, code, display),
            "type": [{"text": event.title}] if event.title else [],
            "subject": ref("Patient", event.patient_id),
            "participant": [{"individual": _practitioner_ref(event.author)}]
            if event.author
            else [],
            "period": {"end": moment} if ends else {"start": moment},
            "serviceProvider": ref("Organization", event.organization_id, event.organization)
            if event.organization_id
            else None,
        }
    )


def communication(message: LiaisonMessage) -> dict:
    """A message of the liaison notebook (reads `author__professional` and `mentions`)."""
    return _compact(
        {
            "resourceType": "Communication",
            "id": str(message.pk),
            "status": "completed",
            "category": [{"text": _("Cahier de liaison")}],
            "subject": ref("Patient", message.patient_id),
            "sent": _instant(message.sent_at),
            "recipient": [_user_ref(user) for user in message.mentions.all()],
            "sender": _user_ref(message.author),
            "payload": [{"contentString": message.body}],
        }
    )


def observation(measurement: Observation) -> dict:
    category = "laboratory" if measurement.kind in LABORATORY_KINDS else "vital-signs"
    return _compact(
        {
            "resourceType": "Observation",
            "id": str(measurement.pk),
            "status": "final",
            "category": [{"coding": [_coding(OBSERVATION_CATEGORY, category)]}],
            "code": {
                "coding": [
                    _coding(LOINC, code, display)
                    for code, display in OBSERVATION_CODES[measurement.kind]
                ],
                "text": measurement.get_kind_display(),
            },
            "subject": ref("Patient", measurement.patient_id),
            "effectiveDateTime": _instant(measurement.measured_at),
            "issued": _instant(measurement.recorded_at),
            "performer": [
                ref("Organization", measurement.organization_id, measurement.organization)
            ]
            if measurement.organization_id
            else [],
            "valueQuantity": {
                "value": float(measurement.value),
                "unit": measurement.unit,
                "system": UCUM,
                "code": measurement.unit,
            },
            "device": {"display": measurement.device} if measurement.device else None,
        }
    )


def audit_event(event: AuditEvent, machine: Organization | None = None) -> dict:
    """One access to the patient's record (reads `actor__professional`); `machine` is the
    organisation whose token made the request, if one did."""
    export = event.action == AuditEvent.Action.EXPORT
    agent: dict = {"requestor": True}
    if event.actor is not None:
        agent["who"] = _user_ref(event.actor)
        agent["name"] = str(event.actor)
    elif machine is not None:
        agent["who"] = ref("Organization", machine.pk, machine)
        agent["name"] = machine.name
    if event.actor_role:
        agent["role"] = [{"text": event.get_actor_role_display()}]
    if event.client_ip:
        agent["network"] = {"address": event.client_ip, "type": "2"}
    if event.break_glass_reason:
        agent["purposeOfUse"] = [
            {
                "coding": [_coding(ACT_REASON, "BTG", "break the glass")],
                "text": event.break_glass_reason,
            }
        ]
    denied = event.outcome == AuditEvent.Outcome.DENIED
    accessed: dict = {
        "type": _coding(AUDIT_ENTITY_TYPE, "2", "System Object"),
        "name": event.object_type,
    }
    if event.object_id:
        accessed["what"] = {"identifier": {"value": event.object_id}}
    return _compact(
        {
            "resourceType": "AuditEvent",
            "id": str(event.pk),
            "type": _coding(DICOM, "110106", "Export")
            if export
            else _coding(DICOM, "110110", "Patient Record"),
            "subtype": [{"code": event.object_type}],
            "action": AUDIT_ACTIONS[AuditEvent.Action(event.action)],
            "recorded": _instant(event.occurred_at),
            "outcome": "4" if denied else "0",
            "outcomeDesc": str(AuditEvent.Outcome(event.outcome).label),
            "agent": [agent],
            "source": {"observer": {"display": "TSN"}},
            "entity": [
                {
                    "what": ref("Patient", event.patient_id),
                    "type": _coding(AUDIT_ENTITY_TYPE, "1", "Person"),
                    "role": _coding(OBJECT_ROLE, "1", "Patient"),
                },
                accessed,
            ],
        }
    )
