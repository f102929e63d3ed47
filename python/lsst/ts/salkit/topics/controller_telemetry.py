"""Telemetry written by a Controller."""

from __future__ import annotations

__all__ = ["ControllerTelemetry"]

import typing

from .write_topic import WriteTopic

if typing.TYPE_CHECKING:
    from ..sal_info import SalInfo


class ControllerTelemetry(WriteTopic):
    """A telemetry topic a Controller writes.

    Parameters
    ----------
    salinfo : `SalInfo`
        The SalInfo.
    name : `str`
        Telemetry topic name.
    """

    def __init__(self, salinfo: SalInfo, name: str) -> None:
        super().__init__(salinfo=salinfo, attr_name="tel_" + name)
