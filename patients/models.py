"""The patient, their identity (INS), caregivers, consent, care team and shared timeline."""

import datetime

import pghistory
import pgtrigger
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from professionals.models import Organization, Professional
from tsn.identifiers import validate_insee_commune, validate_nir, validate_postcode
from tsn.models import Commune, TimestampedModel


class PatientQuerySet(models.QuerySet):
    def visible_to(self, user) -> "PatientQuerySet":
        """The patients `user` may see: the one access policy (patients/access.py)."""
        from patients.access import visible_patients

        return visible_patients(self, user)


@pghistory.track(pghistory.UpdateEvent("identity_changed"), exclude=["updated_at"])
class Patient(TimestampedModel):
    class Sex(models.TextChoices):
        FEMALE = "F", _("Femme")
        MALE = "M", _("Homme")
        UNDETERMINED = "I", _("Indéterminé")

    class IdentityStatus(models.TextChoices):
        PROVISIONAL = "provisional", _("Identité provisoire")
        RETRIEVED = "retrieved", _("Identité récupérée")
        VALIDATED = "validated", _("Identité validée")
        QUALIFIED = "qualified", _("Identité qualifiée")

    # The five strict traits of the INS (plus the NIR itself): changing one of them
    # invalidates any identity check done so far.
    STRICT_TRAITS = ("birth_last_name", "first_names", "birth_date", "sex", "birth_place_insee")
    # RNIV: INSi retrieval and an identity document check, in either order, make it qualified.
    IDENTITY_TRANSITIONS = {
        IdentityStatus.PROVISIONAL: {IdentityStatus.RETRIEVED, IdentityStatus.VALIDATED},
        IdentityStatus.RETRIEVED: {IdentityStatus.QUALIFIED, IdentityStatus.PROVISIONAL},
        IdentityStatus.VALIDATED: {IdentityStatus.QUALIFIED, IdentityStatus.PROVISIONAL},
        IdentityStatus.QUALIFIED: {IdentityStatus.PROVISIONAL},
    }
    STATUSES_WITH_INS = (IdentityStatus.RETRIEVED, IdentityStatus.QUALIFIED)

    birth_last_name = models.CharField(_("nom de naissance"), max_length=100)
    first_names = models.CharField(_("prénoms de naissance"), max_length=200)
    used_last_name = models.CharField(_("nom utilisé"), max_length=100, blank=True)
    used_first_name = models.CharField(_("prénom utilisé"), max_length=100, blank=True)
    birth_date = models.DateField(_("date de naissance"))
    sex = models.CharField(_("sexe"), max_length=1, choices=Sex.choices)
    birth_place_insee = models.CharField(
        _("lieu de naissance (code INSEE)"),
        max_length=5,
        blank=True,
        validators=[validate_insee_commune],
    )
    nir = models.CharField(
        _("matricule INS (NIR)"),
        max_length=15,
        null=True,
        blank=True,
        unique=True,
        validators=[validate_nir],
    )
    identity_status = models.CharField(
        _("statut de l'identité"),
        max_length=12,
        choices=IdentityStatus.choices,
        default=IdentityStatus.PROVISIONAL,
    )
    address = models.CharField(_("adresse"), max_length=250, blank=True)
    postcode = models.CharField(
        _("code postal"), max_length=5, blank=True, validators=[validate_postcode]
    )
    commune = models.ForeignKey(
        Commune,
        verbose_name=_("commune"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="patients",
    )
    phone = models.CharField(_("téléphone"), max_length=20, blank=True)
    email = models.EmailField(_("e-mail"), blank=True)
    gp = models.ForeignKey(
        Professional,
        verbose_name=_("médecin traitant"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="gp_patients",
    )
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("compte patient"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="patient",
    )
    # Identity vigilance: a duplicate merged into another record keeps its own history.
    merged_into = models.ForeignKey(
        "self",
        verbose_name=_("fusionné dans"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="merged_records",
    )

    objects = PatientQuerySet.as_manager()

    class Meta:
        verbose_name = _("patient")
        verbose_name_plural = _("patients")
        indexes = [
            models.Index(fields=["birth_last_name", "birth_date"], name="patient_name_birth"),
            # Matching the hospital feed's messages by strict traits (a few per day and sex).
            models.Index(fields=["birth_date", "sex"], name="patient_birth_date_sex"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~Q(identity_status__in=["retrieved", "qualified"]) | Q(nir__isnull=False),
                name="patient_ins_needs_nir",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.display_last_name} {self.display_first_name}"

    @property
    def display_last_name(self) -> str:
        return self.used_last_name or self.birth_last_name

    @property
    def display_first_name(self) -> str:
        return self.used_first_name or self.first_names.split(" ")[0]

    @property
    def ins(self) -> str:
        """The INS may be shown and shared only when the identity is qualified."""
        if self.identity_status == self.IdentityStatus.QUALIFIED and self.nir:
            return self.nir
        return ""

    def record_ids(self) -> list[int]:
        """This record and the duplicates merged into it: their timelines read as one."""
        return [self.pk, *self.merged_records.values_list("pk", flat=True)]

    def age(self, on: datetime.date | None = None) -> int:
        on = on or timezone.localdate()
        before_birthday = (on.month, on.day) < (self.birth_date.month, self.birth_date.day)
        return on.year - self.birth_date.year - before_birthday

    def change_identity_status(self, new_status: str) -> None:
        """Move the identity along the RNIV statuses; refuse an impossible step."""
        allowed = self.IDENTITY_TRANSITIONS[self.IdentityStatus(self.identity_status)]
        if new_status not in allowed:
            raise ValidationError(
                _("Passage impossible de « %(old)s » à « %(new)s ».")
                % {
                    "old": self.IdentityStatus(self.identity_status).label,
                    "new": self.IdentityStatus(new_status).label,
                },
                code="identity_transition",
            )
        if new_status in self.STATUSES_WITH_INS and not self.nir:
            raise ValidationError(
                _("Une identité récupérée ou qualifiée exige un matricule INS."), code="ins_missing"
            )
        self.identity_status = new_status

    def change_strict_traits(self, **traits: object) -> list[str]:
        """Set strict traits (and the NIR); any real change drops the identity to provisional.

        Returns the names of the fields that changed.
        """
        unknown = set(traits) - {*self.STRICT_TRAITS, "nir"}
        if unknown:
            raise ValueError(f"Not strict traits: {sorted(unknown)}")
        changed = [name for name, value in traits.items() if getattr(self, name) != value]
        for name in changed:
            setattr(self, name, traits[name])
        if changed:
            self.identity_status = self.IdentityStatus.PROVISIONAL
        return changed


class Caregiver(TimestampedModel):
    """A relative or friend who helps the patient; may be the trusted person."""

    patient = models.ForeignKey(
        Patient, verbose_name=_("patient"), on_delete=models.CASCADE, related_name="caregivers"
    )
    last_name = models.CharField(_("nom"), max_length=100)
    first_name = models.CharField(_("prénom"), max_length=100)
    relationship = models.CharField(_("lien avec le patient"), max_length=100)
    phone = models.CharField(_("téléphone"), max_length=20, blank=True)
    email = models.EmailField(_("e-mail"), blank=True)
    is_trusted_person = models.BooleanField(_("personne de confiance"), default=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("compte"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="caregiver_of",
    )
    access_until = models.DateField(_("accès au dossier jusqu'au"), null=True, blank=True)

    class Meta:
        verbose_name = _("aidant")
        verbose_name_plural = _("aidants")

    def __str__(self) -> str:
        return f"{self.first_name} {self.last_name}"


@pghistory.track()
class ConsentRecord(models.Model):
    """A dated statement of the patient: informed, objecting to sharing or to one person."""

    class Kind(models.TextChoices):
        INFORMATION_GIVEN = "information_given", _("Information délivrée au patient")
        SHARING_OBJECTION = "sharing_objection", _("Opposition au partage")
        PROFESSIONAL_OBJECTION = "professional_objection", _("Opposition à un professionnel nommé")

    patient = models.ForeignKey(
        Patient, verbose_name=_("patient"), on_delete=models.CASCADE, related_name="consents"
    )
    kind = models.CharField(_("nature"), max_length=30, choices=Kind.choices)
    professional = models.ForeignKey(
        Professional,
        verbose_name=_("professionnel visé"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="objections",
    )
    recorded_at = models.DateTimeField(_("recueilli le"), default=timezone.now)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recueilli par"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    withdrawn_at = models.DateTimeField(_("retiré le"), null=True, blank=True)
    note = models.TextField(_("commentaire"), blank=True)

    class Meta:
        verbose_name = _("consentement ou opposition")
        verbose_name_plural = _("consentements et oppositions")
        indexes = [models.Index(fields=["patient", "kind"], name="consent_patient_kind")]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind="professional_objection", professional__isnull=False)
                | (~Q(kind="professional_objection") & Q(professional__isnull=True)),
                name="consent_professional_iff_objection",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ({self.recorded_at:%d/%m/%Y})"


@pghistory.track()
class CareTeamMember(models.Model):
    """A professional in the patient's care team over a period."""

    class Role(models.TextChoices):
        GP = "gp", _("Médecin traitant")
        NURSE = "nurse", _("Infirmier·ère")
        PHARMACIST = "pharmacist", _("Pharmacien·ne")
        SPECIALIST = "specialist", _("Médecin spécialiste")
        HOSPITAL = "hospital", _("Équipe hospitalière")
        PHYSIOTHERAPIST = "physiotherapist", _("Masseur-kinésithérapeute")
        SOCIAL_WORKER = "social_worker", _("Travailleur social")
        HOME_HELP = "home_help", _("Aide à domicile")
        COORDINATOR = "coordinator", _("Coordinateur·rice")
        OTHER = "other", _("Autre")

    patient = models.ForeignKey(
        Patient, verbose_name=_("patient"), on_delete=models.CASCADE, related_name="care_team"
    )
    professional = models.ForeignKey(
        Professional,
        verbose_name=_("professionnel"),
        on_delete=models.CASCADE,
        related_name="care_team_memberships",
    )
    role = models.CharField(_("rôle"), max_length=20, choices=Role.choices)
    read_only = models.BooleanField(_("lecture seule"), default=False)
    start = models.DateField(_("début"), default=timezone.localdate)
    end = models.DateField(_("fin"), null=True, blank=True)

    class Meta:
        verbose_name = _("membre de l'équipe de soins")
        verbose_name_plural = _("membres de l'équipe de soins")
        indexes = [
            models.Index(fields=["professional", "patient"], name="careteam_professional"),
            models.Index(fields=["patient"], name="careteam_patient"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(end__isnull=True) | Q(end__gte=models.F("start")),
                name="careteam_period",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.professional} ({self.get_role_display()})"

    def is_active(self, on: datetime.date | None = None) -> bool:
        on = on or timezone.localdate()
        return self.start <= on and (self.end is None or self.end > on)


# The timeline entries the hospital feed writes that the evaluation's outcomes read.
HOSPITAL_KINDS = ("hospital_admission", "hospital_discharge", "emergency_visit")


@pgtrigger.register(
    pgtrigger.Protect(name="timeline_append_only", operation=pgtrigger.Update | pgtrigger.Delete),
)
class TimelineEvent(models.Model):
    """One entry of the shared timeline. Append-only: a mistake is corrected by a new event."""

    class Kind(models.TextChoices):
        CONSULTATION = "consultation", _("Consultation")
        HOME_VISIT = "home_visit", _("Visite à domicile")
        HOSPITAL_ADMISSION = "hospital_admission", _("Admission à l'hôpital")
        HOSPITAL_TRANSFER = "hospital_transfer", _("Transfert hospitalier")
        HOSPITAL_DISCHARGE = "hospital_discharge", _("Sortie d'hospitalisation")
        EMERGENCY_VISIT = "emergency_visit", _("Passage aux urgences")
        LAB_RESULT = "lab_result", _("Résultat de biologie")
        IMAGING = "imaging", _("Imagerie")
        DOCUMENT = "document", _("Document")
        NOTE = "note", _("Note")
        MESSAGE = "message", _("Message")
        MEASUREMENT = "measurement", _("Mesure")
        PATHWAY_STEP = "pathway_step", _("Étape de parcours")
        TELE_EXPERTISE = "tele_expertise", _("Télé-expertise")
        ENTERED_IN_ERROR = "entered_in_error", _("Saisie erronée")

    class Source(models.TextChoices):
        MANUAL = "manual", _("Saisie")
        HL7 = "hl7", _("Message HL7")
        FHIR = "fhir", _("API FHIR")
        API = "api", _("API")
        SYSTEM = "system", _("Plateforme")

    patient = models.ForeignKey(
        Patient, verbose_name=_("patient"), on_delete=models.PROTECT, related_name="timeline"
    )
    occurred_at = models.DateTimeField(_("date de l'événement"))
    recorded_at = models.DateTimeField(_("enregistré le"), default=timezone.now)
    kind = models.CharField(_("nature"), max_length=20, choices=Kind.choices)
    author = models.ForeignKey(
        Professional,
        verbose_name=_("auteur"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    organization = models.ForeignKey(
        Organization,
        verbose_name=_("organisation"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    title = models.CharField(_("titre"), max_length=200)
    body = models.TextField(_("contenu"), blank=True)
    source = models.CharField(
        _("source"), max_length=10, choices=Source.choices, default=Source.MANUAL
    )
    # The care pathway the event belongs to (a step done, an inclusion...), if any.
    # Pathways sit above patients: named, not imported.
    pathway = models.ForeignKey(
        "pathways.Pathway",
        verbose_name=_("parcours"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="timeline_events",
    )
    # Shown on the portal of the patient and their caregivers (portal/): chosen by the
    # author when writing; the hospital feed's stays and the pathways' steps are shared.
    shared_with_patient = models.BooleanField(
        _("partagé avec le patient"), default=False, db_default=False
    )
    # The earlier event this one marks as entered in error.
    corrects = models.ForeignKey(
        "self",
        verbose_name=_("corrige"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="corrections",
    )

    class Meta:
        verbose_name = _("événement du parcours")
        verbose_name_plural = _("événements du parcours")
        indexes = [
            # Keyset pagination of one patient's timeline, newest first.
            models.Index(fields=["patient", "-occurred_at", "-id"], name="timeline_patient_keyset"),
            # The hospital feed's entries (a few % of the events), for the evaluation's
            # outcomes: readmissions, stays, emergency visits (pathways/evaluation/).
            models.Index(
                fields=["patient", "kind", "occurred_at"],
                name="timeline_hospital",
                condition=Q(kind__in=HOSPITAL_KINDS),
            ),
            # The portal's timeline: the shared events of one patient, newest first.
            models.Index(
                fields=["patient", "-occurred_at", "-id"],
                name="timeline_patient_shared",
                condition=Q(shared_with_patient=True),
            ),
            # A pathway's events; most events belong to none.
            models.Index(
                fields=["pathway", "-occurred_at"],
                name="timeline_pathway",
                condition=Q(pathway__isnull=False),
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind="entered_in_error", corrects__isnull=False)
                | (~Q(kind="entered_in_error") & Q(corrects__isnull=True)),
                name="timeline_correction_points_back",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.occurred_at:%Y-%m-%d} {self.get_kind_display()} — {self.title}"


class BreakGlassAccess(models.Model):
    """Exceptional, justified, time-limited access to a record outside the care team."""

    DEFAULT_DURATION = datetime.timedelta(hours=4)

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("professionnel"),
        on_delete=models.PROTECT,
        related_name="break_glass_accesses",
    )
    patient = models.ForeignKey(
        Patient,
        verbose_name=_("patient"),
        on_delete=models.PROTECT,
        related_name="break_glass_accesses",
    )
    reason = models.TextField(_("justification"))
    started_at = models.DateTimeField(_("début"), default=timezone.now)
    expires_at = models.DateTimeField(_("fin"))

    class Meta:
        verbose_name = _("accès en bris de glace")
        verbose_name_plural = _("accès en bris de glace")
        indexes = [
            models.Index(fields=["user", "patient", "-expires_at"], name="breakglass_user_patient"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(expires_at__gt=models.F("started_at")), name="breakglass_period"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} → {self.patient_id} ({self.started_at:%d/%m/%Y %H:%M})"


class SeenMark(models.Model):
    """How far a user has seen a part of a record: what came after is new to them."""

    class Part(models.TextChoices):
        TIMELINE = "timeline", _("Fil du patient")
        LIAISON = "liaison", _("Cahier de liaison")

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="+")
    part = models.CharField(max_length=10, choices=Part.choices)
    seen_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "patient", "part"], name="seen_mark_once"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} → {self.patient_id} {self.part} ({self.seen_at:%d/%m/%Y %H:%M})"


class Document(models.Model):
    """A file shared in the record; listed in the timeline through its event."""

    ALLOWED_TYPES = {"application/pdf": ".pdf", "image/jpeg": ".jpg", "image/png": ".png"}

    patient = models.ForeignKey(
        Patient, verbose_name=_("patient"), on_delete=models.PROTECT, related_name="documents"
    )
    event = models.OneToOneField(
        TimelineEvent,
        verbose_name=_("événement"),
        on_delete=models.PROTECT,
        related_name="document",
    )
    file = models.FileField(_("fichier"), upload_to="documents/%Y/%m/")
    original_name = models.CharField(_("nom d'origine"), max_length=200)
    content_type = models.CharField(_("type"), max_length=50)
    size = models.PositiveIntegerField(_("taille (octets)"))
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("déposé par"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    uploaded_at = models.DateTimeField(_("déposé le"), default=timezone.now)

    class Meta:
        verbose_name = _("document")
        verbose_name_plural = _("documents")

    def __str__(self) -> str:
        return self.original_name


class LiaisonMessage(models.Model):
    """A message of the liaison notebook (cahier de liaison) about one patient."""

    patient = models.ForeignKey(
        Patient,
        verbose_name=_("patient"),
        on_delete=models.PROTECT,
        related_name="liaison_messages",
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("auteur"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    body = models.TextField(_("message"))
    sent_at = models.DateTimeField(_("envoyé le"), default=timezone.now)
    mentions = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("personnes mentionnées"),
        blank=True,
        related_name="liaison_mentions",
    )

    class Meta:
        verbose_name = _("message de liaison")
        verbose_name_plural = _("messages de liaison")
        indexes = [models.Index(fields=["patient", "-sent_at"], name="liaison_patient_time")]

    def __str__(self) -> str:
        return f"{self.sent_at:%d/%m/%Y %H:%M} {self.author}"


class Observation(models.Model):
    """A remote-monitoring measurement (a device, the patient's app, a professional).

    Values are stored in the kind's canonical UCUM unit (`Observation.UNITS`): rules and
    charts compare like with like; the unit the sender used is kept beside it."""

    class Kind(models.TextChoices):
        WEIGHT = "weight", _("Poids")
        SYSTOLIC_BP = "systolic_bp", _("Pression artérielle systolique")
        DIASTOLIC_BP = "diastolic_bp", _("Pression artérielle diastolique")
        HEART_RATE = "heart_rate", _("Fréquence cardiaque")
        SPO2 = "spo2", _("Saturation en oxygène (SpO2)")
        GLUCOSE = "glucose", _("Glycémie")

    # kind -> (canonical UCUM unit, {accepted UCUM unit: factor to the canonical unit}).
    UNITS = {
        Kind.WEIGHT: ("kg", {"kg": 1, "g": 0.001, "[lb_av]": 0.45359237}),
        Kind.SYSTOLIC_BP: ("mm[Hg]", {"mm[Hg]": 1}),
        Kind.DIASTOLIC_BP: ("mm[Hg]", {"mm[Hg]": 1}),
        Kind.HEART_RATE: ("/min", {"/min": 1}),
        Kind.SPO2: ("%", {"%": 1}),
        Kind.GLUCOSE: ("mmol/L", {"mmol/L": 1, "mg/dL": 1 / 18.016, "g/L": 1000 / 180.16}),
    }

    patient = models.ForeignKey(
        Patient, verbose_name=_("patient"), on_delete=models.PROTECT, related_name="observations"
    )
    kind = models.CharField(_("mesure"), max_length=20, choices=Kind.choices)
    value = models.DecimalField(_("valeur"), max_digits=8, decimal_places=2)
    unit = models.CharField(_("unité (UCUM)"), max_length=10)
    sent_value = models.DecimalField(_("valeur transmise"), max_digits=10, decimal_places=3)
    sent_unit = models.CharField(_("unité transmise (UCUM)"), max_length=10)
    measured_at = models.DateTimeField(_("mesurée le"))
    recorded_at = models.DateTimeField(_("reçue le"), default=timezone.now)
    device = models.CharField(_("appareil"), max_length=100, blank=True)
    # Who sent it: an organisation's machine (token) or a person.
    organization = models.ForeignKey(
        Organization,
        verbose_name=_("organisation émettrice"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("transmise par"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )

    class Meta:
        verbose_name = _("mesure de télésurveillance")
        verbose_name_plural = _("mesures de télésurveillance")
        indexes = [
            models.Index(
                fields=["patient", "kind", "-measured_at"], name="observation_patient_kind"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.value} {self.unit}"
