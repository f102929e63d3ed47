"""BaseCsc and ConfigurableCsc through the demonstration TestCsc and
BaseCscTestCase (sal-wire.md §2.1-2.7, §2.11)."""

from __future__ import annotations

import asyncio
import logging
import pathlib
import shutil
import subprocess
import tempfile
import typing
import unittest

from lsst.ts import salkit

from lsst.ts.salkit import STD_TIMEOUT
from lsst.ts.salkit.test_csc import TestCsc

CONFIG_DIR = pathlib.Path(__file__).resolve().parents[1] / "data" / "config" / "Test" / "v1"
NONSTATE_COMMANDS = ("fault", "setArrays", "setScalars", "wait")


class CscTestCase(salkit.BaseCscTestCase, unittest.IsolatedAsyncioTestCase):
    def basic_make_csc(
        self,
        initial_state: salkit.State | int | None,
        config_dir: str | pathlib.Path | None,
        simulation_mode: int,
        **kwargs: typing.Any,
    ) -> salkit.BaseCsc:
        index = kwargs.pop("index", None) or self.next_index()
        return TestCsc(
            index=index,
            initial_state=salkit.State.STANDBY if initial_state is None else initial_state,
            config_dir=CONFIG_DIR if config_dir is None else config_dir,
            simulation_mode=simulation_mode,
            **kwargs,
        )

    async def test_standard_state_transitions(self) -> None:
        async with self.make_csc(initial_state=salkit.State.STANDBY):
            await self.check_standard_state_transitions(
                enabled_commands=NONSTATE_COMMANDS, override="all_fields.yaml"
            )
            assert self.csc.summary_state == salkit.State.OFFLINE

    async def test_initial_info_is_written_at_start(self) -> None:
        async with self.make_csc():
            await self.assert_next_summary_state(salkit.State.STANDBY)
            await self.assert_next_sample(self.remote.evt_errorCode, errorCode=0, errorReport="")
            await self.assert_next_sample(self.remote.evt_simulationMode, mode=0)
            versions = await self.assert_next_sample(self.remote.evt_softwareVersions)
            assert versions.cscVersion == TestCsc.version != ""
            assert versions.salVersion == ""
            await self.assert_next_sample(self.remote.evt_logLevel, level=logging.INFO)
            available = await self.assert_next_sample(self.remote.evt_configurationsAvailable)
            assert available.overrides.split(",") == sorted(
                p.name for p in CONFIG_DIR.glob("*.yaml") if not p.name.startswith("_")
            )
            assert available.url == CONFIG_DIR.as_uri()
            assert available.schemaVersion == "v1"

    async def test_configuration_is_applied_and_reported(self) -> None:
        async with self.make_csc():
            await salkit.set_summary_state(self.remote, salkit.State.DISABLED, override="some_fields.yaml")
            config = self.csc.config  # type: ignore[attr-defined]
            assert (config.int0, config.float0) == (11, 0.5)  # from the override
            assert config.string0 == "test site value"  # from _test.yaml (LSST_SITE=test)
            assert config.intarr0 == [-1, 1]  # from _init.yaml
            assert not hasattr(config, "metadata")
            applied = await self.assert_next_sample(
                self.remote.evt_configurationApplied,
                configurations="_init.yaml,_test.yaml,some_fields.yaml",
                url=CONFIG_DIR.as_uri(),
                schemaVersion="v1",
            )
            available = self.remote.evt_configurationsAvailable.get()
            assert applied.version == available.version

    async def test_bad_overrides_fail_clearly_and_stay_in_standby(self) -> None:
        cases = {
            "no_such_file.yaml": "not found",
            "_init.yaml": "must not start with '_'",
            "invalid_wrong_type.yaml": "int0",
            "invalid_unknown_field.yaml": "no_such_field",
            "invalid_malformed.yaml": "not valid YAML",
            "all_fields.yaml:no_such_git_ref_xyz": "no_such_git_ref_xyz",
        }
        async with self.make_csc():
            await self.assert_next_summary_state(salkit.State.STANDBY)
            for override, message in cases.items():
                async with salkit.assertRaisesAckError(
                    ack=salkit.SalRetCode.CMD_FAILED, result_contains=message
                ):
                    await self.remote.cmd_start.set_start(configurationOverride=override, timeout=STD_TIMEOUT)
                assert self.csc.summary_state == salkit.State.STANDBY
            # Still configurable after the failures.
            await self.remote.cmd_start.set_start(configurationOverride="", timeout=STD_TIMEOUT)
            await self.assert_next_summary_state(salkit.State.DISABLED)

    async def test_configure_rejecting_the_configuration_keeps_standby(self) -> None:
        async with self.make_csc():
            await self.assert_next_summary_state(salkit.State.STANDBY)

            async def configure(config: typing.Any) -> None:
                raise salkit.ExpectedError(f"int0={config.int0} is not supported by this hardware")

            self.csc.configure = configure  # type: ignore[method-assign]
            async with salkit.assertRaisesAckError(result_contains="int0=5 is not supported"):
                await self.remote.cmd_start.set_start(configurationOverride="", timeout=STD_TIMEOUT)
            assert self.csc.summary_state == salkit.State.STANDBY
            assert self.remote.evt_configurationApplied.get() is None
            # The directory is polled again in STANDBY.
            assert self.csc._config_dir_poll_task is not None  # type: ignore[attr-defined]
            assert not self.csc._config_dir_poll_task.done()  # type: ignore[attr-defined]

    async def test_every_invalid_transition_fails_with_a_clear_message(self) -> None:
        state_commands = ("start", "enable", "disable", "standby", "exitControl")
        allowed = {
            salkit.State.STANDBY: {"start", "exitControl"},
            salkit.State.DISABLED: {"enable", "standby"},
            salkit.State.ENABLED: {"disable"},
            salkit.State.FAULT: {"standby"},
        }
        for state, good in allowed.items():
            initial = salkit.State.ENABLED if state == salkit.State.FAULT else state
            async with self.make_csc(initial_state=initial):
                if state == salkit.State.FAULT:
                    await self.csc.fault(code=5, report="test fault")
                assert self.csc.summary_state == state
                for command in state_commands:
                    if command in good:
                        continue
                    async with salkit.assertRaisesAckError(
                        ack=salkit.SalRetCode.CMD_FAILED,
                        result_contains=f"{command} not allowed in state {state!r}",
                    ):
                        await getattr(self.remote, f"cmd_{command}").start(timeout=STD_TIMEOUT)
                    assert self.csc.summary_state == state

    async def test_fault_and_recovery_via_standby(self) -> None:
        async with self.make_csc(initial_state=salkit.State.ENABLED):
            await self.assert_next_summary_state(salkit.State.ENABLED)
            await self.assert_next_sample(self.remote.evt_errorCode, errorCode=0)
            await self.remote.cmd_fault.start(timeout=STD_TIMEOUT)
            await self.assert_next_summary_state(salkit.State.FAULT)
            await self.assert_next_sample(self.remote.evt_errorCode, errorCode=1, errorReport="Fault command")
            async with salkit.assertRaisesAckError(
                ack=salkit.SalRetCode.CMD_FAILED, result_contains="in Fault state: errorCode=1"
            ):
                await self.remote.cmd_setScalars.start(timeout=STD_TIMEOUT)
            for command in ("start", "enable", "disable", "exitControl"):
                async with salkit.assertRaisesAckError(ack=salkit.SalRetCode.CMD_FAILED):
                    await getattr(self.remote, f"cmd_{command}").start(timeout=STD_TIMEOUT)
            await self.remote.cmd_standby.start(timeout=STD_TIMEOUT)
            await self.assert_next_summary_state(salkit.State.STANDBY)
            await self.assert_next_sample(
                self.remote.evt_errorCode, errorCode=0, errorReport="", traceback=""
            )
            await salkit.set_summary_state(self.remote, salkit.State.ENABLED)
            await self.remote.cmd_setScalars.set_start(int0=3, timeout=STD_TIMEOUT)

    async def test_fault_is_not_reentrant(self) -> None:
        calls: list[salkit.State] = []

        async def handle_summary_state() -> None:
            calls.append(self.csc.summary_state)
            if self.csc.summary_state == salkit.State.FAULT:
                await self.csc.fault(code=99, report="nested fault")

        async with self.make_csc(initial_state=salkit.State.DISABLED):
            self.csc.handle_summary_state = handle_summary_state  # type: ignore[method-assign]
            await self.csc.fault(code=2, report="outer fault")
            assert calls == [salkit.State.FAULT]
            assert self.remote.evt_errorCode is not None
            await self.remote.evt_errorCode.aget(timeout=STD_TIMEOUT)
            # A later sample of the CSC: a nested errorCode would have come before it.
            await self.csc.evt_scalars.set_write(int0=7, force_output=True)  # type: ignore[attr-defined]
            await self.assert_next_sample(self.remote.evt_scalars, int0=7)
            data = self.remote.evt_errorCode.get()
            assert (data.errorCode, data.errorReport) == (2, "outer fault")

    async def test_failing_end_hook_reverts_state_unless_expected_error(self) -> None:
        async with self.make_csc(initial_state=salkit.State.DISABLED):
            await self.assert_next_summary_state(salkit.State.DISABLED)

            async def end_enable_generic(data: typing.Any) -> None:
                raise RuntimeError("end_enable is broken")

            self.csc.end_enable = end_enable_generic  # type: ignore[method-assign]
            async with salkit.assertRaisesAckError(result_contains="end_enable is broken"):
                await self.remote.cmd_enable.start(timeout=STD_TIMEOUT)
            assert self.csc.summary_state == salkit.State.DISABLED

            async def end_enable_expected(data: typing.Any) -> None:
                raise salkit.ExpectedError("end_enable expected failure")

            self.csc.end_enable = end_enable_expected  # type: ignore[method-assign]
            async with salkit.assertRaisesAckError(result_contains="end_enable expected failure"):
                await self.remote.cmd_enable.start(timeout=STD_TIMEOUT)
            assert self.csc.summary_state == salkit.State.ENABLED

            async def begin_disable(data: typing.Any) -> None:
                raise RuntimeError("begin_disable refuses")

            self.csc.begin_disable = begin_disable  # type: ignore[method-assign]
            async with salkit.assertRaisesAckError(result_contains="begin_disable refuses"):
                await self.remote.cmd_disable.start(timeout=STD_TIMEOUT)
            assert self.csc.summary_state == salkit.State.ENABLED

    async def test_hooks_run_in_order(self) -> None:
        async with self.make_csc():
            events: list[str] = []
            csc = self.csc

            def recorder(label: str) -> typing.Callable[..., typing.Awaitable[None]]:
                async def hook(*args: typing.Any) -> None:
                    events.append(f"{label}:{csc.summary_state.name}")

                return hook

            csc.begin_enable = recorder("begin_enable")  # type: ignore[method-assign]
            csc.end_enable = recorder("end_enable")  # type: ignore[method-assign]
            csc.handle_summary_state = recorder("handle_summary_state")  # type: ignore[method-assign]
            await salkit.set_summary_state(self.remote, salkit.State.DISABLED)
            events.clear()
            await self.remote.cmd_enable.start(timeout=STD_TIMEOUT)
            assert events == ["begin_enable:DISABLED", "end_enable:ENABLED", "handle_summary_state:ENABLED"]

    async def test_command_raising_an_exception_fails_and_csc_keeps_running(self) -> None:
        async with self.make_csc(initial_state=salkit.State.ENABLED):
            async with salkit.assertRaisesAckError(
                ack=salkit.SalRetCode.CMD_FAILED, result_contains="wait failed as requested"
            ):
                await self.remote.cmd_wait.set_start(
                    ack=salkit.SalRetCode.CMD_FAILED, duration=0, timeout=STD_TIMEOUT
                )
            async with salkit.assertRaisesAckError(
                ack=salkit.SalRetCode.CMD_FAILED, result_contains="duration=-1.0 must be >= 0"
            ):
                await self.remote.cmd_wait.set_start(ack=0, duration=-1.0, timeout=STD_TIMEOUT)
            assert self.csc.summary_state == salkit.State.ENABLED
            ackcmd = await self.remote.cmd_setScalars.set_start(int0=4, timeout=STD_TIMEOUT)
            assert ackcmd.ack == salkit.SalRetCode.CMD_COMPLETE

    async def test_command_timing_out(self) -> None:
        async with self.make_csc(initial_state=salkit.State.ENABLED):
            # The CSC reports a timeout.
            async with salkit.assertRaisesAckError(ack=salkit.SalRetCode.CMD_TIMEOUT):
                await self.remote.cmd_wait.set_start(
                    ack=salkit.SalRetCode.CMD_TIMEOUT, duration=0, timeout=STD_TIMEOUT
                )
            # An INPROGRESS ack extends the sender's deadline.
            ackcmd = await self.remote.cmd_wait.set_start(
                ack=salkit.SalRetCode.CMD_INPROGRESS, duration=0.5, timeout=0.2
            )
            assert ackcmd.ack == salkit.SalRetCode.CMD_COMPLETE
            # The sender gives up waiting; no ack was seen.
            async with salkit.assertRaisesAckTimeoutError(ack=salkit.SalRetCode.CMD_NOACK):
                await self.remote.cmd_wait.set_start(ack=0, duration=2.0, timeout=0.2)

    async def test_commands_arriving_faster_than_handled(self) -> None:
        num_commands = 50
        async with self.make_csc(initial_state=salkit.State.ENABLED):
            tasks = [
                asyncio.create_task(self.remote.cmd_setScalars.set_start(int0=i, timeout=STD_TIMEOUT))
                for i in range(num_commands)
            ]
            # A slow command of another name runs concurrently.
            waiter = asyncio.create_task(
                self.remote.cmd_wait.set_start(ack=0, duration=0.2, timeout=STD_TIMEOUT)
            )
            acks = await asyncio.gather(*tasks, waiter)
            assert all(ack.ack == salkit.SalRetCode.CMD_COMPLETE for ack in acks)
            values = [
                (await self.remote.evt_scalars.next(flush=False, timeout=STD_TIMEOUT)).int0 for _ in tasks
            ]
            assert values == list(range(num_commands))  # same-name commands run in order

    async def test_initial_state_enabled_applies_override(self) -> None:
        async with self.make_csc(initial_state=salkit.State.ENABLED, override="all_fields.yaml"):
            await self.assert_next_summary_state(salkit.State.ENABLED)
            assert self.csc.config.int0 == -2  # type: ignore[attr-defined]
            await self.assert_next_sample(
                self.remote.evt_configurationApplied, configurations="_init.yaml,_test.yaml,all_fields.yaml"
            )

    async def test_initial_state_offline(self) -> None:
        async with self.make_csc(initial_state=salkit.State.OFFLINE):
            await self.assert_next_summary_state(salkit.State.OFFLINE)
            assert not self.csc.done_task.done()

    async def test_log_messages_and_set_log_level(self) -> None:
        async with self.make_csc(initial_state=salkit.State.STANDBY):
            await self.assert_next_sample(self.remote.evt_logLevel, level=logging.INFO)
            self.csc.log.info("an info message")
            await self.assert_next_sample(
                self.remote.evt_logMessage,
                level=logging.INFO,
                message="an info message",
                name=self.csc.log.name,
            )
            self.csc.log.debug("hidden debug message")
            await self.remote.cmd_setLogLevel.set_start(level=logging.DEBUG, timeout=STD_TIMEOUT)
            await self.assert_next_sample(self.remote.evt_logLevel, level=logging.DEBUG, subsystem="")
            self.csc.log.debug("visible debug message")
            await self.assert_next_sample(self.remote.evt_logMessage, message="visible debug message")
            try:
                raise ValueError("boom")
            except ValueError:
                self.csc.log.exception("with a traceback")
            data = await self.assert_next_sample(self.remote.evt_logMessage, level=logging.ERROR)
            assert "ValueError: boom" in data.traceback
            # Works in every state, including FAULT, and for a subsystem logger.
            await self.csc.fault(code=3, report="fault for the test")
            await self.remote.cmd_setLogLevel.set_start(
                level=logging.WARNING, subsystem="lsst.ts.salkit.test_subsystem", timeout=STD_TIMEOUT
            )
            assert logging.getLogger("lsst.ts.salkit.test_subsystem").level == logging.WARNING
            await self.assert_next_sample(
                self.remote.evt_logLevel, level=logging.WARNING, subsystem="lsst.ts.salkit.test_subsystem"
            )

    async def test_heartbeat_is_written_every_second(self) -> None:
        async with self.make_csc():
            stamps = []
            for _ in range(3):
                data = await self.assert_next_sample(self.remote.evt_heartbeat, timeout=STD_TIMEOUT)
                stamps.append(data.private_sndStamp)
            intervals = [b - a for a, b in zip(stamps, stamps[1:], strict=False)]
            assert all(0.5 < interval < 1.5 for interval in intervals), intervals

    async def test_duplicate_instance_is_detected(self) -> None:
        async with self.make_csc():
            duplicate = TestCsc(index=self.csc.salinfo.index, config_dir=CONFIG_DIR, check_if_duplicate=True)
            with self.assertRaisesRegex(salkit.ExpectedError, "found another instance"):
                await asyncio.wait_for(duplicate.start_task, STD_TIMEOUT)
            with self.assertRaisesRegex(salkit.ExpectedError, "found another instance"):
                await asyncio.wait_for(duplicate.done_task, STD_TIMEOUT)
            assert not duplicate.isopen
            assert self.csc.isopen

    async def test_no_duplicate_starts_normally(self) -> None:
        async with self.make_csc(check_if_duplicate=True):
            await self.assert_next_summary_state(salkit.State.STANDBY)

    async def test_simulation_mode(self) -> None:
        async with self.make_csc(simulation_mode=1):
            await self.assert_next_sample(self.remote.evt_simulationMode, mode=1)
            assert self.csc.simulation_mode == 1

    async def test_override_at_a_git_reference(self) -> None:
        with tempfile.TemporaryDirectory() as tmp:
            config_dir = pathlib.Path(tmp)
            for path in CONFIG_DIR.glob("*.yaml"):
                shutil.copy(path, config_dir)

            def git(*args: str) -> None:
                subprocess.run(["git", *args], cwd=config_dir, check=True, capture_output=True)

            git("init", "-q")
            git(
                "-c",
                "user.name=t",
                "-c",
                "user.email=t@example.org",
                "commit",
                "-q",
                "--allow-empty",
                "-m",
                "empty",
            )
            git("add", ".")
            git("-c", "user.name=t", "-c", "user.email=t@example.org", "commit", "-q", "-m", "config")
            (config_dir / "some_fields.yaml").write_text("int0: 99\n")  # uncommitted change
            async with self.make_csc(config_dir=config_dir):
                await self.remote.cmd_start.set_start(
                    configurationOverride="some_fields.yaml:HEAD", timeout=STD_TIMEOUT
                )
                assert self.csc.config.int0 == 11  # type: ignore[attr-defined]
                applied = await self.assert_next_sample(self.remote.evt_configurationApplied)
                assert applied.version.endswith("-dirty")
                await salkit.set_summary_state(self.remote, salkit.State.STANDBY)
                await self.remote.cmd_start.set_start(
                    configurationOverride="some_fields.yaml", timeout=STD_TIMEOUT
                )
                assert self.csc.config.int0 == 99  # type: ignore[attr-defined]
                await salkit.set_summary_state(self.remote, salkit.State.STANDBY)
                async with salkit.assertRaisesAckError(result_contains="HEAD~1"):
                    await self.remote.cmd_start.set_start(
                        configurationOverride="some_fields.yaml:HEAD~1", timeout=STD_TIMEOUT
                    )

    async def test_configurations_available_follows_the_directory_in_standby(self) -> None:
        with tempfile.TemporaryDirectory() as tmp:
            config_dir = pathlib.Path(tmp)
            for name in ("_init.yaml", "all_fields.yaml"):
                shutil.copy(CONFIG_DIR / name, config_dir)
            async with self.make_csc(config_dir=config_dir):
                await self.assert_next_sample(
                    self.remote.evt_configurationsAvailable, overrides="all_fields.yaml"
                )
                shutil.copy(CONFIG_DIR / "some_fields.yaml", config_dir)
                await self.assert_next_sample(
                    self.remote.evt_configurationsAvailable, overrides="all_fields.yaml,some_fields.yaml"
                )
                # Not polled outside STANDBY.
                await salkit.set_summary_state(self.remote, salkit.State.DISABLED)
                shutil.copy(CONFIG_DIR / "invalid_wrong_type.yaml", config_dir)
                # Two heartbeats later, more than one poll interval: still the old list.
                for _ in range(2):
                    await self.remote.evt_heartbeat.next(flush=True, timeout=STD_TIMEOUT)
                assert (
                    self.remote.evt_configurationsAvailable.get().overrides
                    == "all_fields.yaml,some_fields.yaml"
                )

    async def test_assert_next_sample_skips_samples_from_before_the_csc(self) -> None:
        index = self.next_index()
        old_csc = TestCsc(index=index, config_dir=CONFIG_DIR, initial_state=salkit.State.DISABLED)
        await old_csc.start_task
        await old_csc.close()
        # The new Remote gets the old CSC's last summaryState (DISABLED) as history.
        async with self.make_csc(index=index):
            await self.assert_next_summary_state(salkit.State.STANDBY)

    async def test_check_standard_state_transitions_catches_a_command_allowed_too_early(self) -> None:
        async def lax_set_scalars(data: typing.Any) -> None:
            pass  # forgets assert_enabled

        async with self.make_csc():
            self.csc.cmd_setScalars.callback = lax_set_scalars  # type: ignore[attr-defined]
            with self.assertRaisesRegex(AssertionError, "setScalars succeeded in state <State.STANDBY: 5>"):
                await self.check_standard_state_transitions(enabled_commands=NONSTATE_COMMANDS)


