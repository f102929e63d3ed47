"""`ArchiverConfig`: the Archiver's configuration as typed, frozen objects.

Built once, at the edge, from the configuration salkit validated against
`~lsst.ts.archiver.config_schema.CONFIG_SCHEMA` (`ArchiverConfig.from_validated`).
Relative paths are made absolute against the working directory and blank
names take the camera's defaults here, so no other module edits a nested
configuration dict. Defaults live in ``config/<Component>/v1/_init.yaml``.
"""

from __future__ import annotations

__all__ = [
    "ArchiverConfig",
    "ArchiverConfigError",
    "CaptureSettings",
    "CatchUpSettings",
    "TriggerMode",
    "TriggerSettings",
    "CleanupSettings",
    "DaqSettings",
    "FitsSettings",
    "HeaderServiceSettings",
    "StagingSettings",
    "StatusPageSettings",
    "absolute_sqlite_url",
]

import dataclasses
import enum
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .camera import Camera
from .delivery import DestinationConfig, DestinationConfigError, DestinationRole, destinations_from_config
from .pipeline.header_policy import HeaderFetchPolicy


class ArchiverConfigError(ValueError):
    """The configuration is valid against the schema but cannot be used."""


@dataclass(frozen=True)
class DaqSettings:
    """Where the camera's images are read from (``daq``)."""

    root: str
    """Absolute root directory of the DAQ image store."""

    partition: str
    """DAQ partition (the camera's own if the configuration left it blank)."""

    folder: str
    """DAQ folder holding the camera's images."""

    wait_timeout: float
    """Seconds to wait for an announced image to be complete in the store."""


@dataclass(frozen=True)
class StagingSettings:
    """The local staging area (``staging``)."""

    directory: str
    """Absolute staging directory."""

    min_free_space: float
    """Free space (GB) below which the Archiver faults."""


@dataclass(frozen=True)
class FitsSettings:
    """How raw files are written (``fits``)."""

    compress: bool
    fsync: bool


@dataclass(frozen=True)
class HeaderServiceSettings:
    """The Header Service whose headers are merged (``header_service``)."""

    name: str
    """SAL name (the camera's own Header Service if left blank)."""

    wait_timeout: float
    """Seconds to wait for the header announcement."""

    fetch_policy: HeaderFetchPolicy
    """Where headers may be fetched from and the limits of one fetch
    (``allowed_schemes``, ``allowed_hosts``, ``allowed_buckets``,
    ``file_root``, ``connect_timeout``, ``read_timeout``, ``fetch_timeout``,
    ``max_size``, ``max_fetches``)."""

    late_header_window: float = 0.0
    """Seconds after an image's files were written during which a late
    header is applied (files rewritten, redelivered, Butler datasets
    replaced); 0: never, a late header is only recorded."""

    @classmethod
    def from_validated(
        cls, header: Mapping[str, Any], camera: Camera, daq_root: str
    ) -> HeaderServiceSettings:
        """Build from the validated ``header_service`` object.

        A blank ``file_root`` is the directory that holds ``daq_root``
        (absolute). The fetch deadline is ``fetch_timeout``, shortened to
        ``wait_timeout`` when that is positive and shorter.

        Raises
        ------
        ArchiverConfigError
            If an allowed host or the file root is malformed.
        """
        wait_timeout = float(header["wait_timeout"])
        deadline = float(header["fetch_timeout"])
        if wait_timeout > 0:
            deadline = min(deadline, wait_timeout)
        file_root = _absolute(header["file_root"]) if header["file_root"] else os.path.dirname(daq_root)
        try:
            policy = HeaderFetchPolicy(
                schemes=frozenset(header["allowed_schemes"]),
                hosts=frozenset(header["allowed_hosts"]),
                buckets=frozenset(header["allowed_buckets"]),
                file_root=file_root,
                connect_timeout=float(header["connect_timeout"]),
                read_timeout=float(header["read_timeout"]),
                deadline=deadline,
                max_size=int(header["max_size"]),
                max_in_flight=int(header["max_fetches"]),
            )
        except ValueError as e:
            raise ArchiverConfigError(f"Bad header_service: {e}") from e
        return cls(
            name=header["name"] or camera.header_service_name,
            wait_timeout=wait_timeout,
            fetch_policy=policy,
            late_header_window=float(header["late_header_window"]),
        )


