"""Invitations to the portal (README, "Portal for patients and caregivers"): a referent
coordinator invites the patient, or one of their caregivers, by e-mail; the link, valid
`TSN_INVITATION_VALID_DAYS` and once, opens a portal account when whoever follows it
confirms the patient's birth date.

Only the SHA-256 of a link's key is stored, as for API tokens. A link that cannot be used
(unknown, expired, used, revoked, spent by `MAX_FAILED_ATTEMPTS` wrong birth dates, or
whose person has an account meanwhile) answers one and the same page, and no page of a
link names the patient.

An address that already has an account never gets a new password from a link: its owner
signs in first, then follows the link again, and the invitation is attached to that
account (a patient or caregiver account only: a professional's address is refused).
"""

import datetime
import secrets

from allauth.core import ratelimit
from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login, password_validation
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models import Case, QuerySet, Value, When
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from patients.access import can_invite_to_portal, get_patient_for
from patients.models import Caregiver, Patient
from portal.mail import send_invitation_task
from portal.models import PortalInvitation
from tsn.audit import record_access
from tsn.models import AuditEvent, SecretToken, User

# Wrong birth dates typed on one link before it is spent.
MAX_FAILED_ATTEMPTS = 5
AUDIT_OBJECT = "portal_invitation"
# The rate of the views an e-mailed key leads to (allauth's ACCOUNT_RATE_LIMITS, default
# 20 per minute and address): the portal's links share it with password resets.
RATE_LIMIT_ACTION = "reset_password_from_key"
LOGIN_BACKEND = "allauth.account.auth_backends.AuthenticationBackend"

ACCOUNT_EXISTS = gettext_lazy(
    "Un compte existe déjà pour cette adresse e-mail : connectez-vous, puis ouvrez de "
    "nouveau le lien de l'invitation."
)
NOT_A_PORTAL_ADDRESS = gettext_lazy(
    "Cette adresse e-mail ne peut pas ouvrir un accès au portail : demandez à l'équipe de "
    "coordination une invitation à une autre adresse."
)


class State(models.TextChoices):
    PENDING = "pending", gettext_lazy("en attente")
    USED = "used", gettext_lazy("utilisée")
    REVOKED = "revoked", gettext_lazy("annulée")
    SPENT = "spent", gettext_lazy("bloquée (trop d'essais)")
    EXPIRED = "expired", gettext_lazy("expirée")


class InvalidInvitation(Exception):
    """The link cannot be used (whatever the reason: the same answer for all)."""


class WrongBirthDate(Exception):
    """The birth date typed is not the patient's (counted; `spent` once too many)."""

    def __init__(self, *, spent: bool) -> None:
        super().__init__()
        self.spent = spent


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


def _pending(invitations: QuerySet[PortalInvitation]) -> QuerySet[PortalInvitation]:
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
        if access_until is None or access_until < timezone.localdate():
            raise ValidationError(
                _(
                    "Indiquez jusqu'à quand l'aidant pourra consulter le dossier (aujourd'hui "
                    "au plus tôt)."
                ),
                code="access_until",
            )
        if caregiver.access_until != access_until:
            caregiver.access_until = access_until
            caregiver.save(update_fields=["access_until", "updated_at"])
    now = timezone.now()
    _pending(PortalInvitation.objects.filter(patient=patient, caregiver=caregiver)).update(
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
        _pending(PortalInvitation.objects.filter(pk=invitation.pk)).update(
            revoked_at=timezone.now()
        )
    )


def _check_existing_account(account: User, invitation: PortalInvitation) -> None:
    if (
        not account.is_active
        or account.role != User.Role.PATIENT
        or account.email.lower() != invitation.email.lower()
    ):
        raise ValidationError(NOT_A_PORTAL_ADDRESS, code="not_a_portal_account")
    if invitation.caregiver_id is None and Patient.objects.filter(user=account).exists():
        raise ValidationError(
            _(
                "Ce compte est déjà celui d'un autre patient : demandez une invitation à une "
                "autre adresse."
            ),
            code="other_patient",
        )


def _new_account(invitation: PortalInvitation, password: str) -> User:
    if User.objects.filter(email__iexact=invitation.email).exists():
        raise ValidationError(ACCOUNT_EXISTS, code="account_exists")
    person = invitation.caregiver or invitation.patient
    first_name, last_name = (
        (person.first_name, person.last_name)
        if isinstance(person, Caregiver)
        else (person.display_first_name, person.display_last_name)
    )
    return User.objects.create_user(
        email=invitation.email,
        password=password,
        role=User.Role.PATIENT,
        first_name=first_name,
        last_name=last_name,
    )


