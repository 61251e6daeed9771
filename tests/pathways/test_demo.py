"""The demo territory generator: consistency, variety, demo accounts, determinism.

One tiny territory is built for the whole module (and removed afterwards); each test
runs in a transaction rolled back at its end, so tests that rebuild it leave it intact.
"""

import datetime
from io import StringIO

import pytest
from django.conf import settings
from django.contrib.auth.hashers import is_password_usable
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from django.db.models import Count, Exists, F, Max, Min, OuterRef, Q, Subquery, Sum
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from pathways.demo import DEMO_ACCOUNTS, seed_demo
from pathways.demo.accounts import DEMO_TOTP_SECRET, PROFESSIONALS_DOMAIN, delete_demo_accounts
from pathways.demo.bulk import truncate_app_tables
from pathways.demo.generator import BULK_TABLES
from pathways.evaluation.indicators import compute_evaluation
from pathways.evaluation.queries import EvaluationQuery
from pathways.models import (
    Alert,
    CarePlan,
    CarePlanVersion,
    Pathway,
    Referral,
    Step,
    StepTemplate,
    Transition,
)
from pathways.services.scan import scan_care_plan_reviews, scan_unanswered_referrals
from patients.models import (
    CareTeamMember,
    ConsentRecord,
    LiaisonMessage,
    Patient,
    SeenMark,
    TimelineEvent,
)
from portal.models import SatisfactionResponse
from portal.questionnaires import quarterly_due
from professionals.models import Organization, PractitionerRole, Professional, SupportService
from tests.totp import totp
from tsn.identifiers import (
    validate_adeli,
    validate_finess,
    validate_insee_commune,
    validate_nir,
    validate_postcode,
    validate_rpps,
    validate_siret,
)
from tsn.models import Commune, Territory, User
from tsn.periods import in_effect_on

SCALE = 0.001
SEED = 7
TODAY = datetime.date(2026, 6, 15)
# The generated world's present (`Context.now`).
NOW = datetime.datetime.combine(TODAY, datetime.time(), tzinfo=timezone.get_default_timezone())
DEMO = "@demo.tsn.test"
OPEN_STEPS = [Step.Status.PLANNED, Step.Status.SCHEDULED]


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        counts = seed_demo(scale=SCALE, seed=SEED, today=TODAY)
    yield counts
    with django_db_blocker.unblock(), transaction.atomic():
        truncate_app_tables()
        delete_demo_accounts()


pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("demo")]


def demo_professional(key: str) -> Professional:
    return Professional.objects.get(user__email=f"{key}{DEMO}")


