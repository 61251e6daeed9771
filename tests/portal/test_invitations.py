"""Invitations to the portal (portal/invitations.py, portal/invitation_link.py): a referent
coordinator invites the patient or a caregiver by e-mail; the link, expiring and
single-use, opens an account once the patient's birth date is confirmed, and tells nothing
about the record before."""

import datetime
import hashlib
import re

import pytest
from allauth.mfa.models import Authenticator
from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.core import mail
from django.urls import reverse
from django.utils import timezone
from freezegun import freeze_time

from patients.models import Caregiver
from portal.invitations import MAX_FAILED_ATTEMPTS, invite_to_portal
from portal.mail import send_invitation_task
from portal.models import PortalInvitation
from tests.totp import totp
from tsn.models import AuditEvent, User

PASSWORD = "Une phrase de passe assez longue 42"
INVALID = (
    "Ce lien n'est plus valable : demandez une nouvelle invitation à l'équipe de coordination."
)
BIRTH_DATE = datetime.date(1945, 5, 8)  # the default of tests/conftest.py's make_patient


@pytest.fixture(autouse=True)
def _own_rate_limits(fresh_cache):
    """allauth's rate limits count in the cache: this test's own."""


@pytest.fixture
def invitable(world):
    """The world's patient without a portal account yet, and a caregiver without one."""
    patient = world.patient
    patient.user = None
    patient.email = "marie.patiente@exemple.fr"
    patient.save(update_fields=["user", "email"])
    Caregiver.objects.create(
        patient=patient,
        last_name="Roux",
        first_name="Lise",
        relationship="fille",
        email="lise.roux@exemple.fr",
    )
    return world


def _caregiver(world) -> Caregiver:
    return world.patient.caregivers.get(first_name="Lise")


def _invite_patient_url(world) -> str:
    return reverse("portal:invite_patient", kwargs={"pk": world.patient.pk})


def _invite_caregiver_url(world) -> str:
    return reverse(
        "portal:invite_caregiver",
        kwargs={"pk": world.patient.pk, "caregiver_pk": _caregiver(world).pk},
    )


def _key(message) -> str:
    return re.search(r"/portail/invitation/([^/\s]+)/", message.body).group(1)


def _link(key: str) -> str:
    return reverse("portal:invitation", kwargs={"key": key})


def invite(client, world, django_capture_on_commit_callbacks, *, caregiver=False, **data) -> str:
    """The referent coordinator sends an invitation; the key of the link e-mailed."""
    client.force_login(world.users["coordinator_following"])
    if caregiver:
        body = {
            f"aidant-{_caregiver(world).pk}-email": data.get("email", "lise.roux@exemple.fr"),
            f"aidant-{_caregiver(world).pk}-access_until": data.get(
                "access_until", (timezone.localdate() + datetime.timedelta(days=90)).isoformat()
            ),
        }
        url = _invite_caregiver_url(world)
    else:
        body = {"patient-email": data.get("email", "marie.patiente@exemple.fr")}
        url = _invite_patient_url(world)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, body)
    assert response.status_code == 302, response.content.decode()
    client.logout()
    return _key(mail.outbox[-1])


def accept(client, key: str, birth_date: datetime.date = BIRTH_DATE, password: str = PASSWORD):
    return client.post(
        _link(key),
        {"birth_date": birth_date.isoformat(), "password1": password, "password2": password},
    )


# --- The coordinator's side --------------------------------------------------------------


def _identity_traces(patient) -> list[str]:
    return [
        patient.birth_last_name,
        patient.first_names,
        patient.display_first_name,
        patient.display_last_name,
        "1945",
        "08/05",
    ]


