"""Satisfaction questionnaires (portal/questionnaires.py): which are due, the patients' and
caregivers' form on the portal, the professionals' quarterly one and its reminder on their
home page, and the "Satisfaction" family of the evaluation report (aggregates, masked)."""

import csv
import datetime
import io
import logging
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from pypdf import PdfReader

from pathways.evaluation.export import evaluation_csv
from pathways.evaluation.indicators import compute_evaluation
from pathways.evaluation.queries import EvaluationQuery
from pathways.evaluation.report import render_report_pdf
from pathways.models import Pathway, PathwayTemplate
from portal.models import SatisfactionResponse
from portal.questionnaires import (
    CATALOGUE,
    INCLUSION_DELAY,
    due_pathways,
    quarter_start,
    quarterly_due,
    record_response,
)
from tsn.models import AuditEvent, User

Kind = SatisfactionResponse.RespondentKind
Moment = SatisfactionResponse.Moment
TODAY = timezone.localdate()
PAYLOAD = "<script>alert(1)</script>"


def days_ago(days: int) -> datetime.date:
    return TODAY - datetime.timedelta(days=days)


def all_answered(kind: str, score: int = 4) -> dict[str, int]:
    return dict.fromkeys(CATALOGUE[kind], score)


def form_data(kind: str, score: int = 4, **extra) -> dict:
    return {**all_answered(kind, score), "comment": "", **extra}


@pytest.fixture
def pathway(world) -> Pathway:
    """The world's patient's active pathway, enrolled long enough ago to be asked about."""
    pathway = world.patient.pathways.get()
    pathway.enrolled_on = TODAY - INCLUSION_DELAY
    pathway.save(update_fields=["enrolled_on"])
    return pathway


def form_url(world, pathway, moment: str = Moment.INCLUSION) -> str:
    return reverse(
        "portal:questionnaire",
        kwargs={"pk": world.patient.pk, "moment": moment, "pathway_pk": pathway.pk},
    )


def list_url(world) -> str:
    return reverse("portal:questionnaires", kwargs={"pk": world.patient.pk})


def due_of(user, world) -> set[tuple[int, str]]:
    return {(p.pk, p.due_moment) for p in due_pathways(user, world.patient, TODAY)}


# --- Which questionnaires are due ---------------------------------------------------------


def test_after_inclusion_is_due_two_weeks_after_the_enrolment(world, pathway):
    patient_user = world.users["the_patient"]
    assert due_of(patient_user, world) == {(pathway.pk, Moment.INCLUSION)}

    pathway.enrolled_on = days_ago(13)
    pathway.save(update_fields=["enrolled_on"])

    assert due_of(patient_user, world) == set()


@pytest.mark.parametrize(
    ("status", "ended_days_ago", "due"),
    [
        (Pathway.Status.COMPLETED, 0, True),
        (Pathway.Status.COMPLETED, 90, True),
        (Pathway.Status.COMPLETED, 91, False),
        (Pathway.Status.EXITED, 10, False),  # an exit (a death among others) asks nothing
        (Pathway.Status.SUSPENDED, None, False),
        (Pathway.Status.PROPOSED, None, False),
    ],
)
def test_at_pathway_end_is_due_for_three_months_after_completion(
    world, pathway, status, ended_days_ago, due
):
    pathway.status = status
    pathway.ended_on = None if ended_days_ago is None else days_ago(ended_days_ago)
    pathway.save(update_fields=["status", "ended_on"])

    expected = {(pathway.pk, Moment.END)} if due else set()
    assert due_of(world.users["the_patient"], world) == expected


def test_a_questionnaire_is_due_no_more_once_answered_by_that_respondent(world, pathway):
    patient_user, caregiver = world.users["the_patient"], world.users["authorised_caregiver"]
    record_response(
        respondent=patient_user,
        kind=Kind.PATIENT,
        moment=Moment.INCLUSION,
        answers=all_answered(Kind.PATIENT),
        pathway=pathway,
    )

    assert due_of(patient_user, world) == set()
    # The caregiver answers for themself.
    assert due_of(caregiver, world) == {(pathway.pk, Moment.INCLUSION)}

    # At the pathway's end, the end's questionnaire is due (the inclusion's is done).
    pathway.status, pathway.ended_on = Pathway.Status.COMPLETED, TODAY
    pathway.save(update_fields=["status", "ended_on"])
    assert due_of(patient_user, world) == {(pathway.pk, Moment.END)}


