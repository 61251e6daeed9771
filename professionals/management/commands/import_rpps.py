"""manage.py import_rpps FILE: import the Annuaire Santé's extraction of professionals and
their activities (PS_LibreAcces_Personne_activite_*.txt, or the .zip as downloaded)."""

from django.utils.translation import gettext as _

from professionals.imports.base import ImportCommand
from professionals.imports.rpps import RppsImport


class Command(ImportCommand):
    importer = RppsImport

    @property
    def help(self) -> str:  # argparse wants a str, not a lazy string
        return _(
            "Importe les professionnels de santé du territoire et leurs lieux d'exercice "
            "depuis l'extraction de l'Annuaire Santé (PS_LibreAcces_Personne_activite)."
        )
