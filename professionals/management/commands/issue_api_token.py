"""manage.py issue_api_token: issue an API token and print its key, once.

Today: an organisation's token (`--organization FINESS`), for its machines (the hospital
feed, monitoring platforms). Personal tokens (a positional e-mail) are to come: `handle`
dispatches on what was given, so they are one more argument and one more method."""

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from professionals.models import Organization, OrganizationToken


class Command(BaseCommand):
    @property
    def help(self) -> str:  # argparse wants a str, not a lazy string
        return _(
            "Émet un jeton d'API et affiche sa clé, une seule fois (seule son empreinte "
            "est conservée)."
        )

    def add_arguments(self, parser: CommandParser) -> None:
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

    def handle(self, *args: object, organization: str | None, name: str, **options: object) -> None:
        if organization:
            token, key = self._issue_for_organization(organization, name)
        else:
            raise CommandError(_("Indiquez l'organisation : --organization FINESS."))
        self.stdout.write(key)
        self.stdout.write(
            _(
                "Jeton « %(name)s » émis pour %(owner)s. Conservez cette clé maintenant : elle "
                "ne sera plus jamais affichée."
            )
            % {"name": token.name, "owner": token.organization}
        )

    def _issue_for_organization(self, finess: str, name: str) -> tuple[OrganizationToken, str]:
        organization = Organization.objects.filter(finess=finess.strip().upper()).first()
        if organization is None:
            raise CommandError(
                _("Aucune organisation ne porte le numéro FINESS %(finess)s.") % {"finess": finess}
            )
        return OrganizationToken.issue(organization=organization, name=name.strip() or "API")
