"""Choose a transport by name, by default from ``$LSST_SALKIT_TRANSPORT``."""

from __future__ import annotations

__all__ = [
    "DEFAULT_TRANSPORT",
    "TRANSPORT_ENV_VAR",
    "make_transport",
    "register_transport",
    "transport_names",
]

import importlib
import os
import typing

from .base import Transport, TransportError

#: Environment variable selecting the transport: ``memory`` or ``kafka``.
TRANSPORT_ENV_VAR = "LSST_SALKIT_TRANSPORT"

#: Transport used when the environment variable is unset.
DEFAULT_TRANSPORT = "memory"

#: Modules to import to register a transport that is not registered yet.
_LAZY_MODULES: dict[str, str] = {
    "memory": "lsst.ts.salkit.transport.memory",
    "kafka": "lsst.ts.salkit.kafka",
}

_factories: dict[str, typing.Callable[..., Transport]] = {}


def register_transport(name: str, factory: typing.Callable[..., Transport]) -> None:
    """Register a transport factory under a name.

    Parameters
    ----------
    name : `str`
        Transport name, as used in ``$LSST_SALKIT_TRANSPORT``.
    factory : callable
        Called as ``factory(topic_subname=None)``; returns a new `Transport`.
    """
    _factories[name] = factory


def transport_names() -> list[str]:
    """Return the names of the known transports (registered or lazily importable)."""
    return sorted(set(_factories) | set(_LAZY_MODULES))


def make_transport(name: str | None = None, topic_subname: str | None = None) -> Transport:
    """Make a transport.

    Parameters
    ----------
    name : `str` or `None`
        Transport name; None: ``$LSST_SALKIT_TRANSPORT``, else ``memory``.
    topic_subname : `str` or `None`
        Topic sub-name; None: ``$LSST_TOPIC_SUBNAME``.

    Raises
    ------
    TransportError
        If the name is unknown or its module cannot be imported.
    """
    if name is None:
        name = os.environ.get(TRANSPORT_ENV_VAR, "") or DEFAULT_TRANSPORT
    if name not in _factories and name in _LAZY_MODULES:
        try:
            importlib.import_module(_LAZY_MODULES[name])
        except ImportError as e:
            raise TransportError(
                f"Transport {name!r} is unavailable: cannot import {_LAZY_MODULES[name]}: {e}"
            ) from e
    factory = _factories.get(name)
    if factory is None:
        raise TransportError(
            f"Unknown transport {name!r} (from ${TRANSPORT_ENV_VAR} or argument); known: {transport_names()}"
        )
    return factory(topic_subname=topic_subname)