def test_the_referent_coordinator_invites_the_patient_by_a_neutral_email(
    client, invitable, django_capture_on_commit_callbacks
):
    patient = invitable.patient
    with freeze_time("2026-03-02 10:00:00+01:00"):
        key = invite(client, invitable, django_capture_on_commit_callbacks)
    message = mail.outbox[-1]
    assert message.to == ["marie.patiente@exemple.fr"]
    assert "Vous êtes invité(e) à consulter un dossier de coordination sur TSN." in message.body
    assert "une seule fois" in message.body
    assert "9 mars 2026 à 10:00" in message.body
    assert f"{settings.TSN_BASE_URL}/portail/invitation/{key}/" in message.body
    for trace in _identity_traces(patient):
        assert trace not in message.subject
        assert trace not in message.body
    invitation = PortalInvitation.objects.get(patient=patient)
    assert invitation.caregiver is None
    assert invitation.created_by == invitable.users["coordinator_following"]
    assert invitation.expires_at - invitation.created_at == datetime.timedelta(days=7)
    # Only the key's SHA-256 is kept.
    assert invitation.key_hash == hashlib.sha256(key.encode()).hexdigest()
    assert key not in str(PortalInvitation.objects.filter(pk=invitation.pk).values().get())
    assert AuditEvent.objects.filter(
        actor=invitable.users["coordinator_following"],
        patient_id=patient.pk,
        object_type="portal_invitation",
        action=AuditEvent.Action.UPDATE,
        outcome=AuditEvent.Outcome.ALLOWED,
    ).exists()


def test_the_patient_form_is_prefilled_with_the_patients_email(client, invitable):
    client.force_login(invitable.users["coordinator_following"])
    page = client.get(reverse("portal:invitations", kwargs={"pk": invitable.patient.pk}))
    assert page.status_code == 200
    assert 'value="marie.patiente@exemple.fr"' in page.content.decode()


def test_a_caregiver_invitation_needs_the_end_of_their_access(
    client, invitable, django_capture_on_commit_callbacks
):
    caregiver = _caregiver(invitable)
    client.force_login(invitable.users["coordinator_following"])
    prefix = f"aidant-{caregiver.pk}"
    with django_capture_on_commit_callbacks(execute=True):
        missing = client.post(_invite_caregiver_url(invitable), {f"{prefix}-email": "l@exemple.fr"})
        past = client.post(
            _invite_caregiver_url(invitable),
            {f"{prefix}-email": "l@exemple.fr", f"{prefix}-access_until": "2001-01-01"},
        )
    assert missing.status_code == past.status_code == 400
    assert "au plus tôt" in past.content.decode()
    assert not PortalInvitation.objects.exists()
    assert mail.outbox == []

    until = timezone.localdate() + datetime.timedelta(days=30)
    invite(
        client,
        invitable,
        django_capture_on_commit_callbacks,
        caregiver=True,
        access_until=until.isoformat(),
    )
    caregiver.refresh_from_db()
    assert caregiver.access_until == until
    assert PortalInvitation.objects.get().caregiver == caregiver
    assert mail.outbox[-1].to == ["lise.roux@exemple.fr"]
    assert "Lise" not in mail.outbox[-1].body


@pytest.mark.parametrize(
    ("persona", "status"),
    [
        ("team_member", 403),  # writes in the record, but is not a referent coordinator
        ("read_only_member", 403),
        ("authorised_caregiver", 403),
        ("coordinator_not_following", 404),
        ("outsider", 404),
        ("another_patient", 404),
    ],
)
def test_only_a_referent_coordinator_invites(
    client, invitable, persona, status, django_capture_on_commit_callbacks
):
    client.force_login(invitable.users[persona])
    pk = invitable.patient.pk
    with django_capture_on_commit_callbacks(execute=True):
        answers = [
            client.get(reverse("portal:invitations", kwargs={"pk": pk})),
            client.post(_invite_patient_url(invitable), {"patient-email": "x@exemple.fr"}),
            client.post(
                _invite_caregiver_url(invitable),
                {
                    f"aidant-{_caregiver(invitable).pk}-email": "x@exemple.fr",
                    f"aidant-{_caregiver(invitable).pk}-access_until": "2099-01-01",
                },
            ),
        ]
    assert [answer.status_code for answer in answers] == [status] * 3
    assert not PortalInvitation.objects.exists()
    assert mail.outbox == []
    team = client.get(reverse("patients:care_team", kwargs={"pk": pk}))
    assert 'data-testid="portal-invitations"' not in team.content.decode()


