"""SAL enumerations: summary states and command acknowledgement codes."""

from __future__ import annotations

__all__ = ["FAILED_ACK_CODES", "FINAL_ACK_CODES", "SalRetCode", "State"]

import enum


class State(enum.IntEnum):
    """Summary state of a CSC."""

    DISABLED = 1
    ENABLED = 2
    FAULT = 3
    OFFLINE = 4
    STANDBY = 5


class SalRetCode(enum.IntEnum):
    """Command acknowledgement codes (``ackcmd.ack``) and legacy SAL codes."""

    OK = 0
    ERROR = -1
    STATE_DISABLED = 1
    STATE_ENABLED = 2
    STATE_FAULT = 3
    STATE_OFFLINE = 4
    STATE_STANDBY = 5
    CMD_ACK = 300
    CMD_INPROGRESS = 301
    CMD_STALLED = 302
    CMD_COMPLETE = 303
    CMD_NOPERM = -300
    CMD_NOACK = -301
    CMD_FAILED = -302
    CMD_ABORTED = -303
    CMD_TIMEOUT = -304


#: Codes that end a command.
FINAL_ACK_CODES = frozenset(
    {
        SalRetCode.CMD_STALLED,
        SalRetCode.CMD_COMPLETE,
        SalRetCode.CMD_NOPERM,
        SalRetCode.CMD_NOACK,
        SalRetCode.CMD_FAILED,
        SalRetCode.CMD_ABORTED,
        SalRetCode.CMD_TIMEOUT,
    }
)

#: Final codes that mean the command failed.
FAILED_ACK_CODES = FINAL_ACK_CODES - {SalRetCode.CMD_COMPLETE}