def fingerprint() -> tuple:
    """Digests of the patients, timelines, steps, care plans, referrals and liaison
    messages, and the main counts."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT md5(string_agg(concat_ws('|', birth_last_name, first_names, nir, birth_date,"
            " identity_status, gp_id), ',' ORDER BY id)) FROM patients_patient"
        )
        patients = cursor.fetchone()[0]
        cursor.execute(
            "SELECT md5(string_agg(concat_ws('|', patient_id, kind, title, occurred_at, author_id,"
            " corrects_id), ',' ORDER BY id)) FROM patients_timelineevent"
        )
        events = cursor.fetchone()[0]
        cursor.execute(
            "SELECT md5(string_agg(concat_ws('|', pathway_id, status, due_on, done_at),"
            " ',' ORDER BY id)) FROM pathways_step"
        )
        steps = cursor.fetchone()[0]
        cursor.execute(
            "SELECT md5(string_agg(concat_ws('|', v.care_plan_id, c.patient_id, v.number,"
            " u.email, v.created_at, v.next_review_on, v.needs, v.goals, v.actions,"
            " v.validated_by_id, v.validated_at), ',' ORDER BY v.id))"
            " FROM pathways_careplanversion v JOIN pathways_careplan c ON c.id = v.care_plan_id"
            " JOIN tsn_user u ON u.id = v.author_id"
        )
        care_plans = cursor.fetchone()[0]
        cursor.execute(
            "SELECT md5(string_agg(concat_ws('|', patient_id, service_id, pathway_id, sent_by_id,"
            " sent_at, status, acknowledged_at, responded_at, responded_by_id, closed_at),"
            " ',' ORDER BY id)) FROM pathways_referral"
        )
        referrals = cursor.fetchone()[0]
        cursor.execute(
            "SELECT md5(string_agg(concat_ws('|', m.patient_id, u.email, m.body, m.sent_at),"
            " ',' ORDER BY m.id)) FROM patients_liaisonmessage m"
            " JOIN tsn_user u ON u.id = m.author_id"
        )
        messages = cursor.fetchone()[0]
    counts = tuple(model.objects.count() for model in BULK_TABLES)
    return patients, events, steps, care_plans, referrals, messages, counts


# --- Patients and care teams ----------------------------------------------------------


def test_every_patient_has_a_gp_who_is_an_active_gp_member_of_the_care_team():
    gp_membership = CareTeamMember.objects.filter(
        in_effect_on(TODAY),
        patient=OuterRef("pk"),
        professional=OuterRef("gp"),
        role=CareTeamMember.Role.GP,
    )

    assert Patient.objects.count() == 150
    assert not Patient.objects.filter(gp__isnull=True).exists()
    assert not Patient.objects.exclude(Exists(gp_membership)).exists()
    assert not Patient.objects.exclude(gp__specialty="Médecine générale").exists()
    two_active_gps = (
        CareTeamMember.objects.filter(in_effect_on(TODAY), role=CareTeamMember.Role.GP)
        .values("patient")
        .annotate(n=Count("pk"))
        .filter(n__gt=1)
    )
    assert not two_active_gps.exists()


def test_care_teams_have_two_to_six_active_members_and_some_ended_ones():
    sizes = Patient.objects.annotate(
        n=Count("care_team", filter=in_effect_on(TODAY, "care_team__"))
    ).aggregate(smallest=Min("n"), largest=Max("n"))

    assert sizes == {"smallest": 2, "largest": 6}
    assert CareTeamMember.objects.filter(end__lt=TODAY).exists()
    assert not CareTeamMember.objects.filter(end__lt=F("start")).exists()


def test_nirs_are_valid_and_match_sex_birth_date_and_birthplace():
    with_nir = list(Patient.objects.exclude(nir=None))

    assert len(with_nir) > 100
    for patient in with_nir:
        validate_nir(patient.nir)
        assert patient.nir[0] == {"M": "1", "F": "2"}[patient.sex]
        assert patient.nir[1:5] == f"{patient.birth_date:%y%m}"
        assert patient.nir[5:10] == patient.birth_place_insee
        validate_insee_commune(patient.birth_place_insee)


def test_identity_statuses_are_varied_and_ins_ones_carry_a_nir():
    statuses = set(Patient.objects.values_list("identity_status", flat=True))

    assert statuses == set(Patient.IdentityStatus.values)
    assert not Patient.objects.filter(
        identity_status__in=Patient.STATUSES_WITH_INS, nir__isnull=True
    ).exists()
    assert Patient.objects.filter(identity_status="provisional", nir__isnull=True).exists()


def test_consent_is_recorded_for_most_patients_with_a_few_objections():
    consents = ConsentRecord.objects.values("kind").annotate(n=Count("pk"))
    by_kind = {row["kind"]: row["n"] for row in consents}

    assert by_kind[ConsentRecord.Kind.INFORMATION_GIVEN] >= 0.8 * Patient.objects.count()
    assert 1 <= by_kind[ConsentRecord.Kind.PROFESSIONAL_OBJECTION] < 10
    assert 1 <= by_kind[ConsentRecord.Kind.SHARING_OBJECTION] < 10
    assert not ConsentRecord.objects.filter(
        kind=ConsentRecord.Kind.PROFESSIONAL_OBJECTION, professional__isnull=True
    ).exists()
    # Nobody objects to a professional still caring for them.
    objected_member = CareTeamMember.objects.filter(
        in_effect_on(TODAY), patient=OuterRef("patient"), professional=OuterRef("professional")
    )
    assert not ConsentRecord.objects.filter(Exists(objected_member)).exists()


# --- Directory -----------------------------------------------------------------------


def test_addresses_carry_a_postcode_of_their_commune():
    for model in (Patient, Organization):
        with_commune = model.objects.filter(commune__isnull=False)
        assert with_commune.exists()
        assert not with_commune.exclude(commune__postcodes__contains=[F("postcode")]).exists()


def test_identifiers_of_the_directory_are_valid():
    rpps = list(Professional.objects.exclude(rpps=None).values_list("rpps", flat=True))
    assert len(rpps) == len(set(rpps)) > 40
    for number in rpps:
        validate_rpps(number)
    for number in Professional.objects.exclude(adeli="").values_list("adeli", flat=True):
        validate_adeli(number)
    for number in Organization.objects.exclude(finess=None).values_list("finess", flat=True):
        validate_finess(number)
    for number in Organization.objects.exclude(siret="").values_list("siret", flat=True):
        validate_siret(number)
    for commune in Commune.objects.all():
        validate_insee_commune(commune.insee_code)
        assert commune.insee_code[:2] in Territory.objects.get().departement_codes
        for postcode in commune.postcodes:
            validate_postcode(postcode)
    assert not Organization.objects.filter(
        kind__in=[Organization.Kind.HOSPITAL, Organization.Kind.PHARMACY], finess=None
    ).exists()


def test_the_territory_has_every_kind_of_organisation_profession_and_service():
    assert set(Organization.objects.values_list("kind", flat=True)) == set(Organization.Kind.values)
    assert set(Professional.objects.values_list("profession", flat=True)) == set(
        Professional.Profession.values
    )
    assert set(SupportService.objects.values_list("category", flat=True)) == set(
        SupportService.Category.values
    )
    assert Organization.objects.filter(kind=Organization.Kind.DAC).count() == 1
    population = Commune.objects.aggregate(total=Sum("population"))["total"]
    assert 1_400 <= population <= 2_000
    assert not Professional.objects.exclude(
        Exists(PractitionerRole.objects.filter(professional=OuterRef("pk"), end__isnull=True))
    ).exists()


def test_the_dac_covers_every_commune_and_its_coordinators_are_members():
    dac = SupportService.objects.get(category=SupportService.Category.COORDINATION)

    assert dac.organization.kind == Organization.Kind.DAC
    assert dac.communes.count() == Commune.objects.count()
    members = dac.members.all()
    assert members.count() >= 3
    assert not members.exclude(profession=Professional.Profession.COORDINATOR).exists()


# --- Pathways, steps, alerts -------------------------------------------------------------


def test_every_pathway_has_exactly_the_steps_of_its_template():
    expected = (
        StepTemplate.objects.filter(template=OuterRef("template"))
        .order_by()
        .values("template")
        .annotate(n=Count("pk"))
        .values("n")
    )
    pathways = Pathway.objects.annotate(n=Count("steps"), expected=Coalesce(Subquery(expected), 0))

    assert pathways.count() > 100
    assert not pathways.exclude(n=F("expected")).exists()
    assert not Step.objects.exclude(template_step__template=F("pathway__template")).exists()


def test_pathways_are_at_every_status_and_closed_ones_have_an_end_date():
    assert set(Pathway.objects.values_list("status", flat=True)) == set(Pathway.Status.values)
    closed = [Pathway.Status.COMPLETED, Pathway.Status.EXITED]
    assert not Pathway.objects.filter(status__in=closed, ended_on=None).exists()
    assert not Pathway.objects.exclude(status__in=closed).exclude(ended_on=None).exists()
    assert not Pathway.objects.filter(ended_on__lt=F("enrolled_on")).exists()
    assert not Pathway.objects.filter(Q(support_service=None) | Q(referent=None)).exists()
    assert not Pathway.objects.exclude(
        support_service__category=SupportService.Category.COORDINATION
    ).exists()


def test_steps_are_consistent_with_their_pathway_and_the_calendar():
    assert set(Step.objects.values_list("status", flat=True)) == set(Step.Status.values)
    assert not Step.objects.filter(status="done", done_at=None).exists()
    assert not Step.objects.exclude(status="done").exclude(done_at=None).exists()
    assert not Step.objects.filter(due_on=None).exists()
    closed = [Pathway.Status.COMPLETED, Pathway.Status.EXITED]
    assert not Step.objects.filter(pathway__status__in=closed, status__in=OPEN_STEPS).exists()
    assert not Step.objects.filter(pathway__status="proposed").exclude(status="planned").exists()
    done = Step.objects.filter(status="done")
    assert not done.filter(done_at__date__lt=F("pathway__enrolled_on")).exists()
    assert not done.filter(done_at__date__gt=F("pathway__ended_on")).exists()
    assert not done.filter(done_at__date__gte=TODAY).exists()
    overdue = Step.objects.filter(pathway__status="active", status__in=OPEN_STEPS, due_on__lt=TODAY)
    assert overdue.exists()


def test_alerts_are_at_every_status_with_unique_keys_while_unresolved():
    assert set(Alert.objects.values_list("status", flat=True)) == set(Alert.Status.values)
    duplicates = (
        Alert.objects.exclude(status="resolved")
        .values("dedupe_key")
        .annotate(n=Count("pk"))
        .filter(n__gt=1)
    )
    assert not duplicates.exists()
    assert not Alert.objects.exclude(status="open").filter(acknowledged_at=None).exists()
    assert not Alert.objects.filter(status="resolved", resolved_at=None).exists()
    assert not Alert.objects.filter(resolved_at__lt=F("created_at")).exists()


# --- Care plans, referrals, liaison notebooks ---------------------------------------------

# Pathways that are or were active.
FOLLOWED = ["active", "suspended", "completed", "exited"]


def care_team_or_referent(patient: int, professional: int, day: datetime.date) -> bool:
    return (
        CareTeamMember.objects.filter(
            in_effect_on(day), patient_id=patient, professional_id=professional
        ).exists()
        or Pathway.objects.filter(patient_id=patient, referent_id=professional).exists()
    )


def test_most_followed_patients_have_a_care_plan_and_its_versions_follow_each_other():
    followed = Patient.objects.filter(pathways__status__in=FOLLOWED).distinct()
    plans = CarePlan.objects.prefetch_related("versions")

    assert 0.6 <= plans.count() / followed.count() <= 0.9
    assert not plans.exclude(patient__in=followed).exists()
    sizes = set()
    for plan in plans:
        versions = sorted(plan.versions.all(), key=lambda version: version.number)
        sizes.add(len(versions))
        assert [v.number for v in versions] == list(range(1, len(versions) + 1))
        assert plan.current_version == len(versions)
        assert plan.next_review_on == versions[-1].next_review_on
        assert plan.created_at == versions[0].created_at
        first_enrolled = min(
            p.enrolled_on for p in plan.patient.pathways.all() if p.status in FOLLOWED
        )
        assert timezone.localdate(versions[0].created_at) >= first_enrolled
        for version, following in zip(versions, [*versions[1:], None], strict=True):
            assert version.created_at < NOW
            if following is not None:
                assert version.created_at < following.created_at
                # The GP validates the current version only.
                assert version.validated_at is None or version.validated_at < following.created_at
            if version.validated_at is not None:
                assert version.created_at < version.validated_at < NOW
            if version.next_review_on is not None:
                written = timezone.localdate(version.created_at)
                assert 170 <= (version.next_review_on - written).days <= 190
    assert sizes == {1, 2, 3}


def test_care_plans_are_written_by_the_referent_or_the_gp_and_validated_by_the_gp():
    versions = CarePlanVersion.objects.select_related("care_plan", "author__professional")
    validated = versions.exclude(validated_at=None)

    assert validated.filter(validated_by=F("care_plan__patient__gp")).exists()
    assert validated.count() >= 0.5 * versions.count()
    assert versions.filter(validated_at=None).exists()
    # Only the versions closing a care plan at the end of a pathway have no review date.
    closing = versions.filter(next_review_on=None)
    assert 0 < closing.count() <= 0.4 * versions.count()
    assert all("PPCS clôturé" in version.general_information for version in closing)
    for version in versions:
        patient, day = version.care_plan.patient_id, timezone.localdate(version.created_at)
        author = version.author.professional
        referent = Pathway.objects.filter(patient_id=patient, referent=author).exists()
        gp = CareTeamMember.objects.filter(
            in_effect_on(day), patient_id=patient, professional=author, role="gp"
        ).exists()
        assert referent or gp, version
        assert version.referent_id is not None
        if version.validated_by_id is not None:
            # (As the pathway step it may be, done by the patient's GP.)
            assert CareTeamMember.objects.filter(
                patient_id=patient, professional_id=version.validated_by_id, role="gp"
            ).exists()


def test_care_plan_contents_have_the_shapes_the_pages_expect():
    for version in CarePlanVersion.objects.all():
        assert set(version.needs) <= set(CarePlanVersion.Domain.values)
        assert all(text for text in version.needs.values())
        for goal in version.goals:
            assert set(goal) == {"text", "target", "status", "comment"}
            assert goal["status"] in CarePlanVersion.GoalStatus.values
            assert goal["text"]
        for action in version.actions:
            assert set(action) == {"text", "kind", "owner", "owner_name", "due_on"}
            assert action["kind"] in CarePlanVersion.ActionKind.values
            if action["owner"] is not None:
                owner = Professional.objects.get(pk=action["owner"])
                assert action["owner_name"] == str(owner)
            if action["due_on"]:
                datetime.date.fromisoformat(action["due_on"])
    statuses = {
        goal["status"]
        for goals in CarePlanVersion.objects.values_list("goals", flat=True)
        for goal in goals
    }
    assert statuses == set(CarePlanVersion.GoalStatus.values)


def test_the_gps_validation_of_a_care_plan_is_the_pathway_step_that_asks_for_it():
    steps = Step.objects.filter(template_step__validates_care_plan=True)
    done = steps.filter(status=Step.Status.DONE)

    assert done.exists()
    for step in done.select_related("pathway"):
        assert CarePlanVersion.objects.filter(
            care_plan__patient=step.pathway.patient_id,
            validated_at=step.done_at,
            validated_by=step.assignee_id,
        ).exists()
    for step in steps.filter(status__in=OPEN_STEPS, pathway__status="active"):
        validated_since = CarePlanVersion.objects.filter(
            care_plan__patient=step.pathway.patient_id,
            validated_at__date__gte=step.pathway.enrolled_on,
        )
        assert not validated_since.exists()


def test_referrals_are_at_every_status_with_the_timestamps_of_their_moves():
    referrals = Referral.objects.select_related("service", "pathway")
    Status = Referral.Status

    assert referrals.count() >= 0.15 * Pathway.objects.filter(status__in=FOLLOWED).count()
    statuses = set(referrals.values_list("status", flat=True))
    assert len(statuses) >= 5
    assert {Status.ACCEPTED, Status.REFUSED, Status.DONE} <= statuses
    assert statuses & set(Referral.AWAITING_STATUSES)
    for referral in referrals:
        status, sent = referral.status, referral.sent_at
        assert referral.respond_by == sent + datetime.timedelta(days=referral.service.response_days)
        assert referral.service.category != SupportService.Category.COORDINATION
        assert referral.pathway.patient_id == referral.patient_id
        day = timezone.localdate(sent)
        assert referral.pathway.enrolled_on <= day < TODAY
        if referral.pathway.ended_on:
            assert day <= referral.pathway.ended_on
        assert care_team_or_referent(referral.patient_id, referral.sent_by_id, day)
        moments = [referral.acknowledged_at, referral.responded_at, referral.closed_at]
        assert all(sent < moment < NOW for moment in moments if moment is not None)
        answered = status in (Status.ACCEPTED, Status.REFUSED, Status.DONE)
        assert (referral.responded_at is not None) == answered or status == Status.CANCELLED
        assert (referral.closed_at is not None) == (
            status in (Status.REFUSED, Status.DONE, Status.CANCELLED)
        )
        assert (referral.acknowledged_at is not None) == (status != Status.SENT) or (
            status == Status.CANCELLED
        )
        assert bool(referral.refusal_reason) == (status == Status.REFUSED)
        if referral.responded_at is not None:
            assert referral.acknowledged_at <= referral.responded_at
            assert referral.service.members.filter(pk=referral.responded_by_id).exists()
            assert referral.closed_at is None or referral.responded_at <= referral.closed_at
        else:
            assert referral.responded_by_id is None
        if status == Status.REFUSED:
            assert referral.closed_at == referral.responded_at
        if status in Referral.AWAITING_STATUSES:
            assert referral.pathway.ended_on is None
    answered = referrals.exclude(responded_at=None)
    late = answered.filter(responded_at__gt=F("respond_by"))
    assert 0 < late.count() < answered.count() / 2
    # Those still waiting are recent.
    assert not referrals.filter(
        status__in=Referral.AWAITING_STATUSES, sent_at__lt=NOW - datetime.timedelta(days=30)
    ).exists()


def test_referrals_go_to_a_service_covering_the_patients_commune_when_one_does():
    referrals = Referral.objects.select_related("patient", "service")
    covering = referrals.filter(service__communes=F("patient__commune"))

    assert covering.exists()
    for referral in referrals.exclude(pk__in=covering.values("pk")):
        assert not SupportService.objects.filter(
            category=referral.service.category,
            communes=referral.patient.commune,
            members__isnull=False,
        ).exists()


def test_liaison_messages_are_written_by_the_care_team_during_the_pathways():
    messages = LiaisonMessage.objects.select_related("author__professional")
    followed = Patient.objects.filter(pathways__status__in=FOLLOWED).distinct()

    assert messages.values("patient").distinct().count() >= 0.6 * followed.count()
    assert 1.5 <= messages.count() / followed.count() <= 8
    for message in messages:
        day = timezone.localdate(message.sent_at)
        assert message.sent_at < NOW
        member = CareTeamMember.objects.filter(
            in_effect_on(day),
            patient=message.patient_id,
            professional=message.author.professional,
            read_only=False,
        )
        assert member.exists(), message
        assert Pathway.objects.filter(
            Q(ended_on=None) | Q(ended_on__gte=day),
            patient=message.patient_id,
            status__in=FOLLOWED,
            enrolled_on__lte=day,
        ).exists()
        assert message.body


def test_mentions_are_of_active_care_team_members_and_the_newest_are_unread():
    Mention = LiaisonMessage.mentions.through
    mentions = Mention.objects.select_related("liaisonmessage", "user__professional")
    gp = User.objects.get(email=f"medecin{DEMO}")

    assert mentions.exists()
    assert mentions.count() < LiaisonMessage.objects.count() / 3
    for mention in mentions:
        message, user = mention.liaisonmessage, mention.user
        assert user.is_active and user != message.author
        assert CareTeamMember.objects.filter(
            in_effect_on(timezone.localdate(message.sent_at)),
            patient=message.patient_id,
            professional=user.professional,
        ).exists()
    unread = LiaisonMessage.objects.filter(mentions=gp).exclude(
        Exists(
            SeenMark.objects.filter(
                user=gp,
                patient=OuterRef("patient"),
                part=SeenMark.Part.LIAISON,
                seen_at__gte=OuterRef("sent_at"),
            )
        )
    )
    assert unread.exists()
    assert unread.count() < LiaisonMessage.objects.filter(mentions=gp).count()


def test_the_professionals_who_act_in_the_records_have_inactive_accounts_of_their_own():
    accounts = User.objects.filter(email__endswith=f"@{PROFESSIONALS_DOMAIN}")
    authors = set(CarePlanVersion.objects.values_list("author", flat=True)) | set(
        LiaisonMessage.objects.values_list("author", flat=True)
    )
    referrals = Referral.objects.all()
    actors = set(referrals.values_list("sent_by__user", flat=True)) | set(
        referrals.exclude(responded_by=None).values_list("responded_by__user", flat=True)
    )

    assert accounts.exists()
    assert not accounts.filter(Q(is_active=True) | Q(is_staff=True)).exists()
    assert not any(is_password_usable(user.password) for user in accounts)
    assert not accounts.filter(professional=None).exists()
    assert set(accounts.values_list("pk", flat=True)) <= authors | actors
    assert None not in actors
    assert not User.objects.filter(pk__in=authors, professional=None).exists()
    coordinators = accounts.filter(professional__profession="coordinator")
    assert not coordinators.exclude(role=User.Role.COORDINATOR).exists()
    assert not accounts.exclude(pk__in=coordinators).exclude(role=User.Role.PROFESSIONAL).exists()


def test_the_alert_scans_find_nothing_new_about_care_plans_and_referrals(monkeypatch):
    raised = Alert.objects.filter(kind__in=["care_plan_review", "referral_unanswered"])
    monkeypatch.setattr(timezone, "now", lambda: NOW)

    assert raised.filter(status="resolved").exists()
    assert raised.exclude(status="resolved").exists()
    assert scan_care_plan_reviews() == 0
    assert scan_unanswered_referrals() == 0


def last_year_indicators(monkeypatch) -> dict:
    """The evaluation's figures for the last full year before the demo's present."""
    monkeypatch.setattr(timezone, "now", lambda: NOW)
    year = TODAY.year - 1
    evaluation = compute_evaluation(
        EvaluationQuery(datetime.date(year, 1, 1), datetime.date(year, 12, 31))
    )
    return {
        indicator.code: indicator.current
        for family in evaluation.families
        for indicator in family.indicators
    }


def test_the_evaluation_of_the_last_full_year_has_the_coordination_indicators(monkeypatch):
    values = last_year_indicators(monkeypatch)

    assert 10 <= values["care_plan_validation_median"] <= 60
    assert values["messages"] >= 20
    # At this scale, a year has too few referrals and care-plan reviews for their figures
    # to be published unmasked ("< 5"): see the next test.
    for code in (
        "referral_first_answer_median",
        "referrals_within_clock",
        "care_plans_reviewed_on_time",
    ):
        assert values[code] is not None, code


def test_a_larger_territory_publishes_every_coordination_indicator_unmasked(monkeypatch):
    seed_demo(scale=0.01, seed=SEED, today=TODAY, reset=True)

    values = last_year_indicators(monkeypatch)

    assert 0.2 <= values["referral_first_answer_median"] <= 3
    assert 0.55 <= values["referrals_within_clock"] <= 0.9
    assert 20 <= values["care_plan_validation_median"] <= 45
    assert 0.6 <= values["care_plans_reviewed_on_time"] <= 0.9
    assert values["messages"] >= 500


def test_the_demo_patients_care_plan_and_liaison_notebook_open_for_the_demo_gp(client):
    patient = User.objects.get(email=f"patient{DEMO}").patient
    client.force_login(User.objects.get(email=f"medecin{DEMO}"))

    care_plan = client.get(reverse("pathways:care_plan", args=[patient.pk]))
    printed = client.get(reverse("pathways:care_plan_print", args=[patient.pk]))
    liaison = client.get(reverse("patients:liaison", args=[patient.pk]))

    assert care_plan.status_code == printed.status_code == liaison.status_code == 200
    version = patient.care_plan.versions.get(number=patient.care_plan.current_version)
    page = printed.content.decode()
    assert escape(version.goals[0]["text"]) in page
    assert 'data-testid="goal"' in page
    assert ('data-testid="validated"' in page) == (version.validated_at is not None)
    assert patient.liaison_messages.count() >= 4
    assert "vous êtes mentionné·e" in liaison.content.decode()


# --- Timeline ----------------------------------------------------------------------------


def test_timelines_are_written_by_the_care_team_over_three_years():
    events = TimelineEvent.objects.all()
    per_patient = events.count() / Patient.objects.count()
    member = CareTeamMember.objects.filter(
        patient=OuterRef("patient"), professional=OuterRef("author")
    )
    referent = Pathway.objects.filter(patient=OuterRef("patient"), referent=OuterRef("author"))
    # The members of a support service answering a referral write its answer.
    responder = Referral.objects.filter(
        patient=OuterRef("patient"), responded_by=OuterRef("author")
    )
    span = events.aggregate(first=Min("occurred_at"), last=Max("occurred_at"))

    assert 110 <= per_patient <= 160
    assert len(set(events.values_list("kind", flat=True))) >= 14
    assert (
        not events.exclude(author=None)
        .exclude(Exists(member))
        .exclude(Exists(referent))
        .exclude(Exists(responder))
        .exists()
    )
    assert span["first"].date() >= TODAY - datetime.timedelta(days=3 * 365 + 30)
    assert span["last"].date() < TODAY
    assert not events.filter(recorded_at__lt=F("occurred_at")).exists()


def test_pathway_events_belong_to_a_pathway_of_their_patient():
    steps_done = Step.objects.filter(status=Step.Status.DONE).count()
    in_pathways = TimelineEvent.objects.exclude(pathway=None)

    assert in_pathways.filter(kind=TimelineEvent.Kind.PATHWAY_STEP).count() == steps_done
    assert not in_pathways.exclude(pathway__patient=F("patient")).exists()
    assert not TimelineEvent.objects.filter(kind="pathway_step", pathway=None).exists()
    assert TimelineEvent.objects.filter(kind="hospital_admission", pathway=None).exists()


def test_every_pathway_and_step_change_is_in_the_transition_log():
    created = Transition.objects.filter(step=None, from_status="", to_status="proposed")
    closed = Transition.objects.filter(step=None, to_status__in=["completed", "exited"])

    assert created.count() == Pathway.objects.count()
    assert closed.count() == Pathway.objects.filter(status__in=["completed", "exited"]).count()
    assert (
        Transition.objects.filter(to_status="done").count()
        == Step.objects.filter(status="done").count()
    )
    assert not Transition.objects.exclude(step=None).exclude(step__pathway=F("pathway")).exists()
    assert not Transition.objects.filter(
        at__lt=F("pathway__created_at") - datetime.timedelta(days=1)
    ).exists()


def test_corrections_point_back_to_an_event_of_the_same_patient():
    corrections = TimelineEvent.objects.filter(kind=TimelineEvent.Kind.ENTERED_IN_ERROR)

    assert corrections.exists()
    assert not corrections.filter(corrects=None).exists()
    assert not corrections.exclude(corrects__patient=F("patient")).exists()
    assert (
        not TimelineEvent.objects.exclude(kind="entered_in_error").exclude(corrects=None).exists()
    )


def test_foreign_keys_and_indexes_are_back_after_the_bulk_load():
    with connection.cursor() as cursor:
        for model in BULK_TABLES:
            constraints = connection.introspection.get_constraints(cursor, model._meta.db_table)
            foreign_keys = {tuple(c["columns"]) for c in constraints.values() if c["foreign_key"]}
            indexed = {
                tuple(c["columns"]) for c in constraints.values() if c["index"] or c["unique"]
            }
            for field in model._meta.concrete_fields:
                if field.is_relation:
                    assert (field.column,) in foreign_keys, (model, field.name)
                    assert (field.column,) in indexed, (model, field.name)
            for index in model._meta.indexes:
                assert index.name in constraints, (model, index.name)


def test_triggers_are_back_on_and_the_demo_has_no_change_history():
    tables = [model._meta.db_table for model in BULK_TABLES]
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT c.relname, t.tgname, t.tgenabled FROM pg_trigger t
            JOIN pg_class c ON c.oid = t.tgrelid
            WHERE c.relname = ANY(%s) AND NOT t.tgisinternal
            """,
            [tables],
        )
        triggers = cursor.fetchall()
    assert {name for _table, name, _state in triggers} >= {
        "pgtrigger_timeline_append_only_7125c",
    }
    assert all(state == "O" for _table, _name, state in triggers), triggers
    assert not CareTeamMember.pgh_event_model.objects.exists()
    assert CareTeamMember.objects.exists()