def test_quarter_start():
    assert quarter_start(datetime.date(2026, 1, 1)) == datetime.date(2026, 1, 1)
    assert quarter_start(datetime.date(2026, 3, 31)) == datetime.date(2026, 1, 1)
    assert quarter_start(datetime.date(2026, 5, 15)) == datetime.date(2026, 4, 1)
    assert quarter_start(datetime.date(2026, 12, 31)) == datetime.date(2026, 10, 1)


def test_the_quarterly_one_is_due_once_per_quarter_for_clinical_users(world):
    gp = world.users["team_member"]
    assert quarterly_due(gp, TODAY)
    assert quarterly_due(world.users["coordinator_following"], TODAY)
    for persona in ("ars_analyst", "administrator", "the_patient"):
        assert not quarterly_due(world.users[persona], TODAY), persona

    record_response(
        respondent=gp,
        kind=Kind.PROFESSIONAL,
        moment=Moment.QUARTERLY,
        answers=all_answered(Kind.PROFESSIONAL),
        quarter=quarter_start(TODAY),
    )

    assert not quarterly_due(gp, TODAY)
    next_quarter = quarter_start(TODAY) + datetime.timedelta(days=100)
    assert quarterly_due(gp, next_quarter)


# --- The list page -------------------------------------------------------------------------


def test_the_list_shows_due_and_answered_questionnaires(client, world, pathway):
    completed = Pathway.objects.create(
        patient=world.patient,
        template=PathwayTemplate.objects.create(code="pa", name="Personne âgée"),
        status=Pathway.Status.COMPLETED,
        enrolled_on=days_ago(200),
        ended_on=days_ago(5),
    )
    SatisfactionResponse.objects.create(
        respondent=world.users["the_patient"],
        respondent_kind=Kind.PATIENT,
        moment=Moment.INCLUSION,
        pathway=completed,
        answers=all_answered(Kind.PATIENT),
        comment=PAYLOAD,
    )
    client.force_login(world.users["the_patient"])

    response = client.get(list_url(world))

    content = response.content.decode()
    assert response.status_code == 200
    assert content.count('data-testid="due"') == 2
    assert form_url(world, pathway) in content
    assert form_url(world, completed, Moment.END) in content
    assert content.count('data-testid="answered"') == 1
    # The comment, free text, is shown to its author as text only.
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in content
    assert PAYLOAD not in content


def test_the_list_costs_the_same_queries_with_more_pathways_and_answers(client, world, pathway):
    client.force_login(world.users["the_patient"])

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(list_url(world)).status_code == 200
        return len(queries)

    before = count()
    template = pathway.template
    for days in (20, 30, 40):
        Pathway.objects.create(
            patient=world.patient,
            template=template,
            status=Pathway.Status.ACTIVE,
            enrolled_on=days_ago(days),
        )
        answered = Pathway.objects.create(
            patient=world.patient,
            template=template,
            status=Pathway.Status.COMPLETED,
            enrolled_on=days_ago(days + 100),
            ended_on=days_ago(days),
        )
        SatisfactionResponse.objects.create(
            respondent=world.users["the_patient"],
            respondent_kind=Kind.PATIENT,
            moment=Moment.END,
            pathway=answered,
            answers=all_answered(Kind.PATIENT),
        )

    assert count() == before
    # Session, user, the access check and its audit event, the due list, the answered.
    assert before <= 8


# --- The form -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("persona", "kind"), [("the_patient", "patient"), ("authorised_caregiver", "caregiver")]
)
def test_the_form_saves_the_answers(client, world, pathway, persona, kind):
    user = world.users[persona]
    client.force_login(user)

    page = client.get(form_url(world, pathway))
    response = client.post(
        form_url(world, pathway), form_data(kind, 5, comment="Merci à l'infirmière.")
    )

    content = page.content.decode()
    assert page.status_code == 200
    assert content.count("<fieldset") == content.count("<legend") == len(CATALOGUE[kind])
    assert "Je sais qui appeler en cas de besoin" in content
    assert response.status_code == 302
    assert response["Location"] == list_url(world)
    saved = SatisfactionResponse.objects.get()
    assert saved.respondent == user
    assert saved.respondent_kind == kind
    assert saved.moment == Moment.INCLUSION
    assert saved.pathway == pathway
    assert saved.quarter_start is None
    assert saved.answers == all_answered(kind, 5)
    assert saved.comment == "Merci à l'infirmière."
    assert AuditEvent.objects.filter(
        actor=user, patient_id=world.patient.pk, action=AuditEvent.Action.CREATE
    ).exists()


