"""Reading one Header Service header file, bounded in time and size.

`fetch_header_file` checks the URL against the `HeaderFetchPolicy` first
(a refused URL is never contacted), then reads the file in the thread pool
it is given and returns, or raises, by the policy's deadline whatever the
server does. The blocking reader, `read_header_file`, keeps to the same
deadline itself:

* ``http(s)://``: the standard library's `http.client`, so that the connect
  and read timeouts apply to every socket operation, each read returns what
  has arrived (`http.client.HTTPResponse.read1`) and the deadline is checked
  between reads. No proxy, no redirect, no retry. At the deadline the
  waiting side shuts the socket down, which ends any read still blocked.
* ``s3://``: boto3 with the policy's connect and read timeouts and a single
  attempt; endpoint and credentials as lsst-resources finds them
  (``LSST_RESOURCES_S3_PROFILE_<profile>``, ``S3_ENDPOINT_URL``, the AWS
  variables and profiles).
* ``file://``: the path with its symlinks resolved must still be under the
  policy's root; only a regular file is read, at most ``max_size + 1``
  bytes.

A file longer than ``max_size`` is refused as soon as that is known (from
``Content-Length`` or the file size, else after ``max_size + 1`` bytes).
"""

from __future__ import annotations

__all__ = [
    "FetchAbort",
    "HeaderFetchError",
    "HeaderFetchTimeout",
    "HeaderTooLarge",
    "fetch_header_file",
    "read_header_file",
]

import asyncio
import concurrent.futures
import functools
import http.client
import os
import socket
import ssl
import stat
import threading
import time
import urllib.parse
from collections.abc import Callable
from typing import Any

from ..version import __version__
from .header_policy import HeaderFetchPolicy, HeaderUrl, HeaderUrlRefused, check_header_url, is_inside

_CHUNK = 64 * 1024
_USER_AGENT = f"ts_archiver/{__version__} (Rubin Observatory Archiver)"


class HeaderFetchError(Exception):
    """An allowed header URL could not be read.

    Parameters
    ----------
    url : `str`
        The URL.
    reason : `str`
        What went wrong, with the values involved.
    """

    problem = "header file unreadable"
    """Short reason for ``HDRNOTE``."""

    def __init__(self, url: str, reason: str) -> None:
        self.url = url
        self.reason = reason
        super().__init__(f"Cannot fetch header {url!r}: {reason}")


class HeaderFetchTimeout(HeaderFetchError):
    """The fetch did not finish within a timeout or the deadline."""

    problem = "header fetch timed out"


class HeaderTooLarge(HeaderFetchError):
    """The header file is larger than the policy's ``max_size``."""

    problem = "header file too large"


