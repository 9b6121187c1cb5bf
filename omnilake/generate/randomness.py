"""Deterministic randomness, keyed by what is being generated rather than by call order.

Every stream is seeded from ``(seed, kind, key...)``, so a person, a product or one day's deliveries
come out the same whichever days are generated, in whatever order, and whether defects are on or off.
String seeds go through SHA-512 inside ``random.Random`` and do not depend on ``PYTHONHASHSEED``.
"""

from __future__ import annotations

import bisect
import hashlib
import itertools
import random
from collections.abc import Iterator, Sequence
from typing import Generic, TypeVar

T = TypeVar("T")


def stream(seed: int, *key: object) -> random.Random:
    """A random stream owned by one thing (a person, a day's POS file, ...)."""
    return random.Random("|".join([str(seed), *map(str, key)]))


def unit_hash(seed: int, *key: object) -> float:
    """A uniform number in [0, 1) from a key, cheaper than a stream when one draw is enough."""
    digest = hashlib.blake2b("|".join([str(seed), *map(str, key)]).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def int_hash(seed: int, *key: object) -> int:
    """A 64-bit integer from a key."""
    digest = hashlib.blake2b("|".join([str(seed), *map(str, key)]).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


class Permutation:
    """A bijection of ``range(modulus)``: turns a dense index into an identifier that does not
    reveal it, while staying unique (an affine map with a multiplier coprime to the modulus)."""

    def __init__(self, seed: int, salt: str, modulus: int) -> None:
        rng = stream(seed, "permutation", salt)
        self.modulus = modulus
        multiplier = rng.randrange(modulus // 3, modulus - 1) | 1
        while _gcd(multiplier, modulus) != 1:
            multiplier += 2
        self.multiplier = multiplier
        self.offset = rng.randrange(modulus)

    def __call__(self, index: int) -> int:
        return (index * self.multiplier + self.offset) % self.modulus


def _gcd(a: int, b: int) -> int:
    while b:
        a, b = b, a % b
    return a


class WeightedChoice(Generic[T]):
    """Choose from a fixed list with weights, O(log n) per draw."""

    def __init__(self, pairs: Sequence[tuple[T, float]]) -> None:
        self.values = [value for value, _ in pairs]
        self.cumulative = list(itertools.accumulate(weight for _, weight in pairs))

    def __call__(self, rng: random.Random) -> T:
        return self.values[bisect.bisect_right(self.cumulative, rng.random() * self.cumulative[-1])]


def skewed_index(rng: random.Random, size: int, skew: float = 1.8) -> int:
    """An index in ``range(size)`` where low indices are much more likely: a few heavy customers or
    best-selling products, a long tail of occasional ones."""
    return min(size - 1, int(size * rng.random() ** skew))


def uuid4(rng: random.Random) -> str:
    """A version-4 UUID string from the stream (formatted by hand: ``uuid.UUID`` is slow)."""
    value = rng.getrandbits(128)
    text = f"{value:032x}"
    return f"{text[:8]}-{text[8:12]}-4{text[13:16]}-{'89ab'[value & 3]}{text[17:20]}-{text[20:]}"


def luhn_complete(digits: str) -> str:
    """Append the Luhn check digit (payment and loyalty cards carry one)."""
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2 == 0:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return digits + str((10 - total % 10) % 10)


def ean13_complete(digits12: str) -> str:
    """Append the EAN-13 check digit to 12 digits."""
    total = sum(int(c) * (3 if i % 2 else 1) for i, c in enumerate(digits12))
    return digits12 + str((10 - total % 10) % 10)


def sorted_uniforms(rng: random.Random, n: int) -> Iterator[float]:
    """``n`` uniform numbers in ascending order, one at a time: a day's arrivals are produced in time
    order without holding them (each next order statistic is uniform on what is left)."""
    current = 0.0
    for remaining in range(n, 0, -1):
        current += (1.0 - current) * (1.0 - rng.random() ** (1.0 / remaining))
        yield current