def test_missing_answers_are_refused_in_french(client, world, pathway):
    client.force_login(world.users["the_patient"])
    data = form_data(Kind.PATIENT)
    del data["listened"]

    response = client.post(form_url(world, pathway), data)

    assert response.status_code == 400
    assert "Choisissez une réponse à cette question." in response.content.decode()
    assert not SatisfactionResponse.objects.exists()


@pytest.mark.parametrize("score", ["0", "6", "-1", "trois", "4.5"])
def test_scores_outside_one_to_five_are_refused(client, world, pathway, score):
    client.force_login(world.users["the_patient"])

    response = client.post(form_url(world, pathway), form_data(Kind.PATIENT, overall=score))

    assert response.status_code == 400
    assert "Choisissez une réponse de 1 à 5." in response.content.decode()
    assert not SatisfactionResponse.objects.exists()


def test_the_service_checks_the_answers_too(world, pathway):
    def record(answers):
        record_response(
            respondent=world.users["the_patient"],
            kind=Kind.PATIENT,
            moment=Moment.INCLUSION,
            answers=answers,
            pathway=pathway,
        )

    for answers in (
        {**all_answered(Kind.PATIENT), "overall": 6},
        {**all_answered(Kind.PATIENT), "overall": True},
        {**all_answered(Kind.PATIENT), "time_saved": 4},  # a professional's question
        dict.fromkeys(list(CATALOGUE[Kind.PATIENT])[1:], 3),  # one missing
    ):
        with pytest.raises(ValidationError):
            record(answers)
    assert not SatisfactionResponse.objects.exists()


def test_a_questionnaire_is_answered_once(client, world, pathway):
    client.force_login(world.users["the_patient"])
    assert client.post(form_url(world, pathway), form_data(Kind.PATIENT)).status_code == 302

    again = client.post(form_url(world, pathway), form_data(Kind.PATIENT, 1), follow=True)

    assert "Vous avez déjà répondu à ce questionnaire." in again.content.decode()
    assert SatisfactionResponse.objects.get().answers == all_answered(Kind.PATIENT, 4)
    with pytest.raises(ValidationError, match="déjà répondu"):
        record_response(
            respondent=world.users["the_patient"],
            kind=Kind.PATIENT,
            moment=Moment.INCLUSION,
            answers=all_answered(Kind.PATIENT),
            pathway=pathway,
        )


def test_the_database_refuses_a_second_answer_and_a_malformed_one(world, pathway):
    fields = {
        "respondent": world.users["the_patient"],
        "respondent_kind": Kind.PATIENT,
        "moment": Moment.INCLUSION,
        "pathway": pathway,
        "answers": all_answered(Kind.PATIENT),
    }
    SatisfactionResponse.objects.create(**fields)
    gp = world.users["team_member"]
    quarterly = {
        "respondent": gp,
        "respondent_kind": Kind.PROFESSIONAL,
        "moment": Moment.QUARTERLY,
        "quarter_start": datetime.date(2026, 4, 1),
        "answers": all_answered(Kind.PROFESSIONAL),
    }
    SatisfactionResponse.objects.create(**quarterly)

    for wrong in (
        fields,  # twice
        quarterly,  # twice
        {**quarterly, "quarter_start": datetime.date(2026, 5, 1)},  # not a quarter's start
        {**fields, "moment": Moment.QUARTERLY},  # a patient has no quarterly one
        {**quarterly, "quarter_start": None, "pathway": pathway},  # a professional's is not
    ):
        with pytest.raises(IntegrityError), transaction.atomic():
            SatisfactionResponse.objects.create(**wrong)


