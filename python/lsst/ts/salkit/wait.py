"""Waiting in tests: one standard timeout and one way to wait for a condition.

A test waits for the thing it expects (an event, a row, a file) with
`wait_until` and `STD_TIMEOUT`; it never sleeps and then looks. A test that
checks that something did *not* happen waits for a later positive marker
(something that must come after it) instead of sleeping.
"""

from __future__ import annotations

__all__ = ["STD_TIMEOUT", "wait_until", "wait_until_sync"]

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar, cast

T = TypeVar("T")

#: Standard timeout of one test step (s): the longest a test waits for one
#: thing it expects, such as a sample, a ledger row or one image archived end
#: to end on a loaded machine. Waits return as soon as the thing happens.
STD_TIMEOUT = 60.0

# Polling starts fast (memory-transport samples arrive within a few loop
# iterations) and backs off, so slow conditions (a database query) are not
# evaluated hundreds of times a second.
_FIRST_INTERVAL = 0.001
_MAX_INTERVAL = 0.1


def _timeout_error(what: str, timeout: float, last: object) -> TimeoutError:
    message = f"timed out after {timeout} s waiting for {what}"
    if last is not None and not isinstance(last, bool):
        message += f" (the condition was last {last!r})"
    return TimeoutError(message)


async def wait_until(
    condition: Callable[[], T | Awaitable[T]], timeout: float = STD_TIMEOUT, *, what: str
) -> T:
    """Wait until ``condition()`` returns a true value; return that value.

    Parameters
    ----------
    condition : callable
        Called with no arguments, first at once, then at short (growing)
        intervals; may be a coroutine function. It must not block the event
        loop for long (run a slow check with `asyncio.to_thread` inside an
        async condition). An exception it raises is propagated at once.
    timeout : `float`, optional
        How long to wait (s).
    what : `str`
        What is awaited, for the error message, e.g. ``"2 imageArchived
        samples"``.

    Returns
    -------
    value
        The first true value ``condition`` returned.

    Raises
    ------
    TimeoutError
        Raised if ``condition`` is still false after ``timeout`` seconds; the
        message says what was awaited and the last value.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    interval = _FIRST_INTERVAL
    while True:
        result = condition()
        if inspect.isawaitable(result):
            result = await result
        if result:
            return cast(T, result)
        remaining = deadline - loop.time()
        if remaining <= 0:
            raise _timeout_error(what, timeout, result)
        await asyncio.sleep(min(interval, remaining))
        interval = min(interval * 2, _MAX_INTERVAL)


def wait_until_sync(condition: Callable[[], T], timeout: float = STD_TIMEOUT, *, what: str) -> T:
    """Blocking `wait_until`, for tests without an event loop (for example a
    test that watches a process it started).

    Parameters
    ----------
    condition : callable
        Called with no arguments until it returns a true value; an exception
        it raises is propagated at once.
    timeout : `float`, optional
        How long to wait (s).
    what : `str`
        What is awaited, for the error message.

    Returns
    -------
    value
        The first true value ``condition`` returned.

    Raises
    ------
    TimeoutError
        Raised if ``condition`` is still false after ``timeout`` seconds.
    """
    deadline = time.monotonic() + timeout
    interval = _FIRST_INTERVAL
    while True:
        result = condition()
        if result:
            return result
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise _timeout_error(what, timeout, result)
        time.sleep(min(interval, remaining))
        interval = min(interval * 2, _MAX_INTERVAL)
