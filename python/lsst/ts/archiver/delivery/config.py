"""Destination configuration: validated, immutable, built from the CSC's configuration.

The JSON schema of one destination (`DESTINATION_SCHEMA`, from
``destination_schema.yaml`` shipped in this package) has a description for
every field; the CSC's schema embeds it. `DestinationConfig.from_dict`
validates against it and then checks what a schema cannot (target URLs,
role-specific requirements) with errors that name the field and the value.
"""

from __future__ import annotations

__all__ = [
    "DESTINATION_SCHEMA",
    "ButlerTarget",
    "DestinationConfig",
    "DestinationRole",
    "IngestMode",
    "KAFKA_RESERVED_SETTINGS",
    "NotificationConfig",
    "RetryPolicy",
    "VerifyMode",
    "destinations_from_config",
    "validate_target",
]

import enum
import os
import re
import urllib.parse
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import jsonschema
import yaml

from .errors import DestinationConfigError
from .selection import Selection

DESTINATION_SCHEMA: dict[str, Any] = yaml.safe_load(
    resources.files(__package__).joinpath("destination_schema.yaml").read_text(encoding="utf-8")
)
"""JSON schema (draft-07) of one destination, as a dict."""

_BUCKET_RE = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")


class DestinationRole(enum.Enum):
    """What a destination is for."""

    OODS = "oods"
    DBB = "dbb"
    PROMPT = "prompt"
    CDC = "cdc"
    AOS = "aos"
    COPY = "copy"


class IngestMode(enum.Enum):
    """Butler ingest transfer mode of a destination."""

    DIRECT = "direct"
    COPY = "copy"


