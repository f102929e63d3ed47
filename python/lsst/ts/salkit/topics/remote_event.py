"""Events read by a Remote."""

from __future__ import annotations

__all__ = ["RemoteEvent"]

import typing

from .read_topic import DEFAULT_QUEUE_LEN, ReadTopic

if typing.TYPE_CHECKING:
    from ..sal_info import SalInfo


class RemoteEvent(ReadTopic):
    """An event a Remote reads.

    Parameters
    ----------
    salinfo : `SalInfo`
        The SalInfo.
    name : `str`
        Event name without prefix.
    max_history : `int`
        1 (default): get the last value written before start; 0: none.
    queue_len : `int`
        Queue length.
    """

    def __init__(
        self, salinfo: SalInfo, name: str, max_history: int = 1, queue_len: int = DEFAULT_QUEUE_LEN
    ) -> None:
        super().__init__(
            salinfo=salinfo, attr_name="evt_" + name, max_history=max_history, queue_len=queue_len
        )
