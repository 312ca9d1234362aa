"""Source record identifiers that look random but are unique and reproducible.

Each ministry numbers its records its own way. A counter ``n`` (0, 1, 2, ... in generation
order) is scrambled by an affine map modulo the id space, which is a bijection because the
multiplier is coprime with the space: no collisions, no lookup tables, same seed same ids.
"""

from __future__ import annotations

import math

_MULTIPLIER = 1_234_567_891  # odd, not divisible by 3 or 5: coprime with 9 * 10**k


class IdSequence:
    def __init__(self, prefix: str, digits: int, seed: int, salt: int) -> None:
        self.prefix = prefix
        self.low = 10 ** (digits - 1)
        self.span = 9 * self.low  # every number with exactly `digits` digits
        if math.gcd(_MULTIPLIER, self.span) != 1:  # pragma: no cover - guarded by the choice
            raise ValueError("multiplier must be coprime with the id space")
        self.offset = (seed * 1_000_003 + salt * 7_919) % self.span
        self.count = 0

    def next(self) -> str:
        n = self.count
        self.count += 1
        if n >= self.span:
            raise OverflowError(f"{self.prefix}: more than {self.span} ids requested")
        return f"{self.prefix}{self.low + (n * _MULTIPLIER + self.offset) % self.span}"
