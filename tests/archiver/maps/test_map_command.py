"""archiver_commander's ``map``: the focal-plane map of an image in the Archiver's ledger."""

from __future__ import annotations

from pathlib import Path

import pytest
from map_test_support import record_image
from PIL import Image

from lsst.ts.archiver.camera import LATISS
from lsst.ts.archiver.commander import ArchiverCommander
from lsst.ts.archiver.ledger import Ledger
from lsst.ts.archiver.maps import MAP_SIZE, MapRefusedError, write_archiver_map
from lsst.ts.archiver.testing import write_config_dir

OBSID = "AT_O_20270115_000007"


@pytest.fixture
def archiver_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A ``$TS_ARCHIVER_DIR`` whose ATArchiver configuration (site ``test``) has a ledger with one image."""
    config_dir = write_config_dir("ATArchiver", tmp_path / "archiver")
    ts_dir = tmp_path / "ts_archiver"
    (ts_dir / "config" / "ATArchiver").mkdir(parents=True)
    (ts_dir / "config" / "ATArchiver" / "v1").symlink_to(config_dir)
    monkeypatch.setenv("TS_ARCHIVER_DIR", str(ts_dir))
    monkeypatch.setenv("LSST_SITE", "test")
    with Ledger(f"sqlite:///{tmp_path / 'archiver' / 'ledger.sqlite3'}") as ledger:
        record_image(ledger, LATISS, OBSID)
    return ts_dir


async def test_map_command_writes_the_png_of_an_image_in_the_configured_ledger(
    archiver_dir: Path, tmp_path: Path
) -> None:
    commander = ArchiverCommander("ATArchiver", testing=True)
    try:
        await commander.run_command(f"map {OBSID} {tmp_path / 'out' / 'map.png'}")
        await commander.run_command("map AT_O_20270115_000999")
        await commander.run_command("map")
    finally:
        await commander.close()
    lines = list(commander.output_queue)
    assert f"Focal-plane map of {OBSID}: {tmp_path / 'out' / 'map.png'}" in lines
    with Image.open(tmp_path / "out" / "map.png") as image:
        assert image.size == MAP_SIZE
    assert any("map: AT_O_20270115_000999 is not in the ledger sqlite:///" in line for line in lines)
    assert "map takes obsid [path [ledgerURL]], not 0 argument(s)" in lines
    assert any(
        line.startswith("  map obsid [path [ledgerURL]]") for line in commander.get_help().splitlines()
    )


def test_map_of_a_missing_ledger_is_refused_with_its_url(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'nowhere' / 'ledger.sqlite3'}"
    with pytest.raises(MapRefusedError, match="Cannot open the ledger"):
        write_archiver_map("ATArchiver", OBSID, tmp_path / "map.png", ledger_url=url)
    assert not (tmp_path / "map.png").exists()


def test_archiver_map_script_needs_no_csc(
    archiver_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from lsst.ts.archiver.maps.cli import main

    assert main(["ATArchiver", OBSID, "-o", str(tmp_path / "cli.png")]) == 0
    assert capsys.readouterr().out == f"Focal-plane map of {OBSID}: {tmp_path / 'cli.png'}\n"
    with Image.open(tmp_path / "cli.png") as image:
        assert image.size == MAP_SIZE
    url = f"sqlite:///{tmp_path / 'archiver' / 'ledger.sqlite3'}"
    assert main(["ATArchiver", "AT_O_20270115_000998", "--ledger", url]) == 1
    assert f"AT_O_20270115_000998 is not in the ledger {url}" in capsys.readouterr().err
