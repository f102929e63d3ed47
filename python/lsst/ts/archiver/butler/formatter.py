"""Butler formatter that reads raw FITS files into astropy objects.

Every reader of a repository holding our raws imports this class by name
(``lsst.ts.archiver.butler.formatter.RawFitsFormatter``, recorded per file in
the datastore), so it ships with the package and imports nothing heavy.

What it returns:

* ``butler.get("raw", ...)``: the whole file as an `astropy.io.fits.HDUList`
  with every HDU's data loaded (the file is closed afterwards).
* ``parameters={"hdu": n}`` (index or EXTNAME): an ``HDUList`` of the
  primary HDU and HDU ``n`` only.
* ``butler.get("raw.header", ...)``: the primary header as an
  `astropy.io.fits.Header`, without reading pixels; with
  ``parameters={"hdu": n}`` the header of HDU ``n``.
"""

from __future__ import annotations

__all__ = ["RawFitsFormatter"]

from typing import Any, ClassVar

from astropy.io import fits
from lsst.daf.butler import FormatterV2


class RawFitsFormatter(FormatterV2):
    """Read (and write) raw FITS files as astropy ``HDUList`` objects."""

    default_extension: ClassVar[str] = ".fits"
    supported_extensions: ClassVar[frozenset[str]] = frozenset(
        {".fits", ".fit", ".fits.fz", ".fz", ".fits.gz"}
    )
    can_read_from_local_file: ClassVar[bool] = True

    def read_from_local_file(self, path: str, component: str | None = None, expected_size: int = -1) -> Any:
        """Read the file, one HDU of it, or a header.

        Parameters
        ----------
        path : `str`
            Local path of the file.
        component : `str` or `None`, optional
            `None` for the HDUList, ``"header"`` for a header.
        expected_size : `int`, optional
            Unused.

        Returns
        -------
        data : `astropy.io.fits.HDUList` or `astropy.io.fits.Header`
            What was asked for.

        Raises
        ------
        ValueError
            Raised for an unknown component or an ``hdu`` parameter the file
            does not have.
        """
        parameters = dict(self.file_descriptor.parameters or {})
        hdu = parameters.pop("hdu", None)
        if parameters:
            raise ValueError(f"Unsupported parameters {sorted(parameters)} for raw file {path}; use 'hdu'")
        if component == "header":
            return _read_header(path, 0 if hdu is None else hdu)
        if component is not None:
            raise ValueError(f"Raw files have no component {component!r}; use 'header'")
        return _read_hdus(path, hdu)

    def write_local_file(self, in_memory_dataset: Any, uri: Any) -> None:
        """Write an ``HDUList`` (used by ``butler.put``).

        Parameters
        ----------
        in_memory_dataset : `astropy.io.fits.HDUList`
            What to write.
        uri : `lsst.resources.ResourcePath`
            Local destination.
        """
        in_memory_dataset.writeto(uri.ospath, output_verify="silentfix", checksum=True)


def _read_header(path: str, hdu: int | str) -> fits.Header:
    with fits.open(path, memmap=False, lazy_load_hdus=True) as hdul:
        try:
            return hdul[hdu].header.copy()
        except (IndexError, KeyError) as e:
            raise ValueError(f"Raw file {path} has no HDU {hdu!r} ({len(hdul)} HDUs)") from e


def _read_hdus(path: str, hdu: int | str | None) -> fits.HDUList:
    with fits.open(path, memmap=False, lazy_load_hdus=hdu is not None) as hdul:
        if hdu is None:
            selected = list(hdul)
        else:
            try:
                selected = [hdul[0], hdul[hdu]]
            except (IndexError, KeyError) as e:
                raise ValueError(f"Raw file {path} has no HDU {hdu!r}") from e
        copies = []
        for item in selected:
            item.data  # noqa: B018 -- force the pixels into memory before the file closes
            copies.append(item.copy())
    return fits.HDUList(copies)