class TestCscConstruction:
    """Constructor checks (pytest style)."""

    @staticmethod
    def _site(monkeypatch: typing.Any) -> None:
        monkeypatch.setenv("LSST_SITE", "test")

    async def test_invalid_simulation_mode_is_rejected(self, monkeypatch: typing.Any) -> None:
        self._site(monkeypatch)
        with unittest.TestCase().assertRaisesRegex(ValueError, "simulation_mode=2 not in"):
            TestCsc(index=1, config_dir=CONFIG_DIR, simulation_mode=2)

    async def test_fault_initial_state_is_rejected(self, monkeypatch: typing.Any) -> None:
        self._site(monkeypatch)
        with unittest.TestCase().assertRaisesRegex(ValueError, "must not be FAULT"):
            TestCsc(index=1, config_dir=CONFIG_DIR, initial_state=salkit.State.FAULT)

    async def test_missing_version_is_rejected(self, monkeypatch: typing.Any) -> None:
        self._site(monkeypatch)

        class NoVersionCsc(TestCsc):
            version = None

        with unittest.TestCase().assertRaisesRegex(RuntimeError, "version"):
            NoVersionCsc(index=1, config_dir=CONFIG_DIR)

    async def test_missing_site_is_a_clear_error(self, monkeypatch: typing.Any) -> None:
        monkeypatch.delenv("LSST_SITE", raising=False)
        with unittest.TestCase().assertRaisesRegex(RuntimeError, r"\$LSST_SITE is not set"):
            TestCsc(index=1, config_dir=CONFIG_DIR)

    async def test_missing_config_dir_is_a_clear_error(self, monkeypatch: typing.Any) -> None:
        self._site(monkeypatch)
        monkeypatch.delenv("TS_CONFIG_OCS_DIR", raising=False)
        with unittest.TestCase().assertRaisesRegex(RuntimeError, r"set \$TS_CONFIG_OCS_DIR"):
            TestCsc(index=1)

    async def test_default_config_dir_comes_from_the_config_package(self, monkeypatch: typing.Any) -> None:
        self._site(monkeypatch)
        monkeypatch.setenv("TS_CONFIG_OCS_DIR", str(CONFIG_DIR.parents[1]))
        csc = TestCsc(index=1)
        try:
            assert csc.config_dir == CONFIG_DIR
        finally:
            await csc.close()

    async def test_nonexistent_config_dir_is_rejected(
        self, monkeypatch: typing.Any, tmp_path: pathlib.Path
    ) -> None:
        self._site(monkeypatch)
        with unittest.TestCase().assertRaisesRegex(ValueError, "does not exist"):
            TestCsc(index=1, config_dir=tmp_path / "missing")

    async def test_do_methods_must_match_commands(self, monkeypatch: typing.Any) -> None:
        self._site(monkeypatch)

        class ExtraDoCsc(TestCsc):
            async def do_noSuchCommand(self, data: typing.Any) -> None:
                pass

        with unittest.TestCase().assertRaisesRegex(TypeError, "noSuchCommand"):
            ExtraDoCsc(index=1, config_dir=CONFIG_DIR)
