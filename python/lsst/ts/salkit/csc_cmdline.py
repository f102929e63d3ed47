"""Command line of a CSC (``run_<csc>``): parse options, make the CSC."""

from __future__ import annotations

__all__ = ["CscCommandLine"]

import argparse
import enum
import typing

from .enums import State

if typing.TYPE_CHECKING:
    from .base_csc import BaseCsc

#: States that ``--state`` accepts.
CMDLINE_STATES = ("offline", "standby", "disabled", "enabled")


class CscCommandLine:
    """Build the argument parser of a CSC class and make a CSC from it.

    Options (salobj's): positional ``index`` (if the CSC is indexed this
    way), ``--loglevel``, ``--version``, ``--state`` (if the class has
    ``enable_cmdline_state``), ``--override`` (configurable and
    ``enable_cmdline_state``), ``--configdir`` (configurable),
    ``--simulate`` (more than one valid simulation mode), plus whatever
    the class adds in ``add_arguments``.

    Parameters
    ----------
    csc_class : `type` [`BaseCsc`]
        The CSC class.
    index : `int`, `bool`, `enum.IntEnum` subclass or `None`
        See `BaseCsc.make_from_cmd_line`.
    """

    def __init__(self, csc_class: type[BaseCsc], index: int | bool | type[enum.IntEnum] | None) -> None:
        self.csc_class = csc_class
        self.index = index
        self.is_configurable = hasattr(csc_class, "get_config_pkg")
        self.parser = self.make_parser()

    @property
    def index_is_argument(self) -> bool:
        """Is the SAL index a positional argument?"""
        return self.index is True or (isinstance(self.index, type) and issubclass(self.index, enum.IntEnum))

    def make_parser(self) -> argparse.ArgumentParser:
        """Return the argument parser."""
        cls = self.csc_class
        parser = argparse.ArgumentParser(description=f"Run {cls.__name__}")
        if self.index is True:
            parser.add_argument("index", type=int, help="SAL index.")
        elif isinstance(self.index, type) and issubclass(self.index, enum.IntEnum):
            enum_cls = self.index
            choices = ", ".join(f"{item.value}: {item.name.lower()}" for item in enum_cls)
            parser.add_argument(
                "index",
                type=int,
                choices=[int(item) for item in enum_cls],
                help=f"SAL index, one of: {choices}",
            )
        parser.add_argument("--version", action="version", version=str(cls.version))
        parser.add_argument(
            "--loglevel",
            type=int,
            help="Python log level: error=40, warning=30, info=20, debug=10.",
        )
        if cls.enable_cmdline_state:
            parser.add_argument(
                "--state",
                choices=CMDLINE_STATES,
                dest="state",
                default=cls.default_initial_state.name.lower(),
                help="Initial summary state.",
            )
            if self.is_configurable:
                parser.add_argument(
                    "--override",
                    default="",
                    help="Configuration override file, applied if --state is disabled or enabled.",
                )
        if self.is_configurable:
            parser.add_argument(
                "--configdir",
                help="Configuration directory; default: $<CONFIG_PKG>_DIR/<Component>/<schema version>.",
            )
        modes = tuple(cls.valid_simulation_modes or (0,))
        if len(modes) > 1:
            help_text = cls.simulation_help
            nonzero = [mode for mode in modes if mode != 0]
            if len(modes) == 2 and 0 in modes:
                parser.add_argument(
                    "--simulate",
                    action="store_const",
                    const=nonzero[0],
                    default=0,
                    help=help_text or f"Run in simulation mode {nonzero[0]}.",
                )
            else:
                parser.add_argument(
                    "--simulate",
                    type=int,
                    choices=modes,
                    default=0 if 0 in modes else modes[0],
                    help=help_text or "Simulation mode (0 = real hardware).",
                )
        cls.add_arguments(parser)
        return parser

    def make_csc(self, args: typing.Sequence[str] | None = None, **kwargs: typing.Any) -> BaseCsc:
        """Parse ``args`` (None: ``sys.argv[1:]``) and make the CSC.

        ``kwargs`` are further constructor arguments; parsed options win.
        """
        parsed = self.parser.parse_args(args)
        kwargs = dict(kwargs)
        if self.index_is_argument:
            kwargs["index"] = parsed.index
        elif isinstance(self.index, int) and self.index:
            kwargs["index"] = self.index
        if self.csc_class.enable_cmdline_state:
            kwargs["initial_state"] = State[parsed.state.upper()]
            if self.is_configurable:
                kwargs["override"] = parsed.override
        if self.is_configurable and parsed.configdir is not None:
            kwargs["config_dir"] = parsed.configdir
        if hasattr(parsed, "simulate"):
            kwargs["simulation_mode"] = parsed.simulate
        self.csc_class.add_kwargs_from_args(parsed, kwargs)
        csc = self.csc_class(**kwargs)
        if parsed.loglevel is not None:
            csc.log.setLevel(parsed.loglevel)
        return csc
