"""The demo patients' shared timelines, generated inside PostgreSQL.

Python decides how many events each care-team member wrote (and their id range); one
`INSERT … SELECT` over `generate_series` per chunk then writes them, picking kind, title,
day and hour from hashes of the event id, so millions of rows never leave the server and
the result depends only on the seed.
"""

import datetime
from collections.abc import Iterator

from django.conf import settings
from django.db import connection
from django.utils.translation import gettext as _

from pathways.demo.bulk import copy_rows, next_id
from pathways.demo.context import HISTORY_DAYS, Context
from pathways.demo.directory import Directory
from pathways.demo.followup import Event
from pathways.demo.population import Population
from patients.models import CareTeamMember, TimelineEvent

Role = CareTeamMember.Role
Kind = TimelineEvent.Kind
MANUAL, HL7 = TimelineEvent.Source.MANUAL, TimelineEvent.Source.HL7

# Events per patient at any scale (about 133 with those of the pathways).
EVENTS_PER_PATIENT = 128
ROWS_PER_STATEMENT = 2_000_000
# How much each role writes, relative to the others.
ROLE_WEIGHTS = {
    Role.GP: 3.0,
    Role.NURSE: 4.0,
    Role.PHARMACIST: 1.0,
    Role.SPECIALIST: 1.2,
    Role.HOSPITAL: 1.5,
    Role.PHYSIOTHERAPIST: 1.2,
    Role.SOCIAL_WORKER: 0.6,
    Role.HOME_HELP: 1.0,
    Role.COORDINATOR: 1.0,
    Role.OTHER: 0.6,
}
# What each role writes: (weight, kind, title, body, source, value range). "{v}" in a
# title or body is replaced by a value drawn in the range (low, high, decimals).
EVENT_KINDS: dict[str, list[tuple]] = {
    Role.GP: [
        (
            4,
            Kind.CONSULTATION,
            "Consultation de suivi",
            "Examen clinique sans particularité. Traitement reconduit.",
            MANUAL,
            None,
        ),
        (
            3,
            Kind.CONSULTATION,
            "Consultation : renouvellement d'ordonnance",
            "Renouvellement du traitement habituel pour trois mois.",
            MANUAL,
            None,
        ),
        (
            1,
            Kind.CONSULTATION,
            "Consultation pour altération de l'état général",
            "Asthénie et perte d'appétit depuis une semaine. Bilan biologique prescrit.",
            MANUAL,
            None,
        ),
        (
            2,
            Kind.HOME_VISIT,
            "Visite à domicile du médecin traitant",
            "Patient vu à domicile, état stable.",
            MANUAL,
            None,
        ),
        (
            1,
            Kind.LAB_RESULT,
            "Résultat de biologie : HbA1c {v} %",
            "Résultat transmis par le laboratoire.",
            HL7,
            (5.8, 9.6, 1),
        ),
        (
            1,
            Kind.LAB_RESULT,
            "Résultat de biologie : créatininémie {v} µmol/L",
            "Résultat transmis par le laboratoire.",
            HL7,
            (55, 190, 0),
        ),
        (
            1,
            Kind.LAB_RESULT,
            "Résultat de biologie : kaliémie {v} mmol/L",
            "Résultat transmis par le laboratoire.",
            HL7,
            (3.3, 5.7, 1),
        ),
        (
            1,
            Kind.DOCUMENT,
            "Courrier d'adressage au spécialiste",
            "Merci de bien vouloir recevoir ce patient pour avis.",
            MANUAL,
            None,
        ),
        (
            1,
            Kind.MESSAGE,
            "Message à l'infirmier·ère : adaptation du traitement",
            "Merci d'adapter la posologie selon le protocole et de me tenir informé.",
            MANUAL,
            None,
        ),
        (
            1,
            Kind.NOTE,
            "Synthèse médicale mise à jour",
            "Antécédents et traitements en cours mis à jour.",
            MANUAL,
            None,
        ),
        (
            1,
            Kind.TELE_EXPERTISE,
            "Demande de télé-expertise",
            "Avis demandé sur l'adaptation du traitement.",
            MANUAL,
            None,
        ),
    ],
    Role.NURSE: [
        (
            6,
            Kind.HOME_VISIT,
            "Passage infirmier à domicile",
            "Soins réalisés, pas d'événement particulier.",
            MANUAL,
            None,
        ),
        (
            2,
            Kind.HOME_VISIT,
            "Pansement et surveillance cutanée",
            "Plaie en bonne voie de cicatrisation.",
            MANUAL,
            None,
        ),
        (
            2,
            Kind.HOME_VISIT,
            "Préparation du pilulier",
            "Pilulier de la semaine préparé, bonne observance.",
            MANUAL,
            None,
        ),
        (
            3,
            Kind.MEASUREMENT,
            "Poids : {v} kg",
            "Pesée à domicile, le matin à jeun.",
            MANUAL,
            (48, 105, 1),
        ),
        (
            2,
            Kind.MEASUREMENT,
            "Pression artérielle systolique : {v} mmHg",
            "Mesure au repos, en position assise.",
            MANUAL,
            (100, 170, 0),
        ),
        (
            1,
            Kind.MEASUREMENT,
            "Saturation en oxygène : {v} %",
            "Mesure au doigt, au repos.",
            MANUAL,
            (88, 99, 0),
        ),
        (
            1,
            Kind.MEASUREMENT,
            "Glycémie capillaire : {v} g/L",
            "Glycémie avant le repas.",
            MANUAL,
            (0.7, 2.6, 2),
        ),
        (
            2,
            Kind.NOTE,
            "Transmission infirmière",
            "Patient fatigué ce jour, à surveiller.",
            MANUAL,
            None,
        ),
        (
            1,
            Kind.MESSAGE,
            "Message au médecin traitant",
            "Œdèmes des membres inférieurs en augmentation, merci de votre avis.",
            MANUAL,
            None,
        ),
    ],
    Role.PHARMACIST: [
        (
            3,
            Kind.NOTE,
            "Dispensation du traitement mensuel",
            "Traitement délivré, pas d'interaction détectée.",
            MANUAL,
            None,
        ),
        (
            1,
            Kind.NOTE,
            "Bilan partagé de médication",
            "Entretien réalisé, deux propositions d'adaptation transmises au médecin.",
            MANUAL,
            None,
        ),
        (
            1,
            Kind.MESSAGE,
            "Alerte d'interaction médicamenteuse",
            "Association à risque repérée, merci de réévaluer la prescription.",
            MANUAL,
            None,
        ),
        (
            1,
            Kind.DOCUMENT,
            "Plan de prise actualisé",
            "Plan de prise remis au patient.",
            MANUAL,
            None,
        ),
    ],
    Role.SPECIALIST: [
        (
            3,
            Kind.CONSULTATION,
            "Consultation spécialisée",
            "Traitement ajusté, prochain rendez-vous dans six mois.",
            MANUAL,
            None,
        ),
        (
            2,
            Kind.DOCUMENT,
            "Compte rendu de consultation spécialisée",
            "Compte rendu adressé au médecin traitant.",
            MANUAL,
            None,
        ),
        (
            1,
            Kind.IMAGING,
            "Compte rendu d'imagerie",
            "Examen réalisé, compte rendu du radiologue disponible.",
            MANUAL,
            None,
        ),
        (
            1,
            Kind.TELE_EXPERTISE,
            "Réponse à une télé-expertise",
            "Avis rendu : poursuivre le traitement actuel.",
            MANUAL,
            None,
        ),
    ],
    Role.HOSPITAL: [
        (
            2,
            Kind.HOSPITAL_ADMISSION,
            "Admission en hospitalisation",
            "Admission par le service des urgences.",
            HL7,
            None,
        ),
        (
            2,
            Kind.HOSPITAL_DISCHARGE,
            "Sortie d'hospitalisation",
            "Retour à domicile. Lettre de liaison disponible.",
            HL7,
            None,
        ),
        (
            2,
            Kind.EMERGENCY_VISIT,
            "Passage aux urgences",
            "Consultation aux urgences, retour à domicile le jour même.",
            HL7,
            None,
        ),
        (
            1,
            Kind.HOSPITAL_TRANSFER,
            "Transfert en soins médicaux et de réadaptation",
            "Transfert pour rééducation après l'hospitalisation.",
            HL7,
            None,
        ),
        (
            2,
            Kind.DOCUMENT,
            "Lettre de liaison de sortie",
            "Traitement de sortie et consignes de surveillance.",
            MANUAL,
            None,
        ),
        (
            1,
            Kind.IMAGING,
            "Scanner thoracique",
            "Compte rendu du radiologue disponible.",
            HL7,
            None,
        ),
        (
            2,
            Kind.LAB_RESULT,
            "Biologie hospitalière : NT-proBNP {v} pg/mL",
            "Résultat transmis par le laboratoire de l'hôpital.",
            HL7,
            (150, 4500, 0),
        ),
    ],
    Role.PHYSIOTHERAPIST: [
        (
            4,
            Kind.HOME_VISIT,
            "Séance de kinésithérapie à domicile",
            "Travail de l'équilibre et de la marche.",
            MANUAL,
            None,
        ),
        (
            1,
            Kind.NOTE,
            "Bilan de kinésithérapie",
            "Périmètre de marche de {v} mètres, progression régulière.",
            MANUAL,
            (30, 600, 0),
        ),
    ],
    Role.SOCIAL_WORKER: [
        (
            2,
            Kind.NOTE,
            "Évaluation sociale",
            "Situation sociale évaluée, demande d'aide en cours.",
            MANUAL,
            None,
        ),
        (
            1,
            Kind.DOCUMENT,
            "Dossier de demande d'APA transmis",
            "Dossier complet adressé au conseil départemental.",
            MANUAL,
            None,
        ),
        (
            1,
            Kind.MESSAGE,
            "Message à la coordination",
            "Dossier d'aide sociale complété, en attente de décision.",
            MANUAL,
            None,
        ),
    ],
    Role.HOME_HELP: [
        (
            5,
            Kind.HOME_VISIT,
            "Intervention de l'aide à domicile",
            "Aide au lever, à la toilette et aux repas.",
            MANUAL,
            None,
        ),
        (
            1,
            Kind.NOTE,
            "Transmission de l'aide à domicile",
            "Patient moins autonome cette semaine, à signaler à l'infirmière.",
            MANUAL,
            None,
        ),
    ],
    Role.COORDINATOR: [
        (
            3,
            Kind.NOTE,
            "Appel de suivi de la coordination",
            "Point téléphonique avec le patient et l'aidant, situation stable.",
            MANUAL,
            None,
        ),
        (
            1,
            Kind.MESSAGE,
            "Message à l'équipe de soins",
            "Réunion de concertation proposée la semaine prochaine.",
            MANUAL,
            None,
        ),
        (
            1,
            Kind.DOCUMENT,
            "PPCS mis à jour",
            "Plan personnalisé de coordination en santé actualisé.",
            MANUAL,
            None,
        ),
    ],
    Role.OTHER: [
        (
            2,
            Kind.CONSULTATION,
            "Séance de suivi paramédical",
            "Séance réalisée, objectifs revus avec le patient.",
            MANUAL,
            None,
        ),
        (1, Kind.NOTE, "Bilan paramédical", "Bilan transmis à l'équipe de soins.", MANUAL, None),
    ],
}

