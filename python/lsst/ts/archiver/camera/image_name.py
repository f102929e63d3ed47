"""Image names (obsids) ``SS_C_YYYYMMDD_NNNNNN``, exposure ids and day_obs."""

from __future__ import annotations

__all__ = [
    "CAMERA_CODES",
    "CONTROLLERS",
    "DAY_OBS_ROLLOVER_SECONDS",
    "NAME_FORM",
    "SIMULATED_CONTROLLERS",
    "ImageName",
    "day_obs_bounds",
    "day_obs_for",
]

import datetime
import re
from dataclasses import dataclass

from .errors import InvalidImageNameError

CAMERA_CODES: dict[str, str] = {
    "MC": "LSSTCam main camera",
    "CC": "ComCam",
    "AT": "AuxTel (LATISS)",
    "TS": "test stand",
}
"""Image-name camera codes (header ``CAMCODE``) and what they mean."""

CONTROLLERS: dict[str, str] = {
    "O": "OCS (normal observing)",
    "C": "CCS (camera control system: engineering, calibration)",
    "H": "PhoSim simulation",
    "P": "simulated OCS",
    "Q": "simulated CCS",
    "S": "simulated images",
    "A": "AuxCCS",
    "D": "DAQ",
}
"""Controller codes (header ``CONTRLLR``): who asked for the image."""

SIMULATED_CONTROLLERS: frozenset[str] = frozenset("HPQS")
"""Controllers whose images have simulated content (obs_lsst)."""

DAY_OBS_ROLLOVER_SECONDS = 12 * 3600
"""The observing day starts 12 h after midnight TAI (day_obs = date of t - 12 h)."""

# obs_lsst offsets exposure ids of controllers other than O by a multiple of
# 1000 years, in this order, unless the controller shares the O counter.
_EXPOSURE_ID_CONTROLLER_ORDER = "OCHPSQ"
_CONTROLLER_OFFSET = 1000_00_00 * 10**5
_SHARED_COUNTER_SINCE = {"C": 20231005, "P": 20250418, "S": 20250418, "Q": 20250418}
_MAX_EXPOSURE_SEQ = 10**5

NAME_FORM = "SS_C_YYYYMMDD_NNNNNN"
"""The form of an image name, as error messages spell it."""

_EXAMPLE = "MC_O_20241123_000123"

# ASCII only ([0-9], not \d, which takes any Unicode digit) and the whole
# string (fullmatch: ``$`` alone would accept a trailing newline).
_NAME_RE = re.compile(r"([A-Z]{2})_([A-Z])_([0-9]{8})_([0-9]{6})", re.ASCII)


def _check_parts(camera_code: str, controller: str, day_obs: int, seq_num: int, context: str) -> None:
    if camera_code not in CAMERA_CODES:
        raise InvalidImageNameError(
            f"{context}: camera code {camera_code!r} is not one of {', '.join(CAMERA_CODES)}"
        )
    if controller not in CONTROLLERS:
        raise InvalidImageNameError(
            f"{context}: controller {controller!r} is not one of {', '.join(CONTROLLERS)}"
        )
    _check_day_obs(day_obs, context)
    if not 0 < seq_num < 10**6:
        raise InvalidImageNameError(f"{context}: sequence number {seq_num} is not in 1-999999")