def test_the_care_team_page_loads_the_invitations_for_the_referent(client, invitable):
    client.force_login(invitable.users["coordinator_following"])
    team = client.get(reverse("patients:care_team", kwargs={"pk": invitable.patient.pk}))
    url = reverse("portal:invitations", kwargs={"pk": invitable.patient.pk})
    assert f'hx-get="{url}"' in team.content.decode()
    section = client.get(url, headers={"HX-Request": "true"})
    assert section.status_code == 200
    assert b"<html" not in section.content
    assert b'data-testid="invitations"' in section.content


def test_the_coordinator_lists_and_revokes_invitations(
    client, invitable, django_capture_on_commit_callbacks
):
    patient_key = invite(client, invitable, django_capture_on_commit_callbacks)
    invite(client, invitable, django_capture_on_commit_callbacks, caregiver=True)
    coordinator = invitable.users["coordinator_following"]
    client.force_login(coordinator)
    url = reverse("portal:invitations", kwargs={"pk": invitable.patient.pk})
    page = client.get(url).content.decode()
    assert page.count('data-testid="invitation"') == 2
    assert page.count("en attente") == 2
    assert "marie.patiente@exemple.fr" in page
    assert "Lise Roux (fille)" in page

    invitation = PortalInvitation.objects.get(caregiver=None)
    revoke_url = reverse(
        "portal:revoke_invitation",
        kwargs={"pk": invitable.patient.pk, "invitation_pk": invitation.pk},
    )
    client.force_login(invitable.users["team_member"])
    assert client.post(revoke_url).status_code == 403
    client.force_login(coordinator)
    assert client.get(revoke_url).status_code == 405
    assert client.post(revoke_url).status_code == 302
    invitation.refresh_from_db()
    assert invitation.revoked_at is not None
    page = client.get(url).content.decode()
    assert page.count("en attente") == 1
    assert "annulée" in page
    client.logout()
    assert client.get(_link(patient_key)).status_code == 404


def test_a_new_invitation_replaces_the_pending_one(
    client, invitable, django_capture_on_commit_callbacks
):
    first = invite(client, invitable, django_capture_on_commit_callbacks)
    second = invite(client, invitable, django_capture_on_commit_callbacks)
    assert client.get(_link(first)).status_code == 404
    assert client.get(_link(second)).status_code == 200


def test_a_patient_with_an_account_is_not_invited(
    client, world, django_capture_on_commit_callbacks
):
    client.force_login(world.users["coordinator_following"])
    url = reverse("portal:invitations", kwargs={"pk": world.patient.pk})
    assert "Le patient a déjà un compte" in client.get(url).content.decode()
    response = client.post(_invite_patient_url(world), {"patient-email": "x@exemple.fr"})
    assert response.status_code == 400
    assert not PortalInvitation.objects.exists()


def _access_url(world, first_name: str) -> str:
    caregiver = world.patient.caregivers.get(first_name=first_name)
    return reverse(
        "portal:caregiver_access", kwargs={"pk": world.patient.pk, "caregiver_pk": caregiver.pk}
    )


