"""The evaluation's indicators (pathways/evaluation/indicators.py and queries.py) against a
small territory built by hand: every expected figure below is counted by hand from the
fixture (the arithmetic is in the comments), never by the code under test.

The reported period is 2025 (the previous one 2024), in Europe/Paris. The territory:

    patient  sex  commune (sector)        pathway(s): template, status, origin, enrolled
    F1       F    Lyon (Lyon Centre)      ic v1 active hospital 2025-01-20 (referent)
                                          pa active gp 2025-06-01 (no referent)
    F2       F    Lyon                    ic v1 active gp 2025-02-15
    F3       F    Lyon                    ic v2 active gp 2025-03-10
    F4       F    Lyon                    ic v2 active gp 2025-04-15
    F5       F    Lyon                    pa active gp 2025-05-10 (no referent)
    F6       F    Villeurbanne (Rhône Est) ic v2 active gp 2025-03-20 (no referent)
    M1       M    Villeurbanne            ic v2 active hospital 2025-05-20
    M2       M    Villeurbanne            ic v2 active gp 2025-06-10
    M3       M    Villeurbanne            pa active gp 2025-07-01
    M4       M    Villeurbanne            pa completed gp 2025-08-01, ended 2025-12-01
    M5       M    (no commune)            pa active hospital 2025-09-01 (no referent)
    O1       F    Lyon                    ic v1 active gp 2024-03-01
    O2       M    Lyon                    pa completed patient_family 2024-05-01, ended 2024-11-30
    O3       F    Villeurbanne            ic v1 exited hospital 2024-06-01, ended 2025-01-01
    O4       M    Villeurbanne            ic v1 active gp 2023-09-01 (no referent)
    O5       F    Lyon                    ic v1 suspended gp 2024-10-01
    O6       F    Lyon                    pa active social_services 2024-12-31 (no referent)
    O7       M    Villeurbanne            ic v1 active hospital 2024-08-15
    O8       F    Lyon                    ic v1 active gp 2024-09-10 (no referent)
    PX       F    Lyon                    ic v2 *proposed* 2025-04-01
    X2       M    Lyon                    pa completed 2023-01-01, ended 2023-12-31
    X3       M    Lyon                    pa active 2026-01-01 (after the period)
    NP       F    Lyon                    no pathway at all

Followed in 2025 (enrolled before 2026-01-01, not ended before 2025-01-01, not proposed):
F1-F6, M1-M5, O1, O3 (ended on 2025-01-01 itself), O4, O5, O6, O7, O8 = 18 patients.
Followed in 2024: O1-O8 = 8 patients (O2 ended 2024-11-30, O6 enrolled 2024-12-31).
Not followed in either: PX (proposed), X2 (ended 2023), X3 (enrolled 2026), NP.
"""

import datetime
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from pathways.evaluation.indicators import Evaluation, compute_evaluation
from pathways.evaluation.queries import EvaluationQuery
from pathways.models import (
    Alert,
    CarePlan,
    CarePlanVersion,
    Pathway,
    PathwayTemplate,
    Referral,
    Step,
    StepTemplate,
)
from patients.models import CareTeamMember, LiaisonMessage, Patient, TimelineEvent
from professionals.models import Organization, Professional, SupportService
from tests.conftest import valid_nir
from tsn.models import Commune

PARIS = ZoneInfo("Europe/Paris")
QUERY = EvaluationQuery(datetime.date(2025, 1, 1), datetime.date(2025, 12, 31))
MASKED = "< 5"  # a count of 1 to 4 (tsn/disclosure.py)
SECRET = "s"  # a larger count masked so that a small one cannot be deduced

Kind = TimelineEvent.Kind
F, M = Patient.Sex.FEMALE, Patient.Sex.MALE
QUALIFIED = Patient.IdentityStatus.QUALIFIED


def at(year: int, month: int, day_: int, hour: int = 10, minute: int = 0) -> datetime.datetime:
    """A local (Paris) instant (10:00 unless told)."""
    return datetime.datetime(year, month, day_, hour, minute, tzinfo=PARIS)


def day(year: int, month: int, day_: int) -> datetime.date:
    return datetime.date(year, month, day_)


@dataclass
class Territory:
    patients: dict[str, Patient] = field(default_factory=dict)
    pathways: dict[str, Pathway] = field(default_factory=dict)
    professionals: dict[str, Professional] = field(default_factory=dict)
    organizations: dict[str, Organization] = field(default_factory=dict)


# --- Builders ---------------------------------------------------------------------------

HOSPITAL = (Kind.HOSPITAL_ADMISSION, Kind.HOSPITAL_DISCHARGE, Kind.EMERGENCY_VISIT)


def event(patient, kind, when, *, author=None, organization=None, corrects=None):
    return TimelineEvent.objects.create(
        patient=patient,
        kind=kind,
        occurred_at=when,
        author=author,
        organization=organization,
        corrects=corrects,
        title=str(Kind(kind).label),
        source=TimelineEvent.Source.HL7 if kind in HOSPITAL else TimelineEvent.Source.MANUAL,
    )


def entered_in_error(wrong: TimelineEvent, when) -> TimelineEvent:
    """The correction of `wrong` (the timeline is append-only: a new event points back)."""
    return event(
        wrong.patient,
        Kind.ENTERED_IN_ERROR,
        when,
        organization=wrong.organization,
        corrects=wrong,
    )


def stay(patient, admitted, discharged, hospital) -> tuple[TimelineEvent, TimelineEvent]:
    return (
        event(patient, Kind.HOSPITAL_ADMISSION, admitted, organization=hospital),
        event(patient, Kind.HOSPITAL_DISCHARGE, discharged, organization=hospital),
    )


def step(pathway, template_step, due_on, status=Step.Status.PLANNED, done_at=None):
    return Step.objects.create(
        pathway=pathway,
        template_step=template_step,
        due_on=due_on,
        status=status,
        done_at=done_at,
        scheduled_at=at(2025, 7, 20) if status == Step.Status.SCHEDULED else None,
    )


def care_plan(patient, author, *versions) -> CarePlan:
    """versions: (created_at, validated_at or None, next_review_on or None), numbered 1..n."""
    plan = CarePlan.objects.create(patient=patient, current_version=len(versions))
    for number, (created, validated, review) in enumerate(versions, start=1):
        CarePlanVersion.objects.create(
            care_plan=plan,
            number=number,
            author=author.user,
            created_at=created,
            validated_by=author if validated else None,
            validated_at=validated,
            next_review_on=review,
        )
    return plan


def referral(
    patient, service, sent_by, sent, respond_by, *, acknowledged=None, responded=None, refused=False
):
    status = Referral.Status.SENT
    if acknowledged:
        status = Referral.Status.ACKNOWLEDGED
    if responded:
        status = Referral.Status.REFUSED if refused else Referral.Status.ACCEPTED
    return Referral.objects.create(
        patient=patient,
        service=service,
        sent_by=sent_by,
        sent_at=sent,
        reason="Appui à la coordination.",
        respond_by=respond_by,
        acknowledged_at=acknowledged,
        responded_at=responded,
        status=status,
        refusal_reason="Hors critères" if refused else "",
    )


def alert(patient, kind, created, *, acknowledged_after_hours=None, escalation_level=0):
    acknowledged = (
        created + datetime.timedelta(hours=acknowledged_after_hours)
        if acknowledged_after_hours is not None
        else None
    )
    return Alert.objects.create(
        patient=patient,
        kind=kind,
        message="Alerte de test",
        dedupe_key=f"test:{patient.pk}:{kind}:{created.isoformat()}",
        created_at=created,
        acknowledged_at=acknowledged,
        status=Alert.Status.ACKNOWLEDGED if acknowledged else Alert.Status.OPEN,
        escalation_level=escalation_level,
        escalated_at=created + datetime.timedelta(hours=4) if escalation_level else None,
    )


