"""The operator guide's command sequences, run as written from the source tree.

Every ``bin/`` script that README.md, doc/archiver.rst and doc/kafka.rst name
answers ``--help`` and lists the options the guides show with it; the scripts
run directly, without the venv activated. The quick-start sequences of
doc/archiver.rst are run for real, each command line first checked to be in
one of the guides' literal blocks: the CSC with ``--simulate`` on its own
console (state lines, Ctrl-C at once), the Archiver and its commander in one
process (``takeImages``, the image's line, ``map``, ``exit``), and a CSC,
``archiver_commander`` and ``camera_commander`` in three "terminals" over a
Kafka stack started as ``make kafka-up`` starts it.

The test site's configuration is used with its root (``/tmp/ts_archiver_test``)
moved under the test's temporary directory.
"""

from __future__ import annotations

import json
import os
import pathlib
import re
import shlex
import signal
import subprocess
import threading
import time
from collections.abc import Iterator

import pytest

from lsst.ts.archiver.testing import STD_TIMEOUT

pytestmark = pytest.mark.integration  # runs the bin scripts, a CSC and tansu

REPO = pathlib.Path(__file__).resolve().parents[2]
GUIDES = (REPO / "README.md", REPO / "doc" / "archiver.rst", REPO / "doc" / "kafka.rst")
TEST_SITE_ROOT = "/tmp/ts_archiver_test"
KAFKA_VARIABLES = re.compile(r"LSST_(SALKIT_TRANSPORT|KAFKA_.*|SCHEMA_REGISTRY_URL|TOPIC_SUBNAME)")
IMAGE_LINE = re.compile(r"(AT_O_\d{8}_\d{6}) archived: 1/1 detectors, [0-9.]+ s after endOfImageTelemetry")


HELP_RUNNER = """
import contextlib, io, json, runpy, sys
helps = {}
for script in sys.argv[1:]:
    sys.argv, output, status = [script, "--help"], io.StringIO(), None
    with contextlib.redirect_stdout(output), contextlib.redirect_stderr(output):
        try:
            runpy.run_path(script, run_name="__main__")
        except SystemExit as e:
            status = e.code
    helps[script] = [status, output.getvalue()]
print(json.dumps(helps))
"""
"""Runs ``<script> --help`` for every script given, in one Python; prints
``{script: [exit status, output]}`` as JSON."""


def guide_bin_commands() -> dict[str, set[str]]:
    """The ``bin/`` scripts the guides name (``bin/<name>`` or just ``<name>``),
    each with the ``--options`` the guides show on the same line."""
    names = sorted(path.name for path in (REPO / "bin").iterdir())
    mention = re.compile(r"(?<![\w./-])(?:bin/)?(" + "|".join(names) + r")\b([^`#\n]*)")
    commands: dict[str, set[str]] = {}
    for path in GUIDES:
        for match in mention.finditer(path.read_text().replace("\\\n", " ")):
            options = re.findall(r"(?<![\w-])--[a-z][a-z-]*", match.group(2))
            commands.setdefault(match.group(1), set()).update(options)
    return commands


def guide_literal_lines() -> set[str]:
    """The command lines of the guides' literal blocks (reST ``::`` blocks,
    Markdown fences), without comments."""
    lines: set[str] = set()
    for path in GUIDES:
        for block in _literal_blocks(path.read_text().splitlines(), markdown=path.suffix == ".md"):
            for raw in block:
                command = raw.split("  #", 1)[0].strip()
                if command and not command.startswith("#"):
                    lines.add(command)
    return lines


def _literal_blocks(lines: list[str], markdown: bool) -> Iterator[list[str]]:
    block: list[str] | None = None
    indent = 0
    for raw in lines:
        if markdown:
            if raw.startswith("```"):
                if block is not None:
                    yield block
                block = None if block is not None else []
            elif block is not None:
                block.append(raw)
            continue
        depth = len(raw) - len(raw.lstrip())
        if block is not None and raw.strip():
            if indent == 0 and depth > 0:
                indent = depth
            if depth < indent or indent == 0:
                yield block
                block = None
            else:
                block.append(raw)
        if block is None and raw.rstrip().endswith("::"):
            block, indent = [], 0
    if block is not None:
        yield block


