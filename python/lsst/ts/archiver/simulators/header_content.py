"""What the simulated Header Service writes for one image (pure, no I/O).

`CollectedImage` gathers what the camera's events said about an image;
`build_header` turns it, plus the observatory state at the start and the
end of the exposure, into a `HeaderServiceFile`: the primary keywords, one
``<RAFT>_<SENSOR>_PRIMARY`` section per detector (CCD temperatures) and one
``<RAFT>_<SENSOR>_Segment<NN>`` section per amplifier (gain, read noise).
"""

from __future__ import annotations

__all__ = ["CollectedImage", "build_header"]

import hashlib
import random
from collections.abc import Sequence
from dataclasses import dataclass, field

from ..camera import Camera, Detector, DetectorPurpose, ImageName
from ..fits import Card, HeaderServiceFile, mjd_from_tai_unix, tai_unix_to_isot
from .observatory import ObservatoryState, Site

_CCD_SET_POINT = {
    DetectorPurpose.SCIENCE: -95.0,
    DetectorPurpose.GUIDER: -100.0,
    DetectorPurpose.WAVEFRONT: -100.0,
}


@dataclass
class CollectedImage:
    """What the camera's events told the Header Service about one image.

    Parameters
    ----------
    name : `str`
        Image name.
    images_in_sequence, index : `int`
        Sequence length and 1-based position (``MAXINDEX``, ``CURINDEX``).
    additional : `dict` [`str`, `str`]
        The camera's extra keys (``imageType``, ``groupId`` ...).
    exposure_time : `float`
        Requested exposure time (s).
    date_beg : `float`
        Start of integration (TAI unix seconds).
    date_end : `float` or `None`
        End of the exposure, from ``endOfImageTelemetry``.
    shutter_open_time, dark_time : `float` or `None`
        From ``endOfImageTelemetry``.
    image_tag : `str`
        DAQ image id (hex).
    detectors : `list` [`str`]
        Detectors read (``imageReadoutParameters.ccdLocation``).
    """

    name: str
    images_in_sequence: int
    index: int
    additional: dict[str, str]
    exposure_time: float
    date_beg: float
    date_end: float | None = None
    shutter_open_time: float | None = None
    dark_time: float | None = None
    image_tag: str = ""
    detectors: list[str] = field(default_factory=list)

    @property
    def group_id(self) -> str:
        """``groupId`` from the extra keys, or the image name."""
        return self.additional.get("groupId", self.name)


