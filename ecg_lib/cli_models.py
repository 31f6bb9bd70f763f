"""The command line's listing commands: ``models`` (every registered model with parameters and MACs),
``summary`` (one model's per-layer table) and ``pretrained`` (the trained CIFAR-10 ResNets and where their
files are), with the ``--option KEY=VALUE`` parser ``train`` shares. Each builds its models on the meta
device, so nothing is allocated or initialised."""

from __future__ import annotations

import argparse
import ast
import json
import math
import sys

__all__ = ["add_models", "add_pretrained", "add_summary", "build_meta", "parse_options"]


def parse_options(items: list[str]) -> dict[str, object]:
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


def build_meta(name: str, num_classes: int | None = None, **options):
    """Build a registered model on the meta device: shapes only, no memory or init time for weights."""
    import torch

    from ecg_lib.models import get_model

    with torch.device("meta"):
        return get_model(name, num_classes, **options)


def _print_table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> None:
    """Six text columns (``models``, ``pretrained``): the first five padded to their widest cell, the fourth
    and fifth (numbers) right-aligned, the last (free text) as it is."""
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(5)]
    fmt = "  ".join(f"{{:{'>' if i in (3, 4) else '<'}{w}}}" for i, w in enumerate(widths)) + "  {}"
    for row in (header, *rows):
        print(fmt.format(*row))


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
            model = build_meta(name)
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
    _print_table(header, table)
    print("\nMACs: multiply-accumulates for one image at the model's native input size (what the papers")
    print("call FLOPs); FLOPs counting a multiply and an add separately are twice as many.")
    return 1 if failed else 0


def add_models(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("models", help="list registered models with parameters and MACs")
    p.add_argument("--family", help="only this family (alexnet, vgg, nin, googlenet, resnet)")
    p.add_argument("--json", action="store_true", help="print a JSON list instead of a table")
    p.set_defaults(func=_cmd_models)


def _cmd_summary(args: argparse.Namespace) -> int:
    from ecg_lib.counting import parse_input_size, summarize
    from ecg_lib.models import model_spec

    try:
        spec = model_spec(args.name)
        options = parse_options(args.option)
        size = parse_input_size(args.input) if args.input else spec.input_size
        model = build_meta(args.name, args.num_classes, **options)
        summary = summarize(model, size, name=args.name)
    except (KeyError, ValueError, TypeError, OverflowError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(summary.to_json() if args.json else summary.to_text())
    return 0


def add_summary(sub: argparse._SubParsersAction) -> None:
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
    _print_table(header, table)
    base = next(iter(PRETRAINED.values())).url.rsplit("/", 1)[0]
    print(f"""
Trained on the original CIFAR-10 by Yerlan Idelbayev (akamaster/pytorch_resnet_cifar10), 200 epochs.
On the original test set: README error from the publisher's README table; best_prec1, the accuracy
stored in each file, is the best epoch's, while the weights are the last epoch's. The lossy shared copy
costs about 10 points.
BSD 2-clause licence: keep its notice with any copy. Download address: {base}/<file>
Load one with ecg_lib.pretrained.load_pretrained(name).""")
    return 0


def add_pretrained(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("pretrained", help="list the trained CIFAR-10 ResNets with their provenance")
    p.add_argument("--path", default=None, help="folder holding the weight files (default: the search order)")
    p.add_argument("--download", action="store_true", help="download files that are not found (when online)")
    p.add_argument("--json", action="store_true", help="print a JSON list instead of a table")
    p.set_defaults(func=_cmd_pretrained)
