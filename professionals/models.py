"""The territory's directory: organisations, professionals, their roles, support services,
and the API tokens issued to organisations' machines."""

from django.conf import settings
from django.contrib.postgres.indexes import GinIndex, OpClass
from django.db import models
from django.db.models import F, Q, Value
from django.db.models.functions import Concat
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tsn.identifiers import (
    validate_adeli,
    validate_finess,
    validate_postcode,
    validate_rpps,
    validate_siret,
)
from tsn.models import Commune, SecretToken, TimestampedModel
from tsn.search import SearchText


def _searched_form(*fields: str) -> SearchText:
    """The searched form of the fields, words in this order (see tsn/search.py)."""
    parts = [item for field in fields for item in (Value(" "), F(field))][1:]
    return SearchText(Concat(*parts) if len(parts) > 1 else parts[0])


def _trigram_index(expression: SearchText, name: str) -> GinIndex:
    """The trigram index that serves name searches on `expression` (the queries annotate
    the very same expression, so that PostgreSQL recognises it)."""
    return GinIndex(OpClass(expression, name="gin_trgm_ops"), name=name)


# What a name search compares the query with, per kind of directory entry.
ORGANIZATION_SEARCH_NAME = _searched_form("name")
PROFESSIONAL_SEARCH_NAME = _searched_form("last_name", "first_name")
SERVICE_SEARCH_NAME = _searched_form("name")


class Organization(TimestampedModel):
    class Kind(models.TextChoices):
        GP_PRACTICE = "gp_practice", _("Cabinet de médecine générale")
        MSP = "msp", _("Maison de santé pluriprofessionnelle")
        HEALTH_CENTRE = "health_centre", _("Centre de santé")
        NURSING_PRACTICE = "nursing_practice", _("Cabinet infirmier")
        HOSPITAL = "hospital", _("Établissement hospitalier")
        EHPAD = "ehpad", _("EHPAD")
        SSIAD = "ssiad", _("SSIAD")
        HAD = "had", _("Hospitalisation à domicile")
        PHARMACY = "pharmacy", _("Pharmacie")
        LABORATORY = "laboratory", _("Laboratoire de biologie")
        DAC = "dac", _("Dispositif d'appui à la coordination")
        CPTS = "cpts", _("CPTS")
        SOCIAL_SERVICE = "social_service", _("Service social")
        HOME_HELP = "home_help", _("Service d'aide à domicile")
        OTHER = "other", _("Autre")

    kind = models.CharField(_("type"), max_length=20, choices=Kind.choices)
    name = models.CharField(_("raison sociale"), max_length=200)
    finess = models.CharField(
        _("numéro FINESS"),
        max_length=9,
        unique=True,
        null=True,
        blank=True,
        validators=[validate_finess],
    )
    siret = models.CharField(
        _("numéro SIRET"), max_length=14, blank=True, validators=[validate_siret]
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
        related_name="organizations",
    )
    phone = models.CharField(_("téléphone"), max_length=20, blank=True)
    mssante_address = models.EmailField(_("adresse MSSanté"), blank=True)
    # From the FINESS file: its category (code and label) and its position (WGS84).
    category_code = models.CharField(
        _("code catégorie FINESS"), max_length=4, blank=True, db_default=""
    )
    category = models.CharField(_("catégorie FINESS"), max_length=200, blank=True, db_default="")
    latitude = models.FloatField(_("latitude"), null=True, blank=True)
    longitude = models.FloatField(_("longitude"), null=True, blank=True)
    # Set by the FINESS import: only the establishments it brought (or matched) are closed
    # when they leave the file, never those entered by hand.
    from_finess = models.BooleanField(_("issu du fichier FINESS"), default=False, db_default=False)
    # Set when the establishment left the FINESS file (it is kept: pathways refer to it).
    closed_on = models.DateField(_("fermé le"), null=True, blank=True)

    class Meta:
        verbose_name = _("organisation")
        verbose_name_plural = _("organisations")
        ordering = ["name"]
        indexes = [
            models.Index(fields=["kind"], name="organization_kind"),
            _trigram_index(ORGANIZATION_SEARCH_NAME, "organization_search_trgm"),
        ]

    def __str__(self) -> str:
        return self.name


