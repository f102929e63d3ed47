"""Header Service faults (doc/reliability.rst): a URL that never answers, a
disallowed URL, an oversize header, a bad ``DATE-BEG``, corrupt YAML. None
costs the image: its file is written, delivered and ingested everywhere,
with ``HDRSRC``/``HDRNOTE`` saying what happened to the header."""

from __future__ import annotations

import contextlib
import socket
import time
from collections.abc import Iterator, Mapping
from typing import Any

import pytest
from astropy.io import fits
from fault_support import (
    Observer,
    Site,
    assert_archived_once,
    assert_confined,
    camera_system,
    files_under,
)

from lsst.ts.archiver.fits import Card, HeaderServiceFile, render_header_file
from lsst.ts.archiver.testing import STD_TIMEOUT, running_archiver

pytestmark = pytest.mark.integration  # a whole Archiver, end to end

WARNING = 30


@contextlib.contextmanager
def silent_server() -> Iterator[socket.socket]:
    """A loopback TCP socket that listens but never accepts or answers.

    The kernel completes the handshake (the listen backlog), so a client
    connects, sends its request and then waits for an answer that never
    comes. ``accept`` on it (non-blocking) tells whether anyone connected.
    """
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    sock.setblocking(False)
    try:
        yield sock
    finally:
        sock.close()


def connections(sock: socket.socket) -> int:
    """How many clients connected to a `silent_server` so far (accepts them)."""
    count = 0
    while True:
        try:
            client, _ = sock.accept()
        except BlockingIOError:
            return count
        client.close()
        count += 1


def header_text(name: str, *extra: Card) -> str:
    return render_header_file(
        HeaderServiceFile(primary=(Card("OBSID", name), Card("OBJECT", "header target"), *extra))
    )


def primary_header(site: Site, name: str) -> fits.Header:
    [path] = [p for p in files_under(site.staging) if p.name == f"{name}_R00_S00.fits"]
    return fits.getheader(path)


async def archive_with_headers(
    site: Site, urls: Mapping[str, str], **header_service: Any
) -> tuple[dict[str, Any], Observer, float]:
    """Archive images announced by the camera with these header URLs, in one Archiver.

    Returns
    -------
    archived : `dict` [`str`, sample]
        ``imageArchived`` by image name.
    observer : `Observer`
        What the operator saw.
    elapsed : `float`
        Seconds from the first ``endOfImageTelemetry`` to the last ``imageArchived``.
    """
    config_dir = site.write_config(header_service=header_service)
    for name in urls:
        await site.add_image(name)
    async with (
        camera_system(site.camera) as camera,
        running_archiver(site.component, config_dir) as (csc, remote, log),
    ):
        observer = Observer(remote)
        start = time.monotonic()
        for name, url in urls.items():
            await camera.header(name, url)
            await camera.end_of_image(name)
        archived = {name: (await log.wait_for("evt_imageArchived", 1, obsid=name))[0] for name in urls}
        elapsed = time.monotonic() - start
        for name in urls:
            await log.wait_for("evt_imageInOODS", 1, obsid=name)
        observer.assert_no_fault()
    for sample in archived.values():
        assert sample.statusCode == 0, sample.description
    await assert_archived_once(site, {name: ["R00_S00"] for name in urls})
    assert_confined(site)
    return archived, observer, elapsed


async def test_header_url_that_never_answers_is_abandoned_in_bounded_time_and_flagged(site: Site) -> None:
    name = site.name(31)
    with silent_server() as server:
        url = f"http://127.0.0.1:{server.getsockname()[1]}/headers/{name}.yaml"
        _, observer, elapsed = await archive_with_headers(
            site,
            {name: url},
            wait_timeout=3.0,
            allowed_schemes=["http", "file"],
            allowed_hosts=["127.0.0.1"],
            connect_timeout=1.0,
            read_timeout=1.0,
            fetch_timeout=2.0,
        )
        assert connections(server) >= 1, "the Archiver did try the allowed URL"
    header = primary_header(site, name)
    assert header["HDRSRC"] == "Archiver"
    assert "header fetch timed out" in header["HDRNOTE"]
    assert elapsed < STD_TIMEOUT / 2, f"archived {elapsed:.1f} s after the event"
    message = await observer.wait_log(f"Header of {name} from {url} not used", WARNING)
    assert "HDRSRC='Archiver'" in message.message


