"""Command line: ``python -m ecg_lib {models,summary,train,reproduce}``.

Each sub-command is a ``_cmd_<name>(args) -> int`` function; imports happen inside them so that
``--help`` stays fast.
"""

from __future__ import annotations

import argparse
import sys


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m ecg_lib", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    del sub  # sub-commands are added by the models, training and results work (see DEVELOPERS.md)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