# --- The territory ----------------------------------------------------------------------

# name: (sex, birth date, sector, GP, identity qualified)
# Ages at enrolment (the band boundaries on purpose): F2 is 84 the day before her 85th
# birthday, F4 turns 75 on her enrolment day, M1 turns 85 on his, O7 is 74 the day before
# his 75th birthday (76 today: the band is the age at enrolment, not today's).
PATIENTS = {
    "F1": (F, day(1945, 3, 1), "lyon", "gp_a", True),  # 79 on 2025-01-20, 80 on 06-01
    "F2": (F, day(1940, 2, 16), "lyon", "gp_a", True),  # 84 on 2025-02-15
    "F3": (F, day(1948, 7, 7), "lyon", "gp_a", True),  # 76
    "F4": (F, day(1950, 4, 15), "lyon", "gp_a", True),  # 75 on 2025-04-15
    "F5": (F, day(1944, 9, 9), "lyon", None, False),  # 80
    "F6": (F, day(1946, 11, 11), "est", None, False),  # 78
    "M1": (M, day(1940, 5, 20), "est", "gp_b", True),  # 85 on 2025-05-20
    "M2": (M, day(1935, 1, 1), "est", "gp_b", True),  # 90
    "M3": (M, day(1938, 6, 6), "est", "gp_b", True),  # 87
    "M4": (M, day(1932, 12, 12), "est", "gp_b", False),  # 92
    "M5": (M, day(1939, 8, 8), None, None, False),  # 86
    "O1": (F, day(1944, 1, 1), "lyon", "gp_a", True),  # 80 on 2024-03-01
    "O2": (M, day(1955, 5, 5), "lyon", "gp_a", False),  # 68
    "O3": (F, day(1946, 2, 2), "est", "gp_b", True),  # 78
    "O4": (M, day(1941, 4, 4), "est", None, False),
    "O5": (F, day(1942, 10, 10), "lyon", "gp_a", True),  # 81 on 2024-10-01
    "O6": (F, day(1947, 3, 3), "lyon", None, False),  # 77
    "O7": (M, day(1949, 8, 16), "est", "gp_b", False),  # 74 on 2024-08-15
    "O8": (F, day(1943, 7, 7), "lyon", "gp_a", False),  # 81
    "PX": (F, day(1941, 1, 1), "lyon", "gp_a", False),
    "X2": (M, day(1940, 1, 1), "lyon", "gp_a", False),
    "X3": (M, day(1940, 1, 2), "lyon", "gp_a", False),
    "NP": (F, day(1941, 1, 2), "lyon", "gp_a", False),
}

A, C, E, P = (
    Pathway.Status.ACTIVE,
    Pathway.Status.COMPLETED,
    Pathway.Status.EXITED,
    Pathway.Status.PROPOSED,
)
Origin = Pathway.Origin
# key: (patient, template, status, origin, enrolled, ended, with a referent)
PATHWAYS = {
    "F1-ic": ("F1", "ic1", A, Origin.HOSPITAL, day(2025, 1, 20), None, True),
    "F1-pa": ("F1", "pa", A, Origin.GP, day(2025, 6, 1), None, False),
    "F2": ("F2", "ic1", A, Origin.GP, day(2025, 2, 15), None, True),
    "F3": ("F3", "ic2", A, Origin.GP, day(2025, 3, 10), None, True),
    "F4": ("F4", "ic2", A, Origin.GP, day(2025, 4, 15), None, True),
    "F5": ("F5", "pa", A, Origin.GP, day(2025, 5, 10), None, False),
    "F6": ("F6", "ic2", A, Origin.GP, day(2025, 3, 20), None, False),
    "M1": ("M1", "ic2", A, Origin.HOSPITAL, day(2025, 5, 20), None, True),
    "M2": ("M2", "ic2", A, Origin.GP, day(2025, 6, 10), None, True),
    "M3": ("M3", "pa", A, Origin.GP, day(2025, 7, 1), None, True),
    "M4": ("M4", "pa", C, Origin.GP, day(2025, 8, 1), day(2025, 12, 1), True),
    "M5": ("M5", "pa", A, Origin.HOSPITAL, day(2025, 9, 1), None, False),
    "O1": ("O1", "ic1", A, Origin.GP, day(2024, 3, 1), None, True),
    "O2": ("O2", "pa", C, Origin.PATIENT_FAMILY, day(2024, 5, 1), day(2024, 11, 30), True),
    "O3": ("O3", "ic1", E, Origin.HOSPITAL, day(2024, 6, 1), day(2025, 1, 1), True),
    "O4": ("O4", "ic1", A, Origin.GP, day(2023, 9, 1), None, False),
    "O5": ("O5", "ic1", Pathway.Status.SUSPENDED, Origin.GP, day(2024, 10, 1), None, True),
    "O6": ("O6", "pa", A, Origin.SOCIAL_SERVICES, day(2024, 12, 31), None, False),
    "O7": ("O7", "ic1", A, Origin.HOSPITAL, day(2024, 8, 15), None, True),
    "O8": ("O8", "ic1", A, Origin.GP, day(2024, 9, 10), None, False),
    "PX": ("PX", "ic2", P, Origin.GP, day(2025, 4, 1), None, True),
    "X2": ("X2", "pa", C, Origin.GP, day(2023, 1, 1), day(2023, 12, 31), True),
    "X3": ("X3", "pa", A, Origin.GP, day(2026, 1, 1), None, True),
}


