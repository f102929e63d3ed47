"""The three Rubin cameras: LATISS, LSSTComCam and LSSTCam.

Detector numbers follow obs_lsst exactly: LSSTCam science rafts are
numbered in the order of `LSSTCAM_SCIENCE_RAFTS` with ``9 k + 3 i + j`` for
slot ``Sij``, corner rafts get 189-204 (``SG0, SG1, SW0, SW1`` per raft in
the order R00, R04, R40, R44); ComCam's R22 slots are 0-8; LATISS is 0.
Every detector carries its obs_lsst serial (``LSST_NUM``, `serials`).
"""

from __future__ import annotations

__all__ = [
    "CAMERAS",
    "LATISS",
    "LSSTCAM",
    "LSSTCAM_CORNER_RAFTS",
    "LSSTCAM_E2V_RAFTS",
    "LSSTCAM_ITL_RAFTS",
    "LSSTCAM_SCIENCE_RAFTS",
    "LSST_COMCAM",
    "get_camera",
]

from collections.abc import Mapping

from .amplifier import E2V_LAYOUT, ITL_LAYOUT, AmplifierLayout, make_amplifiers
from .detector import Detector, DetectorPurpose
from .errors import UnknownCameraError
from .location import DaqLocation, RebKind
from .model import Camera
from .reb import Reb
from .serials import COMCAM_SERIALS, LATISS_SERIAL, LSSTCAM_SERIALS

LSSTCAM_SCIENCE_RAFTS: tuple[str, ...] = (
    "R01", "R02", "R03",
    "R10", "R11", "R12", "R13", "R14",
    "R20", "R21", "R22", "R23", "R24",
    "R30", "R31", "R32", "R33", "R34",
    "R41", "R42", "R43",
)  # fmt: skip
"""Science rafts in obs_lsst numbering order (raft index k = position)."""

LSSTCAM_ITL_RAFTS: frozenset[str] = frozenset({"R01", "R02", "R03", "R10", "R20", "R41", "R42", "R43"})
"""LSSTCam science rafts with ITL CCDs; the other 13 are e2v."""

LSSTCAM_E2V_RAFTS: frozenset[str] = frozenset(LSSTCAM_SCIENCE_RAFTS) - LSSTCAM_ITL_RAFTS
"""LSSTCam science rafts with e2v CCDs."""

LSSTCAM_CORNER_RAFTS: tuple[str, ...] = ("R00", "R04", "R40", "R44")
"""Corner rafts in obs_lsst numbering order."""

_SCIENCE_SLOTS = tuple(f"S{i}{j}" for i in range(3) for j in range(3))
_CORNER_SLOTS = ("SG0", "SG1", "SW0", "SW1")


def _bay(raft: str) -> int:
    return int(raft[1:])


def _ccd(
    det_id: int,
    raft: str,
    sensor: str,
    layout: AmplifierLayout,
    location: DaqLocation,
    lsst_num: str,
    purpose: DetectorPurpose = DetectorPurpose.SCIENCE,
) -> Detector:
    wavefront = purpose is DetectorPurpose.WAVEFRONT
    if wavefront:
        ccd_type = "4400"
    else:
        ccd_type = "CCD250" if layout.vendor == "E2V" else "3800C"
    return Detector(
        id=det_id,
        raft=raft,
        sensor=sensor,
        physical_type=layout.vendor,
        ccd_type=ccd_type,
        purpose=purpose,
        layout=layout,
        amplifiers=make_amplifiers(layout, wavefront_half=wavefront),
        location=location,
        lsst_num=lsst_num,
    )


def _science_rebs(raft: str, first_id: int, layout: AmplifierLayout, serials: Mapping[str, str]) -> list[Reb]:
    rebs = []
    for board in range(3):
        location = DaqLocation(_bay(raft), board)
        detectors = []
        for j in range(3):
            sensor = f"S{board}{j}"
            detectors.append(_ccd(first_id + 3 * board + j, raft, sensor, layout, location, serials[sensor]))
        rebs.append(Reb(location, RebKind.SCIENCE, tuple(detectors)))
    return rebs


