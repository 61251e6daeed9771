"""Validators of the French identifiers the platform stores (messages in French).

NIR via python-stdnum (key = 97 - n mod 97, Corsica 2A -> 19, 2B -> 18); RPPS and ADELI
carry a Luhn key; FINESS a Luhn key over its digits with Corsica's 2A/2B read as 20;
SIRET via python-stdnum (Luhn, with La Poste's exception).
"""

import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from stdnum import luhn
from stdnum.fr import nir as stdnum_nir
from stdnum.fr import siret as stdnum_siret

_DIGITS = re.compile(r"^\d+$")
_POSTCODE = re.compile(r"^(?:0[1-9]|[1-8]\d|9[0-8])\d{3}$")
_INSEE_COMMUNE = re.compile(r"^(?:\d{2}|2[AB])\d{3}$")


def _luhn_ok(digits: str) -> bool:
    return luhn.is_valid(digits)


def validate_nir(value: str) -> None:
    """A 15-character NIR (13 + 2-digit key), Corsica's 2A/2B accepted."""
    if not stdnum_nir.is_valid(value):
        raise ValidationError(
            _("NIR invalide : 13 caractères suivis d'une clé de contrôle de 2 chiffres attendus."),
            code="invalid_nir",
        )


def nir_key(first_13: str) -> str:
    """The 2-digit control key of a 13-character NIR."""
    return stdnum_nir.calc_check_digits(first_13)


def validate_rpps(value: str) -> None:
    """An 11-digit RPPS number with a valid Luhn key."""
    if len(value) != 11 or not _DIGITS.match(value) or not _luhn_ok(value):
        raise ValidationError(
            _("Numéro RPPS invalide : 11 chiffres avec une clé de Luhn attendus."),
            code="invalid_rpps",
        )


def validate_adeli(value: str) -> None:
    """A 9-digit ADELI number with a valid Luhn key."""
    if len(value) != 9 or not _DIGITS.match(value) or not _luhn_ok(value):
        raise ValidationError(
            _("Numéro ADELI invalide : 9 chiffres avec une clé de Luhn attendus."),
            code="invalid_adeli",
        )


def validate_finess(value: str) -> None:
    """A 9-character FINESS number (2A/2B allowed for Corsica) with a valid Luhn key."""
    digits = value
    if len(value) == 9 and value[:2] in {"2A", "2B"}:
        digits = "20" + value[2:]
    if len(digits) != 9 or not _DIGITS.match(digits) or not _luhn_ok(digits):
        raise ValidationError(
            _("Numéro FINESS invalide : 9 caractères avec une clé de contrôle attendus."),
            code="invalid_finess",
        )


def validate_siret(value: str) -> None:
    """A 14-digit SIRET number."""
    if not stdnum_siret.is_valid(value) or not _DIGITS.match(value):
        raise ValidationError(
            _("Numéro SIRET invalide : 14 chiffres avec une clé de contrôle attendus."),
            code="invalid_siret",
        )


def validate_postcode(value: str) -> None:
    """A French postcode: 5 digits, département 01 to 98."""
    if not _POSTCODE.match(value):
        raise ValidationError(
            _("Code postal invalide : 5 chiffres attendus (par exemple 69003)."),
            code="invalid_postcode",
        )


def validate_insee_commune(value: str) -> None:
    """A commune's INSEE code: 5 characters, Corsica 2A/2B allowed."""
    if not _INSEE_COMMUNE.match(value):
        raise ValidationError(
            _("Code commune INSEE invalide : 5 caractères attendus (par exemple 69123 ou 2A004)."),
            code="invalid_insee",
        )


def with_luhn_key(body: str) -> str:
    """Append the Luhn check digit to a string of digits (used to build test and demo data)."""
    return body + luhn.calc_check_digit(body)
