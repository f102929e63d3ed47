"""Header Service header fetches: allow-listed, bounded in time and size, in their own pool.

Real servers on loopback: a stdlib HTTP server that serves headers (and
plays an endless body, a trickle, a redirect, a 404), a TCP server that
accepts and never answers, and SeaweedFS for s3://. Addresses that must be
refused (cloud metadata) are never contacted: the tests make every socket
connection fail loudly while they check them.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import copy
import http.server
import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from lsst.resources import ResourcePath

from lsst.ts.archiver.camera import get_camera
from lsst.ts.archiver.config import ArchiverConfig, ArchiverConfigError
from lsst.ts.archiver.config_schema import CONFIG_SCHEMA
from lsst.ts.archiver.local_config import REPO_CONFIG_ROOT, local_site_config
from lsst.ts.archiver.pipeline import HeaderTracker
from lsst.ts.archiver.pipeline.header_fetch import (
    HeaderFetchError,
    HeaderFetchTimeout,
    HeaderTooLarge,
    fetch_header_file,
)
from lsst.ts.archiver.pipeline.header_policy import (
    HeaderFetchPolicy,
    HeaderUrlRefused,
    check_header_url,
)
from lsst.ts.archiver.simulators.header_store import header_key
from lsst.ts.archiver.testing import STD_TIMEOUT, TemporarySeaweedFS, wait_until
from lsst.ts.salkit.configuration.merge import hierarchical_update

NAME = "AT_O_20261123_000042"
OTHER = "AT_O_20261123_000043"
HEADER = b"PRIMARY:\n- {keyword: OBSID, value: AT_O_20261123_000042}\n"
LOOPBACK = "127.0.0.1"

#: How much later than its deadline a fetch may return on a loaded CI machine.
DEADLINE_MARGIN = 5.0


# Servers
# -------


class HeaderWebServer:
    """A stdlib HTTP server on loopback, in a thread.

    ``/header.yaml`` is a header; ``/endless`` a body that never ends;
    ``/trickle`` one byte every 50 ms of a promised megabyte; ``/big`` a
    ``Content-Length`` of 1 GB; ``/redirect`` a redirect to a cloud metadata
    address; anything else a 404. ``requests`` lists the paths asked for and
    ``disconnects`` counts clients that went away in the middle of a body.
    """

    def __init__(self) -> None:
        self.requests: list[str] = []
        self.disconnects = 0
        self.stopping = threading.Event()
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                server.requests.append(self.path)
                try:
                    server.answer(self)
                except (BrokenPipeError, ConnectionResetError):
                    server.disconnects += 1

        self.httpd = http.server.ThreadingHTTPServer((LOOPBACK, 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str) -> str:
        return f"http://{LOOPBACK}:{self.httpd.server_address[1]}{path}"

    def answer(self, handler: http.server.BaseHTTPRequestHandler) -> None:
        if handler.path == "/header.yaml":
            handler.send_response(200)
            handler.send_header("Content-Length", str(len(HEADER)))
            handler.end_headers()
            handler.wfile.write(HEADER)
        elif handler.path == "/endless":
            handler.send_response(200)
            handler.end_headers()
            while not self.stopping.is_set():
                handler.wfile.write(b"# more\n" * 8192)
        elif handler.path == "/trickle":
            handler.send_response(200)
            handler.send_header("Content-Length", str(1_000_000))
            handler.end_headers()
            while not self.stopping.wait(0.05):
                handler.wfile.write(b"#")
                handler.wfile.flush()
        elif handler.path == "/big":
            handler.send_response(200)
            handler.send_header("Content-Length", str(10**9))
            handler.end_headers()
        elif handler.path == "/redirect":
            handler.send_response(302)
            handler.send_header("Location", "http://169.254.169.254/latest/meta-data/")
            handler.send_header("Content-Length", "0")
            handler.end_headers()
        else:
            handler.send_error(404)

    def close(self) -> None:
        self.stopping.set()
        self.httpd.shutdown()
        self.httpd.server_close()


class StallServer:
    """A TCP server on loopback that accepts connections and never answers.

    ``accepted`` counts connections; ``closed`` those the client closed.
    """

    def __init__(self) -> None:
        self.listener = socket.create_server((LOOPBACK, 0))
        self.listener.settimeout(0.1)
        self.accepted = 0
        self.closed = 0
        self.stopping = threading.Event()
        self.threads = [threading.Thread(target=self._accept, daemon=True)]
        self.threads[0].start()

    @property
    def port(self) -> int:
        return int(self.listener.getsockname()[1])

    def url(self, path: str = "/header.yaml") -> str:
        return f"http://{LOOPBACK}:{self.port}{path}"

    def _accept(self) -> None:
        while not self.stopping.is_set():
            try:
                connection, _ = self.listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.accepted += 1
            thread = threading.Thread(target=self._hold, args=(connection,), daemon=True)
            self.threads.append(thread)
            thread.start()

    def _hold(self, connection: socket.socket) -> None:
        connection.settimeout(0.1)
        with connection:
            while not self.stopping.is_set():
                try:
                    if not connection.recv(65536):
                        self.closed += 1
                        return
                except TimeoutError:
                    continue
                except OSError:
                    self.closed += 1
                    return

    def close(self) -> None:
        self.stopping.set()
        for thread in self.threads:
            thread.join(timeout=STD_TIMEOUT)
        self.listener.close()


@pytest.fixture
def web() -> Iterator[HeaderWebServer]:
    server = HeaderWebServer()
    yield server
    server.close()


@pytest.fixture
def stall() -> Iterator[StallServer]:
    server = StallServer()
    yield server
    server.close()


@pytest.fixture
def pool() -> Iterator[concurrent.futures.ThreadPoolExecutor]:
    executor = concurrent.futures.ThreadPoolExecutor(4, thread_name_prefix="test-header-fetch")
    yield executor
    executor.shutdown(wait=True, cancel_futures=True)


class RefusingExecutor(concurrent.futures.Executor):
    """An executor that records and refuses work: nothing may be run."""

    def __init__(self) -> None:
        self.submitted: list[object] = []

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> concurrent.futures.Future[Any]:
        self.submitted.append(fn)
        raise AssertionError("a refused URL must not reach the fetch pool")


def local_http(**limits: Any) -> HeaderFetchPolicy:
    """http:// on the loopback address only."""
    return HeaderFetchPolicy(schemes=frozenset({"http"}), hosts=frozenset({LOOPBACK}), **limits)


