"""The invitee's side of a portal invitation (portal/invitations.py: the coordinator's
side and the links' state): the page the e-mail links to, where whoever follows a usable
link confirms the patient's birth date and opens their portal account.

A link that cannot be used (unknown, expired, used, revoked, spent by
`MAX_FAILED_ATTEMPTS` wrong birth dates, or whose person has an account meanwhile) answers
one and the same page, and no page of a link names the patient.

An address that already has an account never gets a new password from a link: its owner
signs in first, then follows the link again, and the invitation is attached to that
account (a patient or caregiver account only: a professional's address is refused).
"""

import datetime

from allauth.core import ratelimit
from django import forms
from django.contrib.auth import login, password_validation
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from patients.models import Caregiver, Patient
from portal.invitations import (
    AUDIT_OBJECT,
    MAX_FAILED_ATTEMPTS,
    date_input,
    email_input,
    pending,
    usable_invitation,
)
from portal.models import PortalInvitation
from tsn.audit import record_access
from tsn.models import AuditEvent, User

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


class InvalidInvitation(Exception):
    """The link cannot be used (whatever the reason: the same answer for all)."""


class WrongBirthDate(Exception):
    """The birth date typed is not the patient's (counted; `spent` once too many)."""

    def __init__(self, *, spent: bool) -> None:
        super().__init__()
        self.spent = spent


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
            pending(
                PortalInvitation.objects.filter(
                    patient=invitation.patient_id, caregiver=invitation.caregiver_id
                )
            ).update(revoked_at=invitation.used_at)
    # Raised once the count is committed: an exception inside would roll it back.
    if wrong:
        raise WrongBirthDate(spent=invitation.failed_attempts >= MAX_FAILED_ATTEMPTS)
    return invitation


class AcceptInvitationForm(forms.Form):
    birth_date = forms.DateField(widget=date_input())
    email = forms.EmailField(
        label=gettext_lazy("Adresse e-mail du compte"),
        disabled=True,
        required=False,
        widget=email_input(readonly=True),
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