def test_the_coordinator_gives_back_an_ended_access_without_a_new_invitation(client, world):
    # Anne Roux has a portal account; her access ended yesterday.
    anne = world.patient.caregivers.get(first_name="Anne")
    home = reverse("portal:home", kwargs={"pk": world.patient.pk})
    client.force_login(world.users["expired_caregiver"])
    assert client.get(home).status_code == 404

    coordinator = world.users["coordinator_following"]
    client.force_login(coordinator)
    section = client.get(reverse("portal:invitations", kwargs={"pk": world.patient.pk}))
    text = section.content.decode()
    assert "Accès terminé le" in text
    assert _access_url(world, "Anne") in text
    until = timezone.localdate() + datetime.timedelta(days=30)
    response = client.post(
        _access_url(world, "Anne"), {f"aidant-{anne.pk}-access_until": until.isoformat()}
    )
    assert response.status_code == 302
    anne.refresh_from_db()
    assert anne.access_until == until
    assert not PortalInvitation.objects.exists()  # she keeps her account
    assert AuditEvent.objects.filter(
        actor=coordinator,
        patient_id=world.patient.pk,
        object_type="portal_invitation",
        object_id=f"caregiver:{anne.pk}",
        action=AuditEvent.Action.UPDATE,
    ).exists()
    client.force_login(world.users["expired_caregiver"])
    assert client.get(home).status_code == 200


def test_the_coordinator_ends_a_caregivers_access_at_once(client, world):
    home = reverse("portal:home", kwargs={"pk": world.patient.pk})
    client.force_login(world.users["authorised_caregiver"])
    assert client.get(home).status_code == 200
    client.force_login(world.users["coordinator_following"])
    assert client.post(_access_url(world, "Paul"), {"end": "1"}).status_code == 302
    paul = world.patient.caregivers.get(first_name="Paul")
    assert paul.access_until < timezone.localdate()
    client.force_login(world.users["authorised_caregiver"])
    assert client.get(home).status_code == 404


def test_an_access_end_date_in_the_past_is_refused_in_french(client, world):
    paul = world.patient.caregivers.get(first_name="Paul")
    client.force_login(world.users["coordinator_following"])
    yesterday = timezone.localdate() - datetime.timedelta(days=1)
    response = client.post(
        _access_url(world, "Paul"), {f"aidant-{paul.pk}-access_until": yesterday.isoformat()}
    )
    assert response.status_code == 400
    assert "aujourd&#x27;hui au plus tôt" in response.content.decode()
    paul.refresh_from_db()
    assert paul.access_until is None


def test_a_caregiver_with_an_account_is_not_invited_again(client, world):
    paul = world.patient.caregivers.get(first_name="Paul")
    client.force_login(world.users["coordinator_following"])
    url = reverse(
        "portal:invite_caregiver", kwargs={"pk": world.patient.pk, "caregiver_pk": paul.pk}
    )
    response = client.post(
        url,
        {f"aidant-{paul.pk}-email": "p@exemple.fr", f"aidant-{paul.pk}-access_until": "2099-01-01"},
    )
    assert response.status_code == 404
    assert not PortalInvitation.objects.exists()


@pytest.mark.parametrize(
    ("persona", "status"),
    [("team_member", 403), ("authorised_caregiver", 403), ("outsider", 404)],
)
def test_only_a_referent_coordinator_changes_a_caregivers_access(client, world, persona, status):
    client.force_login(world.users[persona])
    assert client.post(_access_url(world, "Paul"), {"end": "1"}).status_code == status
    assert world.patient.caregivers.get(first_name="Paul").access_until is None


def test_the_email_is_not_sent_for_an_invitation_revoked_meanwhile(
    client, invitable, django_capture_on_commit_callbacks
):
    key = invite(client, invitable, django_capture_on_commit_callbacks)
    invitation = PortalInvitation.objects.get()
    assert send_invitation_task.delay(invitation.pk, key).get() is True
    invitation.revoked_at = timezone.now()
    invitation.save(update_fields=["revoked_at"])
    assert send_invitation_task.delay(invitation.pk, key).get() is False


# --- The invitee's side ------------------------------------------------------------------


