"""Commands sent by a Remote, and waiting for their acknowledgements."""

from __future__ import annotations

__all__ = ["DEFAULT_TIMEOUT", "RemoteCommand"]

import asyncio
import random
import typing

from ..enums import FAILED_ACK_CODES, FINAL_ACK_CODES, SalRetCode
from ..errors import AckError, AckTimeoutError
from ..interface import PRIVATE_FIELD_NAMES, BaseSample
from .command_info import CommandInfo
from .write_topic import MAX_SEQ_NUM, WriteTopic

if typing.TYPE_CHECKING:
    from ..sal_info import SalInfo

#: Default seconds to wait for a command's final acknowledgement.
DEFAULT_TIMEOUT = 3600.0

_NOT_DATA_FIELDS = frozenset(PRIVATE_FIELD_NAMES) | {"salIndex"}


class RemoteCommand(WriteTopic):
    """A command a Remote sends.

    Each command name gets its own disjoint ``private_seqNum`` range (the
    command ID): with N commands in alphabetical order, command i uses
    ``[i*inc+1, (i+1)*inc]`` with ``inc = (2**31-1) // N``, starting at a
    random value in that range.

    Parameters
    ----------
    salinfo : `SalInfo`
        The SalInfo; needs an `AckCmdReader` to receive acks.
    name : `str`
        Command name without prefix.
    """

    def __init__(self, salinfo: SalInfo, name: str) -> None:
        names = salinfo.command_names
        if name not in names:
            raise KeyError(f"Component {salinfo.name} has no command {name!r}; known: {list(names)}")
        inc = MAX_SEQ_NUM // len(names)
        i = names.index(name)
        min_seq_num = i * inc + 1
        max_seq_num = (i + 1) * inc
        super().__init__(
            salinfo=salinfo,
            attr_name="cmd_" + name,
            min_seq_num=min_seq_num,
            max_seq_num=max_seq_num,
            initial_seq_num=random.randint(min_seq_num, max_seq_num),
        )

    async def set_start(
        self, *, timeout: float = DEFAULT_TIMEOUT, wait_done: bool = True, **kwargs: typing.Any
    ) -> BaseSample:
        """Set command fields from ``kwargs`` and start the command. See `start`."""
        return await self.start(timeout=timeout, wait_done=wait_done, **kwargs)

    async def start(
        self,
        data: BaseSample | None = None,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        wait_done: bool = True,
        **kwargs: typing.Any,
    ) -> BaseSample:
        """Send the command and wait for an acknowledgement.

        Parameters
        ----------
        data : ``DataType`` or `None`
            Command data (its private fields are ignored); None: use the
            current `data` updated with ``kwargs``.
        timeout : `float`
            Seconds to wait for the final ack; each CMD_INPROGRESS ack
            extends the deadline by its ``timeout`` field.
        wait_done : `bool`
            True: return the final ack. False: return the first ack (use
            `next_ackcmd` for the following ones).
        **kwargs
            Command field values.

        Returns
        -------
        ackcmd : ackcmd sample
            The acknowledgement (``ack`` is CMD_COMPLETE if final).

        Raises
        ------
        AckError
            If the command failed (any final code other than CMD_COMPLETE).
        AckTimeoutError
            If no (final) ack arrived in time; ``ackcmd`` is the last ack
            seen, or a CMD_NOACK ack if none was seen.
        RuntimeError
            If the Remote is not started or has no ack reader.
        """
        if "ack_ackcmd" not in {topic.attr_name for topic in self.salinfo.read_topics.values()}:
            raise RuntimeError(f"{self}: no ack reader; was the Remote made with readonly=True?")
        if data is not None:
            if not isinstance(data, self.DataType):
                raise TypeError(f"{self}: data must be a {self.DataType.__name__}, not {type(data).__name__}")
            self.set(**{k: v for k, v in data.get_vars().items() if k not in _NOT_DATA_FIELDS})
        if kwargs:
            self.set(**kwargs)
        seq_num = self._seq_num
        cmd_info = CommandInfo(self.attr_name, seq_num)
        self.salinfo._running_cmds[seq_num] = cmd_info
        try:
            await self.write()
        except BaseException:
            self.salinfo._running_cmds.pop(seq_num, None)
            raise
        return await self._wait_ack(cmd_info, timeout=timeout, wait_done=wait_done)

    async def next_ackcmd(
        self, ackcmd: BaseSample, timeout: float = DEFAULT_TIMEOUT, wait_done: bool = True
    ) -> BaseSample:
        """Wait for the next (or, if ``wait_done``, the final) ack of a command.

        Parameters
        ----------
        ackcmd : ackcmd sample
            An ack of the command, as returned by `start` with
            ``wait_done=False``.
        timeout, wait_done
            As for `start`.

        Raises
        ------
        AckError, AckTimeoutError
            As for `start`.
        RuntimeError
            If the command is no longer being tracked (already done).
        """
        cmd_info = self.salinfo._running_cmds.get(ackcmd.private_seqNum)  # type: ignore[attr-defined]
        if cmd_info is None:
            raise RuntimeError(f"{self}: command seqNum={ackcmd.private_seqNum} is not running")  # type: ignore[attr-defined]
        return await self._wait_ack(cmd_info, timeout=timeout, wait_done=wait_done)

    async def _wait_ack(self, cmd_info: CommandInfo, *, timeout: float, wait_done: bool) -> BaseSample:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            try:
                ackcmd = await cmd_info.next_ackcmd(deadline - loop.time())
            except asyncio.CancelledError:
                self.salinfo._running_cmds.pop(cmd_info.seq_num, None)
                raise
            except TimeoutError:
                self.salinfo._running_cmds.pop(cmd_info.seq_num, None)
                last = cmd_info.last_ackcmd
                if last is None:
                    last = self.salinfo.make_ackcmd(
                        cmd_info.seq_num, SalRetCode.CMD_NOACK, result="No command acknowledgement seen"
                    )
                raise AckTimeoutError(
                    f"{self.salinfo.name_index} {self.attr_name}: timed out waiting for the command to finish",
                    ackcmd=last,
                ) from None
            ack = ackcmd.ack  # type: ignore[attr-defined]
            if ack in FINAL_ACK_CODES:
                self.salinfo._running_cmds.pop(cmd_info.seq_num, None)
            if ack in FAILED_ACK_CODES:
                raise AckError(f"{self.salinfo.name_index} {self.attr_name} failed", ackcmd=ackcmd)
            if ack in FINAL_ACK_CODES:
                return ackcmd
            if ack == SalRetCode.CMD_INPROGRESS:
                deadline += ackcmd.timeout  # type: ignore[attr-defined]
            if not wait_done:
                return ackcmd
