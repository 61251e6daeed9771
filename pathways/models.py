"""Care pathways: templates and their steps, a patient's pathway and steps and their
transition log, the personalised care plan (PPCS), referrals, tele-expertise, alerts.

State changes go through `pathways/services.py`; each model lists the moves it allows.
"""

import datetime

import pgtrigger
from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from patients.models import Document, Observation, Patient, TimelineEvent
from professionals.models import Professional, SupportService
from tsn.models import TimestampedModel


class PathwayTemplate(TimestampedModel):
    """A versioned model of a pathway; editing creates a new version."""

    code = models.SlugField(_("code"), max_length=50)
    version = models.PositiveIntegerField(_("version"), default=1)
    name = models.CharField(_("nom"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    is_current = models.BooleanField(_("version en vigueur"), default=True)
    # A followed patient with no event on their timeline for this many days raises an
    # alert for the referent; empty: no such rule for this pathway.
    no_contact_days = models.PositiveSmallIntegerField(
        _("alerte sans contact après (jours)"), null=True, blank=True
    )

    class Meta:
        verbose_name = _("modèle de parcours")
        verbose_name_plural = _("modèles de parcours")
        ordering = ["name", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["code", "version"], name="template_code_version"),
            models.UniqueConstraint(
                fields=["code"], condition=Q(is_current=True), name="template_one_current"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} (v{self.version})"


class StepTemplate(models.Model):
    class RelativeTo(models.TextChoices):
        ENROLMENT = "enrolment", _("l'inclusion")
        PREVIOUS_STEP = "previous_step", _("l'étape précédente")
        # Dated when the hospital feed reports the patient's discharge.
        DISCHARGE = "discharge", _("la sortie d'hospitalisation")

    template = models.ForeignKey(
        PathwayTemplate,
        verbose_name=_("modèle"),
        on_delete=models.CASCADE,
        related_name="steps",
    )
    order = models.PositiveSmallIntegerField(_("ordre"))
    name = models.CharField(_("nom"), max_length=200)
    responsible_profession = models.CharField(
        _("profession responsable"), max_length=30, choices=Professional.Profession.choices
    )
    deadline_days = models.PositiveIntegerField(_("délai (jours)"))
    relative_to = models.CharField(
        _("délai compté depuis"),
        max_length=20,
        choices=RelativeTo.choices,
        default=RelativeTo.ENROLMENT,
    )
    # Days past the due date before an overdue step raises an alert.
    grace_days = models.PositiveSmallIntegerField(_("tolérance avant alerte (jours)"), default=0)
    required = models.BooleanField(_("obligatoire"), default=True)
    blocking = models.BooleanField(_("bloque l'étape suivante"), default=False)
    # Done by the GP's validation of the care plan, not by hand.
    validates_care_plan = models.BooleanField(
        _("réalisée par la validation du PPCS"), default=False
    )

    class Meta:
        verbose_name = _("étape de modèle")
        verbose_name_plural = _("étapes de modèle")
        ordering = ["template", "order"]
        constraints = [
            models.UniqueConstraint(fields=["template", "order"], name="step_template_order"),
        ]

    def __str__(self) -> str:
        return f"{self.order}. {self.name}"


class Pathway(TimestampedModel):
    class Status(models.TextChoices):
        PROPOSED = "proposed", _("Proposé")
        ACTIVE = "active", _("Actif")
        SUSPENDED = "suspended", _("Suspendu")
        COMPLETED = "completed", _("Terminé")
        EXITED = "exited", _("Sortie du parcours")

    class Origin(models.TextChoices):
        GP = "gp", _("Médecin traitant")
        HOSPITAL = "hospital", _("Établissement de santé")
        PROFESSIONAL = "professional", _("Autre professionnel")
        PATIENT_FAMILY = "patient_family", _("Patient ou entourage")
        SOCIAL_SERVICES = "social_services", _("Services sociaux")
        OTHER = "other", _("Autre")

    # The moves a pathway may make (status -> statuses it may go to).
    TRANSITIONS = {
        Status.PROPOSED: (Status.ACTIVE, Status.EXITED),
        Status.ACTIVE: (Status.SUSPENDED, Status.COMPLETED, Status.EXITED),
        Status.SUSPENDED: (Status.ACTIVE, Status.EXITED),
    }
    CLOSED_STATUSES = (Status.COMPLETED, Status.EXITED)

    patient = models.ForeignKey(
        Patient, verbose_name=_("patient"), on_delete=models.PROTECT, related_name="pathways"
    )
    template = models.ForeignKey(
        PathwayTemplate,
        verbose_name=_("modèle (version)"),
        on_delete=models.PROTECT,
        related_name="pathways",
    )
    status = models.CharField(
        _("statut"), max_length=10, choices=Status.choices, default=Status.PROPOSED
    )
    support_service = models.ForeignKey(
        SupportService,
        verbose_name=_("service qui suit le patient"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="pathways",
    )
    referent = models.ForeignKey(
        Professional,
        verbose_name=_("coordinateur référent"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="referent_pathways",
    )
    origin = models.CharField(
        _("origine de la demande"), max_length=20, choices=Origin.choices, default=Origin.GP
    )
    enrolled_on = models.DateField(_("date d'inclusion"), default=timezone.localdate)
    ended_on = models.DateField(_("date de fin"), null=True, blank=True)
    exit_reason = models.TextField(_("motif de sortie"), blank=True)

    class Meta:
        verbose_name = _("parcours")
        verbose_name_plural = _("parcours")
        indexes = [
            models.Index(fields=["patient", "status"], name="pathway_patient_status"),
            models.Index(fields=["referent", "status"], name="pathway_referent_status"),
            models.Index(fields=["support_service", "status"], name="pathway_service_status"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=["completed", "exited"], ended_on__isnull=False)
                | (~Q(status__in=["completed", "exited"]) & Q(ended_on__isnull=True)),
                name="pathway_ended_iff_closed",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.template.name} — {self.get_status_display()}"

    def may_become(self, status: str) -> bool:
        return status in self.TRANSITIONS.get(self.status, ())


class Step(models.Model):
    class Status(models.TextChoices):
        PLANNED = "planned", _("Prévue")
        SCHEDULED = "scheduled", _("Programmée")
        DONE = "done", _("Réalisée")
        SKIPPED = "skipped", _("Non réalisée")

    OPEN_STATUSES = (Status.PLANNED, Status.SCHEDULED)
    # The moves a step may make; rescheduling a scheduled step is not a change of status.
    TRANSITIONS = {
        Status.PLANNED: (Status.SCHEDULED, Status.DONE, Status.SKIPPED),
        Status.SCHEDULED: (Status.PLANNED, Status.DONE, Status.SKIPPED),
    }

    pathway = models.ForeignKey(
        Pathway, verbose_name=_("parcours"), on_delete=models.CASCADE, related_name="steps"
    )
    template_step = models.ForeignKey(
        StepTemplate,
        verbose_name=_("étape du modèle"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    due_on = models.DateField(_("échéance"), null=True, blank=True)
    assignee = models.ForeignKey(
        Professional,
        verbose_name=_("responsable"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="assigned_steps",
    )
    status = models.CharField(
        _("statut"), max_length=10, choices=Status.choices, default=Status.PLANNED
    )
    scheduled_at = models.DateTimeField(_("rendez-vous le"), null=True, blank=True)
    # An address, a room, or the link of a video consultation.
    place = models.CharField(_("lieu ou lien de téléconsultation"), max_length=300, blank=True)
    done_at = models.DateTimeField(_("réalisée le"), null=True, blank=True)
    # The outcome note when done, the reason when skipped.
    outcome = models.TextField(_("compte rendu"), blank=True)
    timeline_event = models.ForeignKey(
        TimelineEvent,
        verbose_name=_("événement du fil"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )

    class Meta:
        verbose_name = _("étape")
        verbose_name_plural = _("étapes")
        ordering = ["pathway", "template_step__order"]
        indexes = [
            models.Index(
                fields=["due_on"],
                name="step_open_due",
                condition=Q(status__in=["planned", "scheduled"]),
            ),
            models.Index(fields=["pathway"], name="step_pathway"),
            # A professional's appointments (their calendar feed).
            models.Index(
                fields=["assignee", "scheduled_at"],
                name="step_appointments",
                condition=Q(scheduled_at__isnull=False),
            ),
        ]
        constraints = [
            models.UniqueConstraint(fields=["pathway", "template_step"], name="step_once"),
            models.CheckConstraint(
                condition=~Q(status="scheduled") | Q(scheduled_at__isnull=False),
                name="step_scheduled_has_a_date",
            ),
            models.CheckConstraint(
                condition=Q(status="done", done_at__isnull=False)
                | (~Q(status="done") & Q(done_at__isnull=True)),
                name="step_done_at_iff_done",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.template_step.name} — {self.get_status_display()}"

    def is_overdue(self, today: datetime.date | None = None) -> bool:
        today = today or timezone.localdate()
        return self.status in self.OPEN_STATUSES and self.due_on is not None and self.due_on < today

    def may_become(self, status: str) -> bool:
        return status in self.TRANSITIONS.get(self.status, ())

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN_STATUSES


@pgtrigger.register(
    pgtrigger.Protect(name="transition_append_only", operation=pgtrigger.Update | pgtrigger.Delete),
)
class Transition(models.Model):
    """One change of status of a pathway or of one of its steps (the indicators' source).
    Append-only (database trigger)."""

    pathway = models.ForeignKey(
        Pathway, verbose_name=_("parcours"), on_delete=models.PROTECT, related_name="transitions"
    )
    step = models.ForeignKey(
        Step,
        verbose_name=_("étape"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="transitions",
    )
    # None for the platform itself (a scan, an import).
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("auteur"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    at = models.DateTimeField(_("le"), default=timezone.now)
    # "" when the pathway or step is created.
    from_status = models.CharField(_("de"), max_length=10, blank=True)
    to_status = models.CharField(_("vers"), max_length=10)
    reason = models.TextField(_("motif"), blank=True)

    class Meta:
        verbose_name = _("changement de statut")
        verbose_name_plural = _("changements de statut")
        indexes = [
            models.Index(fields=["pathway", "at"], name="transition_pathway"),
            models.Index(fields=["to_status", "at"], name="transition_status_at"),
        ]

    def __str__(self) -> str:
        return f"{self.from_status or '∅'} -> {self.to_status}"

    def _label(self, status: str) -> str:
        statuses = Step.Status if self.step_id else Pathway.Status
        return statuses(status).label if status in statuses.values else status

    @property
    def from_label(self) -> str:
        return self._label(self.from_status) if self.from_status else ""

    @property
    def to_label(self) -> str:
        return self._label(self.to_status)


class CarePlan(TimestampedModel):
    """A patient's personalised care plan (PPCS). Its content lives in versions; the
    number of the latest is the lock an edit must present (optimistic locking)."""

    patient = models.OneToOneField(
        Patient, verbose_name=_("patient"), on_delete=models.PROTECT, related_name="care_plan"
    )
    current_version = models.PositiveIntegerField(_("version en cours"), default=0)
    # Copied from the current version, for the review-date scan and the indicators.
    next_review_on = models.DateField(_("prochaine révision"), null=True, blank=True)

    class Meta:
        verbose_name = _("plan personnalisé de coordination en santé")
        verbose_name_plural = _("plans personnalisés de coordination en santé")
        indexes = [models.Index(fields=["next_review_on"], name="care_plan_review")]

    def __str__(self) -> str:
        return f"PPCS {self.patient_id} v{self.current_version}"


class CarePlanVersion(models.Model):
    """One saved state of a care plan; never changed afterwards, except its validation."""

    class Domain(models.TextChoices):
        HEALTH = "health", _("Santé")
        PSYCHOLOGICAL = "psychological", _("Psychologique")
        SOCIAL = "social", _("Social")
        ENVIRONMENT = "environment", _("Environnement et habitat")
        AUTONOMY = "autonomy", _("Autonomie")

    class GoalStatus(models.TextChoices):
        PLANNED = "planned", _("À engager")
        IN_PROGRESS = "in_progress", _("En cours")
        ACHIEVED = "achieved", _("Atteint")
        NOT_ACHIEVED = "not_achieved", _("Non atteint")

    class ActionKind(models.TextChoices):
        PREVENTION = "prevention", _("Prévention")
        CARE = "care", _("Soins")
        SUPPORT = "support", _("Accompagnement")

    care_plan = models.ForeignKey(
        CarePlan, verbose_name=_("PPCS"), on_delete=models.PROTECT, related_name="versions"
    )
    number = models.PositiveIntegerField(_("version"))
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("rédigée par"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_at = models.DateTimeField(_("enregistrée le"), default=timezone.now)
    referent = models.ForeignKey(
        Professional,
        verbose_name=_("référent"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    next_review_on = models.DateField(_("prochaine révision"), null=True, blank=True)
    general_information = models.TextField(_("informations générales"), blank=True)
    # {domain: text} for each Domain.
    needs = models.JSONField(_("problèmes et besoins"), default=dict, blank=True)
    # [{"text", "target", "status" (GoalStatus), "comment"}]
    goals = models.JSONField(_("objectifs partagés"), default=list, blank=True)
    # [{"text", "kind" (ActionKind), "owner" (professional id or null), "owner_name",
    #   "due_on" (ISO date or "")}]
    actions = models.JSONField(_("plan d'actions"), default=list, blank=True)
    preferences = models.TextField(_("préférences et projet du patient"), blank=True)
    validated_by = models.ForeignKey(
        Professional,
        verbose_name=_("validée par"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    validated_at = models.DateTimeField(_("validée le"), null=True, blank=True)

    class Meta:
        verbose_name = _("version du PPCS")
        verbose_name_plural = _("versions du PPCS")
        constraints = [
            models.UniqueConstraint(fields=["care_plan", "number"], name="care_plan_version_once"),
            models.CheckConstraint(
                condition=Q(validated_by__isnull=True, validated_at__isnull=True)
                | Q(validated_by__isnull=False, validated_at__isnull=False),
                name="care_plan_validated_by_and_at",
            ),
        ]

    def __str__(self) -> str:
        return f"PPCS {self.care_plan_id} v{self.number}"


class Referral(TimestampedModel):
    """A request to a support service about a patient, and the service's answer."""

    class Status(models.TextChoices):
        SENT = "sent", _("Envoyée")
        ACKNOWLEDGED = "acknowledged", _("Reçue")
        ACCEPTED = "accepted", _("Acceptée")
        REFUSED = "refused", _("Refusée")
        DONE = "done", _("Réalisée")
        CANCELLED = "cancelled", _("Annulée")

    TRANSITIONS = {
        Status.SENT: (Status.ACKNOWLEDGED, Status.ACCEPTED, Status.REFUSED, Status.CANCELLED),
        Status.ACKNOWLEDGED: (Status.ACCEPTED, Status.REFUSED, Status.CANCELLED),
        Status.ACCEPTED: (Status.DONE, Status.CANCELLED),
    }
    # Waiting for the service's answer: the response clock runs.
    AWAITING_STATUSES = (Status.SENT, Status.ACKNOWLEDGED)

    patient = models.ForeignKey(
        Patient, verbose_name=_("patient"), on_delete=models.PROTECT, related_name="referrals"
    )
    service = models.ForeignKey(
        SupportService,
        verbose_name=_("service"),
        on_delete=models.PROTECT,
        related_name="referrals",
    )
    pathway = models.ForeignKey(
        Pathway,
        verbose_name=_("parcours"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="referrals",
    )
    sent_by = models.ForeignKey(
        Professional,
        verbose_name=_("adressée par"),
        on_delete=models.PROTECT,
        related_name="referrals_sent",
    )
    sent_at = models.DateTimeField(_("envoyée le"), default=timezone.now)
    reason = models.TextField(_("motif de la demande"))
    # The service's response clock: sent_at + its response_days.
    respond_by = models.DateTimeField(_("réponse attendue avant le"))
    status = models.CharField(
        _("statut"), max_length=15, choices=Status.choices, default=Status.SENT
    )
    acknowledged_at = models.DateTimeField(_("reçue le"), null=True, blank=True)
    responded_at = models.DateTimeField(_("réponse le"), null=True, blank=True)
    responded_by = models.ForeignKey(
        Professional,
        verbose_name=_("réponse de"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    refusal_reason = models.TextField(_("motif du refus"), blank=True)
    closed_at = models.DateTimeField(_("close le"), null=True, blank=True)

    class Meta:
        verbose_name = _("demande d'appui")
        verbose_name_plural = _("demandes d'appui")
        indexes = [
            models.Index(fields=["service", "status"], name="referral_service_status"),
            models.Index(fields=["patient", "status"], name="referral_patient_status"),
            models.Index(
                fields=["respond_by"],
                name="referral_awaiting",
                condition=Q(status__in=["sent", "acknowledged"]),
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~Q(status="refused") | ~Q(refusal_reason=""),
                name="referral_refusal_has_a_reason",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.service} — {self.get_status_display()}"

    def may_become(self, status: str) -> bool:
        return status in self.TRANSITIONS.get(self.status, ())

    def is_late(self, now: datetime.datetime | None = None) -> bool:
        return self.status in self.AWAITING_STATUSES and self.respond_by < (now or timezone.now())


class TeleExpertiseRequest(TimestampedModel):
    """A question from a professional to a specialist about a patient (télé-expertise)."""

    class Status(models.TextChoices):
        ASKED = "asked", _("Posée")
        ANSWERED = "answered", _("Répondue")
        CANCELLED = "cancelled", _("Annulée")

    patient = models.ForeignKey(
        Patient,
        verbose_name=_("patient"),
        on_delete=models.PROTECT,
        related_name="tele_expertise_requests",
    )
    requester = models.ForeignKey(
        Professional,
        verbose_name=_("requérant"),
        on_delete=models.PROTECT,
        related_name="tele_expertise_asked",
    )
    expert = models.ForeignKey(
        Professional,
        verbose_name=_("requis"),
        on_delete=models.PROTECT,
        related_name="tele_expertise_received",
    )
    question = models.TextField(_("question"))
    documents = models.ManyToManyField(
        Document, verbose_name=_("documents joints"), blank=True, related_name="+"
    )
    asked_at = models.DateTimeField(_("posée le"), default=timezone.now)
    answer_by = models.DateTimeField(_("réponse attendue avant le"))
    status = models.CharField(
        _("statut"), max_length=10, choices=Status.choices, default=Status.ASKED
    )
    answer = models.TextField(_("réponse"), blank=True)
    answered_at = models.DateTimeField(_("répondue le"), null=True, blank=True)

    class Meta:
        verbose_name = _("demande de télé-expertise")
        verbose_name_plural = _("demandes de télé-expertise")
        indexes = [
            models.Index(fields=["expert", "status"], name="tele_expertise_expert"),
            models.Index(fields=["patient", "asked_at"], name="tele_expertise_patient"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(status="answered", answered_at__isnull=False)
                | (~Q(status="answered") & Q(answered_at__isnull=True)),
                name="tele_expertise_answered_at_iff_answered",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.expert} — {self.get_status_display()}"

    def is_late(self, now: datetime.datetime | None = None) -> bool:
        return self.status == self.Status.ASKED and self.answer_by < (now or timezone.now())


class CalendarFeed(models.Model):
    """The secret address of a professional's appointments as an iCalendar feed."""

    professional = models.OneToOneField(
        Professional,
        verbose_name=_("professionnel"),
        on_delete=models.CASCADE,
        related_name="calendar_feed",
    )
    token = models.CharField(_("jeton"), max_length=64, unique=True)
    created_at = models.DateTimeField(_("créé le"), default=timezone.now)

    class Meta:
        verbose_name = _("agenda partagé")
        verbose_name_plural = _("agendas partagés")

    def __str__(self) -> str:
        return str(self.professional)


class SavedFilter(models.Model):
    """A user's named set of filters for a list page (kept as its query string)."""

    class Page(models.TextChoices):
        WORKLIST = "worklist", _("Liste de travail")
        CASELOAD = "caseload", _("File active")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("utilisateur"),
        on_delete=models.CASCADE,
        related_name="saved_filters",
    )
    page = models.CharField(_("page"), max_length=20, choices=Page.choices)
    name = models.CharField(_("nom"), max_length=80)
    query = models.CharField(_("filtres"), max_length=1000)

    class Meta:
        verbose_name = _("filtre enregistré")
        verbose_name_plural = _("filtres enregistrés")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["user", "page", "name"], name="saved_filter_name"),
        ]

    def __str__(self) -> str:
        return self.name


class Alert(models.Model):
    class Kind(models.TextChoices):
        STEP_OVERDUE = "step_overdue", _("Étape en retard")
        REFERRAL_UNANSWERED = "referral_unanswered", _("Demande sans réponse")
        CARE_PLAN_REVIEW = "care_plan_review", _("Révision du PPCS à faire")
        NO_CONTACT = "no_contact", _("Pas de contact récent")
        HOSPITAL_ADMISSION = "hospital_admission", _("Hospitalisation")
        HOSPITAL_DISCHARGE = "hospital_discharge", _("Sortie d'hospitalisation")
        EMERGENCY_VISIT = "emergency_visit", _("Passage aux urgences")
        MONITORING_THRESHOLD = "monitoring_threshold", _("Seuil de télésurveillance dépassé")
        BREAK_GLASS = "break_glass", _("Accès en bris de glace")

    class Severity(models.IntegerChoices):
        INFO = 1, _("Information")
        WARNING = 2, _("Attention")
        URGENT = 3, _("Urgent")

    class Status(models.TextChoices):
        OPEN = "open", _("Ouverte")
        ACKNOWLEDGED = "acknowledged", _("Prise en compte")
        RESOLVED = "resolved", _("Résolue")

    # How long an open alert waits for acknowledgement before each escalation level
    # (1: the referent coordinator, 2: the service's on-duty coordinator); none for INFO.
    ESCALATION_DELAYS = {
        Severity.URGENT: datetime.timedelta(hours=4),
        Severity.WARNING: datetime.timedelta(days=2),
    }
    MAX_ESCALATION_LEVEL = 2

    patient = models.ForeignKey(
        Patient, verbose_name=_("patient"), on_delete=models.PROTECT, related_name="alerts"
    )
    kind = models.CharField(_("nature"), max_length=30, choices=Kind.choices)
    severity = models.PositiveSmallIntegerField(
        _("gravité"), choices=Severity.choices, default=Severity.WARNING
    )
    message = models.CharField(_("message"), max_length=250)
    due_at = models.DateTimeField(_("échéance"), null=True, blank=True)
    status = models.CharField(
        _("statut"), max_length=15, choices=Status.choices, default=Status.OPEN
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("destinataire"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="assigned_alerts",
    )
    dedupe_key = models.CharField(_("clé de dédoublonnage"), max_length=120)
    # What the alert is about, when it is a pathway or one of its steps.
    pathway = models.ForeignKey(
        Pathway,
        verbose_name=_("parcours"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="alerts",
    )
    step = models.ForeignKey(
        Step,
        verbose_name=_("étape"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="alerts",
    )
    created_at = models.DateTimeField(_("créée le"), default=timezone.now)
    acknowledged_at = models.DateTimeField(_("prise en compte le"), null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("prise en compte par"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    resolved_at = models.DateTimeField(_("résolue le"), null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("résolue par"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    resolution_comment = models.TextField(_("commentaire de résolution"), blank=True)
    escalation_level = models.PositiveSmallIntegerField(_("niveau d'escalade"), default=0)
    escalated_at = models.DateTimeField(_("escaladée le"), null=True, blank=True)

    class Meta:
        verbose_name = _("alerte")
        verbose_name_plural = _("alertes")
        indexes = [
            models.Index(
                fields=["assignee", "-severity", "due_at"],
                name="alert_open_worklist",
                condition=~Q(status="resolved"),
            ),
            models.Index(fields=["patient", "status"], name="alert_patient_status"),
            # Every alert of a key, resolved ones included (a scan does not raise again what
            # a person resolved; a cancelled hospital movement resolves its alerts by prefix).
            models.Index(
                fields=["dedupe_key"], name="alert_dedupe_key", opclasses=["varchar_pattern_ops"]
            ),
            # The escalation scan: open alerts by age.
            models.Index(fields=["created_at"], name="alert_open_age", condition=Q(status="open")),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["dedupe_key"],
                condition=~Q(status="resolved"),
                name="alert_one_unresolved_per_key",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} — {self.get_status_display()}"


class Notification(models.Model):
    """The outbox: one row per alert x recipient x channel, written in the transaction
    that raised the alert, delivered afterwards (at least once; claimed so that two
    workers never send the same one)."""

    class Channel(models.TextChoices):
        IN_APP = "in_app", _("Dans TSN")
        EMAIL = "email", _("E-mail")

    class Status(models.TextChoices):
        PENDING = "pending", _("À envoyer")
        SENT = "sent", _("Envoyée")
        FAILED = "failed", _("Échec")

    MAX_ATTEMPTS = 6

    alert = models.ForeignKey(
        Alert, verbose_name=_("alerte"), on_delete=models.CASCADE, related_name="notifications"
    )
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("destinataire"),
        on_delete=models.CASCADE,
        related_name="notifications",
    )
    channel = models.CharField(_("canal"), max_length=10, choices=Channel.choices)
    status = models.CharField(
        _("statut"), max_length=10, choices=Status.choices, default=Status.PENDING
    )
    # Sent in the recipient's daily digest rather than on its own.
    digest = models.BooleanField(_("dans le récapitulatif quotidien"), default=False)
    attempts = models.PositiveSmallIntegerField(_("tentatives"), default=0)
    next_attempt_at = models.DateTimeField(_("prochaine tentative"), default=timezone.now)
    # A worker holds the row until then; past it, another may take it over.
    claimed_until = models.DateTimeField(null=True, blank=True, editable=False)
    last_error = models.TextField(_("dernière erreur"), blank=True)
    created_at = models.DateTimeField(_("créée le"), default=timezone.now)
    sent_at = models.DateTimeField(_("envoyée le"), null=True, blank=True)
    read_at = models.DateTimeField(_("lue le"), null=True, blank=True)

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        indexes = [
            # The relay: pending notifications by due time.
            models.Index(
                fields=["next_attempt_at"],
                name="notification_due",
                condition=Q(status="pending"),
            ),
            # A user's in-app notifications, newest first, and their unread count.
            models.Index(
                fields=["recipient", "-created_at"],
                name="notification_inbox",
                condition=Q(channel="in_app"),
            ),
            models.Index(
                fields=["-created_at"], name="notification_failed", condition=Q(status="failed")
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["alert", "recipient", "channel"], name="notification_once"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_channel_display()} → {self.recipient} ({self.get_status_display()})"


def _all_alert_kinds() -> list[str]:
    return list(Alert.Kind.values)


class NotificationPreference(models.Model):
    """How a user wants to hear of their alerts. No row: every kind, both channels."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("utilisateur"),
        on_delete=models.CASCADE,
        related_name="notification_preference",
    )
    in_app_kinds = ArrayField(
        models.CharField(max_length=30, choices=Alert.Kind.choices),
        verbose_name=_("alertes signalées dans TSN"),
        default=_all_alert_kinds,
        blank=True,
    )
    email_kinds = ArrayField(
        models.CharField(max_length=30, choices=Alert.Kind.choices),
        verbose_name=_("alertes signalées par e-mail"),
        default=_all_alert_kinds,
        blank=True,
    )
    email_digest = models.BooleanField(
        _("un récapitulatif quotidien au lieu d'un e-mail par alerte"), default=False
    )
    quiet_start = models.TimeField(_("pas d'e-mail à partir de"), null=True, blank=True)
    quiet_end = models.TimeField(_("jusqu'à"), null=True, blank=True)
    delegate = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("suppléant pendant une absence"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    absent_from = models.DateField(_("absent du"), null=True, blank=True)
    absent_until = models.DateField(_("au"), null=True, blank=True)

    class Meta:
        verbose_name = _("préférences de notification")
        verbose_name_plural = _("préférences de notification")
        constraints = [
            models.CheckConstraint(
                condition=Q(absent_from__isnull=True)
                | Q(absent_until__isnull=True)
                | Q(absent_until__gte=models.F("absent_from")),
                name="notification_absence_period",
            ),
            models.CheckConstraint(
                condition=Q(quiet_start__isnull=True, quiet_end__isnull=True)
                | Q(quiet_start__isnull=False, quiet_end__isnull=False),
                name="notification_quiet_hours_pair",
            ),
        ]

    def __str__(self) -> str:
        return str(self.user)

    def in_quiet_hours(self, moment: datetime.time) -> bool:
        """Whether a local time falls in the quiet hours (which may span midnight)."""
        if self.quiet_start is None or self.quiet_end is None:
            return False
        if self.quiet_start <= self.quiet_end:
            return self.quiet_start <= moment < self.quiet_end
        return moment >= self.quiet_start or moment < self.quiet_end


class InboundMessage(models.Model):
    """Every HL7 v2 message an organisation sent us, kept whatever became of it: the
    trace of the hospital feed and the quarantine administrators work through."""

    class Status(models.TextChoices):
        PROCESSED = "processed", _("Traité")
        QUARANTINED = "quarantined", _("En quarantaine")
        REJECTED = "rejected", _("Rejeté")
        RESOLVED = "resolved", _("Traité après quarantaine")
        DISMISSED = "dismissed", _("Écarté après examen")

    organization = models.ForeignKey(
        "professionals.Organization",
        verbose_name=_("établissement émetteur"),
        on_delete=models.PROTECT,
        related_name="inbound_messages",
    )
    received_at = models.DateTimeField(_("reçu le"), default=timezone.now)
    raw = models.TextField(_("message"))
    # MSH-10, the sender's message control id; empty when the message could not be read.
    control_id = models.CharField(_("identifiant du message (MSH-10)"), max_length=50, blank=True)
    event = models.CharField(_("événement"), max_length=3, blank=True)
    visit_number = models.CharField(_("numéro de venue"), max_length=50, blank=True)
    status = models.CharField(_("statut"), max_length=15, choices=Status.choices)
    # Why it was rejected or quarantined (in French, for the administrator).
    reason = models.TextField(_("motif"), blank=True)
    patient = models.ForeignKey(
        Patient,
        verbose_name=_("patient"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    timeline_event = models.ForeignKey(
        TimelineEvent,
        verbose_name=_("événement du fil"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    duplicates = models.PositiveIntegerField(_("réceptions en double"), default=0)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("traité par"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    resolved_at = models.DateTimeField(_("traité le"), null=True, blank=True)

    class Meta:
        verbose_name = _("message HL7 reçu")
        verbose_name_plural = _("messages HL7 reçus")
        indexes = [
            models.Index(fields=["status", "-received_at"], name="inbound_status_time"),
            models.Index(
                fields=["organization", "visit_number"],
                name="inbound_visit",
                condition=~Q(visit_number=""),
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "control_id"],
                name="inbound_message_once",
                condition=~Q(control_id=""),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event or '?'} {self.control_id} ({self.get_status_display()})"


class MonitoringRule(models.Model):
    """A remote-monitoring threshold of a pathway template (e.g. heart failure: weight
    up 2 kg within 3 days, SpO2 below 90 %)."""

    class Comparison(models.TextChoices):
        ABOVE = "above", _("au-dessus de")
        BELOW = "below", _("en dessous de")
        RISE = "rise", _("hausse d'au moins")

    template = models.ForeignKey(
        PathwayTemplate,
        verbose_name=_("modèle"),
        on_delete=models.CASCADE,
        related_name="monitoring_rules",
    )
    kind = models.CharField(_("mesure"), max_length=20, choices=Observation.Kind.choices)
    comparison = models.CharField(_("règle"), max_length=10, choices=Comparison.choices)
    # In the kind's canonical unit (Observation.UNITS).
    threshold = models.DecimalField(_("seuil"), max_digits=8, decimal_places=2)
    # For a rise: compared with the lowest value of the previous `window_days` days.
    window_days = models.PositiveSmallIntegerField(_("sur (jours)"), null=True, blank=True)
    severity = models.PositiveSmallIntegerField(
        _("gravité"), choices=Alert.Severity.choices, default=Alert.Severity.URGENT
    )

    class Meta:
        verbose_name = _("règle de télésurveillance")
        verbose_name_plural = _("règles de télésurveillance")
        constraints = [
            models.CheckConstraint(
                condition=~Q(comparison="rise") | Q(window_days__isnull=False),
                name="monitoring_rise_has_window",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.get_comparison_display()} {self.threshold}"


class EvaluationReport(models.Model):
    """An evaluation report for the ARS: the indicators of a period and a scope, as a PDF
    and a CSV built by a Celery task (pathways/services/evaluation.py). One per period and
    scope: asking again rebuilds the same report."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("En attente")
        RUNNING = "running", _("En cours")
        DONE = "done", _("Prêt")
        FAILED = "failed", _("Échec")

    period_start = models.DateField(_("du"))
    period_end = models.DateField(_("au"))
    # "": the whole territory; else one pathway template (code) or one sector.
    template_code = models.CharField(_("parcours"), max_length=50, blank=True)
    sector = models.CharField(_("secteur"), max_length=100, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("demandé par"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    requested_at = models.DateTimeField(_("demandé le"), default=timezone.now)
    status = models.CharField(
        _("statut"), max_length=10, choices=Status.choices, default=Status.QUEUED
    )
    progress = models.PositiveSmallIntegerField(_("avancement (%)"), default=0)
    started_at = models.DateTimeField(_("commencé le"), null=True, blank=True)
    finished_at = models.DateTimeField(_("terminé le"), null=True, blank=True)
    error = models.TextField(_("erreur"), blank=True)
    pdf = models.FileField(_("PDF"), upload_to="evaluation/", blank=True)
    csv = models.FileField(_("CSV"), upload_to="evaluation/", blank=True)

    class Meta:
        verbose_name = _("rapport d'évaluation")
        verbose_name_plural = _("rapports d'évaluation")
        ordering = ["-requested_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["period_start", "period_end", "template_code", "sector"],
                name="evaluation_report_once",
            ),
            models.CheckConstraint(
                condition=Q(period_start__lte=models.F("period_end")),
                name="evaluation_report_period",
            ),
            models.CheckConstraint(
                condition=Q(template_code="") | Q(sector=""), name="evaluation_report_one_scope"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.period_start}/{self.period_end} {self.template_code or self.sector}".strip()