def _check_day_obs(day_obs: int, context: str) -> None:
    try:
        datetime.date(day_obs // 10000, (day_obs // 100) % 100, day_obs % 100)
    except ValueError:
        raise InvalidImageNameError(f"{context}: day_obs {day_obs} is not a valid YYYYMMDD date") from None


@dataclass(frozen=True, order=True)
class ImageName:
    """An image name (obsid), e.g. ``MC_O_20241123_000123``.

    Parameters
    ----------
    camera_code : `str`
        ``MC``, ``CC``, ``AT`` or ``TS`` (header ``CAMCODE``).
    controller : `str`
        One of `CONTROLLERS` (header ``CONTRLLR``).
    day_obs : `int`
        Observing day ``YYYYMMDD`` (header ``DAYOBS``).
    seq_num : `int`
        Sequence number in the day, 1-999999 (header ``SEQNUM``).

    Raises
    ------
    InvalidImageNameError
        If any part is out of range.
    """

    camera_code: str
    controller: str
    day_obs: int
    seq_num: int

    def __post_init__(self) -> None:
        _check_parts(
            self.camera_code, self.controller, self.day_obs, self.seq_num, f"image name {self._raw()}"
        )

    def _raw(self) -> str:
        return f"{self.camera_code}_{self.controller}_{self.day_obs}_{self.seq_num:06d}"

    @classmethod
    def parse(cls, name: str) -> ImageName:
        """Parse an image name: the one canonical parse, used wherever a name
        comes in (commands, camera events, the DAQ catalog, the Header Service).

        Only the exact form is accepted: ASCII letters and digits, nothing
        around it. A name with surrounding whitespace is rejected, not
        stripped, so that the name the Archiver works with (ledger, staging
        paths, file names, events) is always the name it was given.
        ``str(ImageName.parse(name)) == name`` for every name accepted.

        Parameters
        ----------
        name : `str`
            The name, e.g. ``MC_O_20241123_000123``.

        Raises
        ------
        InvalidImageNameError
            If ``name`` is not a string of the form ``SS_C_YYYYMMDD_NNNNNN``
            with valid parts; the message has ``repr(name)`` and the form.
        """
        if not isinstance(name, str):
            raise InvalidImageNameError(
                f"image name {name!r} is a {type(name).__name__}; expected a string of the form {NAME_FORM} "
                f"(e.g. {_EXAMPLE})"
            )
        match = _NAME_RE.fullmatch(name)
        if match is None:
            if not name.isascii():
                why = "has non-ASCII characters; expected"
            elif name.strip() != name:
                why = "has whitespace around it (names are not stripped); expected exactly"
            else:
                why = "is not of the form"
            raise InvalidImageNameError(
                f"image name {name!r} {why} {NAME_FORM} (ASCII letters and digits, e.g. {_EXAMPLE})"
            )
        code, controller, day_obs, seq = match.groups()
        _check_parts(code, controller, int(day_obs), int(seq), f"image name {name!r} ({NAME_FORM})")
        return cls(code, controller, int(day_obs), int(seq))

    @classmethod
    def is_valid(cls, name: str) -> bool:
        """True if `parse` would accept ``name``."""
        try:
            cls.parse(name)
        except InvalidImageNameError:
            return False
        return True

    def __str__(self) -> str:
        return self._raw()

    @property
    def obsid(self) -> str:
        """The name as a string (header ``OBSID``)."""
        return self._raw()

    @property
    def day_obs_str(self) -> str:
        """``YYYYMMDD`` as a string (header ``DAYOBS``)."""
        return f"{self.day_obs:08d}"

    @property
    def is_simulated(self) -> bool:
        """True for controllers that mark simulated content (H, P, Q, S)."""
        return self.controller in SIMULATED_CONTROLLERS

    @property
    def exposure_id(self) -> int:
        """The obs_lsst exposure id ``YYYYMMDD * 10**5 + seq_num``.

        Controllers that did not yet share the OCS counter on ``day_obs``
        are offset by multiples of 1000 years (C +1000, H +2000, P +3000,
        S +4000, Q +5000) so that ids stay unique.

        Raises
        ------
        InvalidImageNameError
            If ``seq_num`` >= 100000 (obs_lsst has 5 digits for it), or the
            controller (A, D) has no exposure id in obs_lsst.
        """
        if self.seq_num >= _MAX_EXPOSURE_SEQ:
            raise InvalidImageNameError(
                f"image name {self}: sequence number {self.seq_num} does not fit the 5 digits of an exposure id"
            )
        index = _EXPOSURE_ID_CONTROLLER_ORDER.find(self.controller)
        if index < 0:
            raise InvalidImageNameError(
                f"image name {self}: controller {self.controller!r} has no obs_lsst exposure id; "
                f"use one of {', '.join(_EXPOSURE_ID_CONTROLLER_ORDER)}"
            )
        exposure_id = self.day_obs * 10**5 + self.seq_num
        shared_since = _SHARED_COUNTER_SINCE.get(self.controller)
        if index > 0 and (shared_since is None or self.day_obs < shared_since):
            exposure_id += index * _CONTROLLER_OFFSET
        return exposure_id

    def file_name(self, raft: str, sensor: str) -> str:
        """Raw file name ``{obsid}_{raft}_{sensor}.fits``."""
        return f"{self}_{raft}_{sensor}.fits"


def day_obs_for(tai_unix: float) -> int:
    """Observing day (``YYYYMMDD``) of a time, with the 12 h rollover.

    Parameters
    ----------
    tai_unix : `float`
        TAI unix seconds (the SAL time convention).

    Returns
    -------
    day_obs : `int`
        The date of ``tai_unix - 12 h``, as ``YYYYMMDD``.
    """
    shifted = datetime.datetime.fromtimestamp(tai_unix - DAY_OBS_ROLLOVER_SECONDS, tz=datetime.UTC)
    return shifted.year * 10000 + shifted.month * 100 + shifted.day


def day_obs_bounds(day_obs: int) -> tuple[float, float]:
    """TAI unix seconds at the start and end (exclusive) of an observing day.

    Raises
    ------
    InvalidImageNameError
        If ``day_obs`` is not a valid ``YYYYMMDD`` date.
    """
    _check_day_obs(day_obs, "day_obs bounds")
    start = datetime.datetime(day_obs // 10000, (day_obs // 100) % 100, day_obs % 100, tzinfo=datetime.UTC)
    begin = start.timestamp() + DAY_OBS_ROLLOVER_SECONDS
    return begin, begin + 86400.0
