"""Unified social credit codes (GB 32100-2015) and resident ID numbers (GB 11643-1999).

Both the validity checks and the simulator's code generators live here so that what the simulator makes
is, by construction, what the checks accept.
"""

from __future__ import annotations

import datetime as dt
import random
from operator import mul

CREDIT_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_CREDIT_VALUE = {ch: i for i, ch in enumerate(CREDIT_ALPHABET)}
_CREDIT_WEIGHTS = [pow(3, i, 31) for i in range(17)]
_ORG_WEIGHTS = [3, 7, 9, 10, 5, 8, 4, 2]
_ID_WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
_ID_CHECK = "10X98765432"


def _org_char_value(ch: str) -> int:
    if ch.isdigit():
        return int(ch)
    if "A" <= ch <= "Z":
        return ord(ch) - ord("A") + 10
    raise ValueError(ch)


def organisation_check_char(body8: str) -> str:
    """Check character of a GB 11714 organisation code (position 17 of a credit code)."""
    total = sum(_org_char_value(c) * w for c, w in zip(body8, _ORG_WEIGHTS, strict=True))
    r = 11 - total % 11
    return "X" if r == 10 else "0" if r == 11 else str(r)


def credit_check_char(body17: str) -> str:
    if len(body17) != 17:
        raise ValueError(f"a credit code's check needs its first 17 characters, got {body17!r}")
    total = sum(map(mul, map(_CREDIT_VALUE.__getitem__, body17), _CREDIT_WEIGHTS))
    return CREDIT_ALPHABET[(31 - total % 31) % 31]


def is_valid_credit_code(code: object) -> bool:
    """True when ``code`` is an 18-character credit code whose check characters are right.

    Both checks are verified: position 18 over the whole code, and position 17 (the organisation code's own
    check) over positions 9-16, so a code with a mistyped organisation part is caught too.
    """
    if not isinstance(code, str) or len(code) != 18:
        return False
    if any(c not in _CREDIT_VALUE for c in code):
        return False
    if not code[2:8].isdigit():
        return False
    org = code[8:16]
    try:
        if organisation_check_char(org) != code[16]:
            return False
    except ValueError:
        return False
    return credit_check_char(code[:17]) == code[17]


def make_credit_code(rng: random.Random, division: str, kind: str = "1") -> str:
    """A new-style credit code: 9 (market supervision), kind, division, 'MA' organisation code."""
    org8 = "MA" + "".join(rng.choice(CREDIT_ALPHABET) for _ in range(6))
    body = f"9{kind}{division}{org8}{organisation_check_char(org8)}"
    return body + credit_check_char(body)


def id_check_char(body17: str) -> str:
    if len(body17) != 17:
        raise ValueError(f"an ID number's check needs its first 17 digits, got {body17!r}")
    return _ID_CHECK[sum(map(mul, map(int, body17), _ID_WEIGHTS)) % 11]


def _valid_birth(digits: str) -> bool:
    """``digits``: YYYYMMDD (GB 11643 positions 7-14). Sliced, not ``strptime``-parsed: the check runs on
    every delivered row, and ``strptime`` cost more than the rest of the ID check together."""
    try:
        born = dt.date(int(digits[:4]), int(digits[4:6]), int(digits[6:8]))
    except ValueError:
        return False
    return dt.date(1900, 1, 1) <= born <= dt.date.today()


def is_valid_id_number(number: object) -> bool:
    """True for a well-formed resident ID: 18 characters with a right check, or a legacy 15-digit one."""
    if not isinstance(number, str):
        return False
    if len(number) == 18:
        body, check = number[:17], number[17].upper()
        if not body.isdigit() or not _valid_birth(body[6:14]):
            return False
        return id_check_char(body) == check
    if len(number) == 15:
        return number.isdigit() and _valid_birth("19" + number[6:12])
    return False


def make_id_number(rng: random.Random, address_code: str, born: dt.date, male: bool) -> str:
    seq = rng.randrange(0, 500) * 2 + (1 if male else 0)
    body = f"{address_code}{born:%Y%m%d}{seq:03d}"
    return body + id_check_char(body)


def mask_id_number(number: str | None) -> str:
    """Keep the region and the check character, hide birth date and sequence (reports are read by people)."""
    if not number:
        return ""
    if len(number) <= 8:
        return "*" * len(number)
    return number[:4] + "*" * (len(number) - 6) + number[-2:]


def mask_phone(phone: str | None) -> str:
    if not phone:
        return ""
    if len(phone) < 7:
        return "*" * len(phone)
    return phone[:3] + "*" * (len(phone) - 7) + phone[-4:]


def regno_check_digit(body14: str) -> str:
    """ISO 7064 MOD 11,10 check digit of a 15-digit registration number (注册号)."""
    p = 10
    for ch in body14:
        s = (p + int(ch)) % 10 or 10
        p = (s * 2) % 11
    return str((11 - p) % 10)


def make_regno(division: str, serial: int) -> str:
    body = f"{division}{serial % 10**8:08d}"
    return body + regno_check_digit(body)


def make_old_credit_code(rng: random.Random, division: str, kind: str = "1") -> str:
    """A credit code converted from an old organisation code (entities registered before 2015-10)."""
    org8 = f"{rng.randrange(10**7, 10**8)}"
    body = f"9{kind}{division}{org8}{organisation_check_char(org8)}"
    return body + credit_check_char(body)
