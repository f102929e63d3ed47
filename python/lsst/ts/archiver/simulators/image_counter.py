"""Allocation of image sequence numbers that survives restarts.

Since 2023 the ``O`` and ``C`` controllers (and since 2025 ``P``, ``S``,
``Q``) share one counter per camera and observing day, so the counter is
keyed by (camera code, day_obs). The next number is one more than the
largest of the value kept in a small JSON state file and the largest
sequence number of that day already in the DAQ catalog, so neither a lost
state file nor a fresh DAQ store makes a name repeat.
"""

from __future__ import annotations

__all__ = ["ImageCounter"]

import json
import os
import threading
from collections.abc import Iterable
from pathlib import Path

from ..camera import ImageName


class ImageCounter:
    """Per-day image sequence numbers, persisted in a JSON file.

    Parameters
    ----------
    path : `str` or `os.PathLike`
        The state file (created on first use; its directory too).
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()

    def _load(self) -> dict[str, int]:
        try:
            text = self.path.read_text()
        except FileNotFoundError:
            return {}
        try:
            data = json.loads(text)
        except json.JSONDecodeError as e:
            raise ValueError(
                f"image counter state file {self.path} is not valid JSON ({e}); fix or delete it "
                "(numbers then continue from the DAQ catalog)"
            ) from None
        if not isinstance(data, dict) or not all(isinstance(v, int) for v in data.values()):
            raise ValueError(
                f"image counter state file {self.path} must map 'CODE_YYYYMMDD' to integers; fix or delete it"
            )
        return data

    def _save(self, data: dict[str, int]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temp = self.path.with_name(self.path.name + ".tmp")
        temp.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
        os.replace(temp, self.path)

    def last(self, camera_code: str, day_obs: int) -> int:
        """The last number handed out for that camera and day (0 if none)."""
        with self._lock:
            return self._load().get(f"{camera_code}_{day_obs}", 0)

    def allocate(
        self, camera_code: str, controller: str, day_obs: int, existing: Iterable[str] = ()
    ) -> ImageName:
        """Hand out the next image name and record it.

        Parameters
        ----------
        camera_code : `str`
            ``AT``, ``CC`` or ``MC``.
        controller : `str`
            Controller code (``O``, ``C`` ...).
        day_obs : `int`
            Observing day ``YYYYMMDD``.
        existing : iterable of `str`
            Names already used (e.g. the DAQ catalog's); names of other
            cameras or days, or not image names at all, are ignored.

        Returns
        -------
        name : `ImageName`
            The new name.
        """
        key = f"{camera_code}_{day_obs}"
        with self._lock:
            data = self._load()
            last = data.get(key, 0)
            for name in existing:
                if not ImageName.is_valid(name):
                    continue
                parsed = ImageName.parse(name)
                if parsed.camera_code == camera_code and parsed.day_obs == day_obs:
                    last = max(last, parsed.seq_num)
            image_name = ImageName(camera_code, controller, day_obs, last + 1)
            data[key] = last + 1
            self._save(data)
            return image_name