def _link(invitation: PortalInvitation, account: User) -> None:
    """Give the account its access: the patient's own record, or the caregiver's."""
    if invitation.caregiver_id is None:
        person = Patient.objects.select_for_update().get(pk=invitation.patient_id)
    else:
        person = Caregiver.objects.select_for_update().get(pk=invitation.caregiver_id)
    if person.user_id is not None:
        raise InvalidInvitation
    person.user = account
    person.save(update_fields=["user", "updated_at"])


def accept_invitation(
    *,
    key: str,
    birth_date: datetime.date,
    password: str | None = None,
    account: User | None = None,
) -> PortalInvitation:
    """Open the portal account of the link's person (a new one with `password`, or the
    signed-in `account`) once `birth_date` is the patient's; the link is then used.

    Raises InvalidInvitation, WrongBirthDate (the attempt counted and kept) or
    ValidationError (nothing kept)."""
    if (password is None) == (account is None):
        raise ValueError("Either a password or an account")
    with transaction.atomic():
        invitation = usable_invitation(key, lock=True)
        if invitation is None:
            raise InvalidInvitation
        wrong = invitation.patient.birth_date != birth_date
        if wrong:
            invitation.failed_attempts += 1
            invitation.save(update_fields=["failed_attempts"])
        else:
            if account is None:
                account = _new_account(invitation, password)
            else:
                _check_existing_account(account, invitation)
            _link(invitation, account)
            invitation.used_at = timezone.now()
            invitation.account = account
            invitation.save(update_fields=["used_at", "account"])
            _pending(
                PortalInvitation.objects.filter(
                    patient=invitation.patient_id, caregiver=invitation.caregiver_id
                )
            ).update(revoked_at=invitation.used_at)
    # Raised once the count is committed: an exception inside would roll it back.
    if wrong:
        raise WrongBirthDate(spent=invitation.failed_attempts >= MAX_FAILED_ATTEMPTS)
    return invitation


# --- Forms ---------------------------------------------------------------------------------


def _date_input() -> forms.DateInput:
    return forms.DateInput(format="%Y-%m-%d", attrs={"type": "date", "class": "form-control"})


def _email_input(**attrs: object) -> forms.EmailInput:
    return forms.EmailInput(attrs={"class": "form-control", "autocomplete": "off", **attrs})


class PatientInvitationForm(forms.Form):
    email = forms.EmailField(label=gettext_lazy("Adresse e-mail du patient"), widget=_email_input())


class CaregiverInvitationForm(forms.Form):
    email = forms.EmailField(
        label=gettext_lazy("Adresse e-mail de l'aidant"), widget=_email_input()
    )
    access_until = forms.DateField(
        label=gettext_lazy("Accès au dossier jusqu'au"),
        help_text=gettext_lazy("Après cette date, l'aidant ne voit plus le dossier."),
        widget=_date_input(),
    )


class AcceptInvitationForm(forms.Form):
    birth_date = forms.DateField(widget=_date_input())
    email = forms.EmailField(
        label=gettext_lazy("Adresse e-mail du compte"),
        disabled=True,
        required=False,
        widget=_email_input(readonly=True),
    )
    password1 = forms.CharField(
        label=gettext_lazy("Mot de passe"),
        strip=False,
        widget=forms.PasswordInput(attrs={"class": "form-control", "autocomplete": "new-password"}),
    )
    password2 = forms.CharField(
        label=gettext_lazy("Mot de passe (confirmation)"),
        strip=False,
        widget=forms.PasswordInput(attrs={"class": "form-control", "autocomplete": "new-password"}),
    )

    def __init__(self, *args, invitation: PortalInvitation, new_account: bool, **kwargs) -> None:
        super().__init__(*args, initial={"email": invitation.email}, **kwargs)
        self.invitation_email = invitation.email
        self.fields["birth_date"].label = (
            _("Votre date de naissance")
            if invitation.caregiver_id is None
            else _("Date de naissance de la personne que vous accompagnez")
        )
        if new_account:
            self.fields[
                "password1"
            ].help_text = password_validation.password_validators_help_text_html()
        else:
            del self.fields["password1"], self.fields["password2"]

    def clean(self) -> dict:
        data = super().clean()
        password, again = data.get("password1"), data.get("password2")
        if password and again:
            if password != again:
                self.add_error("password2", _("Les deux mots de passe ne sont pas identiques."))
            else:
                future = User(email=self.invitation_email, role=User.Role.PATIENT)
                try:
                    password_validation.validate_password(password, future)
                except ValidationError as error:
                    self.add_error("password1", error)
        return data


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


