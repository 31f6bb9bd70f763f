"""Command line: ``python -m ecg_lib {models,summary,train,reproduce}``.

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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m ecg_lib", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    # one _add_<command>(sub) per sub-command
    _add_models(sub)
    _add_summary(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