@dataclass(frozen=True)
class CaptureSettings:
    """Where capture tasks run (``capture``)."""

    backend: str
    """``local`` (worker processes of the CSC) or ``redis`` (``run_archiver_worker``)."""

    redis_url: str
    task_stream: str
    result_stream: str
    worker_group: str
    result_group: str
    """Redis URL, streams and consumer groups of the capture queue (``redis``)."""

    lease: float
    """Seconds a silent worker keeps its task before another reclaims it."""

    no_worker_timeout: float
    """Seconds tasks may wait with no live worker before FAULT."""

    @classmethod
    def from_validated(cls, capture: Mapping[str, Any]) -> CaptureSettings:
        """Build from the validated ``capture`` object."""
        return cls(
            backend=str(capture["backend"]),
            redis_url=str(capture["redis_url"]),
            task_stream=str(capture["task_stream"]),
            result_stream=str(capture["result_stream"]),
            worker_group=str(capture["worker_group"]),
            result_group=str(capture["result_group"]),
            lease=float(capture["lease"]),
            no_worker_timeout=float(capture["no_worker_timeout"]),
        )


@dataclass(frozen=True)
class CleanupSettings:
    """Expiry of old staging files and OODS raws (``cleanup``)."""

    enabled: bool
    retention: float
    """Hours an archived image's staging files are kept."""

    oods_retention: float
    """Hours a raw is kept in an OODS repository; 0 disables the OODS cleanup."""

    interval: float
    """Seconds between cleanup passes."""


@dataclass(frozen=True)
class CatchUpSettings:
    """Catch-up runs (``catch_up``)."""

    rate: float
    """Most images per minute queued by a catch-up run."""

    priority: int
    """Delivery priority of catch-up images."""

    continuous: bool = False
    """Catch up every `interval` seconds while ENABLED."""

    interval: float = 60.0
    """Seconds between continuous passes (and ``catchUpStatus`` events)."""

    concurrency: int = 1
    """Most catch-up images captured at once."""

    stale_after: float = 600.0
    """Seconds after which an unfinished image with nothing failed is taken by catch-up."""


class TriggerMode(enum.StrEnum):
    """What starts the capture of a new image (``trigger.mode``)."""

    EVENT = "event"
    """The camera's ``endOfImageTelemetry``."""
    STREAM = "stream"
    """The DAQ store's stream of new images, without camera events."""
    BOTH = "both"
    """Either, deduplicated by image name."""


@dataclass(frozen=True)
class TriggerSettings:
    """What starts the capture of a new image (``trigger``)."""

    mode: TriggerMode = TriggerMode.EVENT
    event_grace: float = 2.0
    """With ``both``: seconds the stream leaves a new image to the camera's event."""

    @property
    def streams(self) -> bool:
        """Does the DAQ stream start images?"""
        return self.mode is not TriggerMode.EVENT


@dataclass(frozen=True)
class StatusPageSettings:
    """The CSC's read-only status page (``status_page``)."""

    port: int | None = None
    """TCP port; 0: any free port; None: no status page."""

    host: str = "127.0.0.1"
    """Address to listen on (loopback by default)."""

    @classmethod
    def from_validated(cls, values: Mapping[str, Any] | None) -> StatusPageSettings:
        """Build from the validated ``status_page`` mapping (None or absent: disabled)."""
        if not values:
            return cls()
        port = values.get("port")
        return cls(port=None if port is None else int(port), host=str(values.get("host", cls.host)))


