"""Invitations to the portal (README, "Portal for patients and caregivers"): a referent
coordinator invites the patient, or one of their caregivers, by e-mail, from a section of
the care team page, and sets until when a caregiver may see the record; the link, valid
`TSN_INVITATION_VALID_DAYS` and once, opens a portal account when whoever follows it
confirms the patient's birth date (portal/invitation_link.py).

Only the SHA-256 of a link's key is stored, as for API tokens.
"""

import datetime
import secrets

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models import Case, QuerySet, Value, When
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from patients.access import can_invite_to_portal, get_patient_for
from patients.models import Caregiver, Patient
from portal.mail import send_invitation_task
from portal.models import PortalInvitation
from tsn.models import SecretToken, User
from tsn.widgets import DateInput

# Wrong birth dates typed on one link before it is spent.
MAX_FAILED_ATTEMPTS = 5
AUDIT_OBJECT = "portal_invitation"


class State(models.TextChoices):
    PENDING = "pending", gettext_lazy("en attente")
    USED = "used", gettext_lazy("utilisée")
    REVOKED = "revoked", gettext_lazy("annulée")
    SPENT = "spent", gettext_lazy("bloquée (trop d'essais)")
    EXPIRED = "expired", gettext_lazy("expirée")


# --- Services ------------------------------------------------------------------------------


def with_state(invitations: QuerySet[PortalInvitation], now: datetime.datetime) -> QuerySet:
    """The invitations annotated with their `state` (a State value), in the database."""
    return invitations.annotate(
        state=Case(
            When(used_at__isnull=False, then=Value(State.USED)),
            When(revoked_at__isnull=False, then=Value(State.REVOKED)),
            When(failed_attempts__gte=MAX_FAILED_ATTEMPTS, then=Value(State.SPENT)),
            When(expires_at__lte=now, then=Value(State.EXPIRED)),
            default=Value(State.PENDING),
            output_field=models.CharField(),
        )
    )


def pending(invitations: QuerySet[PortalInvitation]) -> QuerySet[PortalInvitation]:
    return invitations.filter(used_at__isnull=True, revoked_at__isnull=True)


def _usable(invitation: PortalInvitation, now: datetime.datetime) -> bool:
    """Whether the link still opens an account (the invitation, its patient and caregiver
    freshly read)."""
    caregiver = invitation.caregiver
    if caregiver is None:
        person_without_account = invitation.patient.user_id is None
    else:
        access_ended = caregiver.access_until is not None and caregiver.access_until < (
            timezone.localdate(now)
        )
        person_without_account = caregiver.user_id is None and not access_ended
    return (
        invitation.used_at is None
        and invitation.revoked_at is None
        and invitation.expires_at > now
        and invitation.failed_attempts < MAX_FAILED_ATTEMPTS
        and invitation.patient.merged_into_id is None
        and person_without_account
    )


def usable_invitation(key: str, *, lock: bool = False) -> PortalInvitation | None:
    """The invitation of this link's key if it may still be used, else None (`lock`: its
    row locked until the transaction ends, so that one link opens one account)."""
    invitations = PortalInvitation.objects.select_related("patient", "caregiver")
    if lock:
        invitations = invitations.select_for_update(of=("self",))
    invitation = invitations.filter(key_hash=SecretToken.hash(key)).first()
    if invitation is None or not _usable(invitation, timezone.now()):
        return None
    return invitation


def _check_access_until(access_until: datetime.date | None) -> None:
    if access_until is None or access_until < timezone.localdate():
        raise ValidationError(
            _(
                "Indiquez jusqu'à quand l'aidant pourra consulter le dossier (aujourd'hui au "
                "plus tôt)."
            ),
            code="access_until",
        )