def test_the_comment_is_never_logged(client, world, pathway, caplog):
    client.force_login(world.users["the_patient"])
    canary = "Zqxvcommentaire essoufflement"

    with caplog.at_level(logging.DEBUG):
        client.post(form_url(world, pathway), form_data(Kind.PATIENT, comment=canary))
        client.get(list_url(world))

    assert SatisfactionResponse.objects.get().comment == canary
    assert "Zqxv" not in caplog.text


# --- Access ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "persona",
    [
        "another_patient",
        "expired_caregiver",
        "team_member",
        "coordinator_following",
        "ars_analyst",
        "administrator",
    ],
)
def test_others_get_404_on_a_patients_questionnaires(client, world, pathway, persona):
    client.force_login(world.users[persona])

    assert client.get(list_url(world)).status_code == 404
    assert client.get(form_url(world, pathway)).status_code == 404
    assert client.post(form_url(world, pathway), form_data(Kind.PATIENT)).status_code == 404
    assert not SatisfactionResponse.objects.exists()


def test_anonymous_visitors_are_sent_to_the_login_page(client, world, pathway):
    response = client.get(form_url(world, pathway))
    assert response.status_code == 302
    assert "/comptes/login/" in response["Location"]


def test_a_questionnaire_not_due_is_not_found(client, world, pathway, make_patient):
    other_pathway = Pathway.objects.create(
        patient=make_patient(),
        template=pathway.template,
        status=Pathway.Status.ACTIVE,
        enrolled_on=days_ago(30),
    )
    client.force_login(world.users["the_patient"])

    # Not yet at its end; an unknown moment; another patient's pathway under this record.
    assert client.get(form_url(world, pathway, Moment.END)).status_code == 404
    assert client.get(form_url(world, pathway, "quarterly")).status_code == 404
    assert client.get(form_url(world, pathway, "autre")).status_code == 404
    assert client.get(form_url(world, other_pathway)).status_code == 404
    pathway.enrolled_on = days_ago(3)
    pathway.save(update_fields=["enrolled_on"])
    assert client.get(form_url(world, pathway)).status_code == 404


# --- The professionals' quarterly questionnaire ----------------------------------------------


PRO_URL = "/portail/questionnaire-pro/"


def test_the_pro_url():
    assert reverse("portal:questionnaire_pro") == PRO_URL


def test_a_professional_answers_once_a_quarter_and_the_reminder_goes(client, world):
    gp = world.users["team_member"]
    client.force_login(gp)
    home = client.get("/").content.decode()
    assert 'data-testid="questionnaire-due"' in home
    assert PRO_URL in home

    page = client.get(PRO_URL)
    response = client.post(PRO_URL, form_data(Kind.PROFESSIONAL, 3, comment=PAYLOAD))

    content = page.content.decode()
    assert page.status_code == 200
    assert content.count("<legend") == len(CATALOGUE[Kind.PROFESSIONAL])
    assert "La plateforme me fait gagner du temps." in content
    assert response.status_code == 302
    assert response["Location"] == reverse("home")
    saved = SatisfactionResponse.objects.get()
    assert (saved.respondent, saved.respondent_kind, saved.moment) == (
        gp,
        Kind.PROFESSIONAL,
        Moment.QUARTERLY,
    )
    assert saved.quarter_start == quarter_start(TODAY)
    assert saved.pathway is None
    assert saved.answers == all_answered(Kind.PROFESSIONAL, 3)
    home = client.get("/").content.decode()
    assert 'data-testid="questionnaire-due"' not in home
    assert "déjà répondu au questionnaire de ce trimestre" in client.get(PRO_URL).content.decode()
    # A second answer in the quarter is not taken.
    client.post(PRO_URL, form_data(Kind.PROFESSIONAL, 1))
    assert SatisfactionResponse.objects.get().answers == all_answered(Kind.PROFESSIONAL, 3)


def test_the_coordinator_home_reminds_too(client, world):
    client.force_login(world.users["coordinator_following"])
    assert 'data-testid="questionnaire-due"' in client.get("/").content.decode()


def test_the_pro_form_refuses_missing_answers(client, world):
    client.force_login(world.users["team_member"])
    data = form_data(Kind.PROFESSIONAL)
    del data["usefulness"]

    response = client.post(PRO_URL, data)

    assert response.status_code == 400
    assert "Choisissez une réponse à cette question." in response.content.decode()
    assert not SatisfactionResponse.objects.exists()


