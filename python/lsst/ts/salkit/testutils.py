"""Helpers for unit tests of code that uses salkit."""

from __future__ import annotations

__all__ = [
    "assertRaisesAckError",
    "assertRaisesAckTimeoutError",
    "make_test_topic_subname",
    "set_test_topic_subname",
]

import base64
import collections.abc
import contextlib
import os
import secrets

from .enums import SalRetCode
from .errors import AckError, AckTimeoutError
from .transport import TOPIC_SUBNAME_ENV_VAR


def make_test_topic_subname(randomize: bool = True) -> str:
    """Return a topic sub-name for tests: ``test_<urlsafe-b64(pid)>``
    (``=`` and ``-`` removed) plus, if ``randomize``, a random suffix."""
    pid_code = base64.urlsafe_b64encode(os.getpid().to_bytes(4, "big")).decode()
    subname = "test_" + pid_code.replace("=", "").replace("-", "")
    if randomize:
        subname += "_" + secrets.token_hex(4)
    return subname


def set_test_topic_subname(randomize: bool = True) -> str:
    """Set ``$LSST_TOPIC_SUBNAME`` to `make_test_topic_subname` and return it.

    Use a new sub-name per test so that no event history leaks between tests.
    """
    subname = make_test_topic_subname(randomize)
    os.environ[TOPIC_SUBNAME_ENV_VAR] = subname
    return subname


@contextlib.asynccontextmanager
async def assertRaisesAckError(
    ack: SalRetCode | int | None = None,
    error: int | None = None,
    result_contains: str | None = None,
) -> collections.abc.AsyncIterator[None]:
    """Async context manager: assert the body raises `AckError` (not the
    timeout subclass) and optionally check its ack code, error code and
    that its result contains a string.

    Raises
    ------
    AssertionError
        If no AckError is raised or a check fails.
    """
    try:
        yield
    except AckTimeoutError as e:
        raise AssertionError(f"Expected AckError, got AckTimeoutError: {e}") from e
    except AckError as e:
        if ack is not None and e.ackcmd.ack != ack:
            raise AssertionError(f"ack={e.ackcmd.ack!r} != expected {ack!r}") from e
        if error is not None and e.ackcmd.error != error:
            raise AssertionError(f"error={e.ackcmd.error} != expected {error}") from e
        if result_contains is not None and result_contains not in e.ackcmd.result:
            raise AssertionError(f"result={e.ackcmd.result!r} does not contain {result_contains!r}") from e
    else:
        raise AssertionError("AckError not raised")


@contextlib.asynccontextmanager
async def assertRaisesAckTimeoutError(
    ack: SalRetCode | int | None = None, error: int | None = None
) -> collections.abc.AsyncIterator[None]:
    """Async context manager: assert the body raises `AckTimeoutError`,
    optionally with the given last ack code and error code."""
    try:
        yield
    except AckTimeoutError as e:
        if ack is not None and e.ackcmd.ack != ack:
            raise AssertionError(f"ack={e.ackcmd.ack!r} != expected {ack!r}") from e
        if error is not None and e.ackcmd.error != error:
            raise AssertionError(f"error={e.ackcmd.error} != expected {error}") from e
    else:
        raise AssertionError("AckTimeoutError not raised")