def files_under(root: Path, **limits: Any) -> HeaderFetchPolicy:
    return HeaderFetchPolicy(schemes=frozenset({"file"}), file_root=str(root), **limits)


SITE = HeaderFetchPolicy(
    schemes=frozenset({"https", "http", "s3", "file"}),
    hosts=frozenset({"s3.cp.lsst.org", "headers.example.org:8443"}),
    buckets=frozenset({"rubinobs-lfa-cp"}),
    file_root="/data/headers",
)


# The policy: pure checks of the URL text
# ---------------------------------------


@pytest.mark.parametrize(
    ("url", "scheme", "host", "port", "path"),
    [
        (
            "https://s3.cp.lsst.org/rubinobs-lfa-cp/h.yaml",
            "https",
            "s3.cp.lsst.org",
            443,
            "/rubinobs-lfa-cp/h.yaml",
        ),
        ("HTTPS://S3.CP.LSST.ORG./a.yaml?x=1#f", "https", "s3.cp.lsst.org", 443, "/a.yaml?x=1"),
        ("http://s3.cp.lsst.org:8080/a.yaml", "http", "s3.cp.lsst.org", 8080, "/a.yaml"),
        ("https://headers.example.org:8443/a.yaml", "https", "headers.example.org", 8443, "/a.yaml"),
        ("s3://rubinobs-lfa-cp/AT/header/a%20b.yaml", "s3", "rubinobs-lfa-cp", 0, "AT/header/a b.yaml"),
        ("file:///data/headers/AT/a.yaml", "file", "", 0, "/data/headers/AT/a.yaml"),
        ("file://localhost/data/headers/x/../a.yaml", "file", "", 0, "/data/headers/a.yaml"),
    ],
)
def test_allowed_urls_are_parsed(url: str, scheme: str, host: str, port: int, path: str) -> None:
    target = check_header_url(url, SITE)
    assert (target.url, target.scheme, target.host, target.port, target.path) == (
        url,
        scheme,
        host,
        port,
        path,
    )


