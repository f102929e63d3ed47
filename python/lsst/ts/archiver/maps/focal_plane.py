"""The focal-plane map of one image: a PNG drawn with matplotlib (Agg, no display).

Every detector of the camera is drawn in its place (`focal_plane_layout`),
filled with the colour of its `DetectorState` and labelled with its
latency: seconds from the image's registration (end of image) to its file
being written. A legend gives each colour and how many detectors have it.
Figures are built with `matplotlib.figure.Figure` and an Agg canvas, never
pyplot: no global state, safe to call from several threads. matplotlib is
imported on the first drawing, not with this module.
"""

from __future__ import annotations

__all__ = [
    "MAP_SIZE",
    "STATE_COLOURS",
    "render_image_map",
    "write_image_map",
]

import io
import os
import pathlib
import tempfile

from ..camera import Camera, DetectorPurpose, get_camera
from ..ledger import Ledger
from .geometry import focal_plane_layout
from .image_status import DetectorState, ImageStatus, read_image_status

MAP_SIZE = (800, 880)
"""Width and height of a map (pixels)."""

_DPI = 100

STATE_COLOURS: dict[DetectorState, str] = {
    DetectorState.ARCHIVED: "#2ca02c",
    DetectorState.IN_DELIVERY: "#1f77b4",
    DetectorState.CAPTURING: "#ffbf00",
    DetectorState.FAILED: "#d62728",
    DetectorState.MISSING: "#c7c7c7",
}
"""Fill colour of each detector state (also used by the status page)."""

_DARK_STATES = frozenset({DetectorState.ARCHIVED, DetectorState.IN_DELIVERY, DetectorState.FAILED})
_LATENCY_TITLE = "label: seconds from end of image (ledger registration) to file written"


def _label(state: DetectorState, latency: float | None) -> str:
    if latency is not None:
        return f"{latency:.1f}"
    return {DetectorState.FAILED: "fail", DetectorState.MISSING: "-"}.get(state, "…")


def _title(status: ImageStatus, camera: Camera) -> str:
    expected = sum(1 for d in status.detectors if d.reason != "not expected in this image")
    archived = status.count(DetectorState.ARCHIVED)
    text = f"{status.obsid}  ({camera.name}): {archived}/{expected} archived"
    if status.archive_latency is not None:
        outcome = "OK" if status.archive_status == 0 else f"incomplete, status {status.archive_status}"
        text += f"; imageArchived after {status.archive_latency:.1f} s ({outcome})"
    else:
        text += "; in progress"
    return text


def render_image_map(status: ImageStatus, camera: Camera) -> bytes:
    """Draw the focal-plane map of an image; return the PNG (`MAP_SIZE` pixels).

    Parameters
    ----------
    status : `ImageStatus`
        The image, detector by detector (`read_image_status`).
    camera : `~lsst.ts.archiver.camera.Camera`
        Its camera (the layout).
    """
    # Imported here: matplotlib takes 0.4 s to import, and only drawing needs it
    # (not the CSC, which imports this package for its status page).
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.collections import PatchCollection
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch, Rectangle

    layout = focal_plane_layout(camera)
    width, height = MAP_SIZE
    figure = Figure(figsize=(width / _DPI, height / _DPI), dpi=_DPI)
    FigureCanvasAgg(figure)
    axes = figure.add_axes((0.02, 0.1, 0.96, 0.82))
    axes.set_aspect("equal")
    axes.set_axis_off()
    many = len(layout) > 20
    font = 5.5 if many else 12
    patches, colours = [], []
    for detector in status.detectors:
        footprint = layout.get(detector.name)
        if footprint is None:
            continue
        patches.append(Rectangle(footprint.corner, footprint.width, footprint.height))
        colours.append(STATE_COLOURS[detector.state])
        text_colour = "white" if detector.state in _DARK_STATES else "black"
        label = _label(detector.state, detector.latency)
        if not many:
            label = f"{detector.name}\n{label}"
        elif footprint.purpose is DetectorPurpose.GUIDER:
            label = f"{footprint.name[-3:]}\n{label}"
        axes.text(
            footprint.x,
            footprint.y,
            label,
            ha="center",
            va="center",
            fontsize=font if footprint.purpose is DetectorPurpose.SCIENCE else font * 0.85,
            color=text_colour,
            rotation=90 if footprint.height > footprint.width * 1.5 else 0,
        )
    axes.add_collection(
        PatchCollection(patches, facecolors=colours, edgecolors="black", linewidths=0.5, antialiased=False)
    )
    xs = [f.x - f.width / 2 for f in layout.values()] + [f.x + f.width / 2 for f in layout.values()]
    ys = [f.y - f.height / 2 for f in layout.values()] + [f.y + f.height / 2 for f in layout.values()]
    margin = 0.03 * (max(xs) - min(xs))
    axes.set_xlim(min(xs) - margin, max(xs) + margin)
    axes.set_ylim(min(ys) - margin, max(ys) + margin)
    figure.suptitle(_title(status, camera), fontsize=11, y=0.975)
    figure.text(0.5, 0.935, _LATENCY_TITLE, ha="center", fontsize=9, color="#444444")
    handles = [
        Patch(facecolor=colour, edgecolor="black", label=f"{state.value} ({status.count(state)})")
        for state, colour in STATE_COLOURS.items()
    ]
    figure.legend(handles=handles, loc="lower center", ncol=len(handles), fontsize=9, frameon=False)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=_DPI)
    return buffer.getvalue()


def write_image_map(
    ledger: Ledger, camera: Camera | str, obsid: str, path: str | os.PathLike[str]
) -> pathlib.Path:
    """Write the focal-plane map of an image in the ledger as a PNG file.

    The file is written under a temporary name and renamed into place, so a
    reader never sees half a PNG. Missing parent directories are made.

    Parameters
    ----------
    ledger : `~lsst.ts.archiver.ledger.Ledger`
        The ledger holding the image.
    camera : `~lsst.ts.archiver.camera.Camera` or `str`
        The image's camera, or any of its names (``LSSTCam``, ``CCArchiver`` ...).
    obsid : `str`
        The image.
    path : path-like
        The PNG file to write.

    Returns
    -------
    path : `pathlib.Path`
        The file written.

    Raises
    ------
    lsst.ts.archiver.ledger.UnknownImageError
        If the image is not in the ledger.
    """
    if isinstance(camera, str):
        camera = get_camera(camera)
    png = render_image_map(read_image_status(ledger, camera, obsid), camera)
    target = pathlib.Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=target.parent, prefix=f".{target.name}.", delete=False) as tmp:
        tmp.write(png)
    os.chmod(tmp.name, 0o644)
    os.replace(tmp.name, target)
    return target
