"""Command line: ``python -m ecg_lib {models,summary,train,reproduce,pretrained}`` (also installed as the
``ecg`` command, which runs the same :func:`main`).

Each sub-command is a ``_cmd_<name>(args) -> int`` function; imports happen inside them so that
``--help`` stays fast.
"""

from __future__ import annotations

import argparse
import ast
import json
import sys


def _parse_options(items: list[str]) -> dict[str, object]:
    """``["config=D", "width=0.5", "batch_norm=True"]`` -> builder keyword arguments."""
    options: dict[str, object] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or not key.isidentifier():
            raise ValueError(f"--option takes KEY=VALUE, e.g. --option config=D (got {item!r}).")
        try:
            options[key] = ast.literal_eval(raw)
        except (ValueError, SyntaxError):
            options[key] = raw  # a bare word such as D or tanh is a string
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
    except (KeyError, ValueError, TypeError) as exc:
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
            p.add_argument(flag, dest=name, action="store_false" if default else "store_true",
                           help=help_text + (" off" if default else ""))  # fmt: skip
        elif name == "milestones":
            p.add_argument(flag, dest=name, type=_milestones, default=default, help=help_text)
        elif name in choices:
            shown = "none" if default is None else default
            p.add_argument(flag, dest=name, default=shown, choices=choices[name],
                           help=f"{help_text} (default: {shown})")  # fmt: skip
        else:
            kind = {"int": int, "float": float}.get(type(default).__name__, None)
            if kind is None:  # None defaults: the annotation says what the value is
                kind = float if "float" in str(f.type) else int if "int" in str(f.type) else str
                kind = _optional(kind)
            if "default" not in help_text:  # a help text that explains its default says it once
                help_text += f" (default: {default})"
            p.add_argument(flag, dest=name, type=kind, default=default, help=help_text)


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
    # a flag the recipe would override is an error, not silently lost (--lr 0.3 --recipe fast)
    defaults = TrainConfig()
    sets = recipe_fields(recipe, config)
    clash = [n for n, v in sets.items() if values[n] != getattr(defaults, n) and values[n] != v]
    if clash:
        flags = ", ".join(_FLAG_NAMES.get(n, "--" + n.replace("_", "-")) for n in clash)
        raise ValueError(f"--recipe {recipe} sets {', '.join(clash)} itself; drop {flags} or use "
                         "--recipe paper with your own values.")  # fmt: skip
    return apply_recipe(config, recipe)


def _check_paths(args: argparse.Namespace) -> None:
    """Output and checkpoint paths, checked before any data is loaded or any epoch trained: writable, not a
    folder, distinct, and never the checkpoint of another run (that is resumed with --resume, or deleted)."""
    from pathlib import Path

    from ecg_lib.atomic import check_writable

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
    if args.checkpoint and Path(args.checkpoint).exists():
        same = args.resume and Path(args.resume).resolve() == Path(args.checkpoint).resolve()
        if not same:
            raise ValueError(
                f"--checkpoint {args.checkpoint} already exists and would be overwritten by this run. "
                f"Continue that run with --resume {args.checkpoint}, or delete the file (or pick another "
                "path) to start a new one."
            )


def _cmd_train(args: argparse.Namespace) -> int:
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
        _check_paths(args)
        # the model is built before the data is loaded so that a bad option fails in a second, not after
        # decoding; the seed is set right before it so every rank and rerun starts from the same weights
        torch.manual_seed(args.seed)
        model = get_model(args.model, **options)
        data = load_cifar10(args.data)
        if n_train is not None or n_test is not None:
            data = data.subset(n_train, n_test, seed=args.seed)
    except (KeyError, ValueError, TypeError, DataError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\ninterrupted while loading CIFAR-10; nothing was cached, the next run decodes again.",
              file=sys.stderr)  # fmt: skip
        return 130
    checkpoint = args.checkpoint or args.resume
    try:
        history = fit(model, data, config, checkpoint=checkpoint, resume=args.resume, model_name=args.model,
                      model_options=options)  # fmt: skip
        history.info["recipe"] = args.recipe
    except NonFiniteLossError as exc:
        if args.out and distributed.current().is_main:
            exc.history.save(args.out)
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except (ValueError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        from pathlib import Path

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
        if args.out:
            history.info["command"] = "python -m ecg_lib " + " ".join(sys.argv[1:])
            history.save(args.out)
        print(f"{args.model}: {history.summary()}")
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
    p.add_argument("--option", action="append", default=[], metavar="KEY=VALUE",
                   help="model builder option, repeatable, e.g. --option activation=tanh")
    p.set_defaults(func=_cmd_train)  # fmt: skip


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
                     "reported_accuracy": spec.reported_accuracy, "params": spec.params, "url": spec.url,
                     "found": where})  # fmt: skip
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    header = ("network", "file", "sha256", "reported accuracy", "found at")
    table = [(r["name"], r["file"], r["sha256"][:12] + "...", f"{r['reported_accuracy']:.2f}%", r["found"])
             for r in rows]  # fmt: skip
    widths = [max(len(t[i]) for t in [header, *table]) for i in range(4)]
    fmt = "  ".join(f"{{:{'>' if i == 3 else '<'}{w}}}" for i, w in enumerate(widths)) + "  {}"
    print(fmt.format(*header))
    for row in table:
        print(fmt.format(*row))
    base = next(iter(PRETRAINED.values())).url.rsplit("/", 1)[0]
    print(f"""
Trained on the original CIFAR-10 by Yerlan Idelbayev (akamaster/pytorch_resnet_cifar10). Reported
accuracy: the publisher's, on the original test set (the lossy shared copy costs about 10 points).
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
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