def build_territory(make_patient, make_professional, commune) -> Territory:
    t = Territory()
    villeurbanne = Commune.objects.create(
        insee_code="69266",
        name="Villeurbanne",
        postcodes=["69100"],
        latitude=45.77,
        longitude=4.88,
        population=150_000,
        sector="Rhône Est",
    )
    communes = {"lyon": commune, "est": villeurbanne, None: None}  # Lyon: "Lyon Centre"

    org = t.organizations
    for key, kind, name in [
        ("chu", Organization.Kind.HOSPITAL, "CHU de Lyon"),
        ("clinique", Organization.Kind.HOSPITAL, "Clinique du Parc"),
        ("nord", Organization.Kind.HOSPITAL, "Hôpital Nord"),
        ("lilas", Organization.Kind.GP_PRACTICE, "Cabinet des Lilas"),
        ("msp_est", Organization.Kind.MSP, "MSP Est"),
        ("nursing", Organization.Kind.NURSING_PRACTICE, "Cabinet infirmier du Centre"),
        ("ehpad", Organization.Kind.EHPAD, "EHPAD Les Tilleuls"),
        ("dac", Organization.Kind.DAC, "DAC Rhône"),
    ]:
        org[key] = Organization.objects.create(kind=kind, name=name)

    Prof = Professional.Profession
    pro = t.professionals
    for key, profession in [
        ("gp_a", Prof.PHYSICIAN),
        ("gp_b", Prof.PHYSICIAN),
        ("nurse_a", Prof.NURSE),
        ("nurse_b", Prof.NURSE),
        ("cardio", Prof.PHYSICIAN),
        ("coordinator", Prof.COORDINATOR),
        ("stray", Prof.PHYSICIAN),  # writes only about patients not followed at the time
        ("outsider", Prof.PHYSICIAN),  # writes only about patients never followed
    ]:
        pro[key] = make_professional(profession)
    service = SupportService.objects.create(
        organization=org["dac"], name="Appui DAC", category="coordination", response_days=3
    )

    for n, (name, (sex, birth, where, gp, qualified)) in enumerate(PATIENTS.items(), start=1):
        t.patients[name] = make_patient(
            birth_last_name=f"PATIENT{name}",
            sex=sex,
            birth_date=birth,
            commune=communes[where],
            gp=pro[gp] if gp else None,
            identity_status=QUALIFIED if qualified else Patient.IdentityStatus.PROVISIONAL,
            nir=valid_nir(f"{1 if sex == M else 2}{birth:%y%m}69123{n:03d}") if qualified else None,
        )
    p = t.patients

    ic1 = PathwayTemplate.objects.create(
        code="ic", version=1, name="Insuffisance cardiaque", is_current=False
    )
    ic2 = PathwayTemplate.objects.create(
        code="ic", version=2, name="Insuffisance cardiaque chronique"
    )
    pa = PathwayTemplate.objects.create(code="pa", name="Personne âgée fragile")
    templates = {"ic1": ic1, "ic2": ic2, "pa": pa}
    steps = {}
    for key, template in templates.items():
        names = (
            ["Évaluation gériatrique", "Visite à domicile"]
            if key == "pa"
            else ["Évaluation initiale", "Bilan cardiologique", "Éducation thérapeutique"]
        )
        for order, name in enumerate(names, start=1):
            steps[key, order] = StepTemplate.objects.create(
                template=template,
                order=order,
                name=name,
                responsible_profession=Prof.PHYSICIAN,
                deadline_days=15 * order,
            )

    for key, (patient, template, status, origin, enrolled, ended, referent) in PATHWAYS.items():
        t.pathways[key] = Pathway.objects.create(
            patient=p[patient],
            template=templates[template],
            status=status,
            origin=origin,
            enrolled_on=enrolled,
            ended_on=ended,
            exit_reason="Sortie" if status == E else "",
            referent=pro["coordinator"] if referent else None,
            support_service=service,
        )
    pw = t.pathways

    # --- Care teams (start 2020-01-01 for the GPs) -----------------------------------
    for name, (_sex, _birth, _where, gp, _qualified) in PATIENTS.items():
        if gp:
            CareTeamMember.objects.create(
                patient=p[name], professional=pro[gp], role="gp", start=day(2020, 1, 1)
            )
    for name, who, start, end in [
        ("F1", "nurse_a", day(2025, 2, 1), None),
        ("F2", "nurse_a", day(2025, 3, 1), day(2025, 12, 31)),  # gone on the period's last day
        ("F3", "cardio", day(2026, 1, 1), None),  # not yet at the period's end
        ("F4", "nurse_a", day(2025, 5, 1), None),
        ("F5", "nurse_b", day(2025, 5, 10), None),
        ("F6", "nurse_a", day(2025, 3, 20), None),
        ("M1", "cardio", day(2025, 6, 13), None),
        ("M2", "nurse_b", day(2025, 9, 6), None),
        ("M3", "nurse_a", day(2025, 7, 1), None),
        ("M4", "nurse_a", day(2025, 8, 1), None),
        ("O1", "nurse_a", day(2024, 6, 1), None),
        ("O1", "cardio", day(2024, 1, 1), day(2025, 6, 30)),
        ("O3", "nurse_b", day(2024, 7, 1), None),
        ("O5", "nurse_a", day(2025, 2, 1), None),
        ("O6", "nurse_b", day(2025, 1, 1), None),
        ("O7", "nurse_a", day(2024, 8, 15), None),
        ("O8", "nurse_b", day(2024, 9, 10), None),
    ]:
        role = "nurse" if who.startswith("nurse") else "specialist"
        CareTeamMember.objects.create(
            patient=p[name], professional=pro[who], role=role, start=start, end=end
        )

    # --- Steps ------------------------------------------------------------------------
    done, skipped, scheduled = Step.Status.DONE, Step.Status.SKIPPED, Step.Status.SCHEDULED
    step(pw["F1-ic"], steps["ic1", 1], day(2025, 2, 4), done, at(2025, 1, 30))  # on time
    # Done at 00:30 local on the day after the due date (23:30 UTC on the due date): late.
    step(pw["F1-ic"], steps["ic1", 2], day(2025, 3, 12), done, at(2025, 3, 13, 0, 30))
    step(pw["F1-pa"], steps["pa", 1], day(2025, 7, 1), done, at(2025, 6, 20))  # on time
    step(pw["F2"], steps["ic1", 1], day(2025, 3, 20), done, at(2025, 3, 25))  # late
    step(pw["F2"], steps["ic1", 2], day(2025, 4, 10), skipped)  # left out
    step(pw["F3"], steps["ic2", 1], day(2025, 4, 20), done, at(2025, 4, 18))  # on time
    step(pw["F3"], steps["ic2", 2], day(2025, 5, 5))  # never done
    step(pw["F4"], steps["ic2", 1], day(2025, 5, 25), done, at(2025, 5, 25))  # on the day
    step(pw["F5"], steps["pa", 1], day(2025, 6, 15), done, at(2025, 6, 14))  # on time
    step(pw["F5"], steps["pa", 2], day(2025, 7, 15), scheduled)  # not done
    step(pw["F6"], steps["ic2", 1], day(2025, 4, 25), done, at(2025, 5, 2))  # late
    step(pw["M1"], steps["ic2", 1], day(2025, 6, 15), done, at(2025, 6, 10))  # on time
    step(pw["M2"], steps["ic2", 1], day(2025, 7, 10), skipped)  # left out
    step(pw["M3"], steps["pa", 1], day(2025, 12, 31), done, at(2025, 12, 30))  # on time
    step(pw["M3"], steps["pa", 2], day(2026, 1, 2))  # due after the period
    step(pw["O1"], steps["ic1", 1], day(2024, 3, 16), done, at(2024, 3, 10))  # 2024, on time
    step(pw["O1"], steps["ic1", 2], day(2024, 3, 31), done, at(2024, 4, 2))  # 2024, late
    step(pw["O1"], steps["ic1", 3], day(2025, 1, 15), done, at(2025, 1, 10))  # 2025, on time
    step(pw["O3"], steps["ic1", 1], day(2024, 6, 16), done, at(2024, 6, 16, 18))  # 2024, on time
    step(pw["O4"], steps["ic1", 1], day(2023, 9, 16), done, at(2023, 9, 10))  # 2023
    step(pw["O4"], steps["ic1", 2], None)  # no due date yet

    # --- Referrals (service clock: 3 days) -------------------------------------------
    gp_a, gp_b = pro["gp_a"], pro["gp_b"]

    def three_days(sent):
        return sent + datetime.timedelta(days=3)

    sent = at(2025, 2, 11, 9)  # R1: acknowledged after 6 h (0.25 d), accepted in time
    referral(
        p["F1"],
        service,
        gp_a,
        sent,
        three_days(sent),
        acknowledged=at(2025, 2, 11, 15),
        responded=at(2025, 2, 12, 9),
    )
    sent = at(2025, 3, 2, 9)  # R2: refused after 2 d, in time
    referral(
        p["F2"], service, gp_a, sent, three_days(sent), responded=at(2025, 3, 4, 9), refused=True
    )
    sent = at(2025, 4, 2, 9)  # R3: acknowledged after 1 d, accepted late (5 d)
    referral(
        p["F3"],
        service,
        gp_a,
        sent,
        three_days(sent),
        acknowledged=at(2025, 4, 3, 9),
        responded=at(2025, 4, 7, 9),
    )
    sent = at(2025, 5, 1, 9)  # R4: acknowledged after 1.5 d, never accepted nor refused
    referral(p["F6"], service, gp_b, sent, three_days(sent), acknowledged=at(2025, 5, 2, 21))
    sent = at(2025, 6, 1, 9)  # R5: no answer at all, clock over
    referral(p["M1"], service, gp_b, sent, three_days(sent))
    sent = at(2025, 7, 1, 9)  # R6: accepted exactly at the end of the clock (3 d)
    referral(p["M2"], service, gp_b, sent, three_days(sent), responded=at(2025, 7, 4, 9))
    sent = at(2025, 8, 1, 9)  # R7: acknowledged after 0.5 d, accepted after 1 d
    referral(
        p["M3"],
        service,
        gp_b,
        sent,
        three_days(sent),
        acknowledged=at(2025, 8, 1, 21),
        responded=at(2025, 8, 2, 9),
    )
    sent = at(2025, 9, 1, 9)  # R8: accepted after 2 d
    referral(p["M4"], service, gp_b, sent, three_days(sent), responded=at(2025, 9, 3, 9))
    sent = at(2025, 10, 1, 9)  # R9: acknowledged after 4 d (late), accepted after 5 d
    referral(
        p["F4"],
        service,
        gp_a,
        sent,
        three_days(sent),
        acknowledged=at(2025, 10, 5, 9),
        responded=at(2025, 10, 6, 9),
    )
    sent = at(2025, 11, 1, 9)  # R10: refused after 9 d, late
    referral(
        p["F5"], service, gp_a, sent, three_days(sent), responded=at(2025, 11, 10, 9), refused=True
    )
    # R11: sent in 2025 with a clock still running today: sent, not answered, not over.
    referral(
        p["M5"], service, gp_a, at(2025, 12, 30, 9), timezone.now() + datetime.timedelta(days=30)
    )
    # Out of scope: a patient without any pathway.
    sent = at(2025, 5, 5, 9)
    referral(p["NP"], service, gp_a, sent, three_days(sent), responded=at(2025, 5, 6, 9))
    # 2024: two referrals answered in time (1 d and 2 d).
    sent = at(2024, 7, 1, 9)
    referral(p["O3"], service, gp_b, sent, three_days(sent), responded=at(2024, 7, 2, 9))
    sent = at(2024, 12, 31, 23, 30)
    referral(p["O5"], service, gp_a, sent, three_days(sent), responded=at(2025, 1, 2, 23, 30))

    # --- Care plans: (created, validated, next review) per version ---------------------
    author = pro["gp_a"]
    noon = 12
    care_plan(
        p["F1"],
        author,
        (at(2025, 2, 20), at(2025, 2, 25, noon), day(2025, 6, 15)),
        (at(2025, 6, 5), at(2025, 6, 11, noon), day(2025, 12, 5)),
    )
    care_plan(
        p["F2"],
        author,
        (at(2025, 2, 25), at(2025, 3, 2, noon), day(2025, 9, 1)),
        (at(2025, 9, 1, noon), None, None),  # saved on the review date itself
    )
    care_plan(
        p["F3"],
        author,
        (at(2025, 3, 12), at(2025, 3, 17, noon), day(2025, 7, 1)),
        (at(2025, 6, 20), None, None),
    )
    care_plan(
        p["F4"],
        author,
        (at(2025, 5, 10), at(2025, 5, 15, noon), day(2025, 10, 1)),
        # 00:30 local on the day after the review date (22:30 UTC on the date): late.
        (at(2025, 10, 2, 0, 30), None, None),
    )
    care_plan(
        p["F5"],
        author,
        (at(2025, 5, 25), at(2025, 5, 30, noon), day(2025, 11, 20)),
        (at(2025, 11, 25), None, None),
    )
    care_plan(p["M1"], author, (at(2025, 5, 28), at(2025, 6, 2, noon), day(2025, 8, 1)))
    care_plan(
        p["M2"],
        author,
        # Validated before the enrolment (2025-06-10): not the one that counts.
        (at(2025, 4, 25), at(2025, 5, 1, noon), day(2025, 6, 1)),
        (at(2025, 6, 15), at(2025, 6, 20, noon), day(2025, 12, 15)),
        (at(2025, 12, 10), None, None),
    )
    care_plan(p["M3"], author, (at(2025, 7, 10), None, None))  # never validated
    care_plan(
        p["M4"],
        author,
        (at(2025, 8, 3), at(2025, 8, 6, noon), day(2025, 10, 1)),
        (at(2025, 9, 30), None, None),
    )
    care_plan(
        p["O1"],
        author,
        (at(2024, 3, 5), at(2024, 3, 11, noon), day(2024, 9, 1)),
        (at(2024, 8, 20), None, None),
    )
    care_plan(p["O3"], author, (at(2024, 6, 15), at(2024, 6, 21, noon), day(2024, 12, 1)))

    # --- Alerts -----------------------------------------------------------------------
    overdue, discharge = Alert.Kind.STEP_OVERDUE, Alert.Kind.HOSPITAL_DISCHARGE
    # 00:30 local on 2025-01-01 (23:30 UTC on 2024-12-31): the reported period.
    alert(p["O1"], overdue, at(2025, 1, 1, 0, 30), acknowledged_after_hours=1)
    alert(p["F2"], overdue, at(2025, 3, 21, 9), acknowledged_after_hours=2)
    alert(p["F3"], overdue, at(2025, 5, 6, 9), acknowledged_after_hours=24, escalation_level=2)
    alert(p["F5"], overdue, at(2025, 7, 16, 9), escalation_level=2)
    alert(p["F6"], overdue, at(2025, 4, 26, 9), acknowledged_after_hours=10, escalation_level=1)
    alert(p["M3"], overdue, at(2025, 8, 10, 9), escalation_level=1)
    alert(p["F1"], discharge, at(2025, 2, 6, 11), acknowledged_after_hours=3)
    alert(p["F2"], discharge, at(2025, 3, 11, 11), acknowledged_after_hours=4)
    alert(p["F3"], discharge, at(2025, 4, 8, 11), acknowledged_after_hours=6, escalation_level=1)
    alert(p["M1"], discharge, at(2025, 6, 11, 11), acknowledged_after_hours=8)
    alert(p["M4"], discharge, at(2025, 11, 5, 11))
    alert(p["NP"], overdue, at(2025, 5, 5, 9), acknowledged_after_hours=1)  # out of scope
    # 00:30 local on 2026-01-01 (23:30 UTC on 2025-12-31): after the period.
    alert(p["F1"], discharge, at(2026, 1, 1, 0, 30), acknowledged_after_hours=1)
    alert(p["O1"], overdue, at(2024, 4, 1, 9), acknowledged_after_hours=3, escalation_level=1)
    alert(p["O3"], overdue, at(2024, 12, 31, 23, 30))

    # --- Liaison messages -------------------------------------------------------------
    for name, when in [
        ("F1", at(2025, 3, 1)),
        ("F1", at(2025, 4, 1)),
        ("F2", at(2025, 5, 1)),
        ("F3", at(2025, 6, 1)),
        ("M1", at(2025, 7, 1)),
        ("M2", at(2025, 8, 1)),
        ("M2", at(2025, 12, 31, 23, 30)),  # 22:30 UTC: still 2025
        ("O1", at(2025, 2, 1)),
        ("NP", at(2025, 5, 5)),  # out of scope
        ("F1", at(2026, 1, 1, 0, 30)),  # after the period
        ("O1", at(2024, 4, 1)),
        ("O1", at(2024, 10, 1)),
        ("O3", at(2024, 7, 1)),
        ("O3", at(2023, 7, 1)),  # before both periods
    ]:
        LiaisonMessage.objects.create(patient=p[name], author=gp_a.user, body="…", sent_at=when)

    # --- Hospital feed and the care around it -----------------------------------------
    chu, clinique = org["chu"], org["clinique"]
    stay(p["O1"], at(2024, 12, 28), at(2025, 1, 3), chu)  # 6 days, ends in 2025
    event(
        p["O1"], Kind.HOME_VISIT, at(2025, 1, 5), author=pro["nurse_a"], organization=org["nursing"]
    )
    stay(p["F1"], at(2025, 2, 1), at(2025, 2, 6), chu)  # 5 days; readmitted 02-20
    event(p["F1"], Kind.CONSULTATION, at(2025, 2, 8), author=gp_a, organization=org["lilas"])
    event(p["F1"], Kind.EMERGENCY_VISIT, at(2025, 2, 20, 9), organization=chu)  # admitted 1 h later
    stay(p["F1"], at(2025, 2, 20), at(2025, 2, 24), chu)  # 4 days
    stay(p["F2"], at(2025, 3, 1), at(2025, 3, 11), chu)  # 10 days; readmitted 03-25
    event(
        p["F2"],
        Kind.HOME_VISIT,
        at(2025, 3, 15),
        author=pro["nurse_a"],
        organization=org["nursing"],
    )
    stay(p["F2"], at(2025, 3, 25), at(2025, 3, 28), chu)  # 3 days
    stay(p["F3"], at(2025, 4, 1), at(2025, 4, 8), chu)  # 7 days; readmitted 05-01 (23 d)
    # Exactly 7 days after the discharge: still within the 7 days.
    event(p["F3"], Kind.CONSULTATION, at(2025, 4, 15), author=gp_a, organization=org["lilas"])
    stay(p["F3"], at(2025, 5, 1), at(2025, 5, 3), chu)  # 2 days
    stay(p["F4"], at(2025, 5, 10, 9), at(2025, 5, 12), chu)  # 2 days
    # 7 days and 1 hour after the discharge: too late.
    event(p["F4"], Kind.CONSULTATION, at(2025, 5, 19, 11), author=gp_a, organization=org["lilas"])
    # 30 days and 23 hours after the discharge: not a readmission.
    stay(p["F4"], at(2025, 6, 12, 9), at(2025, 6, 15), chu)  # 3 days
    stay(p["M1"], at(2025, 6, 1), at(2025, 6, 11), chu)  # 10 days; readmitted 07-01 (20 d)
    # A specialist (not the GP, not a nurse), then the GP's note (not a consultation or visit).
    event(p["M1"], Kind.CONSULTATION, at(2025, 6, 13), author=pro["cardio"], organization=chu)
    stay(p["M1"], at(2025, 7, 1), at(2025, 7, 6), chu)  # 5 days
    event(p["M1"], Kind.NOTE, at(2025, 7, 7), author=gp_b, organization=org["msp_est"])
    stay(p["M2"], at(2025, 9, 1), at(2025, 9, 5), chu)  # 4 days
    event(p["M2"], Kind.CONSULTATION, at(2025, 9, 6), author=pro["nurse_b"])  # no organisation
    stay(p["M3"], at(2025, 10, 1), at(2025, 10, 4), clinique)  # 3 days; readmitted 10-20
    event(p["M3"], Kind.HOME_VISIT, at(2025, 10, 5), author=gp_b, organization=org["msp_est"])
    stay(p["M3"], at(2025, 10, 20), at(2025, 10, 30), clinique)  # 10 days
    # M4: the GP saw him the day before his discharge (not after it).
    event(p["M4"], Kind.HOSPITAL_ADMISSION, at(2025, 11, 1), organization=chu)
    event(p["M4"], Kind.CONSULTATION, at(2025, 11, 4), author=gp_b, organization=org["msp_est"])
    event(p["M4"], Kind.HOSPITAL_DISCHARGE, at(2025, 11, 5), organization=chu)  # 4 days
    wrong = event(p["M4"], Kind.HOSPITAL_DISCHARGE, at(2025, 11, 20), organization=chu)
    entered_in_error(wrong, at(2025, 11, 20, 12))
    event(p["M4"], Kind.EMERGENCY_VISIT, at(2025, 7, 7), organization=chu)  # not admitted
    wrong = event(p["M4"], Kind.EMERGENCY_VISIT, at(2025, 9, 9), organization=chu)
    entered_in_error(wrong, at(2025, 9, 9, 12))
    event(p["F5"], Kind.EMERGENCY_VISIT, at(2025, 6, 3), organization=chu)  # not admitted
    event(p["F5"], Kind.EMERGENCY_VISIT, at(2025, 8, 8), organization=chu)
    event(p["F5"], Kind.HOSPITAL_ADMISSION, at(2025, 8, 9, 9), organization=chu)  # 23 h later
    event(p["F6"], Kind.EMERGENCY_VISIT, at(2025, 4, 4), organization=chu)  # not admitted
    event(p["F6"], Kind.EMERGENCY_VISIT, at(2025, 6, 6), organization=chu)
    event(p["F6"], Kind.HOSPITAL_ADMISSION, at(2025, 6, 7, 11), organization=chu)  # 25 h later
    event(p["M5"], Kind.EMERGENCY_VISIT, at(2025, 10, 5), organization=chu)  # not admitted
    # Not followed in 2025 (O2 ended in 2024, X2 in 2023): none of this counts in 2025.
    stay(p["O2"], at(2025, 2, 1), at(2025, 2, 5), chu)
    event(
        p["O2"], Kind.CONSULTATION, at(2025, 3, 1), author=pro["stray"], organization=org["ehpad"]
    )
    event(p["X2"], Kind.EMERGENCY_VISIT, at(2025, 3, 3), organization=org["nord"])
    event(
        p["PX"],
        Kind.CONSULTATION,
        at(2025, 4, 10),
        author=pro["outsider"],
        organization=org["nord"],
    )
    event(
        p["NP"],
        Kind.CONSULTATION,
        at(2025, 4, 11),
        author=pro["outsider"],
        organization=org["nord"],
    )
    # 2024.
    stay(p["O4"], at(2024, 3, 1), at(2024, 3, 8), chu)  # 7 days; readmitted 03-20
    stay(p["O4"], at(2024, 3, 20), at(2024, 3, 22), chu)  # 2 days
    stay(p["O7"], at(2024, 9, 1), at(2024, 9, 4), chu)  # 3 days
    event(
        p["O7"], Kind.HOME_VISIT, at(2024, 9, 5), author=pro["nurse_a"], organization=org["nursing"]
    )
    event(p["O5"], Kind.EMERGENCY_VISIT, at(2024, 11, 11), organization=chu)  # not admitted
    event(p["O2"], Kind.CONSULTATION, at(2024, 6, 1), author=gp_a, organization=org["lilas"])
    event(p["O3"], Kind.CONSULTATION, at(2024, 7, 1), author=gp_b, organization=org["msp_est"])
    event(p["O5"], Kind.CONSULTATION, at(2024, 10, 15), author=pro["cardio"], organization=chu)
    event(p["O8"], Kind.CONSULTATION, at(2024, 9, 20), author=pro["nurse_b"])
    # F1 is followed from 2025 only: her 2024 consultation does not count in 2024.
    event(
        p["F1"], Kind.CONSULTATION, at(2024, 5, 5), author=pro["stray"], organization=org["ehpad"]
    )
    return t


