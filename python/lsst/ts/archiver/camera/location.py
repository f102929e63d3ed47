"""DAQ locations: the bay/board address of a REB (``R22/Reb0``, ``22/0``)."""

from __future__ import annotations

__all__ = ["BOARD_NAMES", "DaqLocation", "RebKind"]

import enum
import re
from dataclasses import dataclass

from .errors import InvalidLocationError

_VALID_BAYS = frozenset(10 * row + col for row in range(5) for col in range(5))
_CCS_RE = re.compile(r"^R(\d)(\d)/Reb([012GW])$")
_DAQ_RE = re.compile(r"^(\d{1,2})/(\d)$")


class RebKind(enum.Enum):
    """What a REB reads out; this fixes its DAQ source type and stream layout."""

    SCIENCE = "science"
    """A science REB: 3 CCDs (slots ``SN0, SN1, SN2``)."""
    GUIDER = "guider"
    """A corner-raft guider REB (``RebG``): 2 CCDs ``SG0, SG1``."""
    WAVEFRONT = "wavefront"
    """A corner-raft wavefront REB (``RebW``): the two halves ``SW0, SW1``."""
    WREB = "wreb"
    """The LATISS WREB (``R00/RebW``): one full CCD of 16 amplifiers."""

    @property
    def n_ccds(self) -> int:
        """CCDs in the DAQ source (the DAQ source-type enum value)."""
        return {RebKind.SCIENCE: 3, RebKind.GUIDER: 2, RebKind.WAVEFRONT: 1, RebKind.WREB: 1}[self]


BOARD_NAMES: dict[int, str] = {0: "Reb0", 1: "Reb1", 2: "Reb2"}
"""CCS board names of science rafts by DAQ board number."""

_CORNER_BOARD_BY_NAME = {"W": 0, "G": 1}
_CORNER_NAME_BY_BOARD = {0: "RebW", 1: "RebG"}
_CORNER_BAYS = frozenset({0, 4, 40, 44})


@dataclass(frozen=True, order=True)
class DaqLocation:
    """A DAQ location: one byte-sized ``bay/board`` pair naming a REB.

    The bay is the raft bay number (``R22`` -> 22; valid bays are 0-4,
    10-14, 20-24, 30-34, 40-44) and the board the REB in the raft (0-2).
    Corner rafts use board 0 for ``RebW`` and 1 for ``RebG`` (an emulator
    convention: the real board numbers of corner REBs were not verified).

    Parameters
    ----------
    bay : `int`
        Raft bay number.
    board : `int`
        Board number within the raft.
    """

    bay: int
    board: int

    def __post_init__(self) -> None:
        if self.bay not in _VALID_BAYS:
            raise InvalidLocationError(
                f"DAQ bay {self.bay} is not valid; use 0-4, 10-14, 20-24, 30-34 or 40-44"
            )
        if self.board not in (0, 1, 2):
            raise InvalidLocationError(f"DAQ board {self.board} in bay {self.bay} is not valid; use 0-2")

    @classmethod
    def parse(cls, text: str) -> DaqLocation:
        """Parse ``"R22/Reb0"``, ``"R00/RebG"``, ``"R00/RebW"`` or ``"22/0"``.

        Raises
        ------
        InvalidLocationError
            If the text is in neither the CCS nor the DAQ CLI syntax.
        """
        text = text.strip()
        match = _CCS_RE.match(text)
        if match is not None:
            bay = 10 * int(match.group(1)) + int(match.group(2))
            board_code = match.group(3)
            if board_code in _CORNER_BOARD_BY_NAME:
                return cls(bay, _CORNER_BOARD_BY_NAME[board_code])
            return cls(bay, int(board_code))
        match = _DAQ_RE.match(text)
        if match is not None:
            return cls(int(match.group(1)), int(match.group(2)))
        raise InvalidLocationError(
            f"DAQ location {text!r} is neither 'Rxy/RebN' (N = 0, 1, 2, G or W) nor 'bay/board'"
        )

    @property
    def raft(self) -> str:
        """Raft bay name, e.g. ``"R22"``."""
        return f"R{self.bay:02d}"

    @property
    def is_corner(self) -> bool:
        """True for the bays of the corner rafts (R00, R04, R40, R44)."""
        return self.bay in _CORNER_BAYS

    @property
    def board_name(self) -> str:
        """CCS board name: ``Reb0..2`` for science bays, ``RebW``/``RebG`` for corners."""
        if self.is_corner:
            return _CORNER_NAME_BY_BOARD.get(self.board, f"Reb{self.board}")
        return BOARD_NAMES[self.board]

    @property
    def daq_name(self) -> str:
        """DAQ CLI syntax, e.g. ``"22/0"``."""
        return f"{self.bay:02d}/{self.board}"

    @property
    def index(self) -> int:
        """The location as one byte index (``bay * 3 + board``), for bitsets."""
        return self.bay * 3 + self.board

    def __str__(self) -> str:
        return f"{self.raft}/{self.board_name}"
