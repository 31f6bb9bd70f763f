"""The ResNet chapter: the degradation problem and residual learning on CIFAR-10 (He et al., 2016,
Figure 6), gradient norms of plain and residual nets, the lesion study of Veit et al. (2016), and the
arithmetic of the bottleneck block and of the paper's Tables 1 and 6.

Counts come from modules built by :mod:`ecg_lib.models.resnet` and counted by :mod:`ecg_lib.counting`
on the meta device. Training goes through :func:`ecg_lib.train.fit`; every setting is declared per profile
in :data:`SETTINGS` (the caller passes the resolved profile, see :mod:`ecg_lib.profiles`):

* quick (a 2-core CPU, under 4 minutes for the whole chapter): 2,000 training and 500 test images,
  189 optimisation steps, a short linear warmup and cosine decay; enough to see plain-56 train worse
  than plain-20 and the shortcuts remove most of that gap, not enough to see ResNet-56 overtake
  ResNet-20;
* full (a GPU): all of CIFAR-10 and the paper's schedule (Sec. 4.2: batch 128, learning rate 0.1 divided
  by 10 at 32k and 48k iterations, 64k iterations, weight decay 1e-4, momentum 0.9), for the depths of
  Figure 6.

What the chapter shows (plots, tables, paragraphs) is drawn by :mod:`ecg_lib.chapters.resnet`; the paper's
figures are in :mod:`ecg_lib.papers` (ResNet section).

The code lives in sibling modules, re-exported here so that ``from ecg_lib.experiments import resnet``
reaches every name: :mod:`~ecg_lib.experiments.resnet_tables` (the counted tables),
:mod:`~ecg_lib.experiments.resnet_depth` (the settings, :class:`DepthRun` and the trained experiments),
:mod:`~ecg_lib.experiments.resnet_probes` (the teaching probes) and :mod:`~ecg_lib.experiments.lesions`
(the lesion study, shared with the trained reference networks of :mod:`ecg_lib.experiments.reference`).
This module holds what belongs to the chapter as a whole: :data:`STANDARD_DEPARTURES` and
:data:`EXPERIMENTS`.
"""

from __future__ import annotations

from collections.abc import Callable

from ecg_lib.experiments import ExperimentResult, reference, seeded
from ecg_lib.experiments.lesions import Lesion, LesionSummary, lesion_study, lesions_of
from ecg_lib.experiments.resnet_depth import (
    DEEPER_SETTINGS,
    SETTINGS,
    DeeperSettings,
    DepthRun,
    DepthSettings,
    LayerGrad,
    TwinNets,
    deeper_experiment,
    depth_data,
    depth_experiment,
    gradient_norms,
    grads_of,
    initial_model,
    training_curve,
    twin_nets,
)
from ecg_lib.experiments.resnet_probes import (
    BranchLinearity,
    IdentityGrad,
    ShortcutRun,
    SignalProbe,
    batchnorm_probe,
    branch_linearity,
    identity_gradient,
    shortcut_run,
    signal_probe,
    without_batchnorm,
)
from ecg_lib.experiments.resnet_tables import (
    BlockCost,
    CifarRow,
    ImageNetRow,
    ShortcutOption,
    bottleneck_comparison,
    shortcut_options,
    table1_rows,
    table6_rows,
    tables_experiment,
    torchvision_resnet50,
    vgg_macs,
)

__all__ = [
    "DEEPER_SETTINGS",
    "EXPERIMENTS",
    "SETTINGS",
    "STANDARD_DEPARTURES",
    "BlockCost",
    "BranchLinearity",
    "CifarRow",
    "DeeperSettings",
    "DepthRun",
    "DepthSettings",
    "IdentityGrad",
    "ImageNetRow",
    "LayerGrad",
    "Lesion",
    "LesionSummary",
    "ShortcutOption",
    "ShortcutRun",
    "SignalProbe",
    "TwinNets",
    "batchnorm_probe",
    "bottleneck_comparison",
    "branch_linearity",
    "deeper_experiment",
    "depth_data",
    "depth_experiment",
    "gradient_norms",
    "grads_of",
    "identity_gradient",
    "initial_model",
    "lesion_study",
    "lesions_of",
    "shortcut_options",
    "shortcut_run",
    "signal_probe",
    "table1_rows",
    "table6_rows",
    "tables_experiment",
    "torchvision_resnet50",
    "training_curve",
    "twin_nets",
    "vgg_macs",
    "without_batchnorm",
]


#: How each standard-profile experiment departs from the paper, and why (printed under the archived run;
#: the reference networks' entries come from :mod:`ecg_lib.experiments.reference`).
STANDARD_DEPARTURES: dict[str, str] = {
    "depth": (
        "Figure 6 trains each net for 164 epochs with crops and flips, lr 0.1 divided by 10 twice and "
        "weight decay 1e-4 (Sec. 4.2). Here the four nets that carry its two claims (plain-20/56, "
        "ResNet-20/56) train for 5 epochs on all of CIFAR-10 with the short-budget recipe (lr 0.2, "
        "Nesterov momentum, linear warmup and decay, weight decay 5e-4, no augmentation), all four alike "
        "and two seeds each. What is kept is the comparison itself: the same schedule for all four and "
        "equal depths with and without shortcuts. Five epochs is far from the paper's final errors; the "
        "claims tested are the order of the four curves, which a short run can show or fail to show."
    ),
    "depth110": (
        "Table 6 trains ResNet-56 and ResNet-110 for 164 epochs with crops and flips and warms ResNet-110 "
        "up at lr 0.01 for about 400 iterations (Sec. 4.2). Here both train for 5 epochs on all of "
        "CIFAR-10 with the depth study's short-budget recipe (lr 0.2, Nesterov momentum, a linear warmup "
        "over the first fifth of the run for both, weight decay 5e-4, no augmentation), one seed per "
        "archive (the second in depth110_seed1). The "
        "paper's difference (0.54 points of test error) is below what two error rates on 10,000 images "
        "can show (about 1.1 points at 2 SE), so each net's per-image correctness is kept and the two are "
        "compared paired, image by image."
    ),
    **reference.STANDARD_DEPARTURES,
}


# The trained reference networks (ecg_lib.experiments.reference) are registered here, not as a chapter of
# their own: the ResNet chapter is the page that shows them, so `reproduce resnet` regenerates everything
# it shows and their archives sit in results/resnet/, where the chapter looks for them.
EXPERIMENTS: dict[str, Callable[..., ExperimentResult]] = {
    "tables": tables_experiment,
    "depth": depth_experiment,
    # the second seed of the depth comparison (issue 13: at least 2 seeds per difference)
    "depth_seed1": seeded(depth_experiment, SETTINGS, 1),
    # ResNet-110 against ResNet-56, the deciding run of "deeper is better" (issue 23), two seeds
    "depth110": deeper_experiment,
    "depth110_seed1": seeded(deeper_experiment, DEEPER_SETTINGS, 1),
    "reference_depth": reference.error_vs_depth_experiment,
    "reference_lesions": reference.lesion_experiment,
    "reference_block_stats": reference.block_stats_experiment,
}
