"""Import of a commune list (INSEE codes): data.gouv.fr's "Communes et villes de France"
(`communes-france-2025.csv`) or a file of the same kind, La Poste's included.

A CSV with a header, `,` or `;` (sniffed); columns found by name (case ignored), the
first alias present winning. Several codes in one postcode cell (separated by `|`, `,`
or spaces) and several lines for one commune (La Poste's file has one per postcode) are
merged. A column absent from the file, or an empty cell, leaves the stored value as it
is; a new commune needs its coordinates. Communes missing from the file are kept
(patients and organisations refer to them): this import never ends anything.
"""

import csv
import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from professionals.imports.base import (
    BATCH_SIZE,
    DirectoryImport,
    Line,
    clip,
    decimal_number,
    departement_of_commune,
    validation_message,
)
from professionals.models import ImportRun
from tsn.identifiers import validate_insee_commune, validate_postcode
from tsn.models import Commune

# Column -> the header names it may have, in order of preference (compared lowercased).
ALIASES = {
    "insee_code": ("code_insee", "code_commune_insee", "COM", "insee"),
    "name": ("nom_standard", "nom_commune", "LIBELLE", "nom", "nom_de_la_commune"),
    "postcodes": ("codes_postaux", "code_postal"),
    "population": ("population", "PMUN"),
    "latitude": ("latitude_centre", "latitude_mairie", "latitude"),
    "longitude": ("longitude_centre", "longitude_mairie", "longitude"),
}
REQUIRED = ("insee_code", "name")
_POSTCODE_SEPARATORS = re.compile(r"[|,\s]+")
_NAME = Commune._meta.get_field("name")


@dataclass
class _Commune:
    line: int  # the first line of the commune
    content: str
    name: str
    postcodes: set[str] = field(default_factory=set)
    population: int | None = None
    latitude: float | None = None
    longitude: float | None = None


def _sniffed_delimiter(header: str) -> str:
    try:
        return csv.Sniffer().sniff(header, delimiters=",;").delimiter
    except csv.Error:
        return ";" if header.count(";") > header.count(",") else ","


class CommunesImport(DirectoryImport):
    kind = ImportRun.Kind.COMMUNES
    member = re.compile(r"\.csv$", re.IGNORECASE)
    entries = gettext_lazy("communes")

    def read(self, lines: Iterator[Line]) -> None:
        header = next(lines, (0, ""))[1]
        delimiter = _sniffed_delimiter(header)
        names = next(csv.reader([header], delimiter=delimiter), [])
        positions: dict[str, int] = {}
        for index, name in enumerate(names):
            positions.setdefault(name.strip().lstrip("#").lower(), index)
        self.columns = {
            column: next(
                (positions[alias.lower()] for alias in aliases if alias.lower() in positions),
                None,
            )
            for column, aliases in ALIASES.items()
        }
        missing = [column for column in REQUIRED if self.columns[column] is None]
        if missing:
            raise self.missing_columns(
                [" / ".join(ALIASES[column]) for column in missing],
            )
        self.communes: dict[str, _Commune] = {}
        for number, text in lines:
            if not text.strip():
                continue
            self.rows += 1
            fields = next(csv.reader([text], delimiter=delimiter))
            if len(fields) != len(names):
                self.territory_rows += 1
                self.reject(
                    number,
                    _("%(found)d champs au lieu de %(expected)d : ligne tronquée ou mal découpée.")
                    % {"found": len(fields), "expected": len(names)},
                    text,
                )
                continue
            self._read_row(number, text, fields)

    def _value(self, fields: list[str], column: str) -> str:
        position = self.columns[column]
        return "" if position is None else fields[position].strip()

    def _read_row(self, number: int, text: str, fields: list[str]) -> None:
        code = self._value(fields, "insee_code").upper()
        if departement_of_commune(code) not in self.departements:
            self.outside += 1
            return
        self.territory_rows += 1
        try:
            validate_insee_commune(code)
        except ValidationError as error:
            self.reject(number, validation_message(error), text)
            return
        name = self._value(fields, "name")
        if not name:
            self.reject(number, _("Nom de la commune absent."), text)
            return
        postcodes = set(_POSTCODE_SEPARATORS.split(self._value(fields, "postcodes"))) - {""}
        for postcode in postcodes:
            try:
                validate_postcode(postcode)
            except ValidationError:
                self.reject(
                    number, _("Code postal invalide : %(code)s.") % {"code": postcode}, text
                )
                return
        try:
            population = self._value(fields, "population").replace(" ", "")
            population_value = int(population) if population else None
            if population_value is not None and population_value < 0:
                raise ValueError(population)
        except ValueError:
            self.reject(number, _("Population invalide : %(value)s.") % {"value": population}, text)
            return
        coordinates = []
        for column, limit in (("latitude", 90), ("longitude", 180)):
            value = self._value(fields, column)
            try:
                coordinates.append(decimal_number(value, -limit, limit) if value else None)
            except ValueError:
                self.reject(
                    number,
                    _("%(column)s invalide : %(value)s.") % {"column": column, "value": value},
                    text,
                )
                return
        commune = self.communes.setdefault(code, _Commune(number, text, clip(name, _NAME)))
        commune.postcodes |= postcodes
        if commune.population is None:
            commune.population = population_value
        if commune.latitude is None or commune.longitude is None:
            commune.latitude, commune.longitude = coordinates

    def plan(self) -> None:
        existing = {
            commune.insee_code: commune
            for commune in Commune.objects.filter(insee_code__in=list(self.communes))
        }
        self.new: list[Commune] = []
        self.changed: list[Commune] = []
        for code, read in self.communes.items():
            commune = existing.get(code)
            if commune is None:
                if read.latitude is None or read.longitude is None:
                    self.reject(
                        read.line,
                        _(
                            "Coordonnées absentes : une nouvelle commune doit avoir une latitude "
                            "et une longitude."
                        ),
                        read.content,
                    )
                    continue
                commune = Commune(
                    insee_code=code,
                    name=read.name,
                    postcodes=sorted(read.postcodes),
                    latitude=read.latitude,
                    longitude=read.longitude,
                    population=read.population or 0,
                )
                self.new.append(commune)
                continue
            before = self._values(commune)
            commune.name = read.name
            if read.postcodes:
                commune.postcodes = sorted(read.postcodes)
            if read.latitude is not None and read.longitude is not None:
                commune.latitude, commune.longitude = read.latitude, read.longitude
            if read.population is not None:
                commune.population = read.population
            if self._values(commune) != before:
                self.changed.append(commune)
        self.created = len(self.new)
        self.updated = len(self.changed)

    @staticmethod
    def _values(commune: Commune) -> tuple:
        return (
            commune.name,
            list(commune.postcodes),
            commune.latitude,
            commune.longitude,
            commune.population,
        )

    def write(self) -> None:
        Commune.objects.bulk_create(self.new, batch_size=BATCH_SIZE)
        # A territory has at most a few thousand communes: Django's bulk_update (which
        # handles the postcodes array) is quick enough for them.
        Commune.objects.bulk_update(
            self.changed,
            ["name", "postcodes", "latitude", "longitude", "population"],
            batch_size=1000,
        )