@pytest.fixture
def territory(make_patient, make_professional, commune) -> Territory:
    return build_territory(make_patient, make_professional, commune)


# --- Reading the evaluation -------------------------------------------------------------


def values(evaluation: Evaluation) -> dict[str, tuple]:
    """{indicator code: (current, previous)}."""
    return {i.code: (i.current, i.previous) for i in evaluation.indicators}


def rows(evaluation: Evaluation, code: str) -> dict[str, tuple]:
    """{row label: (current, previous)} of one breakdown."""
    (breakdown,) = [b for b in evaluation.breakdowns if b.code == code]
    return {str(row.label): (row.current, row.previous) for row in breakdown.rows}


def approx(pair: tuple) -> tuple:
    return tuple(pytest.approx(v) if isinstance(v, float) else v for v in pair)


# --- Activity ---------------------------------------------------------------------------


def test_active_file_and_inclusions(territory):
    v = values(compute_evaluation(QUERY))
    # 2025: F1-F6, M1-M5 (11 patients, 12 pathways: F1 has two), O1, O3 (ended on
    # 2025-01-01, the first day), O4 (enrolled 2023), O5 (suspended), O6, O7, O8 = 18.
    # Not: O2 (ended 2024-11-30), PX (proposed), X2 (ended 2023), X3 (2026), NP.
    # 2024: O1-O8 = 8 (O2 until 2024-11-30, O6 from 2024-12-31, O4 since 2023).
    assert v["active_file"] == (11 + 7, 8)
    # Pathways enrolled in 2025 (not proposed): F1 x2, F2-F6, M1-M5 = 12 (PX proposed, X3
    # in 2026). In 2024: O1, O2, O3, O5, O6 (on 12-31), O7, O8 = 7 (O4: 2023).
    assert v["inclusions"] == (12, 7)


