"""Import of the FINESS establishments, Etalab's extraction
(`etalab-cs1100507-stock-YYYYMMDD-HHMM.csv`).

Semicolon-separated, no header: a metadata line ("finess;etalab;…"), then `structureet`
lines (32 fields, `FIELDS`) and `geolocalisation` lines (position of an establishment, in
Lambert-93 metres in metropolitan France, in a UTM projection overseas, converted to WGS84
with PROJ). Other sections are ignored. An organisation of the territory with a FINESS
number the new file no longer has is closed (`closed_on`), reopened if it comes back; only
those an import brought or matched (`from_finess`), not those entered by hand.
"""

import csv
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass

import pyproj
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from professionals.imports.base import (
    DirectoryImport,
    ImportFailed,
    Line,
    clip,
    decimal_number,
    departement_of_commune,
    insert_rows,
    street_address,
    update_rows,
    validation_message,
)
from professionals.models import ImportRun, Organization
from tsn.identifiers import validate_finess, validate_postcode
from tsn.models import Commune

FIELDS = (
    "section",
    "nofinesset",
    "nofinessej",
    "rs",
    "rslongue",
    "complrs",
    "compldistrib",
    "numvoie",
    "typvoie",
    "voie",
    "compvoie",
    "lieuditbp",
    "commune",
    "departement",
    "libdepartement",
    "ligneacheminement",
    "telephone",
    "telecopie",
    "categetab",
    "libcategetab",
    "categagretab",
    "libcategagretab",
    "siret",
    "codeape",
    "codemft",
    "libmft",
    "codesph",
    "libsph",
    "dateouv",
    "dateautor",
    "datemaj",
    "numuai",
)
_AT = {name: index for index, name in enumerate(FIELDS)}

Kind = Organization.Kind
# FINESS category (categetab) -> kind of organisation; any other category is OTHER.
KINDS = {
    **dict.fromkeys(
        ("355", "101", "106", "122", "128", "129", "131", "362", "365", "366", "109"),
        Kind.HOSPITAL,
    ),
    "500": Kind.EHPAD,
    "354": Kind.SSIAD,
    "127": Kind.HAD,
    "620": Kind.PHARMACY,
    "611": Kind.LABORATORY,
    "610": Kind.LABORATORY,
    "603": Kind.MSP,
    **dict.fromkeys(("124", "125", "130", "289"), Kind.HEALTH_CENTRE),
    "460": Kind.HOME_HELP,
    "209": Kind.HOME_HELP,
}

# FINESS codes of the overseas départements -> INSEE départements. Their communes' INSEE
# codes are "97" + the 3-digit commune field ("9A" + "101" -> "97101").
OVERSEAS = {"9A": "971", "9B": "972", "9C": "973", "9D": "974", "9E": "975", "9F": "976"}

# The projection named at the end of `sourcecoordet` -> its EPSG code.
PROJECTIONS = {
    "LAMBERT_93": 2154,
    "UTM_N20": 4559,  # Guadeloupe, Martinique
    "UTM_N21": 4467,  # Saint-Pierre-et-Miquelon
    "UTM_N22": 2972,  # Guyane
    "UTM_S38": 4471,  # Mayotte
    "UTM_S40": 2975,  # La Réunion
}

# Street type codes of the file, as written in an address (other codes are kept as they are).
STREET_TYPES = {
    "R": "rue",
    "AV": "avenue",
    "BD": "boulevard",
    "PL": "place",
    "RTE": "route",
    "CHE": "chemin",
    "ALL": "allée",
    "IMP": "impasse",
    "QUA": "quai",
    "CRS": "cours",
    "SQ": "square",
    "PRO": "promenade",
    "MTE": "montée",
    "FG": "faubourg",
    "CHS": "chaussée",
    "PAS": "passage",
    "RES": "résidence",
    "LOT": "lotissement",
    "HAM": "hameau",
}

# The organisation's fields this import owns, in the order of the planned values.
OWNED = (
    "kind",
    "name",
    "siret",
    "address",
    "postcode",
    "commune",
    "phone",
    "category_code",
    "category",
    "latitude",
    "longitude",
    "closed_on",
    "from_finess",
)
_FIELD = {name: Organization._meta.get_field(name) for name in OWNED}
_SIRET = re.compile(r"^\d{14}$")


