"""Deliberate Header Service faults: late and missing headers.

Used to test the Archiver's fallback (write the file from its own metadata
after a timeout, correct it when the header arrives later). Decisions are
deterministic: per image name, or random with a seed.
"""

from __future__ import annotations

__all__ = ["HeaderFault", "HeaderFaultPolicy"]

import random
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class HeaderFault:
    """What to do with one image's header.

    Parameters
    ----------
    drop : `bool`
        Never write or announce the header.
    delay : `float`
        Seconds to wait before writing and announcing it.
    """

    drop: bool = False
    delay: float = 0.0


@dataclass
class HeaderFaultPolicy:
    """Which headers to delay or drop.

    Parameters
    ----------
    drop_images : iterable of `str`
        Image names whose header is never published.
    delay_images : `~collections.abc.Mapping` [`str`, `float`]
        Image name → seconds to delay its header.
    drop_probability : `float`
        Probability (0-1) of dropping any other image's header.
    delay_probability : `float`
        Probability (0-1) of delaying any other (not dropped) header by
        ``delay``.
    delay : `float`
        Delay in seconds for headers chosen by ``delay_probability``.
    seed : `int`
        Seed of the random choices.

    Raises
    ------
    ValueError
        If a probability is outside 0-1 or a delay is negative.
    """

    drop_images: Iterable[str] = ()
    delay_images: Mapping[str, float] = field(default_factory=dict)
    drop_probability: float = 0.0
    delay_probability: float = 0.0
    delay: float = 0.0
    seed: int = 0

    def __post_init__(self) -> None:
        self.drop_images = frozenset(self.drop_images)
        self.delay_images = dict(self.delay_images)
        for name, value in (
            ("drop_probability", self.drop_probability),
            ("delay_probability", self.delay_probability),
        ):
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name}={value} must be between 0 and 1")
        negative = {k: v for k, v in self.delay_images.items() if v < 0} | (
            {"delay": self.delay} if self.delay < 0 else {}
        )
        if negative:
            raise ValueError(f"header delays must be >= 0 seconds, got {negative}")
        self._rng = random.Random(self.seed)

    def decide(self, image_name: str) -> HeaderFault:
        """The fault for one image (random choices advance the seeded generator)."""
        if image_name in self.drop_images:
            return HeaderFault(drop=True)
        if image_name in self.delay_images:
            return HeaderFault(delay=self.delay_images[image_name])
        if self.drop_probability and self._rng.random() < self.drop_probability:
            return HeaderFault(drop=True)
        if self.delay_probability and self._rng.random() < self.delay_probability:
            return HeaderFault(delay=self.delay)
        return HeaderFault()