def test_the_link_asks_the_birth_date_without_naming_the_patient(
    client, invitable, django_capture_on_commit_callbacks
):
    key = invite(client, invitable, django_capture_on_commit_callbacks)
    page = client.get(_link(key))
    assert page.status_code == 200
    content = page.content.decode()
    assert 'name="birth_date"' in content
    assert 'name="password1"' in content
    assert 'value="marie.patiente@exemple.fr"' in content and "readonly" in content
    for trace in _identity_traces(invitable.patient):
        assert trace not in content


def test_a_wrong_birth_date_is_counted_and_says_nothing_more(
    client, invitable, django_capture_on_commit_callbacks
):
    key = invite(client, invitable, django_capture_on_commit_callbacks)
    response = accept(client, key, birth_date=datetime.date(1950, 1, 1))
    assert response.status_code == 400
    content = response.content.decode()
    assert "ne correspond pas" in content
    for trace in _identity_traces(invitable.patient):
        assert trace not in content
    assert PortalInvitation.objects.get().failed_attempts == 1
    assert not User.objects.filter(email="marie.patiente@exemple.fr").exists()
    assert SESSION_KEY not in client.session


def test_a_weak_password_is_refused_before_the_birth_date_is_looked_at(
    client, invitable, django_capture_on_commit_callbacks
):
    key = invite(client, invitable, django_capture_on_commit_callbacks)
    response = accept(client, key, birth_date=datetime.date(1950, 1, 1), password="123")
    assert response.status_code == 400
    assert PortalInvitation.objects.get().failed_attempts == 0
    mismatch = client.post(
        _link(key),
        {"birth_date": "1945-05-08", "password1": PASSWORD, "password2": PASSWORD + "x"},
    )
    assert mismatch.status_code == 400
    assert PortalInvitation.objects.get().used_at is None


def test_the_right_birth_date_opens_the_account_and_the_portal(
    client, invitable, django_capture_on_commit_callbacks
):
    patient = invitable.patient
    key = invite(client, invitable, django_capture_on_commit_callbacks)
    response = accept(client, key)
    assert response.status_code == 302
    assert response.url == reverse("portal:invitation_welcome")

    account = User.objects.get(email="marie.patiente@exemple.fr")
    assert account.role == User.Role.PATIENT
    assert account.check_password(PASSWORD)
    patient.refresh_from_db()
    assert patient.user == account
    invitation = PortalInvitation.objects.get()
    assert invitation.used_at is not None
    assert invitation.account == account
    assert int(client.session[SESSION_KEY]) == account.pk
    assert AuditEvent.objects.filter(
        actor=account,
        patient_id=patient.pk,
        object_type="portal_invitation",
        action=AuditEvent.Action.CREATE,
    ).exists()

    welcome = client.get(response.url).content.decode()
    assert "Protéger mon compte par une double authentification (recommandé)" in welcome
    assert reverse("mfa_index") in welcome
    home = client.get(reverse("portal:records"), follow=True)
    assert home.redirect_chain[-1][0] == reverse("portal:home", kwargs={"pk": patient.pk})
    assert patient.display_last_name in home.content.decode()


def test_the_portal_account_can_enrol_an_authenticator_app(
    client, invitable, django_capture_on_commit_callbacks
):
    key = invite(client, invitable, django_capture_on_commit_callbacks)
    accept(client, key)
    client.post(reverse("account_reauthenticate"), {"password": PASSWORD})
    assert client.get(reverse("mfa_activate_totp")).status_code == 200
    client.post(reverse("mfa_activate_totp"), {"code": totp(client.session["mfa.totp.secret"])})
    account = User.objects.get(email="marie.patiente@exemple.fr")
    assert Authenticator.objects.filter(user=account, type=Authenticator.Type.TOTP).exists()


