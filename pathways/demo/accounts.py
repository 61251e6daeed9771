"""The demo accounts: one per role, all with the demo password; and the accounts of the
other professionals who wrote in the demo's records (care plans, liaison notebooks)."""

import datetime
from dataclasses import dataclass, field

from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from allauth.mfa.utils import encrypt
from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.db import connection
from django.db.models import Exists, OuterRef, Q

from pathways.demo.bulk import copy_rows, next_id
from pathways.demo.context import ascii_slug
from professionals.models import Professional
from tsn.models import User

DEMO_DOMAIN = "demo.tsn.test"
# The other professionals' accounts (not demo logins: see ProfessionalAccounts).
PROFESSIONALS_DOMAIN = f"professionnels.{DEMO_DOMAIN}"
Role = User.Role


@dataclass(frozen=True)
class DemoAccount:
    key: str
    role: str
    first_name: str
    last_name: str
    description: str
    is_admin: bool = False
    # Logs in with a TOTP code after the password (DEMO_TOTP_SECRET).
    has_totp: bool = False

    @property
    def email(self) -> str:
        return f"{self.key}@{DEMO_DOMAIN}"


# The authenticator application's key of the demo accounts with a second factor: published
# (README), as the demo password is. `manage.py demo_totp` prints its current code.
DEMO_TOTP_SECRET = "TSNDEMOTOTPMEDECINDUBREUILCLAIRE"  # noqa: S105 # nosec B105 - public demo key

# The patient account takes the name of the patient record it is linked to.
DEMO_ACCOUNTS = (
    DemoAccount(
        "coordination",
        Role.COORDINATOR,
        "Nadia",
        "Benali",
        "coordinatrice du DAC, référente de nombreux parcours",
    ),
    DemoAccount(
        "medecin",
        Role.PROFESSIONAL,
        "Claire",
        "Dubreuil",
        "médecin généraliste, médecin traitant de nombreux patients (double "
        "authentification : manage.py demo_totp)",
        has_totp=True,
    ),
    DemoAccount(
        "infirmiere",
        Role.PROFESSIONAL,
        "Sophie",
        "Marchand",
        "infirmière libérale, dans de nombreuses équipes de soins",
    ),
    DemoAccount(
        "hopital", Role.PROFESSIONAL, "Julien", "Fabre", "cardiologue du centre hospitalier"
    ),
    DemoAccount(
        "medecin.externe",
        Role.PROFESSIONAL,
        "Antoine",
        "Roussel",
        "médecin généraliste sans patient en commun avec les autres comptes",
    ),
    DemoAccount("ars", Role.ARS_ANALYST, "Hélène", "Garnier", "analyste de l'ARS"),
    DemoAccount(
        "admin",
        Role.ADMINISTRATOR,
        "Marc",
        "Vidal",
        "administrateur du territoire",
        is_admin=True,
    ),
    DemoAccount("patient", Role.PATIENT, "", "", "patient suivi pour insuffisance cardiaque"),
)


def delete_demo_accounts() -> None:
    """Delete the demo accounts and the professionals' accounts the demo made.

    Those nothing refers to (all of them once the platform's tables are emptied, as on a
    reset) go in one statement; the others through the ORM, which follows the references.
    """
    accounts = User.objects.filter(
        Q(email__endswith=f"@{DEMO_DOMAIN}") | Q(email__endswith=f"@{PROFESSIONALS_DOMAIN}")
    )
    unreferenced = accounts
    for relation in User._meta.get_fields(include_hidden=True):
        model = relation.related_model
        if (
            relation.auto_created
            and not relation.concrete
            and not relation.many_to_many
            and model._meta.managed
            and not model._meta.proxy
        ):
            referring = model._base_manager.filter(**{relation.field.name: OuterRef("pk")})
            unreferenced = unreferenced.exclude(Exists(referring))
    with connection.cursor() as cursor:
        cursor.execute(
            f"DELETE FROM {connection.ops.quote_name(User._meta.db_table)} WHERE id = ANY(%s)",  # noqa: S608 - a table name  # nosec B608
            [list(unreferenced.values_list("pk", flat=True))],
        )
    accounts.delete()


