"""Exceptions of the ledger."""

from __future__ import annotations

__all__ = ["LedgerError", "LedgerSchemaError", "UnknownImageError"]


class LedgerError(RuntimeError):
    """Base class of ledger errors (also raised when the database is unreachable)."""


class LedgerSchemaError(LedgerError):
    """The ledger database has a schema version this code cannot use."""


class UnknownImageError(LedgerError, KeyError):
    """An image name is not in the ledger."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "unknown image"
