"""Telemetry read by a Remote."""

from __future__ import annotations

__all__ = ["RemoteTelemetry"]

import typing

from .read_topic import DEFAULT_QUEUE_LEN, ReadTopic

if typing.TYPE_CHECKING:
    from ..sal_info import SalInfo


class RemoteTelemetry(ReadTopic):
    """A telemetry topic a Remote reads (never with history).

    Parameters
    ----------
    salinfo : `SalInfo`
        The SalInfo.
    name : `str`
        Telemetry topic name.
    queue_len : `int`
        Queue length.
    """

    def __init__(self, salinfo: SalInfo, name: str, queue_len: int = DEFAULT_QUEUE_LEN) -> None:
        super().__init__(salinfo=salinfo, attr_name="tel_" + name, max_history=0, queue_len=queue_len)
