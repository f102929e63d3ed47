"""`OodsFace`: the Archiver seen as its camera's OODS (``ATOODS``, ``CCOODS``, ``MTOODS``).

Observatory scripts and control packages wait for ``imageInOODS`` on the
OODS component (e.g. ``rem.mtoods.evt_imageInOODS``), not on an Archiver
topic. Where the Archiver ingests into the OODS repository itself and no
ctrl_oods CSC runs, ``oods_face.enabled`` makes it also run as that
component: a plain CSC (summaryState, heartbeat, the state commands ...)
that writes ``imageInOODS`` per file with ts_xml's fields, as ctrl_oods
does. It starts ENABLED with the Archiver and stays so; its state commands
work as any CSC's.
"""

from __future__ import annotations

__all__ = ["OodsFace", "image_in_oods_fields"]

from lsst.ts import salkit

from . import __version__
from .camera import Camera
from .delivery import ImageInOods


class OodsFace(salkit.BaseCsc):
    """The ``<X>OODS`` component of a camera (see module docstring).

    Parameters
    ----------
    camera : `~lsst.ts.archiver.camera.Camera`
        The Archiver's camera (the component is its ``oods_name``).
    """

    version = __version__
    valid_simulation_modes = (0,)

    def __init__(self, camera: Camera) -> None:
        self.camera = camera
        super().__init__(camera.oods_name, initial_state=salkit.State.ENABLED)

    async def image_in_oods(self, result: ImageInOods) -> None:
        """Write ``imageInOODS`` for one file, as ctrl_oods does."""
        await self.evt_imageInOODS.set_write(**image_in_oods_fields(result), force_output=True)  # type: ignore[attr-defined]


def image_in_oods_fields(result: ImageInOods) -> dict[str, str | int]:
    """The ``imageInOODS`` fields of a result (the same on the Archiver and on ``<X>OODS``)."""
    return {
        "camera": result.camera,
        "obsid": result.obsid,
        "raft": result.raft,
        "sensor": result.sensor,
        "statusCode": result.status_code,
        "description": result.description,
    }
