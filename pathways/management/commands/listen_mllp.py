"""manage.py listen_mllp: receive an establishment's HL7 v2 feed over MLLP (TCP)."""

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from pathways.mllp import MllpServer
from professionals.models import Organization


class Command(BaseCommand):
    @property
    def help(self) -> str:  # argparse wants a str, not a lazy string
        return _(
            "Reçoit les messages HL7 v2 (ADT) d'un établissement sur une connexion MLLP et "
            "renvoie leurs acquittements."
        )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--organization",
            metavar="FINESS",
            required=True,
            help=_("numéro FINESS de l'établissement émetteur"),
        )
        parser.add_argument(
            "--host", default="127.0.0.1", help=_("adresse d'écoute (défaut : 127.0.0.1)")
        )
        parser.add_argument(
            "--port", type=int, default=2575, help=_("port d'écoute (défaut : 2575)")
        )

    def handle(self, *args: object, organization: str, host: str, port: int, **options) -> None:
        sender = Organization.objects.filter(finess=organization.strip().upper()).first()
        if sender is None:
            raise CommandError(
                _("Aucune organisation ne porte le numéro FINESS %(finess)s.")
                % {"finess": organization}
            )
        try:
            server = MllpServer(organization=sender, host=host, port=port).start()
        except OSError as error:
            raise CommandError(
                _("Écoute impossible sur %(host)s:%(port)s (%(error)s).")
                % {"host": host, "port": port, "error": error.strerror or error}
            ) from None
        self.stdout.write(
            _("Écoute MLLP sur %(host)s:%(port)s pour %(name)s (Ctrl+C pour arrêter).")
            % {"host": host, "port": server.port, "name": sender.name}
        )
        try:
            server.wait()
        except KeyboardInterrupt:
            server.stop()
