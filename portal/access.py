"""The portal's way to a record: the patient themself or an authorised caregiver, through
the one access chokepoint (patients/access.py), which also leaves the audit trace."""

from django.http import Http404, HttpRequest

from patients.access import get_patient_for, visible_patients_for
from patients.models import Patient
from tsn.models import User


def portal_patient(request: HttpRequest, pk: int, **access) -> Patient:
    """The record `pk` of the portal's user (404 for any other account or record);
    `access` goes to get_patient_for (object_type, action...)."""
    if request.user.role != User.Role.PATIENT:
        raise Http404
    return get_patient_for(request, pk, **access)


def portal_records(request: HttpRequest) -> list[Patient]:
    """The records the portal's user may open: their own, those they help with."""
    if request.user.role != User.Role.PATIENT:
        raise Http404
    return list(visible_patients_for(request).order_by("birth_last_name", "pk"))
