"""Care pathways: templates and their steps, a patient's pathway and steps, alerts.

Skeletons at this stage: the pathways and alerts issues add their behaviour.
"""

import datetime

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from patients.models import Patient
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


class Step(models.Model):
    class Status(models.TextChoices):
        PLANNED = "planned", _("Prévue")
        SCHEDULED = "scheduled", _("Programmée")
        DONE = "done", _("Réalisée")
        SKIPPED = "skipped", _("Non réalisée")

    OPEN_STATUSES = (Status.PLANNED, Status.SCHEDULED)

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
    done_at = models.DateTimeField(_("réalisée le"), null=True, blank=True)
    outcome = models.TextField(_("compte rendu"), blank=True)

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
        ]
        constraints = [
            models.UniqueConstraint(fields=["pathway", "template_step"], name="step_once"),
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
    created_at = models.DateTimeField(_("créée le"), default=timezone.now)
    acknowledged_at = models.DateTimeField(_("prise en compte le"), null=True, blank=True)
    resolved_at = models.DateTimeField(_("résolue le"), null=True, blank=True)

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