def assert_in_guide(*commands: str) -> None:
    """Fail if a command line the test runs is not shown in a literal block of the guides."""
    shown = guide_literal_lines()
    missing = [command for command in commands if command not in shown]
    assert not missing, f"not in the guides' literal blocks: {missing}"


def operator_environ(**extra: str) -> dict[str, str]:
    """A new terminal: this environment without the venv (not activated, not on
    PATH) and without Kafka settings, with ``LSST_SITE=test``."""
    venv_bin = str(REPO / ".venv" / "bin")
    env = {
        name: value
        for name, value in os.environ.items()
        if name != "VIRTUAL_ENV" and not KAFKA_VARIABLES.fullmatch(name)
    }
    env["PATH"] = os.pathsep.join(
        part for part in env.get("PATH", "/usr/bin:/bin").split(os.pathsep) if part != venv_bin
    )
    env.update(LSST_SITE="test", PYTHONUNBUFFERED="1", **extra)
    return env


def relocated_test_site(component: str, root: pathlib.Path) -> pathlib.Path:
    """``config/<component>/v1`` with the test site's root moved to ``root``."""
    config_dir = root / "config" / component
    config_dir.mkdir(parents=True)
    for name in ("_init.yaml", "_test.yaml"):
        text = (REPO / "config" / component / "v1" / name).read_text()
        assert name == "_init.yaml" or TEST_SITE_ROOT in text, f"the test site is not under {TEST_SITE_ROOT}"
        (config_dir / name).write_text(text.replace(TEST_SITE_ROOT, str(root / "site")))
    return config_dir


