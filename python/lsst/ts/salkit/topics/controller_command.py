"""Commands received by a Controller: run the callback, send the acks."""

from __future__ import annotations

__all__ = ["ControllerCommand"]

import asyncio
import inspect
import typing

from ..enums import SalRetCode
from ..errors import ExpectedError
from ..interface import BaseSample
from .ack_cmd import AckCmdWriter
from .read_topic import DEFAULT_QUEUE_LEN, CallbackType, ReadTopic

if typing.TYPE_CHECKING:
    from ..sal_info import SalInfo


class ControllerCommand(ReadTopic):
    """A command a Controller receives and acknowledges.

    The callback (``do_<name>`` when assigned by a Controller) is called
    with the command data; its outcome sets the final ack:

    * returns None: CMD_COMPLETE, result "Done";
    * returns an ackcmd sample: that ack is sent as is (identity, origin,
      seqNum and cmdtype are filled in);
    * raises `asyncio.CancelledError`: CMD_ABORTED, error 1, "Aborted";
    * raises `TimeoutError`: CMD_TIMEOUT, error 1, "Timeout";
    * raises `ExpectedError`: CMD_FAILED, error 1, "Failed: <msg>";
    * raises another exception: as ExpectedError, and the traceback is logged.

    Calls are serialized (the next command of this name waits for the
    previous one) unless ``allow_multiple_callbacks`` is True.

    Parameters
    ----------
    salinfo : `SalInfo`
        The SalInfo.
    name : `str`
        Command name without prefix.
    queue_len : `int`
        Queue length; when full the oldest commands are dropped (their
        senders time out).
    """

    def __init__(self, salinfo: SalInfo, name: str, queue_len: int = DEFAULT_QUEUE_LEN) -> None:
        super().__init__(salinfo=salinfo, attr_name="cmd_" + name, max_history=0, queue_len=queue_len)
        self.cmdtype = salinfo.sal_topic_names.index(self.sal_name)
        writer = salinfo.write_topics.get("ackcmd")
        self.ackcmd_writer: AckCmdWriter = (
            writer if isinstance(writer, AckCmdWriter) else AckCmdWriter(salinfo)
        )
        self._user_callback: CallbackType | None = None

    @property
    def callback(self) -> CallbackType | None:
        """The command handler (sync or async), or None."""
        return self._user_callback

    @callback.setter
    def callback(self, func: CallbackType | None) -> None:
        if func is not None and not callable(func):
            raise TypeError(f"{self}: callback {func!r} is not callable")
        self._user_callback = func
        ReadTopic.callback.fset(self, None if func is None else self._user_callback)  # type: ignore[attr-defined]

    async def ack(self, data: BaseSample, ackcmd: BaseSample) -> None:
        """Send an ack for a command.

        Parameters
        ----------
        data : command sample
            The command being acknowledged.
        ackcmd : ackcmd sample
            The ack; ``private_seqNum``, ``identity``, ``origin`` and
            ``cmdtype`` are set from ``data``.
        """
        writer = self.ackcmd_writer
        writer.set(
            private_seqNum=data.private_seqNum,  # type: ignore[attr-defined]
            ack=int(ackcmd.ack),  # type: ignore[attr-defined]
            error=ackcmd.error,  # type: ignore[attr-defined]
            result=ackcmd.result,  # type: ignore[attr-defined]
            identity=data.private_identity,  # type: ignore[attr-defined]
            origin=data.private_origin,  # type: ignore[attr-defined]
            cmdtype=self.cmdtype,
            timeout=ackcmd.timeout,  # type: ignore[attr-defined]
        )
        await writer.write()

    async def ack_in_progress(self, data: BaseSample, timeout: float, result: str = "") -> None:
        """Send CMD_INPROGRESS: the command will take up to ``timeout`` more seconds.

        The sender's deadline is extended by ``timeout``.
        """
        ackcmd = self.salinfo.make_ackcmd(
            data.private_seqNum,  # type: ignore[attr-defined]
            SalRetCode.CMD_INPROGRESS,
            result=result,
            timeout=timeout,
        )
        await self.ack(data, ackcmd)

    async def _run_callback(self, data: BaseSample) -> None:
        func = self._user_callback
        seq_num = data.private_seqNum  # type: ignore[attr-defined]
        if func is None:
            return
        if seq_num <= 0:
            self.log.warning(f"Ignoring {self.sal_name} with private_seqNum={seq_num}: must be > 0")
            return
        if self.salinfo.index and data.salIndex != self.salinfo.index:  # type: ignore[attr-defined]
            return
        make = self.salinfo.make_ackcmd
        cancelled = False
        try:
            result = func(data)
            if inspect.isawaitable(result):
                result = await result
            if result is None:
                ackcmd = make(seq_num, SalRetCode.CMD_COMPLETE, result="Done")
            else:
                ackcmd = result
        except asyncio.CancelledError:
            cancelled = True
            ackcmd = make(seq_num, SalRetCode.CMD_ABORTED, error=1, result="Aborted")
        except TimeoutError:
            ackcmd = make(seq_num, SalRetCode.CMD_TIMEOUT, error=1, result="Timeout")
        except ExpectedError as e:
            self.log.error(f"{self.sal_name} failed: {e}")
            ackcmd = make(seq_num, SalRetCode.CMD_FAILED, error=1, result=f"Failed: {e}")
        except Exception as e:
            self.log.exception(f"{self.sal_name} failed")
            ackcmd = make(seq_num, SalRetCode.CMD_FAILED, error=1, result=f"Failed: {e}")
        try:
            await self.ack(data, ackcmd)
        except Exception:
            if self.salinfo.isopen:
                self.log.exception(f"Could not acknowledge {self.sal_name} seqNum={seq_num}")
        if cancelled:
            task = asyncio.current_task()
            if task is not None and task.cancelling():
                raise asyncio.CancelledError()
