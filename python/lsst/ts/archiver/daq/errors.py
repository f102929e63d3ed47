"""Exceptions raised by the DAQ store API and its emulator."""

from __future__ import annotations

__all__ = [
    "CorruptSourceError",
    "DaqError",
    "FolderNotFoundError",
    "ImageEvictedError",
    "ImageExistsError",
    "ImageIncompleteError",
    "ImageNotFoundError",
    "SourceDataError",
    "SourceNotFoundError",
    "StoreCapacityError",
    "StoreUnavailableError",
    "TruncatedSourceError",
]


class DaqError(Exception):
    """Base class of every error raised by `lsst.ts.archiver.daq`."""


class StoreUnavailableError(DaqError):
    """The store (its catalog or data directory) cannot be opened or read."""


class FolderNotFoundError(DaqError, LookupError):
    """A folder does not exist in the partition's store."""

    def __init__(self, folder: str, partition: str) -> None:
        self.folder = folder
        self.partition = partition
        super().__init__(
            f"folder {folder!r} does not exist in DAQ partition {partition!r}; create it first or use 'raw'"
        )


class ImageNotFoundError(DaqError, LookupError):
    """No image of that name is (or ever was) in the folder."""

    def __init__(self, name: str, folder: str, partition: str) -> None:
        self.name = name
        self.folder = folder
        self.partition = partition
        super().__init__(
            f"image {name} not found in DAQ folder {folder!r} of partition {partition!r}; "
            "check the name and folder (list the folder with `daq_store list`)"
        )


class ImageEvictedError(ImageNotFoundError):
    """The image was in the store but has been evicted (oldest-first) to make room."""

    def __init__(self, name: str, folder: str, partition: str, evicted_at: float | None = None) -> None:
        DaqError.__init__(
            self,
            f"image {name} in DAQ folder {folder!r} of partition {partition!r} was evicted from the store "
            "to make room for newer images; its pixels are gone",
        )
        self.name = name
        self.folder = folder
        self.partition = partition
        self.evicted_at = evicted_at


class ImageExistsError(DaqError):
    """An image of that name already exists in the folder."""

    def __init__(self, name: str, folder: str, partition: str) -> None:
        self.name = name
        self.folder = folder
        self.partition = partition
        super().__init__(f"image {name} already exists in DAQ folder {folder!r} of partition {partition!r}")


class ImageIncompleteError(DaqError):
    """A source of the image has not been written (yet)."""

    def __init__(self, name: str, location: str, partition: str) -> None:
        self.name = name
        self.location = location
        self.partition = partition
        super().__init__(
            f"source {location} of image {name} in partition {partition!r} is not complete yet; "
            "wait for the image to complete"
        )


class SourceNotFoundError(DaqError, LookupError):
    """The image has no source at that DAQ location."""

    def __init__(self, name: str, location: str, available: list[str]) -> None:
        self.name = name
        self.location = location
        super().__init__(
            f"image {name} has no source at DAQ location {location}; its sources are {', '.join(available)}"
        )


class SourceDataError(DaqError):
    """The packed data of a source cannot be decoded."""


class TruncatedSourceError(SourceDataError):
    """The packed data are shorter (or longer) than the register list says."""

    def __init__(self, what: str, expected: int, actual: int) -> None:
        self.expected = expected
        self.actual = actual
        super().__init__(
            f"{what}: expected {expected} bytes of packed data from the register list, found {actual}"
        )


class CorruptSourceError(SourceDataError):
    """The packed data do not match the checksum recorded when they were written."""


class StoreCapacityError(DaqError):
    """An image cannot fit in the store even after evicting every older image."""
