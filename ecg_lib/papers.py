"""Facts from the five papers, each with the table or section it comes from.

The book's introduction draws its figure from :data:`NETWORKS`; the chapters quote the same records in
their "paper vs. this book" tables. Errors are fractions in [0, 1], like everywhere in the library.

Two things are easy to mix up when reading these numbers, so each record keeps them apart:

* **Entry vs. single model.** Every ILSVRC winner here was an *ensemble*: AlexNet's 15.3% averages seven
  CNNs, GoogLeNet's 6.67% seven models over 144 crops each, ResNet's 3.57% six models. A single network
  of the architecture is always worse; :attr:`Network.single_model` gives the paper's best single-model
  figure where it reports one.
* **Validation vs. test.** The challenge's test labels are private, so single-model results are mostly
  on the validation set and entries on the test set (reported by the organisers' server).

"Depth" counts weight layers (convolutions and fully connected layers) on the longest path from input to
output, the way every one of these papers counts it: pooling, normalisation and the parallel branches of
an Inception module or a projection shortcut do not add depth. ``tests/test_papers.py`` measures the same
number on the registry models.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = [
    "CIFAR_RESNET_1202",
    "NETWORKS",
    "PAPERS",
    "CifarResult",
    "Network",
    "Paper",
    "TopFive",
    "network",
]


@dataclass(frozen=True)
class Paper:
    """One of the five papers. ``key`` is its citation key in ``references.bib``."""

    key: str
    title: str
    venue: str
    year: int


@dataclass(frozen=True)
class TopFive:
    """An ImageNet (ILSVRC) top-5 classification error as the paper reports it."""

    error: float
    split: Literal["val", "test"]
    models: int  # networks averaged: 1 is a single model, more is an ensemble
    protocol: str  # what was averaged or cropped at test time
    source: str  # table or section of the paper

    @property
    def is_ensemble(self) -> bool:
        return self.models > 1


@dataclass(frozen=True)
class Network:
    """A network of one paper, as drawn in the introduction's figure.

    ``model`` is the name in the library's registry (``ecg_lib.models``); ``depth`` is the number of
    weight layers the paper states, on the longest input-to-output path.
    """

    name: str
    model: str
    paper: str
    ilsvrc_year: int | None  # year of the ILSVRC the network took part in; None if it did not
    depth: int
    depth_source: str
    entry: TopFive | None  # the team's ILSVRC classification entry
    single_model: TopFive | None  # the paper's best single network of this architecture
    note: str = ""


PAPERS: dict[str, Paper] = {
    p.key: p
    for p in (
        Paper(
            "krizhevsky2012imagenet",
            "ImageNet Classification with Deep Convolutional Neural Networks",
            "NIPS",
            2012,
        ),
        Paper("lin2014network", "Network In Network", "ICLR", 2014),
        Paper(
            "simonyan2015very",
            "Very Deep Convolutional Networks for Large-Scale Image Recognition",
            "ICLR",
            2015,
        ),
        Paper("szegedy2015going", "Going Deeper with Convolutions", "CVPR", 2015),
        Paper("he2016deep", "Deep Residual Learning for Image Recognition", "CVPR", 2016),
    )
}

_VGG_ENTRY = TopFive(
    0.073,
    "test",
    7,
    "ILSVRC-2014 submission: 7 nets (configurations C, D and E), dense evaluation; 2nd place. After the "
    "challenge, 2 nets (D and E) with dense + multi-crop evaluation reached 6.8%",
    "Simonyan & Zisserman 2015, Sec. 4.5 and Table 7 (also Table 6)",
)

NETWORKS: tuple[Network, ...] = (
    Network(
        name="AlexNet",
        model="alexnet",
        paper="krizhevsky2012imagenet",
        ilsvrc_year=2012,
        depth=8,
        depth_source="Krizhevsky et al. 2012, Sec. 3: five convolutional and three fully-connected layers",
        entry=TopFive(
            0.153,
            "test",
            7,
            "average of 7 CNNs, two of them pre-trained on ImageNet Fall 2011 with a sixth conv layer; "
            "without extra data, 5 CNNs reach 16.4%",
            "Krizhevsky et al. 2012, Table 2 and Sec. 6",
        ),
        single_model=TopFive(
            0.182, "val", 1, "one CNN, 10 patches (corners, centre, flips)", "Krizhevsky et al. 2012, Table 2"
        ),
    ),
    Network(
        name="NIN",
        model="nin_cifar",
        paper="lin2014network",
        ilsvrc_year=None,
        depth=9,
        depth_source="Lin et al. 2014, Fig. 2 and Sec. 4.1: three mlpconv layers; in the authors' released "
        "CIFAR-10 model each is one spatial convolution followed by two 1x1 convolutions",
        entry=None,
        single_model=None,
        note="The paper reports CIFAR-10/100, SVHN and MNIST only (CIFAR-10: 10.41% test error, 8.81% with "
        "augmentation, Table 1); it gives no ImageNet result. An ImageNet NIN was published later in the "
        "Caffe model zoo, outside the paper, so no ILSVRC figure is quoted for it here.",
    ),
    Network(
        name="VGG-16",
        model="vgg_d",
        paper="simonyan2015very",
        ilsvrc_year=2014,
        depth=16,
        depth_source="Simonyan & Zisserman 2015, Table 1, configuration D",
        entry=_VGG_ENTRY,
        single_model=TopFive(
            0.075,
            "val",
            1,
            "trained at S in [256, 512], dense evaluation at Q = 256, 384, 512",
            "Simonyan & Zisserman 2015, Table 4",
        ),
    ),
    Network(
        name="VGG-19",
        model="vgg_e",
        paper="simonyan2015very",
        ilsvrc_year=2014,
        depth=19,
        depth_source="Simonyan & Zisserman 2015, Table 1, configuration E",
        entry=_VGG_ENTRY,
        single_model=TopFive(
            0.071,
            "val",
            1,
            "configuration E, multi-scale training, dense + multi-crop evaluation (7.0% on the test set)",
            "Simonyan & Zisserman 2015, Table 5 and Table 7",
        ),
        note="This single network beats the team's 7-net entry: it was trained with scale jittering after "
        "the submission, which used mostly single-scale networks (Sec. 4.4).",
    ),
    Network(
        name="GoogLeNet",
        model="googlenet",
        paper="szegedy2015going",
        ilsvrc_year=2014,
        depth=22,
        depth_source="Szegedy et al. 2015, Sec. 5: 22 layers deep counting only layers with parameters "
        "(27 with pooling)",
        entry=TopFive(
            0.0667,
            "test",
            7,
            "7 models, 144 crops per image, softmax averaged; 6.67% on validation and test; 1st place",
            "Szegedy et al. 2015, Sec. 7 and Tables 2-3",
        ),
        single_model=TopFive(
            0.1007, "val", 1, "one model, one crop (7.89% with 144 crops)", "Szegedy et al. 2015, Table 3"
        ),
    ),
    Network(
        name="ResNet-152",
        model="resnet152",
        paper="he2016deep",
        ilsvrc_year=2015,
        depth=152,
        depth_source="He et al. 2016, Table 1 (152-layer column)",
        entry=TopFive(
            0.0357,
            "test",
            6,
            "6 models of different depth (two of them 152-layer at submission time); 1st place",
            "He et al. 2016, Table 5 and Sec. 4.1",
        ),
        single_model=TopFive(
            0.0449,
            "val",
            1,
            "ResNet-152, fully-convolutional multi-scale testing (5.71% with 10-crop testing, Table 3)",
            "He et al. 2016, Table 4",
        ),
    ),
)


@dataclass(frozen=True)
class CifarResult:
    """A CIFAR-10 test error from a paper."""

    model: str
    depth: int
    params: float  # parameters in millions, as the paper prints them
    error: float  # the paper's reported (best) test error
    mean: float | None  # mean over runs where the paper gives one
    std: float | None
    source: str


#: The ResNet authors' note on depth beyond need: a 1202-layer CIFAR-10 ResNet trains to under 0.1%
#: training error, yet tests worse than the 110-layer one; they attribute it to overfitting a network
#: far larger (19.4M parameters) than the 50k-image dataset calls for.
CIFAR_RESNET_1202: tuple[CifarResult, CifarResult] = (
    CifarResult("resnet110", 110, 1.7, 0.0643, 0.0661, 0.0016, "He et al. 2016, Table 6 (best of 5 runs)"),
    CifarResult("resnet1202", 1202, 19.4, 0.0793, None, None, "He et al. 2016, Table 6 and Sec. 4.2"),
)


def network(name_or_model: str) -> Network:
    """The record for a network by display name (``"VGG-19"``) or registry name (``"vgg_e"``)."""
    for net in NETWORKS:
        if name_or_model in (net.name, net.model):
            return net
    known = ", ".join(f"{n.name} ({n.model})" for n in NETWORKS)
    raise KeyError(f"No paper record for {name_or_model!r}. Known networks: {known}.")


# ----------------------------------------------------------------------------------------------------------
# Figures the chapters quote, one section per chapter, each value with its source (paper, table/section).
# Errors are fractions; counts are plain numbers.

# --- AlexNet (Krizhevsky et al. 2012)

# --- VGG (Simonyan & Zisserman 2015)

# --- Network in Network (Lin et al. 2014)

# --- GoogLeNet (Szegedy et al. 2015)

# --- ResNet (He et al. 2016)

#: Table 1, last row: "FLOPs" of the ImageNet ResNets by depth, in units of 10^9 multiply-adds (MACs; the
#: paper counts a multiply-add as one FLOP, Sec. 3.3).
RESNET_TABLE1_GMACS: dict[int, float] = {18: 1.8, 34: 3.6, 50: 3.8, 101: 7.6, 152: 11.3}

#: VGG-16/19 in the same unit, as the ResNet paper quotes them to compare complexity (He et al. 2016,
#: Sec. 3.3 and 4.1: "15.3/19.6 billion FLOPs").
RESNET_VGG_GMACS: dict[int, float] = {16: 15.3, 19: 19.6}

#: Table 6: (parameters in millions, CIFAR-10 test error) of the residual nets by depth. The 110-layer
#: figure is the best of 5 runs (their mean is 6.61 +- 0.16%); the others are single runs.
RESNET_TABLE6: dict[int, tuple[float, float]] = {
    20: (0.27, 0.0875),
    32: (0.46, 0.0751),
    44: (0.66, 0.0717),
    56: (0.85, 0.0697),
    110: (1.7, 0.0643),
    1202: (19.4, 0.0793),
}

# --- Comparison chapter (figures of several papers side by side)


@dataclass(frozen=True)
class CifarFigure:
    """A CIFAR-10 test error a paper reports for (the closest relative of) a network of the comparison
    chapter's race."""

    error: float
    paper: str  # citation key
    source: str  # table or section
    note: str = ""


#: The CIFAR-10 figure each paper reports for its race network (registry name). VGG and GoogLeNet report
#: no CIFAR-10 result: the chapter says so instead of quoting one.
COMPARISON_CIFAR: dict[str, CifarFigure] = {
    "alexnet_cifar": CifarFigure(
        0.13, "krizhevsky2012imagenet", "Sec. 3.3",
        "a four-layer CNN without response normalization (11% with it); the paper gives no layer sizes",
    ),
    "nin_cifar": CifarFigure(
        0.0881, "lin2014network", "Table 1", "NIN + dropout + augmentation (10.41% without augmentation)"
    ),
    "resnet20": CifarFigure(0.0875, "he2016deep", "Table 6", "164 epochs (64k iterations) of SGD"),
}  # fmt: skip
