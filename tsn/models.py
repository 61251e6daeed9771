"""Core models every app needs: users and roles, the territory, communes, the audit trail,
the personal API tokens."""

import hashlib
import secrets

import pgtrigger
from django.contrib.auth.models import AbstractUser, BaseUserManager
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tsn.identifiers import validate_insee_commune, validate_postcode


class TimestampedModel(models.Model):
    created_at = models.DateTimeField(_("créé le"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("modifié le"), auto_now=True)

    class Meta:
        abstract = True


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def create_user(self, email: str, password: str | None = None, **fields) -> "User":
        if not email:
            raise ValueError("An e-mail address is required")
        user = self.model(email=self.normalize_email(email).lower(), **fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **fields) -> "User":
        fields.setdefault("role", User.Role.ADMINISTRATOR)
        fields.setdefault("is_staff", True)
        fields.setdefault("is_superuser", True)
        return self.create_user(email, password, **fields)


class UserRole(models.TextChoices):
    COORDINATOR = "coordinator", _("Coordinateur·rice de parcours")
    PROFESSIONAL = "professional", _("Professionnel·le de santé ou du social")
    ARS_ANALYST = "ars_analyst", _("Analyste ARS")
    ADMINISTRATOR = "administrator", _("Administrateur·rice du territoire")
    PATIENT = "patient", _("Patient·e ou aidant·e")


class User(AbstractUser):
    """A person who signs in, identified by e-mail, with exactly one role."""

    Role = UserRole

    username = None
    email = models.EmailField(_("adresse e-mail"), unique=True)
    role = models.CharField(_("rôle"), max_length=20, choices=Role.choices)

    objects = UserManager()

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        verbose_name = _("utilisateur")
        verbose_name_plural = _("utilisateurs")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(role__in=UserRole.values), name="user_role_valid"
            ),
        ]

    def __str__(self) -> str:
        return self.get_full_name() or self.email

    @property
    def is_clinical(self) -> bool:
        """Coordinators and professionals: the roles that may see nominative records."""
        return self.role in {self.Role.COORDINATOR, self.Role.PROFESSIONAL}


class Territory(TimestampedModel):
    """The health territory this deployment serves (one per deployment)."""

    name = models.CharField(_("nom"), max_length=200)
    ars_region = models.CharField(_("région ARS"), max_length=100)
    departement_codes = ArrayField(
        models.CharField(max_length=3), verbose_name=_("départements"), default=list
    )

    class Meta:
        verbose_name = _("territoire")
        verbose_name_plural = _("territoires")

    def __str__(self) -> str:
        return self.name


class Commune(models.Model):
    insee_code = models.CharField(
        _("code INSEE"), max_length=5, unique=True, validators=[validate_insee_commune]
    )
    name = models.CharField(_("nom"), max_length=200)
    postcodes = ArrayField(
        models.CharField(max_length=5, validators=[validate_postcode]),
        verbose_name=_("codes postaux"),
    )
    latitude = models.FloatField(_("latitude"))
    longitude = models.FloatField(_("longitude"))
    population = models.PositiveIntegerField(_("population"), default=0)
    sector = models.CharField(_("secteur"), max_length=100, blank=True)

    class Meta:
        verbose_name = _("commune")
        verbose_name_plural = _("communes")
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.insee_code})"


