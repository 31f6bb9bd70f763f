"""Command line: ``python -m ecg_lib {models,summary,train,reproduce,pretrained}`` (also installed as the
``ecg`` command, which runs the same :func:`main`).

Each sub-command is a ``_cmd_<name>(args) -> int`` function; imports happen inside them so that
``--help`` stays fast.
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import json
import math
import sys
from pathlib import Path


def _parse_options(items: list[str]) -> dict[str, object]:
    """``["config=D", "width=0.5", "batch_norm=True"]`` -> builder keyword arguments."""
    options: dict[str, object] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or not key.isidentifier():
            raise ValueError(f"--option takes KEY=VALUE, e.g. --option config=D (got {item!r}).")
        try:
            options[key] = ast.literal_eval(raw)
        except (ValueError, SyntaxError, MemoryError, RecursionError):
            options[key] = raw  # a bare word such as D or tanh is a string
        value = options[key]
        if isinstance(value, complex) or (isinstance(value, float) and not math.isfinite(value)):
            # 1e400 reads as inf, which a builder would turn into an int (OverflowError deep inside)
            raise ValueError(f"--option {item}: {key} must be a finite number (got {value!r}).")
    return options


def _build_meta(name: str, num_classes: int | None = None, **options):
    """Build a registered model on the meta device: shapes only, no memory or init time for weights."""
    import torch

    from ecg_lib.models import get_model

    with torch.device("meta"):
        return get_model(name, num_classes, **options)


def _cmd_models(args: argparse.Namespace) -> int:
    from ecg_lib.counting import count_macs, count_params, format_count
    from ecg_lib.models import list_models, model_spec

    names = list_models(args.family)
    if not names:
        print(f"error: no models in family {args.family!r}.", file=sys.stderr)
        return 2
    rows, failed = [], 0
    for name in names:
        spec = model_spec(name)
        try:
            model = _build_meta(name)
            params, macs = count_params(model), count_macs(model, spec.input_size)
        except Exception as exc:  # report and go on: one broken entry should not hide the others
            print(f"error: {name}: {exc}", file=sys.stderr)
            failed += 1
            continue
        rows.append((spec, params, macs))
    if args.json:
        print(json.dumps([
            {"name": s.name, "family": s.family, "input": list(s.input_size), "num_classes": s.num_classes,
             "params": p, "macs": m, "paper": s.paper, "description": s.description}
            for s, p, m in rows
        ], indent=2))  # fmt: skip
        return 1 if failed else 0
    header = ("model", "family", "input", "params", "MACs", "description")
    table = [
        (s.name, s.family, "x".join(map(str, s.input_size)), format_count(p), format_count(m), s.description)
        for s, p, m in rows
    ]
    widths = [max(len(r[i]) for r in [header, *table]) for i in range(5)]
    fmt = "  ".join(f"{{:{'>' if i in (3, 4) else '<'}{w}}}" for i, w in enumerate(widths)) + "  {}"
    print(fmt.format(*header))
    for row in table:
        print(fmt.format(*row))
    print("\nMACs: multiply-accumulates for one image at the model's native input size (what the papers")
    print("call FLOPs); FLOPs counting a multiply and an add separately are twice as many.")
    return 1 if failed else 0


def _add_models(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("models", help="list registered models with parameters and MACs")
    p.add_argument("--family", help="only this family (alexnet, vgg, nin, googlenet, resnet)")
    p.add_argument("--json", action="store_true", help="print a JSON list instead of a table")
    p.set_defaults(func=_cmd_models)


def _cmd_summary(args: argparse.Namespace) -> int:
    from ecg_lib.counting import parse_input_size, summarize
    from ecg_lib.models import model_spec

    try:
        spec = model_spec(args.name)
        options = _parse_options(args.option)
        size = parse_input_size(args.input) if args.input else spec.input_size
        model = _build_meta(args.name, args.num_classes, **options)
        summary = summarize(model, size, name=args.name)
    except (KeyError, ValueError, TypeError, OverflowError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(summary.to_json() if args.json else summary.to_text())
    return 0


def _add_summary(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("summary", help="per-layer table (output shape, params, MACs) of one model")
    p.add_argument("name", help="registered model name (see `models`)")
    p.add_argument("--input", help="C x H x W, e.g. 3x224x224 (default: the model's native size)")
    p.add_argument("--num-classes", type=int, default=None, help="classifier size (default: the paper's)")
    p.add_argument(
        "--option", action="append", default=[], metavar="KEY=VALUE",
        help="builder option, repeatable, e.g. --option config=D --option width=0.5",
    )  # fmt: skip
    p.add_argument("--json", action="store_true", help="print one JSON object (params, macs, input, layers)")
    p.set_defaults(func=_cmd_summary)


def _per_class(total: int | None, what: str) -> int | None:
    """``--subset 10000`` -> 1000 per class (subsets are class-balanced)."""
    if total is None:
        return None
    if total < 10 or total % 10:
        raise ValueError(f"{what} must be a positive multiple of 10 (class-balanced), got {total}.")
    return total // 10


# ----------------------------------------------------------------------------------------------------------
# `train`'s flags come from TrainConfig itself (fields, defaults, choices), so the two cannot disagree.
# Only the flag spelling and help text live here; a field missing from _FLAG_HELP gets a flag anyway.

_FLAG_HELP: dict[str, str] = {
    "epochs": "epochs to train",
    "batch_size": "global batch (split over torchrun processes)",
    "lr": "peak learning rate",
    "optimizer": "optimizer",
    "momentum": "SGD momentum",
    "nesterov": "Nesterov momentum (SGD)",
    "weight_decay": "L2 weight decay",
    "schedule": "learning-rate schedule over the whole run",
    "warmup_epochs": "warmup length in epochs (default: 10%% of the run for warmup_* schedules)",
    "warmup_factor": "hold lr*FACTOR during warmup instead of a linear ramp",
    "milestones": "epochs where `--schedule step` multiplies lr by gamma, comma-separated: 91,136",
    "gamma": "factor at each milestone of `--schedule step`",
    "label_smoothing": "label smoothing of the cross-entropy",
    "aux_weight": "weight of each auxiliary classifier's loss (GoogLeNet: 0.3)",
    "seed": "seed of the weights, the data order and the augmentation",
    "precision": "arithmetic precision (auto: bf16 where native, else fp32)",
    "channels_last": "channels-last memory format",
    "compile": "torch.compile the model",
    "augment": "random crop and flip",
    "normalize": "input normalisation",
    "eval_every": "evaluate on the test set every N epochs (0: never)",
    "eval_batch_size": "batch size of evaluation",
    "max_time_s": "stop after the epoch in which training time reaches this many seconds",
    "device": "cpu, cuda, cuda:1, mps (default: the best available)",
    "quiet": "no progress bar",
}
# Flags kept under their established names.
_FLAG_NAMES = {"max_time_s": "--max-time", "batch_size": "--batch-size"}


def _config_choices() -> dict[str, tuple[str, ...]]:
    from ecg_lib.data import Normalizer
    from ecg_lib.train import OPTIMIZERS, PRECISIONS, SCHEDULES

    # "none" spells normalize=None on the command line; MODES already holds it (once is enough in --help)
    return {"optimizer": OPTIMIZERS, "schedule": SCHEDULES, "precision": PRECISIONS,
            "normalize": tuple(dict.fromkeys((*Normalizer.MODES, "none")))}  # fmt: skip


def _milestones(text: str) -> tuple[float, ...]:
    try:
        return tuple(float(m) for m in text.split(",") if m.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"--milestones takes epochs separated by commas, e.g. 91,136 (got {text!r})"
        ) from None


def _optional(kind):
    def parse(text: str):
        return None if text.strip().lower() in ("none", "") else kind(text)

    parse.__name__ = kind.__name__  # argparse names the type in its error message
    return parse


def _recorded(base: type[argparse.Action]) -> type[argparse.Action]:
    """``base`` that also adds its ``dest`` to ``namespace.given_flags``: the flags given on the command
    line, whatever their value (``--lr 0.1`` equals the default and is still an explicit choice)."""

    class Recorded(base):  # type: ignore[valid-type, misc]
        def __call__(self, parser, namespace, values, option_string=None):
            namespace.given_flags = {*getattr(namespace, "given_flags", ()), self.dest}
            super().__call__(parser, namespace, values, option_string)

    return Recorded


def _add_config_flags(p: argparse.ArgumentParser) -> None:
    """One flag per :class:`~ecg_lib.train.TrainConfig` field, default and choices taken from it."""
    import dataclasses

    from ecg_lib.train import TrainConfig

    defaults, choices = TrainConfig(), _config_choices()
    for f in dataclasses.fields(TrainConfig):
        name, default = f.name, getattr(defaults, f.name)
        flag = _FLAG_NAMES.get(name, "--" + name.replace("_", "-"))
        help_text = _FLAG_HELP.get(name, name)
        if isinstance(default, bool):
            # booleans that default to True are switched off with --no-NAME (--no-augment)
            flag = flag if not default else "--no-" + name.replace("_", "-")
            switch = argparse._StoreFalseAction if default else argparse._StoreTrueAction
            p.add_argument(flag, dest=name, default=default, action=_recorded(switch),
                           help=help_text + (" off" if default else ""))  # fmt: skip
        elif name == "milestones":
            p.add_argument(flag, dest=name, type=_milestones, default=default, help=help_text,
                           action=_recorded(argparse._StoreAction))  # fmt: skip
        elif name in choices:
            shown = "none" if default is None else default
            p.add_argument(flag, dest=name, default=shown, choices=choices[name],
                           action=_recorded(argparse._StoreAction),
                           help=f"{help_text} (default: {shown})")  # fmt: skip
        else:
            kind = {"int": int, "float": float}.get(type(default).__name__, None)
            if kind is None:  # None defaults: the annotation says what the value is
                kind = float if "float" in str(f.type) else int if "int" in str(f.type) else str
                kind = _optional(kind)
            if "default" not in help_text:  # a help text that explains its default says it once
                help_text += f" (default: {default})"
            p.add_argument(flag, dest=name, type=kind, default=default,
                           action=_recorded(argparse._StoreAction), help=help_text)  # fmt: skip


def _config_from_args(args: argparse.Namespace):
    """The TrainConfig the parsed flags describe (its own checks raise ValueError on bad values)."""
    import dataclasses

    from ecg_lib.train import TrainConfig
    from ecg_lib.train.config import apply_recipe, recipe_fields

    values = {f.name: getattr(args, f.name) for f in dataclasses.fields(TrainConfig)}
    if values["normalize"] == "none":
        values["normalize"] = None
    config = TrainConfig(**values)
    recipe = getattr(args, "recipe", "paper")
    # a flag the recipe would override is an error, not silently lost (--lr 0.3 --recipe fast), also when
    # its value happens to be the default (--lr 0.1): what was given is what counts, not its value
    defaults = TrainConfig()
    sets = recipe_fields(recipe, config)
    given = getattr(args, "given_flags", None)
    if given is None:  # a Namespace not made by this parser: judge by value
        given = {n for n in sets if values[n] != getattr(defaults, n)}
    clash = [n for n, v in sets.items() if n in given and values[n] != v]
    if clash:
        flags = ", ".join(_FLAG_NAMES.get(n, "--" + n.replace("_", "-")) for n in clash)
        raise ValueError(f"--recipe {recipe} sets {', '.join(clash)} itself; drop {flags} or use "
                         "--recipe paper with your own values.")  # fmt: skip
    return apply_recipe(config, recipe)


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
        config = _config_from_args(args)
        n_train, n_test = _per_class(args.subset, "--subset"), _per_class(args.test_subset, "--test-subset")
        options = _parse_options(args.option)
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


def _add_train(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "train", help="train a CIFAR model on CIFAR-10 (also under torchrun for DistributedDataParallel)"
    )
    p.add_argument("model", help="registered CIFAR model, e.g. resnet20, alexnet_cifar (see `models`)")
    _add_config_flags(p)
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


def _add_history(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("history", help="write the History kept in a `train --checkpoint` file as JSON")
    p.add_argument("checkpoint", help="a checkpoint written by `train --checkpoint` (or --resume)")
    p.add_argument("--out", default=None, metavar="PATH", help="write the History here (default: print it)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing --out that is not a History")
    p.set_defaults(func=_cmd_history)


def _cmd_pretrained(args: argparse.Namespace) -> int:
    from ecg_lib.pretrained import PRETRAINED, PretrainedError, find_weights

    rows = []
    for spec in PRETRAINED.values():
        try:
            # no download here: listing should be quick and must not change the cache
            where = str(find_weights(spec.name, args.path, download=args.download))
        except PretrainedError as exc:
            where = "not found" if exc.kind == "missing" else f"INVALID: {str(exc).splitlines()[0]}"
        rows.append({"name": spec.name, "file": spec.file, "sha256": spec.sha256,
                     "readme_error": spec.readme_error, "best_prec1": spec.best_prec1,
                     "params": spec.params, "url": spec.url,
                     "found": where})  # fmt: skip
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    header = ("network", "file", "sha256", "README error", "best_prec1", "found at")
    table = [(r["name"], r["file"], r["sha256"][:12] + "...", f"{r['readme_error']:.2f}%",
              f"{r['best_prec1']:.2f}%", r["found"]) for r in rows]  # fmt: skip
    widths = [max(len(t[i]) for t in [header, *table]) for i in range(5)]
    fmt = "  ".join(f"{{:{'>' if i >= 3 else '<'}{w}}}" for i, w in enumerate(widths)) + "  {}"
    print(fmt.format(*header))
    for row in table:
        print(fmt.format(*row))
    base = next(iter(PRETRAINED.values())).url.rsplit("/", 1)[0]
    print(f"""
Trained on the original CIFAR-10 by Yerlan Idelbayev (akamaster/pytorch_resnet_cifar10), 200 epochs.
On the original test set: README error from the publisher's README table; best_prec1, the accuracy
stored in each file, is the best epoch's, while the weights are the last epoch's. The lossy shared copy
costs about 10 points.
BSD 2-clause licence: keep its notice with any copy. Download address: {base}/<file>
Load one with ecg_lib.pretrained.load_pretrained(name).""")
    return 0


def _add_pretrained(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("pretrained", help="list the trained CIFAR-10 ResNets with their provenance")
    p.add_argument("--path", default=None, help="folder holding the weight files (default: the search order)")
    p.add_argument("--download", action="store_true", help="download files that are not found (when online)")
    p.add_argument("--json", action="store_true", help="print a JSON list instead of a table")
    p.set_defaults(func=_cmd_pretrained)


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
    _add_models(sub)
    _add_summary(sub)
    _add_train(sub)
    from ecg_lib.reproduce import add_parser as add_reproduce_parser

    add_reproduce_parser(sub)
    _add_pretrained(sub)
    _add_history(sub)
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
