import pytest
from django.core.exceptions import ValidationError
from hypothesis import given
from hypothesis import strategies as st

from tsn.identifiers import (
    nir_key,
    validate_adeli,
    validate_finess,
    validate_insee_commune,
    validate_nir,
    validate_postcode,
    validate_rpps,
    validate_siret,
    with_luhn_key,
)

# A NIR's first 13 characters: sex, birth year, month, département (2A/2B for Corsica),
# commune, order number.
nir_bodies = st.builds(
    lambda sex, year, month, dept, commune, order: (
        f"{sex}{year:02d}{month:02d}{dept}{commune:03d}{order:03d}"
    ),
    st.sampled_from("12"),
    st.integers(0, 99),
    st.integers(1, 12),
    st.sampled_from(["01", "13", "69", "75", "2A", "2B", "97", "99"]),
    st.integers(1, 999),
    st.integers(1, 999),
)


def _number_for_key(body: str) -> int:
    # Corsica's letters count as 19 (2A) and 18 (2B) in the key computation.
    return int(body[:5] + {"2A": "19", "2B": "18"}.get(body[5:7], body[5:7]) + body[7:])


@given(nir_bodies)
def test_nir_key_is_97_minus_remainder(body):
    assert int(nir_key(body)) == 97 - _number_for_key(body) % 97
    validate_nir(body + nir_key(body))


@given(nir_bodies, st.integers(1, 96))
def test_nir_with_a_wrong_key_is_refused(body, shift):
    wrong = (int(nir_key(body)) - 1 + shift) % 97 + 1
    with pytest.raises(ValidationError) as excinfo:
        validate_nir(f"{body}{wrong:02d}")
    assert "NIR invalide" in str(excinfo.value)


@given(nir_bodies, st.integers(0, 12), st.sampled_from("0123456789"))
def test_nir_with_one_digit_changed_is_refused(body, position, digit):
    full = body + nir_key(body)
    if full[position] in "AB" or full[position] == digit:
        return
    altered = full[:position] + digit + full[position + 1 :]
    with pytest.raises(ValidationError):
        validate_nir(altered)


@pytest.mark.parametrize(
    "value", ["", "123", "2850569123045", "28505691230451A", "X85056912304512"]
)
def test_nir_malformed(value):
    with pytest.raises(ValidationError):
        validate_nir(value)


@given(st.text(alphabet="0123456789", min_size=10, max_size=10))
def test_rpps_with_luhn_key_is_valid_and_any_other_key_is_not(body):
    good = with_luhn_key(body)
    validate_rpps(good)
    for other in "0123456789":
        if other != good[-1]:
            with pytest.raises(ValidationError):
                validate_rpps(body + other)


@pytest.mark.parametrize("value", ["1000000000", "100000000000", "1000000000A"])
def test_rpps_wrong_length_or_characters(value):
    with pytest.raises(ValidationError) as excinfo:
        validate_rpps(value)
    assert "RPPS invalide" in str(excinfo.value)


def test_adeli_is_nine_digits_with_luhn():
    validate_adeli(with_luhn_key("69100123"))
    with pytest.raises(ValidationError):
        validate_adeli(with_luhn_key("6910012"))
    with pytest.raises(ValidationError):
        validate_adeli("691001230" if with_luhn_key("69100123")[-1] != "0" else "691001231")


def test_finess_luhn_and_corsica():
    validate_finess(with_luhn_key("69078181"))
    corsica_key = with_luhn_key("20000001")[-1]
    validate_finess("2A000001" + corsica_key)
    validate_finess("2B000001" + corsica_key)
    with pytest.raises(ValidationError) as excinfo:
        validate_finess("2C000001" + corsica_key)
    assert "FINESS invalide" in str(excinfo.value)


def test_siret():
    validate_siret("73282932000074")
    with pytest.raises(ValidationError):
        validate_siret("73282932000075")


@pytest.mark.parametrize("value", ["69003", "01000", "97400", "2A004"[:0] + "20000"])
def test_valid_postcodes(value):
    validate_postcode(value)


@pytest.mark.parametrize("value", ["6900", "690033", "00100", "99000", "2A004", "ABCDE"])
def test_invalid_postcodes(value):
    with pytest.raises(ValidationError) as excinfo:
        validate_postcode(value)
    assert "Code postal invalide" in str(excinfo.value)


@pytest.mark.parametrize(
    ("value", "ok"), [("69123", True), ("2A004", True), ("2C004", False), ("6912", False)]
)
def test_insee_commune(value, ok):
    if ok:
        validate_insee_commune(value)
    else:
        with pytest.raises(ValidationError):
            validate_insee_commune(value)
