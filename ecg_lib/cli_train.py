"""The command line's ``train`` (a CIFAR model on CIFAR-10, also under torchrun) and ``history`` (the
History kept in a checkpoint, the recovery after a failed final write): the checks of outputs, checkpoint
and data paths before anything is loaded, the run, and what each failure exits with and says."""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from pathlib import Path

from ecg_lib.cli_models import parse_options
from ecg_lib.cli_train_flags import add_config_flags, config_from_args

__all__ = ["add_history", "add_train"]


def _per_class(total: int | None, what: str) -> int | None:
    """``--subset 10000`` -> 1000 per class (subsets are class-balanced)."""
    if total is None:
        return None
    if total < 10 or total % 10:
        raise ValueError(f"{what} must be a positive multiple of 10 (class-balanced), got {total}.")
    return total // 10


def _is_history_file(path: str) -> bool:
    """Whether ``path`` holds a History JSON (what ``--out`` writes), read without trusting it."""
    try:
        with open(path, "rb") as f:
            if not f.read(64).lstrip().startswith(b"{"):
                return False  # a checkpoint (zip), an archive, an image: not even JSON
            f.seek(0)
            d = json.loads(f.read().decode("utf-8"))
    except (OSError, ValueError, RecursionError):
        return False
    return isinstance(d, dict) and {"config", "train_loss", "epoch_train_loss", "stopped"} <= d.keys()


def _data_source(args: argparse.Namespace) -> Path | None:
    """The file or folder the data will be read from when it is named (--data, $ECG_DATA_DIR), resolved."""
    import os

    from ecg_lib.data import _find_source

    named = args.data if args.data is not None else os.environ.get("ECG_DATA_DIR") or None
    if not named:
        return None
    path = Path(named).expanduser()
    return (_find_source(path) or path).resolve()


def _check_paths(args: argparse.Namespace, locks: contextlib.ExitStack | None = None) -> None:
    """Output and checkpoint paths, checked before any data is loaded or any epoch trained: named, writable,
    not a folder, distinct, never the data source, locked against a concurrent run with the same outputs,
    never the checkpoint of another run (that is resumed with --resume, or deleted) and never a file of
    another kind (a History is replaced by --out; anything else only with --overwrite)."""

    from ecg_lib import distributed
    from ecg_lib.atomic import check_writable, output_lock

    for flag, value in (("--out", args.out), ("--checkpoint", args.checkpoint), ("--resume", args.resume),
                        ("--data", args.data)):  # fmt: skip
        if value is not None and not value.strip():
            raise ValueError(f"{flag} '' names no file: give a path, or leave {flag} out.")
    checkpoint = args.checkpoint or args.resume
    if checkpoint:
        check_writable(checkpoint, "--checkpoint" if args.checkpoint else "--resume")
    if args.out:
        check_writable(args.out, "--out")
    if args.out and checkpoint:
        out, ckpt = Path(args.out), Path(checkpoint)
        if out.resolve() == ckpt.resolve() or (out.exists() and ckpt.exists() and out.samefile(ckpt)):
            flag = "--checkpoint" if args.checkpoint else "--resume"
            raise ValueError(f"--out and {flag} name the same file ({out}): the History JSON would replace "
                             "the checkpoint. Give --out another path.")  # fmt: skip
    source = _data_source(args)
    for flag, value in (("--out", args.out), ("--checkpoint", checkpoint)):
        target = Path(value).expanduser().resolve() if value else None
        if source is not None and target is not None and (target == source or source in target.parents):
            raise ValueError(f"{flag} {value} is the data source {source} (or inside it): the run would "
                             "replace the data it reads. Give a path outside it.")  # fmt: skip
    # Only the main process of a torchrun launch writes the outputs, so only it locks them; the process
    # group is not joined yet, so the launcher's environment says which process this is.
    if locks is not None and distributed.launched().is_main:
        # taken before the existence checks below, so two runs cannot both find the path free
        ckpt_flag = "--checkpoint" if args.checkpoint else "--resume"
        for flag, value in ((ckpt_flag, checkpoint), ("--out", args.out)):
            if value:
                locks.enter_context(output_lock([value], flag))
    overwrite = getattr(args, "overwrite", False)
    if args.checkpoint and Path(args.checkpoint).exists() and not overwrite:
        same = args.resume and Path(args.resume).resolve() == Path(args.checkpoint).resolve()
        if not same:
            raise ValueError(
                f"--checkpoint {args.checkpoint} already exists and would be overwritten by this run. "
                f"Continue that run with --resume {args.checkpoint}, or delete the file (or pick another "
                "path, or add --overwrite) to start a new one."
            )
    if args.out and Path(args.out).exists() and not overwrite and not _is_history_file(args.out):
        raise ValueError(f"--out {args.out} exists and is not a History (the JSON --out writes): it would be "
                         "replaced. Give another path, or add --overwrite to replace it.")  # fmt: skip


