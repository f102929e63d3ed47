"""The end-to-end demonstration run by ``make demo`` (bin/archiver_demo)."""

from __future__ import annotations

import io

import pytest

from lsst.ts.salkit.csc_demo import DEMO_COMMANDS, run_demo


async def test_demo_walks_the_states_and_ends_in_standby(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LSST_SITE", "demo")
    out = io.StringIO()
    assert await run_demo(out) == 0
    text = out.getvalue()
    assert "The Archiver CSC does not exist yet" in text
    for command in DEMO_COMMANDS:
        assert f"> {command}\n" in text
    for state in ("DISABLED: 1", "ENABLED: 2", "FAULT: 3", "STANDBY: 5"):
        assert f"summaryState=<State.{state}>" in text
    assert "configurations='_init.yaml,demo.yaml'" in text
    assert f"commands sent: {len(DEMO_COMMANDS)}, succeeded: {len(DEMO_COMMANDS) - 1}, failed: 1" in text
    assert "final summary state: <State.STANDBY: 5>" in text