# Hashes of the event id (three independent ones, seeded), made non-negative.
_GENERATE = """
INSERT INTO patients_timelineevent
    (id, patient_id, occurred_at, recorded_at, kind, author_id, organization_id,
     title, body, source, corrects_id, shared_with_patient)
SELECT g.id, m.patient_id, t.occurred_at,
       t.occurred_at + CASE WHEN k.source = 'hl7' THEN interval '2 minutes'
                            ELSE make_interval(mins => (h.h3 %% 240)::int) END,
       k.kind, m.professional_id, m.organization_id,
       replace(k.title, '{v}', coalesce(t.v, '')), replace(k.body, '{v}', coalesce(t.v, '')),
       k.source, NULL,
       -- On the patient's portal: their hospital stays, and a quarter of the visits.
       k.source = 'hl7' OR (k.kind IN ('consultation', 'home_visit') AND h.h3 %% 4 = 0)
FROM demo_member m
CROSS JOIN LATERAL generate_series(m.first_id, m.first_id + m.n_events - 1) AS g(id)
CROSS JOIN LATERAL (
    SELECT hashint8extended(g.id, %(seed)s) & 9223372036854775807 AS h1,
           hashint8extended(g.id, %(seed)s + 1) & 9223372036854775807 AS h2,
           hashint8extended(g.id, %(seed)s + 2) & 9223372036854775807 AS h3
) h
JOIN demo_event_kind k ON k.role = m.role AND k.idx = h.h1 %% m.kinds
CROSS JOIN LATERAL (
    SELECT ((m.first_day + (h.h2 %% m.n_days)::int)::timestamp
            + make_interval(secs => 25200 + (h.h3 %% 43200)::int)) AT TIME ZONE %(tz)s
               AS occurred_at,
           replace(round(k.low + (k.high - k.low) * (h.h3 %% 1001) / 1000.0, k.decimals)::text,
                   '.', ',') AS v
) t
WHERE m.first_id >= %(start)s AND m.first_id < %(stop)s
"""

