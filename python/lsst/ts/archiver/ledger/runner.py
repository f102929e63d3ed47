"""`LedgerRunner`: the one way asyncio code reaches the (blocking) ledger."""

from __future__ import annotations

__all__ = ["LedgerRunner"]

import asyncio
import concurrent.futures
import functools
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from .ledger import Ledger

P = ParamSpec("P")
T = TypeVar("T")


class LedgerRunner:
    """Run ledger calls from asyncio in a small, bounded thread pool.

    The CSC, the image pipeline and delivery share one runner, so the ledger
    sees a bounded number of concurrent connections and a slow database
    never takes threads from the transfers or the event loop's default
    executor.

    Parameters
    ----------
    ledger : `Ledger`
        The blocking ledger.
    max_workers : `int`, optional
        Most ledger calls running at once.

    Examples
    --------
    >>> runner = LedgerRunner(ledger)  # doctest: +SKIP
    >>> progress = await runner.run(runner.ledger.progress, obsid)  # doctest: +SKIP
    """

    def __init__(self, ledger: Ledger, *, max_workers: int = 4) -> None:
        self.ledger = ledger
        self._pool = concurrent.futures.ThreadPoolExecutor(
            max_workers=max_workers, thread_name_prefix="ledger"
        )
        self._closed = False

    async def run(self, function: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Run ``function(*args, **kwargs)`` (a ledger call) in the pool.

        Raises
        ------
        RuntimeError
            If the runner is closed.
        """
        if self._closed:
            raise RuntimeError("The ledger runner is closed")
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, functools.partial(function, *args, **kwargs))

    @property
    def closed(self) -> bool:
        """Has `close` been called?"""
        return self._closed

    def close(self) -> None:
        """Stop taking calls and release the threads (the ledger stays open)."""
        self._closed = True
        self._pool.shutdown(wait=False, cancel_futures=True)
