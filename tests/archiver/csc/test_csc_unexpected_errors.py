"""An unexpected exception at any stage of one image ends as an event with a
status code and a ``logMessage``, never only in a module log.

Each test injects a ``RuntimeError`` into one stage's function with
``monkeypatch``, in a real ATArchiver in this process, and checks the event
that follows (status code, description) and a ``logMessage`` from the CSC's
logger. The stages: header fetch, DAQ decode, FITS write, metadata
translation, transfer and ingest; and errors outside any stage's own
handling (escaping the header step, before the image is registered, while
recording a transfer). Capture runs in `~lsst.ts.archiver.capture.InProcessCapturePool`
(the runtime's pool factory is replaced) so that the patches reach the
capture code (decode, FITS write, metadata translation); spawned worker
processes would not see them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from lsst.ts import salkit

from lsst.ts.archiver import runtime
from lsst.ts.archiver.capture import CaptureStatus, InProcessCapturePool
from lsst.ts.archiver.daq import EmulatedDaqStore, PixelGenerator
from lsst.ts.archiver.delivery import Destination
from lsst.ts.archiver.fits import RawFitsWriter
from lsst.ts.archiver.fits import writer as fits_writer
from lsst.ts.archiver.ledger import DeliveryStatus, Ledger
from lsst.ts.archiver.pipeline import HeaderTracker
from lsst.ts.archiver.pipeline import headers as pipeline_headers
from lsst.ts.archiver.staging import StagingArea
from lsst.ts.archiver.testing import STD_TIMEOUT, EventLog, running_archiver, wait_until, write_config_dir

pytestmark = pytest.mark.integration  # a whole Archiver, end to end

NAME = "AT_O_20261123_000071"
WARNING = 30
ERROR = 40


def failing(stage: str) -> Callable[..., Any]:
    """A replacement for a stage's function that raises ``RuntimeError('injected <stage> failure')``."""

    def fail(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError(f"injected {stage} failure")

    return fail


@pytest.fixture
def in_process_capture(monkeypatch: pytest.MonkeyPatch) -> None:
    """Capture in a thread of this process (where monkeypatch reaches), not in worker processes."""

    def in_process_pool(workers: int, *, log: logging.Logger, **_: object) -> InProcessCapturePool:
        return InProcessCapturePool(log=log)

    monkeypatch.setattr(runtime, "LocalCapturePool", in_process_pool)


class Run:
    """One image archived by a running ATArchiver, with every logMessage it writes."""

    def __init__(self, csc: Any, log: EventLog, messages: list[Any]) -> None:
        self.csc = csc
        self.log = log
        self.messages = messages

    def logged(self, level: int, *words: str) -> list[Any]:
        """logMessages at ``level`` or above from the CSC's logger (or a child) with every word."""
        return [
            m
            for m in self.messages
            if m.level >= level
            and m.name.startswith(self.csc.log.name)
            and all(w in m.message for w in words)
        ]

    async def wait_logged(self, level: int, *words: str) -> list[Any]:
        """Wait for `logged` to find a logMessage; return them."""
        return await wait_until(
            lambda: self.logged(level, *words), what=f"a logMessage at level >= {level} with {words}"
        )


@contextlib.asynccontextmanager
async def archived_image(
    tmp_path: Path, *, header_url: str | None = None, until: str = "evt_imageArchived"
) -> AsyncIterator[Run]:
    """Archive ``NAME`` with ``archiveImage`` and wait for ``until`` and ``imageArchived``.

    ``header_url``: announce the image's header on ``largeFileObjectAvailable`` first.
    """
    store = EmulatedDaqStore(tmp_path / "daq", "lat")
    await asyncio.to_thread(store.add_image, NAME, generator=PixelGenerator(cosmic_rays=0))
    store.close()
    config_dir = write_config_dir("ATArchiver", tmp_path)
    header_service = salkit.Controller("ATHeaderService")
    try:
        await header_service.start_task
        async with running_archiver("ATArchiver", config_dir) as (csc, remote, log):
            messages: list[Any] = []
            remote.evt_logMessage.callback = messages.append  # type: ignore[attr-defined]
            if header_url is not None:
                await header_service.evt_largeFileObjectAvailable.set_write(  # type: ignore[attr-defined]
                    url=header_url, id=NAME, mimeType="YAML", force_output=True
                )
                await wait_until(
                    lambda: csc.headers.get(NAME) is not None, what=f"the header of {NAME} announced"
                )
            await remote.cmd_archiveImage.set_start(imageName=NAME, priority=0, timeout=STD_TIMEOUT)
            await log.wait_for(until, 1, obsid=NAME)
            await log.wait_for("evt_imageArchived", 1, obsid=NAME)
            yield Run(csc, log, messages)
    finally:
        await header_service.close()


def write_header(tmp_path: Path) -> str:
    """A header file next to the DAQ store (where file URLs are allowed); its URL."""
    path = tmp_path / "header.yaml"
    path.write_text(f"PRIMARY:\n- keyword: OBSID\n  value: {NAME}\n")
    return path.as_uri()


async def test_an_unexpected_header_fetch_error_writes_the_file_with_the_archivers_metadata(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pipeline_headers, "fetch_header_file", failing("header fetch"))
    async with archived_image(tmp_path, header_url=write_header(tmp_path)) as run:
        [retrieval] = run.log.of("evt_imageRetrievalForArchiving", NAME)
        assert retrieval.statusCode == CaptureStatus.OK
        assert "HDRNOTE: header file unreadable" in retrieval.description
        [archived] = run.log.of("evt_imageArchived", NAME)
        assert archived.statusCode == 0
        await run.wait_logged(WARNING, NAME, "injected header fetch failure")


async def test_an_error_escaping_the_header_step_fails_the_pending_detectors_as_unexpected(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(HeaderTracker, "fetch", failing("header step"))
    async with archived_image(tmp_path, header_url=write_header(tmp_path)) as run:
        [retrieval] = run.log.of("evt_imageRetrievalForArchiving", NAME)
        assert retrieval.statusCode == CaptureStatus.UNEXPECTED
        assert retrieval.description.startswith(f"unexpected error while archiving {NAME}: RuntimeError: ")
        assert "injected header step failure at test_csc_unexpected_errors.py:" in retrieval.description
        [archived] = run.log.of("evt_imageArchived", NAME)
        assert archived.statusCode > 0 and archived.missingSensors == "R00_S00"
        [message] = await run.wait_logged(ERROR, NAME, "injected header step failure")
        assert "Traceback" in message.traceback


@pytest.mark.parametrize(
    ("stage", "target", "attribute"),
    [
        ("DAQ decode", EmulatedDaqStore, "decode_source"),
        ("FITS write", RawFitsWriter, "write"),
        ("metadata translation", fits_writer, "translate_primary_header"),
    ],
    ids=["decode", "write", "translate"],
)
@pytest.mark.usefixtures("in_process_capture")
async def test_an_unexpected_capture_error_fails_the_detector_as_unexpected_after_its_retries(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, stage: str, target: object, attribute: str
) -> None:
    monkeypatch.setattr(target, attribute, failing(stage))
    async with archived_image(tmp_path) as run:
        [retrieval] = run.log.of("evt_imageRetrievalForArchiving", NAME)
        assert retrieval.statusCode == CaptureStatus.UNEXPECTED
        assert retrieval.description.startswith(f"RuntimeError: injected {stage} failure at ")
        [archived] = run.log.of("evt_imageArchived", NAME)
        assert archived.statusCode > 0 and archived.missingSensors == "R00_S00"
        await run.wait_logged(WARNING, NAME, "R00_S00", "attempt 1 of 3 failed", "UNEXPECTED")
        await run.wait_logged(
            WARNING, NAME, "R00_S00", "capture failed after 3 attempt(s)", f"injected {stage}"
        )


@pytest.mark.parametrize(
    ("stage", "attribute", "status", "reason"),
    [
        ("transfer", "deliver", DeliveryStatus.TRANSFER_FAILURE, "Transfer to oods failed"),
        ("ingest", "ingest", DeliveryStatus.INGEST_FAILURE, "Ingest into oods failed"),
    ],
    ids=["transfer", "ingest"],
)
async def test_an_unexpected_delivery_error_is_retried_then_reported_finally_failed(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    stage: str,
    attribute: str,
    status: DeliveryStatus,
    reason: str,
) -> None:
    monkeypatch.setattr(Destination, attribute, failing(stage))
    async with archived_image(tmp_path, until="evt_imageInOODS") as run:
        [retrieval] = run.log.of("evt_imageRetrievalForArchiving", NAME)
        assert retrieval.statusCode == CaptureStatus.OK
        [in_oods] = run.log.of("evt_imageInOODS", NAME)
        assert in_oods.statusCode == status
        assert in_oods.description == f"{reason}: RuntimeError('injected {stage} failure') (after 3 attempts)"
        [archived] = run.log.of("evt_imageArchived", NAME)
        assert archived.statusCode > 0 and archived.missingSensors == "R00_S00"
        await run.wait_logged(20, "oods", f"{NAME} R00_S00", "failed, retry in", f"injected {stage}")
        await run.wait_logged(ERROR, "oods", f"{NAME} R00_S00", "failed", "(after 3 attempts)")


async def test_an_error_before_the_image_is_registered_still_fails_its_detectors_as_unexpected(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(StagingArea, "load_metadata", failing("staging read"))
    async with archived_image(tmp_path) as run:
        [retrieval] = run.log.of("evt_imageRetrievalForArchiving", NAME)
        assert retrieval.statusCode == CaptureStatus.UNEXPECTED
        assert "injected staging read failure" in retrieval.description
        [archived] = run.log.of("evt_imageArchived", NAME)
        assert archived.statusCode > 0 and archived.missingSensors == "R00_S00"
        await run.wait_logged(ERROR, NAME, "injected staging read failure")


async def test_an_unexpected_error_recording_a_transfer_is_retried_then_reported_finally_failed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(Ledger, "mark_transferred", failing("transfer record"))
    async with archived_image(tmp_path, until="evt_imageInOODS") as run:
        [in_oods] = run.log.of("evt_imageInOODS", NAME)
        assert in_oods.statusCode == DeliveryStatus.TRANSFER_FAILURE
        assert in_oods.description == (
            "Transfer to oods failed unexpectedly: RuntimeError('injected transfer record failure') "
            "(after 3 attempts)"
        )
        [message, *_] = await run.wait_logged(
            ERROR, "oods", "failed unexpectedly", "injected transfer record"
        )
        assert "Traceback" in message.traceback