def test_inclusion_breakdowns(territory):
    evaluation = compute_evaluation(QUERY)
    # Per template, all versions together, labelled with the current version's name.
    # 2025: ic = F1, F2 (v1), F3, F4, F6, M1, M2 (v2) = 7; pa = F1, F5, M3, M4, M5 = 5.
    # 2024: ic = O1, O3, O5, O7, O8 = 5; pa = O2, O6 = 2 -> "< 5", and the 5 must be
    # masked too (else 7 - 5 = 2 from the published total).
    assert rows(evaluation, "inclusions_by_pathway") == {
        "Insuffisance cardiaque chronique": (7, SECRET),
        "Personne âgée fragile": (5, MASKED),
    }
    # Per origin. 2025: hospital = F1-ic, M1, M5 = 3 -> "< 5"; GP = 12 - 3 = 9 -> "s".
    # 2024: GP = O1, O5, O8 = 3; hospital = O3, O7 = 2; patient/family = O2 = 1; social
    # services = O6 = 1: all small, two or more masked in the row (sum 7): nothing more.
    assert rows(evaluation, "inclusions_by_origin") == {
        "Médecin traitant": (SECRET, MASKED),
        "Établissement de santé": (MASKED, MASKED),
        "Patient ou entourage": (0, MASKED),
        "Services sociaux": (0, MASKED),
    }
    # Per sector of residence. 2025: Lyon Centre = F1 x2, F2, F3, F4, F5 = 6; Rhône Est =
    # F6, M1-M4 = 5; none = M5 = 1 -> "< 5", and the smallest other (5) -> "s".
    # 2024: Lyon Centre = O1, O2, O5, O6, O8 = 5 -> "s"; Rhône Est = O3, O7 = 2 -> "< 5".
    assert rows(evaluation, "inclusions_by_sector") == {
        "Lyon Centre": (6, SECRET),
        "Rhône Est": (SECRET, MASKED),
        "Secteur non renseigné": (MASKED, 0),
    }
    # Age at enrolment x sex. 2025: 7 women aged 75-84 (F2 84 the day before turning 85,
    # F4 75 on the day), 5 men 85+ (M1 85 on the day): no small cell, nothing masked.
    # 2024: women 75-84 = O1, O3, O5, O6, O8 = 5; men 60-74 = O2 (68), O7 (74 the day
    # before turning 75) = 2 -> "< 5". Its row total (2) and column total (2) are small
    # too; the row totals (0, 2, 5, 0 of 7) then hide the 5, whose row (5 alone) must
    # hide its cell: women 75-84 -> "s".
    age_sex = rows(evaluation, "inclusions_by_age_sex")
    # Four age bands x the two sexes present (nobody is "indéterminé": no such rows).
    assert len(age_sex) == 4 * 2
    expected = dict.fromkeys(age_sex, (0, 0))
    expected["75-84 ans · Femme"] = (7, SECRET)
    expected["85+ ans · Homme"] = (5, 0)
    expected["60-74 ans · Homme"] = (0, MASKED)
    assert age_sex == expected


