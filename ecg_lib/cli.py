"""Command line: ``python -m ecg_lib {models,summary,train,reproduce,pretrained,history}`` (also installed
as the ``ecg`` command, which runs the same :func:`main`).

Each sub-command is an ``add_<name>(sub)`` that declares its flags and a ``_cmd_<name>(args) -> int``
that runs it: the listing commands in :mod:`ecg_lib.cli_models`, ``train`` and ``history`` in
:mod:`ecg_lib.cli_train` (``train``'s flags derived from TrainConfig in :mod:`ecg_lib.cli_train_flags`),
``reproduce`` in :mod:`ecg_lib.reproduce`. Imports of PyTorch happen inside them so that ``--help`` stays
fast.
"""

from __future__ import annotations

import argparse
import sys

from ecg_lib.cli_models import add_models, add_pretrained, add_summary
from ecg_lib.cli_train import add_history, add_train

__all__ = ["build_parser", "main"]


_DESCRIPTION = (
    "The ecg_lib command line: list and count the models, train one on CIFAR-10, and reproduce a "
    "chapter's experiments of the book ImageNet Evolution without Jupyter."
)


def build_parser() -> argparse.ArgumentParser:
    from pathlib import Path

    from ecg_lib import __version__

    # the `ecg` console script (pyproject.toml) and `python -m ecg_lib` share this parser: name the one used
    prog = "ecg" if Path(sys.argv[0]).stem == "ecg" else "python -m ecg_lib"
    parser = argparse.ArgumentParser(prog=prog, description=_DESCRIPTION)
    parser.add_argument("--version", action="version", version=f"ecg_lib {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    # one _add_<command>(sub) per sub-command
    add_models(sub)
    add_summary(sub)
    add_train(sub)
    from ecg_lib.reproduce import add_parser as add_reproduce_parser

    add_reproduce_parser(sub)
    add_pretrained(sub)
    add_history(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    from ecg_lib.profiles import UnknownProfileError, resolve_profile

    try:
        parser = build_parser()  # `train`'s flags come from TrainConfig, which imports PyTorch
    except ModuleNotFoundError as exc:
        if exc.name != "torch":
            raise
        print(f"error: ecg_lib needs PyTorch, and this Python ({sys.executable}) has none. Install the "
              "library with its dependencies (in a checkout: pip install -e .) or activate the environment "
              "that has them (e.g. . .venv/bin/activate).", file=sys.stderr)  # fmt: skip
        return 2
    args = parser.parse_args(argv)
    if getattr(args, "profile", None) is None:
        # Every command fails fast on a mistyped profile environment variable instead of running with a guess.
        try:
            resolve_profile(None)
        except UnknownProfileError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
    try:
        code = int(args.func(args) or 0)
        sys.stdout.flush()  # here, where a closed pipe can still be handled, not at interpreter exit
    except BrokenPipeError:
        # `python -m ecg_lib summary ... | head -1`: the reader has gone, which is no error of ours. Stop
        # quietly with the status of a process ended by SIGPIPE, and point stdout at /dev/null so that
        # the interpreter's final flush does not complain either.
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    return code


if __name__ == "__main__":
    sys.exit(main())
