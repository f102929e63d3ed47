"""`Destination`: the blocking work of one configured destination.

It owns a `Transferrer` for the target, the Butler ingester (opened lazily,
on first use, so that an unreachable registry is a retryable failure and
not a start-up crash) and, for role ``prompt``, the notification sink.
Methods block; the destination's
`~lsst.ts.archiver.delivery.DestinationWorker` runs them in its threads.
"""

from __future__ import annotations

__all__ = ["Destination", "IngesterFactory", "open_ingester"]

import logging
import os
import tempfile
import threading
from collections.abc import Callable, Sequence

from ..butler import IngestReport, RawFile, RawIngester, open_or_create_repository, open_repository
from ..fits import ExpectedSensors, ManifestError, read_expected_sensors, write_expected_sensors
from ..ledger import MANIFEST_ITEM, DeliveryRecord, ImageRecord
from ..metadata import sidecar_path_for
from .config import DestinationConfig, DestinationRole
from .errors import PermanentDeliveryError, UnsafeNameError
from .keys import check_file_name, object_key
from .notifications import NotificationSink, bucket_notification, make_sink
from .transfer import Transferrer, TransferResult

_log = logging.getLogger(__name__)

IngesterFactory = Callable[[DestinationConfig], RawIngester]
"""Makes the Butler ingester of a destination (blocking; may raise)."""


def open_ingester(config: DestinationConfig) -> RawIngester:
    """Open (or create) a destination's repository and return its ingester.

    Raises
    ------
    lsst.ts.archiver.butler.RepositoryError
        If the repository cannot be opened or created.
    """
    assert config.butler is not None
    target = config.butler
    if target.create:
        butler = open_or_create_repository(target.repo, db=target.registry_db, namespace=target.namespace)
    else:
        butler = open_repository(target.repo, writeable=True)
    return RawIngester(butler, transfer=target.ingest_mode.value)


class Destination:
    """One destination's transfers, ingest and notifications (blocking).

    Parameters
    ----------
    config : `DestinationConfig`
        Validated configuration.
    ingester_factory : `IngesterFactory`, optional
        How to make the Butler ingester (default `open_ingester`).
    sink : `NotificationSink`, optional
        Notification sink (default from ``config.notifications``).
    log : `logging.Logger`, optional
        Parent logger (e.g. a child of the CSC's log); the destination and
        the sink it builds log to children of it. Default: this module's
        logger.
    """

    def __init__(
        self,
        config: DestinationConfig,
        *,
        ingester_factory: IngesterFactory | None = None,
        sink: NotificationSink | None = None,
        log: logging.Logger | None = None,
    ) -> None:
        self.config = config
        self.log = _log if log is None else log.getChild(type(self).__name__)
        self.transferrer = Transferrer(config.target, config.verify)
        self._ingester_factory = ingester_factory or open_ingester
        self._ingester: RawIngester | None = None
        self._ingester_lock = threading.Lock()
        if sink is None and config.notifications is not None:
            sink = make_sink(config.notifications, log=log)
        self.sink = sink

    @property
    def name(self) -> str:
        """Destination name."""
        return self.config.name

    @property
    def ingests(self) -> bool:
        """True if files are ingested into a Butler after transfer."""
        return self.config.butler is not None

    def ingester(self) -> RawIngester:
        """The Butler ingester, opened on first use (blocking)."""
        with self._ingester_lock:
            if self._ingester is None:
                self._ingester = self._ingester_factory(self.config)
            return self._ingester

    def reset_ingester(self) -> None:
        """Forget the ingester so the next use reopens the repository."""
        with self._ingester_lock:
            if self._ingester is not None:
                try:
                    self._ingester.butler.close()
                except Exception as e:  # closing a broken Butler must not hide the real error
                    self.log.debug("Closing the Butler of %s failed: %s", self.name, e)
            self._ingester = None

    def close(self) -> None:
        """Release the Butler and close the notification sink if it can be
        closed (a Kafka sink waits for messages in flight; blocking)."""
        self.reset_ingester()
        close_sink = getattr(self.sink, "close", None)
        if callable(close_sink):
            close_sink()

    # ------------------------------------------------------------------

    def files_of(self, image: ImageRecord, item: DeliveryRecord) -> list[tuple[str, str]]:
        """(local path, key) of the files an item delivers, sidecar first.

        Raises
        ------
        UnsafeNameError
            If the source's name does not belong to the image or is unsafe.
        """
        name = os.path.basename(item.source)
        check_file_name(name, image.name)
        files = []
        if item.item != MANIFEST_ITEM:
            sidecar = str(sidecar_path_for(item.source))
            if os.path.exists(sidecar):
                files.append(
                    (sidecar, object_key(image.camera, image.day_obs, image.name, os.path.basename(sidecar)))
                )
        files.append((item.source, object_key(image.camera, image.day_obs, image.name, name)))
        return files

    def deliver(self, image: ImageRecord, item: DeliveryRecord) -> TransferResult:
        """Transfer an item's files (sidecar, then the file), verify, notify.

        Returns
        -------
        result : `TransferResult`
            The main file's verified copy.

        Raises
        ------
        PermanentDeliveryError
            If the item can never be delivered (unsafe name, source gone).
        Exception
            Anything else is retryable (destination down, verification).
        """
        try:
            files = self.files_of(image, item)
        except UnsafeNameError as e:
            raise PermanentDeliveryError(str(e)) from e
        if item.item == MANIFEST_ITEM and not self.config.selection.takes_everything:
            with tempfile.TemporaryDirectory(
                prefix=".selected-", dir=os.path.dirname(item.source)
            ) as scratch:
                ((path, key),) = files
                results = [self.transferrer.put(self._selected_manifest(image, path, scratch), key)]
        else:
            results = [self.transferrer.put(path, key) for path, key in files]
        if self.sink is not None and self.config.role is DestinationRole.PROMPT:
            event = self.config.notifications.event_name if self.config.notifications else "ObjectCreated:Put"
            for result in results:
                self.sink.send(bucket_notification(result, event_name=event, configuration_id=self.name))
        return results[-1]

    def _selected_manifest(self, image: ImageRecord, path: str, directory: str) -> str:
        """Write, in ``directory``, the image's manifest listing only the detectors this destination takes.

        Raises
        ------
        PermanentDeliveryError
            If the staged manifest is unreadable or malformed.
        """
        try:
            full = read_expected_sensors(path)
        except (ManifestError, FileNotFoundError) as e:
            raise PermanentDeliveryError(f"Manifest {path} cannot be read: {e}") from e
        taken = set(self.config.selection.expected(image.camera, image.image_type, full.sensors))
        manifest = ExpectedSensors(
            obsid=full.obsid,
            instrument=full.instrument,
            sensors={name: kind for name, kind in full.sensors.items() if name in taken},
            detectors={name: number for name, number in full.detectors.items() if name in taken},
        )
        return os.fspath(write_expected_sensors(directory, manifest))

    def ingest(self, items: Sequence[DeliveryRecord]) -> IngestReport:
        """Ingest delivered files (one batch per exposure); failures are in the report.

        An item delivered again because its file was rewritten
        (``redelivery``) replaces its Butler dataset in place: same dataset
        id, the new file and exposure record.

        Raises
        ------
        Exception
            If the registry is unreachable (the whole batch is retryable).
        """
        files = [
            RawFile(item.remote_uri, replace=item.redelivery is not None)
            for item in items
            if item.remote_uri is not None
        ]
        if len(files) != len(items):
            raise PermanentDeliveryError("An item reached ingest without a remote URI")
        try:
            return self.ingester().ingest(files)
        except Exception:
            self.reset_ingester()
            raise
