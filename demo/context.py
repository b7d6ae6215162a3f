"""What every seeder of the demo shares: the run's seed, clock, sizes and output, and weighted
choices."""

from __future__ import annotations

import random
import zlib
from bisect import bisect_right
from dataclasses import dataclass
from datetime import datetime
from itertools import accumulate
from typing import Generic, TypeVar

from django.core.management.base import OutputWrapper
from django.core.management.color import Style

T = TypeVar("T")

DEMO_PASSWORD = "demo"  # noqa: S105 -- public by design; such accounts are refused in production


@dataclass(frozen=True)
class SeedContext:
    seed: int
    now: datetime
    size: int  # the number of demo orders; other apps scale their rows from it
    stdout: OutputWrapper
    style: Style
    verbosity: int = 1
    tickets: int = 0  # the number of demo tickets

    def rng(self, stream: str, index: int = 0) -> random.Random:
        """The random generator of one row of one stream, the same on every run: a row does not
        depend on which rows exist (500 orders and then 1,000 give the 1,000 of one run)."""
        stream_key = zlib.crc32(stream.encode())  # stable across processes, unlike hash()
        return random.Random((self.seed << 64) | (stream_key << 32) | index)

    def progress(self, message: str) -> None:
        if self.verbosity >= 2:
            self.stdout.write(message)


class Weighted(Generic[T]):
    """Options with weights, picked with a single random number."""

    def __init__(self, *pairs: tuple[T, float]):
        self.options = tuple(option for option, _ in pairs)
        self.bounds = tuple(accumulate(weight for _, weight in pairs))

    def pick(self, rng: random.Random) -> T:
        return self.options[bisect_right(self.bounds, rng.random() * self.bounds[-1])]