def _kept(checkpoint: str | None, out: str | None) -> str:
    """What a failed final write leaves, and the one command that recovers the History."""

    if checkpoint and Path(checkpoint).is_file():
        target = out or "history.json"
        return (f"The History is kept in the last checkpoint {checkpoint}; once there is room, recover it "
                f"with: python -m ecg_lib history {checkpoint} --out {target}")  # fmt: skip
    return "No checkpoint was written (--checkpoint PATH keeps the History in one after every epoch)."


def _cmd_train(args: argparse.Namespace) -> int:
    with contextlib.ExitStack() as locks:  # output locks, held until the outputs are written
        return _train(args, locks)


def _train(args: argparse.Namespace, locks: contextlib.ExitStack) -> int:
    import torch

    from ecg_lib import distributed
    from ecg_lib.data import DataError, load_cifar10
    from ecg_lib.models import get_model, model_spec
    from ecg_lib.train import NonFiniteLossError, fit

    try:
        spec = model_spec(args.model)
        if spec.input_size[1:] != (32, 32):
            raise ValueError(f"{args.model} takes {spec.input_size[1]}x{spec.input_size[2]} images; `train` "
                             "uses CIFAR-10 (32x32): pick a CIFAR model, e.g. resnet20 or alexnet_cifar.")
        config = config_from_args(args)
        n_train, n_test = _per_class(args.subset, "--subset"), _per_class(args.test_subset, "--test-subset")
        options = parse_options(args.option)
        _check_paths(args, locks)
        # the model is built before the data is loaded so that a bad option fails in a second, not after
        # decoding; the seed is set right before it so every rank and rerun starts from the same weights
        torch.manual_seed(args.seed)
        model = get_model(args.model, **options)
        data = load_cifar10(args.data)
        if n_train is not None or n_test is not None:
            data = data.subset(n_train, n_test, seed=args.seed)
    except (KeyError, ValueError, TypeError, OverflowError, DataError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\ninterrupted while loading CIFAR-10; nothing was cached, the next run decodes again.",
              file=sys.stderr)  # fmt: skip
        return 130
    checkpoint = args.checkpoint or args.resume
    try:
        # recipe= again (it is idempotent) so that the History in every checkpoint records it too
        history = fit(model, data, config, checkpoint=checkpoint, resume=args.resume, model_name=args.model,
                      model_options=options, recipe=args.recipe)  # fmt: skip
        history.info["recipe"] = args.recipe
    except NonFiniteLossError as exc:
        print(f"error: {exc}", file=sys.stderr)
        if args.out and distributed.current().is_main:
            try:
                exc.history.save(args.out)
            except OSError as err:
                print(f"error: the History up to the divergence could not be written to {args.out} "
                      f"({err.strerror or err}).", file=sys.stderr)  # fmt: skip
        return 1
    except (ValueError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # a checkpoint write failed: a full disk, a removed folder
        kept = "no epoch had been saved yet"
        if checkpoint and Path(checkpoint).is_file():  # the previous one: atomic writes never tear it
            kept = f"it holds the last completed epoch; free space and continue with --resume {checkpoint}"
        print(f"error: writing the checkpoint {checkpoint} failed ({exc.strerror or exc}); training stopped "
              f"({kept}).", file=sys.stderr)  # fmt: skip
        return 1
    except KeyboardInterrupt:
        # a checkpoint exists only once an epoch has ended (a pre-existing one was refused above)
        if checkpoint and Path(checkpoint).is_file():
            hint = f"continue with --resume {checkpoint}"
        elif checkpoint:
            hint = f"no checkpoint was written yet (one is written after every epoch at {checkpoint})"
        else:
            hint = "--checkpoint PATH allows resuming"
        print(f"\ninterrupted; {hint}.", file=sys.stderr)
        return 130
    finally:
        world = distributed.current()
        distributed.cleanup()
    if world.is_main:
        print(f"{args.model}: {history.summary()}")
        if args.out:
            history.info["command"] = "python -m ecg_lib " + " ".join(sys.argv[1:])
            try:
                history.save(args.out)
            except OSError as exc:  # the disk filled up during training: say what survived, and where
                print(f"error: the History could not be written to {args.out} ({exc.strerror or exc}). "
                      f"{_kept(checkpoint, args.out)}", file=sys.stderr)  # fmt: skip
                return 1
    return 0


def add_train(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "train", help="train a CIFAR model on CIFAR-10 (also under torchrun for DistributedDataParallel)"
    )
    p.add_argument("model", help="registered CIFAR model, e.g. resnet20, alexnet_cifar (see `models`)")
    add_config_flags(p)
    from ecg_lib.train.config import RECIPES

    p.add_argument("--recipe", default="paper", choices=RECIPES,
                   help="fast: the short-budget recipe (lr 0.2 per batch of 128, Nesterov, linear warmup "
                        "over 20%% then linear decay, no augmentation); paper: the flags as given (default)")
    p.add_argument("--subset", type=int, default=None, metavar="N",
                   help="train on N images, N/10 per class (default: all 50,000)")
    p.add_argument("--test-subset", type=int, default=None, metavar="N",
                   help="evaluate on N test images, N/10 per class (default: all 10,000)")
    p.add_argument("--data", default=None, help="CIFAR-10 location (default: $ECG_DATA_DIR, cache, download)")
    p.add_argument("--checkpoint", default=None, metavar="PATH", help="write a checkpoint after every epoch")
    p.add_argument("--resume", default=None, metavar="PATH", help="continue from this checkpoint")
    p.add_argument("--out", default=None, metavar="PATH", help="write the History as JSON")
    p.add_argument("--overwrite", action="store_true",
                   help="let --out and --checkpoint replace an existing file that is not a History (never "
                        "the data source)")
    p.add_argument("--option", action="append", default=[], metavar="KEY=VALUE",
                   help="model builder option, repeatable, e.g. --option activation=tanh")
    p.set_defaults(func=_cmd_train, given_flags=frozenset())  # fmt: skip


def _cmd_history(args: argparse.Namespace) -> int:
    """The History kept in a checkpoint, written as the JSON ``train --out`` writes (the recovery after a
    final write failed, e.g. on a full disk), or printed."""

    from ecg_lib.atomic import check_writable
    from ecg_lib.train import History, load_checkpoint

    try:
        history = History.from_dict(load_checkpoint(args.checkpoint)["history"])
        if args.out:
            check_writable(args.out, "--out")
            if Path(args.out).exists() and not args.overwrite and not _is_history_file(args.out):
                raise ValueError(f"--out {args.out} exists and is not a History: it would be replaced. Give "
                                 "another path, or add --overwrite.")  # fmt: skip
    except (ValueError, FileNotFoundError, TypeError, KeyError) as exc:  # TypeError: a damaged History
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if not args.out:
        print(history.to_json(indent=1))
        return 0
    try:
        history.save(args.out)
    except OSError as exc:
        print(f"error: {args.out} could not be written ({exc.strerror or exc}).", file=sys.stderr)
        return 1
    print(f"{args.out}: {history.summary()}")
    return 0


def add_history(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("history", help="write the History kept in a `train --checkpoint` file as JSON")
    p.add_argument("checkpoint", help="a checkpoint written by `train --checkpoint` (or --resume)")
    p.add_argument("--out", default=None, metavar="PATH", help="write the History here (default: print it)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing --out that is not a History")
    p.set_defaults(func=_cmd_history)
