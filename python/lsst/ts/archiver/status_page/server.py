"""`StatusPageServer`: the CSC's read-only status page over HTTP (standard library only).

A small HTTP/1.1 server on `asyncio.start_server` (one request per
connection) with three kinds of resource, all read-only:

* ``/`` — the page (`render_page`): maps of the latest images, queues,
  workers, recent failures; it reloads itself;
* ``/status.json`` — the same as JSON (`StatusSnapshot.to_json`);
* ``/map/<obsid>.png`` — the focal-plane map of an image in the ledger.

Nothing is ever read from the file system: any other path is 404, a
malformed request 400, a method other than GET or HEAD 405. Ledger reads go
through the CSC's `~lsst.ts.archiver.ledger.LedgerRunner`; maps are drawn in
a thread, one at a time, and kept while their image does not change.
"""

from __future__ import annotations

__all__ = ["StatusPageServer", "start_status_page"]

import asyncio
import collections
import contextlib
import json
import logging
import re
import urllib.parse
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from ..camera import Camera, InvalidImageNameError
from ..ledger import LedgerError, LedgerRunner
from ..maps import ImageStatus, read_image_status, render_image_map
from .page import render_page
from .snapshot import StatusSnapshot, read_snapshot

if TYPE_CHECKING:
    from ..runtime import ArchiverRuntime

_MAP_PATH = re.compile(r"/map/([A-Za-z0-9_]{1,64})\.png")
_REQUEST_TIMEOUT = 10.0
_MAX_HEADER_LINES = 100
_MAPS_KEPT = 16
_REASONS = {
    200: "OK",
    400: "Bad Request",
    404: "Not Found",
    405: "Method Not Allowed",
    503: "Service Unavailable",
}
_SECURITY_HEADERS = (
    "Cache-Control: no-store\r\n"
    "X-Content-Type-Options: nosniff\r\n"
    "Content-Security-Policy: default-src 'self'; style-src 'unsafe-inline'\r\n"
)


class _Response:
    """Status code, content type and body of one response."""

    def __init__(self, status: int, content_type: str, body: bytes) -> None:
        self.status = status
        self.content_type = content_type
        self.body = body

    @classmethod
    def text(cls, status: int, message: str) -> _Response:
        return cls(status, "text/plain; charset=utf-8", (message + "\n").encode())