class Professional(TimestampedModel):
    class Profession(models.TextChoices):
        PHYSICIAN = "physician", _("Médecin")
        NURSE = "nurse", _("Infirmier·ère")
        PHARMACIST = "pharmacist", _("Pharmacien·ne")
        PHYSIOTHERAPIST = "physiotherapist", _("Masseur-kinésithérapeute")
        MIDWIFE = "midwife", _("Sage-femme")
        DENTIST = "dentist", _("Chirurgien-dentiste")
        DIETITIAN = "dietitian", _("Diététicien·ne")
        PSYCHOLOGIST = "psychologist", _("Psychologue")
        OCCUPATIONAL_THERAPIST = "occupational_therapist", _("Ergothérapeute")
        SPEECH_THERAPIST = "speech_therapist", _("Orthophoniste")
        ORTHOPTIST = "orthoptist", _("Orthoptiste")
        PODIATRIST = "podiatrist", _("Pédicure-podologue")
        PSYCHOMOTOR_THERAPIST = "psychomotor_therapist", _("Psychomotricien·ne")
        SOCIAL_WORKER = "social_worker", _("Assistant·e de service social")
        COORDINATOR = "coordinator", _("Coordinateur·rice de parcours")
        HOME_HELP = "home_help", _("Aide à domicile")
        OTHER = "other", _("Autre profession de santé")

    rpps = models.CharField(
        _("numéro RPPS"),
        max_length=11,
        unique=True,
        null=True,
        blank=True,
        validators=[validate_rpps],
    )
    adeli = models.CharField(
        _("numéro ADELI"), max_length=9, blank=True, validators=[validate_adeli]
    )
    last_name = models.CharField(_("nom"), max_length=100)
    first_name = models.CharField(_("prénom"), max_length=100)
    profession = models.CharField(_("profession"), max_length=30, choices=Profession.choices)
    specialty = models.CharField(_("spécialité"), max_length=100, blank=True)
    # The national codes, when the professional comes from the RPPS file: "Code profession"
    # (e.g. 60, nurse) and "Code savoir-faire" (e.g. SM54, general medicine).
    profession_code = models.CharField(
        _("code profession"), max_length=3, blank=True, db_default=""
    )
    specialty_code = models.CharField(
        _("code savoir-faire"), max_length=10, blank=True, db_default=""
    )
    phone = models.CharField(_("téléphone"), max_length=20, blank=True)
    mssante_address = models.EmailField(_("adresse MSSanté"), blank=True)
    accepts_new_patients = models.BooleanField(_("accepte de nouveaux patients"), default=True)
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("compte"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="professional",
    )

    class Meta:
        verbose_name = _("professionnel")
        verbose_name_plural = _("professionnels")
        ordering = ["last_name", "first_name"]
        indexes = [
            models.Index(fields=["profession", "last_name"], name="professional_prof_name"),
            _trigram_index(PROFESSIONAL_SEARCH_NAME, "professional_search_trgm"),
        ]

    def __str__(self) -> str:
        return f"{self.first_name} {self.last_name}"

    @property
    def idnps(self) -> str:
        """National identifier of a health professional: '8' + RPPS."""
        return f"8{self.rpps}" if self.rpps else ""


