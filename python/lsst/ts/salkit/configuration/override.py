"""The ``configurationOverride`` argument of the ``start`` command."""

from dataclasses import dataclass

from .errors import ConfigurationError

__all__ = ["ConfigOverride"]


@dataclass(frozen=True)
class ConfigOverride:
    """A parsed ``[file.yaml][:gitref]`` configuration override.

    Attributes
    ----------
    filename : `str`
        Override file in the configuration directory; "" for none.
    gitref : `str`
        Git reference at which to read every file; "" for the working tree.
    """

    filename: str = ""
    gitref: str = ""

    @classmethod
    def parse(cls, text: str) -> "ConfigOverride":
        """Parse ``configurationOverride`` text.

        Raises
        ------
        ConfigurationError
            If the file name starts with ``_`` (reserved for ``_init.yaml`` and
            site files), contains a path separator, or the text has several ``:``.
        """
        text = text.strip()
        filename, sep, gitref = text.partition(":")
        if ":" in gitref:
            raise ConfigurationError(f"configuration override {text!r} has more than one ':'")
        if sep and not gitref:
            raise ConfigurationError(f"configuration override {text!r} has an empty git reference")
        if filename.startswith("_"):
            raise ConfigurationError(
                f"configuration override {filename!r} must not start with '_': "
                "those files are applied automatically"
            )
        if "/" in filename or "\\" in filename or filename in (".", ".."):
            raise ConfigurationError(
                f"configuration override {filename!r} must be a plain file name in the configuration directory"
            )
        return cls(filename=filename, gitref=gitref)

    def __str__(self) -> str:
        return f"{self.filename}:{self.gitref}" if self.gitref else self.filename
