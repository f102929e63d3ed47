"""`CameraCommander`: take images from a shell (``camera_commander``).

An interactive `lsst.ts.salkit.CscCommander` of ``ATCamera``, ``CCCamera``
or ``MTCamera`` -- the camera simulator (``run_camera_simulator``, or the
one an Archiver started with ``--simulate``) or a real camera -- with a
``takeImages`` whose trailing arguments may be left out, and one short line
per image-sequence event.

The camera runs in another process, so both need the Kafka transport; with
the in-memory transport ``camera_commander`` refuses at once and says so.
To take images without Kafka, run the Archiver and the commander in one
process: ``archiver_commander ATArchiver --simulate`` has ``takeImages``.
"""

from __future__ import annotations

__all__ = [
    "CAMERAS",
    "TAKE_IMAGES_HELP",
    "CameraCommander",
    "amain",
    "complete_take_images_args",
]

import argparse
import sys
import typing
from collections.abc import Sequence

from lsst.ts import salkit

from ..camera import get_camera

#: Camera components the commander commands.
CAMERAS = ("ATCamera", "CCCamera", "MTCamera")

#: Fields of ``takeImages`` (ts_xml order) and the default of each one that may be left out.
_TAKE_IMAGES_DEFAULTS: tuple[tuple[str, str | None], ...] = (
    ("numImages", None),
    ("expTime", None),
    ("shutter", "true"),
    ("sensors", ""),
    ("keyValueMap", ""),
    ("obsNote", ""),
)

#: Help text of ``takeImages`` in the commanders.
TAKE_IMAGES_HELP = (
    "numImages expTime [shutter [sensors [keyValueMap [obsNote]]]]\n"
    "      e.g. takeImages 2 1.0 true R22_S11:R22_S12 'imageType: FLAT' 'dome flats'\n"
    "      shutter (default true): open the shutter; sensors (default '': all): ':'-separated RNN_SNN;\n"
    "      keyValueMap (default ''): 'key: value, ...'; imageType defaults to OBJECT, DARK without\n"
    "      shutter, BIAS for expTime 0; obsNote (default ''): free text"
)

#: Image-sequence events printed as one short line each.
_SEQUENCE_EVENTS = ("startIntegration", "startReadout", "endReadout", "endOfImageTelemetry")


def complete_take_images_args(args: Sequence[str]) -> list[str]:
    """Return the six ``takeImages`` arguments, with the defaults of those
    left out (``shutter`` true, ``sensors``, ``keyValueMap`` and
    ``obsNote`` blank).

    Raises
    ------
    ValueError
        If fewer than 2 or more than 6 arguments are given.
    """
    if not 2 <= len(args) <= len(_TAKE_IMAGES_DEFAULTS):
        usage = " ".join(name for name, _ in _TAKE_IMAGES_DEFAULTS)
        raise ValueError(f"takeImages needs 2 to 6 arguments ({usage}); got {len(args)}")
    defaults = [default for _, default in _TAKE_IMAGES_DEFAULTS[len(args) :]]
    return [*args, *typing.cast(list[str], defaults)]


class CameraCommander(salkit.CscCommander):
    """Command a camera: ``takeImages`` with defaults, short sequence lines.

    Parameters
    ----------
    name : `str`
        ``ATCamera``, ``CCCamera`` or ``MTCamera``.
    **kwargs
        Further `lsst.ts.salkit.CscCommander` arguments.

    Raises
    ------
    ValueError
        If ``name`` is not a camera.
    """

    def same_process_hint(self) -> str:
        archiver = get_camera(self.remote.salinfo.name).archiver_name
        return (
            "Without Kafka, take images with the Archiver's commander and a simulated camera in one "
            f"process: bin/archiver_commander {archiver} --simulate --enable, then takeImages"
        )

    def __init__(self, name: str, **kwargs: typing.Any) -> None:
        if name not in CAMERAS:
            raise ValueError(f"{name!r} is not a camera; use one of {', '.join(CAMERAS)}")
        super().__init__(name, index=0, **kwargs)
        self.help_dict["takeImages"] = TAKE_IMAGES_HELP
        for evt_name in _SEQUENCE_EVENTS:
            setattr(self, f"evt_{evt_name}_callback", self._sequence_event_printer(evt_name))

    async def do_takeImages(self, args: Sequence[str]) -> None:
        """Take images; arguments as `TAKE_IMAGES_HELP` says."""
        topic = self.command_dict["takeImages"]
        values = self.parse_command_args(topic, complete_take_images_args(args))
        await self.send_command("takeImages", topic, values)

    def _sequence_event_printer(self, evt_name: str) -> typing.Callable[[typing.Any], typing.Awaitable[None]]:
        async def print_sequence_event(data: typing.Any) -> None:
            self.output(
                f"{self.format_time(data.private_sndStamp)}: {evt_name}: {data.imageName} "
                f"({data.imageIndex}/{data.imagesInSequence})"
            )

        return print_sequence_event


async def amain(args: Sequence[str] | None = None) -> None:
    """Run the commander: ``camera_commander {ATCamera,CCCamera,MTCamera} [--enable]``.

    Raises
    ------
    SystemExit
        With status 2 and the fix on stderr if the camera cannot be
        reached (the in-memory transport); 1 if ``--enable`` fails.
    """
    parser = argparse.ArgumentParser(
        description="Command a camera (simulator or real) interactively: takeImages and the state "
        "commands. Needs the Kafka transport (see the message if it is not set)."
    )
    parser.add_argument("name", choices=CAMERAS, help="The camera to command.")
    parser.add_argument("-e", "--enable", action="store_true", help="Enable the camera first.")
    parsed = parser.parse_args(sys.argv[1:] if args is None else args)
    status = await CameraCommander(parsed.name, enable=parsed.enable).run_session()
    if status:
        raise SystemExit(status)