# --- Demo accounts -------------------------------------------------------------------


@pytest.mark.parametrize("account", DEMO_ACCOUNTS, ids=lambda account: account.key)
def test_each_demo_account_has_its_role_and_can_log_in(client, account):
    user = User.objects.get(email=account.email)

    assert user.role == account.role
    assert user.is_staff == user.is_superuser == (account.key == "admin")
    assert client.login(email=account.email, password=settings.TSN_DEMO_PASSWORD)


def test_the_demo_gp_logs_in_with_a_totp_code_after_the_password(client, settings, fresh_cache):
    """Issue 10's "done when": a demo professional account with MFA on logs in with TOTP."""
    settings.TSN_REQUIRE_MFA = True
    email = f"medecin{DEMO}"
    response = client.post(
        reverse("account_login"), {"login": email, "password": settings.TSN_DEMO_PASSWORD}
    )
    assert response.url == reverse("mfa_authenticate")
    assert "_auth_user_id" not in client.session

    printed = StringIO()
    call_command("demo_totp", stdout=printed, stderr=StringIO())
    code = printed.getvalue().strip()
    assert code == totp(DEMO_TOTP_SECRET)  # what an authenticator application shows
    client.post(reverse("mfa_authenticate"), {"code": code})
    assert client.session["_auth_user_id"] == str(User.objects.get(email=email).pk)
    assert client.get(reverse("home")).status_code == 200