def test_active_professionals_and_organizations(territory):
    """The authors of entries written during a period about patients followed during
    that same period ("dans le fil d'un patient suivi pendant la période"): a doctor who
    wrote only about patients not followed at the time does not count."""
    v = values(compute_evaluation(QUERY))
    # 2025 entries about patients followed in 2025: gp_a (F1, F3, F4), nurse_a (O1, F2),
    # cardio (M1), gp_b (M1's note, M3, M4), nurse_b (M2) = 5 authors (hospital entries have
    # none). Organisations: CHU (stays, cardio), Clinique du Parc (M3), Cabinet des Lilas,
    # Cabinet infirmier, MSP Est = 5 (nurse_b's entry has none).
    # Not counted: "stray" at the EHPAD writing about O2 (followed in 2024 only), the
    # outsider at Hôpital Nord writing about PX (proposed) and NP (no pathway).
    # 2024 entries about O1-O8: gp_a (O2), gp_b (O3), cardio (O5), nurse_a (O7), nurse_b
    # (O8) = 5; organisations CHU, Lilas, MSP Est, Cabinet infirmier = 4 -> "< 5". Not:
    # "stray" about F1, followed from 2025 only.
    expected = {"active_professionals": (5, 5), "active_organizations": (5, MASKED)}
    assert {code: v[code] for code in expected} == expected


# --- Process ----------------------------------------------------------------------------


def test_process_indicators(territory):
    v = values(compute_evaluation(QUERY))
    # Steps due in 2025, skipped ones (F2 #2, M2 #1) left out: F1 ic #1 (on time), F1 ic #2
    # (done 00:30 local the next day: late), F1 pa #1 (on time), F2 #1 (late), F3 #1 (on
    # time), F3 #2 (not done), F4 #1 (done on the due day), F5 #1 (on time), F5 #2 (only
    # scheduled), F6 #1 (late), M1 #1 (on time), M3 #1 (due 12-31, on time), O1 #3 (on
    # time) = 13 due, 8 on time. (M3 #2 is due in 2026, O4 #2 has no due date.)
    # 2024: O1 #1 (on time), O1 #2 (late), O3 #1 (on time) = 2 of 3 -> "< 5".
    assert approx(v["steps_on_time"]) == (8 / 13, MASKED)
    # Referrals sent in 2025 for patients in scope (NP has no pathway), first answer in
    # days: R1 0.25, R2 2, R3 1, R4 1.5, R6 3, R7 0.5, R8 2, R9 4 (the acknowledgement),
    # R10 9; R5 and R11 unanswered -> 9 values, the median is the 5th of
    # 0.25 0.5 1 1.5 2 2 3 4 9 = 2. 2024: two answers -> "< 5".
    assert approx(v["referral_first_answer_median"]) == (2.0, MASKED)
    # Clock over or answered: R1-R10 = 10 (R11's clock still runs); accepted or refused by
    # the deadline: R1, R2, R6 (at the deadline), R7, R8 = 5 -> 5/10. 2024: 2 of 2 -> "< 5".
    assert approx(v["referrals_within_clock"]) == (5 / 10, MASKED)
    # Pathways enrolled in 2025, days to the first validation since the enrolment:
    # F1-ic 01-20 -> 02-25 = 36, F1-pa 06-01 -> 06-11 = 10, F2 02-15 -> 03-02 = 15,
    # F3 03-10 -> 03-17 = 7, F4 04-15 -> 05-15 = 30, F5 05-10 -> 05-30 = 20,
    # M1 05-20 -> 06-02 = 13, M2 06-10 -> 06-20 = 10 (not the 05-01 one), M4 08-01 -> 08-06
    # = 5; F6, M3 (never validated), M5 have none -> 9 values:
    # 5 7 10 10 13 15 20 30 36, median 13. 2024: O1 10, O3 20 -> "< 5".
    assert approx(v["care_plan_validation_median"]) == (13.0, MASKED)
    # Review dates in 2025: F1 v1 06-15 (v2 saved 06-05: yes), F1 v2 12-05 (no), F2 v1
    # 09-01 (v2 saved that day: yes), F3 v1 07-01 (yes), F4 v1 10-01 (v2 at 00:30 on
    # 10-02: no), F5 v1 11-20 (v2 on 11-25: no), M1 v1 08-01 (no), M2 v1 06-01 (v2 on
    # 06-15: no), M2 v2 12-15 (v3 on 12-10: yes), M4 v1 10-01 (v2 on 09-30: yes)
    # -> 5 of 10. 2024: O1 v1 (yes), O3 v1 (no) -> 1 of 2 -> "< 5".
    assert approx(v["care_plans_reviewed_on_time"]) == (5 / 10, MASKED)
    # Discharges in 2025 of followed patients (see test_outcome_indicators): 15. Contact by
    # the GP or a nurse, consultation or home visit, within 7 days after: O1 (nurse, 2 d),
    # F1 #1 (GP, 2 d), F2 #1 (nurse, 4 d), F3 #1 (GP, exactly 7 d), M2 (nurse, 1 d), M3 #1
    # (GP home visit, 1 d) = 6. Not: F4 #1 (7 d 1 h), M1 #1 (a cardiologist), M1 #2 (the
    # GP's note), M4 (GP before the discharge). 6/15. 2024: O7 (nurse), 1 of 3 -> "< 5".
    assert approx(v["discharge_contact_7_days"]) == (6 / 15, MASKED)


