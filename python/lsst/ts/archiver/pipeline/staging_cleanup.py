"""Removal of staging files of images that are archived (the copies are elsewhere)."""

from __future__ import annotations

__all__ = ["clean_staging"]

import logging
import os
import shutil
import time
from pathlib import Path

from ..camera import ImageName
from ..ledger import Ledger, UnknownImageError

_log = logging.getLogger(__name__)


def clean_staging(
    staging: str | os.PathLike[str], ledger: Ledger, retention: float, *, now: float | None = None
) -> list[str]:
    """Delete ``<staging>/<day_obs>/<obsid>`` of images archived more than ``retention`` s ago.

    Only images the ledger shows as archived are touched; anything else
    (unknown, pending, unparseable names) is left alone. Blocking.

    Returns
    -------
    removed : `list` [`str`]
        Names of the images whose staging directory was removed.
    """
    now = time.time() if now is None else now
    removed: list[str] = []
    root = Path(staging)
    if not root.is_dir():
        return removed
    for day_dir in sorted(p for p in root.iterdir() if p.is_dir() and p.name.isdigit()):
        for image_dir in sorted(p for p in day_dir.iterdir() if p.is_dir()):
            if not ImageName.is_valid(image_dir.name):
                continue
            try:
                record = ledger.image(image_dir.name)
            except UnknownImageError:
                continue
            if record.archived_at is None or now - record.archived_at < retention:
                continue
            try:
                shutil.rmtree(image_dir)
            except OSError as e:
                _log.warning("Could not remove %s: %s", image_dir, e)
                continue
            removed.append(image_dir.name)
        try:
            day_dir.rmdir()
        except OSError:
            pass  # not empty
    return removed