class FetchAbort:
    """Lets the waiting side stop a blocking fetch (thread-safe).

    The reader attaches its socket; `abort` shuts it down, which wakes a
    read blocked on it, and marks the fetch aborted.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._aborted = False
        self._socket: socket.socket | None = None

    @property
    def aborted(self) -> bool:
        """True once `abort` was called."""
        return self._aborted

    def attach(self, sock: socket.socket | None) -> None:
        """Register the socket the reader uses (shut down at once if already aborted)."""
        with self._lock:
            self._socket = sock
            if self._aborted:
                _shutdown(sock)

    def abort(self) -> None:
        """Stop the fetch: shut its socket down."""
        with self._lock:
            self._aborted = True
            _shutdown(self._socket)


def _shutdown(sock: socket.socket | None) -> None:
    if sock is None:
        return
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass  # already closed or never connected


class _Clock:
    """The deadline of one fetch."""

    def __init__(self, url: str, deadline_at: float, total: float, abort: FetchAbort) -> None:
        self.url = url
        self.deadline_at = deadline_at
        self.total = total
        self.abort = abort

    def limit(self, timeout: float) -> float:
        """``timeout``, shortened to what is left; raise if nothing is left."""
        remaining = self.deadline_at - time.monotonic()
        if remaining <= 0 or self.abort.aborted:
            raise self.expired()
        return min(timeout, remaining)

    def check(self) -> None:
        """Raise if the deadline has passed or the fetch was aborted."""
        self.limit(0.0)

    def expired(self) -> HeaderFetchTimeout:
        return HeaderFetchTimeout(self.url, f"not complete within the {self.total:g} s deadline")


def _read_capped(
    url: str, read: Callable[[int], bytes], before_read: Callable[[], None], max_size: int
) -> bytes:
    """Read until EOF, at most ``max_size + 1`` bytes; raise `HeaderTooLarge` past ``max_size``."""
    chunks: list[bytes] = []
    size = 0
    while True:
        before_read()
        chunk = read(min(_CHUNK, max_size + 1 - size))
        if not chunk:
            return b"".join(chunks)
        size += len(chunk)
        if size > max_size:
            raise HeaderTooLarge(url, f"more than max_size = {max_size} bytes")
        chunks.append(chunk)


def _check_length(url: str, length: int | str | None, max_size: int) -> None:
    try:
        size = int(length) if length is not None else None
    except ValueError:
        return  # a bad Content-Length: the capped read decides
    if size is not None and size > max_size:
        raise HeaderTooLarge(url, f"{size} bytes, more than max_size = {max_size}")


def read_header_file(
    target: HeaderUrl, policy: HeaderFetchPolicy, *, deadline_at: float, abort: FetchAbort | None = None
) -> bytes:
    """Read an allowed header file (blocking; run it in a thread).

    Parameters
    ----------
    target : `HeaderUrl`
        The URL, as `check_header_url` returned it.
    policy : `HeaderFetchPolicy`
        Timeouts and size cap.
    deadline_at : `float`
        `time.monotonic` time by which the read must be complete.
    abort : `FetchAbort`, optional
        Lets another thread stop the read.

    Returns
    -------
    data : `bytes`
        The file's content (at most ``policy.max_size`` bytes).

    Raises
    ------
    HeaderUrlRefused
        If a ``file://`` path leaves the root once its symlinks are resolved.
    HeaderFetchTimeout
        If a timeout or the deadline passed.
    HeaderTooLarge
        If the file is larger than ``policy.max_size``.
    HeaderFetchError
        If the file cannot be read for another reason.
    """
    clock = _Clock(target.url, deadline_at, policy.deadline, abort or FetchAbort())
    clock.check()  # queued past the deadline: do not start
    if target.scheme == "file":
        return _read_file(target, policy, clock)
    if target.scheme == "s3":
        return _read_s3(target, policy, clock)
    return _read_http(target, policy, clock)


# file://
# -------


def _read_file(target: HeaderUrl, policy: HeaderFetchPolicy, clock: _Clock) -> bytes:
    assert policy.file_root is not None, "check_header_url refuses file:// without a root"
    root = os.path.realpath(policy.file_root)
    resolved = os.path.realpath(target.path)
    if not is_inside(resolved, root):
        raise HeaderUrlRefused(
            target.url, "file_root", f"{target.path} resolves to {resolved}, outside {root}"
        )
    try:
        fd = os.open(resolved, os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError as e:
        raise HeaderFetchError(target.url, f"cannot open {resolved}: {e.strerror}") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise HeaderFetchError(target.url, f"{resolved} is not a regular file")
        _check_length(target.url, info.st_size, policy.max_size)
        try:
            return _read_capped(target.url, functools.partial(os.read, fd), clock.check, policy.max_size)
        except OSError as e:
            raise HeaderFetchError(target.url, f"cannot read {resolved}: {e.strerror}") from None
    finally:
        os.close(fd)


# http(s)://
# ----------


def _read_http(target: HeaderUrl, policy: HeaderFetchPolicy, clock: _Clock) -> bytes:
    where = f"{target.host}:{target.port}"
    connection: http.client.HTTPConnection
    connect_timeout = clock.limit(policy.connect_timeout)
    if target.scheme == "https":
        connection = http.client.HTTPSConnection(
            target.host, target.port, timeout=connect_timeout, context=ssl.create_default_context()
        )
    else:
        connection = http.client.HTTPConnection(target.host, target.port, timeout=connect_timeout)
    # What a socket timeout means now; None: the deadline (the timeout was cut to it).
    step: str | None = None
    if connect_timeout == policy.connect_timeout:
        step = f"no connection to {where} within {connect_timeout:g} s"
    response: http.client.HTTPResponse | None = None
    try:
        connection.connect()
        clock.abort.attach(connection.sock)
        sock = connection.sock

        def set_read_timeout() -> None:
            nonlocal step
            timeout = clock.limit(policy.read_timeout)
            step = f"no data from {where} for {timeout:g} s" if timeout == policy.read_timeout else None
            sock.settimeout(timeout)

        set_read_timeout()
        connection.request(
            "GET", target.path, headers={"User-Agent": _USER_AGENT, "Accept-Encoding": "identity"}
        )
        response = connection.getresponse()
        if 300 <= response.status < 400:
            location = response.getheader("Location", "")
            raise HeaderFetchError(
                target.url,
                f"HTTP {response.status} redirect to {location!r} not followed (publish the final URL)",
            )
        if response.status != 200:
            raise HeaderFetchError(target.url, f"HTTP {response.status} {response.reason}")
        _check_length(target.url, response.getheader("Content-Length"), policy.max_size)
        data = _read_capped(target.url, response.read1, set_read_timeout, policy.max_size)
        if clock.abort.aborted:
            raise clock.expired()
        if response.length:
            raise HeaderFetchError(target.url, f"connection closed {response.length} bytes before the end")
        return data
    except TimeoutError:
        if step is None or clock.abort.aborted:
            raise clock.expired() from None
        raise HeaderFetchTimeout(target.url, step) from None
    except (OSError, http.client.HTTPException) as e:
        if clock.abort.aborted:
            raise clock.expired() from None
        raise HeaderFetchError(target.url, f"{where}: {e!r}") from None
    finally:
        # The response holds the socket open after the connection lets go of it.
        if response is not None:
            response.close()
        connection.close()


# s3://
# -----


def _s3_endpoint(profile: str | None) -> tuple[str | None, str | None, str | None]:
    """Endpoint URL and credentials (if in it) for a profile, as lsst-resources finds them."""
    endpoint = os.environ.get(f"LSST_RESOURCES_S3_PROFILE_{profile}") if profile else None
    endpoint = endpoint or os.environ.get("S3_ENDPOINT_URL") or None
    if endpoint is None:
        return None, None, None
    parts = urllib.parse.urlsplit(endpoint)
    userinfo, at, hostport = parts.netloc.rpartition("@")
    key_id = secret = None
    if at:
        key_id, colon, secret = (urllib.parse.unquote(p) for p in userinfo.partition(":"))
        if not colon:
            key_id = secret = None
    return parts._replace(netloc=hostport).geturl(), key_id, secret


@functools.lru_cache(maxsize=16)
def _s3_client(
    profile: str | None,
    endpoint: tuple[str | None, str | None, str | None],
    connect_timeout: float,
    read_timeout: float,
    pool_size: int,
) -> Any:
    import boto3
    import botocore.config

    endpoint_url, key_id, secret = endpoint
    session = boto3.session.Session(profile_name=None if key_id else profile)
    return session.client(
        "s3",
        endpoint_url=endpoint_url,
        aws_access_key_id=key_id,
        aws_secret_access_key=secret,
        config=botocore.config.Config(
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            retries={"total_max_attempts": 1, "mode": "standard"},
            max_pool_connections=max(pool_size, 10),
        ),
    )


def _read_s3(target: HeaderUrl, policy: HeaderFetchPolicy, clock: _Clock) -> bytes:
    import botocore.exceptions

    where = f"s3://{target.host}/{target.path}"
    try:
        client = _s3_client(
            target.profile,
            _s3_endpoint(target.profile),
            policy.connect_timeout,
            policy.read_timeout,
            policy.max_in_flight,
        )
        response = client.get_object(Bucket=target.host, Key=target.path)
        body = response["Body"]
        try:
            _check_length(target.url, response.get("ContentLength"), policy.max_size)
            return _read_capped(target.url, body.read, clock.check, policy.max_size)
        finally:
            body.close()
    except (botocore.exceptions.ConnectTimeoutError, botocore.exceptions.ReadTimeoutError) as e:
        raise HeaderFetchTimeout(target.url, f"{where}: {e}") from None
    except botocore.exceptions.ClientError as e:
        error = e.response.get("Error", {})
        raise HeaderFetchError(
            target.url, f"{where}: S3 error {error.get('Code', '?')} ({error.get('Message', e)})"
        ) from None
    except (botocore.exceptions.BotoCoreError, OSError) as e:
        raise HeaderFetchError(target.url, f"{where}: {e!r}") from None


# The asyncio side
# ----------------


async def fetch_header_file(
    url: str, policy: HeaderFetchPolicy, executor: concurrent.futures.Executor
) -> bytes:
    """Check a header URL and read it in ``executor``, within the policy's deadline.

    Parameters
    ----------
    url : `str`
        The announced URL.
    policy : `HeaderFetchPolicy`
        What is allowed, timeouts, deadline and size cap.
    executor : `concurrent.futures.Executor`
        Where the blocking read runs (the header fetch pool).

    Returns
    -------
    data : `bytes`
        The file's content.

    Raises
    ------
    HeaderUrlRefused
        If the policy does not allow the URL (nothing was contacted).
    HeaderFetchError
        If it could not be read in time, is too large or unreadable
        (`HeaderFetchTimeout`, `HeaderTooLarge`, `HeaderFetchError`). The
        deadline counts from this call, time waiting for a free thread
        included; at the deadline the read is abandoned and its socket shut
        down.
    """
    target = check_header_url(url, policy)
    abort = FetchAbort()
    deadline_at = time.monotonic() + policy.deadline
    future = executor.submit(read_header_file, target, policy, deadline_at=deadline_at, abort=abort)
    try:
        return await asyncio.wait_for(asyncio.wrap_future(future), policy.deadline)
    except TimeoutError:
        raise HeaderFetchTimeout(url, f"not complete within the {policy.deadline:g} s deadline") from None
    finally:
        if not future.done():
            abort.abort()
            future.cancel()
