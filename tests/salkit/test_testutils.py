"""Test helpers shipped with salkit."""

from __future__ import annotations

import collections.abc
import os

import pytest
from lsst.ts import salkit
from salkit_demo_controller import DemoController

from lsst.ts.salkit import STD_TIMEOUT


@pytest.fixture
async def remote() -> collections.abc.AsyncIterator[salkit.Remote]:
    controller = DemoController(index=1)
    await controller.start_task
    async with salkit.Domain() as domain:
        remote = salkit.Remote(domain, "Test", 1)
        await remote.start_task
        yield remote
    await controller.close()


def test_set_test_topic_subname(monkeypatch: pytest.MonkeyPatch) -> None:
    first = salkit.set_test_topic_subname()
    assert os.environ["LSST_TOPIC_SUBNAME"] == first
    assert first.startswith("test_") and "-" not in first and "=" not in first
    assert salkit.set_test_topic_subname() != first
    assert salkit.make_test_topic_subname(randomize=False) == salkit.make_test_topic_subname(randomize=False)


async def test_assert_raises_ack_error_checks_fields(remote: salkit.Remote) -> None:
    async with salkit.assertRaisesAckError(
        ack=salkit.SalRetCode.CMD_FAILED, error=1, result_contains="fault requested"
    ):
        await remote.cmd_fault.start(timeout=STD_TIMEOUT)
    with pytest.raises(AssertionError, match="does not contain"):
        async with salkit.assertRaisesAckError(result_contains="something else"):
            await remote.cmd_fault.start(timeout=STD_TIMEOUT)
    with pytest.raises(AssertionError, match="not raised"):
        async with salkit.assertRaisesAckError():
            await remote.cmd_enable.start(timeout=STD_TIMEOUT)


async def test_assert_raises_ack_timeout_error(remote: salkit.Remote) -> None:
    async with salkit.assertRaisesAckTimeoutError(ack=salkit.SalRetCode.CMD_NOACK):
        await remote.cmd_wait.set_start(duration=0.2, timeout=0.05)
    with pytest.raises(AssertionError, match="got AckTimeoutError"):
        async with salkit.assertRaisesAckError():
            await remote.cmd_wait.set_start(duration=0.2, timeout=0.05)
