"""What the archive of "Download all my data" says (portal/archive.py writes the zip): the
record's rows (`Record`, each kind a queryset fetching its related rows with it, read in
chunks), the PDF summary and one CSV file per kind of row. Health data never reaches the
logs: ids only.
"""

import datetime
import itertools
from collections.abc import Iterable, Iterator

from django.db.models import Exists, F, OuterRef, Prefetch, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from pathways.models import CarePlanVersion, Pathway, Referral, Step, TeleExpertiseRequest
from pathways.pdf import render_pdf
from patients.models import (
    CareTeamMember,
    ConsentRecord,
    Document,
    LiaisonMessage,
    Observation,
    Patient,
    TimelineEvent,
)
from portal.presenting import labelled_goals_and_actions, with_organisations
from professionals.models import PractitionerRole
from tsn.models import AuditEvent
from tsn.periods import in_effect_on

# Rows read at a time (and their related rows, one query per chunk).
CHUNK = 2000
SUMMARY_TEMPLATE = "portal/export_summary_pdf.html"


class Record:
    """The rows of one record (and of the duplicates merged into it), each kind as a
    queryset that fetches its related rows with it."""

    def __init__(self, patient: Patient, *, with_access_log: bool) -> None:
        self.patient = patient
        self.ids = [patient.pk, *(merged.pk for merged in patient.merged_records.all())]
        self.with_access_log = with_access_log
        self.today = timezone.localdate()

    def _current_roles(self, path: str) -> Prefetch:
        """The organisations where the professional at `path` practises today."""
        roles = (
            PractitionerRole.objects.filter(in_effect_on(self.today))
            .select_related("organization")
            .order_by("organization__name", "pk")
        )
        return Prefetch(f"{path}roles", queryset=roles, to_attr="current_roles")

    def care_team(self) -> QuerySet[CareTeamMember]:
        return (
            CareTeamMember.objects.filter(patient_id__in=self.ids)
            .select_related("professional")
            .prefetch_related(self._current_roles("professional__"))
            .order_by("-start", "role", "pk")
        )

    def caregivers(self) -> QuerySet:
        return self.patient.caregivers.order_by("last_name", "first_name", "pk")

    def pathways(self) -> QuerySet[Pathway]:
        steps = Step.objects.select_related("template_step", "assignee").order_by(
            "template_step__order", "pk"
        )
        return (
            Pathway.objects.filter(patient_id__in=self.ids)
            .select_related("template", "support_service", "referent")
            .prefetch_related(Prefetch("steps", queryset=steps))
            .order_by("enrolled_on", "pk")
        )

    def care_plan(self) -> CarePlanVersion | None:
        return (
            CarePlanVersion.objects.filter(
                care_plan__patient=self.patient, number=F("care_plan__current_version")
            )
            .select_related("author", "referent", "validated_by")
            .first()
        )

    def timeline(self) -> QuerySet[TimelineEvent]:
        corrected = TimelineEvent.objects.filter(corrects=OuterRef("pk"))
        return (
            TimelineEvent.objects.filter(patient_id__in=self.ids)
            .select_related("author", "organization", "pathway__template", "document")
            .annotate(entered_in_error=Exists(corrected))
            .order_by("occurred_at", "pk")
        )

    def documents(self) -> QuerySet[Document]:
        return (
            Document.objects.filter(patient_id__in=self.ids)
            .select_related("event", "uploaded_by")
            .order_by("uploaded_at", "pk")
        )

    def liaison_messages(self) -> QuerySet[LiaisonMessage]:
        return (
            LiaisonMessage.objects.filter(patient_id__in=self.ids)
            .select_related("author")
            .order_by("sent_at", "pk")
        )

    def measurements(self) -> QuerySet[Observation]:
        return (
            Observation.objects.filter(patient_id__in=self.ids)
            .select_related("organization")
            .order_by("measured_at", "pk")
        )

    def referrals(self) -> QuerySet[Referral]:
        return (
            Referral.objects.filter(patient_id__in=self.ids)
            .select_related("service__organization", "sent_by", "responded_by")
            .order_by("sent_at", "pk")
        )

    def tele_expertise(self) -> QuerySet[TeleExpertiseRequest]:
        return (
            TeleExpertiseRequest.objects.filter(patient_id__in=self.ids)
            .select_related("requester", "expert")
            .order_by("asked_at", "pk")
        )

    def consents(self) -> QuerySet[ConsentRecord]:
        return (
            ConsentRecord.objects.filter(patient_id__in=self.ids)
            .select_related("professional", "recorded_by")
            .order_by("recorded_at", "pk")
        )

    def access_log(self) -> Iterator[AuditEvent]:
        """Every trace of the record, newest first, each with its `organisations` (where
        its author practises, or the organisation whose machine made the request)."""
        if not self.with_access_log:
            return
        events = (
            AuditEvent.objects.filter(patient_id__in=self.ids)
            .select_related("actor")
            .order_by("-occurred_at", "-pk")
            .iterator(chunk_size=CHUNK)
        )
        for chunk in itertools.batched(events, CHUNK):
            yield from with_organisations(list(chunk))


