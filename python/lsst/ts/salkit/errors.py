"""Exceptions raised by salkit and by CSC command callbacks."""

from __future__ import annotations

__all__ = ["AckError", "AckTimeoutError", "ExpectedError"]

import typing

from .enums import SalRetCode


class ExpectedError(Exception):
    """A command failed for a reason the CSC expected (e.g. wrong state).

    Raised by a ``do_<command>`` callback: the command is acknowledged
    with CMD_FAILED and ``result="Failed: <message>"``, and no traceback
    is logged.
    """


class AckError(Exception):
    """A command failed: the final acknowledgement was not CMD_COMPLETE.

    Parameters
    ----------
    msg : `str`
        Error message.
    ackcmd : ackcmd sample
        The acknowledgement (fields ack, error, result, ...).

    Attributes
    ----------
    ackcmd : ackcmd sample
        The acknowledgement.
    """

    def __init__(self, msg: str, ackcmd: typing.Any) -> None:
        super().__init__(msg)
        self.ackcmd = ackcmd

    def __str__(self) -> str:
        try:
            ack: typing.Any = SalRetCode(self.ackcmd.ack).name
        except ValueError:
            ack = self.ackcmd.ack
        return f"msg={self.args[0]!r}, ackcmd=(ack={ack}, error={self.ackcmd.error}, result={self.ackcmd.result!r})"


class AckTimeoutError(AckError):
    """No final acknowledgement arrived in time.

    ``ackcmd`` is the last acknowledgement seen, or one with
    ``ack=CMD_NOACK`` if none was seen.
    """