def test_demo_professionals_are_where_their_role_needs_them():
    coordinator = demo_professional("coordination")
    gp = demo_professional("medecin")
    nurse = demo_professional("infirmiere")
    hospital = demo_professional("hopital")
    members = CareTeamMember.objects.filter(in_effect_on(TODAY))

    assert coordinator.profession == Professional.Profession.COORDINATOR
    assert coordinator.support_services.filter(category="coordination").exists()
    assert coordinator.referent_pathways.count() >= 20
    assert gp.gp_patients.count() >= 30
    assert members.filter(professional=gp, role="gp").count() == gp.gp_patients.count()
    assert members.filter(professional=nurse, role="nurse").count() >= 15
    assert members.filter(professional=nurse, patient__gp=gp).count() >= 5
    assert hospital.roles.filter(organization__kind=Organization.Kind.HOSPITAL).exists()
    assert members.filter(professional=hospital, role="hospital").exists()
    assert not Professional.objects.filter(user__email__in=[f"ars{DEMO}", f"admin{DEMO}"]).exists()


def test_the_demo_patient_is_followed_for_heart_failure_by_the_demo_gp_and_nurse():
    user = User.objects.get(email=f"patient{DEMO}")
    patient = user.patient
    team = set(
        CareTeamMember.objects.filter(in_effect_on(TODAY), patient=patient).values_list(
            "professional__user__email", flat=True
        )
    )

    assert patient.pathways.filter(
        status=Pathway.Status.ACTIVE, template__code="insuffisance-cardiaque"
    ).exists()
    assert {f"medecin{DEMO}", f"infirmiere{DEMO}"} <= team
    assert patient.gp == demo_professional("medecin")
    assert patient.identity_status == Patient.IdentityStatus.QUALIFIED
    assert user.last_name == patient.display_last_name