def test_an_s3_profile_is_kept() -> None:
    target = check_header_url("s3://lfa@rubinobs-lfa-cp/a.yaml", SITE)
    assert (target.profile, target.host, target.path) == ("lfa", "rubinobs-lfa-cp", "a.yaml")


@pytest.mark.parametrize(
    ("url", "rule"),
    [
        ("ftp://s3.cp.lsst.org/a.yaml", "allowed_schemes"),
        ("gopher://s3.cp.lsst.org/a.yaml", "allowed_schemes"),
        ("/data/headers/a.yaml", "allowed_schemes"),
        ("http://169.254.169.254/latest/meta-data/", "allowed_hosts"),
        ("http://[fd00:ec2::254]/latest/meta-data/", "allowed_hosts"),
        ("http://metadata.google.internal/computeMetadata/v1/", "allowed_hosts"),
        ("http://2852039166/latest/meta-data/", "allowed_hosts"),
        ("http://s3.cp.lsst.org.evil.example/a.yaml", "allowed_hosts"),
        ("https://headers.example.org/a.yaml", "allowed_hosts"),
        ("http://s3.cp.lsst.org@169.254.169.254/", "url"),
        ("http://s3.cp.lsst.org:99999/a.yaml", "url"),
        ("http:///a.yaml", "url"),
        ("https://s3.cp.lsst.org/a b.yaml", "url"),
        ("https://s3.cp.lsst.org/a.yaml\r\nHost: evil", "url"),
        ("s3://other-bucket/a.yaml", "allowed_buckets"),
        ("s3://rubinobs-lfa-cp/", "url"),
        ("file:///etc/passwd", "file_root"),
        ("file:///data/headers/../../etc/passwd", "file_root"),
        ("file:///data/headers/%2e%2e/secret.yaml", "file_root"),
        ("file:///data/headers-other/a.yaml", "file_root"),
        ("file://otherhost/data/headers/a.yaml", "url"),
        ("file:///data/headers/a.yaml%00.png", "url"),
        ("", "url"),
    ],
)
def test_refused_urls_name_the_rule_they_broke(url: str, rule: str) -> None:
    with pytest.raises(HeaderUrlRefused) as info:
        check_header_url(url, SITE)
    assert info.value.url == url and info.value.rule == rule
    assert f"header_service.{rule}" in str(info.value)
    assert info.value.problem == f"header URL refused ({rule})"


def test_an_unconfigured_policy_allows_nothing() -> None:
    for url in ("file:///tmp/a.yaml", "https://s3.cp.lsst.org/a.yaml", "s3://rubinobs-lfa-cp/a.yaml"):
        with pytest.raises(HeaderUrlRefused, match="allowed_schemes"):
            check_header_url(url, HeaderFetchPolicy())