def _caregiver_form(caregiver: Caregiver, data=None) -> CaregiverInvitationForm:
    return CaregiverInvitationForm(
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
    caregiver_form: tuple[int, CaregiverInvitationForm] | None = None,
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
            None
            if caregiver.user_id is not None
            else caregiver_form[1]
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
    caregiver = get_object_or_404(patient.caregivers, pk=caregiver_pk)
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


# --- The invitee's side: the link ----------------------------------------------------------

# Who follows a usable link, and what the page offers them.
NEW_ACCOUNT = "new_account"  # nobody has the address: birth date and a password
ATTACH = "attach"  # signed in with the address (a portal account): the birth date only
SIGN_IN = "sign_in"  # a portal account has the address: sign in first
OTHER_ACCOUNT = "other_account"  # signed in with another address: sign out first
REFUSED = "refused"  # the address is a professional's, or a disabled account's


def _situation(request: HttpRequest, invitation: PortalInvitation) -> str:
    user = request.user
    email = invitation.email.lower()
    if user.is_authenticated:
        if user.email.lower() != email:
            return OTHER_ACCOUNT
        return ATTACH if user.role == User.Role.PATIENT else REFUSED
    existing = User.objects.filter(email__iexact=email).first()
    if existing is None:
        return NEW_ACCOUNT
    if existing.is_active and existing.role == User.Role.PATIENT:
        return SIGN_IN
    return REFUSED


def _invalid_link(request: HttpRequest) -> HttpResponse:
    """One page for every link that cannot be used, whatever the reason (a page of its own:
    no per-request token or nonce, so that the answers are identical)."""
    return render(request, "portal/invitation_invalid.html", status=404)


def _render_invitation(
    request: HttpRequest,
    invitation: PortalInvitation,
    situation: str,
    form: AcceptInvitationForm | None,
    status: int = 200,
) -> HttpResponse:
    context = {
        "situation": situation,
        "form": form,
        "email": invitation.email,
        "refused": NOT_A_PORTAL_ADDRESS,
    }
    return render(request, "portal/invitation.html", context, status=status)


@login_not_required
def invitation(request: HttpRequest, key: str) -> HttpResponse:
    """The page an invitation's e-mail links to; never names the patient."""
    if request.method == "POST" and not ratelimit.consume(request, action=RATE_LIMIT_ACTION):
        return ratelimit.respond_429(request)
    invitation = usable_invitation(key)
    if invitation is None:
        return _invalid_link(request)
    situation = _situation(request, invitation)
    if situation not in (NEW_ACCOUNT, ATTACH):
        return _render_invitation(request, invitation, situation, None)
    new_account = situation == NEW_ACCOUNT
    if request.method != "POST":
        form = AcceptInvitationForm(invitation=invitation, new_account=new_account)
        return _render_invitation(request, invitation, situation, form)
    form = AcceptInvitationForm(request.POST, invitation=invitation, new_account=new_account)
    if not form.is_valid():
        return _render_invitation(request, invitation, situation, form, status=400)
    try:
        accepted = accept_invitation(
            key=key,
            birth_date=form.cleaned_data["birth_date"],
            password=form.cleaned_data["password1"] if new_account else None,
            account=None if new_account else request.user,
        )
    except InvalidInvitation:
        return _invalid_link(request)
    except WrongBirthDate as wrong:
        if wrong.spent:
            return _invalid_link(request)
        form.add_error(
            "birth_date",
            _(
                "Cette date de naissance ne correspond pas au dossier. Vérifiez-la : après "
                "plusieurs erreurs, le lien ne fonctionnera plus."
            ),
        )
        return _render_invitation(request, invitation, situation, form, status=400)
    except ValidationError as error:
        form.add_error(None, error)
        return _render_invitation(request, invitation, situation, form, status=400)
    if new_account:
        login(request, accepted.account, backend=LOGIN_BACKEND)
    record_access(
        request=request,
        action=AuditEvent.Action.CREATE,
        object_type=AUDIT_OBJECT,
        object_id=accepted.pk,
        patient_id=accepted.patient_id,
    )
    return redirect("portal:invitation_welcome")


def invitation_welcome(request: HttpRequest) -> HttpResponse:
    """After an invitation: the way to the record, and to a second factor (recommended)."""
    if request.user.role != User.Role.PATIENT:
        raise Http404
    return render(request, "portal/invitation_welcome.html")
