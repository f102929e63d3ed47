"""The ackcmd topic: a writer for Controllers and a routing reader for Remotes."""

from __future__ import annotations

__all__ = ["AckCmdReader", "AckCmdWriter"]

import typing

from ..interface import BaseSample
from .read_topic import DEFAULT_QUEUE_LEN, ReadTopic
from .write_topic import WriteTopic

if typing.TYPE_CHECKING:
    from ..sal_info import SalInfo


class AckCmdWriter(WriteTopic):
    """Writes command acknowledgements.

    Unlike other topics, ``private_seqNum`` is not a counter: it is the
    command's ``private_seqNum``, set by the caller.
    """

    def __init__(self, salinfo: SalInfo) -> None:
        super().__init__(salinfo=salinfo, attr_name="ack_ackcmd")

    def _next_seq_num(self) -> int:
        return self._data.private_seqNum  # type: ignore[attr-defined]


class AckCmdReader(ReadTopic):
    """Reads acknowledgements and routes them to the commands waiting for them.

    Keeps only acks whose ``identity`` is this SalInfo's identity and whose
    ``origin`` is this process, then hands each to the `CommandInfo`
    registered under its ``private_seqNum``. Acks are not queued;
    `get` returns the latest routed ack.
    """

    def __init__(self, salinfo: SalInfo, queue_len: int = DEFAULT_QUEUE_LEN) -> None:
        super().__init__(salinfo=salinfo, attr_name="ack_ackcmd", max_history=0, queue_len=queue_len)

    def _queue_data(self, data: BaseSample, is_history: bool) -> None:
        salinfo = self.salinfo
        if data.identity != salinfo.identity or data.origin != salinfo.domain.origin:  # type: ignore[attr-defined]
            return
        cmd_info = salinfo._running_cmds.get(data.private_seqNum)  # type: ignore[attr-defined]
        if cmd_info is None:
            return
        self._current_data = data
        cmd_info.add_ackcmd(data)
