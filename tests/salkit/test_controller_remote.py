"""Controller and Remote construction, identity, include/exclude, log messages."""

from __future__ import annotations

import asyncio
import logging
import typing

import pytest
from lsst.ts import salkit
from salkit_demo_controller import DemoController

from lsst.ts.salkit import STD_TIMEOUT


async def test_controller_sets_identity_of_itself_and_its_domain() -> None:
    controller = DemoController(index=5)
    try:
        await controller.start_task
        assert controller.salinfo.identity == "Test:5"
        assert controller.domain.default_identity == "Test:5"
        remote = salkit.Remote(controller.domain, "Test", 1)
        assert remote.salinfo.identity == "Test:5"
        assert remote.salinfo.name_index == "Test:1"
    finally:
        await controller.close()
    assert controller.done_task.done()
    assert not controller.domain.isopen


async def test_domain_identity_defaults_to_user_at_host() -> None:
    async with salkit.Domain() as domain:
        assert domain.default_identity == domain.identity == salkit.get_user_host()
        assert "@" in domain.identity


async def test_controller_writes_log_level_at_start_and_log_messages() -> None:
    async with salkit.Domain() as domain:
        remote = salkit.Remote(domain, "Test", 1, include=["logLevel", "logMessage"])
        await remote.start_task
        controller = DemoController(index=1)
        controller.log.setLevel(logging.INFO)
        try:
            controller.log.warning("before start")
            await controller.start_task
            level = await remote.evt_logLevel.next(flush=False, timeout=STD_TIMEOUT)
            assert level.level == logging.INFO
            message = await remote.evt_logMessage.next(flush=False, timeout=STD_TIMEOUT)
            assert (message.message, message.level) == ("before start", logging.WARNING)
            controller.log.info("hello")
            message = await remote.evt_logMessage.next(flush=False, timeout=STD_TIMEOUT)
            assert (message.message, message.level, message.name) == ("hello", logging.INFO, "Test:1")
            assert message.functionName == "test_controller_writes_log_level_at_start_and_log_messages"
            try:
                raise ValueError("oops")
            except ValueError:
                controller.log.exception("failed")
            message = await remote.evt_logMessage.next(flush=False, timeout=STD_TIMEOUT)
            assert "ValueError: oops" in message.traceback
            await remote.cmd_setLogLevel.set_start(level=logging.DEBUG, timeout=STD_TIMEOUT)
            level = await remote.evt_logLevel.next(flush=False, timeout=STD_TIMEOUT)
            assert level.level == logging.DEBUG
        finally:
            controller.log.setLevel(logging.NOTSET)
            await controller.close()


async def test_do_callbacks_must_match_commands() -> None:
    class Missing(salkit.Controller):
        def __init__(self) -> None:
            super().__init__("Test", 1, do_callbacks=True)

    with pytest.raises(TypeError, match="lacks do_ methods"):
        Missing()

    class Extra(DemoController):
        async def do_nosuch(self, data: typing.Any) -> None:
            pass

    with pytest.raises(TypeError, match="unknown commands: \\['nosuch'\\]"):
        Extra()

    extra = Extra(extra_commands={"nosuch"})
    await extra.start_task
    await extra.close()

    class Partial(salkit.Controller):
        def __init__(self) -> None:
            super().__init__("Test", 1, do_callbacks=True, allow_missing_callbacks=True)

        async def do_fault(self, data: typing.Any) -> None:
            pass

    partial = Partial()
    await partial.start_task
    assert hasattr(partial, "cmd_fault") and not hasattr(partial, "cmd_wait")
    await partial.close()


async def test_controller_without_callbacks_has_all_topics() -> None:
    controller = salkit.Controller("Test", 1)
    try:
        await controller.start_task
        info = salkit.get_component_info("Test")
        for name in info.commands:
            assert isinstance(getattr(controller, f"cmd_{name}"), salkit.ControllerCommand)
        for name in info.events:
            assert isinstance(getattr(controller, f"evt_{name}"), salkit.ControllerEvent)
        for name in info.telemetry:
            assert isinstance(getattr(controller, f"tel_{name}"), salkit.ControllerTelemetry)
    finally:
        await controller.close()


async def test_write_only_controller_reads_no_commands() -> None:
    controller = salkit.Controller("Test", 1, write_only=True)
    try:
        await controller.start_task
        assert not hasattr(controller, "cmd_setScalars")
        assert controller.salinfo.read_topics == {}
    finally:
        await controller.close()