def test_a_caregiver_opens_an_account_and_their_access_ends_at_access_until(
    client, invitable, django_capture_on_commit_callbacks
):
    patient = invitable.patient
    until = timezone.localdate() + datetime.timedelta(days=10)
    key = invite(
        client,
        invitable,
        django_capture_on_commit_callbacks,
        caregiver=True,
        access_until=until.isoformat(),
    )
    page = client.get(_link(key)).content.decode()
    assert "la personne que vous accompagnez" in page
    assert accept(client, key).status_code == 302
    account = User.objects.get(email="lise.roux@exemple.fr")
    assert _caregiver(invitable).user == account
    home = reverse("portal:home", kwargs={"pk": patient.pk})
    assert client.get(home).status_code == 200

    with freeze_time(until):
        client.force_login(account)  # the session itself would have ended meanwhile
        assert client.get(home).status_code == 200
    with freeze_time(until + datetime.timedelta(days=1)):
        client.force_login(account)
        assert client.get(home).status_code == 404


def test_a_link_opens_one_account_only(client, invitable, django_capture_on_commit_callbacks):
    key = invite(client, invitable, django_capture_on_commit_callbacks)
    assert accept(client, key).status_code == 302
    client.logout()
    assert client.get(_link(key)).status_code == 404
    second = accept(client, key, password=PASSWORD + " bis")
    assert second.status_code == 404
    assert INVALID in second.content.decode()
    assert (
        User.objects.filter(role=User.Role.PATIENT, email="marie.patiente@exemple.fr").count() == 1
    )


def test_five_wrong_birth_dates_spend_the_link(
    client, invitable, django_capture_on_commit_callbacks
):
    key = invite(client, invitable, django_capture_on_commit_callbacks)
    wrong = datetime.date(1950, 1, 1)
    answers = [
        accept(client, key, birth_date=wrong).status_code for _ in range(MAX_FAILED_ATTEMPTS)
    ]
    assert answers == [400] * (MAX_FAILED_ATTEMPTS - 1) + [404]
    # Spent: even the right birth date no longer opens anything.
    assert accept(client, key).status_code == 404
    assert not User.objects.filter(email="marie.patiente@exemple.fr").exists()


def _caregiver_invitation_key(world, django_capture_on_commit_callbacks, first_name) -> str:
    """A pending invitation of a caregiver of its own (inviting a person again revokes
    their pending link: one caregiver per case)."""
    caregiver = Caregiver.objects.create(
        patient=world.patient, last_name="Roux", first_name=first_name, relationship="fils"
    )
    with django_capture_on_commit_callbacks(execute=True):
        invite_to_portal(
            patient=world.patient,
            caregiver=caregiver,
            email=f"{first_name.lower()}@exemple.fr",
            access_until=timezone.localdate() + datetime.timedelta(days=30),
            invited_by=world.users["coordinator_following"],
        )
    return _key(mail.outbox[-1])


def test_every_unusable_link_gets_the_same_answer(
    client, invitable, django_capture_on_commit_callbacks
):
    keys = {
        name: _caregiver_invitation_key(invitable, django_capture_on_commit_callbacks, name)
        for name in ("Used", "Revoked", "Spent", "Expired")
    }
    keys["unknown"] = "x" * 43
    assert accept(client, keys["Used"]).status_code == 302
    client.logout()
    PortalInvitation.objects.filter(email="revoked@exemple.fr").update(revoked_at=timezone.now())
    wrong = datetime.date(1950, 1, 1)
    for _ in range(MAX_FAILED_ATTEMPTS):
        accept(client, keys["Spent"], birth_date=wrong)
    assert client.get(_link(keys["Expired"])).status_code == 200

    answers = {}
    for name, key in keys.items():
        if name != "Expired":
            answers[name] = [client.get(_link(key)), accept(client, key)]
    expires_at = PortalInvitation.objects.get(email="expired@exemple.fr").expires_at
    with freeze_time(expires_at):
        answers["Expired"] = [client.get(_link(keys["Expired"])), accept(client, keys["Expired"])]

    assert {name: [a.status_code for a in pair] for name, pair in answers.items()} == {
        name: [404, 404] for name in keys
    }
    bodies = {answer.content for pair in answers.values() for answer in pair}
    assert len(bodies) == 1
    assert INVALID in bodies.pop().decode()
    # Nothing was opened by the unusable links.
    assert PortalInvitation.objects.filter(used_at__isnull=False).count() == 1