class PractitionerRole(models.Model):
    """A professional's activity at a place over a period: in an organisation of the
    directory, or at the practice the RPPS file gives the address of (a nurse's own
    practice has no FINESS number)."""

    class PracticeMode(models.TextChoices):
        LIBERAL = "L", _("Libéral")
        SALARIED = "S", _("Salarié")
        VOLUNTEER = "B", _("Bénévole")

    professional = models.ForeignKey(
        Professional,
        verbose_name=_("professionnel"),
        on_delete=models.CASCADE,
        related_name="roles",
    )
    organization = models.ForeignKey(
        Organization,
        verbose_name=_("organisation"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="practitioner_roles",
    )
    function = models.CharField(_("fonction"), max_length=100, blank=True)
    practice_mode = models.CharField(
        _("mode d'exercice"), max_length=1, choices=PracticeMode.choices, blank=True, db_default=""
    )
    # Where the activity takes place, as the RPPS file gives it.
    site_name = models.CharField(_("lieu d'exercice"), max_length=200, blank=True, db_default="")
    address = models.CharField(_("adresse"), max_length=250, blank=True, db_default="")
    postcode = models.CharField(_("code postal"), max_length=5, blank=True, db_default="")
    commune = models.ForeignKey(
        Commune,
        verbose_name=_("commune"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="practitioner_roles",
    )
    phone = models.CharField(_("téléphone"), max_length=20, blank=True, db_default="")
    email = models.EmailField(_("adresse électronique"), blank=True, db_default="")
    # Identifies the activity across RPPS imports (the file has no activity id): an
    # activity missing from a newer file is ended, not deleted.
    source_key = models.CharField(max_length=64, blank=True, db_default="", editable=False)
    start = models.DateField(_("début"), default=timezone.localdate)
    end = models.DateField(_("fin"), null=True, blank=True)

    class Meta:
        verbose_name = _("exercice")
        verbose_name_plural = _("exercices")
        constraints = [
            models.CheckConstraint(
                condition=Q(end__isnull=True) | Q(end__gte=models.F("start")),
                name="practitioner_role_period",
            ),
            models.UniqueConstraint(
                fields=["professional", "source_key"],
                condition=~Q(source_key=""),
                name="practitioner_role_source_key",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.professional} — {self.organization or self.site_name}"


class SupportService(TimestampedModel):
    """A service of the territory a patient can be referred to (DAC, home help, ...)."""

    class Category(models.TextChoices):
        COORDINATION = "coordination", _("Appui à la coordination (DAC)")
        HOME_HELP = "home_help", _("Aide à domicile")
        HOME_NURSING = "home_nursing", _("Soins infirmiers à domicile")
        SOCIAL_ASSESSMENT = "social_assessment", _("Évaluation sociale")
        GERIATRIC_EVALUATION = "geriatric_evaluation", _("Évaluation gériatrique")
        THERAPEUTIC_EDUCATION = "therapeutic_education", _("Éducation thérapeutique")
        PALLIATIVE_SUPPORT = "palliative_support", _("Soins palliatifs")
        MEALS = "meals", _("Portage de repas")
        CAREGIVER_RESPITE = "caregiver_respite", _("Répit des aidants")
        MENTAL_HEALTH = "mental_health", _("Santé mentale")

    organization = models.ForeignKey(
        Organization,
        verbose_name=_("organisation"),
        on_delete=models.CASCADE,
        related_name="support_services",
    )
    name = models.CharField(_("nom"), max_length=200)
    category = models.CharField(_("catégorie"), max_length=30, choices=Category.choices)
    description = models.TextField(_("description"), blank=True)
    eligibility = models.TextField(_("critères d'éligibilité"), blank=True)
    communes = models.ManyToManyField(
        Commune, verbose_name=_("communes couvertes"), blank=True, related_name="support_services"
    )
    capacity = models.PositiveIntegerField(_("capacité"), null=True, blank=True)
    waiting_days = models.PositiveIntegerField(_("délai d'attente (jours)"), null=True, blank=True)
    response_days = models.PositiveIntegerField(_("délai de réponse attendu (jours)"), default=5)
    members = models.ManyToManyField(
        Professional,
        verbose_name=_("coordinateurs"),
        blank=True,
        related_name="support_services",
    )
    # Who receives the alerts nobody acknowledged in time (the last level of escalation).
    on_duty = models.ForeignKey(
        Professional,
        verbose_name=_("coordinateur d'astreinte"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        verbose_name = _("service d'appui")
        verbose_name_plural = _("services d'appui")
        ordering = ["name"]
        indexes = [_trigram_index(SERVICE_SEARCH_NAME, "support_service_search_trgm")]

    def __str__(self) -> str:
        return self.name


class OrganizationToken(SecretToken):
    """A secret issued to an organisation's machine (a hospital's interface engine, a
    monitoring device platform)."""

    PREFIX = "tsno_"
    AUDIT_KIND = "organization"
    OWNER = "organization"

    organization = models.ForeignKey(
        Organization,
        verbose_name=_("organisation"),
        on_delete=models.CASCADE,
        related_name="api_tokens",
    )

    class Meta:
        verbose_name = _("jeton d'API d'organisation")
        verbose_name_plural = _("jetons d'API d'organisation")

    @classmethod
    def issue(cls, *, organization: Organization, name: str) -> tuple["OrganizationToken", str]:
        return cls._issue(name=name, organization=organization)

    @classmethod
    def authenticate(cls, key: str) -> "OrganizationToken | None":
        return cls._authenticate(key)


class ImportRun(models.Model):
    """One import of a national file into the directory, and what it did."""

    class Kind(models.TextChoices):
        RPPS = "rpps", _("Annuaire Santé (RPPS)")
        FINESS = "finess", _("FINESS établissements")
        COMMUNES = "communes", _("Communes (INSEE)")

    class Status(models.TextChoices):
        RUNNING = "running", _("en cours")
        DONE = "done", _("terminé")
        ABORTED = "aborted", _("interrompu, rien n'a été écrit")

    kind = models.CharField(_("fichier"), max_length=10, choices=Kind.choices)
    file_name = models.CharField(_("nom du fichier"), max_length=255)
    started_at = models.DateTimeField(_("début"), default=timezone.now)
    finished_at = models.DateTimeField(_("fin"), null=True, blank=True)
    status = models.CharField(
        _("statut"), max_length=10, choices=Status.choices, default=Status.RUNNING
    )
    rows = models.PositiveIntegerField(_("lignes lues"), default=0)
    created = models.PositiveIntegerField(_("créés"), default=0)
    updated = models.PositiveIntegerField(_("mis à jour"), default=0)
    ended = models.PositiveIntegerField(_("terminés"), default=0)
    rejected = models.PositiveIntegerField(_("rejetés"), default=0)
    message = models.TextField(_("message"), blank=True)

    class Meta:
        verbose_name = _("import de l'annuaire")
        verbose_name_plural = _("imports de l'annuaire")
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} — {self.file_name}"


class ImportRejection(models.Model):
    """A row of an imported file that was not imported, kept for a person to fix."""

    run = models.ForeignKey(
        ImportRun, verbose_name=_("import"), on_delete=models.CASCADE, related_name="rejections"
    )
    line = models.PositiveIntegerField(_("ligne"))
    reason = models.CharField(_("motif"), max_length=300)
    content = models.TextField(_("contenu de la ligne"))

    class Meta:
        verbose_name = _("ligne rejetée")
        verbose_name_plural = _("lignes rejetées")
        ordering = ["run", "line"]

    def __str__(self) -> str:
        return f"{self.run} — ligne {self.line}"
