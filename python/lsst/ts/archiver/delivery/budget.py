"""`BandwidthBudget`: at most so many bytes per second of catch-up images to a destination.

A token bucket: bytes come back at ``rate`` per second up to one second's
worth; each catch-up transfer spends its size (the budget may go below
zero after a large file). While the budget is not positive, the
destination's worker claims only live and commanded images, so a draining
catch-up backlog never holds back live images and, averaged over time,
stays within its bandwidth.
"""

from __future__ import annotations

__all__ = ["BandwidthBudget"]

import time
from collections.abc import Callable


class BandwidthBudget:
    """Bytes per second allowed, spent by transfers (see module docstring).

    Parameters
    ----------
    rate : `float`
        Bytes per second; must be positive.
    clock : callable, optional
        Monotonic clock (seconds).
    """

    def __init__(self, rate: float, clock: Callable[[], float] = time.monotonic) -> None:
        if rate <= 0:
            raise ValueError(f"A bandwidth budget needs a positive rate, not {rate}")
        self.rate = rate
        self._clock = clock
        self._tokens = rate
        self._updated = clock()

    @property
    def available(self) -> bool:
        """May a catch-up transfer start now?"""
        return self._refill() > 0

    def spend(self, size: int) -> None:
        """A catch-up transfer of ``size`` bytes was made."""
        self._tokens = self._refill() - size

    def _refill(self) -> float:
        now = self._clock()
        self._tokens = min(self.rate, self._tokens + (now - self._updated) * self.rate)
        self._updated = now
        return self._tokens
