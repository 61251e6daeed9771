"""manage.py issue_api_token: issue an API token and print its key, once.

`issue_api_token EMAIL`: a personal token (the user's software acts as the user);
`issue_api_token --organization FINESS`: an organisation's token, for its machines (the
hospital feed, monitoring platforms)."""

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from professionals.models import Organization, OrganizationToken
from tsn.models import ApiToken, User


class Command(BaseCommand):
    @property
    def help(self) -> str:  # argparse wants a str, not a lazy string
        return _(
            "Émet un jeton d'API et affiche sa clé, une seule fois (seule son empreinte "
            "est conservée)."
        )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "email",
            nargs="?",
            help=_("adresse e-mail de l'utilisateur pour qui émettre un jeton personnel"),
        )
        parser.add_argument(
            "--organization",
            metavar="FINESS",
            help=_("numéro FINESS de l'organisation dont les machines utiliseront le jeton"),
        )
        parser.add_argument(
            "--name",
            default="",
            help=_("usage du jeton, par exemple « Flux HL7 des urgences » (défaut : « API »)"),
        )

    def handle(
        self,
        *args: object,
        email: str | None,
        organization: str | None,
        name: str,
        **options: object,
    ) -> None:
        if bool(email) == bool(organization):
            raise CommandError(
                _("Indiquez soit l'e-mail d'un utilisateur, soit --organization FINESS.")
            )
        if organization:
            token, key = self._issue_for_organization(organization, name)
            owner = token.organization
        else:
            token, key = self._issue_for_user(email, name)
            owner = token.user.email
        self.stdout.write(key)
        self.stdout.write(
            _(
                "Jeton « %(name)s » émis pour %(owner)s. Conservez cette clé maintenant : elle "
                "ne sera plus jamais affichée."
            )
            % {"name": token.name, "owner": owner}
        )

    def _issue_for_user(self, email: str, name: str) -> tuple[ApiToken, str]:
        user = User.objects.filter(email__iexact=email.strip(), is_active=True).first()
        if user is None:
            raise CommandError(
                _("Aucun utilisateur actif n'a l'adresse %(email)s.") % {"email": email}
            )
        return ApiToken.issue(user=user, name=name.strip() or "API")

    def _issue_for_organization(self, finess: str, name: str) -> tuple[OrganizationToken, str]:
        organization = Organization.objects.filter(finess=finess.strip().upper()).first()
        if organization is None:
            raise CommandError(
                _("Aucune organisation ne porte le numéro FINESS %(finess)s.") % {"finess": finess}
            )
        return OrganizationToken.issue(organization=organization, name=name.strip() or "API")