def _corner_rebs(raft: str, first_id: int) -> list[Reb]:
    bay = _bay(raft)
    wf_location = DaqLocation(bay, 0)
    guide_location = DaqLocation(bay, 1)
    sg0, sg1 = (
        _ccd(
            first_id + k,
            raft,
            f"SG{k}",
            ITL_LAYOUT,
            guide_location,
            LSSTCAM_SERIALS[f"{raft}_SG{k}"],
            DetectorPurpose.GUIDER,
        )
        for k in range(2)
    )
    sw0, sw1 = (
        _ccd(
            first_id + 2 + k,
            raft,
            f"SW{k}",
            ITL_LAYOUT,
            wf_location,
            LSSTCAM_SERIALS[f"{raft}_SW{k}"],
            DetectorPurpose.WAVEFRONT,
        )
        for k in range(2)
    )
    return [
        Reb(wf_location, RebKind.WAVEFRONT, (sw0, sw1)),
        Reb(guide_location, RebKind.GUIDER, (sg0, sg1)),
    ]


def _build_lsstcam() -> Camera:
    rebs: list[Reb] = []
    for k, raft in enumerate(LSSTCAM_SCIENCE_RAFTS):
        layout = ITL_LAYOUT if raft in LSSTCAM_ITL_RAFTS else E2V_LAYOUT
        serials = {key[4:]: serial for key, serial in LSSTCAM_SERIALS.items() if key.startswith(f"{raft}_")}
        rebs.extend(_science_rebs(raft, 9 * k, layout, serials))
    for k, raft in enumerate(LSSTCAM_CORNER_RAFTS):
        rebs.extend(_corner_rebs(raft, 189 + 4 * k))
    rebs.sort(key=lambda r: r.location)
    return Camera(
        name="LSSTCam",
        instrume="lsstCam",
        camera_code="MC",
        csc_name="MTCamera",
        archiver_name="MTArchiver",
        header_service_name="MTHeaderService",
        partition="camera",
        platform="lsstcam",
        telescope="Simonyi Survey Telescope",
        telemetry_slots=205,
        rebs=tuple(rebs),
    )


def _build_comcam() -> Camera:
    return Camera(
        name="LSSTComCam",
        instrume="ComCam",
        camera_code="CC",
        csc_name="CCCamera",
        archiver_name="CCArchiver",
        header_service_name="CCHeaderService",
        partition="comcam",
        platform="comcam",
        telescope="Simonyi Survey Telescope",
        telemetry_slots=9,
        rebs=tuple(_science_rebs("R22", 0, ITL_LAYOUT, COMCAM_SERIALS)),
    )


def _build_latiss() -> Camera:
    location = DaqLocation(0, 0)
    ccd = _ccd(0, "R00", "S00", ITL_LAYOUT, location, LATISS_SERIAL)
    return Camera(
        name="LATISS",
        instrume="LATISS",
        camera_code="AT",
        csc_name="ATCamera",
        archiver_name="ATArchiver",
        header_service_name="ATHeaderService",
        partition="lat",
        platform="auxtel",
        telescope="LSST AuxTelescope",
        telemetry_slots=1,
        rebs=(Reb(location, RebKind.WREB, (ccd,)),),
    )


LSSTCAM: Camera = _build_lsstcam()
"""The LSST Camera: 189 science CCDs, 8 guiders, 8 wavefront halves, 71 REBs."""

LSST_COMCAM: Camera = _build_comcam()
"""The Commissioning Camera: one ITL raft in bay R22, 3 REBs."""

LATISS: Camera = _build_latiss()
"""The AuxTel imager: one ITL CCD read by a WREB at ``R00/RebW``."""

CAMERAS: tuple[Camera, ...] = (LATISS, LSST_COMCAM, LSSTCAM)
"""All known cameras."""


def _aliases() -> dict[str, Camera]:
    aliases: dict[str, Camera] = {"comcam": LSST_COMCAM, "auxtel": LATISS}
    for camera in CAMERAS:
        for alias in (
            camera.name,
            camera.instrume,
            camera.camera_code,
            camera.csc_name,
            camera.archiver_name,
            camera.header_service_name,
        ):
            aliases[alias.lower()] = camera
    return aliases


_ALIASES = _aliases()


def get_camera(name: str) -> Camera:
    """Return a camera by any of its names.

    Parameters
    ----------
    name : `str`
        Butler instrument name (``LSSTCam``), header ``INSTRUME``
        (``lsstCam``, ``ComCam``), camera code (``MC``, ``CC``, ``AT``), or
        CSC name (``MTCamera``, ``CCArchiver``, ``ATHeaderService`` ...);
        case-insensitive.

    Raises
    ------
    UnknownCameraError
        If the name matches none of the cameras.
    """
    camera = _ALIASES.get(name.strip().lower())
    if camera is None:
        raise UnknownCameraError(
            f"unknown camera {name!r}; use one of LATISS, LSSTComCam, LSSTCam "
            "(or a camera code AT/CC/MC, or a CSC name such as MTCamera)"
        )
    return camera
