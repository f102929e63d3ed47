"""Camera model: focal planes, detectors, amplifiers, REBs and image names.

Pure data and functions, no I/O. Everything is immutable.

Examples
--------
>>> from lsst.ts.archiver.camera import LSSTCAM, ImageName
>>> LSSTCAM.detector("R22_S11").id
94
>>> str(LSSTCAM.detector(94).amplifiers[0].detsec)
'[512:1,1:2002]'
>>> ImageName.parse("MC_O_20241123_000123").exposure_id
2024112300123
"""

from .additional_keys import (
    KeyValueError,
    additional_keys_values,
    join_list,
    parse_additional,
    split_list,
)
from .amplifier import (
    E2V_LAYOUT,
    FITS_SEGMENT_ORDER,
    ITL_LAYOUT,
    WAVEFRONT_SEGMENT_ORDER,
    Amplifier,
    AmplifierLayout,
    make_amplifiers,
)
from .detector import (
    Detector,
    DetectorPurpose,
)
from .errors import (
    CameraModelError,
    InvalidImageNameError,
    InvalidLocationError,
    InvalidSectionError,
    UnknownCameraError,
    UnknownDetectorError,
    UnknownRebError,
)
from .filters import (
    COMCAM_FILTER_BANDS,
    COMCAM_ON_SKY_FILTERS,
    LATISS_GRATINGS,
    LSSTCAM_FILTER_BANDS,
)
from .image_name import (
    CAMERA_CODES,
    CONTROLLERS,
    DAY_OBS_ROLLOVER_SECONDS,
    SIMULATED_CONTROLLERS,
    ImageName,
    day_obs_bounds,
    day_obs_for,
)
from .instruments import (
    CAMERAS,
    LATISS,
    LSST_COMCAM,
    LSSTCAM,
    LSSTCAM_CORNER_RAFTS,
    LSSTCAM_E2V_RAFTS,
    LSSTCAM_ITL_RAFTS,
    LSSTCAM_SCIENCE_RAFTS,
    get_camera,
)
from .location import (
    BOARD_NAMES,
    DaqLocation,
    RebKind,
)
from .model import (
    Camera,
)
from .reb import (
    Reb,
)
from .section import (
    Section,
)
from .serials import (
    COMCAM_SERIALS,
    LATISS_SERIAL,
    LSSTCAM_SERIALS,
)

__all__ = [
    "Amplifier",
    "AmplifierLayout",
    "BOARD_NAMES",
    "CAMERAS",
    "CAMERA_CODES",
    "COMCAM_FILTER_BANDS",
    "COMCAM_ON_SKY_FILTERS",
    "COMCAM_SERIALS",
    "CONTROLLERS",
    "Camera",
    "CameraModelError",
    "DAY_OBS_ROLLOVER_SECONDS",
    "DaqLocation",
    "Detector",
    "DetectorPurpose",
    "E2V_LAYOUT",
    "FITS_SEGMENT_ORDER",
    "ITL_LAYOUT",
    "ImageName",
    "InvalidImageNameError",
    "InvalidLocationError",
    "InvalidSectionError",
    "KeyValueError",
    "LATISS",
    "LATISS_GRATINGS",
    "LATISS_SERIAL",
    "LSSTCAM",
    "LSSTCAM_CORNER_RAFTS",
    "LSSTCAM_E2V_RAFTS",
    "LSSTCAM_FILTER_BANDS",
    "LSSTCAM_ITL_RAFTS",
    "LSSTCAM_SCIENCE_RAFTS",
    "LSSTCAM_SERIALS",
    "LSST_COMCAM",
    "Reb",
    "RebKind",
    "SIMULATED_CONTROLLERS",
    "Section",
    "UnknownCameraError",
    "UnknownDetectorError",
    "UnknownRebError",
    "WAVEFRONT_SEGMENT_ORDER",
    "additional_keys_values",
    "day_obs_bounds",
    "day_obs_for",
    "get_camera",
    "join_list",
    "make_amplifiers",
    "parse_additional",
    "split_list",
]
