"""Exceptions of the Butler layer."""

from __future__ import annotations

__all__ = ["ButlerLayerError", "RegistryUnavailableError", "RepositoryError", "UnknownInstrumentError"]


class ButlerLayerError(RuntimeError):
    """Base class of errors raised by `lsst.ts.archiver.butler`."""


class RepositoryError(ButlerLayerError):
    """A repository cannot be created or opened (bad location, database, config)."""


class UnknownInstrumentError(ButlerLayerError, ValueError):
    """An instrument name is not one ts_archiver can register."""


class RegistryUnavailableError(ButlerLayerError):
    """The registry database is unreachable or locked; retry the call later."""