def test_the_external_gp_shares_no_patient_with_the_other_demo_professionals():
    external = demo_professional("medecin.externe")
    others = Professional.objects.filter(user__email__endswith=DEMO).exclude(pk=external.pk)
    own = Patient.objects.filter(Q(care_team__professional=external) | Q(gp=external))
    seen_by_others = Patient.objects.filter(
        Q(care_team__professional__in=others)
        | Q(gp__in=others)
        | Q(pathways__referent__in=others)
        | Q(pathways__support_service__members__in=others)
        | Q(pathways__steps__assignee__in=others)
    )

    assert own.distinct().count() >= 10
    assert seen_by_others.exists()
    assert not own.filter(pk__in=seen_by_others).exists()
    assert not TimelineEvent.objects.filter(patient__in=own, author__in=others).exists()


# --- The command and determinism ---------------------------------------------------------


def test_the_command_refuses_to_seed_an_already_seeded_territory():
    before = fingerprint()
    out = StringIO()

    call_command("seed_demo", "--scale", "0.001", stdout=out)

    assert "déjà construit" in out.getvalue()
    assert f"medecin{DEMO}" in out.getvalue()
    assert fingerprint() == before
    assert Territory.objects.count() == 1


def test_the_same_seed_rebuilds_the_same_territory():
    out = StringIO()
    arguments = ["seed_demo", "--scale", str(SCALE), "--reset"]

    call_command(*arguments, "--seed", "3", stdout=out)
    first = fingerprint()
    call_command(*arguments, "--seed", "3", stdout=StringIO())
    second = fingerprint()
    call_command(*arguments, "--seed", "4", stdout=StringIO())
    third = fingerprint()

    assert first == second
    assert all(a != b for a, b in zip(third[:6], first[:6], strict=True))
    assert Territory.objects.count() == 1
    assert User.objects.filter(email__endswith=DEMO).count() == len(DEMO_ACCOUNTS)
    assert f"patient{DEMO}" in out.getvalue()
    assert settings.TSN_DEMO_PASSWORD in out.getvalue()


