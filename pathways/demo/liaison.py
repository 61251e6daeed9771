"""The demo patients' liaison notebooks (cahiers de liaison): short messages of the care
team over each pathway's life, a few mentioning a colleague.

Only active accounts can be mentioned (as `patients.services.mentionable_users` wants):
in the demo, the demo GP, nurse and hospital physician, when they are in the care team.
Their marks of what they have read leave the most recent mentions unread.
"""

import datetime

from pathways.demo.accounts import ProfessionalAccounts
from pathways.demo.bulk import copy_rows, next_id
from pathways.demo.context import Context
from pathways.demo.coordination import Draws, Member
from pathways.demo.directory import Directory
from pathways.demo.population import Population
from pathways.models import Pathway
from patients.models import CareTeamMember, LiaisonMessage, SeenMark

Role = CareTeamMember.Role
DAY = datetime.timedelta(days=1)

# Messages per month of pathway, and at most per pathway.
PER_MONTH = 0.45
MAX_PER_PATHWAY = 15
# The demo patient's notebook is never empty.
DEMO_PATIENT_MESSAGES = 4
MENTIONING = 0.3

# Who writes, and how much (home helpers only read the record). Specialists and hospital
# physicians write only when they have an account of their own (the demo one).
WRITERS = {
    Role.NURSE: 4.0,
    Role.GP: 2.5,
    Role.COORDINATOR: 1.5,
    Role.PHARMACIST: 1.0,
    Role.PHYSIOTHERAPIST: 1.0,
    Role.SOCIAL_WORKER: 0.8,
    Role.OTHER: 0.7,
    Role.SPECIALIST: 0.4,
    Role.HOSPITAL: 0.4,
}
WITH_OWN_ACCOUNT_ONLY = {Role.SPECIALIST, Role.HOSPITAL}
BODIES: dict[str, tuple[str, ...]] = {
    Role.NURSE: (
        "Passage infirmier ce matin, tension stable.",
        "Pansement refait, plaie propre.",
        "Pilulier préparé pour la semaine.",
        "Poids stable ce matin, pas d'œdème.",
        "Patient fatigué aujourd'hui, je repasse demain.",
        "Prise de sang faite ce matin, résultats attendus demain.",
        "Bonne observance du traitement, rien à signaler.",
    ),
    Role.GP: (
        "Vu en consultation ce jour, pas de changement de traitement.",
        "Ordonnance renouvelée pour trois mois.",
        "Traitement adapté, merci de surveiller la tension cette semaine.",
        "Bilan biologique à prévoir dans quinze jours.",
    ),
    Role.COORDINATOR: (
        "Réunion de concertation prévue mardi prochain à 14 h.",
        "Appel au patient et à son aidant : situation stable.",
        "PPCS mis à jour après la réévaluation.",
        "Dossier transmis au service d'aide à domicile.",
    ),
    Role.PHARMACIST: (
        "Traitement du mois délivré, pas d'interaction relevée.",
        "Plan de prise remis au patient et à son aidant.",
    ),
    Role.PHYSIOTHERAPIST: (
        "Séance faite, la marche progresse avec le déambulateur.",
        "Exercices d'équilibre bien suivis, à poursuivre.",
    ),
    Role.SOCIAL_WORKER: (
        "Dossier APA déposé, réponse attendue sous deux mois.",
        "Rendez-vous pris avec la famille pour l'aide à domicile.",
    ),
    Role.OTHER: (
        "Séance réalisée, prochain rendez-vous dans quinze jours.",
        "Bilan transmis au médecin traitant.",
    ),
    Role.SPECIALIST: ("Consultation faite, compte rendu envoyé au médecin traitant.",),
    Role.HOSPITAL: ("Sortie prévue en fin de semaine, lettre de liaison à suivre.",),
}
# Messages mentioning a colleague, by the colleague's role.
MENTION_BODIES: dict[str, tuple[str, ...]] = {
    Role.GP: (
        "Tension basse ce matin, pouvez-vous réévaluer le traitement ?",
        "Œdèmes des chevilles en augmentation depuis deux jours, merci de votre avis.",
        "Le patient demande un rendez-vous cette semaine.",
    ),
    Role.NURSE: (
        "Pouvez-vous vérifier la prise du traitement lors de votre prochain passage ?",
        "Prise de sang à prévoir jeudi, l'ordonnance est au domicile.",
        "Merci de surveiller le poids tous les jours cette semaine.",
    ),
    Role.HOSPITAL: (
        "Merci de nous transmettre le compte rendu d'hospitalisation.",
        "Date de sortie prévue ? L'équipe de ville s'organise.",
    ),
}