@pgtrigger.register(
    pgtrigger.Protect(name="audit_append_only", operation=pgtrigger.Update | pgtrigger.Delete),
)
class AuditEvent(models.Model):
    """One access to patient data, allowed or denied. Append-only (database trigger)."""

    class Action(models.TextChoices):
        CREATE = "create", _("création")
        READ = "read", _("consultation")
        UPDATE = "update", _("modification")
        DELETE = "delete", _("suppression")
        EXPORT = "export", _("export")

    class Outcome(models.TextChoices):
        ALLOWED = "allowed", _("autorisé")
        DENIED = "denied", _("refusé")

    occurred_at = models.DateTimeField(_("date"), default=timezone.now)
    actor = models.ForeignKey(
        User, verbose_name=_("auteur"), null=True, on_delete=models.PROTECT, related_name="+"
    )
    actor_role = models.CharField(
        _("rôle de l'auteur"), max_length=20, choices=UserRole.choices, blank=True
    )
    # A plain id, not a foreign key: the trail outlives merges and must not depend on
    # the patients app (the core app sits below it).
    patient_id = models.BigIntegerField(_("patient"), null=True)
    action = models.CharField(_("action"), max_length=10, choices=Action.choices)
    outcome = models.CharField(
        _("résultat"), max_length=10, choices=Outcome.choices, default=Outcome.ALLOWED
    )
    object_type = models.CharField(_("type d'objet"), max_length=50)
    object_id = models.CharField(_("identifiant de l'objet"), max_length=64, blank=True)
    client_ip = models.GenericIPAddressField(_("adresse IP"), null=True, blank=True)
    break_glass_reason = models.TextField(_("motif du bris de glace"), blank=True)
    # The API token the request carried ("personal:12", "organization:3"), if any: a
    # machine has no account, so its token is the actor.
    api_token = models.CharField(_("jeton d'API"), max_length=40, blank=True, db_default="")

    class Meta:
        verbose_name = _("trace d'accès")
        verbose_name_plural = _("traces d'accès")
        indexes = [
            models.Index(fields=["patient_id", "-occurred_at"], name="audit_patient_time"),
            models.Index(fields=["actor", "-occurred_at"], name="audit_actor_time"),
            models.Index(fields=["-occurred_at", "-id"], name="audit_time"),
        ]

    def __str__(self) -> str:
        return f"{self.occurred_at:%Y-%m-%d %H:%M} {self.actor_id} {self.action} {self.object_type}"


class SecretToken(models.Model):
    """What every API token has: a secret key shown once (only its SHA-256 is kept), a
    usage, its last use, its revocation. The concrete tokens name their owner."""

    PREFIX = ""
    AUDIT_KIND = ""
    OWNER = ""  # the owner's field, followed on authentication

    name = models.CharField(_("usage"), max_length=100)
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    # The first characters of the key, to recognise it in a list.
    hint = models.CharField(_("début de la clé"), max_length=12, editable=False)
    created_at = models.DateTimeField(_("créé le"), default=timezone.now, editable=False)
    last_used_at = models.DateTimeField(_("dernière utilisation"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("révoqué le"), null=True, blank=True)

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return f"{getattr(self, self.OWNER)} — {self.name} ({self.hint}…)"

    @staticmethod
    def hash(key: str) -> str:
        return hashlib.sha256(key.encode()).hexdigest()

    @classmethod
    def _issue(cls, *, name: str, **owner: object):
        """A new token and its key (to give once; it is not kept)."""
        key = cls.PREFIX + secrets.token_urlsafe(32)
        token = cls.objects.create(name=name, key_hash=cls.hash(key), hint=key[:12], **owner)
        return token, key

    @classmethod
    def _authenticate(cls, key: str, **conditions: object):
        """The live token with this key meeting `conditions`, its use recorded; None for an
        unknown or revoked key."""
        token = (
            cls.objects.select_related(cls.OWNER)
            .filter(key_hash=cls.hash(key), revoked_at__isnull=True, **conditions)
            .first()
        )
        if token is not None:
            token.last_used_at = timezone.now()
            token.save(update_fields=["last_used_at"])
        return token

    def revoke(self) -> None:
        if self.revoked_at is None:
            self.revoked_at = timezone.now()
            self.save(update_fields=["revoked_at"])


class ApiToken(SecretToken):
    """A personal API token: the user's software (a GP's practice software, a script) acts
    as the user, under the same access policy."""

    PREFIX = "tsnp_"
    AUDIT_KIND = "personal"
    OWNER = "user"

    user = models.ForeignKey(
        User, verbose_name=_("utilisateur"), on_delete=models.CASCADE, related_name="api_tokens"
    )

    class Meta:
        verbose_name = _("jeton d'API personnel")
        verbose_name_plural = _("jetons d'API personnels")

    @classmethod
    def issue(cls, *, user: User, name: str) -> tuple["ApiToken", str]:
        return cls._issue(name=name, user=user)

    @classmethod
    def authenticate(cls, key: str) -> "ApiToken | None":
        """The live token with this key, of an active user; None otherwise."""
        return cls._authenticate(key, user__is_active=True)
