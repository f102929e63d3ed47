"""`AsyncLedger`: the ledger's calls from asyncio, each run in a worker thread."""

from __future__ import annotations

__all__ = ["AsyncLedger"]

import asyncio
import functools
from collections.abc import Awaitable, Callable
from typing import Any

from .ledger import Ledger


class AsyncLedger:
    """Awaitable access to a `Ledger` without blocking the event loop.

    Every public method of `Ledger` is available as a coroutine of the same
    name and signature, e.g. ``await AsyncLedger(ledger).progress(name)``.

    Parameters
    ----------
    ledger : `Ledger`
        The blocking ledger.
    """

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger

    def __getattr__(self, name: str) -> Callable[..., Awaitable[Any]]:
        method = getattr(self.ledger, name)
        if name.startswith("_") or not callable(method):
            raise AttributeError(name)

        @functools.wraps(method)
        async def call(*args: Any, **kwargs: Any) -> Any:
            return await asyncio.to_thread(method, *args, **kwargs)

        return call
