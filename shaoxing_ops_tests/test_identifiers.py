import datetime as dt
import random

import pytest

from shaoxing_ops.domain.geography import canonical_division, district_name
from shaoxing_ops.domain.identifiers import (
    credit_check_char,
    is_valid_credit_code,
    is_valid_id_number,
    make_credit_code,
    make_id_number,
    make_old_credit_code,
    make_regno,
    mask_id_number,
    mask_phone,
    regno_check_digit,
)
from shaoxing_ops.domain.industry import CLASS_CODES, section_of_class, sector_of_section

# Codes of real, published entities (business licences are public documents).
REAL_CREDIT_CODES = ["9144030071526726XG", "91330100716105852F", "91110000802100433B"]


@pytest.mark.parametrize("code", REAL_CREDIT_CODES)
def test_real_credit_codes_pass(code: str) -> None:
    assert is_valid_credit_code(code)


@pytest.mark.parametrize(
    "code, why",
    [
        ("9144030071526726XH", "last check character wrong"),
        ("9144030071526726X", "17 characters"),
        ("9144030071526726XGA", "19 characters"),
        ("9144O30071526726XG", "letter O is not in the alphabet"),
        ("", "empty"),
        (None, "not a string"),
        ("91440300715267 6XG", "space"),
    ],
)
def test_bad_credit_codes_fail(code: object, why: str) -> None:
    assert not is_valid_credit_code(code), why


def test_wrong_organisation_check_fails_even_with_a_right_last_character() -> None:
    body = "91440300715267265"  # the organisation code 71526726 has check X, not 5
    assert not is_valid_credit_code(body + credit_check_char(body))
    assert is_valid_credit_code("9144030071526726X" + credit_check_char("9144030071526726X"))


def test_generated_credit_codes_pass_and_carry_division() -> None:
    rng = random.Random(5)
    for _ in range(2000):
        new = make_credit_code(rng, "330603", "2")
        old = make_old_credit_code(rng, "330621")
        assert is_valid_credit_code(new) and new[1] == "2" and new[2:8] == "330603" and new[8:10] == "MA"
        assert is_valid_credit_code(old) and old[2:8] == "330621"


def test_id_numbers() -> None:
    assert is_valid_id_number("11010519491231002X")  # the standard's own example
    assert is_valid_id_number("11010519491231002x")  # lower-case x is seen in the feed
    assert not is_valid_id_number("110105194912310021")
    assert not is_valid_id_number("110105194913310028")  # month 13
    assert is_valid_id_number("330602800101123")  # legacy 15-digit
    assert not is_valid_id_number("33060280010112")
    assert not is_valid_id_number("330602801301123")  # 15-digit with month 13
    rng = random.Random(1)
    for _ in range(1000):
        born = dt.date(1950, 1, 1) + dt.timedelta(days=rng.randrange(20000))
        male = rng.random() < 0.5
        number = make_id_number(rng, "330602", born, male)
        assert is_valid_id_number(number)
        assert int(number[16]) % 2 == (1 if male else 0)


def test_masks_hide_the_personal_part() -> None:
    assert mask_id_number("11010519491231002X") == "1101************2X"
    assert mask_phone("13912345678") == "139****5678"
    assert mask_id_number(None) == "" and mask_phone("") == ""


def test_regno_check_digit() -> None:
    # ISO 7064 MOD 11,10 as used on 15-digit registration numbers
    assert make_regno("330621", 12345) == "330621000123451"
    assert regno_check_digit("33062100012345") == "1"


def test_legacy_division_counts_as_keqiao() -> None:
    assert canonical_division("330621") == "330603"
    assert district_name("330621") == "柯桥区"
    assert canonical_division("33062101") == "330603"  # a LOCALADM code
    assert canonical_division("110105") is None and district_name(None) == "其他"


def test_industry_sections() -> None:
    assert (
        section_of_class("1713") == "C"
        and section_of_class("0141") == "A"
        and section_of_class("7010") == "K"
    )
    assert section_of_class("9999") is None and section_of_class("x1") is None
    assert [sector_of_section(s) for s in "ACF"] == ["primary", "secondary", "tertiary"]
    assert all(section_of_class(code) == s for s, codes in CLASS_CODES.items() for code in codes)