def test_a_scale_outside_the_supported_range_is_refused():
    with pytest.raises(CommandError, match="échelle"):
        call_command("seed_demo", "--scale", "0")


def test_the_coordinators_pages_open_on_the_demo_territory(client):
    coordinator = User.objects.get(email=f"coordination{DEMO}")
    client.force_login(coordinator)
    pathway = Pathway.objects.filter(referent__user=coordinator, status="active").first()
    step = pathway.steps.order_by("template_step__order").first()

    for url in (
        reverse("pathways:worklist"),
        reverse("pathways:caseload"),
        reverse("pathways:quality"),
        reverse("pathways:referral_inbox"),
        reverse("pathways:templates"),
        reverse("pathways:pathways", args=[pathway.patient_id]),
        reverse("pathways:pathway_detail", args=[pathway.patient_id, pathway.pk]),
        reverse("pathways:step", args=[pathway.patient_id, pathway.pk, step.pk]),
        reverse("pathways:care_plan", args=[pathway.patient_id]),
    ):
        assert client.get(url).status_code == 200, url
    worklist = client.get(reverse("pathways:worklist")).content.decode()
    assert 'data-testid="work-item"' in worklist


def test_the_coordinators_referrals_and_past_care_plan_versions_open(client):
    coordinator = User.objects.get(email=f"coordination{DEMO}")
    client.force_login(coordinator)
    referral = Referral.objects.filter(pathway__referent__user=coordinator).order_by("pk").first()
    care_plan = (
        CarePlan.objects.filter(
            current_version__gte=2, patient__pathways__referent__user=coordinator
        )
        .order_by("pk")
        .first()
    )

    page = client.get(reverse("pathways:referrals", args=[referral.patient_id]))
    past = client.get(reverse("pathways:care_plan_version", args=[care_plan.patient_id, 1]))

    assert page.status_code == past.status_code == 200
    assert escape(referral.service.name) in page.content.decode()


