"""Personas around one patient (the `world` fixture) and one object of each kind in their
record (`objects`), for the access policy and the route x persona matrices of the pages
and the API; registered in tests/conftest.py."""

import datetime
from dataclasses import dataclass

import pytest
from django.core.files.base import ContentFile
from django.utils import timezone

from pathways.models import (
    CarePlan,
    Pathway,
    PathwayTemplate,
    Referral,
    Step,
    StepTemplate,
    TeleExpertiseRequest,
)
from patients.models import (
    BreakGlassAccess,
    Caregiver,
    CareTeamMember,
    ConsentRecord,
    Document,
    Patient,
    TimelineEvent,
)
from portal.models import DataExport, PortalInvitation
from professionals.models import Organization, Professional, SupportService
from tsn.models import SecretToken, User

YESTERDAY = timezone.localdate() - datetime.timedelta(days=1)


@dataclass
class World:
    patient: Patient
    other_patient: Patient
    users: dict[str, User | None]


def _member(patient, professional, **fields) -> CareTeamMember:
    return CareTeamMember.objects.create(
        patient=patient, professional=professional, role=CareTeamMember.Role.NURSE, **fields
    )


@pytest.fixture
def world(make_patient, make_professional, make_user, commune) -> World:
    """One patient and one user per relationship to them (DESIGN.md §5)."""
    gp = make_professional()
    patient = make_patient(gp=gp)
    other_patient = make_patient()
    CareTeamMember.objects.create(patient=patient, professional=gp, role=CareTeamMember.Role.GP)

    read_only = make_professional(Professional.Profession.NURSE)
    _member(patient, read_only, read_only=True)
    ended = make_professional(Professional.Profession.NURSE)
    _member(patient, ended, start=YESTERDAY - datetime.timedelta(days=30), end=YESTERDAY)
    objected = make_professional(Professional.Profession.NURSE)
    _member(patient, objected)
    ConsentRecord.objects.create(
        patient=patient, kind=ConsentRecord.Kind.PROFESSIONAL_OBJECTION, professional=objected
    )

    dac = Organization.objects.create(kind=Organization.Kind.DAC, name="DAC Rhône-Est")
    service = SupportService.objects.create(
        organization=dac, name="Appui à la coordination", category="coordination"
    )
    other_service = SupportService.objects.create(
        organization=dac, name="Équipe mobile gériatrique", category="geriatric_evaluation"
    )
    coordinator = make_professional(Professional.Profession.COORDINATOR)
    service.members.add(coordinator)
    stranger_coordinator = make_professional(Professional.Profession.COORDINATOR)
    other_service.members.add(stranger_coordinator)
    home_help = SupportService.objects.create(
        organization=dac, name="Aide à domicile Rhône-Est", category="home_help"
    )
    home_help_coordinator = make_professional(Professional.Profession.COORDINATOR)
    home_help.members.add(home_help_coordinator)
    Referral.objects.create(
        patient=patient,
        service=home_help,
        sent_by=gp,
        reason="Aide au lever et à la toilette.",
        respond_by=timezone.now() + datetime.timedelta(days=5),
        status=Referral.Status.ACCEPTED,
    )
    # A service that has a referral but has not accepted it: the referral, not the record.
    meals = SupportService.objects.create(
        organization=dac, name="Portage de repas", category="meals"
    )
    meals_coordinator = make_professional(Professional.Profession.COORDINATOR)
    meals.members.add(meals_coordinator)
    Referral.objects.create(
        patient=patient,
        service=meals,
        sent_by=gp,
        reason="Portage de repas le midi.",
        respond_by=timezone.now() + datetime.timedelta(days=5),
    )
    template = PathwayTemplate.objects.create(code="ic", name="Insuffisance cardiaque")
    Pathway.objects.create(
        patient=patient,
        template=template,
        status=Pathway.Status.ACTIVE,
        support_service=service,
        referent=coordinator,
    )

    outsider = make_professional()
    glass = make_professional()
    now = timezone.now()
    BreakGlassAccess.objects.create(
        user=glass.user,
        patient=patient,
        reason="Urgence de nuit, patient inconscient.",
        started_at=now - datetime.timedelta(hours=1),
        expires_at=now + datetime.timedelta(hours=3),
    )
    expired_glass = make_professional()
    BreakGlassAccess.objects.create(
        user=expired_glass.user,
        patient=patient,
        reason="Urgence de la semaine dernière.",
        started_at=now - datetime.timedelta(days=7),
        expires_at=now - datetime.timedelta(days=7) + datetime.timedelta(hours=4),
    )

    patient_user = make_user(role=User.Role.PATIENT)
    patient.user = patient_user
    patient.save(update_fields=["user"])
    other_patient_user = make_user(role=User.Role.PATIENT)
    other_patient.user = other_patient_user
    other_patient.save(update_fields=["user"])
    caregiver = make_user(role=User.Role.PATIENT)
    Caregiver.objects.create(
        patient=patient, last_name="Roux", first_name="Paul", relationship="fils", user=caregiver
    )
    former_caregiver = make_user(role=User.Role.PATIENT)
    Caregiver.objects.create(
        patient=patient,
        last_name="Roux",
        first_name="Anne",
        relationship="fille",
        user=former_caregiver,
        access_until=YESTERDAY,
    )
    return World(
        patient=patient,
        other_patient=other_patient,
        users={
            "team_member": gp.user,
            "read_only_member": read_only.user,
            "ended_member": ended.user,
            "coordinator_following": coordinator.user,
            "coordinator_not_following": stranger_coordinator.user,
            "service_referral_accepted": home_help_coordinator.user,
            "service_referral_pending": meals_coordinator.user,
            "objected_professional": objected.user,
            "outsider": outsider.user,
            "ars_analyst": make_user(role=User.Role.ARS_ANALYST),
            "the_patient": patient_user,
            "another_patient": other_patient_user,
            "authorised_caregiver": caregiver,
            "expired_caregiver": former_caregiver,
            "administrator": make_user(
                role=User.Role.ADMINISTRATOR, is_staff=True, is_superuser=True
            ),
            "break_glass_active": glass.user,
            "break_glass_expired": expired_glass.user,
            "anonymous": None,
        },
    )


