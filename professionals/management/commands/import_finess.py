"""manage.py import_finess FILE: import the territory's establishments from Etalab's FINESS
extraction (etalab-cs1100507-stock-*.csv, or the .zip as downloaded)."""

from django.utils.translation import gettext as _

from professionals.imports.base import ImportCommand
from professionals.imports.finess import FinessImport


class Command(ImportCommand):
    importer = FinessImport

    @property
    def help(self) -> str:  # argparse wants a str, not a lazy string
        return _(
            "Importe les établissements du territoire depuis l'extraction FINESS d'Etalab "
            "(etalab-cs1100507-stock)."
        )