async def test_disallowed_header_urls_are_refused_without_contact_and_the_files_flagged(site: Site) -> None:
    passwd, metadata, loopback = site.name(32), site.name(33), site.name(34)
    with silent_server() as server:
        urls = {
            passwd: "file:///etc/passwd",
            metadata: "http://169.254.169.254/latest/meta-data/iam/security-credentials/",
            loopback: f"http://127.0.0.1:{server.getsockname()[1]}/{loopback}.yaml",
        }
        _, observer, _ = await archive_with_headers(
            site, urls, allowed_schemes=["https", "http", "file"], allowed_hosts=["s3.cp.lsst.org"]
        )
        assert connections(server) == 0, "a refused URL was contacted"
    notes = {name: primary_header(site, name)["HDRNOTE"] for name in urls}
    assert all(primary_header(site, name)["HDRSRC"] == "Archiver" for name in urls)
    assert "header URL refused (file_root)" in notes[passwd]
    assert "header URL refused (allowed_hosts)" in notes[metadata]
    assert "header URL refused (allowed_hosts)" in notes[loopback]
    for name, url in urls.items():
        await observer.wait_log(f"Header of {name} from {url} not used", WARNING)
    # Nothing of /etc/passwd was copied anywhere (no header side file, no card).
    assert not [p for p in files_under(site.staging) if p.name.endswith("_header.yaml")]
    for path in files_under(site.tmp_path):
        if path.suffix != ".fits" and path.stat().st_size < 1 << 22:
            assert b"root:x:0:0" not in path.read_bytes(), path


async def test_oversize_header_is_refused_and_the_file_flagged(site: Site) -> None:
    name = site.name(35)
    path = site.headers / f"{name}.yaml"
    site.headers.mkdir(parents=True, exist_ok=True)
    path.write_text(header_text(name) + "# padding\n" * 20_000)  # ~200 kB
    await archive_with_headers(site, {name: path.as_uri()}, max_size=65536)
    header = primary_header(site, name)
    assert header["HDRSRC"] == "Archiver"
    assert "header file too large" in header["HDRNOTE"]


async def test_header_with_a_bad_date_beg_is_ingested_everywhere_and_hdrnote_names_it(site: Site) -> None:
    name = site.name(36)
    path = site.headers / f"{name}.yaml"
    site.headers.mkdir(parents=True, exist_ok=True)
    path.write_text(header_text(name, Card("DATE-BEG", "not a date")))
    await archive_with_headers(site, {name: path.as_uri()})
    header = primary_header(site, name)
    assert header["HDRSRC"] == "HeaderService"
    assert header["OBJECT"] == "header target"  # the rest of the header is merged
    assert "DATE-BEG" in header["HDRNOTE"] and "not a date" in header["HDRNOTE"]
    assert header["DATE-BEG"] != "not a date"


async def test_header_of_corrupt_yaml_is_not_used_and_the_file_flagged(site: Site) -> None:
    name = site.name(37)
    path = site.headers / f"{name}.yaml"
    site.headers.mkdir(parents=True, exist_ok=True)
    path.write_text("PRIMARY:\n  - {keyword: OBSID, value: [unclosed\n\t- : :\n")
    await archive_with_headers(site, {name: path.as_uri()})
    header = primary_header(site, name)
    assert header["HDRSRC"] == "Archiver"
    assert "header file unusable" in header["HDRNOTE"]