@transaction.atomic
def invite_to_portal(
    *,
    patient: Patient,
    email: str,
    invited_by: User,
    caregiver: Caregiver | None = None,
    access_until: datetime.date | None = None,
) -> PortalInvitation:
    """Invite the patient, or one of their caregivers (whose access to the record ends on
    `access_until`), to open a portal account; the e-mail leaves once committed, and the
    person's earlier pending links stop working."""
    if patient.merged_into_id is not None:
        raise ValidationError(_("Ce dossier a été fusionné dans un autre."), code="merged")
    if caregiver is None:
        if patient.user_id is not None:
            raise ValidationError(
                _("Le patient a déjà un compte sur le portail."), code="has_account"
            )
    else:
        if caregiver.patient_id != patient.pk:
            raise ValueError("The caregiver is not this patient's")
        if caregiver.user_id is not None:
            raise ValidationError(
                _("Cet aidant a déjà un compte sur le portail."), code="has_account"
            )
        _check_access_until(access_until)
        if caregiver.access_until != access_until:
            caregiver.access_until = access_until
            caregiver.save(update_fields=["access_until", "updated_at"])
    now = timezone.now()
    pending(PortalInvitation.objects.filter(patient=patient, caregiver=caregiver)).update(
        revoked_at=now
    )
    key = secrets.token_urlsafe(32)
    invitation = PortalInvitation.objects.create(
        patient=patient,
        caregiver=caregiver,
        email=email,
        key_hash=SecretToken.hash(key),
        created_by=invited_by,
        created_at=now,
        expires_at=now + datetime.timedelta(days=settings.TSN_INVITATION_VALID_DAYS),
    )
    send_invitation_task.apply_async_on_commit(
        args=(invitation.pk, key), argsrepr=f"({invitation.pk}, '…')"
    )
    return invitation


def revoke_invitation(*, invitation: PortalInvitation) -> bool:
    """Stop a pending link from working; False if it was used or revoked meanwhile."""
    return bool(
        pending(PortalInvitation.objects.filter(pk=invitation.pk)).update(revoked_at=timezone.now())
    )


def set_caregiver_access(*, caregiver: Caregiver, access_until: datetime.date | None) -> None:
    """Until when a caregiver who has a portal account sees the record: a later date gives
    an ended access back (no new invitation: they keep their account); None ends it now."""
    if caregiver.user_id is None:
        raise ValueError("The caregiver has no portal account: invite them")
    if access_until is None:
        access_until = timezone.localdate() - datetime.timedelta(days=1)
    else:
        _check_access_until(access_until)
    caregiver.access_until = access_until
    caregiver.save(update_fields=["access_until", "updated_at"])


# --- Forms ---------------------------------------------------------------------------------


def date_input() -> DateInput:
    return DateInput(attrs={"class": "form-control"})


def email_input(**attrs: object) -> forms.EmailInput:
    return forms.EmailInput(attrs={"class": "form-control", "autocomplete": "off", **attrs})


class PatientInvitationForm(forms.Form):
    email = forms.EmailField(label=gettext_lazy("Adresse e-mail du patient"), widget=email_input())


class CaregiverAccessForm(forms.Form):
    """Until when a caregiver with a portal account sees the record."""

    access_until = forms.DateField(
        label=gettext_lazy("Accès au dossier jusqu'au"),
        help_text=gettext_lazy("Après cette date, l'aidant ne voit plus le dossier."),
        widget=date_input(),
    )


class CaregiverInvitationForm(CaregiverAccessForm):
    email = forms.EmailField(label=gettext_lazy("Adresse e-mail de l'aidant"), widget=email_input())
    field_order = ["email", "access_until"]


# --- The coordinator's side: a section of the care team page -------------------------------


def _patient_for_invitations(request: HttpRequest, pk: int, object_id: int | str = "") -> Patient:
    """The patient if the user is one of their referent coordinators (with write access for
    a POST); 404 or 403 otherwise, and the audit trace either way."""
    return get_patient_for(
        request,
        pk,
        write=request.method == "POST",
        also=can_invite_to_portal,
        object_type=AUDIT_OBJECT,
        object_id=object_id,
    )


def _not_post(request: HttpRequest) -> HttpResponse | None:
    """405 for anything but POST, once the access check has run (outsiders get their 404)."""
    if request.method != "POST":
        return HttpResponse(status=405, headers={"Allow": "POST"})
    return None


def _back_to_team(patient: Patient) -> HttpResponse:
    return redirect(reverse("patients:care_team", kwargs={"pk": patient.pk}) + "#invitations")


def _caregiver_form(caregiver: Caregiver, data=None) -> CaregiverAccessForm:
    """The invitation form of a caregiver without a portal account, the form of their
    access's end date for one who has an account."""
    form_class = CaregiverInvitationForm if caregiver.user_id is None else CaregiverAccessForm
    return form_class(
        data,
        prefix=f"aidant-{caregiver.pk}",
        initial={"email": caregiver.email, "access_until": caregiver.access_until},
    )


