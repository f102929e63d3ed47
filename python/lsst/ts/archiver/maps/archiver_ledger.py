"""`write_archiver_map`: the focal-plane map of an image in an Archiver's ledger, found from its configuration.

What ``archiver_commander``'s ``map`` command runs: it reads the Archiver's
configuration as the CSC does (`~lsst.ts.archiver.catch_up.load_archiver_config`:
``$TS_ARCHIVER_DIR`` or this checkout's ``config/``, site ``$LSST_SITE``)
to find its ledger, opens the ledger read-only (it is never created) and
writes the map. Blocking; run it in a thread from asyncio.
"""

from __future__ import annotations

__all__ = ["MapRefusedError", "write_archiver_map"]

import os
import pathlib

from ..camera import get_camera
from ..ledger import Ledger, LedgerError, LedgerSchemaError, UnknownImageError
from .focal_plane import write_image_map


class MapRefusedError(RuntimeError):
    """No map: the configuration, the ledger or the image is not there (the message says which)."""


def write_archiver_map(
    component: str,
    obsid: str,
    path: str | os.PathLike[str] | None = None,
    *,
    ledger_url: str | None = None,
) -> pathlib.Path:
    """Write the focal-plane map of an image in an Archiver's ledger.

    Parameters
    ----------
    component : `str`
        ``ATArchiver``, ``CCArchiver`` or ``MTArchiver``.
    obsid : `str`
        The image.
    path : path-like, optional
        The PNG to write; default ``<obsid>.png`` in the current directory.
    ledger_url : `str`, optional
        The ledger; default the one of the Archiver's configuration.

    Returns
    -------
    path : `pathlib.Path`
        The file written.

    Raises
    ------
    MapRefusedError
        If the configuration cannot be read, the ledger cannot be opened, or
        the image is not in it.
    """
    camera = get_camera(component)
    if ledger_url is None:
        from ..catch_up.process import load_archiver_config  # the configuration reader pulls in the pipeline
        from ..config import ArchiverConfigError

        try:
            _, config = load_archiver_config(component)
        except ArchiverConfigError as e:
            raise MapRefusedError(f"{e}; or give the ledger URL") from e
        ledger_url = config.ledger_url
    target = pathlib.Path(path) if path else pathlib.Path(f"{obsid}.png")
    try:
        ledger = Ledger(ledger_url, create=False)
    except (LedgerError, LedgerSchemaError) as e:
        raise MapRefusedError(f"Cannot open the ledger {ledger_url}: {e}") from e
    try:
        return write_image_map(ledger, camera, obsid, target)
    except UnknownImageError as e:
        raise MapRefusedError(f"{obsid} is not in the ledger {ledger.database.safe_url}") from e
    finally:
        ledger.close()
