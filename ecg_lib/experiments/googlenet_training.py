"""CIFAR-10 training of the CIFAR-sized GoogLeNet with and without the auxiliary classifiers: the settings
per profile (:data:`SETTINGS`), the ``train`` experiment (:func:`cifar_experiment`), and how the
initialisation's fan mode changes the signal from module to module. Re-exported by
:mod:`ecg_lib.experiments.googlenet`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import torch
from torch import nn

from ecg_lib.counting import count_macs, count_params
from ecg_lib.data import CIFAR10Data
from ecg_lib.experiments import ExperimentResult
from ecg_lib.experiments.googlenet_inception import _meta
from ecg_lib.experiments.settings import ExperimentSettings, resolve
from ecg_lib.models import get_model
from ecg_lib.models import googlenet as G
from ecg_lib.profiles import check_profile
from ecg_lib.train import NonFiniteLossError, RunContext, TrainConfig, fit, run_info

__all__ = ["SETTINGS", "Settings", "cifar_experiment", "init_signal_growth"]

def init_signal_growth(mode: str, width: float = 0.25, batch: int = 8, seed: int = 0) -> dict[str, float]:
    """Standard deviation of each Inception module's output at initialisation, relative to (3a)'s,
    for ``googlenet_cifar`` with its convolutions drawn from He et al.'s normal init in ``mode``
    (``"fan_in"``, the library's choice, or ``"fan_out"``), on a batch of standard-normal images."""
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"mode must be 'fan_in' or 'fan_out' (got {mode!r}).")
    torch.manual_seed(seed)
    model = G.googlenet_cifar(width=width).eval()
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode=mode, nonlinearity="relu")
    spread: dict[str, float] = {}
    hooks = [
        module.register_forward_hook(lambda _m, _i, out, n=name: spread.__setitem__(n, float(out.std())))
        for name, module in model.inception.items()
    ]
    with torch.no_grad():
        model(torch.randn(batch, 3, 32, 32))
    for h in hooks:
        h.remove()
    return {name: v / spread["3a"] for name, v in spread.items()}


@dataclass(frozen=True)
class Settings(ExperimentSettings):
    """One profile's CIFAR-10 run of ``googlenet_cifar``.

    ``train``: the :class:`~ecg_lib.train.TrainConfig` of every variant; its ``seed`` also seeds the
    model's initial weights and the choice of the subset, and its ``max_time_s`` is the training-time
    budget per variant (a run stops after the epoch that reaches it). ``variants``: ``"aux"`` trains
    with the two auxiliary classifiers, their losses weighted by ``aux_weight`` (the paper's 0.3,
    Sec. 5); ``"no_aux"`` without them. Both are evaluated on the main classifier only.
    """

    width: float
    variants: tuple[str, ...] = ("aux",)
    aux_weight: float = G.AUX_LOSS_WEIGHT

    def __post_init__(self) -> None:
        unknown = [v for v in self.variants if v not in ("aux", "no_aux")]
        if unknown:
            raise ValueError(f"unknown variant(s) {', '.join(map(repr, unknown))}: use 'aux' or 'no_aux'.")

    def to_dict(self) -> dict[str, Any]:
        """JSON-able record of the settings (stored in the result's metrics)."""
        return {"width": self.width, "n_train_per_class": self.n_train_per_class,
                "n_test_per_class": self.n_test_per_class, "variants": list(self.variants),
                "aux_weight": self.aux_weight, "train": self.train.to_dict()}  # fmt: skip


# Quick: a quarter of the widths (24.8M instead of 392M multiply-adds per image), 4,000 training images
# and 1,000 test images, 6 short epochs (about 375 steps): the whole chapter in 4 minutes on 2 CPU
# cores. Without batch normalisation this network sits near chance for its first ~100 steps, so fewer
# steps would show nothing. The time budget guards slower machines; short epochs let it stop close to
# the budget. Full: full width, all of CIFAR-10, with and without the auxiliary classifiers. Both: SGD
# with momentum 0.9 and weight decay 5e-4, warmup-cosine schedule.
SETTINGS: dict[str, Settings] = {
    "quick": Settings(
        train=TrainConfig(epochs=6, batch_size=64, lr=0.05, weight_decay=5e-4, max_time_s=120, seed=0,
                          quiet=True),
        width=0.25, n_train_per_class=400, n_test_per_class=100,
    ),
    # Standard: half the widths (about a quarter of the cost) on all of CIFAR-10, with and without the
    # auxiliary classifiers, 4 epochs, no time budget: about 240 s per epoch on one core of the 2-core CPU,
    # so about half an hour for both.
    "standard": Settings(
        train=TrainConfig(epochs=4, batch_size=128, lr=0.05, weight_decay=5e-4, seed=0, quiet=True),
        width=0.5, n_train_per_class=None, n_test_per_class=None, variants=("aux", "no_aux"),
    ),
    "full": Settings(
        train=TrainConfig(epochs=40, batch_size=128, lr=0.05, weight_decay=5e-4, seed=0, quiet=True),
        width=1.0, n_train_per_class=None, n_test_per_class=None, variants=("aux", "no_aux"),
    ),
}  # fmt: skip

def cifar_experiment(
    data: CIFAR10Data | None = None, *, profile: str, settings: Settings | None = None,
    context: RunContext | None = None,
) -> ExperimentResult:
    """Train ``googlenet_cifar`` on CIFAR-10 with ``settings`` (default ``SETTINGS[profile]``); test
    error of every variant. ``profile``: the resolved profile, recorded in the result.

    The paper trains GoogLeNet with asynchronous SGD, momentum 0.9 and a learning rate cut by 4% every 8
    epochs on ImageNet; here it is synchronous SGD with momentum 0.9, weight decay and the library's
    warmup-cosine schedule, which reaches a usable network in the few epochs a CPU can afford.
    """
    check_profile(profile)
    s = resolve(settings, SETTINGS, profile)
    data = s.data_from(data, seed=s.seed)
    histories = {}
    for variant in s.variants:
        aux = variant == "aux"
        torch.manual_seed(s.seed)
        model = get_model("googlenet_cifar", width=s.width, aux_logits=aux)
        cfg = replace(s.train, aux_weight=s.aux_weight if aux else None)
        try:
            histories[variant] = fit(model, data, cfg, profile=profile, context=context)
        except NonFiniteLossError as exc:  # keep the curve up to the divergence; its test error is None
            histories[variant] = exc.history
    inference = _meta(get_model, "googlenet_cifar", width=s.width)
    metrics = {
        "settings": s.to_dict(),
        "test_error": {
            v: None if h.stopped == "non_finite" else h.final_test_error for v, h in histories.items()
        },
        "stopped": {v: h.stopped for v, h in histories.items()},
        "params": count_params(inference),
        "macs": count_macs(inference, (3, 32, 32)),
        "n_train": data.n_train,
        "n_test": data.n_test,
    }
    return ExperimentResult("train", profile, histories=histories, metrics=metrics,
                            run_info=run_info(data, profile=profile))  # fmt: skip