_CORRECT = """
INSERT INTO patients_timelineevent
    (patient_id, occurred_at, recorded_at, kind, author_id, organization_id,
     title, body, source, corrects_id, shared_with_patient)
SELECT e.patient_id, e.occurred_at, LEAST(e.recorded_at + interval '1 day', %(now)s),
       'entered_in_error', e.author_id, e.organization_id,
       left('Saisie erronée : ' || e.title, 200),
       'Événement enregistré dans le mauvais dossier : il ne doit pas être pris en compte.',
       'manual', e.id, e.shared_with_patient
FROM patients_timelineevent e
JOIN demo_member m ON m.first_id = e.id
WHERE m.first_id = %(first)s
   OR (hashint8extended(m.first_id, %(seed)s + 3) & 9223372036854775807) %% 250 = 0
ORDER BY e.id
"""


def _members(ctx: Context, directory: Directory, population: Population) -> list[tuple]:
    """(patient, professional, organisation, role, first day, days, events, kinds, first id)."""
    rng = ctx.rng
    first_window_day = ctx.days_ago(HISTORY_DAYS)
    yesterday = ctx.days_ago(1)
    spans = []
    for patient, professional, role, start, end in population.members:
        first_day = max(start, first_window_day)
        last_day = min(end or yesterday, yesterday)
        days = (last_day - first_day).days + 1
        weight = ROLE_WEIGHTS[role] * days / HISTORY_DAYS * rng.uniform(0.5, 1.5)
        spans.append((patient, professional, role, first_day, days, max(weight, 0.0)))
    total_weight = sum(span[5] for span in spans) or 1.0
    per_weight = EVENTS_PER_PATIENT * len(population.patients) / total_weight
    kinds = {role: sum(weight for weight, *_ in rows) for role, rows in EVENT_KINDS.items()}
    members, next_event = [], next_id(TimelineEvent)
    for patient, professional, role, first_day, days, weight in spans:
        events = round(weight * per_weight) if days > 0 else 0
        if events:
            members.append(
                (
                    patient,
                    professional,
                    directory.workplace[professional],
                    role,
                    first_day,
                    days,
                    events,
                    kinds[role],
                    next_event,
                )
            )
            next_event += events
    return members