class Terminal:
    """A command run as in a terminal of its own: its own process group (Ctrl-C
    reaches all its processes), stdin a pipe, stdout and stderr collected as lines.

    Parameters
    ----------
    command : `str`
        Shell command line (bash), run in ``cwd``.
    cwd : `pathlib.Path`
        Working directory.
    env : `dict` [`str`, `str`]
        Environment.
    """

    def __init__(self, command: str, cwd: pathlib.Path, env: dict[str, str]) -> None:
        self.command = command
        self.lines: list[str] = []
        self.process = subprocess.Popen(
            ["bash", "-c", command],
            cwd=cwd,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        self._printed = threading.Condition()
        self._ended = False
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            with self._printed:
                self.lines.append(line.rstrip("\n"))
                self._printed.notify_all()
        with self._printed:
            self._ended = True
            self._printed.notify_all()

    @property
    def text(self) -> str:
        """Everything printed so far."""
        return "\n".join(self.lines)

    def wait_for(self, pattern: str | re.Pattern[str], timeout: float = STD_TIMEOUT) -> re.Match[str]:
        """Wait for a line matching ``pattern`` (woken by each line printed, so
        the test acts as soon as it appears); return the match."""
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        checked = 0
        with self._printed:
            while True:
                for line in self.lines[checked:]:
                    found = regex.search(line)
                    if found:
                        return found
                checked = len(self.lines)
                remaining = deadline - time.monotonic()
                if self._ended or remaining <= 0:
                    end = "ended" if self._ended else f"printed nothing matching within {timeout:g} s"
                    raise AssertionError(f"{self.command!r} {end}, without {regex.pattern!r}:\n{self.text}")
                self._printed.wait(remaining)

    def type(self, line: str) -> None:
        """Type a line."""
        assert self.process.stdin is not None
        self.process.stdin.write(line + "\n")
        self.process.stdin.flush()

    def ctrl_c(self) -> None:
        """Ctrl-C: SIGINT to the terminal's foreground process group."""
        os.killpg(self.process.pid, signal.SIGINT)

    def exit_status(self, timeout: float = STD_TIMEOUT) -> int:
        """Wait for the command to end; return its exit status."""
        status = self.process.wait(timeout)
        self._reader.join(timeout=STD_TIMEOUT)
        return status

    def kill(self) -> None:
        """Kill what is left of the command's process group (test teardown)."""
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass  # every process of the group has ended
        self.process.wait(STD_TIMEOUT)


@pytest.fixture
def terminals() -> Iterator[list[Terminal]]:
    """Terminals a test opens; whatever still runs at its end is killed."""
    opened: list[Terminal] = []
    yield opened
    for terminal in opened:
        terminal.kill()


def open_terminal(opened: list[Terminal], command: str, cwd: pathlib.Path, env: dict[str, str]) -> Terminal:
    terminal = Terminal(command, cwd, env)
    opened.append(terminal)
    return terminal


def assert_clean_exit(terminal: Terminal) -> None:
    status = terminal.exit_status()
    assert status == 0, f"{terminal.command!r} exited {status}:\n{terminal.text}"
    assert "Traceback" not in terminal.text, terminal.text


def test_every_bin_command_of_the_guides_answers_help_with_the_options_shown(tmp_path: pathlib.Path) -> None:
    commands = guide_bin_commands()
    assert {"run_atarchiver", "archiver_commander", "camera_commander", "salkit_kafka"} <= set(commands)
    assert {"--simulate", "--state"} <= commands["run_atarchiver"]
    for name in commands:
        assert os.access(REPO / "bin" / name, os.X_OK), f"bin/{name} is not an executable script"
    # One Python runs every script's --help (the imports are paid once); see the next test for
    # the scripts run directly.
    scripts = [str(REPO / "bin" / name) for name in sorted(commands)]
    runner = subprocess.run(
        [str(REPO / ".venv" / "bin" / "python"), "-c", HELP_RUNNER, *scripts],
        cwd=tmp_path,
        env=operator_environ(),
        capture_output=True,
        text=True,
        timeout=STD_TIMEOUT,
    )
    assert runner.returncode == 0, runner.stderr
    helps = json.loads(runner.stdout)
    for name, script in zip(sorted(commands), scripts, strict=True):
        status, output = helps[script]
        assert status == 0, f"bin/{name} --help exited {status}:\n{output}"
        assert "usage:" in output, output
        unknown = sorted(option for option in commands[name] if not re.search(rf"{option}\b", output))
        assert not unknown, f"the guides show bin/{name} {unknown}, which its --help does not list:\n{output}"


def test_bin_scripts_run_directly_without_the_venv_activated(tmp_path: pathlib.Path) -> None:
    stub = "except ModuleNotFoundError as error:  # run from the source tree by a Python without the package"
    for script in (REPO / "bin").iterdir():
        assert stub in script.read_text(), f"{script} does not re-execute with .venv"
    # The example: a Python without the package on PATH (the venv is neither active nor on it).
    help_ = subprocess.run(
        [str(REPO / "bin" / "run_ccarchiver"), "--help"],
        cwd=tmp_path,
        env=operator_environ(),
        capture_output=True,
        text=True,
        timeout=STD_TIMEOUT,
    )
    assert help_.returncode == 0 and "usage: run_ccarchiver" in help_.stdout, help_.stdout + help_.stderr


def test_the_csc_on_its_own_console_reports_its_states_and_ctrl_c_stops_it_at_once(
    tmp_path: pathlib.Path, terminals: list[Terminal]
) -> None:
    command = "bin/run_atarchiver --simulate --state enabled"
    assert_in_guide(command)
    config_dir = relocated_test_site("ATArchiver", tmp_path)
    # Two workers: ENABLED may come when one has started and the other still imports its code.
    site = config_dir / "_test.yaml"
    site.write_text(re.sub(r"(?m)^workers: .*$", "workers: 2", site.read_text()))
    csc = open_terminal(terminals, f"{command} --configdir {config_dir}", REPO, operator_environ())
    for state in ("STANDBY", "DISABLED", "ENABLED"):
        csc.wait_for(rf"ATArchiver INFO: Summary state {state}$")
    # Ctrl-C at once, as an operator may.
    csc.ctrl_c()
    assert_clean_exit(csc)
    assert "Received signal SIGINT; quitting" in csc.text


def test_one_process_session_takes_an_image_maps_it_and_exits(
    tmp_path: pathlib.Path, terminals: list[Terminal]
) -> None:
    command = "bin/archiver_commander ATArchiver --simulate --enable"
    assert_in_guide(command, "takeImages 1 1.0", "exit")
    assert any(line.startswith("map AT_O_") for line in guide_literal_lines())
    config_dir = relocated_test_site("ATArchiver", tmp_path)
    # Run in tmp_path (not the project root) so that the map lands there.
    session = open_terminal(
        terminals, f"{REPO}/{command} --configdir {config_dir}", tmp_path, operator_environ()
    )
    session.wait_for(r"summaryState: summaryState=<State.ENABLED")
    session.type("takeImages 1 1.0")
    obsid = session.wait_for(r"(AT_O_\d{8}_\d{6}): OK; 1/1 archived").group(1)
    session.type(f"map {obsid}")
    written = session.wait_for(rf"Focal-plane map of {obsid}: (.*)$").group(1)
    assert pathlib.Path(written) == tmp_path / f"{obsid}.png"
    assert pathlib.Path(written).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    session.type("exit")
    assert_clean_exit(session)


def test_kafka_session_in_three_terminals(tmp_path: pathlib.Path, terminals: list[Terminal]) -> None:
    env_line = 'eval "$(bin/salkit_kafka env)"'
    csc_command = "bin/run_atarchiver --simulate --state enabled"
    assert_in_guide(
        env_line, csc_command, "bin/archiver_commander ATArchiver", "bin/camera_commander ATCamera"
    )
    assert_in_guide("make kafka-up", "make kafka-down")
    salkit_kafka = str(REPO / "bin" / "salkit_kafka")
    # make kafka-up runs bin/salkit_kafka --dir .kafka up in the project root; here the "project
    # root" of the stack is tmp_path, so every terminal finds .kafka there.
    makefile = (REPO / "Makefile").read_text()
    assert re.search(r"(?m)^kafka-up:.*\n\t\$\(PY\) bin/salkit_kafka --dir \.kafka up$", makefile)
    assert re.search(r"(?m)^kafka-down:.*\n\t\$\(PY\) bin/salkit_kafka --dir \.kafka down$", makefile)
    up = subprocess.run(
        [salkit_kafka, "--dir", ".kafka", "up"],
        cwd=tmp_path,
        env=operator_environ(),
        capture_output=True,
        text=True,
        timeout=STD_TIMEOUT,
    )
    assert up.returncode == 0, up.stderr
    try:
        config_dir = relocated_test_site("ATArchiver", tmp_path)
        kafka_env = env_line.replace("bin/salkit_kafka", shlex.quote(salkit_kafka)) + " && "
        bin_dir = shlex.quote(str(REPO / "bin"))
        csc = open_terminal(
            terminals,
            f"{kafka_env}{bin_dir}/{csc_command.removeprefix('bin/')} --configdir {config_dir}",
            tmp_path,
            operator_environ(),
        )
        # The commanders start while the CSC does (they wait for it): the session takes less time.
        commander = open_terminal(
            terminals, f"{kafka_env}{bin_dir}/archiver_commander ATArchiver", tmp_path, operator_environ()
        )
        camera = open_terminal(
            terminals, f"{kafka_env}{bin_dir}/camera_commander ATCamera", tmp_path, operator_environ()
        )
        for state in ("STANDBY", "DISABLED", "ENABLED"):
            csc.wait_for(rf"ATArchiver INFO: Summary state {state}$")
        csc.wait_for(r"Destination oods: created .*/site/latiss/oods \(simulation mode\)")
        commander.wait_for(r"summaryState: summaryState=<State.ENABLED")
        camera.wait_for(r"summaryState: summaryState=<State.ENABLED")
        camera.type("takeImages 1 1.0")
        obsid = csc.wait_for(IMAGE_LINE).group(1)
        camera.wait_for(rf"endOfImageTelemetry: {obsid} \(1/1\)")
        commander.wait_for(rf"{obsid}: OK; 1/1 archived")
        for terminal in (commander, camera):
            terminal.type("exit")
        for terminal in (commander, camera):
            assert_clean_exit(terminal)
        csc.ctrl_c()
        assert_clean_exit(csc)
    finally:
        down = subprocess.run(
            [salkit_kafka, "down"], cwd=tmp_path, capture_output=True, text=True, timeout=STD_TIMEOUT
        )
    assert down.returncode == 0 and down.stdout.count("stopped") == 2, down.stdout + down.stderr