def in_chunks(queryset: QuerySet) -> Iterator:
    return queryset.iterator(chunk_size=CHUNK)


# --- What the summary and the CSV files say ----------------------------------------------------


def _when(moment: datetime.datetime | None) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M") if moment else ""


def _day(day: datetime.date | None) -> str:
    return day.isoformat() if day else ""


def _yes(flag: bool) -> str:
    return _("oui") if flag else _("non")


def _name(person: object) -> str:
    return str(person) if person is not None else ""


def summary_pdf(record: Record, *, retention_days: int) -> bytes:
    """The PDF summary of the whole record, in plain words (the archive is kept
    `retention_days`)."""
    patient = record.patient
    version = record.care_plan()
    context = {
        "patient": patient,
        "now": timezone.now(),
        "retention_days": retention_days,
        "caregivers": list(record.caregivers()),
        "team": list(in_chunks(record.care_team())),
        "pathways": list(in_chunks(record.pathways())),
        "version": version,
        "needs": [
            (label, version.needs.get(domain, ""))
            for domain, label in CarePlanVersion.Domain.choices
        ]
        if version
        else [],
        **labelled_goals_and_actions(version),
        "events": list(in_chunks(record.timeline())),
        "documents": list(in_chunks(record.documents())),
        "liaison_messages": list(in_chunks(record.liaison_messages())),
        "measurements": list(in_chunks(record.measurements())),
        "referrals": list(in_chunks(record.referrals())),
        "tele_expertise": list(in_chunks(record.tele_expertise())),
        "consents": list(in_chunks(record.consents())),
        "with_access_log": record.with_access_log,
        "access_events": list(record.access_log()),
    }
    return render_pdf(SUMMARY_TEMPLATE, context)


def csv_files(record: Record) -> Iterator[tuple[str, list[str], Iterable[list]]]:
    """(file name, header, rows) of each CSV file but documents.csv."""
    yield "care_team.csv", *_care_team_csv(record)
    yield "pathways.csv", *_pathways_csv(record)
    yield "timeline.csv", *_timeline_csv(record)
    yield "liaison_messages.csv", *_liaison_csv(record)
    yield "measurements.csv", *_measurements_csv(record)
    yield "referrals.csv", *_referrals_csv(record)
    yield "tele_expertise.csv", *_tele_expertise_csv(record)
    yield "consents.csv", *_consents_csv(record)
    if record.with_access_log:
        yield "access_log.csv", *_access_log_csv(record)


Table = tuple[list[str], Iterable[list]]


def _care_team_csv(record: Record) -> Table:
    header = [_("rôle"), _("nom"), _("profession"), _("téléphone"), _("MSSanté")]
    header += [_("organisations"), _("début"), _("fin")]
    rows = (
        [
            member.get_role_display(),
            member.professional,
            member.professional.get_profession_display(),
            member.professional.phone,
            member.professional.mssante_address,
            ", ".join(role.organization.name for role in member.professional.current_roles),
            _day(member.start),
            _day(member.end),
        ]
        for member in in_chunks(record.care_team())
    )
    return header, rows


def _pathways_csv(record: Record) -> Table:
    header = [_("parcours n°"), _("parcours"), _("statut du parcours"), _("inclusion")]
    header += [_("fin"), _("motif de sortie"), _("service qui suit"), _("référent")]
    header += [_("étape"), _("statut de l'étape"), _("échéance"), _("rendez-vous le")]
    header += [_("lieu"), _("réalisée le"), _("responsable"), _("compte rendu")]

    def rows() -> Iterator[list]:
        for pathway in in_chunks(record.pathways()):
            head = [
                pathway.pk,
                pathway.template.name,
                pathway.get_status_display(),
                _day(pathway.enrolled_on),
                _day(pathway.ended_on),
                pathway.exit_reason,
                _name(pathway.support_service),
                _name(pathway.referent),
            ]
            steps = list(pathway.steps.all())
            if not steps:
                yield head
            for step in steps:
                yield [
                    *head,
                    step.template_step.name,
                    step.get_status_display(),
                    _day(step.due_on),
                    _when(step.scheduled_at),
                    step.place,
                    _when(step.done_at),
                    _name(step.assignee),
                    step.outcome,
                ]

    return header, rows()


