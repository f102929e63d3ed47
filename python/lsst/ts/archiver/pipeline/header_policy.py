"""`HeaderFetchPolicy`: which Header Service URLs may be fetched, within which limits.

`check_header_url` decides from the text of a URL alone: no DNS lookup, no
connection, no file system access. A URL it refuses is therefore never
contacted; one it allows comes back parsed as a `HeaderUrl`. Symlinks of an
allowed ``file://`` path can only be resolved on disk, so the reader
(`lsst.ts.archiver.pipeline.header_fetch`) checks the resolved path against
the same root when it opens the file.
"""

from __future__ import annotations

__all__ = [
    "HEADER_URL_SCHEMES",
    "HeaderFetchPolicy",
    "HeaderUrl",
    "HeaderUrlRefused",
    "check_header_url",
    "is_inside",
]

import math
import posixpath
import urllib.parse
from dataclasses import dataclass, field

HEADER_URL_SCHEMES = frozenset({"file", "http", "https", "s3"})
"""The schemes a header can be fetched with at all."""

_DEFAULT_PORTS = {"http": 80, "https": 443}
_MAX_URL_LENGTH = 4096


class HeaderUrlRefused(ValueError):
    """A header URL that the fetch policy does not allow.

    Parameters
    ----------
    url : `str`
        The URL as announced.
    rule : `str`
        The ``header_service`` setting it broke (``allowed_schemes``,
        ``allowed_hosts``, ``allowed_buckets``, ``file_root``), or ``url`` if
        the URL itself is malformed.
    reason : `str`
        What is wrong, with the offending value.
    """

    def __init__(self, url: str, rule: str, reason: str) -> None:
        self.url = url
        self.rule = rule
        self.reason = reason
        super().__init__(f"Header URL {url!r} refused by header_service.{rule}: {reason}")

    @property
    def problem(self) -> str:
        """Short reason for ``HDRNOTE``."""
        return f"header URL refused ({self.rule})"


def _host_port(entry: str) -> tuple[str, int | None]:
    """Split an allowed-host entry ``host``, ``host:port``, ``[v6]`` or ``[v6]:port``."""
    text = entry.strip().lower()
    if not text or any(c in text for c in "/@?#") or any(c.isspace() for c in text):
        raise ValueError(f"Allowed host {entry!r} must be a host name or address, optionally with ':port'")
    port: int | None = None
    if text.startswith("["):
        host, bracket, rest = text[1:].partition("]")
        if not bracket or (rest and not rest.startswith(":")):
            raise ValueError(
                f"Allowed host {entry!r}: an IPv6 address is written [address] or [address]:port"
            )
        port_text = rest[1:] if rest else None
    else:
        host, colon, port_text_or_empty = text.partition(":")
        port_text = port_text_or_empty if colon else None
    if port_text is not None:
        if not port_text.isdigit() or not 0 < int(port_text) < 65536:
            raise ValueError(f"Allowed host {entry!r} has a bad port {port_text!r}")
        port = int(port_text)
    host = host.rstrip(".")
    if not host:
        raise ValueError(f"Allowed host {entry!r} has no host name")
    return host, port


def is_inside(path: str, root: str) -> bool:
    """Whether absolute, normalized ``path`` is ``root`` or below it (both POSIX)."""
    return path == root or path.startswith(root.rstrip("/") + "/")