@pytest.mark.parametrize(
    "persona", ["the_patient", "authorised_caregiver", "ars_analyst", "administrator"]
)
def test_the_quarterly_questionnaire_is_for_clinical_users_only(client, world, persona):
    client.force_login(world.users[persona])

    assert client.get(PRO_URL).status_code == 404
    assert client.post(PRO_URL, form_data(Kind.PROFESSIONAL)).status_code == 404
    assert not SatisfactionResponse.objects.exists()


# --- The evaluation report's "Satisfaction" family --------------------------------------------

PARIS = ZoneInfo("Europe/Paris")
QUERY = EvaluationQuery(datetime.date(2025, 1, 1), datetime.date(2025, 12, 31))
MASKED = "< 5"
CANARY = "Zqxvcommentaire"


def at(year: int, month: int, day: int) -> datetime.datetime:
    return datetime.datetime(year, month, day, 10, tzinfo=PARIS)


@pytest.fixture
def satisfaction(make_patient, make_user, make_professional):
    """In 2025: 6 patients' questionnaires (after inclusion), 2 caregivers', 5
    professionals'; in 2024, 1 patient's; outside both periods, 1 patient's (2026).

    Patients' scores, per respondent:   informed listened coordination whom_to_call overall
        P1..P4                          5        5        4            2            4
        P5                              4        5        3            2            5
        P6                              4        1        3            2            5
    """
    template = PathwayTemplate.objects.create(code="ic", name="Insuffisance cardiaque")
    other = PathwayTemplate.objects.create(code="pa", name="Personne âgée")

    def pathway(template=template) -> Pathway:
        return Pathway.objects.create(
            patient=make_patient(),
            template=template,
            status=Pathway.Status.ACTIVE,
            enrolled_on=datetime.date(2024, 6, 1),
        )

    def answer(kind, moment, when, scores, **fields):
        SatisfactionResponse.objects.create(
            respondent=make_user(
                role=User.Role.PATIENT if kind != Kind.PROFESSIONAL else "professional"
            ),
            respondent_kind=kind,
            moment=moment,
            answers=dict(zip(CATALOGUE[kind], scores, strict=True)),
            submitted_at=when,
            comment=CANARY,
            **fields,
        )

    patients = [(5, 5, 4, 2, 4)] * 4 + [(4, 5, 3, 2, 5), (4, 1, 3, 2, 5)]
    for month, scores in enumerate(patients, start=1):
        answer(Kind.PATIENT, Moment.INCLUSION, at(2025, month, 15), scores, pathway=pathway())
    for scores in ((3, 3, 3, 3, 3), (5, 5, 5, 5, 5)):
        answer(Kind.CAREGIVER, Moment.END, at(2025, 7, 1), scores, pathway=pathway(other))
    for month in (1, 4, 7, 10, 10):
        quarter = datetime.date(2025, month, 1)
        answer(
            Kind.PROFESSIONAL,
            Moment.QUARTERLY,
            at(2025, month, 20),
            (4, 4, 2, 4),
            quarter_start=quarter,
        )
    answer(Kind.PATIENT, Moment.END, at(2024, 12, 31), (1, 1, 1, 1, 1), pathway=pathway())
    answer(Kind.PATIENT, Moment.INCLUSION, at(2026, 1, 1), (1, 1, 1, 1, 1), pathway=pathway())


def satisfaction_family(query=QUERY):
    evaluation = compute_evaluation(query)
    family = next(f for f in evaluation.families if f.code == "satisfaction")
    return evaluation, family


def rows_of(family, code: str) -> dict[str, tuple]:
    breakdown = next(b for b in family.breakdowns if b.code == code)
    return {str(row.label): (row.current, row.previous) for row in breakdown.rows}


def test_the_report_counts_questionnaires_per_kind_of_respondent(satisfaction):
    _evaluation, family = satisfaction_family()

    counts = {i.code: (i.current, i.previous) for i in family.indicators}
    assert counts == {
        "satisfaction_responses_patient": (6, MASKED),  # 2024: 1
        "satisfaction_responses_caregiver": (MASKED, 0),  # 2
        "satisfaction_responses_professional": (5, 0),
    }


