"""Import of the Annuaire Santé's public extraction of health professionals and their
activities (`PS_LibreAcces_Personne_activite_YYYYMMDDHHMM.txt`, RPPS and ADELI).

Pipe-separated, a header, one line per activity; columns are found by their header name
(the file has some fifty, in an order that changes between versions). A professional is
identified by RPPS (identifier type 8) or ADELI (type 0); each activity becomes a
`PractitionerRole` identified by `source_key`: the file's "Identifiant technique de la
structure", else a hash of the place's columns. An open activity missing from the new
file is ended; one that comes back is reopened. Professionals are never deleted.

When one professional has several lines for one place, the first one is kept.
"""

import hashlib
import re
from collections.abc import Iterator

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from professionals.imports.base import (
    DirectoryImport,
    Line,
    clip,
    departement_of_commune,
    departement_of_postcode,
    insert_rows,
    street_address,
    update_rows,
    validation_message,
)
from professionals.models import ImportRun, Organization, PractitionerRole, Professional
from tsn.identifiers import validate_adeli, validate_postcode, validate_rpps
from tsn.models import Commune

ID_TYPE = "Type d'identifiant PP"
ID = "Identifiant PP"
LAST_NAME = "Nom d'exercice"
FIRST_NAME = "Prénom d'exercice"
PROFESSION_CODE = "Code profession"
PROFESSION_LABEL = "Libellé profession"
SKILL_CODE = "Code savoir-faire"
SKILL_LABEL = "Libellé savoir-faire"
MODE = "Code mode exercice"
SITE_SIRET = "Numéro SIRET site"
SITE_FINESS = "Numéro FINESS site"
SITE_NAME = "Raison sociale site"
SITE_SIGN = "Enseigne commerciale site"
STRUCTURE_ID = "Identifiant technique de la structure"
STREET_NUMBER = "Numéro Voie (coord. structure)"
REPETITION = "Indice répétition voie (coord. structure)"
STREET_TYPE = "Libellé type de voie (coord. structure)"
STREET = "Libellé Voie (coord. structure)"
DISTRIBUTION = "Mention distribution (coord. structure)"
POSTCODE = "Code postal (coord. structure)"
COMMUNE = "Code commune (coord. structure)"
PHONE = "Téléphone (coord. structure)"
EMAIL = "Adresse e-mail (coord. structure)"
ROLE = "Libellé rôle"

REQUIRED = (ID, LAST_NAME, FIRST_NAME, PROFESSION_CODE)
USED = (
    ID_TYPE,
    *REQUIRED,
    PROFESSION_LABEL,
    SKILL_CODE,
    SKILL_LABEL,
    MODE,
    SITE_SIRET,
    SITE_FINESS,
    SITE_NAME,
    SITE_SIGN,
    STRUCTURE_ID,
    STREET_NUMBER,
    REPETITION,
    STREET_TYPE,
    STREET,
    DISTRIBUTION,
    POSTCODE,
    COMMUNE,
    PHONE,
    EMAIL,
    ROLE,
)

Profession = Professional.Profession
# "Code profession" -> profession; any other code is OTHER (its label becomes the specialty).
PROFESSIONS = {
    "10": Profession.PHYSICIAN,
    "21": Profession.PHARMACIST,
    "40": Profession.DENTIST,
    "50": Profession.MIDWIFE,
    "60": Profession.NURSE,
    "69": Profession.NURSE,
    "70": Profession.PHYSIOTHERAPIST,
    "80": Profession.PODIATRIST,
    "91": Profession.SPEECH_THERAPIST,
    "92": Profession.ORTHOPTIST,
    "93": Profession.PSYCHOLOGIST,
    "94": Profession.OCCUPATIONAL_THERAPIST,
    "95": Profession.DIETITIAN,
    "96": Profession.PSYCHOMOTOR_THERAPIST,
}
IDENTIFIERS = {"8": ("rpps", validate_rpps), "0": ("adeli", validate_adeli)}
MODES = {choice.value for choice in PractitionerRole.PracticeMode}

# The fields this import owns, in the order of the planned values.
PERSON_OWNED = (
    "last_name",
    "first_name",
    "profession",
    "specialty",
    "profession_code",
    "specialty_code",
    "mssante_address",
)
ROLE_OWNED = (
    "organization",
    "function",
    "practice_mode",
    "site_name",
    "address",
    "postcode",
    "commune",
    "phone",
    "email",
    "end",
)
_PERSON = {name: Professional._meta.get_field(name) for name in PERSON_OWNED}
_ROLE = {name: PractitionerRole._meta.get_field(name) for name in ROLE_OWNED}

# ("rpps", number) or ("adeli", number)
Key = tuple[str, str]


