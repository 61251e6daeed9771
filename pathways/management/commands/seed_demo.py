"""manage.py seed_demo: build the synthetic demo territory."""

import argparse

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser
from django.utils.translation import gettext as _

from pathways.demo import DEMO_ACCOUNTS, DemoAlreadySeeded, seed_demo
from pathways.demo.accounts import DEMO_TOTP_SECRET
from professionals.models import Organization

MAX_SCALE = 2.5


def _scale(value: str) -> float:
    scale = float(value)
    if not 0 < scale <= MAX_SCALE:
        raise argparse.ArgumentTypeError(
            _("l'échelle doit être comprise entre 0 (exclu) et %(max)s") % {"max": MAX_SCALE}
        )
    return scale


class Command(BaseCommand):
    help = _(
        "Construit un territoire de démonstration (échelle 1 : 1,4 million d'habitants) "
        "et les comptes de démonstration."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--scale",
            type=_scale,
            default=0.01,
            help=_("taille du territoire, 1 = 1,4 million d'habitants (défaut : 0,01)"),
        )
        parser.add_argument(
            "--seed",
            type=int,
            default=1,
            help=_("graine du générateur : même graine, mêmes données (défaut : 1)"),
        )
        parser.add_argument(
            "--reset",
            action="store_true",
            help=_("vider les tables de la plateforme avant de reconstruire le territoire"),
        )

    def handle(
        self, *args: object, scale: float, seed: int, reset: bool, **options: object
    ) -> None:
        try:
            counts = seed_demo(scale=scale, seed=seed, reset=reset, log=self.stdout.write)
        except DemoAlreadySeeded:
            self.stdout.write(
                _("Le territoire est déjà construit : rien à faire (--reset pour le reconstruire).")
            )
        else:
            self.stdout.write(self.style.SUCCESS(_("Territoire de démonstration construit :")))
            for label, count in counts.items():
                self.stdout.write(f"  {count:>12,} {label}".replace(",", "\u202f"))
        self.stdout.write("")
        self.stdout.write(
            _("Comptes de démonstration (mot de passe : %(password)s) :")
            % {"password": settings.TSN_DEMO_PASSWORD}
        )
        for account in DEMO_ACCOUNTS:
            self.stdout.write(f"  {account.email:<34} {account.description}")
        self.stdout.write(
            _(
                "Double authentification de démonstration : clé TOTP %(secret)s (à ajouter "
                "dans une application d'authentification) ou `manage.py demo_totp`."
            )
            % {"secret": DEMO_TOTP_SECRET}
        )
        hospital = (
            Organization.objects.filter(
                kind=Organization.Kind.HOSPITAL,
                practitioner_roles__professional__user__email="hopital@demo.tsn.test",
            )
            .exclude(finess=None)
            .first()
        )
        if hospital is not None:
            self.stdout.write(
                _(
                    "Flux hospitalier de démonstration (README, « Flux hospitalier ») : "
                    "%(name)s, FINESS %(finess)s."
                )
                % {"name": hospital.name, "finess": hospital.finess}
            )