def test_the_report_gives_each_questions_answers_mean_and_favourable_share(satisfaction):
    _evaluation, family = satisfaction_family()

    answers = rows_of(family, "satisfaction_answers")
    means = rows_of(family, "satisfaction_mean")
    favourable = rows_of(family, "satisfaction_agree")

    assert list(answers)[:5] == [
        "Patients — Information reçue",
        "Patients — Écoute",
        "Patients — Coordination entre professionnels",
        "Patients — Sait qui appeler",
        "Patients — Satisfaction globale",
    ]
    assert answers["Patients — Information reçue"] == (6, MASKED)
    assert answers["Aidants — Satisfaction globale"] == (MASKED, None)
    assert answers["Professionnels — Temps gagné"] == (5, None)
    # informed: (4 x 5 + 4 + 4) / 6 = 28 / 6; all six favourable: 6 / 6, nothing to hide.
    assert means["Patients — Information reçue"][0] == pytest.approx(28 / 6)
    assert favourable["Patients — Information reçue"][0] == 1
    # listened: 5 of 6 favourable, so one not: the share would reveal that one, masked.
    assert means["Patients — Écoute"][0] == pytest.approx(26 / 6)
    assert favourable["Patients — Écoute"][0] == MASKED
    # whom_to_call: all 2, none favourable: 0 %, nothing to hide.
    assert means["Patients — Sait qui appeler"][0] == pytest.approx(2)
    assert favourable["Patients — Sait qui appeler"][0] == 0
    # coordination: 4 favourable of 6: masked (and so are 2 unfavourable).
    assert favourable["Patients — Coordination entre professionnels"][0] == MASKED
    # overall: (4 x 4 + 5 + 5) / 6.
    assert means["Patients — Satisfaction globale"][0] == pytest.approx(26 / 6)
    # Two caregivers, one patient in 2024: below the threshold, every figure masked.
    assert means["Aidants — Satisfaction globale"] == (MASKED, None)
    assert favourable["Aidants — Satisfaction globale"] == (MASKED, None)
    assert means["Patients — Satisfaction globale"][1] == MASKED
    # Professionals: time_saved all 2 (mean 2, 0 % favourable), the others all 4.
    assert means["Professionnels — Temps gagné"] == (pytest.approx(2), None)
    assert favourable["Professionnels — Temps gagné"] == (0, None)
    assert favourable["Professionnels — Utilité de la plateforme"] == (1, None)


def test_a_scoped_report_counts_its_pathways_answers_only(satisfaction):
    _evaluation, family = satisfaction_family(
        EvaluationQuery(QUERY.start, QUERY.end, template="pa")
    )

    counts = {i.code: i.current for i in family.indicators}
    # The caregivers' questionnaires are about "pa" pathways; professionals' are not
    # about a pathway at all.
    assert counts == {
        "satisfaction_responses_patient": 0,
        "satisfaction_responses_caregiver": MASKED,
        "satisfaction_responses_professional": 0,
    }


def test_the_csv_and_the_pdf_carry_the_satisfaction_family(satisfaction, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    evaluation, _family = satisfaction_family()

    exported = evaluation_csv(evaluation).decode("utf-8-sig")
    rows = {
        (row[1], row[2]): row[3:]
        for row in csv.reader(io.StringIO(exported), delimiter=";")
        if row[0] == "Satisfaction"
    }
    pdf = PdfReader(io.BytesIO(render_report_pdf(evaluation)))
    text = " ".join(" ".join(page.extract_text().split()) for page in pdf.pages)

    assert rows[
        ("satisfaction_responses_patient", "Questionnaires de satisfaction reçus des patients")
    ] == ["effectif", "2025", "6", "2024", "< 5", ""]
    mean = "Score moyen par question (de 1 à 5) — Patients — Information reçue"
    assert rows[("satisfaction_mean", mean)] == ["moyenne", "2025", "4,7", "2024", "< 5", ""]
    assert "Questionnaires de satisfaction reçus des patients" in text
    assert "Part de réponses favorables (4 ou 5)" in text
    # No comment ever reaches the report.
    assert CANARY not in exported
    assert CANARY not in text
