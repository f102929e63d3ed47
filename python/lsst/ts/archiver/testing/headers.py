"""Realistic raw primary headers for tests and benchmarks (no I/O).

`make_primary_header` returns the keywords the FITS writer puts in HDU 0 of a
raw file (reference camera-daq-fits §3.2), including the ``ARCHVER`` marker,
so tests of the translator, the sidecar and Butler ingest do not depend on the
FITS writer.
"""

from __future__ import annotations

__all__ = ["make_primary_header"]

from datetime import datetime, timedelta
from typing import Any

from ..camera import get_camera
from ..metadata.marker import MARKER_KEYWORD

_DEFAULT_FILTER = {"LSSTCam": "r_57", "LSSTComCam": "r_03", "LATISS": "SDSSr_65mm"}


def make_primary_header(
    instrument: str,
    *,
    day_obs: int = 20261123,
    seq_num: int = 1,
    detector: str | None = None,
    controller: str = "O",
    image_type: str = "OBJECT",
    exposure_time: float = 30.0,
    physical_filter: str | None = None,
    begin: str | None = None,
    group_id: str | None = None,
    archiver_version: str = "0.1.0",
) -> dict[str, Any]:
    """Make a primary header like the one ts_archiver writes.

    Parameters
    ----------
    instrument : `str`
        Any camera name `lsst.ts.archiver.camera.get_camera` understands.
    day_obs : `int`, optional
        Observing day ``YYYYMMDD``.
    seq_num : `int`, optional
        Sequence number of the image on that day.
    detector : `str` or `None`, optional
        Full name ``RAFT_SENSOR``; the camera's first detector if `None`.
    controller : `str`, optional
        Controller code of the image name.
    image_type : `str`, optional
        ``IMGTYPE``.
    exposure_time : `float`, optional
        ``EXPTIME`` in seconds.
    physical_filter : `str` or `None`, optional
        ``FILTER``; a typical one of the camera if `None`.
    begin : `str` or `None`, optional
        ``DATE-BEG`` (ISO, TAI); 03:00 TAI after the day_obs rollover if
        `None`.
    group_id : `str` or `None`, optional
        ``GROUPID``; ``DATE-BEG`` if `None`.
    archiver_version : `str`, optional
        Value of the ``ARCHVER`` marker.

    Returns
    -------
    header : `dict` [`str`, `~typing.Any`]
        Keyword → value, in writing order.
    """
    camera = get_camera(instrument)
    det = camera.detector(detector) if detector is not None else camera.detectors[0]
    obsid = f"{camera.camera_code}_{controller}_{day_obs}_{seq_num:06d}"
    if begin is None:
        start = datetime.strptime(str(day_obs), "%Y%m%d") + timedelta(hours=27, seconds=40 * seq_num)
    else:
        start = datetime.fromisoformat(begin)
    end = start + timedelta(seconds=exposure_time)
    iso_begin = start.isoformat(timespec="milliseconds")
    header: dict[str, Any] = {
        "DATE": end.isoformat(timespec="milliseconds"),
        "TIMESYS": "TAI",
        "DATE-OBS": iso_begin,
        "DATE-BEG": iso_begin,
        "DATE-END": end.isoformat(timespec="milliseconds"),
        "INSTRUME": camera.instrume,
        "TELESCOP": camera.telescope,
        "OBSID": obsid,
        "CAMCODE": camera.camera_code,
        "CONTRLLR": controller,
        "DAYOBS": str(day_obs),
        "SEQNUM": seq_num,
        "GROUPID": group_id if group_id is not None else iso_begin,
        "CURINDEX": 1,
        "MAXINDEX": 1,
        "IMGTYPE": image_type,
        "REASON": "test",
        "PROGRAM": "BLOCK-T1",
        "OBJECT": "field-1",
        "EXPTIME": exposure_time,
        "SHUTTIME": exposure_time if image_type not in ("BIAS", "DARK") else 0.0,
        "DARKTIME": exposure_time + 0.5,
        "FILTER": physical_filter if physical_filter is not None else _DEFAULT_FILTER[camera.name],
        "RAFTBAY": det.raft,
        "CCDSLOT": det.sensor,
        "CCD_MANU": det.physical_type,
        "CCD_TYPE": det.ccd_type,
        "LSST_NUM": det.lsst_num or "UNKNOWN",
        "OBS-LONG": -70.749417,
        "OBS-LAT": -30.244639,
        "OBS-ELEV": 2663.0,
        "RA": 150.1,
        "DEC": -30.2,
        "RASTART": 150.1,
        "DECSTART": -30.2,
        "RADESYS": "ICRS",
        "ROTPA": 12.5,
        "ROTCOORD": "sky",
        "AZSTART": 120.0,
        "ELSTART": 60.0,
        "DAQPART": camera.partition,
        "PLATFORM": camera.platform,
        "FILENAME": det.file_name(obsid),
        MARKER_KEYWORD: archiver_version,
    }
    if camera.name == "LATISS":
        header["GRATING"] = "empty"
    return header
