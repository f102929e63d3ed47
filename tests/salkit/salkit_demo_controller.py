"""A Controller of the Test component used by the salkit tests."""

from __future__ import annotations

import asyncio
import typing

from lsst.ts import salkit


class DemoController(salkit.Controller):
    """Controller of ``Test`` whose commands exercise every ack outcome.

    * setScalars: writes evt_scalars and tel_scalars with the command's values.
    * setArrays: records the call; raises the exception in ``arrays_raise``
      if set; waits ``arrays_delay`` seconds.
    * fault: raises ExpectedError.
    * wait: sends INPROGRESS (if ``ack`` is 301) with timeout ``duration``
      (or ``in_progress_timeout`` if set),
      sleeps ``duration``, and records start/end times.
    * the state commands do nothing, except ``standby`` which raises
      RuntimeError and ``start`` which returns a custom ack.
    """

    def __init__(self, index: int = 1, **kwargs: typing.Any) -> None:
        super().__init__("Test", index, do_callbacks=True, **kwargs)
        self.arrays_raise: BaseException | None = None
        self.arrays_delay = 0.0
        self.arrays_calls: list[salkit.BaseSample] = []
        self.wait_intervals: list[tuple[float, float]] = []
        self.in_progress_timeout: float | None = None

    async def do_setScalars(self, data: typing.Any) -> None:
        values = {name: getattr(data, name) for name in ("boolean0", "int0", "double0", "string0")}
        await self.evt_scalars.set_write(**values)  # type: ignore[attr-defined]
        await self.tel_scalars.set_write(**values)  # type: ignore[attr-defined]

    async def do_setArrays(self, data: typing.Any) -> None:
        self.arrays_calls.append(data)
        if self.arrays_delay:
            await asyncio.sleep(self.arrays_delay)
        if self.arrays_raise is not None:
            raise self.arrays_raise

    async def do_fault(self, data: typing.Any) -> None:
        raise salkit.ExpectedError("fault requested")

    async def do_wait(self, data: typing.Any) -> None:
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        if data.ack == salkit.SalRetCode.CMD_INPROGRESS:
            timeout = data.duration if self.in_progress_timeout is None else self.in_progress_timeout
            await self.cmd_wait.ack_in_progress(data, timeout=timeout)  # type: ignore[attr-defined]
        await asyncio.sleep(data.duration)
        self.wait_intervals.append((t0, loop.time()))

    async def do_start(self, data: typing.Any) -> salkit.BaseSample:
        return self.salinfo.make_ackcmd(
            data.private_seqNum, salkit.SalRetCode.CMD_COMPLETE, result="custom result"
        )

    async def do_enable(self, data: typing.Any) -> None:
        pass

    async def do_disable(self, data: typing.Any) -> None:
        pass

    async def do_standby(self, data: typing.Any) -> None:
        raise RuntimeError("standby is broken")

    async def do_exitControl(self, data: typing.Any) -> None:
        pass

    async def do_setLogLevel(self, data: typing.Any) -> None:
        self.log.setLevel(data.level)
        await self.evt_logLevel.set_write(level=data.level)  # type: ignore[attr-defined]