@dataclass
class _Establishment:
    kind: str
    name: str
    siret: str
    address: str
    postcode: str
    insee_code: str
    phone: str
    category_code: str
    category: str
    latitude: float | None = None
    longitude: float | None = None


def _split(text: str) -> list[str]:
    # Quoted fields (with doubled quotes inside) are rare: the csv module only for them.
    return next(csv.reader([text], delimiter=";")) if '"' in text else text.split(";")


class FinessImport(DirectoryImport):
    kind = ImportRun.Kind.FINESS
    member = re.compile(r"^etalab-cs1100507-stock-.*\.csv$", re.IGNORECASE)
    entries = gettext_lazy("établissements")

    def read(self, lines: Iterator[Line]) -> None:
        self.establishments: dict[str, _Establishment] = {}
        self.lines: dict[str, int] = {}
        # The territory's FINESS numbers on rejected lines: not closed for being absent.
        self.kept: set[str] = set()
        self.positions: dict[str, tuple[int, str, list[str]]] = {}
        number, text = next(lines, (0, ""))
        if not text.startswith("finess;"):
            if not text.startswith(("structureet;", "geolocalisation;")):
                raise ImportFailed(
                    _(
                        "Ce fichier n'est pas une extraction FINESS d'Etalab : sa première "
                        "ligne devrait commencer par « finess;etalab », elle commence par "
                        "« %(start)s »."
                    )
                    % {"start": text[:40]}
                )
            self._read_line(number, text)
        for number, text in lines:
            if text.strip():
                self._read_line(number, text)
        self._locate()

    def _read_line(self, number: int, text: str) -> None:
        self.rows += 1
        fields = _split(text)
        if fields[0] == "structureet":
            self._read_structure(number, text, fields)
        elif fields[0] == "geolocalisation" and len(fields) > 1:
            self.positions.setdefault(fields[1].strip().upper(), (number, text, fields))

    def _read_structure(self, number: int, text: str, fields: list[str]) -> None:
        if len(fields) != len(FIELDS):
            self.territory_rows += 1
            if len(fields) > 1:
                self.kept.add(fields[1].strip().upper())
            self.reject(
                number,
                _("%(found)d champs au lieu de %(expected)d : ligne tronquée ou mal découpée.")
                % {"found": len(fields), "expected": len(FIELDS)},
                text,
            )
            return

        def get(name: str) -> str:
            return fields[_AT[name]].strip()

        file_departement = get("departement").upper()
        departement = OVERSEAS.get(file_departement, file_departement)
        if departement not in self.departements:
            self.outside += 1
            return
        self.territory_rows += 1
        finess = get("nofinesset").upper()
        self.kept.add(finess)
        try:
            validate_finess(finess)
        except ValidationError as error:
            self.reject(number, validation_message(error), text)
            return
        if finess in self.establishments:
            self.reject(
                number,
                _("Numéro FINESS %(finess)s déjà présent ligne %(line)d.")
                % {"finess": finess, "line": self.lines[finess]},
                text,
            )
            return
        name = get("rslongue") or get("rs")
        if not name:
            self.reject(number, _("Raison sociale absente (rs et rslongue vides)."), text)
            return
        commune = get("commune")
        insee_code = (departement[:2] + commune) if re.fullmatch(r"\d{3}", commune) else ""
        postcode = get("ligneacheminement")[:5]
        try:
            validate_postcode(postcode)
        except ValidationError:
            postcode = ""
        category_code = get("categetab")
        street_type = get("typvoie")
        self.lines[finess] = number
        self.kept.discard(finess)
        self.establishments[finess] = _Establishment(
            kind=KINDS.get(category_code, Kind.OTHER),
            name=clip(name, _FIELD["name"]),
            siret=get("siret") if _SIRET.match(get("siret")) else "",
            address=clip(
                street_address(
                    get("numvoie"),
                    get("compvoie"),
                    STREET_TYPES.get(street_type.upper(), street_type),
                    get("voie"),
                    get("lieuditbp"),
                ),
                _FIELD["address"],
            ),
            postcode=postcode,
            insee_code=insee_code,
            phone=clip(get("telephone"), _FIELD["phone"]),
            category_code=clip(category_code, _FIELD["category_code"]),
            category=clip(get("libcategetab"), _FIELD["category"]),
        )

    def _locate(self) -> None:
        """Give the territory's establishments their positions, converted to WGS84."""
        points: dict[int, list[tuple[_Establishment, float, float, int, str]]] = {}
        for finess, (number, text, fields) in self.positions.items():
            establishment = self.establishments.get(finess)
            if establishment is None:
                if finess not in self.kept:
                    self.outside += 1
                continue
            self.territory_rows += 1
            x, y = (fields[index].strip() if len(fields) > index else "" for index in (2, 3))
            if not (x or y):
                continue
            source = fields[4].strip() if len(fields) > 4 else ""
            projection = source.rsplit(",", 1)[-1].strip().upper() or "LAMBERT_93"
            if projection not in PROJECTIONS:
                self.reject(
                    number,
                    _("Système de coordonnées inconnu : %(name)s.") % {"name": projection},
                    text,
                )
                continue
            try:
                point = (decimal_number(x), decimal_number(y))
            except ValueError:
                self.reject(
                    number, _("Coordonnées invalides : %(x)s ; %(y)s.") % {"x": x, "y": y}, text
                )
                continue
            points.setdefault(PROJECTIONS[projection], []).append(
                (establishment, *point, number, text)
            )
        for epsg, located in points.items():
            transformer = pyproj.Transformer.from_crs(epsg, 4326, always_xy=True)
            longitudes, latitudes = transformer.transform(
                [point[1] for point in located], [point[2] for point in located]
            )
            for (establishment, _x, _y, number, text), lon, lat in zip(
                located, longitudes, latitudes, strict=True
            ):
                if not (math.isfinite(lat) and math.isfinite(lon)):
                    self.reject(number, _("Coordonnées hors de la projection."), text)
                    continue
                establishment.latitude, establishment.longitude = round(lat, 6), round(lon, 6)

    def _managed(self, finess: str, insee_code: str | None) -> bool:
        """Whether an organisation with a FINESS number is one of the territory's: by its
        commune, or else by its number (metropolitan numbers start with the département)."""
        if insee_code:
            return departement_of_commune(insee_code) in self.departements
        return finess[:2] in self.departements

    def plan(self) -> None:
        existing = {
            row[1]: row
            for row in Organization.objects.filter(finess__isnull=False).values_list(
                "id", "finess", *OWNED, "commune__insee_code"
            )
        }
        communes = dict(
            Commune.objects.filter(
                insee_code__in={e.insee_code for e in self.establishments.values()} - {""}
            ).values_list("insee_code", "id")
        )
        now = timezone.now()
        self.new: list[tuple] = []
        self.changed: list[tuple] = []
        for finess, establishment in self.establishments.items():
            values = [
                establishment.kind,
                establishment.name,
                establishment.siret,
                establishment.address,
                establishment.postcode,
                communes.get(establishment.insee_code),
                establishment.phone,
                establishment.category_code,
                establishment.category,
                establishment.latitude,
                establishment.longitude,
                None,  # (open)
                True,  # (from the file)
            ]
            row = existing.get(finess)
            if row is None:
                self.new.append((finess, *values))
                continue
            current = list(row[2 : 2 + len(OWNED)])
            if establishment.kind == Kind.OTHER:
                values[0] = current[0]  # a kind chosen by hand is kept
            if establishment.latitude is None:
                values[9:11] = current[9:11]
            if values != current:
                self.changed.append((row[0], *values, now))
        closed_on, from_finess, insee_code = -3, -2, -1
        open_rows = [
            row
            for finess, row in existing.items()
            if row[closed_on] is None
            and row[from_finess]
            and self._managed(finess, row[insee_code])
        ]
        self.closing = [
            (row[0], timezone.localdate(), now)
            for row in open_rows
            if row[1] not in self.establishments and row[1] not in self.kept
        ]
        self.open_entries = len(open_rows)
        self.created, self.updated, self.ended = len(self.new), len(self.changed), len(self.closing)
        self.details.append(
            _("Établissements : créés %(created)d, mis à jour %(updated)d, fermés %(closed)d.")
            % {"created": self.created, "updated": self.updated, "closed": self.ended}
        )

    def write(self) -> None:
        insert_rows(Organization, ("finess", *OWNED), self.new)
        update_rows(Organization, (*OWNED, "updated_at"), self.changed)
        update_rows(Organization, ("closed_on", "updated_at"), self.closing)
