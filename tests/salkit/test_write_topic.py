"""Writing: set, set_write, write and the private fields."""

from __future__ import annotations

import math
import os
import time

import pytest
from lsst.ts import salkit

from lsst.ts.salkit import STD_TIMEOUT


@pytest.fixture
async def controller() -> salkit.Controller:
    controller = salkit.Controller("Test", 3)
    await controller.start_task
    yield controller
    await controller.close()


async def test_set_reports_changes_with_nan_equal_to_nan(controller: salkit.Controller) -> None:
    evt = controller.evt_scalars  # type: ignore[attr-defined]
    assert not evt.has_data
    assert evt.set(double0=math.nan) is True
    assert evt.has_data
    assert evt.set(double0=math.nan) is False
    assert evt.set(double0=1.5, int0=0) is True
    assert evt.set(int0=0) is False
    with pytest.raises(AttributeError, match="no field named 'nosuch'"):
        evt.set(nosuch=1)


async def test_set_arrays_accepts_sequences_and_warns_on_bad_length(controller: salkit.Controller) -> None:
    tel = controller.tel_arrays  # type: ignore[attr-defined]
    assert tel.set(int0=(1, 2, 3, 4, 5)) is True
    assert tel.data.int0 == [1, 2, 3, 4, 5]
    assert tel.set(int0=[1, 2, 3, 4, 5]) is False
    with pytest.warns(UserWarning, match="expected 5"):
        tel.set(int0=[1, 2])


async def test_event_set_write_only_writes_on_change_unless_forced(controller: salkit.Controller) -> None:
    async with salkit.Domain() as domain:
        remote = salkit.Remote(domain, "Test", 3, include=["scalars"])
        await remote.start_task
        evt = controller.evt_scalars  # type: ignore[attr-defined]
        result = await evt.set_write(int0=1)
        assert (result.did_change, result.was_written) == (True, True)
        result = await evt.set_write(int0=1)
        assert (result.did_change, result.was_written) == (False, False)
        result = await evt.set_write(int0=1, force_output=True)
        assert (result.did_change, result.was_written) == (False, True)
        await evt.set_write(int0=2)
        values = [(await remote.evt_scalars.next(flush=False, timeout=STD_TIMEOUT)).int0 for _ in range(3)]
        assert values == [1, 1, 2]
        assert remote.evt_scalars.nqueued == 0


async def test_telemetry_set_write_writes_even_without_change(controller: salkit.Controller) -> None:
    tel = controller.tel_scalars  # type: ignore[attr-defined]
    await tel.set_write(int0=1)
    result = await tel.set_write(int0=1)
    assert (result.did_change, result.was_written) == (False, True)


async def test_private_fields_are_filled(controller: salkit.Controller) -> None:
    evt = controller.evt_scalars  # type: ignore[attr-defined]
    before = salkit.current_tai()
    first = await evt.set_write(int0=1)
    second = await evt.set_write(int0=2)
    data = second.data
    assert data.salIndex == 3
    assert data.private_identity == "Test:3"
    assert data.private_origin == os.getpid()
    assert data.private_revCode == evt.topic_info.rev_code
    assert before <= data.private_sndStamp <= salkit.current_tai()
    assert data.private_kafkaStamp == data.private_sndStamp
    assert data.private_efdStamp == pytest.approx(data.private_sndStamp - 37, abs=1e-6)
    assert abs(data.private_efdStamp - time.time()) < 1
    assert second.data.private_seqNum == first.data.private_seqNum + 1


async def test_write_before_start_raises() -> None:
    async with salkit.Domain() as domain:
        salinfo = salkit.SalInfo(domain, "Test", 1)
        evt = salkit.ControllerEvent(salinfo, "scalars")
        with pytest.raises(RuntimeError, match="Not started"):
            await evt.write()


async def test_seq_num_wraps_to_minimum() -> None:
    async with salkit.Domain() as domain:
        salinfo = salkit.SalInfo(domain, "Test", 1)
        topic = salkit.WriteTopic(
            salinfo=salinfo, attr_name="tel_scalars", min_seq_num=5, max_seq_num=6, initial_seq_num=6
        )
        await salinfo.start()
        assert [(await topic.write()).private_seqNum for _ in range(3)] == [6, 5, 6]


async def test_non_indexed_index_is_rejected() -> None:
    async with salkit.Domain() as domain:
        with pytest.raises(salkit.UnknownComponentError):
            salkit.SalInfo(domain, "NoSuchCsc")