def build_liaison(
    ctx: Context,
    directory: Directory,
    population: Population,
    teams: dict[int, list[Member]],
    accounts: ProfessionalAccounts,
) -> None:
    rng, draw = ctx.rng, Draws(ctx)
    coordinator, gp, nurse = (
        directory.demo[key] for key in ("coordination", "medecin", "infirmiere")
    )
    messages, mentions = [], []
    # (demo user, patient) -> when they last wrote there (None: they were only mentioned).
    readers: dict[tuple[int, int], datetime.datetime | None] = {}
    next_message = next_id(LiaisonMessage)
    for plan in population.patients:
        demo_patient = plan.patient_id == population.demo_patient_id
        team = teams[plan.patient_id]
        writers = [
            m
            for m in team
            if m.role in WRITERS
            and (m.role not in WITH_OWN_ACCOUNT_ONLY or accounts.is_live(m.professional))
        ]
        colleagues = [
            m
            for m in team
            if m.role in MENTION_BODIES
            and accounts.is_live(m.professional)
            and m.professional != coordinator
        ]
        notebook = []
        for pathway in plan.pathways:
            if pathway.status == Pathway.Status.PROPOSED:
                continue
            stop = min(pathway.closed_on or ctx.today, ctx.today)
            days = (stop - pathway.enrolled_on).days
            if days < 1:
                continue
            expected = days / 30.4 * PER_MONTH * rng.uniform(0.5, 1.5)
            count = min(int(expected) + int(rng.random() < expected % 1), MAX_PER_PATHWAY)
            if demo_patient and pathway is plan.pathways[-1]:
                count = max(count, DEMO_PATIENT_MESSAGES)
            for _ in range(count):
                day = pathway.enrolled_on + DAY * draw.between(0, days - 1)
                present = [m for m in writers if m.on(day)]
                if not present:
                    continue
                author = rng.choices(present, [WRITERS[m.role] for m in present])[0]
                mentionable = [
                    m for m in colleagues if m.professional != author.professional and m.on(day)
                ]
                mentioned = None
                if mentionable and rng.random() < (0.6 if demo_patient else MENTIONING):
                    mentioned = draw.pick(mentionable)
                    body = draw.pick(MENTION_BODIES[mentioned.role])
                else:
                    body = draw.pick(BODIES[author.role])
                notebook.append((draw.moment(day), author.professional, body, mentioned))
        if demo_patient:
            # The latest message of the demo patient's notebook: a question to the demo GP,
            # not read yet.
            day = max(plan.pathways[-1].enrolled_on, ctx.today - DAY * draw.between(1, 2))
            to_gp = next((m for m in colleagues if m.professional == gp and m.on(day)), None)
            present = [m for m in writers if m.on(day) and m.professional != gp]
            present.sort(key=lambda m: m.professional != nurse)
            if to_gp is not None and present:
                body = draw.pick(MENTION_BODIES[Role.GP])
                at = draw.moment(day)
                latest = max((message[0] for message in notebook), default=at)
                at = max(at, latest + (ctx.now - latest) / 2)
                notebook.append((at, present[0].professional, body, to_gp))
        notebook.sort(key=lambda message: message[0])
        for sent, author, body, mentioned in notebook:
            user = accounts.user(author, sent)
            messages.append((next_message, plan.patient_id, user, body, sent))
            if accounts.is_live(author):
                readers[user, plan.patient_id] = sent
            if mentioned is not None:
                reader = accounts.user(mentioned.professional, sent)
                mentions.append((next_message, reader))
                readers.setdefault((reader, plan.patient_id), None)
            next_message += 1
    copy_rows(LiaisonMessage, ["id", "patient", "author", "body", "sent_at"], messages)
    copy_rows(LiaisonMessage.mentions.through, ["liaisonmessage", "user"], mentions)
    # What the demo accounts have read: up to some days ago, and at least what they wrote
    # (the demo patient's mentions are all new).
    marks = []
    for (user, patient), wrote in sorted(readers.items(), key=lambda item: item[0]):
        seen = None
        if patient != population.demo_patient_id:
            seen = ctx.at(ctx.today - DAY * draw.between(2, 20), 18)
        if wrote is not None:
            seen = max(seen or wrote, wrote)
        if seen is not None:
            marks.append(
                SeenMark(user_id=user, patient_id=patient, part=SeenMark.Part.LIAISON, seen_at=seen)
            )
    SeenMark.objects.bulk_create(marks, batch_size=5000)