@pytest.fixture
def objects(world, settings, tmp_path):
    """One object of each kind the routes point at, all of the world's patient."""
    settings.MEDIA_ROOT = tmp_path
    patient = world.patient
    event = TimelineEvent.objects.create(
        patient=patient, occurred_at=timezone.now(), kind="note", title="Appel de la fille"
    )
    document_event = TimelineEvent.objects.create(
        patient=patient, occurred_at=timezone.now(), kind="document", title="Compte rendu"
    )
    document = Document(
        patient=patient,
        event=document_event,
        original_name="cr.pdf",
        content_type="application/pdf",
        size=9,
        uploaded_by=world.users["team_member"],
    )
    document.file.save("matrix.pdf", ContentFile(b"%PDF-1.4\n"), save=True)
    objection = patient.consents.get(kind="professional_objection")
    pathway = patient.pathways.get()
    step_template = StepTemplate.objects.create(
        template=pathway.template,
        order=1,
        name="Visite infirmière",
        responsible_profession="nurse",
        deadline_days=2,
    )
    step = Step.objects.create(pathway=pathway, template_step=step_template)
    care_plan = CarePlan.objects.create(patient=patient, current_version=1)
    care_plan.versions.create(number=1, author=world.users["team_member"])
    # Enrolled a month ago: the portal's "after inclusion" questionnaire is due.
    Pathway.objects.filter(pk=pathway.pk).update(
        enrolled_on=timezone.localdate() - datetime.timedelta(days=30)
    )
    export = DataExport.objects.create(
        patient=patient, requested_by=world.users["the_patient"], status=DataExport.Status.READY
    )
    export.file.save("matrix.zip", ContentFile(b"PK\x05\x06" + bytes(18)), save=True)
    coordinator = world.users["coordinator_following"]
    caregiver_without_account = Caregiver.objects.create(
        patient=patient, last_name="Roux", first_name="Lise", relationship="fille"
    )
    invitation = PortalInvitation.objects.create(
        patient=patient,
        caregiver=caregiver_without_account,
        email="lise.roux@exemple.fr",
        key_hash=SecretToken.hash("matrix"),
        created_by=coordinator,
        expires_at=timezone.now() + datetime.timedelta(days=7),
    )
    return {
        "pathway_pk": pathway.pk,
        "step_pk": step.pk,
        "number": 1,
        "event_pk": event.pk,
        "document_pk": document.pk,
        "member_pk": patient.care_team.get(role="gp").pk,
        "consent_pk": objection.pk,
        # A referral still awaiting the service's answer, a question not yet answered.
        "referral_pk": patient.referrals.get(status="sent").pk,
        "request_pk": TeleExpertiseRequest.objects.create(
            patient=patient,
            requester=patient.gp,
            expert=world.users["outsider"].professional,
            question="Faut-il adapter le traitement diurétique ?",
            answer_by=timezone.now() + datetime.timedelta(days=7),
        ).pk,
        # The portal's.
        "moment": "inclusion",
        "objection_pk": objection.pk,
        "export_pk": export.pk,
        "caregiver_pk": patient.caregivers.get(user=world.users["authorised_caregiver"]).pk,
        "caregiver_without_account_pk": caregiver_without_account.pk,
        "invitation_pk": invitation.pk,
    }
