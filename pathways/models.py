"""Care pathways: templates and their steps, a patient's pathway and steps and their
transition log, the personalised care plan (PPCS), referrals, tele-expertise, alerts.

State changes go through `pathways/services.py`; each model lists the moves it allows.
"""

import datetime

import pgtrigger
from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from patients.models import Document, Patient, TimelineEvent
from professionals.models import Professional, SupportService
from tsn.models import TimestampedModel


class PathwayTemplate(TimestampedModel):
    """A versioned model of a pathway; editing creates a new version."""

    code = models.SlugField(_("code"), max_length=50)
    version = models.PositiveIntegerField(_("version"), default=1)
    name = models.CharField(_("nom"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    is_current = models.BooleanField(_("version en vigueur"), default=True)

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
