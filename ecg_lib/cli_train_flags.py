"""``train``'s flags, derived from :class:`~ecg_lib.train.TrainConfig` (fields, defaults, choices), and
the config the parsed flags describe, with the check that ``--recipe`` overrides no flag that was given."""

from __future__ import annotations

import argparse

__all__ = ["add_config_flags", "config_from_args"]

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


def add_config_flags(p: argparse.ArgumentParser) -> None:
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


def config_from_args(args: argparse.Namespace):
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