def _timeline_csv(record: Record) -> Table:
    header = [_("n°"), _("date"), _("enregistré le"), _("nature"), _("titre"), _("contenu")]
    header += [_("auteur"), _("organisation"), _("source"), _("parcours"), _("document")]
    header += [_("partagé avec le patient"), _("saisie erronée"), _("corrige l'événement n°")]
    rows = (
        [
            event.pk,
            _when(event.occurred_at),
            _when(event.recorded_at),
            event.get_kind_display(),
            event.title,
            event.body,
            _name(event.author),
            _name(event.organization),
            event.get_source_display(),
            event.pathway.template.name if event.pathway else "",
            _document_of(event),
            _yes(event.shared_with_patient),
            _yes(event.entered_in_error),
            event.corrects_id or "",
        ]
        for event in in_chunks(record.timeline())
    )
    return header, rows


def _document_of(event: TimelineEvent) -> str:
    try:
        return event.document.original_name
    except Document.DoesNotExist:
        return ""


def _liaison_csv(record: Record) -> Table:
    header = [_("envoyé le"), _("auteur"), _("message")]
    rows = (
        [_when(message.sent_at), _name(message.author), message.body]
        for message in in_chunks(record.liaison_messages())
    )
    return header, rows


def _measurements_csv(record: Record) -> Table:
    header = [_("mesurée le"), _("mesure"), _("valeur"), _("unité (UCUM)")]
    header += [_("valeur transmise"), _("unité transmise"), _("appareil"), _("organisation")]
    header += [_("reçue le")]
    rows = (
        [
            _when(measurement.measured_at),
            measurement.get_kind_display(),
            measurement.value,
            measurement.unit,
            measurement.sent_value,
            measurement.sent_unit,
            measurement.device,
            _name(measurement.organization),
            _when(measurement.recorded_at),
        ]
        for measurement in in_chunks(record.measurements())
    )
    return header, rows


def _referrals_csv(record: Record) -> Table:
    header = [_("envoyée le"), _("service"), _("organisation"), _("adressée par"), _("motif")]
    header += [_("statut"), _("réponse le"), _("réponse de"), _("motif du refus"), _("close le")]
    rows = (
        [
            _when(referral.sent_at),
            referral.service.name,
            referral.service.organization.name,
            _name(referral.sent_by),
            referral.reason,
            referral.get_status_display(),
            _when(referral.responded_at),
            _name(referral.responded_by),
            referral.refusal_reason,
            _when(referral.closed_at),
        ]
        for referral in in_chunks(record.referrals())
    )
    return header, rows


def _tele_expertise_csv(record: Record) -> Table:
    header = [_("posée le"), _("requérant"), _("requis"), _("question"), _("statut")]
    header += [_("répondue le"), _("réponse")]
    rows = (
        [
            _when(request.asked_at),
            _name(request.requester),
            _name(request.expert),
            request.question,
            request.get_status_display(),
            _when(request.answered_at),
            request.answer,
        ]
        for request in in_chunks(record.tele_expertise())
    )
    return header, rows


def _consents_csv(record: Record) -> Table:
    header = [_("recueilli le"), _("nature"), _("professionnel visé"), _("recueilli par")]
    header += [_("retiré le"), _("commentaire")]
    rows = (
        [
            _when(consent.recorded_at),
            consent.get_kind_display(),
            _name(consent.professional),
            _name(consent.recorded_by),
            _when(consent.withdrawn_at),
            consent.note,
        ]
        for consent in in_chunks(record.consents())
    )
    return header, rows


def _access_log_csv(record: Record) -> Table:
    header = [_("date"), _("personne"), _("rôle"), _("organisation"), _("action")]
    header += [_("objet"), _("résultat"), _("motif (bris de glace)")]
    rows = (
        [
            _when(event.occurred_at),
            _name(event.actor),
            event.get_actor_role_display(),
            event.organisations,
            event.get_action_display(),
            event.object_type,
            event.get_outcome_display(),
            event.break_glass_reason,
        ]
        for event in record.access_log()
    )
    return header, rows


def documents_csv(record: Record, in_archive: dict[int, str]) -> Table:
    header = [_("déposé le"), _("nom d'origine"), _("type"), _("taille (octets)")]
    header += [_("déposé par"), _("événement"), _("fichier dans l'archive")]
    rows = (
        [
            _when(document.uploaded_at),
            document.original_name,
            document.content_type,
            document.size,
            _name(document.uploaded_by),
            document.event.title,
            in_archive.get(document.pk, _("fichier introuvable")),
        ]
        for document in in_chunks(record.documents())
    )
    return header, rows