def test_care_plan_validated_in_the_night_of_the_enrolment_day(territory):
    """A validation between local midnight and 01:00/02:00 on the enrolment day (still
    the previous day in UTC, the database session's time zone) is 0 days after the
    enrolment: dates are compared in local time."""
    # F6, enrolled 2025-03-20, has her care plan validated at 00:30 local that very day.
    care_plan(
        territory.patients["F6"],
        territory.professionals["gp_a"],
        (at(2025, 3, 19, 20), at(2025, 3, 20, 0, 30), None),
    )
    v = values(compute_evaluation(QUERY))
    # 0 5 7 10 10 13 15 20 30 36: median (10 + 13) / 2.
    assert approx(v["care_plan_validation_median"]) == ((10 + 13) / 2, MASKED)


# --- Coordination -----------------------------------------------------------------------


def test_coordination_indicators(territory):
    evaluation = compute_evaluation(QUERY)
    v = values(evaluation)
    # 2025: 6 steps overdue (O1 at 00:30 local on 01-01, F2, F3, F5, F6, M3) + 5 discharges
    # (F1, F2, F3, M1, M4) = 11. Not: NP (no pathway), F1's at 00:30 on 2026-01-01.
    # 2024: O1 (04-01), O3 (12-31 23:30 local) = 2 -> "< 5".
    assert v["alerts"] == (11, MASKED)
    assert rows(evaluation, "alerts_by_kind") == {
        "Sortie d'hospitalisation": (5, 0),
        "Étape en retard": (6, MASKED),
    }
    # Acknowledged in 2025 after 1, 2, 24, 10, 3, 4, 6, 8 hours (F5, M3, M4 never):
    # 1 2 3 4 6 8 10 24 -> median (4 + 6) / 2 = 5 h. 2024: one -> "< 5".
    assert approx(v["alert_acknowledgement_median"]) == (5.0, MASKED)
    # Escalated (level 1 or 2): F3, F5, F6, M3, F3's discharge = 5. 2024: O1's -> "< 5".
    assert v["escalations"] == (5, MASKED)
    # Liaison messages: F1 x2, F2, F3, M1, M2 x2 (one at 23:30 local on 12-31), O1 = 8.
    # Not: NP's, F1's at 00:30 on 2026-01-01. 2024: O1 x2, O3 = 3 -> "< 5".
    assert v["messages"] == (8, MASKED)
    # Care-team members at the end of the period, per followed patient. 2025 (18 patients):
    # the GP of the 13 with one (all but F5, F6, M5, O4, O6) + F1, F4, F6, M3, M4, O1, O5,
    # O7 nurse_a, F5, M2, O3, O6, O8 nurse_b, M1 cardio (14) = 27 -> 27/18. Not: F2's nurse
    # (left on 12-31), F3's cardiologist (from 2026), O1's cardiologist (left 2025-06-30).
    # 2024 (8 patients): GPs of O1, O2, O3, O5, O7, O8 (6) + O1 nurse and cardiologist,
    # O3, O7, O8 nurses (5) = 11 -> 11/8. (O5's nurse from 2025-02-01, O6's from 2025-01-01.)
    assert approx(v["professionals_per_patient"]) == (27 / 18, 11 / 8)


# --- Outcomes ---------------------------------------------------------------------------


def test_outcome_indicators(territory):
    v = values(compute_evaluation(QUERY))
    # Discharges in 2025 of patients followed in 2025, with the stay since the last
    # admission (local dates) and whether an admission follows within 30 days:
    #   O1 12-28 -> 01-03  6 d  no
    #   F1 02-01 -> 02-06  5 d  yes (02-20)     F1 02-20 -> 02-24  4 d  no
    #   F2 03-01 -> 03-11 10 d  yes (03-25)     F2 03-25 -> 03-28  3 d  no
    #   F3 04-01 -> 04-08  7 d  yes (05-01)     F3 05-01 -> 05-03  2 d  no
    #   F4 05-10 -> 05-12  2 d  no (30 d 23 h)  F4 06-12 -> 06-15  3 d  no
    #   M1 06-01 -> 06-11 10 d  yes (07-01)     M1 07-01 -> 07-06  5 d  no
    #   M2 09-01 -> 09-05  4 d  no
    #   M3 10-01 -> 10-04  3 d  yes (10-20)     M3 10-20 -> 10-30 10 d  no
    #   M4 11-01 -> 11-05  4 d  no  (its 11-20 discharge was entered in error)
    # = 15 discharges, 5 readmitted. O2's stay (not followed in 2025) is left out.
    # 2024: O4 03-01 -> 03-08 7 d (readmitted 03-20), O4 03-20 -> 03-22 2 d, O7 09-01 ->
    # 09-04 3 d: 1 of 3 -> "< 5".
    assert approx(v["readmissions_30_days"]) == (5 / 15, MASKED)
    # Emergency visits of followed patients without an admission within 24 h: F5 06-03, F6
    # 04-04, F6 06-06 (admitted 25 h later), M4 07-07, M5 10-05 = 5. Not: F1 02-20
    # (admitted 1 h later), F5 08-08 (23 h later), M4 09-09 (entered in error), X2 (not
    # followed). 2024: O5 -> "< 5".
    assert v["emergencies_not_admitted"] == (5, MASKED)
    # 6 + 5 + 4 + 10 + 3 + 7 + 2 + 2 + 3 + 10 + 5 + 4 + 3 + 10 + 4 = 78 days over 15 stays.
    # 2024: 7 + 2 + 3 = 12 days over 3 stays -> "< 5" (a statistic over 1-4 stays).
    assert v["hospital_days"] == (78, MASKED)
    assert approx(v["mean_stay"]) == (78 / 15, MASKED)


