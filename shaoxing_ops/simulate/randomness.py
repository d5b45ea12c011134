"""Deterministic randomness: every stream is seeded from (seed, purpose), never from the clock."""

from __future__ import annotations

import bisect
import datetime as dt
import hashlib
import itertools
import math
import random
from collections.abc import Sequence
from typing import TypeVar

T = TypeVar("T")


def stream(seed: int, *purpose: object) -> random.Random:
    """A generator for one purpose; string seeds are hashed with SHA-512, stable across processes."""
    return random.Random(":".join(str(p) for p in (seed, *purpose)))


def make_key(seed: int, space: str, seq: int) -> str:
    """A 32-hex identifier that looks like the province's GUIDs and can be recomputed from its number."""
    return hashlib.md5(f"{seed}:{space}:{seq}".encode()).hexdigest()


def record_id(rng: random.Random) -> str:
    return f"{rng.getrandbits(128):032x}"


def poisson(rng: random.Random, lam: float) -> int:
    if lam <= 0:
        return 0
    if lam > 50:
        return max(0, round(rng.gauss(lam, math.sqrt(lam))))
    limit, k, p = math.exp(-lam), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


class Weighted:
    """Choice among items with weights, O(log n) per draw."""

    def __init__(self, items: Sequence[tuple[T, float]]) -> None:
        self.values = [v for v, _ in items]
        self.cum = list(itertools.accumulate(w for _, w in items))

    def pick(self, rng: random.Random):  # type: ignore[no-untyped-def]
        return self.values[bisect.bisect_right(self.cum, rng.random() * self.cum[-1])]


WEEKDAY_FACTOR = (1.28, 1.28, 1.28, 1.28, 1.28, 0.35, 0.25)  # Monday..Sunday, averaging 1.0


def day_factor(day: dt.date) -> float:
    return WEEKDAY_FACTOR[day.weekday()]


def office_time(rng: random.Random, day: dt.date) -> dt.datetime:
    """A moment of the working day when most changes are approved (some at night: batch corrections)."""
    seconds = int(rng.uniform(8.5, 17.5) * 3600) if rng.random() < 0.9 else rng.randrange(24 * 3600)
    return dt.datetime.combine(day, dt.time()) + dt.timedelta(seconds=seconds)


def date_between(rng: random.Random, start: dt.date, end: dt.date) -> dt.date:
    span = (end - start).days
    return start + dt.timedelta(days=rng.randint(0, max(span, 0)))
