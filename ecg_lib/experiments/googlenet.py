"""The GoogLeNet chapter: the cost of Inception modules with and without their 1x1 reductions, the
network's totals against the paper's Table 1, and CIFAR-10 training of the CIFAR-sized GoogLeNet.

This module is the chapter's entry point (``reproduce`` and the notebook import it): it holds the
registry :data:`EXPERIMENTS` and the departures from the paper, and re-exports every public name of the
sibling modules that compute:

* :mod:`~ecg_lib.experiments.googlenet_inception`: one Inception module's cost, with and without its
  reductions, branch by branch (:func:`branch_savings`, :func:`reduction_sweep`, :func:`break_even_width`).
* :mod:`~ecg_lib.experiments.googlenet_network`: the whole network against Table 1, its depth and totals,
  torchvision's GoogLeNet, and the ``counts`` experiment.
* :mod:`~ecg_lib.experiments.googlenet_training`: :data:`SETTINGS` and the ``train`` experiment
  (:func:`cifar_experiment`).

Every count comes from modules built by :mod:`ecg_lib.models.googlenet` and counted by
:mod:`ecg_lib.counting` on the meta device (shapes only, so counting is instant and allocates nothing).
Units as in the paper: Table 1's ``params`` column counts weights without biases in units of 1024
(conv2: 64 x 64 + 9 x 64 x 192 = 114,688 = 112 x 1024), its ``ops`` column multiply-adds (MACs) in
millions. :class:`Cost` keeps weights, parameters (weights and biases) and MACs apart.
"""

from __future__ import annotations

from ecg_lib.experiments import seeded
from ecg_lib.experiments.googlenet_inception import (
    BRANCHES,
    ZERO,
    BranchSaving,
    Cost,
    ModuleSaving,
    branch_savings,
    break_even_width,
    inception_cost,
    inception_inputs,
    module_cost,
    reduced_weight_share,
    reduction_sweep,
    table1_row,
)
from ecg_lib.experiments.googlenet_network import (
    NetworkFacts,
    Table1Line,
    counts_experiment,
    naive_stack,
    network_facts,
    separable_conv1_cost,
    table1_comparison,
    torchvision_googlenet,
)
from ecg_lib.experiments.googlenet_training import SETTINGS, Settings, cifar_experiment, init_signal_growth

__all__ = [
    "BRANCHES", "EXPERIMENTS", "SETTINGS", "STANDARD_DEPARTURES", "ZERO", "BranchSaving", "Cost",
    "ModuleSaving", "NetworkFacts", "Settings", "Table1Line", "branch_savings", "break_even_width",
    "cifar_experiment", "counts_experiment", "inception_cost", "inception_inputs", "init_signal_growth",
    "module_cost", "naive_stack", "network_facts", "reduced_weight_share", "reduction_sweep",
    "separable_conv1_cost", "table1_comparison", "table1_row", "torchvision_googlenet",
]  # fmt: skip

#: How the standard-profile experiment departs from the paper, and why (printed under the archived run).
STANDARD_DEPARTURES: dict[str, str] = {
    "train": (
        "The paper has no CIFAR-10 experiment: it trains on ImageNet at 224x224 with asynchronous SGD, "
        "momentum 0.9 and the rate lowered by 4% every 8 epochs (Sec. 6), adding the auxiliary "
        "classifiers' losses with weight 0.3 (Sec. 5). Here the book's CIFAR-sized GoogLeNet (the nine "
        "inception modules after a stem for 32x32 inputs) at half the widths, on all of CIFAR-10 for 4 "
        "epochs of SGD (lr 0.05, weight decay 5e-4), with the auxiliary heads at weight 0.3 and without "
        "them, two seeds each: to see whether the network trains and to measure the heads' effect on a "
        "short run. The paper adds the heads to strengthen the gradient that reaches the lower layers "
        "and as a regulariser (Sec. 5)."
    ),
}


# train_seed1: the second seed of the aux/no-aux difference (issue 13: at least 2 seeds per difference)
EXPERIMENTS = {"counts": counts_experiment, "train": cifar_experiment,
               "train_seed1": seeded(cifar_experiment, SETTINGS, 1)}  # fmt: skip