def test_an_expired_link_is_refused_and_a_valid_one_works_until_then(
    client, invitable, django_capture_on_commit_callbacks
):
    key = invite(client, invitable, django_capture_on_commit_callbacks)
    expires_at = PortalInvitation.objects.get().expires_at
    with freeze_time(expires_at - datetime.timedelta(seconds=1)):
        assert client.get(_link(key)).status_code == 200
    with freeze_time(expires_at):
        assert client.get(_link(key)).status_code == 404
        assert accept(client, key).status_code == 404


def test_posting_on_links_is_rate_limited_per_address(
    client, invitable, settings, django_capture_on_commit_callbacks
):
    settings.ACCOUNT_RATE_LIMITS = {"reset_password_from_key": "2/m/ip"}
    key = invite(client, invitable, django_capture_on_commit_callbacks)
    wrong = datetime.date(1950, 1, 1)
    assert [accept(client, key, birth_date=wrong).status_code for _ in range(3)] == [400, 400, 429]
    assert PortalInvitation.objects.get().failed_attempts == 2


# --- An address that already has an account ---------------------------------------------


def test_an_existing_portal_account_signs_in_then_accepts_without_a_new_password(
    client, invitable, make_user, django_capture_on_commit_callbacks
):
    """The caregiver's address is that of an existing portal account (say, a patient of
    another record): the link never sets its password; signed in, it attaches."""
    existing = make_user(role=User.Role.PATIENT, email="lise.roux@exemple.fr")
    key = invite(client, invitable, django_capture_on_commit_callbacks, caregiver=True)

    page = client.get(_link(key)).content.decode()
    assert "Un compte existe déjà" in page
    assert 'name="password1"' not in page
    attempt = accept(client, key, password="Un tout autre mot de passe 99")
    assert attempt.status_code == 200
    existing.refresh_from_db()
    assert existing.check_password(settings.TSN_DEMO_PASSWORD)
    assert _caregiver(invitable).user is None

    client.force_login(existing)
    form = client.get(_link(key)).content.decode()
    assert 'name="birth_date"' in form and 'name="password1"' not in form
    accepted = client.post(_link(key), {"birth_date": BIRTH_DATE.isoformat()})
    assert accepted.status_code == 302
    assert _caregiver(invitable).user == existing
    assert PortalInvitation.objects.get().account == existing
    existing.refresh_from_db()
    assert existing.check_password(settings.TSN_DEMO_PASSWORD)
    assert User.objects.filter(email="lise.roux@exemple.fr").count() == 1


def test_a_professionals_address_is_refused(client, invitable, django_capture_on_commit_callbacks):
    professional = invitable.users["outsider"]
    key = invite(
        client,
        invitable,
        django_capture_on_commit_callbacks,
        caregiver=True,
        email=professional.email,
    )
    for user in (None, professional):
        if user:
            client.force_login(user)
        page = client.get(_link(key)).content.decode()
        assert "ne peut pas ouvrir un accès au portail" in page
        assert 'name="birth_date"' not in page
        client.post(_link(key), {"birth_date": BIRTH_DATE.isoformat()})
    assert _caregiver(invitable).user is None
    assert PortalInvitation.objects.get().used_at is None


def test_signed_in_with_another_account_one_is_asked_to_sign_out(
    client, invitable, django_capture_on_commit_callbacks
):
    key = invite(client, invitable, django_capture_on_commit_callbacks)
    client.force_login(invitable.users["authorised_caregiver"])
    page = client.get(_link(key)).content.decode()
    assert "vous êtes connecté(e) avec un autre compte" in page
    client.post(_link(key), {"birth_date": BIRTH_DATE.isoformat()})
    invitable.patient.refresh_from_db()
    assert invitable.patient.user is None
