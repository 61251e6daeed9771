"""`Patient/{id}/$everything`: the whole record in one go, an export.

Each patient-scoped endpoint gives its rows (one query each, whatever their number), the
goals come out of the care plans, then the practitioners, organisations and merged
records the resources refer to (one query each): a bounded number of queries.
"""

from django.http import HttpRequest
from django.utils import timezone

from pathways.fhir import resources
from pathways.fhir.endpoints import ENDPOINTS, GoalEndpoint, PatientEndpoint
from pathways.models import CarePlan
from patients.access import can_read_access_log, get_patient_for
from patients.models import Patient
from professionals.authentication import machine_token
from professionals.models import Organization, Professional
from tsn.models import AuditEvent


def _references(element: object, found: set[str]) -> set[str]:
    """Every `reference` inside a resource."""
    if isinstance(element, dict):
        for key, value in element.items():
            if key == "reference" and isinstance(value, str):
                found.add(value)
            else:
                _references(value, found)
    elif isinstance(element, list):
        for value in element:
            _references(value, found)
    return found


def _referenced_ids(found: set[str], resource_type: str) -> list[int]:
    return sorted(
        int(value.partition("/")[2]) for value in found if value.startswith(f"{resource_type}/")
    )


def everything(request: HttpRequest, patient_pk: int) -> list[dict]:
    """The patient (first), every resource of their record, and the practitioners,
    organisations and merged records they refer to: a bounded number of queries, whatever
    the record's size. An export: one audit event, of the export action."""
    person = get_patient_for(
        request,
        patient_pk,
        action=AuditEvent.Action.EXPORT,
        object_type="fhir_everything",
    )
    may_read_log = machine_token(request) is None and can_read_access_log(request.user, person)
    return record_resources(person, with_access_log=may_read_log)


def record_resources(person: Patient, *, with_access_log: bool) -> list[dict]:
    """What `everything` returns, for a caller that has itself checked the access and left
    the trace (the portal's "download all my data" archive, built by a task);
    `with_access_log` says whether the audit trail goes in (`can_read_access_log`)."""
    record = person.record_ids()
    found = [resources.patient(person)]
    plans: list[CarePlan] = []
    for endpoint in ENDPOINTS.values():
        if endpoint.patient_path is None or not endpoint.exported:
            continue
        if endpoint.also is not None and not with_access_log:
            continue
        patients = record if endpoint.merged_records else [person.pk]
        queryset = endpoint.rows().filter(**{f"{endpoint.patient_path}__in": patients})
        rows = list(endpoint.narrow(queryset, None).order_by("pk"))
        endpoint.prepare(rows)
        found += endpoint.resources(rows)
        if endpoint.type == "CarePlan":
            plans = rows
    found += GoalEndpoint().export(plans)
    refs: set[str] = set()
    for resource in found:
        _references(resource, refs)
    practitioners = Professional.objects.filter(pk__in=_referenced_ids(refs, "Practitioner"))
    found += [resources.practitioner(professional) for professional in practitioners.order_by("pk")]
    today = timezone.localdate()
    found += [
        resources.organization(org, today)
        for org in Organization.objects.filter(
            pk__in=_referenced_ids(refs, "Organization")
        ).select_related("commune")
    ]
    merged = [pk for pk in record if pk != person.pk]
    if merged:
        found += [
            resources.patient(duplicate)
            for duplicate in PatientEndpoint().rows().filter(pk__in=merged).order_by("pk")
        ]
    return found


def bundle_entry(base: str, resource: dict, mode: str = "match") -> dict:
    return {
        "fullUrl": f"{base}{resource['resourceType']}/{resource['id']}",
        "resource": resource,
        "search": {"mode": mode},
    }


def everything_bundle(base: str, found: list[dict]) -> dict:
    """`$everything`'s Bundle of `found` (the patient first), its addresses under the FHIR
    base `base` (e.g. https://tsn.example/fhir/)."""
    person, *record = found
    return {
        "resourceType": "Bundle",
        "type": "searchset",
        "link": [{"relation": "self", "url": f"{base}Patient/{person['id']}/$everything"}],
        "entry": [
            bundle_entry(base, person),
            *(bundle_entry(base, resource, "include") for resource in record),
        ],
    }