def test_entries_entered_in_error_count_nowhere(territory):
    """Every entry marked entered in error is left out, wherever the hospital statement
    reads the timeline: the discharges and emergency visits counted, and the readmission,
    the admission after an emergency visit, the stay's admission and the discharges in
    between, the contact after a discharge."""
    p, pro, chu = territory.patients, territory.professionals, territory.organizations["chu"]
    # An admission of M2 entered 15 days after his 09-05 discharge, then corrected.
    wrong = event(p["M2"], Kind.HOSPITAL_ADMISSION, at(2025, 9, 20), organization=chu)
    entered_in_error(wrong, at(2025, 9, 20, 12))
    # An admission of F5 4 hours after her 06-03 emergency visit, then corrected.
    wrong = event(p["F5"], Kind.HOSPITAL_ADMISSION, at(2025, 6, 3, 14), organization=chu)
    entered_in_error(wrong, at(2025, 6, 3, 15))
    # M5: admitted 11-10, a discharge on 11-11 entered in error, the real one on 11-15.
    event(p["M5"], Kind.HOSPITAL_ADMISSION, at(2025, 11, 10), organization=chu)
    wrong = event(p["M5"], Kind.HOSPITAL_DISCHARGE, at(2025, 11, 11), organization=chu)
    entered_in_error(wrong, at(2025, 11, 11, 12))
    event(p["M5"], Kind.HOSPITAL_DISCHARGE, at(2025, 11, 15), organization=chu)
    # A consultation by M4's GP the day after his discharge, entered on the wrong patient.
    wrong = event(p["M4"], Kind.CONSULTATION, at(2025, 11, 6), author=pro["gp_b"], organization=chu)
    entered_in_error(wrong, at(2025, 11, 6, 12))

    v = values(compute_evaluation(QUERY))
    expected = {
        # 15 discharges + M5's real one = 16; still 5 readmitted (M2's is not one).
        "readmissions_30_days": (5 / 16, MASKED),
        # Still 5 emergency visits not followed by an admission (F5's 06-03 included).
        "emergencies_not_admitted": (5, MASKED),
        # M5's stay 11-10 -> 11-15 = 5 days: 78 + 5 = 83 days over 16 stays.
        "hospital_days": (83, MASKED),
        "mean_stay": (83 / 16, MASKED),
        # Still 6 discharges followed by a contact (M4's consultation never happened), of 16.
        "discharge_contact_7_days": (6 / 16, MASKED),
    }
    assert {code: approx(v[code]) for code in expected} == expected


# --- Quality ----------------------------------------------------------------------------


def test_quality_indicators(territory):
    v = values(compute_evaluation(QUERY))
    # Of the 18 followed in 2025, qualified: F1, F2, F3, F4, M1, M2, M3, O1, O3, O5 = 10.
    # Read as of today only: no previous value.
    assert approx(v["qualified_identities"]) == (10 / 18, None)
    # With a GP: all but F5, F6, M5, O4, O6 = 13 of 18.
    assert approx(v["files_with_gp"]) == (13 / 18, None)
    # No referent on any pathway followed in 2025: F5, F6, M5, O4, O6, O8 = 6 (F1 has one
    # on her ic pathway, none on her pa pathway: she has a referent).
    assert v["files_without_referent"] == (6, None)


# --- Scope ------------------------------------------------------------------------------


def test_scope_one_template_all_versions(territory):
    evaluation = compute_evaluation(EvaluationQuery(QUERY.start, QUERY.end, template="ic"))
    v = values(evaluation)
    # ic pathways (v1 and v2) followed in 2025: F1, F2, F3, F4, F6, M1, M2, O1, O3, O4,
    # O5, O7, O8 = 13 patients; 2024: O1, O3, O4, O5, O7, O8 = 6.
    assert v["active_file"] == (13, 6)
    # ic enrolments: 2025 F1, F2, F3, F4, F6, M1, M2 = 7; 2024 O1, O3, O5, O7, O8 = 5.
    assert v["inclusions"] == (7, 5)
    assert rows(evaluation, "inclusions_by_pathway") == {"Insuffisance cardiaque chronique": (7, 5)}
    # ic steps due in 2025: F1 #1 yes, F1 #2 no, F2 #1 no, F3 #1 yes, F3 #2 no, F4 #1 yes,
    # F6 #1 no, M1 #1 yes, O1 #3 yes: 5 of 9, 4 not on time -> "< 5" (the denominator
    # minus the numerator is small).
    assert v["steps_on_time"] == (MASKED, MASKED)
    # Referrals for the ic patients, answered: R1 0.25, R2 2, R3 1, R4 1.5, R6 3, R9 4
    # -> 0.25 1 1.5 2 3 4, median (1.5 + 2) / 2.
    assert approx(v["referral_first_answer_median"]) == ((1.5 + 2) / 2, MASKED)
    # Discharges of the ic patients: O1, F1 x2, F2 x2, F3 x2, F4 x2, M1 x2, M2 = 12;
    # contact: O1, F1, F2, F3, M2 = 5 -> 5/12. Days 6 + 9 + 13 + 9 + 5 + 15 + 4 = 61.
    # 2024: O4 x2 and O7 (ic), as on the whole territory.
    assert approx(v["discharge_contact_7_days"]) == (5 / 12, MASKED)
    assert v["hospital_days"] == (61, MASKED)
    # Alerts: O1, F2, F3, F6 (overdue), F1, F2, F3, M1 (discharge) = 8; messages: F1 x2,
    # F2, F3, M1, M2 x2, O1 = 8.
    assert v["alerts"] == (8, MASKED)
    assert v["messages"] == (8, MASKED)


def test_scope_one_sector(territory):
    evaluation = compute_evaluation(EvaluationQuery(QUERY.start, QUERY.end, sector="Rhône Est"))
    v = values(evaluation)
    # Patients living in Rhône Est: F6, M1-M4, O3, O4, O7. Followed in 2025: all 8; in
    # 2024: O3, O4, O7 = 3 -> "< 5".
    assert v["active_file"] == (8, MASKED)
    # Enrolled in 2025: F6, M1, M2, M3, M4 = 5; in 2024: O3, O7 = 2 -> "< 5".
    assert v["inclusions"] == (5, MASKED)
    assert rows(evaluation, "inclusions_by_sector") == {"Rhône Est": (5, MASKED)}
    # 2025: ic F6, M1, M2 = 3, pa M3, M4 = 2; 2024: ic O3, O7 = 2.
    assert rows(evaluation, "inclusions_by_pathway") == {
        "Insuffisance cardiaque chronique": (MASKED, MASKED),
        "Personne âgée fragile": (MASKED, 0),
    }
    # Discharges: M1 x2, M2, M3 x2, M4 = 6, readmitted M1, M3 = 2 -> "< 5".
    # Days: 10 + 5 + 4 + 3 + 10 + 4 = 36 over 6 stays, mean 6. 2024: O4 x2, O7 x1 -> "< 5".
    assert approx(v["readmissions_30_days"]) == (MASKED, MASKED)
    assert v["hospital_days"] == (36, MASKED)
    assert approx(v["mean_stay"]) == (36 / 6, MASKED)
    # Care teams at the end of 2025: F6 1, M1 2, M2 2, M3 2, M4 2, O3 2, O4 0, O7 2 = 13
    # over 8; 2024: 3 patients -> "< 5".
    assert approx(v["professionals_per_patient"]) == (13 / 8, MASKED)
    # With a GP: M1, M2, M3, M4, O3, O7 = 6 of 8: 2 without -> "< 5".
    assert v["files_with_gp"] == (MASKED, None)


# --- Masking ----------------------------------------------------------------------------


def test_masking_of_small_counts_shares_and_statistics(territory):
    evaluation = compute_evaluation(QUERY)
    indicators = {i.code: i for i in evaluation.indicators}
    # A count of 1 to 4: 2024's 2 alerts, 1 escalation, 3 messages, 1 emergency visit.
    for code in ("alerts", "escalations", "messages", "emergencies_not_admitted"):
        assert indicators[code].previous == MASKED, code
        assert indicators[code].previous_text == "< 5"
        assert indicators[code].trend == ""  # no trend from a masked value
    # A share whose numerator is 1 to 4: 2024 readmissions 1/3, referrals in time 2/2.
    assert indicators["readmissions_30_days"].previous == MASKED
    assert indicators["referrals_within_clock"].previous == MASKED
    # A statistic over 1 to 4: 2024 acknowledgement median (1 alert), mean stay (3 stays).
    assert indicators["alert_acknowledgement_median"].previous == MASKED
    assert indicators["mean_stay"].previous == MASKED
    # A breakdown with one small cell masks a second one: 2024 inclusions per pathway.
    assert rows(evaluation, "inclusions_by_pathway")["Insuffisance cardiaque chronique"] == (
        7,
        SECRET,
    )
    # Shown values: exact counts of 5 or more, shares when both parts are.
    assert indicators["inclusions"].current == 12
    assert indicators["readmissions_30_days"].current == pytest.approx(1 / 3)
