"""The demo accounts: one per role, all with the demo password."""

from dataclasses import dataclass

from allauth.account.models import EmailAddress
from django.conf import settings
from django.contrib.auth.hashers import make_password

from tsn.models import User

DEMO_DOMAIN = "demo.tsn.test"
Role = User.Role


@dataclass(frozen=True)
class DemoAccount:
    key: str
    role: str
    first_name: str
    last_name: str
    description: str
    is_admin: bool = False

    @property
    def email(self) -> str:
        return f"{self.key}@{DEMO_DOMAIN}"


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
        "médecin généraliste, médecin traitant de nombreux patients",
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
    User.objects.filter(email__endswith=f"@{DEMO_DOMAIN}").delete()


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
    return {account.key: user.pk for account, user in zip(DEMO_ACCOUNTS, users, strict=True)}


DEMO_ACCOUNTS_BY_KEY = {account.key: account for account in DEMO_ACCOUNTS}
