"""Exceptions for configuration loading."""

__all__ = ["ConfigurationError"]


class ConfigurationError(ValueError):
    """A configuration file, override or value is invalid.

    The message names the file or field and what is wrong with it; a CSC turns it
    into a failed ``start`` command and stays in STANDBY.
    """
