"""Exceptions of the delivery layer."""

from __future__ import annotations

__all__ = [
    "DeliveryError",
    "DestinationConfigError",
    "DestinationUnreachableError",
    "NotificationSinkError",
    "PermanentDeliveryError",
    "UnsafeNameError",
    "VerificationError",
]


class DeliveryError(RuntimeError):
    """Base class of delivery errors."""


class DestinationConfigError(DeliveryError, ValueError):
    """A destination's configuration is invalid; the message names the field and value."""


class UnsafeNameError(DeliveryError, ValueError):
    """A name or object key is unsafe (path traversal, separators, bad characters)."""


class NotificationSinkError(DeliveryError):
    """A notification could not be delivered to its sink (retryable: the
    delivery attempt fails and is retried with the destination's backoff)."""


class VerificationError(DeliveryError):
    """The file at the destination does not match the source (size or checksum)."""


class PermanentDeliveryError(DeliveryError):
    """A failure that retrying cannot fix (e.g. the source file is gone)."""


class DestinationUnreachableError(DeliveryError):
    """The destination cannot be reached now (e.g. its directory is not mounted); retryable."""
