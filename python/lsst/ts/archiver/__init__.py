"""The Rubin Observatory camera Archiver: DAQ capture, raw FITS, delivery, ingest."""

try:
    from .version import __version__
except ImportError:  # pragma: no cover - only when running from an uninstalled tree
    __version__ = "?"