def create_demo_accounts() -> dict[str, int]:
    """Create the demo users (one password hash for all); return their ids by key."""
    password = make_password(settings.TSN_DEMO_PASSWORD)
    users = [
        User(
            email=account.email,
            password=password,
            role=account.role,
            first_name=account.first_name,
            last_name=account.last_name,
            is_staff=account.is_admin,
            is_superuser=account.is_admin,
        )
        for account in DEMO_ACCOUNTS
    ]
    User.objects.bulk_create(users)
    EmailAddress.objects.bulk_create(
        EmailAddress(user=user, email=user.email, verified=True, primary=True) for user in users
    )
    Authenticator.objects.bulk_create(
        Authenticator(
            user=user, type=Authenticator.Type.TOTP, data={"secret": encrypt(DEMO_TOTP_SECRET)}
        )
        for account, user in zip(DEMO_ACCOUNTS, users, strict=True)
        if account.has_totp
    )
    return {account.key: user.pk for account, user in zip(DEMO_ACCOUNTS, users, strict=True)}


DEMO_ACCOUNTS_BY_KEY = {account.key: account for account in DEMO_ACCOUNTS}


@dataclass
class ProfessionalAccounts:
    """The accounts behind the professionals who write in the records.

    Care-plan versions and liaison messages are written by users, referrals are sent and
    answered by users, and most professionals of the directory have no account. Each one who
    does any of it gets one, made when first needed (ids
    chosen up front, rows written at the end by `write`). These accounts are inactive and
    have no usable password: nobody logs in with them, and the platform's alerts,
    notifications and mentions go, as before, to the demo accounts only.
    """

    demo_users: dict[int, int]  # demo professional id -> their (active) account
    first_id: int
    names: dict[int, tuple[str, str]] = field(default_factory=dict)
    professions: dict[int, str] = field(default_factory=dict)
    created: dict[int, int] = field(default_factory=dict)  # professional -> new account
    first_use: dict[int, datetime.datetime] = field(default_factory=dict)

    @classmethod
    def load(cls, demo_professionals: dict[str, int], demo_users: dict[str, int]):
        accounts = cls(
            demo_users={demo_professionals[key]: demo_users[key] for key in demo_professionals},
            first_id=next_id(User),
        )
        rows = Professional.objects.values_list("id", "first_name", "last_name", "profession")
        for pk, first_name, last_name, profession in rows:
            accounts.names[pk] = (first_name, last_name)
            accounts.professions[pk] = profession
        return accounts

    def name(self, professional: int) -> str:
        """As `str(professional)` shows it."""
        first_name, last_name = self.names[professional]
        return f"{first_name} {last_name}"

    def is_live(self, professional: int) -> bool:
        """Whether the professional's account is an active (demo) one."""
        return professional in self.demo_users

    def user(self, professional: int, at: datetime.datetime) -> int:
        """The professional's account (made if needed), used at `at`."""
        if professional in self.demo_users:
            return self.demo_users[professional]
        user = self.created.get(professional)
        if user is None:
            user = self.created[professional] = self.first_id + len(self.created)
            self.first_use[professional] = at
        else:
            self.first_use[professional] = min(self.first_use[professional], at)
        return user

    def write(self) -> int:
        """Create the accounts and link them to their professionals; return how many."""
        rows = []
        for professional, user in self.created.items():
            first_name, last_name = self.names[professional]
            mailbox = f"{ascii_slug(first_name, '.')}.{ascii_slug(last_name, '.')}.{professional}"
            rows.append(
                (
                    user,
                    # An unusable password: no one logs in with these accounts.
                    "!",
                    False,
                    first_name,
                    last_name,
                    False,
                    False,
                    self.first_use[professional] - datetime.timedelta(days=7 + professional % 60),
                    f"{mailbox}@{PROFESSIONALS_DOMAIN}",
                    Role.COORDINATOR
                    if self.professions[professional] == Professional.Profession.COORDINATOR
                    else Role.PROFESSIONAL,
                )
            )
        copy_rows(
            User,
            [
                "id",
                "password",
                "is_superuser",
                "first_name",
                "last_name",
                "is_staff",
                "is_active",
                "date_joined",
                "email",
                "role",
            ],
            rows,
        )
        with connection.cursor() as cursor:
            cursor.execute(
                """
                UPDATE professionals_professional p SET user_id = a.user_id
                FROM unnest(%s::bigint[], %s::bigint[]) AS a (professional_id, user_id)
                WHERE p.id = a.professional_id
                """,
                [list(self.created), list(self.created.values())],
            )
        return len(rows)