def _primary(
    camera: Camera, image: CollectedImage, start: ObservatoryState, end: ObservatoryState, site: Site
) -> list[Card]:
    name = ImageName.parse(image.name)
    date_end = image.date_end if image.date_end is not None else image.date_beg + image.exposure_time
    extra = image.additional
    # LATISS: obs_lsst's physical filter is FILTER~GRATING.
    grating = (
        [
            Card("GRATING", start.grating, "Name of the disperser"),
            Card("GRATSLOT", start.grating_slot, "Slot of the disperser"),
        ]
        if start.grating is not None
        else []
    )
    cards = [
        Card("TELESCOP", camera.telescope, "Telescope name"),
        Card("INSTRUME", camera.instrume, "Instrument"),
        Card("OBSID", image.name, "Image name"),
        Card("CAMCODE", name.camera_code, "The camera code"),
        Card("CONTRLLR", name.controller, "The controller (e.g. O for OCS, C for CCS)"),
        Card("DAYOBS", name.day_obs_str, "The observation day as defined by image name"),
        Card("SEQNUM", name.seq_num, "The sequence number from the image name"),
        Card("GROUPID", image.group_id, "The group ID of the image"),
        Card("IMGTYPE", extra.get("imageType", ""), "BIAS, DARK, FLAT, OBJECT ..."),
        Card("REASON", extra.get("reason", ""), "Reason for the observation"),
        Card("PROGRAM", extra.get("program", ""), "Name of the observing program"),
        Card("TESTTYPE", extra.get("testType", extra.get("imageType", "")), "Test or purpose of the image"),
        Card("CURINDEX", image.index, "Index number for the image in the sequence"),
        Card("MAXINDEX", image.images_in_sequence, "Number of images in the sequence"),
        Card("TIMESYS", "TAI", "The time scale used"),
        Card("DATE-OBS", tai_unix_to_isot(image.date_beg), "Start of the exposure (TAI)"),
        Card("MJD-OBS", mjd_from_tai_unix(image.date_beg), "Start of the exposure, MJD (TAI)"),
        Card("DATE-BEG", tai_unix_to_isot(image.date_beg), "Start of the exposure (TAI)"),
        Card("MJD-BEG", mjd_from_tai_unix(image.date_beg), "Start of the exposure, MJD (TAI)"),
        Card("DATE-END", tai_unix_to_isot(date_end), "End of the exposure (TAI)"),
        Card("MJD-END", mjd_from_tai_unix(date_end), "End of the exposure, MJD (TAI)"),
        Card("EXPTIME", image.exposure_time, "Exposure time requested (s)"),
        Card("SHUTTIME", image.shutter_open_time, "Shutter exposure time (s)"),
        Card("DARKTIME", image.dark_time, "Dark time (s)"),
        Card("XPOSURE", image.shutter_open_time, "Effective exposure duration (s)"),
        Card("IMAGETAG", image.image_tag, "DAQ image id"),
        Card("OBS-LONG", site.longitude, "Longitude of the observatory (deg)"),
        Card("OBS-LAT", site.latitude, "Latitude of the observatory (deg)"),
        Card("OBS-ELEV", site.elevation, "Elevation of the observatory (m)"),
        Card("OBJECT", start.target, "Name of the observed object"),
        Card("RA", start.ra, "Right ascension of the target (deg)"),
        Card("DEC", start.dec, "Declination of the target (deg)"),
        Card("RASTART", start.ra, "RA of the telescope at the start (deg)"),
        Card("DECSTART", start.dec, "Dec of the telescope at the start (deg)"),
        Card("RAEND", end.ra, "RA of the telescope at the end (deg)"),
        Card("DECEND", end.dec, "Dec of the telescope at the end (deg)"),
        Card("RADESYS", "ICRS", "Equatorial coordinate system"),
        Card("TRACKSYS", "RADEC", "Tracking system"),
        Card("ROTPA", start.rotator_angle, "Rotator position angle (deg)"),
        Card("ROTCOORD", "sky", "Rotator coordinate system"),
        Card("HASTART", start.hour_angle, "Hour angle at the start (deg)"),
        Card("HAEND", end.hour_angle, "Hour angle at the end (deg)"),
        Card("AZSTART", start.azimuth, "Azimuth at the start (deg)"),
        Card("AZEND", end.azimuth, "Azimuth at the end (deg)"),
        Card("ELSTART", start.elevation, "Elevation at the start (deg)"),
        Card("ELEND", end.elevation, "Elevation at the end (deg)"),
        Card("AMSTART", start.airmass, "Airmass at the start"),
        Card("AMEND", end.airmass, "Airmass at the end"),
        Card("FOCUSZ", start.focus_z, "Camera focus offset (mm)"),
        Card("FILTER", start.physical_filter, "Name of the filter"),
        Card("FILTBAND", start.band, "Band of the filter"),
        Card("FILTSLOT", start.filter_slot, "Slot of the filter"),
        *grating,
        Card("DOMEAZ", start.dome_azimuth, "Dome azimuth (deg)"),
        Card("VIGNETTE", start.vignetted, "Vignetting by the dome"),
        Card("AIRTEMP", start.air_temperature, "Outside air temperature (degC)"),
        Card("PRESSURE", start.pressure, "Barometric pressure (hPa)"),
        Card("HUMIDITY", start.humidity, "Relative humidity (%)"),
        Card("WINDSPD", start.wind_speed, "Wind speed (m/s)"),
        Card("WINDDIR", start.wind_direction, "Wind direction (deg)"),
        Card("SEEING", start.seeing, "Seeing from the DIMM (arcsec)"),
    ]
    return cards


def _detector_rng(image_name: str, detector: Detector) -> random.Random:
    digest = hashlib.blake2b(f"{image_name}/{detector.name}".encode(), digest_size=8).digest()
    return random.Random(int.from_bytes(digest, "little"))


def build_header(
    camera: Camera,
    image: CollectedImage,
    start: ObservatoryState,
    end: ObservatoryState,
    site: Site,
    *,
    detectors: Sequence[str] | None = None,
) -> HeaderServiceFile:
    """The Header Service file for one image.

    Parameters
    ----------
    camera : `Camera`
        The camera.
    image : `CollectedImage`
        What the camera's events said.
    start, end : `ObservatoryState`
        The observatory at the start and end of the exposure.
    site : `Site`
        The site (``OBS-*`` keywords).
    detectors : sequence of `str`, optional
        Detectors to give sections; default ``image.detectors``, or every
        detector of the camera if that is empty.

    Returns
    -------
    header : `HeaderServiceFile`
        Primary, per-detector and per-segment sections.

    Raises
    ------
    lsst.ts.archiver.camera.InvalidImageNameError
        If the image name is not valid.
    lsst.ts.archiver.camera.UnknownDetectorError
        If a detector is not one of the camera's.
    """
    names = list(detectors if detectors is not None else image.detectors) or list(camera.detector_names)
    detector_cards: dict[str, tuple[Card, ...]] = {}
    segment_cards: dict[tuple[str, str], tuple[Card, ...]] = {}
    for det_name in names:
        det = camera.detector(det_name)
        rng = _detector_rng(image.name, det)
        set_point = _CCD_SET_POINT[det.purpose]
        detector_cards[det.name] = (
            Card("TEMP_SET", set_point, "CCD temperature set point (degC)"),
            Card("CCDTEMP", round(set_point + rng.uniform(-0.3, 0.3), 3), "Measured CCD temperature (degC)"),
        )
        for amp in det.amplifiers:
            segment_cards[(det.name, amp.segment)] = (
                Card("GAIN", round(rng.uniform(1.4, 1.8), 4), "Amplifier gain (e-/ADU)"),
                Card("RDNOISE", round(rng.uniform(4.0, 8.0), 3), "Amplifier read noise (e-)"),
            )
    return HeaderServiceFile(
        primary=tuple(_primary(camera, image, start, end, site)),
        detectors=detector_cards,
        segments=segment_cards,
        source=image.name,
    )