async def test_include_and_exclude() -> None:
    async with salkit.Domain() as domain:
        included = salkit.Remote(domain, "Test", 1, include=["scalars", "summaryState"], start=False)
        assert hasattr(included, "evt_scalars") and hasattr(included, "tel_scalars")
        assert hasattr(included, "evt_summaryState")
        assert not hasattr(included, "evt_arrays") and not hasattr(included, "tel_arrays")
        assert hasattr(included, "cmd_setArrays"), "include/exclude do not affect commands"
        excluded = salkit.Remote(domain, "Test", 1, exclude=["scalars"], start=False)
        assert not hasattr(excluded, "evt_scalars") and not hasattr(excluded, "tel_scalars")
        assert hasattr(excluded, "evt_arrays")
        with pytest.raises(ValueError, match="at most one"):
            salkit.Remote(domain, "Test", 1, include=["scalars"], exclude=["arrays"])
        with pytest.raises(ValueError, match="nosuch"):
            salkit.Remote(domain, "Test", 1, include=["nosuch"])


async def test_remote_start_false_then_start() -> None:
    async with salkit.Domain() as domain:
        remote = salkit.Remote(domain, "Test", 1, start=False)
        # A Remote made later, started at once: by then the first would have started too.
        started = salkit.Remote(domain, "Test", 1)
        await started.start_task
        assert not remote.start_task.done()
        await remote.start()
        assert remote.start_task.done()
        with pytest.raises(RuntimeError, match="already started"):
            await remote.start()


async def test_non_indexed_component_rejects_index(tmp_path: typing.Any) -> None:
    (tmp_path / "Plain.yaml").write_text("name: Plain\nindexed: false\nadded_generics: [csc]\n")
    salkit.add_interface_dir(tmp_path)
    async with salkit.Domain() as domain:
        with pytest.raises(ValueError, match="not indexed"):
            salkit.Remote(domain, "Plain", 3)
    controller = salkit.Controller("Plain")
    try:
        await controller.start_task
        assert controller.salinfo.identity == "Plain"
        assert "salIndex" not in controller.evt_summaryState.DataType.field_names  # type: ignore[attr-defined]
    finally:
        await controller.close()


async def test_two_domains_and_two_controllers_in_one_process() -> None:
    controllers = [DemoController(index=i) for i in (1, 2)]
    await asyncio.gather(*[c.start_task for c in controllers])
    try:
        async with salkit.Domain() as domain_a, salkit.Domain() as domain_b:
            remotes = [salkit.Remote(d, "Test", i) for d, i in ((domain_a, 1), (domain_b, 2))]
            await asyncio.gather(*[r.start_task for r in remotes])
            await asyncio.gather(
                remotes[0].cmd_setScalars.set_start(int0=1, timeout=STD_TIMEOUT),
                remotes[1].cmd_setScalars.set_start(int0=2, timeout=STD_TIMEOUT),
            )
            assert (await remotes[0].evt_scalars.next(flush=False, timeout=STD_TIMEOUT)).int0 == 1
            assert (await remotes[1].evt_scalars.next(flush=False, timeout=STD_TIMEOUT)).int0 == 2
            assert remotes[0].evt_scalars.nqueued == 0 and remotes[1].evt_scalars.nqueued == 0
    finally:
        await asyncio.gather(*[c.close() for c in controllers])


async def test_domain_close_closes_its_salinfos() -> None:
    domain = salkit.Domain()
    remote = salkit.Remote(domain, "Test", 1)
    await remote.start_task
    next_task = asyncio.create_task(remote.evt_scalars.next(flush=False))
    await asyncio.sleep(0)
    await domain.close()
    assert not remote.salinfo.isopen
    assert remote.salinfo.done_task.done()
    with pytest.raises(RuntimeError, match="closed"):
        await next_task
    with pytest.raises(RuntimeError, match="closed"):
        salkit.SalInfo(domain, "Test", 1)


async def test_salinfo_names() -> None:
    async with salkit.Domain() as domain:
        salinfo = salkit.SalInfo(domain, "Test", 2)
        assert salinfo.name_index == "Test:2"
        assert salinfo.indexed
        assert "setScalars" in salinfo.command_names
        assert salinfo.command_names == tuple(sorted(salinfo.command_names))
        assert "summaryState" in salinfo.event_names
        assert salinfo.telemetry_names == ("arrays", "scalars")
        assert salinfo.sal_topic_names == sorted(salinfo.sal_topic_names)


async def test_controller_start_waits_for_remotes_made_on_its_domain() -> None:
    controller = DemoController(index=1)
    remote = salkit.Remote(controller.domain, "Test", 1, include=["logLevel"], evt_max_history=0)
    try:
        await controller.start_task
        assert remote.start_task.done()
        # Without history, the logLevel event is seen only because the remote
        # started before the controller wrote it.
        level = await remote.evt_logLevel.next(flush=False, timeout=STD_TIMEOUT)
        assert level.level == controller.log.getEffectiveLevel()
    finally:
        await controller.close()
