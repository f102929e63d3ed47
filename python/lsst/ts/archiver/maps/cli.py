"""``bin/archiver_map``: write the focal-plane map of an image in an Archiver's ledger.

The same as ``archiver_commander``'s ``map`` command, without SAL: it needs
no running CSC, only the ledger (found from the Archiver's configuration,
or given with ``--ledger``).
"""

from __future__ import annotations

__all__ = ["main"]

import argparse
import sys
from collections.abc import Sequence

from .archiver_ledger import MapRefusedError, write_archiver_map

_ARCHIVERS = ("ATArchiver", "CCArchiver", "MTArchiver")


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point; return the exit status (0: map written, 1: refused)."""
    parser = argparse.ArgumentParser(
        description="Write the focal-plane map (PNG) of an image in an Archiver's ledger: every detector "
        "in its place, coloured by status, labelled with seconds from end of image to file written."
    )
    parser.add_argument("name", choices=_ARCHIVERS, help="The Archiver whose ledger holds the image.")
    parser.add_argument("obsid", help="The image, e.g. CC_O_20261202_000001.")
    parser.add_argument("-o", "--output", help="The PNG to write (default: <obsid>.png here).")
    parser.add_argument(
        "--ledger",
        help="Ledger URL (sqlite:///path or postgresql+psycopg://...); default: the ledger_url of the "
        "Archiver's configuration (site $LSST_SITE).",
    )
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    try:
        path = write_archiver_map(args.name, args.obsid, args.output, ledger_url=args.ledger)
    except MapRefusedError as e:
        print(f"{parser.prog}: {e}", file=sys.stderr)
        return 1
    print(f"Focal-plane map of {args.obsid}: {path.resolve()}")
    return 0