def _load_work_tables(members: list[tuple]) -> None:
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS demo_member, demo_event_kind")
        cursor.execute(
            """
            CREATE TEMP TABLE demo_member (
                patient_id bigint, professional_id bigint, organization_id bigint, role text,
                first_day date, n_days int, n_events int, kinds int, first_id bigint
            )
            """
        )
        cursor.execute(
            """
            CREATE TEMP TABLE demo_event_kind (
                role text, idx int, kind text, title text, body text, source text,
                low numeric, high numeric, decimals int
            )
            """
        )
        with cursor.copy("COPY demo_member FROM STDIN") as copy:
            for row in members:
                copy.write_row(row)
        with cursor.copy("COPY demo_event_kind FROM STDIN") as copy:
            for role, rows in EVENT_KINDS.items():
                index = 0
                for weight, kind, title, body, source, values in rows:
                    low, high, decimals = values or (None, None, None)
                    for _repeat in range(weight):
                        copy.write_row(
                            (role, index, kind, title, body, source, low, high, decimals)
                        )
                        index += 1
        cursor.execute("ANALYZE demo_member")
        cursor.execute("ANALYZE demo_event_kind")


def _chunks(members: list[tuple]) -> Iterator[tuple[int, int, int]]:
    """(first id, id after the last, events) for runs of members of about equal size."""
    start, rows = 0, 0
    for index, member in enumerate(members):
        rows += member[6]
        if rows >= ROWS_PER_STATEMENT or index == len(members) - 1:
            yield members[start][8], member[8] + member[6], rows
            start, rows = index + 1, 0


def build_timeline(
    ctx: Context, directory: Directory, population: Population, pathway_events: list[Event]
) -> None:
    with ctx.phase(_("Fil des événements")):
        members = _members(ctx, directory, population)
        _load_work_tables(members)
        total = sum(member[6] for member in members)
        written = 0
        with connection.cursor() as cursor:
            for start, stop, rows in _chunks(members):
                parameters = {"seed": ctx.seed, "tz": settings.TIME_ZONE}
                cursor.execute(_GENERATE, {**parameters, "start": start, "stop": stop})
                written += rows
                ctx.log(f"  {written:_} / {total:_}".replace("_", "\u202f"))
        first_id = next_id(TimelineEvent)
        copy_rows(
            TimelineEvent,
            [
                "id",
                "patient",
                "occurred_at",
                "recorded_at",
                "kind",
                "author",
                "organization",
                "title",
                "body",
                "source",
                "pathway",
                "shared_with_patient",
            ],
            # The pathways' milestones are shared with the patient (as the platform does).
            (
                (first_id + n, *event, True)
                for n, event in enumerate(sorted(pathway_events, key=_order))
            ),
        )
        with connection.cursor() as cursor:
            first_member = members[0][8] if members else 0
            cursor.execute(_CORRECT, {"now": ctx.now, "seed": ctx.seed, "first": first_member})
            cursor.execute("DROP TABLE demo_member, demo_event_kind")


def _order(event: Event) -> tuple[int, datetime.datetime]:
    return event[0], event[1]