class VerifyMode(enum.Enum):
    """How far-end copies are verified."""

    CHECKSUM = "checksum"
    SIZE = "size"


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with a cap, then failure.

    Parameters
    ----------
    max_attempts : `int`
        Attempts before an item is declared failed.
    initial_delay : `float`
        Delay after the first failure (s).
    max_delay : `float`
        Upper limit of the delay (s).
    multiplier : `float`
        Growth factor of the delay.
    """

    max_attempts: int = 10
    initial_delay: float = 1.0
    max_delay: float = 300.0
    multiplier: float = 2.0

    def delay(self, attempts: int) -> float:
        """Delay before the next attempt after ``attempts`` failed ones (s)."""
        exponent = max(0, attempts - 1)
        try:
            value = self.initial_delay * self.multiplier**exponent
        except OverflowError:
            return self.max_delay
        return min(self.max_delay, value)

    def exhausted(self, attempts: int) -> bool:
        """True when no attempt is left after ``attempts``."""
        return attempts >= self.max_attempts


@dataclass(frozen=True)
class ButlerTarget:
    """The Butler repository a destination ingests into."""

    repo: str
    ingest_mode: IngestMode = IngestMode.DIRECT
    registry_db: str | None = None
    namespace: str | None = None
    create: bool = True


KAFKA_RESERVED_SETTINGS = frozenset({"bootstrap.servers", "acks", "enable.idempotence", "message.timeout.ms"})
"""librdkafka settings the Kafka notification sink controls itself."""

_BROKER_RE = re.compile(r"^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9][A-Za-z0-9.-]*):([0-9]{1,5})$")


@dataclass(frozen=True)
class NotificationConfig:
    """Sink of the bucket notifications of a ``prompt`` destination.

    Parameters
    ----------
    kind : `str`
        ``directory`` or ``kafka``.
    directory : `str` or `None`
        Kind ``directory``: the existing directory JSON files are written to.
    event_name : `str`
        ``eventName`` of each record.
    bootstrap_servers : `str` or `None`
        Kind ``kafka``: ``host:port[,host:port...]`` of the brokers.
    topic : `str` or `None`
        Kind ``kafka``: the topic notifications are produced to.
    client_config : `dict` [`str`, `str` | `int` | `float` | `bool`]
        Kind ``kafka``: extra librdkafka producer settings (never those in
        `KAFKA_RESERVED_SETTINGS`).
    delivery_timeout : `float`
        Kind ``kafka``: seconds a notification may take to be acknowledged.
    """

    kind: str
    directory: str | None = None
    event_name: str = "ObjectCreated:Put"
    bootstrap_servers: str | None = None
    topic: str | None = None
    client_config: dict[str, str | int | float | bool] = field(default_factory=dict, hash=False)
    delivery_timeout: float = 30.0

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], label: str = "?") -> NotificationConfig:
        """Build from the (schema-valid) ``notifications`` mapping and check
        what the schema cannot.

        Raises
        ------
        DestinationConfigError
            If a field belongs to the other kind, a broker address is not
            ``host:port`` or ``client_config`` sets a reserved setting.
        """
        kind = data["kind"]
        own = {
            "directory": {"directory"},
            "kafka": {"bootstrap_servers", "topic", "client_config", "delivery_timeout"},
        }
        for other_kind, fields in own.items():
            if other_kind == kind:
                continue
            stray = sorted(fields & set(data))
            if stray:
                raise DestinationConfigError(
                    f"Destination {label!r}: notifications field(s) {stray} belong to kind {other_kind!r}, "
                    f"not {kind!r}; remove them"
                )
        client_config = dict(data.get("client_config", {}))
        if kind == "kafka":
            for server in data["bootstrap_servers"].split(","):
                match = _BROKER_RE.match(server.strip())
                if match is None or not 0 < int(match.group(2)) < 65536:
                    raise DestinationConfigError(
                        f"Destination {label!r}: notifications.bootstrap_servers entry {server!r} is not "
                        "host:port (port 1-65535); give a comma-separated list such as 'kafka1:9092,kafka2:9092'"
                    )
            if data["topic"] in (".", ".."):
                raise DestinationConfigError(
                    f"Destination {label!r}: notifications.topic {data['topic']!r} is not a valid Kafka topic name"
                )
            reserved = sorted(KAFKA_RESERVED_SETTINGS & set(client_config))
            if reserved:
                raise DestinationConfigError(
                    f"Destination {label!r}: notifications.client_config may not set {reserved}; "
                    "use bootstrap_servers and delivery_timeout (acks is always 'all')"
                )
        return cls(
            kind=kind,
            directory=data.get("directory"),
            event_name=data.get("event_name", "ObjectCreated:Put"),
            bootstrap_servers=data.get("bootstrap_servers"),
            topic=data.get("topic"),
            client_config=client_config,
            delivery_timeout=float(data.get("delivery_timeout", 30.0)),
        )


@dataclass(frozen=True)
class DestinationConfig:
    """One validated destination (see ``destination_schema.yaml`` for the fields).

    Build it with `from_dict` (validates); ``target`` is normalized to a
    URI (``file:///...``, ``s3://...``, ``https://...``).
    """

    name: str
    role: DestinationRole
    target: str
    enabled: bool = True
    concurrency: int = 4
    verify: VerifyMode = VerifyMode.CHECKSUM
    lease: float = 300.0
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    butler: ButlerTarget | None = None
    notifications: NotificationConfig | None = None
    link: str | None = None
    catch_up_bandwidth: float = 0.0
    """MB/s of catch-up images at most (0: no limit)."""
    selection: Selection = field(default_factory=Selection)
    """The detectors and image types taken (default: every file)."""

    @property
    def scheme(self) -> str:
        """``file``, ``s3``, ``https`` or ``http``."""
        return self.target.split("://", 1)[0]

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DestinationConfig:
        """Validate a destination's configuration and build it.

        Raises
        ------
        DestinationConfigError
            If a field is missing, unknown or has a bad value.
        """
        label = data.get("name", "?") if isinstance(data, Mapping) else "?"
        validator = jsonschema.Draft7Validator(DESTINATION_SCHEMA)
        errors = sorted(validator.iter_errors(data), key=lambda e: list(e.absolute_path))
        if errors:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e.absolute_path) or '(destination)'}: {e.message}" for e in errors
            )
            raise DestinationConfigError(f"Destination {label!r} is invalid: {problems}")
        role = DestinationRole(data["role"])
        retry = RetryPolicy(**data.get("retry", {}))
        if retry.initial_delay > retry.max_delay:
            raise DestinationConfigError(
                f"Destination {label!r}: retry.initial_delay {retry.initial_delay} exceeds "
                f"retry.max_delay {retry.max_delay}"
            )
        butler_data = data.get("butler")
        butler = None
        if butler_data is not None:
            butler = ButlerTarget(
                repo=butler_data["repo"],
                ingest_mode=IngestMode(butler_data.get("ingest_mode", "direct")),
                registry_db=butler_data.get("registry_db"),
                namespace=butler_data.get("namespace"),
                create=butler_data.get("create", True),
            )
        notes = data.get("notifications")
        notifications = None
        if notes is not None:
            notifications = NotificationConfig.from_dict(notes, label)
        if role is DestinationRole.PROMPT and notifications is None:
            raise DestinationConfigError(
                f"Destination {label!r} has role 'prompt' but no 'notifications' sink; add one"
            )
        if role is not DestinationRole.PROMPT and notifications is not None:
            raise DestinationConfigError(
                f"Destination {label!r}: 'notifications' is only for role 'prompt', not {role.value!r}"
            )
        target = validate_target(data["target"], label)
        if butler is not None and butler.ingest_mode is IngestMode.DIRECT and target.startswith("http"):
            raise DestinationConfigError(
                f"Destination {label!r}: direct ingest needs a file:// or s3:// target, not {target!r}"
            )
        return cls(
            name=data["name"],
            role=role,
            target=target,
            enabled=data.get("enabled", True),
            concurrency=data.get("concurrency", 4),
            verify=VerifyMode(data.get("verify", "checksum")),
            lease=float(data.get("lease", 300.0)),
            retry=retry,
            butler=butler,
            notifications=notifications,
            link=data.get("link"),
            catch_up_bandwidth=float(data.get("catch_up_bandwidth", 0.0)),
            selection=Selection.from_config(
                data.get("detectors", "wavefront" if role is DestinationRole.AOS else "all"),
                data.get("image_types"),
            ),
        )


def validate_target(text: str, label: str = "?") -> str:
    """Check a transfer target and return it as a normalized URI.

    Parameters
    ----------
    text : `str`
        Absolute directory, ``file://``, ``s3://[profile@]bucket[/prefix]``,
        ``https://`` or ``http://`` URL.
    label : `str`, optional
        Destination name for messages.

    Raises
    ------
    DestinationConfigError
        If the target is relative, has an unknown scheme, a password, a
        query or fragment, ``..`` segments, or a bad bucket name.
    """
    if "\x00" in text or any(ch in text for ch in "\r\n\t"):
        raise DestinationConfigError(f"Destination {label!r}: target {text!r} has control characters")
    if "://" not in text:
        if not os.path.isabs(text):
            raise DestinationConfigError(
                f"Destination {label!r}: local target {text!r} must be an absolute directory"
            )
        text = "file://" + text
    parsed = urllib.parse.urlsplit(text)
    scheme = parsed.scheme.lower()
    if scheme not in ("file", "s3", "https", "http"):
        raise DestinationConfigError(
            f"Destination {label!r}: target {text!r} has scheme {scheme!r}; use a local directory, "
            "file://, s3:// or https://"
        )
    if parsed.query or parsed.fragment:
        raise DestinationConfigError(
            f"Destination {label!r}: target {text!r} must not have a query or fragment"
        )
    if parsed.password:
        raise DestinationConfigError(
            f"Destination {label!r}: target {text!r} has a password; give credentials through the "
            "environment or a profile instead"
        )
    if ".." in parsed.path.split("/"):
        raise DestinationConfigError(f"Destination {label!r}: target {text!r} has a '..' segment")
    if scheme == "file":
        if parsed.netloc not in ("", "localhost"):
            raise DestinationConfigError(f"Destination {label!r}: file target {text!r} names a host")
        path = os.path.normpath(urllib.parse.unquote(parsed.path))
        if not os.path.isabs(path):
            raise DestinationConfigError(f"Destination {label!r}: file target {text!r} is not absolute")
        return "file://" + path.rstrip("/") + "/"
    if scheme == "s3":
        bucket = parsed.netloc.rsplit("@", 1)[-1]
        if not _BUCKET_RE.match(bucket):
            raise DestinationConfigError(
                f"Destination {label!r}: target {text!r} has bad bucket name {bucket!r} "
                "(3-63 lower-case letters, digits, '.', '-')"
            )
    elif not parsed.hostname:
        raise DestinationConfigError(f"Destination {label!r}: target {text!r} has no host")
    path = parsed.path.rstrip("/") + "/"
    return urllib.parse.urlunsplit((scheme, parsed.netloc, path, "", ""))


def destinations_from_config(items: Iterable[Mapping[str, Any]]) -> tuple[DestinationConfig, ...]:
    """Validate a list of destinations.

    Raises
    ------
    DestinationConfigError
        If any destination is invalid or two share a name.
    """
    destinations = tuple(DestinationConfig.from_dict(item) for item in items)
    seen: set[str] = set()
    for destination in destinations:
        if destination.name in seen:
            raise DestinationConfigError(
                f"Two destinations are named {destination.name!r}; names must be unique"
            )
        seen.add(destination.name)
    return destinations