def _render_invitations(
    request: HttpRequest,
    patient: Patient,
    *,
    status: int = 200,
    patient_form: PatientInvitationForm | None = None,
    caregiver_form: tuple[int, CaregiverAccessForm] | None = None,
) -> HttpResponse:
    invitations = list(
        with_state(PortalInvitation.objects.filter(patient=patient), timezone.now())
        .select_related("caregiver", "created_by")
        .order_by("-created_at", "-pk")
    )
    for invitation in invitations:
        invitation.state_label = State(invitation.state).label
    caregivers = [
        (
            caregiver,
            caregiver_form[1]
            if caregiver_form and caregiver_form[0] == caregiver.pk
            else _caregiver_form(caregiver),
        )
        for caregiver in patient.caregivers.order_by("last_name", "first_name", "pk")
    ]
    context = {
        "patient": patient,
        "invitations": invitations,
        "caregivers": caregivers,
        "patient_form": patient_form
        or PatientInvitationForm(prefix="patient", initial={"email": patient.email}),
        "valid_days": settings.TSN_INVITATION_VALID_DAYS,
        "today": timezone.localdate(),
    }
    # The care team page loads the section (htmx); without JavaScript, or with a form's
    # errors, it is a page of its own.
    template = "portal/invitations.html#section" if request.htmx else "portal/invitations.html"
    return render(request, template, context, status=status)


def invitations(request: HttpRequest, pk: int) -> HttpResponse:
    """The patient's invitations (sent to, when, until, state) and the forms to invite."""
    patient = _patient_for_invitations(request, pk)
    return _render_invitations(request, patient)


def invite_patient(request: HttpRequest, pk: int) -> HttpResponse:
    patient = _patient_for_invitations(request, pk)
    if refused := _not_post(request):
        return refused
    form = PatientInvitationForm(request.POST, prefix="patient")
    if form.is_valid():
        try:
            invite_to_portal(
                patient=patient, email=form.cleaned_data["email"], invited_by=request.user
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, _("Invitation au portail envoyée au patient."))
            return _back_to_team(patient)
    return _render_invitations(request, patient, status=400, patient_form=form)


def invite_caregiver(request: HttpRequest, pk: int, caregiver_pk: int) -> HttpResponse:
    patient = _patient_for_invitations(request, pk, object_id=f"caregiver:{caregiver_pk}")
    if refused := _not_post(request):
        return refused
    caregiver = get_object_or_404(patient.caregivers, pk=caregiver_pk, user=None)
    form = _caregiver_form(caregiver, request.POST)
    if form.is_valid():
        try:
            invite_to_portal(
                patient=patient,
                caregiver=caregiver,
                email=form.cleaned_data["email"],
                access_until=form.cleaned_data["access_until"],
                invited_by=request.user,
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(
                request,
                _("Invitation au portail envoyée à %(name)s.") % {"name": caregiver},
            )
            return _back_to_team(patient)
    return _render_invitations(request, patient, status=400, caregiver_form=(caregiver.pk, form))


def caregiver_access(request: HttpRequest, pk: int, caregiver_pk: int) -> HttpResponse:
    """A caregiver with a portal account: their access's end date changed, or ended now."""
    patient = _patient_for_invitations(request, pk, object_id=f"caregiver:{caregiver_pk}")
    if refused := _not_post(request):
        return refused
    caregiver = get_object_or_404(patient.caregivers.exclude(user=None), pk=caregiver_pk)
    if "end" in request.POST:
        set_caregiver_access(caregiver=caregiver, access_until=None)
        messages.success(
            request, _("%(name)s ne peut plus consulter le dossier.") % {"name": caregiver}
        )
        return _back_to_team(patient)
    form = _caregiver_form(caregiver, request.POST)
    if form.is_valid():
        try:
            set_caregiver_access(
                caregiver=caregiver, access_until=form.cleaned_data["access_until"]
            )
        except ValidationError as error:
            form.add_error("access_until", error)
        else:
            messages.success(
                request,
                _("%(name)s peut consulter le dossier jusqu'au %(date)s.")
                % {
                    "name": caregiver,
                    "date": date_format(caregiver.access_until, "SHORT_DATE_FORMAT"),
                },
            )
            return _back_to_team(patient)
    return _render_invitations(request, patient, status=400, caregiver_form=(caregiver.pk, form))


def revoke(request: HttpRequest, pk: int, invitation_pk: int) -> HttpResponse:
    patient = _patient_for_invitations(request, pk, object_id=invitation_pk)
    if refused := _not_post(request):
        return refused
    invitation = get_object_or_404(PortalInvitation, patient=patient, pk=invitation_pk)
    if revoke_invitation(invitation=invitation):
        messages.success(request, _("Invitation annulée : son lien ne fonctionne plus."))
    else:
        messages.info(request, _("Cette invitation n'était plus en attente."))
    return _back_to_team(patient)
