"""The status page server on a real ledger: its resources, escaping, and refusals of hostile requests."""

from __future__ import annotations

import asyncio
import io
import json
import logging
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from PIL import Image

from lsst.ts.archiver.camera import LSST_COMCAM
from lsst.ts.archiver.ledger import Ledger, LedgerRunner
from lsst.ts.archiver.maps import MAP_SIZE
from lsst.ts.archiver.status_page import StatusPageServer

pytestmark = pytest.mark.integration  # an HTTP server on a loopback port

OBSID = "CC_O_20270115_000011"
HOSTILE = "<script>alert('x')</script> & \"quoted\""
NOW = 1_800_000_000.0


async def request(port: int, raw: bytes) -> tuple[int, dict[str, str], bytes]:
    """Send one raw HTTP request; return the status code, headers and body."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(raw)
    await writer.drain()
    response = await asyncio.wait_for(reader.read(), 10)
    writer.close()
    head, _, body = response.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in header_lines)
    return int(status_line.split()[1]), headers, body


async def get(port: int, path: str) -> tuple[int, dict[str, str], bytes]:
    return await request(port, f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode("latin-1"))


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[StatusPageServer]:
    ledger = Ledger(f"sqlite:///{tmp_path / 'ledger.sqlite3'}")
    expected = {d.name: d.id for d in LSST_COMCAM.detectors}
    ledger.register_image(OBSID, camera="LSSTComCam", day_obs=20270115, expected=expected, now=NOW)
    for detector in LSST_COMCAM.detectors[1:]:
        ledger.record_capture(
            OBSID, detector.name, path="/x.fits", size=1, destinations=["oods"], now=NOW + 2
        )
    ledger.record_capture_failure(OBSID, "R22_S00", HOSTILE, now=NOW + 3)
    ledger.workers.beat("delivery-1", host="node<1>", pid=42, role="delivery", state="idle", ttl=1e9, now=NOW)
    runner = LedgerRunner(ledger)
    page = StatusPageServer(
        LSST_COMCAM,
        runner,
        component="CCArchiver",
        destinations=["oods", "dbb"],
        capture_workers=lambda: 2,
        log=logging.getLogger("test"),
    )
    await page.start()
    try:
        yield page
    finally:
        await page.close()
        runner.close()
        ledger.close()


async def test_page_shows_images_queues_workers_and_escaped_failures(server: StatusPageServer) -> None:
    status, headers, body = await get(server.port, "/")
    assert (status, headers["Content-Type"]) == (200, "text/html; charset=utf-8")
    page = body.decode()
    assert f'<img src="/map/{OBSID}.png"' in page
    assert '<meta http-equiv="refresh" content="5">' in page
    assert "<td>oods</td><td>8</td><td>0</td>" in page  # 8 written files to transfer
    assert "<td>dbb</td><td>0</td><td>0</td>" in page
    assert "Capture workers alive in the CSC's pool: 2." in page
    assert "<td>delivery-1</td><td>delivery</td><td>node&lt;1&gt;</td>" in page
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; &quot;quoted&quot;" in page
    assert "<script>" not in page and "node<1>" not in page


async def test_status_json_and_map_png(server: StatusPageServer) -> None:
    status, headers, body = await get(server.port, "/status.json")
    assert (status, headers["Content-Type"]) == (200, "application/json")
    data = json.loads(body)
    [image] = data["images"]
    assert (image["obsid"], image["map"], image["archived"]) == (OBSID, f"/map/{OBSID}.png", None)
    assert image["detectors"]["failed"] == 1 and image["detectors"]["written, in delivery"] == 8
    assert data["queues"][0] == {"destination": "oods", "depth": 8, "failed": 0}
    assert data["failures"][0]["reason"] == HOSTILE
    assert data["failures"][0]["time"] == "2027-01-15T08:00:03.000Z"
    status, headers, body = await get(server.port, f"/map/{OBSID}.png")
    assert (status, headers["Content-Type"]) == (200, "image/png")
    assert Image.open(io.BytesIO(body)).size == MAP_SIZE
    again = await get(server.port, f"/map/{OBSID}.png?refresh=1")
    assert again[2] == body  # unchanged image: the same PNG


@pytest.mark.parametrize(
    "path",
    [
        "/../../../../etc/passwd",
        "/map/../../etc/passwd.png",
        "/map/..%2F..%2Fetc%2Fpasswd.png",
        "/map/CC_O_20270115_000099.png",  # not in the ledger
        "/map/AT_O_20270115_000011.png",  # not this camera's
        "/map/%3Cscript%3E.png",
        "/status.json/../../etc/passwd",
        "/favicon.ico",
    ],
)
async def test_unknown_and_hostile_paths_are_not_found(server: StatusPageServer, path: str) -> None:
    status, headers, body = await get(server.port, path)
    assert (status, body) == (404, b"Not found\n")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (b"POST / HTTP/1.1\r\n\r\n", 405),
        (b"DELETE /status.json HTTP/1.1\r\n\r\n", 405),
        (b"GET\r\n\r\n", 400),
        (b"GET http://evil.example/ HTTP/1.1\r\n\r\n", 400),
        (b"GET / SMTP\r\n\r\n", 400),
        (b"GET /" + b"a" * 70_000 + b" HTTP/1.1\r\n\r\n", 400),
    ],
)
async def test_malformed_and_writing_requests_are_refused(
    server: StatusPageServer, raw: bytes, expected: int
) -> None:
    status, _, _ = await request(server.port, raw)
    assert status == expected


async def test_head_has_no_body_and_the_server_stops(server: StatusPageServer) -> None:
    status, headers, body = await request(server.port, b"HEAD / HTTP/1.1\r\n\r\n")
    assert (status, body) == (200, b"")
    assert int(headers["Content-Length"]) > 1000
    assert headers["X-Content-Type-Options"] == "nosniff"
    port = server.port
    await server.close()
    with pytest.raises(OSError):
        await asyncio.open_connection("127.0.0.1", port)