class StatusPageServer:
    """Serve an Archiver's read-only status page.

    Parameters
    ----------
    camera : `~lsst.ts.archiver.camera.Camera`
        The Archiver's camera.
    runner : `~lsst.ts.archiver.ledger.LedgerRunner`
        The route to the ledger.
    component : `str`
        The Archiver's SAL name (page title).
    destinations : sequence of `str`
        Enabled destinations, in configuration order.
    capture_workers : callable
        Returns the number of capture workers alive in the CSC's pool.
    log : `logging.Logger`
        Logs the URL when serving starts, and errors.
    host : `str`, optional
        Address to listen on (loopback by default).
    port : `int`, optional
        Port; 0 takes any free port (see `port` once started).
    images : `int`, optional
        How many of the latest images the page shows.
    refresh : `float`, optional
        Seconds between the page's reloads.
    """

    def __init__(
        self,
        camera: Camera,
        runner: LedgerRunner,
        *,
        component: str,
        destinations: Sequence[str],
        capture_workers: Callable[[], int],
        log: logging.Logger,
        host: str = "127.0.0.1",
        port: int = 0,
        images: int = 3,
        refresh: float = 5.0,
    ) -> None:
        self.camera = camera
        self.runner = runner
        self.component = component
        self.destinations = tuple(destinations)
        self.capture_workers = capture_workers
        self.log = log
        self.host = host
        self.port = port
        self.images = images
        self.refresh = refresh
        self._server: asyncio.Server | None = None
        self._connections: set[asyncio.Task[None]] = set()
        self._maps: collections.OrderedDict[str, tuple[ImageStatus, bytes]] = collections.OrderedDict()
        self._drawing = asyncio.Lock()

    @property
    def url(self) -> str:
        """The page's URL (``http://127.0.0.1:<port>/``)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/"

    async def start(self) -> None:
        """Listen; log the URL.

        Raises
        ------
        OSError
            If the address cannot be bound (e.g. the port is taken).
        """
        self._server = await asyncio.start_server(self._connection, self.host, self.port)
        self.port = int(self._server.sockets[0].getsockname()[1])
        self.log.info(f"Status page: {self.url} (read-only)")

    async def close(self) -> None:
        """Stop listening and drop open connections."""
        server, self._server = self._server, None
        if server is None:
            return
        server.close()
        for task in list(self._connections):
            task.cancel()
        await asyncio.gather(*self._connections, return_exceptions=True)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(server.wait_closed(), 5.0)

    # ------------------------------------------------------------------ HTTP

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        try:
            method, response = await self._read_and_answer(reader)
            head = (
                f"HTTP/1.1 {response.status} {_REASONS.get(response.status, 'Error')}\r\n"
                f"Content-Type: {response.content_type}\r\n"
                f"Content-Length: {len(response.body)}\r\n"
                f"{_SECURITY_HEADERS}Connection: close\r\n\r\n"
            )
            writer.write(head.encode("latin-1") + (b"" if method == "HEAD" else response.body))
            await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        except Exception:
            self.log.exception("Status page: answering a request failed")
        finally:
            self._connections.discard(task)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _read_and_answer(self, reader: asyncio.StreamReader) -> tuple[str, _Response]:
        try:
            async with asyncio.timeout(_REQUEST_TIMEOUT):
                line = (await reader.readline()).decode("latin-1")
                for _ in range(_MAX_HEADER_LINES):
                    header = await reader.readline()
                    if header in (b"\r\n", b"\n", b""):
                        break
                else:
                    return "GET", _Response.text(400, "Too many header lines")
        except (TimeoutError, ValueError, asyncio.LimitOverrunError):
            return "GET", _Response.text(400, "Incomplete or oversized request")
        parts = line.split()
        if len(parts) != 3 or not parts[2].startswith("HTTP/") or not parts[1].startswith("/"):
            return "GET", _Response.text(400, "Malformed request line")
        method, target = parts[0], parts[1]
        if method not in ("GET", "HEAD"):
            return "GET", _Response.text(405, "Read-only: only GET and HEAD")
        try:
            return method, await self._answer(urllib.parse.urlsplit(target).path)
        except LedgerError as e:
            return method, _Response.text(503, f"Ledger unavailable: {e}")

    async def _answer(self, path: str) -> _Response:
        if path in ("/", "/index.html"):
            page = render_page(await self.snapshot(), refresh=self.refresh)
            return _Response(200, "text/html; charset=utf-8", page.encode())
        if path == "/status.json":
            body = json.dumps((await self.snapshot()).to_json(), indent=1)
            return _Response(200, "application/json", body.encode())
        match = _MAP_PATH.fullmatch(path)
        if match is not None:
            png = await self.image_map(match.group(1))
            if png is not None:
                return _Response(200, "image/png", png)
        return _Response.text(404, "Not found")

    # ------------------------------------------------------------------ content

    async def snapshot(self) -> StatusSnapshot:
        """Read what the page shows (through the ledger runner)."""
        return await self.runner.run(
            read_snapshot,
            self.runner.ledger,
            self.camera,
            component=self.component,
            destinations=self.destinations,
            capture_workers=self.capture_workers(),
            images=self.images,
        )

    async def image_map(self, obsid: str) -> bytes | None:
        """The PNG map of one of the camera's images; None if the ledger does not have it."""
        try:
            self.camera.parse_image_name(obsid)
        except InvalidImageNameError:
            return None
        ledger = self.runner.ledger
        if not await self.runner.run(ledger.has_image, obsid):
            return None
        status = await self.runner.run(read_image_status, ledger, self.camera, obsid)
        kept = self._maps.get(obsid)
        if kept is not None and kept[0] == status:
            return kept[1]
        async with self._drawing:
            png = await asyncio.to_thread(render_image_map, status, self.camera)
        self._maps[obsid] = (status, png)
        self._maps.move_to_end(obsid)
        while len(self._maps) > _MAPS_KEPT:
            self._maps.popitem(last=False)
        return png


async def start_status_page(
    runtime: ArchiverRuntime, component: str, log: logging.Logger
) -> StatusPageServer | None:
    """Start the status page of an open runtime if ``status_page.port`` is set.

    Returns
    -------
    server : `StatusPageServer` or `None`
        The running server; None if the page is disabled, or if its address
        cannot be bound (logged as an error: the Archiver runs without it).
    """
    settings = runtime.config.status_page
    if settings.port is None:
        return None
    server = StatusPageServer(
        runtime.camera,
        runtime.runner,
        component=component,
        destinations=[d.name for d in runtime.config.enabled_destinations],
        capture_workers=lambda: runtime.pool.workers_alive,
        log=log,
        host=settings.host,
        port=settings.port,
    )
    try:
        await server.start()
    except OSError as e:
        log.error(
            f"Status page not started: cannot listen on {settings.host}:{settings.port} ({e}); "
            "set status_page.port to a free port, 0 for any, or null to disable it"
        )
        return None
    return server
