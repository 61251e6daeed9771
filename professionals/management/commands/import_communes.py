"""manage.py import_communes FILE: import the territory's communes from a commune list
(data.gouv.fr's communes-france-2025.csv or a file of the same kind)."""

from django.utils.translation import gettext as _

from professionals.imports.base import ImportCommand
from professionals.imports.communes import CommunesImport


class Command(ImportCommand):
    importer = CommunesImport

    @property
    def help(self) -> str:  # argparse wants a str, not a lazy string
        return _(
            "Importe les communes du territoire (code INSEE, nom, codes postaux, population, "
            "coordonnées) depuis une liste au format CSV, par exemple communes-france-2025.csv "
            "de data.gouv.fr."
        )
