"""Annuaire Santé extractions (PS_LibreAcces_Personne_activite) of any size, in the real
layout: for timing `import_rpps` on a territory-sized file (`manage.py bench
--import-rpps 100000`), and for the tests that check an import's cost does not grow with
the file."""

from pathlib import Path

from tsn.identifiers import with_luhn_key

# The public extraction's columns, in its order (the lines end with a "|" too).
HEADER = [
    "Type d'identifiant PP",
    "Identifiant PP",
    "Identification nationale PP",
    "Code civilité d'exercice",
    "Libellé civilité d'exercice",
    "Code civilité",
    "Libellé civilité",
    "Nom d'exercice",
    "Prénom d'exercice",
    "Code profession",
    "Libellé profession",
    "Code catégorie professionnelle",
    "Libellé catégorie professionnelle",
    "Code type savoir-faire",
    "Libellé type savoir-faire",
    "Code savoir-faire",
    "Libellé savoir-faire",
    "Code mode exercice",
    "Libellé mode exercice",
    "Numéro SIRET site",
    "Numéro SIREN site",
    "Numéro FINESS site",
    "Numéro FINESS établissement juridique",
    "Identifiant technique de la structure",
    "Raison sociale site",
    "Enseigne commerciale site",
    "Complément destinataire (coord. structure)",
    "Complément point géographique (coord. structure)",
    "Numéro Voie (coord. structure)",
    "Indice répétition voie (coord. structure)",
    "Code type de voie (coord. structure)",
    "Libellé type de voie (coord. structure)",
    "Libellé Voie (coord. structure)",
    "Mention distribution (coord. structure)",
    "Bureau cedex (coord. structure)",
    "Code postal (coord. structure)",
    "Code commune (coord. structure)",
    "Libellé commune (coord. structure)",
    "Code pays (coord. structure)",
    "Libellé pays (coord. structure)",
    "Téléphone (coord. structure)",
    "Téléphone 2 (coord. structure)",
    "Télécopie (coord. structure)",
    "Adresse e-mail (coord. structure)",
    "Code Département (structure)",
    "Libellé Département (structure)",
    "Ancien identifiant de la structure",
    "Autorité d'enregistrement",
    "Code secteur d'activité",
    "Libellé secteur d'activité",
    "Code section tableau pharmaciens",
    "Libellé section tableau pharmaciens",
    "Code rôle",
    "Libellé rôle",
    "Code genre activité",
    "Libellé genre activité",
]

_PROFESSIONS = [
    ("10", "Médecin", "SM54", "Médecine Générale"),
    ("60", "Infirmier", "", ""),
    ("60", "Infirmier", "", ""),
    ("21", "Pharmacien", "", ""),
    ("70", "Masseur-Kinésithérapeute", "", ""),
    ("10", "Médecin", "SM04", "Cardiologie et maladies vasculaires"),
    ("91", "Orthophoniste", "", ""),
    ("40", "Chirurgien-Dentiste", "", ""),
]
# (postcode, INSEE code, name) of the communes the activities are spread over.
Place = tuple[str, str, str]
RHONE: list[Place] = [
    ("69003", "69123", "LYON"),
    ("69100", "69266", "VILLEURBANNE"),
    ("69200", "69259", "VENISSIEUX"),
    ("69300", "69034", "CALUIRE ET CUIRE"),
    ("69500", "69029", "BRON"),
    ("69400", "69264", "VILLEFRANCHE SUR SAONE"),
]
_LAST_NAMES = ["MARTIN", "BERNARD", "DUBOIS", "THOMAS", "ROBERT", "RICHARD", "PETIT", "DURAND"]
_FIRST_NAMES = ["Camille", "Léa", "Hugo", "Chloé", "Louis", "Inès", "Jules", "Zoé", "Noël"]


def line(fields: dict[str, str]) -> str:
    """A line of the extraction with these columns filled, the others empty."""
    unknown = set(fields) - set(HEADER)
    if unknown:
        raise ValueError(f"Not columns of the extraction: {sorted(unknown)}")
    return "|".join(fields.get(name, "") for name in HEADER) + "|"


def activity(index: int, *, first_number: int = 0, places: list[Place] = RHONE) -> dict[str, str]:
    """The columns of the index-th activity line: every fourth line is a second activity
    of the professional of the line before."""
    person = first_number + index - index // 4
    rpps = with_luhn_key(f"19{person:08d}")
    code, label, skill_code, skill = _PROFESSIONS[person % len(_PROFESSIONS)]
    postcode, commune, commune_name = places[index % len(places)]
    return {
        "Type d'identifiant PP": "8",
        "Identifiant PP": rpps,
        "Identification nationale PP": f"8{rpps}",
        "Nom d'exercice": f"{_LAST_NAMES[person % 8]}-{person}",
        "Prénom d'exercice": _FIRST_NAMES[person % 9],
        "Code profession": code,
        "Libellé profession": label,
        "Code catégorie professionnelle": "C",
        "Libellé catégorie professionnelle": "Civil",
        "Code savoir-faire": skill_code,
        "Libellé savoir-faire": skill,
        "Code mode exercice": "L",
        "Libellé mode exercice": "Libéral",
        "Identifiant technique de la structure": f"R1{first_number + index:013d}",
        "Raison sociale site": f"CABINET {_LAST_NAMES[person % 8]}",
        "Numéro Voie (coord. structure)": str(1 + index % 120),
        "Code type de voie (coord. structure)": "R",
        "Libellé type de voie (coord. structure)": "Rue",
        "Libellé Voie (coord. structure)": "DE LA REPUBLIQUE",
        "Bureau cedex (coord. structure)": f"{postcode} {commune_name}",
        "Code postal (coord. structure)": postcode,
        "Code commune (coord. structure)": commune,
        "Libellé commune (coord. structure)": commune_name,
        "Téléphone (coord. structure)": f"04{index % 100_000_000:08d}",
        "Code Département (structure)": commune[:2],
        "Code genre activité": "GENR01",
        "Libellé genre activité": "Activité standard de soin ou de pharmacien",
    }


def write_rpps_file(
    path: str | Path, rows: int, *, first_number: int = 0, places: list[Place] = RHONE
) -> Path:
    """An extraction of `rows` activity lines in these communes (by default, the Rhône's
    of the sample files)."""
    path = Path(path)
    with path.open("w", encoding="utf-8") as out:
        out.write("|".join(HEADER) + "|\n")
        for index in range(rows):
            out.write(line(activity(index, first_number=first_number, places=places)) + "\n")
    return path