@dataclass(frozen=True)
class ArchiverConfig:
    """The whole configuration of one Archiver, typed and immutable."""

    daq: DaqSettings
    staging: StagingSettings
    fits: FitsSettings
    header_service: HeaderServiceSettings
    destinations: tuple[DestinationConfig, ...]
    ledger_url: str
    """SQLAlchemy URL of the ledger (SQLite paths made absolute)."""

    workers: int
    capture_attempts: int
    capture: CaptureSettings
    cleanup: CleanupSettings
    catch_up: CatchUpSettings
    trigger: TriggerSettings = TriggerSettings()
    oods_face: bool = False
    """Also run as the camera's ``<X>OODS`` component."""

    status_page: StatusPageSettings = StatusPageSettings()
    """The read-only status page (disabled by default)."""

    @classmethod
    def from_validated(cls, config: Any, camera: Camera) -> ArchiverConfig:
        """Build from a configuration already validated against the schema.

        Parameters
        ----------
        config : `types.SimpleNamespace` or `~collections.abc.Mapping`
            The validated configuration (salkit passes a namespace whose
            values are plain dicts and lists; they are not modified).
        camera : `~lsst.ts.archiver.camera.Camera`
            The Archiver's camera (defaults for blank names).

        Raises
        ------
        ArchiverConfigError
            If a destination is invalid or none is enabled, or the
            Header Service fetch policy is malformed.
        """
        values: Mapping[str, Any] = config if isinstance(config, Mapping) else vars(config)
        try:
            destinations = destinations_from_config(
                [_resolve_destination(item) for item in values["destinations"]]
            )
        except DestinationConfigError as e:
            raise ArchiverConfigError(f"Bad destinations: {e}") from e
        if not any(d.enabled for d in destinations):
            raise ArchiverConfigError("No enabled destination is configured; files would never leave staging")
        for destination in destinations:
            unknown = sorted(set(destination.selection.detectors) - set(camera.detector_names))
            if unknown:
                raise ArchiverConfigError(
                    f"Destination {destination.name!r}: {camera.name} has no detector(s) {unknown}; "
                    f"detectors are named like {camera.detector_names[0]!r}"
                )
        daq, staging, header = values["daq"], values["staging"], values["header_service"]
        cleanup, catch_up = values["cleanup"], values["catch_up"]
        daq_root = _absolute(daq["root"])
        return cls(
            daq=DaqSettings(
                root=daq_root,
                partition=daq["partition"] or camera.partition,
                folder=daq["folder"],
                wait_timeout=float(daq["wait_timeout"]),
            ),
            staging=StagingSettings(
                directory=_absolute(staging["directory"]),
                min_free_space=float(staging["min_free_space"]),
            ),
            fits=FitsSettings(compress=bool(values["fits"]["compress"]), fsync=bool(values["fits"]["fsync"])),
            header_service=HeaderServiceSettings.from_validated(header, camera, daq_root),
            destinations=destinations,
            ledger_url=absolute_sqlite_url(values["ledger_url"]),
            workers=int(values["workers"]),
            capture_attempts=int(values["capture_attempts"]),
            capture=CaptureSettings.from_validated(values["capture"]),
            cleanup=CleanupSettings(
                enabled=bool(cleanup["enabled"]),
                retention=float(cleanup["retention"]),
                oods_retention=float(cleanup["oods_retention"]),
                interval=float(cleanup["interval"]),
            ),
            catch_up=CatchUpSettings(
                rate=float(catch_up["rate"]),
                priority=int(catch_up["priority"]),
                continuous=bool(catch_up["continuous"]),
                interval=float(catch_up["interval"]),
                concurrency=int(catch_up["concurrency"]),
                stale_after=float(catch_up["stale_after"]),
            ),
            trigger=TriggerSettings(
                mode=TriggerMode(values["trigger"]["mode"]),
                event_grace=float(values["trigger"]["event_grace"]),
            ),
            oods_face=bool(values["oods_face"]["enabled"]),
            status_page=StatusPageSettings.from_validated(values.get("status_page")),
        )

    @property
    def enabled_destinations(self) -> tuple[DestinationConfig, ...]:
        """The destinations files are delivered to, in configuration order."""
        return tuple(d for d in self.destinations if d.enabled)

    @property
    def oods_destinations(self) -> frozenset[str]:
        """Names of the enabled OODS destinations (all enabled ones if none has that role).

        ``focalPlaneCapture`` is written once the image is final at these.
        """
        enabled = self.enabled_destinations
        oods = frozenset(d.name for d in enabled if d.role is DestinationRole.OODS)
        return oods or frozenset(d.name for d in enabled)

    def with_daq_root(self, root: str | os.PathLike[str]) -> ArchiverConfig:
        """A copy reading the DAQ store at ``root`` (simulation mode)."""
        return dataclasses.replace(self, daq=dataclasses.replace(self.daq, root=os.fspath(root)))


def _absolute(path: str) -> str:
    return os.path.abspath(os.path.expanduser(path))


def absolute_sqlite_url(url: str) -> str:
    """Make a SQLite ledger path absolute (a plain path means SQLite).

    Other URLs are returned unchanged.
    """
    if "://" not in url:
        return "sqlite:///" + _absolute(url)
    if url.startswith("sqlite:///") and not url.startswith("sqlite:////"):
        return "sqlite:///" + _absolute(url[len("sqlite:///") :])
    return url


def _resolve_destination(item: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of a destination with its local paths made absolute."""
    result = dict(item)
    target = result.get("target")
    if isinstance(target, str) and "://" not in target:
        result["target"] = _absolute(target)
    butler = result.get("butler")
    if isinstance(butler, Mapping) and isinstance(butler.get("repo"), str) and "://" not in butler["repo"]:
        result["butler"] = {**butler, "repo": _absolute(butler["repo"])}
    return result
