"""The comparison chapter: the five ImageNet networks side by side, and a CIFAR-10 race of their
CIFAR-sized versions under one training budget.

* :func:`landmarks` measures each ImageNet network of the papers from the library (depth, parameters,
  multiply-adds, receptive field of its last convolution) and pairs it with the paper's top-5 error.
* :func:`race` trains the CIFAR-sized network of each family with one recipe and one budget
  (:data:`SETTINGS`, one entry per profile): the same training time per network where the profile sets
  ``seconds_per_net`` (the quick profile, a CPU), enforced after every optimisation step by
  :func:`ecg_lib.train.fit` (``Until(seconds=...)``); the same number of epochs on the whole of CIFAR-10
  where it does not (the full profile, a GPU).
  ``race_seed0``, ``race_seed1`` and ``race_seed2`` are separate experiments so that each seed is
  archived on its own (a time-limited GPU session keeps what finished); the chapter runs ``race_seed0``
  live and :func:`race_summary` pools the archived seeds. What a network does with a timed budget (steps,
  images seen, error) depends on the machine and its load; its training time does not, beyond one step.

Depth and receptive field are measured on the network's computation itself (:func:`ecg_lib.tracing.trace`,
re-exported here), not read from a list of layers, so Inception branches and residual shortcuts count the
way the papers count them.
What the chapter shows is drawn by :mod:`ecg_lib.chapters.comparison`; the papers' CIFAR-10 figures are
in :mod:`ecg_lib.papers` (comparison section). The race lives in
:mod:`ecg_lib.experiments.comparison_race` and is re-exported here.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from ecg_lib import papers
from ecg_lib.counting import count_macs, count_params, layer_table
from ecg_lib.experiments.comparison_race import (
    EXPERIMENTS,
    RACE_MODELS,
    SETTINGS,
    STANDARD_DEPARTURES,
    BatchNormRerun,
    RaceModel,
    RaceRow,
    RaceSettings,
    _race_data,  # noqa: F401  (the old path of these private names, for tests and pages)
    _recipe,  # noqa: F401
    race,
    race_curve,
    race_models,
    race_summary,
    reference_errors,
    rerun_with_batch_norm,
    train_for_time,
)
from ecg_lib.models import get_model, model_spec
from ecg_lib.tracing import Trace, trace

__all__ = [
    "EXPERIMENTS",
    "RACE_MODELS",
    "SETTINGS",
    "STANDARD_DEPARTURES",
    "BatchNormRerun",
    "Landmark",
    "RaceModel",
    "RaceRow",
    "RaceSettings",
    "Trace",
    "conv_macs",
    "landmarks",
    "race",
    "race_curve",
    "race_models",
    "race_summary",
    "reference_errors",
    "rerun_with_batch_norm",
    "trace",
    "train_for_time",
]

# ----------------------------------------------------------------------------------------------------------
# The five ImageNet networks


@dataclass(frozen=True)
class Landmark:
    """One ImageNet network: the paper's facts next to what the library measures on its model."""

    name: str
    model: str  # registry name of the ImageNet model measured
    paper: str  # citation key
    year: int  # the ILSVRC it entered, else the paper's year
    paper_depth: int | None  # depth as the paper states it, for its ImageNet network (None: no such net)
    depth: int  # measured: weight layers on the longest path
    params: int
    macs: int  # at ``input_size``
    input_size: tuple[int, int, int]
    receptive_field: int  # of the last convolution, in input pixels
    single_model: papers.TopFive | None  # the paper's best single network (top-5 error)
    entry: papers.TopFive | None  # the team's ILSVRC entry (an ensemble)
    fc_params: int  # parameters of the fully connected layers
    trace: Trace  # kernels, activations, joins, head: what carried forward (see the chapter)

    @property
    def fc_share(self) -> float:
        """Fraction of the parameters in fully connected layers."""
        return self.fc_params / self.params


# NIN's paper has no ImageNet network; the library's `nin` is the authors' later Caffe Model Zoo model.
_LANDMARK_MODELS = {"NIN": "nin"}


def landmarks() -> list[Landmark]:
    """The networks of :data:`ecg_lib.papers.NETWORKS`, each measured at its native ImageNet input
    (224 x 224; 227 x 227 for AlexNet, whose conv1 arithmetic needs 227 although the paper says 224)."""
    rows = []
    for net in papers.NETWORKS:
        name = _LANDMARK_MODELS.get(net.name, net.model)
        spec = model_spec(name)
        with torch.device("meta"):
            model = get_model(name)
        t = trace(model, spec.input_size)
        rows.append(Landmark(
            name=net.name, model=name, paper=net.paper,
            year=net.ilsvrc_year or papers.PAPERS[net.paper].year,
            paper_depth=net.depth if name == net.model else None,
            depth=t.depth, params=count_params(model), macs=count_macs(model, spec.input_size),
            input_size=spec.input_size, receptive_field=t.receptive_field,
            single_model=net.single_model, entry=net.entry,
            fc_params=sum(count_params(m) for m in model.modules() if isinstance(m, nn.Linear)), trace=t,
        ))  # fmt: skip
    return rows


def conv_macs(name: str) -> int:
    """Multiply-adds of the convolutions alone of registry model ``name`` at its native input (papers
    sometimes quote these without the fully connected layers)."""
    with torch.device("meta"):
        model = get_model(name)
    return sum(r.macs for r in layer_table(model, model_spec(name).input_size) if r.kind == "Conv2d")
