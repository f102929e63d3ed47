"""The camera DAQ: the image-store API, its on-disk emulator, the packed
pixel format and a deterministic pixel generator.

Nothing here imports salkit or the CSC. See doc/daq.rst.
"""

from .codec import decode_source, encode_source, packed_size
from .decoded import DecodedSource
from .emulator import DEFAULT_CAPACITY, DEFAULT_DAQ_RELEASE, EmulatedDaqStore, EmulatedImageStream
from .errors import (
    CorruptSourceError,
    DaqError,
    FolderNotFoundError,
    ImageEvictedError,
    ImageExistsError,
    ImageIncompleteError,
    ImageNotFoundError,
    SourceDataError,
    SourceNotFoundError,
    StoreCapacityError,
    StoreUnavailableError,
    TruncatedSourceError,
)
from .metadata import ImageMetadata, SourceMetadata, StoreCapacity
from .pixels import PixelGenerator, image_seed
from .store import DaqStore, ImageStream, camera_for_partition
from .stream_format import GUIDER_XOR, SCIENCE_XOR, VALUE_MASK, StreamLayout, stream_layout

__all__ = [
    "DEFAULT_CAPACITY",
    "DEFAULT_DAQ_RELEASE",
    "GUIDER_XOR",
    "SCIENCE_XOR",
    "VALUE_MASK",
    "CorruptSourceError",
    "DaqError",
    "DaqStore",
    "DecodedSource",
    "EmulatedDaqStore",
    "EmulatedImageStream",
    "FolderNotFoundError",
    "ImageEvictedError",
    "ImageExistsError",
    "ImageIncompleteError",
    "ImageMetadata",
    "ImageNotFoundError",
    "ImageStream",
    "PixelGenerator",
    "SourceDataError",
    "SourceMetadata",
    "SourceNotFoundError",
    "StoreCapacity",
    "StoreCapacityError",
    "StoreUnavailableError",
    "StreamLayout",
    "TruncatedSourceError",
    "camera_for_partition",
    "decode_source",
    "encode_source",
    "image_seed",
    "packed_size",
    "stream_layout",
]