def satisfaction_of_last_year(monkeypatch) -> dict:
    """The "Satisfaction" figures of the last full year: {code or row label: value}."""
    monkeypatch.setattr(timezone, "now", lambda: NOW)
    year = TODAY.year - 1
    evaluation = compute_evaluation(
        EvaluationQuery(datetime.date(year, 1, 1), datetime.date(year, 12, 31))
    )
    family = next(family for family in evaluation.families if family.code == "satisfaction")
    return {indicator.code: indicator.current for indicator in family.indicators} | {
        f"{breakdown.code}: {row.label}": row.current
        for breakdown in family.breakdowns
        for row in breakdown.rows
    }


def test_the_satisfaction_section_is_masked_on_a_small_territory_not_on_a_larger_one(
    monkeypatch,
):
    seed_demo(scale=SCALE, seed=SEED, today=TODAY, reset=True)
    small = satisfaction_of_last_year(monkeypatch)
    # The demo accounts keep their questionnaires to answer.
    patient = User.objects.get(email=f"patient{DEMO}").patient
    assert not SatisfactionResponse.objects.filter(pathway__patient=patient).exists()
    assert quarterly_due(User.objects.get(email=f"medecin{DEMO}"), TODAY)

    seed_demo(scale=0.01, seed=SEED, today=TODAY, reset=True)
    larger = satisfaction_of_last_year(monkeypatch)

    for kind in ("caregiver", "professional"):
        assert small[f"satisfaction_responses_{kind}"] == "< 5"
        assert isinstance(larger[f"satisfaction_responses_{kind}"], int)
        assert larger[f"satisfaction_responses_{kind}"] >= 5
    assert small["satisfaction_mean: Aidants — Satisfaction globale"] == "< 5"
    assert 3 <= larger["satisfaction_mean: Aidants — Satisfaction globale"] <= 4.5
    assert 3 <= larger["satisfaction_mean: Patients — Satisfaction globale"] <= 4.5
    assert 0.5 <= larger["satisfaction_agree: Patients — Satisfaction globale"] <= 0.9