def _email(text: str) -> str:
    try:
        validate_email(text)
    except ValidationError:
        return ""
    return text


class RppsImport(DirectoryImport):
    kind = ImportRun.Kind.RPPS
    member = re.compile(r"^PS_LibreAcces_Personne_activite.*\.txt$", re.IGNORECASE)
    entries = gettext_lazy("exercices")

    def read(self, lines: Iterator[Line]) -> None:
        header = next(lines, (0, ""))[1]
        names = header.split("|")
        positions: dict[str, int] = {}
        for index, name in enumerate(names):
            if name.strip():
                positions.setdefault(name.strip(), index)
        missing = [column for column in REQUIRED if column not in positions]
        if missing:
            raise self.missing_columns(missing)
        self.at = {column: positions.get(column) for column in USED}
        self.people: dict[Key, tuple] = {}
        self.mssante: dict[Key, str] = {}
        self.activities: dict[tuple[Key, str], tuple] = {}
        # Activities on rejected lines whose professional is known: not ended for that.
        self.kept: set[tuple[Key, str]] = set()
        width = len(names)
        for number, text in lines:
            if not text.strip():
                continue
            self.rows += 1
            fields = text.split("|")
            if len(fields) != width:
                self.territory_rows += 1
                self.reject(
                    number,
                    _("%(found)d champs au lieu de %(expected)d : ligne tronquée ou mal découpée.")
                    % {"found": len(fields), "expected": width},
                    text,
                )
                continue
            self._read_row(number, text, fields)

    def _read_row(self, number: int, text: str, fields: list[str]) -> None:
        at = self.at

        def value(column: str) -> str:
            index = at[column]
            return "" if index is None else fields[index].strip()

        commune, postcode = value(COMMUNE).upper(), value(POSTCODE)
        if commune:
            departement = departement_of_commune(commune)
        else:
            departement = departement_of_postcode(postcode) if postcode else ""
        if departement not in self.departements:
            self.outside += 1
            return
        self.territory_rows += 1

        id_type, identifier = value(ID_TYPE) or "8", value(ID)
        if id_type not in IDENTIFIERS:
            self.reject(
                number,
                _("Type d'identifiant inconnu : « %(type)s » (8 pour RPPS, 0 pour ADELI).")
                % {"type": id_type},
                text,
            )
            return
        key_kind, validate = IDENTIFIERS[id_type]
        try:
            validate(identifier)
        except ValidationError as error:
            self.reject(
                number,
                f"« {identifier} » : {validation_message(error)}"
                if identifier
                else _("Identifiant PP absent."),
                text,
            )
            return
        key = (key_kind, identifier)

        address = street_address(
            value(STREET_NUMBER),
            value(REPETITION),
            value(STREET_TYPE).lower(),
            value(STREET),
            value(DISTRIBUTION),
        )
        mode = value(MODE).upper()
        finess = value(SITE_FINESS).upper()
        structure = value(STRUCTURE_ID)
        if structure and len(structure) <= 64:
            source_key = structure
        else:
            place = "|".join(
                (finess, value(SITE_SIRET), postcode, commune, address, mode, structure)
            )
            source_key = hashlib.sha256(place.encode()).hexdigest()

        empty = [column for column in (LAST_NAME, FIRST_NAME, PROFESSION_CODE) if not value(column)]
        if empty:
            self.kept.add((key, source_key))
            self.reject(
                number,
                _("Champ obligatoire vide : %(columns)s.")
                % {"columns": ", ".join(f"« {column} »" for column in empty)},
                text,
            )
            return
        profession_code = value(PROFESSION_CODE)
        if len(profession_code) > _PERSON["profession_code"].max_length:
            self.kept.add((key, source_key))
            self.reject(
                number,
                _("Code profession invalide : « %(code)s ».") % {"code": profession_code},
                text,
            )
            return

        profession = PROFESSIONS.get(profession_code, Profession.OTHER)
        if profession == Profession.PHYSICIAN:
            specialty, specialty_code = value(SKILL_LABEL), value(SKILL_CODE)
        elif profession == Profession.OTHER:
            specialty, specialty_code = value(PROFESSION_LABEL), ""
        else:
            specialty, specialty_code = "", ""
        self.people.setdefault(
            key,
            (
                clip(value(LAST_NAME), _PERSON["last_name"]),
                clip(value(FIRST_NAME), _PERSON["first_name"]),
                profession,
                clip(specialty, _PERSON["specialty"]),
                profession_code,
                clip(specialty_code, _PERSON["specialty_code"]),
            ),
        )
        email = _email(clip(value(EMAIL), _ROLE["email"]))
        if email.lower().endswith(".mssante.fr"):
            self.mssante.setdefault(key, email)
        try:
            validate_postcode(postcode)
        except ValidationError:
            postcode = ""
        self.activities.setdefault(
            (key, source_key),
            (
                finess,
                clip(value(ROLE) or value(PROFESSION_LABEL), _ROLE["function"]),
                mode if mode in MODES else "",
                clip(value(SITE_NAME) or value(SITE_SIGN), _ROLE["site_name"]),
                clip(address, _ROLE["address"]),
                postcode,
                commune,
                clip(value(PHONE), _ROLE["phone"]),
                email,
            ),
        )

    def plan(self) -> None:
        now, today = timezone.now(), timezone.localdate()
        ids: dict[Key, int] = {}
        current: dict[int, tuple] = {}
        for pk, rpps, adeli, *values in Professional.objects.filter(
            Q(rpps__isnull=False) | ~Q(adeli="")
        ).values_list("id", "rpps", "adeli", *PERSON_OWNED):
            current[pk] = tuple(values)
            if rpps:
                ids[("rpps", rpps)] = pk
            if adeli:
                ids.setdefault(("adeli", adeli), pk)

        self.new_people: dict[Key, tuple] = {}
        self.changed_people: list[tuple] = []
        compared: set[int] = set()
        for key, person in self.people.items():
            pk = ids.get(key)
            if pk is None:
                self.new_people[key] = (
                    key[1] if key[0] == "rpps" else None,
                    key[1] if key[0] == "adeli" else "",
                    *person,
                    self.mssante.get(key, ""),
                )
                continue
            if pk in compared:  # the same person under both numbers
                continue
            compared.add(pk)
            before = current[pk]
            # An MSSanté address is only ever set: one given by hand stays when the file has none.
            values = (*person, self.mssante.get(key) or before[-1])
            if values != before:
                self.changed_people.append((pk, *values, now))

        organizations = dict(
            Organization.objects.filter(
                finess__in={activity[0] for activity in self.activities.values()} - {""}
            ).values_list("finess", "id")
        )
        communes = dict(
            Commune.objects.filter(
                insee_code__in={activity[6] for activity in self.activities.values()} - {""}
            ).values_list("insee_code", "id")
        )
        existing = {
            (row[1], row[2]): row
            for row in PractitionerRole.objects.exclude(source_key="").values_list(
                "id", "professional_id", "source_key", *ROLE_OWNED
            )
        }
        # (professional's key, its id if it exists, values in the order of ROLE_OWNED)
        self.new_roles: list[tuple[Key, int | None, tuple]] = []
        self.changed_roles: list[tuple] = []
        seen: set[tuple[int, str]] = set()
        for (key, source_key), activity in self.activities.items():
            finess, function, mode, site_name, address, postcode, insee, phone, email = activity
            values = (
                organizations.get(finess),
                function,
                mode,
                site_name,
                address,
                postcode,
                communes.get(insee),
                phone,
                email,
                None,
            )
            pk = ids.get(key)
            row = None
            if pk is not None:
                if (pk, source_key) in seen:
                    continue
                seen.add((pk, source_key))
                row = existing.get((pk, source_key))
            if row is None:
                self.new_roles.append((key, pk, (source_key, *values)))
            elif tuple(row[3:]) != values:
                self.changed_roles.append((row[0], *values))
        seen |= {(ids[key], source_key) for key, source_key in self.kept if key in ids}
        open_roles = [row for row in existing.values() if row[-1] is None]
        self.ending = [(row[0], today) for row in open_roles if (row[1], row[2]) not in seen]

        self.open_entries = len(open_roles)
        self.created = len(self.new_people) + len(self.new_roles)
        self.updated = len(self.changed_people) + len(self.changed_roles)
        self.ended = len(self.ending)
        self.details += [
            _("Professionnels : créés %(created)d, mis à jour %(updated)d.")
            % {"created": len(self.new_people), "updated": len(self.changed_people)},
            _("Exercices : créés %(created)d, mis à jour %(updated)d, terminés %(ended)d.")
            % {
                "created": len(self.new_roles),
                "updated": len(self.changed_roles),
                "ended": self.ended,
            },
        ]

    def write(self) -> None:
        new_ids = dict(
            zip(
                self.new_people,
                insert_rows(
                    Professional, ("rpps", "adeli", *PERSON_OWNED), [*self.new_people.values()]
                ),
                strict=True,
            )
        )
        update_rows(Professional, (*PERSON_OWNED, "updated_at"), self.changed_people)
        insert_rows(
            PractitionerRole,
            ("professional", "source_key", *ROLE_OWNED),
            [(pk or new_ids[key], *values) for key, pk, values in self.new_roles],
        )
        update_rows(PractitionerRole, ROLE_OWNED, self.changed_roles)
        update_rows(PractitionerRole, ("end",), self.ending)
