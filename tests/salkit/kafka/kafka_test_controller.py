"""A Controller of the ``Test`` component for the Kafka transport tests.

Also a script, so tests can put a controller in another process (the
environment selects the transport and broker):

* ``python kafka_test_controller.py INDEX`` runs `KafkaTestController` until
  it receives ``exitControl`` (or SIGTERM);
* ``python kafka_test_controller.py many NAME`` runs a Controller of
  component NAME that writes every event once (``value`` = its position in
  the sorted event names), then waits for SIGTERM.

Both print "ready" when started.
"""

from __future__ import annotations

import asyncio
import signal
import sys
import typing

from lsst.ts import salkit

#: Length of the string written by ``setScalars`` when string0 is "large":
#: a large event (~1 MB minus headroom for the other fields and framing).
LARGE_STRING_LENGTH = 900_000


class KafkaTestController(salkit.Controller):
    """``Test`` controller whose commands exercise events, telemetry, acks.

    * setScalars: writes evt_scalars and tel_scalars with the command's
      values; string0 "large" writes a LARGE_STRING_LENGTH string instead.
    * setArrays: writes evt_arrays.
    * fault: fails with ExpectedError("fault requested").
    * wait: INPROGRESS (if ack == 301), sleeps ``duration``.
    * standby/start/enable/disable: write summaryState 5/2/2/1 (no checks).
    * exitControl: writes summaryState 4 (OFFLINE) and stops the process
      when run as a script.
    """

    def __init__(self, index: int) -> None:
        super().__init__("Test", index, do_callbacks=True)
        self.exit_event = asyncio.Event()

    async def start_phase2(self) -> None:
        await self.evt_summaryState.set_write(summaryState=salkit.State.STANDBY)  # type: ignore[attr-defined]

    async def do_setScalars(self, data: typing.Any) -> None:
        values = {name: getattr(data, name) for name in ("boolean0", "int0", "double0", "string0")}
        if values["string0"] == "large":
            values["string0"] = "x" * LARGE_STRING_LENGTH
        await self.evt_scalars.set_write(force_output=True, **values)  # type: ignore[attr-defined]
        await self.tel_scalars.set_write(**values)  # type: ignore[attr-defined]

    async def do_setArrays(self, data: typing.Any) -> None:
        await self.evt_arrays.set_write(int0=list(data.int0))  # type: ignore[attr-defined]

    async def do_fault(self, data: typing.Any) -> None:
        raise salkit.ExpectedError("fault requested")

    async def do_wait(self, data: typing.Any) -> None:
        if data.ack == salkit.SalRetCode.CMD_INPROGRESS:
            await self.cmd_wait.ack_in_progress(data, timeout=data.duration)  # type: ignore[attr-defined]
        await asyncio.sleep(data.duration)

    async def _set_state(self, state: salkit.State) -> None:
        await self.evt_summaryState.set_write(summaryState=state)  # type: ignore[attr-defined]

    async def do_start(self, data: typing.Any) -> None:
        await self._set_state(salkit.State.DISABLED)

    async def do_enable(self, data: typing.Any) -> None:
        await self._set_state(salkit.State.ENABLED)

    async def do_disable(self, data: typing.Any) -> None:
        await self._set_state(salkit.State.DISABLED)

    async def do_standby(self, data: typing.Any) -> None:
        await self._set_state(salkit.State.STANDBY)

    async def do_exitControl(self, data: typing.Any) -> None:
        await self._set_state(salkit.State.OFFLINE)
        asyncio.get_running_loop().call_later(0.2, self.exit_event.set)

    async def do_setLogLevel(self, data: typing.Any) -> None:
        pass


async def amain(index: int) -> None:
    """Run the controller until exitControl or SIGTERM."""
    controller = KafkaTestController(index)
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, controller.exit_event.set)
    await controller.start_task
    print("ready", flush=True)
    await controller.exit_event.wait()
    await controller.close()


async def amain_many(name: str) -> None:
    """Write every event of component ``name`` once, then wait for SIGTERM."""
    controller = salkit.Controller(name)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    await controller.start_task
    for position, event_name in enumerate(sorted(controller.salinfo.event_names)):
        topic = getattr(controller, f"evt_{event_name}")
        if "value" in topic.topic_info.fields:
            await topic.set_write(value=position)
    print("ready", flush=True)
    await stop.wait()
    await controller.close()


if __name__ == "__main__":
    if sys.argv[1] == "many":
        asyncio.run(amain_many(sys.argv[2]))
    else:
        asyncio.run(amain(int(sys.argv[1])))