@dataclass(frozen=True)
class HeaderFetchPolicy:
    """Where headers may be fetched from, and the limits of one fetch.

    The defaults allow nothing: a `HeaderTracker` that was not configured
    refuses every URL. The CSC builds its policy from the ``header_service``
    configuration (`lsst.ts.archiver.config.HeaderServiceSettings`).

    Parameters
    ----------
    schemes : `frozenset` [`str`]
        Allowed URL schemes, a subset of `HEADER_URL_SCHEMES`.
    hosts : `frozenset` [`str`]
        Hosts ``http(s)://`` URLs may name: ``host`` (any port) or
        ``host:port`` (that port only). Compared with the URL's host as
        written, case-insensitively; never resolved.
    buckets : `frozenset` [`str`]
        Buckets ``s3://`` URLs may name.
    file_root : `str` or `None`
        Absolute directory that ``file://`` paths must be under; None
        refuses ``file://``.
    connect_timeout : `float`
        Seconds to wait for a connection to be established.
    read_timeout : `float`
        Seconds to wait for data on an established connection.
    deadline : `float`
        Seconds one fetch may take in all (queueing, connection, reading).
    max_size : `int`
        Largest header file (bytes); reading stops past it.
    max_in_flight : `int`
        Fetches that may run at once (threads of the fetch pool).

    Raises
    ------
    ValueError
        If a scheme is unknown, a host entry is malformed, ``file_root`` is
        not absolute, ``file`` is allowed without a root, or a limit is not
        positive.
    """

    schemes: frozenset[str] = frozenset()
    hosts: frozenset[str] = frozenset()
    buckets: frozenset[str] = frozenset()
    file_root: str | None = None
    connect_timeout: float = 2.0
    read_timeout: float = 5.0
    deadline: float = 8.0
    max_size: int = 4 * 1024 * 1024
    max_in_flight: int = 4
    _host_ports: frozenset[tuple[str, int | None]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        schemes = frozenset(s.lower() for s in self.schemes)
        unknown = schemes - HEADER_URL_SCHEMES
        if unknown:
            raise ValueError(
                f"Unknown header URL scheme(s) {sorted(unknown)}; use {sorted(HEADER_URL_SCHEMES)}"
            )
        object.__setattr__(self, "schemes", schemes)
        object.__setattr__(self, "hosts", frozenset(self.hosts))
        object.__setattr__(self, "buckets", frozenset(self.buckets))
        object.__setattr__(self, "_host_ports", frozenset(_host_port(h) for h in self.hosts))
        if self.file_root is not None:
            if not posixpath.isabs(self.file_root):
                raise ValueError(f"file_root {self.file_root!r} must be an absolute path")
            object.__setattr__(self, "file_root", posixpath.normpath(self.file_root))
        elif "file" in schemes:
            raise ValueError("file:// header URLs are allowed but no file_root is given")
        for name in ("connect_timeout", "read_timeout", "deadline"):
            value = getattr(self, name)
            if not (isinstance(value, int | float) and math.isfinite(value) and value > 0):
                raise ValueError(f"{name} must be a positive number of seconds, not {value!r}")
        for name in ("max_size", "max_in_flight"):
            value = getattr(self, name)
            if not (isinstance(value, int) and value > 0):
                raise ValueError(f"{name} must be a positive integer, not {value!r}")

    def allows_host(self, host: str, port: int) -> bool:
        """Whether ``http(s)://host:port`` is allowed (``host`` lower case)."""
        return (host, None) in self._host_ports or (host, port) in self._host_ports


@dataclass(frozen=True)
class HeaderUrl:
    """A header URL the policy allows, parsed.

    Parameters
    ----------
    url : `str`
        The URL as announced.
    scheme : `str`
        ``file``, ``http``, ``https`` or ``s3``.
    host : `str`
        http(s): the host (lower case); s3: the bucket; file: blank.
    port : `int`
        http(s): the port (the scheme's default if the URL has none); else 0.
    path : `str`
        file: the absolute, normalized path; http(s): the request target
        (path and query); s3: the object key.
    profile : `str` or `None`
        s3: the lsst-resources profile (``s3://profile@bucket/key``).
    """

    url: str
    scheme: str
    host: str
    port: int
    path: str
    profile: str | None = None


def check_header_url(url: str, policy: HeaderFetchPolicy) -> HeaderUrl:
    """Check an announced header URL against the policy, without contacting anything.

    Parameters
    ----------
    url : `str`
        The ``largeFileObjectAvailable`` URL.
    policy : `HeaderFetchPolicy`
        What is allowed.

    Returns
    -------
    target : `HeaderUrl`
        The parsed URL.

    Raises
    ------
    HeaderUrlRefused
        If the URL is malformed or breaks a rule of the policy; the error
        names the URL and the rule.
    """
    if not isinstance(url, str) or not url:
        raise HeaderUrlRefused(str(url), "url", "the URL is blank")
    if len(url) > _MAX_URL_LENGTH:
        raise HeaderUrlRefused(
            url[:100] + "...", "url", f"the URL is longer than {_MAX_URL_LENGTH} characters"
        )
    if any(ord(c) <= 32 or ord(c) == 127 for c in url):
        raise HeaderUrlRefused(url, "url", "the URL contains spaces or control characters")
    try:
        parts = urllib.parse.urlsplit(url)
    except ValueError as e:
        raise HeaderUrlRefused(url, "url", f"the URL cannot be parsed ({e})") from None
    scheme = parts.scheme.lower()
    if scheme not in policy.schemes:
        allowed = ", ".join(sorted(policy.schemes)) or "none"
        raise HeaderUrlRefused(
            url, "allowed_schemes", f"scheme {scheme or '(none)'!r} is not allowed (allowed: {allowed})"
        )
    if scheme == "file":
        return _check_file(url, parts, policy)
    if scheme == "s3":
        return _check_s3(url, parts, policy)
    return _check_http(url, scheme, parts, policy)


def _check_http(
    url: str, scheme: str, parts: urllib.parse.SplitResult, policy: HeaderFetchPolicy
) -> HeaderUrl:
    if "@" in parts.netloc:
        raise HeaderUrlRefused(url, "url", "credentials in an http(s) URL are not accepted")
    try:
        port = parts.port or _DEFAULT_PORTS[scheme]
    except ValueError as e:
        raise HeaderUrlRefused(url, "url", f"bad port ({e})") from None
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise HeaderUrlRefused(url, "url", "the URL has no host")
    if not policy.allows_host(host, port):
        allowed = ", ".join(sorted(policy.hosts)) or "none"
        raise HeaderUrlRefused(
            url, "allowed_hosts", f"host {host}:{port} is not allowed (allowed: {allowed})"
        )
    target = parts.path or "/"
    if parts.query:
        target += "?" + parts.query
    return HeaderUrl(url, scheme, host, port, target)


def _check_s3(url: str, parts: urllib.parse.SplitResult, policy: HeaderFetchPolicy) -> HeaderUrl:
    profile, at, bucket = parts.netloc.rpartition("@")
    if not bucket or ":" in bucket:
        raise HeaderUrlRefused(url, "url", "an s3 URL is s3://bucket/key or s3://profile@bucket/key")
    if bucket not in policy.buckets:
        allowed = ", ".join(sorted(policy.buckets)) or "none"
        raise HeaderUrlRefused(
            url, "allowed_buckets", f"bucket {bucket!r} is not allowed (allowed: {allowed})"
        )
    key = urllib.parse.unquote(parts.path.lstrip("/"))
    if not key or key.endswith("/"):
        raise HeaderUrlRefused(url, "url", "the s3 URL names no object")
    return HeaderUrl(url, "s3", bucket, 0, key, profile if at else None)


def _check_file(url: str, parts: urllib.parse.SplitResult, policy: HeaderFetchPolicy) -> HeaderUrl:
    if parts.netloc not in ("", "localhost"):
        raise HeaderUrlRefused(url, "url", f"a file URL cannot name a host ({parts.netloc!r})")
    if parts.query or parts.fragment:
        raise HeaderUrlRefused(url, "url", "a file URL has no query or fragment")
    path = urllib.parse.unquote(parts.path)
    if not path.startswith("/") or "\x00" in path:
        raise HeaderUrlRefused(url, "url", "a file URL needs an absolute path")
    normalized = "/" + posixpath.normpath(path).lstrip("/")
    if policy.file_root is None:
        raise HeaderUrlRefused(url, "file_root", "no file_root is configured")
    if not is_inside(normalized, policy.file_root):
        raise HeaderUrlRefused(url, "file_root", f"{normalized} is outside {policy.file_root}")
    return HeaderUrl(url, "file", "", 0, normalized)
