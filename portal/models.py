"""The patients' and caregivers' portal: invitations that open an account, and the archives
of "download all my data"."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from patients.models import Caregiver, Patient


class PortalInvitation(models.Model):
    """A single-use, expiring link, sent by e-mail by a coordinator, that opens a portal
    account for a patient (caregiver empty) or one of their caregivers. Only the SHA-256 of
    the link's key is stored; whoever follows it confirms the patient's birth date."""

    patient = models.ForeignKey(
        Patient, verbose_name=_("patient"), on_delete=models.CASCADE, related_name="+"
    )
    caregiver = models.ForeignKey(
        Caregiver,
        verbose_name=_("aidant"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="invitations",
    )
    email = models.EmailField(_("adresse e-mail"))
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("invité par"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_at = models.DateTimeField(_("envoyée le"), default=timezone.now)
    expires_at = models.DateTimeField(_("valable jusqu'au"))
    # Wrong birth dates typed on this link: a few, then the link is spent.
    failed_attempts = models.PositiveSmallIntegerField(_("essais manqués"), default=0)
    used_at = models.DateTimeField(_("utilisée le"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("annulée le"), null=True, blank=True)
    account = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("compte ouvert"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        verbose_name = _("invitation au portail")
        verbose_name_plural = _("invitations au portail")
        indexes = [models.Index(fields=["patient", "-created_at"], name="invitation_patient")]

    def __str__(self) -> str:
        return f"{self.email} ({self.created_at:%d/%m/%Y})"


class DataExport(models.Model):
    """One "download all my data" archive (a zip: PDF summary, FHIR Bundle, CSV files),
    built by a task that reports its progress; downloading it is audited."""

    class Status(models.TextChoices):
        PENDING = "pending", _("En attente")
        RUNNING = "running", _("En préparation")
        READY = "ready", _("Prête")
        FAILED = "failed", _("Échec")

    patient = models.ForeignKey(
        Patient, verbose_name=_("patient"), on_delete=models.CASCADE, related_name="+"
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("demandée par"),
        on_delete=models.CASCADE,
        related_name="+",
    )
    requested_at = models.DateTimeField(_("demandée le"), default=timezone.now)
    status = models.CharField(
        _("état"), max_length=10, choices=Status.choices, default=Status.PENDING
    )
    progress = models.PositiveSmallIntegerField(_("avancement (%)"), default=0)
    # Under MEDIA_ROOT/exports/, never served as a media file: only through the portal's
    # download view (access check and audit trace).
    file = models.FileField(_("archive"), upload_to="exports/%Y/%m/", blank=True)
    finished_at = models.DateTimeField(_("terminée le"), null=True, blank=True)

    class Meta:
        verbose_name = _("export des données")
        verbose_name_plural = _("exports des données")
        indexes = [models.Index(fields=["requested_by", "-requested_at"], name="export_requester")]
        constraints = [
            models.CheckConstraint(
                condition=Q(progress__lte=100), name="export_progress_at_most_100"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.patient_id} {self.requested_at:%d/%m/%Y %H:%M}"


class SatisfactionResponse(models.Model):
    """One answered satisfaction questionnaire (portal/questionnaires.py): a patient or a
    caregiver after the inclusion in a pathway or at its end, a professional once a
    quarter. The evaluation report publishes only aggregates of the scores, small counts
    masked; the comment is free text, never logged and never in a report."""

    class RespondentKind(models.TextChoices):
        PATIENT = "patient", _("Patients")
        CAREGIVER = "caregiver", _("Aidants")
        PROFESSIONAL = "professional", _("Professionnels")

    class Moment(models.TextChoices):
        INCLUSION = "inclusion", _("Après l'inclusion")
        END = "end", _("En fin de parcours")
        QUARTERLY = "quarterly", _("Trimestriel")

    class Question(models.TextChoices):
        """Every question code of the catalogue, with its short label (for the reports)."""

        INFORMED = "informed", _("Information reçue")
        LISTENED = "listened", _("Écoute")
        COORDINATION = "coordination", _("Coordination entre professionnels")
        WHOM_TO_CALL = "whom_to_call", _("Sait qui appeler")
        DAC_COORDINATION = "dac_coordination", _("Coordination avec le DAC")
        USEFULNESS = "usefulness", _("Utilité de la plateforme")
        TIME_SAVED = "time_saved", _("Temps gagné")
        OVERALL = "overall", _("Satisfaction globale")

    # Kept when the account goes (SET_NULL): the report's past figures do not change.
    respondent = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("répondant"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    # As it was when answering: a caregiver today may be the patient's proxy no more.
    respondent_kind = models.CharField(
        _("type de répondant"), max_length=12, choices=RespondentKind.choices
    )
    moment = models.CharField(_("moment"), max_length=10, choices=Moment.choices)
    pathway = models.ForeignKey(
        "pathways.Pathway",
        verbose_name=_("parcours"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
    )
    quarter_start = models.DateField(_("premier jour du trimestre"), null=True, blank=True)
    # {question code: score from 1 to 5}
    answers = models.JSONField(_("réponses"), default=dict)
    comment = models.TextField(_("commentaire"), blank=True)
    submitted_at = models.DateTimeField(_("envoyé le"), default=timezone.now)

    class Meta:
        verbose_name = _("réponse à un questionnaire de satisfaction")
        verbose_name_plural = _("réponses aux questionnaires de satisfaction")
        indexes = [models.Index(fields=["submitted_at"], name="satisfaction_submitted")]
        constraints = [
            models.UniqueConstraint(
                fields=["respondent", "pathway", "moment"],
                condition=Q(pathway__isnull=False),
                name="satisfaction_once_per_pathway_moment",
            ),
            models.UniqueConstraint(
                fields=["respondent", "quarter_start"],
                condition=Q(quarter_start__isnull=False),
                name="satisfaction_once_per_quarter",
            ),
            # A professional answers for a quarter, a patient or caregiver about a pathway.
            models.CheckConstraint(
                condition=Q(
                    respondent_kind="professional",
                    moment="quarterly",
                    quarter_start__isnull=False,
                    pathway__isnull=True,
                )
                | Q(
                    respondent_kind__in=["patient", "caregiver"],
                    moment__in=["inclusion", "end"],
                    quarter_start__isnull=True,
                    pathway__isnull=False,
                ),
                name="satisfaction_respondent_shape",
            ),
            models.CheckConstraint(
                condition=Q(quarter_start__isnull=True)
                | Q(quarter_start__day=1, quarter_start__month__in=[1, 4, 7, 10]),
                name="satisfaction_quarter_first_day",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_respondent_kind_display()} {self.get_moment_display()} {self.pk}"