@pytest.mark.parametrize(
    "kwargs",
    [
        {"schemes": frozenset({"ftp"})},
        {"schemes": frozenset({"file"})},
        {"file_root": "relative/dir"},
        {"hosts": frozenset({"http://s3.cp.lsst.org"})},
        {"hosts": frozenset({"s3.cp.lsst.org:0"})},
        {"deadline": 0.0},
        {"read_timeout": float("inf")},
        {"max_size": 0},
        {"max_in_flight": 0},
    ],
)
def test_a_malformed_policy_is_an_error(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        HeaderFetchPolicy(**kwargs)


# file://
# -------


@pytest.fixture
def header_root(tmp_path: Path) -> Path:
    """``tmp_path/root`` with a header; a secret next to it (outside the root)."""
    root = tmp_path / "root"
    (root / "AT").mkdir(parents=True)
    (root / "AT" / "h.yaml").write_bytes(HEADER)
    (tmp_path / "secret.yaml").write_text("PRIMARY:\n- {keyword: OBJECT, value: secret}\n")
    return root


async def test_a_file_under_the_root_is_read(header_root: Path) -> None:
    tracker = HeaderTracker(policy=files_under(header_root))
    (header_root / "AT" / "inside.yaml").symlink_to(header_root / "AT" / "h.yaml")
    for name in ("h.yaml", "inside.yaml"):
        header = await tracker.fetch(tracker.announce(NAME, (header_root / "AT" / name).as_uri()))
        assert header.text == HEADER.decode() and header.problem is None
    tracker.close()


@pytest.mark.parametrize(
    "relative", ["../secret.yaml", "AT/../../secret.yaml", "AT/%2e%2e/%2e%2e/secret.yaml"]
)
async def test_dot_dot_out_of_the_root_is_refused(header_root: Path, relative: str) -> None:
    url = f"file://{header_root}/{relative}"
    with pytest.raises(HeaderUrlRefused, match="outside"):
        await fetch_header_file(url, files_under(header_root), RefusingExecutor())


async def test_a_symlink_out_of_the_root_is_refused_after_resolving_it(
    header_root: Path, pool: concurrent.futures.ThreadPoolExecutor
) -> None:
    (header_root / "AT" / "link.yaml").symlink_to(header_root.parent / "secret.yaml")
    (header_root / "etc").symlink_to("/etc")
    for path in (header_root / "AT" / "link.yaml", header_root / "etc" / "passwd"):
        with pytest.raises(HeaderUrlRefused, match="resolves to") as info:
            await fetch_header_file(path.as_uri(), files_under(header_root), pool)
        assert info.value.rule == "file_root"


async def test_a_refused_file_is_not_copied_and_the_reason_is_logged(
    header_root: Path, caplog: pytest.LogCaptureFixture
) -> None:
    log = logging.getLogger("test.ArchiverCsc")
    tracker = HeaderTracker(policy=files_under(header_root), log=log)
    with caplog.at_level(logging.WARNING, logger=log.name):
        header = await tracker.fetch(tracker.announce(NAME, "file:///etc/passwd"))
    assert header.text is None and header.source == "file:///etc/passwd"
    assert header.problem == "header URL refused (file_root)"
    [record] = [r for r in caplog.records if r.name == log.name]
    message = record.getMessage()
    assert NAME in message and "file:///etc/passwd" in message and "outside" in message
    assert "HDRSRC='Archiver'" in message


async def test_special_files_under_the_root_are_not_read(
    header_root: Path, pool: concurrent.futures.ThreadPoolExecutor
) -> None:
    os.mkfifo(header_root / "fifo.yaml")  # opening it for reading would block
    for path in (header_root / "fifo.yaml", header_root / "AT", header_root / "missing.yaml"):
        with pytest.raises(HeaderFetchError) as info:
            await asyncio.wait_for(
                fetch_header_file(path.as_uri(), files_under(header_root), pool), STD_TIMEOUT
            )
        assert info.value.problem == "header file unreadable"


async def test_a_file_over_the_size_cap_is_refused(
    header_root: Path, pool: concurrent.futures.ThreadPoolExecutor
) -> None:
    (header_root / "max.yaml").write_bytes(b"#" * 1000)
    (header_root / "over.yaml").write_bytes(b"#" * 1001)
    policy = files_under(header_root, max_size=1000)
    assert len(await fetch_header_file((header_root / "max.yaml").as_uri(), policy, pool)) == 1000
    with pytest.raises(HeaderTooLarge, match="1001 bytes"):
        await fetch_header_file((header_root / "over.yaml").as_uri(), policy, pool)


# http://
# -------


async def test_an_allowed_http_header_is_fetched(web: HeaderWebServer) -> None:
    tracker = HeaderTracker(policy=local_http())
    header = await tracker.fetch(tracker.announce(NAME, web.url("/header.yaml")))
    assert header.text == HEADER.decode() and header.source == web.url("/header.yaml")
    tracker.close()


async def test_a_disallowed_host_is_refused_without_any_connection(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    attempts: list[object] = []

    def no_network(*args: Any, **kwargs: Any) -> Any:
        attempts.append(args)
        raise AssertionError("no connection may be attempted for a refused URL")

    monkeypatch.setattr(socket, "create_connection", no_network)
    monkeypatch.setattr(socket, "getaddrinfo", no_network)
    monkeypatch.setattr(socket.socket, "connect", no_network)
    executor = RefusingExecutor()
    urls = [
        "http://169.254.169.254/latest/meta-data/iam/security-credentials/",
        "https://169.254.169.254/latest/api/token",
        "http://[fd00:ec2::254]/latest/meta-data/",
        "http://s3.cp.lsst.org@169.254.169.254/",
        "s3://attacker-bucket/a.yaml",
    ]
    for url in urls:
        with pytest.raises(HeaderUrlRefused) as info:
            await fetch_header_file(url, SITE, executor)
        assert info.value.url == url

    tracker = HeaderTracker(policy=SITE, log=logging.getLogger("test.refused"))
    with caplog.at_level(logging.WARNING, logger="test.refused"):
        header = await tracker.fetch(tracker.announce(NAME, urls[0]))
    assert header.text is None and header.problem == "header URL refused (allowed_hosts)"
    assert "169.254.169.254" in caplog.text and NAME in caplog.text
    assert executor.submitted == [] and attempts == []


async def test_an_endless_body_is_cut_at_the_size_cap(
    web: HeaderWebServer, pool: concurrent.futures.ThreadPoolExecutor
) -> None:
    started = time.monotonic()
    with pytest.raises(HeaderTooLarge, match="more than max_size = 100000 bytes"):
        await fetch_header_file(web.url("/endless"), local_http(max_size=100_000), pool)
    assert time.monotonic() - started < 5.0 + DEADLINE_MARGIN
    await wait_until(lambda: web.disconnects == 1, what="the server to see the client stop reading")


async def test_a_too_large_content_length_is_refused_before_reading(
    web: HeaderWebServer, pool: concurrent.futures.ThreadPoolExecutor
) -> None:
    with pytest.raises(HeaderTooLarge, match="1000000000 bytes"):
        await fetch_header_file(web.url("/big"), local_http(), pool)


async def test_redirects_and_errors_are_not_followed(
    web: HeaderWebServer, pool: concurrent.futures.ThreadPoolExecutor
) -> None:
    with pytest.raises(HeaderFetchError, match="302 redirect to 'http://169.254.169.254/.*not followed"):
        await fetch_header_file(web.url("/redirect"), local_http(), pool)
    with pytest.raises(HeaderFetchError, match="HTTP 404"):
        await fetch_header_file(web.url("/missing.yaml"), local_http(), pool)
    assert web.requests == ["/redirect", "/missing.yaml"]


async def test_a_server_that_never_answers_is_abandoned_at_the_deadline(
    stall: StallServer, pool: concurrent.futures.ThreadPoolExecutor
) -> None:
    # Connect and read timeouts far beyond the deadline: only the deadline can end it.
    policy = local_http(connect_timeout=120.0, read_timeout=120.0, deadline=1.0)
    started = time.monotonic()
    with pytest.raises(HeaderFetchTimeout, match="1 s deadline"):
        await fetch_header_file(stall.url(), policy, pool)
    assert time.monotonic() - started < policy.deadline + DEADLINE_MARGIN
    await wait_until(lambda: stall.closed == 1, what="the abandoned fetch to let go of its socket")
    assert stall.accepted == 1, "one attempt, no retry"


async def test_a_trickling_server_is_abandoned_at_the_deadline(
    web: HeaderWebServer, pool: concurrent.futures.ThreadPoolExecutor
) -> None:
    policy = local_http(read_timeout=120.0, deadline=1.0)
    started = time.monotonic()
    with pytest.raises(HeaderFetchTimeout, match="deadline"):
        await fetch_header_file(web.url("/trickle"), policy, pool)
    assert time.monotonic() - started < policy.deadline + DEADLINE_MARGIN
    await wait_until(lambda: web.disconnects == 1, what="the server to see the client go away")


async def test_a_silent_connection_ends_at_the_read_timeout(
    stall: StallServer, pool: concurrent.futures.ThreadPoolExecutor
) -> None:
    policy = local_http(read_timeout=0.5, deadline=120.0)
    started = time.monotonic()
    with pytest.raises(HeaderFetchTimeout, match=r"no data from 127\.0\.0\.1:\d+ for 0\.5 s"):
        await fetch_header_file(stall.url(), policy, pool)
    assert time.monotonic() - started < 0.5 + DEADLINE_MARGIN


async def test_a_timed_out_header_is_flagged_logged_and_not_fetched_twice(
    stall: StallServer, caplog: pytest.LogCaptureFixture
) -> None:
    tracker = HeaderTracker(policy=local_http(deadline=0.5), log=logging.getLogger("test.timeout"))
    announcement = tracker.announce(NAME, stall.url())
    with caplog.at_level(logging.WARNING, logger="test.timeout"):
        header = await tracker.header_for(NAME, timeout=0)
        again = await tracker.fetch(announcement)  # the pipeline's second look before writing
    assert header.text is None and header.problem == "header fetch timed out"
    assert again is header, "the failure is remembered, not fetched again"
    [record] = [r for r in caplog.records if r.name == "test.timeout"]
    assert NAME in record.getMessage() and stall.url() in record.getMessage()
    # The Header Service announces it again: it is fetched again.
    await tracker.fetch(tracker.announce(NAME, stall.url()))
    await wait_until(lambda: stall.accepted == 2, what="the second announcement to be fetched")
    tracker.close()


# The fetch pool
# --------------


async def test_a_slow_header_does_not_delay_another_images_header(
    stall: StallServer, web: HeaderWebServer
) -> None:
    tracker = HeaderTracker(policy=local_http(read_timeout=120.0, deadline=120.0, max_in_flight=2))
    slow = asyncio.create_task(tracker.fetch(tracker.announce(NAME, stall.url())))
    await wait_until(lambda: stall.accepted == 1, what="the slow fetch to be connected")
    header = await asyncio.wait_for(
        tracker.fetch(tracker.announce(OTHER, web.url("/header.yaml"))), STD_TIMEOUT
    )
    assert header.text == HEADER.decode()
    assert not slow.done(), "the other image's header came while the slow one was still pending"
    slow.cancel()
    with pytest.raises(asyncio.CancelledError):
        await slow
    await wait_until(lambda: stall.closed == 1, what="the cancelled fetch to let go of its socket")
    tracker.close()


async def test_at_most_max_in_flight_fetches_run_at_once(stall: StallServer) -> None:
    tracker = HeaderTracker(policy=local_http(read_timeout=120.0, deadline=120.0, max_in_flight=2))
    tasks = [
        asyncio.create_task(tracker.fetch(tracker.announce(f"AT_O_20261123_00010{i}", stall.url(f"/{i}"))))
        for i in range(3)
    ]
    await wait_until(lambda: stall.accepted == 2, what="two fetches to be connected")
    assert stall.accepted == 2 and not any(task.done() for task in tasks)
    tasks[0].cancel()
    await wait_until(lambda: stall.accepted == 3, what="the third fetch to get the freed thread")
    for task in tasks[1:]:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    tracker.close()


async def test_header_fetches_do_not_use_the_default_thread_pool(
    stall: StallServer, header_root: Path
) -> None:
    loop = asyncio.get_running_loop()
    default = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="test-default")
    loop.set_default_executor(default)
    tracker = HeaderTracker(
        policy=HeaderFetchPolicy(
            schemes=frozenset({"http", "file"}),
            hosts=frozenset({LOOPBACK}),
            file_root=str(header_root),
            read_timeout=120.0,
            deadline=120.0,
            max_in_flight=3,
        )
    )
    # Stalled header fetches leave the CSC's other blocking work alone ...
    stalled = [
        asyncio.create_task(tracker.fetch(tracker.announce(f"AT_O_20261123_00020{i}", stall.url())))
        for i in range(2)
    ]
    await wait_until(lambda: stall.accepted == 2, what="two stalled fetches")
    assert await asyncio.wait_for(asyncio.to_thread(lambda: "done"), STD_TIMEOUT) == "done"
    # ... and a busy default pool does not hold up a header.
    release = threading.Event()
    busy = asyncio.to_thread(release.wait)
    busy_task = asyncio.ensure_future(busy)
    header = await asyncio.wait_for(
        tracker.fetch(tracker.announce(NAME, (header_root / "AT" / "h.yaml").as_uri())), STD_TIMEOUT
    )
    assert header.text == HEADER.decode() and not busy_task.done()
    release.set()
    await busy_task
    for task in stalled:
        task.cancel()
    await asyncio.gather(*stalled, return_exceptions=True)
    tracker.close()


# s3://
# -----


def put_header(seaweedfs: TemporarySeaweedFS, bucket: str, key: str, data: bytes) -> None:
    seaweedfs.client().put_object(Bucket=bucket, Key=key, Body=data)


def s3_policy(bucket: str, **limits: Any) -> HeaderFetchPolicy:
    return HeaderFetchPolicy(schemes=frozenset({"s3"}), buckets=frozenset({bucket}), **limits)


async def test_an_s3_header_is_fetched_with_the_same_limits(
    s3_bucket: str, seaweedfs: TemporarySeaweedFS, pool: concurrent.futures.ThreadPoolExecutor
) -> None:
    key = header_key("ATHeaderService", NAME)
    put_header(seaweedfs, s3_bucket, key, HEADER)
    put_header(seaweedfs, s3_bucket, "big.yaml", b"#" * 2000)
    url = f"s3://{s3_bucket}/{key}"
    tracker = HeaderTracker(policy=s3_policy(s3_bucket))
    header = await tracker.fetch(tracker.announce(NAME, url))
    assert header.text == HEADER.decode() and header.source == url
    tracker.close()
    with pytest.raises(HeaderTooLarge, match="2000 bytes"):
        await fetch_header_file(f"s3://{s3_bucket}/big.yaml", s3_policy(s3_bucket, max_size=1000), pool)
    with pytest.raises(HeaderFetchError, match="NoSuchKey"):
        await fetch_header_file(f"s3://{s3_bucket}/missing.yaml", s3_policy(s3_bucket), pool)
    with pytest.raises(HeaderUrlRefused, match="allowed_buckets"):
        await fetch_header_file(url, s3_policy("rubinobs-lfa-cp"), RefusingExecutor())


async def test_an_s3_profile_selects_its_endpoint_and_credentials(
    s3_bucket: str,
    seaweedfs: TemporarySeaweedFS,
    pool: concurrent.futures.ThreadPoolExecutor,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    put_header(seaweedfs, s3_bucket, "h.yaml", HEADER)
    monkeypatch.delenv("S3_ENDPOINT_URL")
    monkeypatch.setenv(
        "LSST_RESOURCES_S3_PROFILE_hs",
        f"http://{seaweedfs.access_key}:{seaweedfs.secret_key}@{LOOPBACK}:{seaweedfs.s3_port}",
    )
    assert await fetch_header_file(f"s3://hs@{s3_bucket}/h.yaml", s3_policy(s3_bucket), pool) == HEADER


async def test_an_s3_endpoint_that_never_answers_is_abandoned_at_the_deadline(
    stall: StallServer, pool: concurrent.futures.ThreadPoolExecutor, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("S3_ENDPOINT_URL", f"http://{LOOPBACK}:{stall.port}")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "archiver")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "archiver-secret")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    # The read timeout (which boto3 applies per read) is longer than the deadline.
    policy = s3_policy("rubinobs-lfa-cp", read_timeout=3.0, deadline=1.0)
    started = time.monotonic()
    with pytest.raises(HeaderFetchTimeout, match="deadline"):
        await fetch_header_file("s3://rubinobs-lfa-cp/h.yaml", policy, pool)
    assert time.monotonic() - started < policy.deadline + DEADLINE_MARGIN
    await asyncio.to_thread(pool.shutdown, wait=True)  # the read ends by its read timeout
    assert stall.accepted == 1, "one attempt, no retry"


# Configuration
# -------------

COMPONENTS = ("ATArchiver", "CCArchiver", "MTArchiver")


def site_config(component: str, *sites: dict[str, Any]) -> dict[str, Any]:
    """``_init.yaml`` merged with site settings as salkit merges them, validated."""
    import jsonschema

    config: dict[str, Any] = yaml.safe_load((REPO_CONFIG_ROOT / component / "v1" / "_init.yaml").read_text())
    for site in sites:
        hierarchical_update(config, copy.deepcopy(site))
    jsonschema.validate(config, CONFIG_SCHEMA)
    return config


def repo_site(component: str, site: str) -> dict[str, Any]:
    return dict(yaml.safe_load((REPO_CONFIG_ROOT / component / "v1" / f"_{site}.yaml").read_text()))


@pytest.mark.parametrize("component", COMPONENTS)
def test_the_default_configuration_gives_the_fetch_policy(component: str) -> None:
    camera = get_camera(component)
    config = ArchiverConfig.from_validated(site_config(component), camera)
    policy = config.header_service.fetch_policy
    assert policy.schemes == {"https", "s3", "file"}
    assert policy.hosts == {"s3.cp.lsst.org"} and policy.buckets == {"rubinobs-lfa-cp"}
    assert policy.file_root == os.path.dirname(config.daq.root)
    assert (policy.connect_timeout, policy.read_timeout, policy.deadline) == (2.0, 5.0, 8.0)
    assert policy.deadline <= config.header_service.wait_timeout
    assert (policy.max_size, policy.max_in_flight) == (4 * 1024 * 1024, 4)
    check_header_url(
        f"https://s3.cp.lsst.org/rubinobs-lfa-cp/{header_key(camera.header_service_name, NAME)}", policy
    )
    check_header_url(f"s3://rubinobs-lfa-cp/{header_key(camera.header_service_name, NAME)}", policy)


@pytest.mark.parametrize("component", COMPONENTS)
def test_every_configuration_allows_where_the_simulated_header_service_writes(
    component: str, tmp_path: Path
) -> None:
    camera = get_camera(component)
    name = f"{camera.camera_code}_O_20261123_000042"
    key = header_key(camera.header_service_name, name)

    def simulated_url(header_root: str | Path) -> str:
        return str(ResourcePath(os.fspath(header_root), forceDirectory=True).join(key))

    for sites in ([], [repo_site(component, "test")], [local_site_config(tmp_path)]):
        config = ArchiverConfig.from_validated(site_config(component, *sites), camera)
        policy = config.header_service.fetch_policy
        # --simulate: the simulated system lives in <daq.root>/simulated.
        check_header_url(simulated_url(Path(config.daq.root) / "simulated" / "headers"), policy)
        # The demo and the CSC tests: the DAQ store in <root>/daq, headers in <root>/headers.
        check_header_url(simulated_url(Path(config.daq.root).parent / "headers"), policy)
        assert policy.deadline <= config.header_service.wait_timeout
        with pytest.raises(HeaderUrlRefused):
            check_header_url("file:///etc/passwd", policy)


def test_the_fetch_deadline_fits_inside_the_header_wait() -> None:
    camera = get_camera("ATArchiver")
    short = site_config("ATArchiver", {"header_service": {"wait_timeout": 0.5, "fetch_timeout": 8.0}})
    assert ArchiverConfig.from_validated(short, camera).header_service.fetch_policy.deadline == 0.5
    no_wait = site_config("ATArchiver", {"header_service": {"wait_timeout": 0.0, "fetch_timeout": 3.0}})
    assert ArchiverConfig.from_validated(no_wait, camera).header_service.fetch_policy.deadline == 3.0


def test_an_explicit_file_root_is_made_absolute(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    config = site_config("ATArchiver", {"header_service": {"file_root": "headers"}})
    policy = ArchiverConfig.from_validated(config, get_camera("ATArchiver")).header_service.fetch_policy
    assert policy.file_root == os.fspath(tmp_path / "headers")


def test_a_malformed_allowed_host_is_a_configuration_error() -> None:
    config = site_config("ATArchiver", {"header_service": {"allowed_hosts": ["https://s3.cp.lsst.org"]}})
    with pytest.raises(
        ArchiverConfigError, match="Bad header_service: Allowed host 'https://s3.cp.lsst.org'"
    ):
        ArchiverConfig.from_validated(config, get_camera("ATArchiver"))


async def test_configure_replaces_the_policy_and_forgets_failures(header_root: Path) -> None:
    tracker = HeaderTracker()
    announcement = tracker.announce(NAME, (header_root / "AT" / "h.yaml").as_uri())
    refused = await tracker.fetch(announcement)
    assert refused.problem == "header URL refused (allowed_schemes)"
    tracker.configure(files_under(header_root, max_in_flight=2))
    assert tracker.policy.max_in_flight == 2
    assert (await tracker.fetch(announcement)).text == HEADER.decode()
    tracker.close()
