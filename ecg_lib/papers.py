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
    "ALEXNET_CLAIMS",
    "CIFAR_RESNET_1202",
    "COMPARISON_CIFAR",
    "GOOGLENET_AUX_WEIGHT",
    "GOOGLENET_BUDGET_MACS",
    "GOOGLENET_DEPTH_WITH_POOLS",
    "GOOGLENET_PARAM_RATIO",
    "GOOGLENET_TABLE1",
    "NETWORKS",
    "NIN_CIFAR10",
    "NIN_CIFAR10_PARAMS",
    "PAPERS",
    "RESNET_1202_TRAIN_ERROR_BELOW",
    "RESNET_TABLE1_GMACS",
    "RESNET_TABLE3",
    "RESNET_TABLE3_EXTRA_PROJECTIONS",
    "RESNET_TABLE6",
    "RESNET_VGG_GMACS",
    "VGG_EARLIER_FIRST_LAYERS",
    "VGG_STACK_EXTRA",
    "VGG_TABLE2_PARAMS_MILLIONS",
    "VGG_TABLE3",
    "CifarFigure",
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
    # The test-time views in a few words ("10 crops", "144 crops", "dense, 3 scales"): a single network's
    # error depends on them as much as on its architecture (GoogLeNet: 10.07% with 1 crop, 7.89% with
    # 144), so every single-network figure carries them and figures are compared like with like.
    views: str = ""

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
        # Table 2 has two single-CNN rows: "1 CNN" (18.2%, trained on ILSVRC-2012 alone: the network the
        # paper describes) and "1 CNN*" (16.6%, with a sixth convolutional layer, pre-trained on the
        # ImageNet Fall 2011 release and fine-tuned). The first is the architecture this book builds.
        single_model=TopFive(
            0.182, "val", 1,
            "one CNN of the paper's architecture trained on ILSVRC-2012 alone, 10 patches (corners, centre, "
            "flips); the paper's best single CNN, with a sixth conv layer and pre-trained on ImageNet Fall "
            "2011, reaches 16.6%",
            "Krizhevsky et al. 2012, Table 2 ('1 CNN'; '1 CNN*' for 16.6%)",
            views="10 crops",
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
            views="dense, 3 scales",
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
            views="dense + multi-crop",
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
        # Table 3's best single-model row: like the other networks' single-model figures it averages
        # many views of each image (its 1-crop row, 10.07%, is the cheapest protocol, not the best).
        single_model=TopFive(
            0.0789, "val", 1, "one model, 144 crops per image (10.07% with 1 crop, 9.15% with 10 crops)",
            "Szegedy et al. 2015, Table 3", views="144 crops",
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
            views="dense, multi-scale",
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


#: Sec. 4.2: the 1202-layer network reaches a training error "<0.1%" (an upper bound, as a fraction).
RESNET_1202_TRAIN_ERROR_BELOW = 0.001


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

#: Numbers the AlexNet chapter quotes, each with where the paper states it. Errors are fractions.
ALEXNET_CLAIMS: dict[str, dict[str, object]] = {
    # Figure 1: the ReLU net reaches 25% training error on CIFAR-10 six times faster than the tanh net
    "relu_speedup": {"value": 6.0, "target": 0.25, "source": "Krizhevsky et al. 2012, Sec. 3.1 and Figure 1"},
    "lrn_cifar_test_error": {"without": 0.13, "with": 0.11, "source": "Krizhevsky et al. 2012, Sec. 3.3"},
    "lrn_imagenet_gain": {"top1": 0.014, "top5": 0.012, "source": "Krizhevsky et al. 2012, Sec. 3.3"},
    "overlap_pool_gain": {"top1": 0.004, "top5": 0.003, "source": "Krizhevsky et al. 2012, Sec. 3.4"},
    "two_gpu_gain": {"top1": 0.017, "top5": 0.012,
                     "source": "Krizhevsky et al. 2012, Sec. 3.2 (vs. one GPU, half the kernels)"},
    "params": {"value": 60_000_000, "source": "Krizhevsky et al. 2012, Sec. 4 ('60 million parameters')"},
    "neurons": {"value": 650_000, "source": "Krizhevsky et al. 2012, Abstract ('650,000 neurons')"},
    # "the number of neurons in the network's remaining layers is given by ..."
    "neurons_per_layer": {"value": [253_440, 186_624, 64_896, 64_896, 43_264, 4096, 4096, 1000],
                          "source": "Krizhevsky et al. 2012, Figure 2 caption (Sec. 3.5)"},
    "input_dims": {"value": 150_528, "source": "Krizhevsky et al. 2012, Figure 2 caption (Sec. 3.5)"},
}  # fmt: skip

# --- VGG (Simonyan & Zisserman 2015)

#: Sec. 2.3: three 3x3 layers have 27C² weights, "a single 7x7 conv. layer would require 7²C² = 49C²
#: parameters, i.e. 81% more" (how much more the 7x7 layer needs, not how much the stack saves).
VGG_STACK_EXTRA = 0.81
#: Table 2 ("Number of parameters (in millions)") per configuration of Table 1, rounded as printed.
VGG_TABLE2_PARAMS_MILLIONS: dict[str, int] = {"A": 133, "A-LRN": 133, "B": 133, "C": 134, "D": 138, "E": 144}
#: Table 3 (single test scale; training scale S = 256 for C, D and E): (top-1, top-5) ImageNet validation
#: error per configuration of Table 1.
VGG_TABLE3: dict[str, tuple[float, float]] = {
    "A": (0.296, 0.104), "A-LRN": (0.297, 0.105), "B": (0.287, 0.099),
    "C": (0.281, 0.094), "D": (0.270, 0.088), "E": (0.273, 0.090),
}  # fmt: skip
#: Sec. 2.3: the first layers VGG moved away from, as (kernel, stride): AlexNet's conv1 (Krizhevsky et al.
#: 2012, Sec. 3.5), and the 7x7/2 conv1 of ZFNet (Zeiler & Fergus 2014) and OverFeat's accurate model
#: (Sermanet et al. 2014).
VGG_EARLIER_FIRST_LAYERS: dict[str, tuple[int, int]] = {
    "AlexNet conv1": (11, 4),
    "ZFNet / OverFeat conv1": (7, 2),
}

# --- Network in Network (Lin et al. 2014)

#: CIFAR-10 test error (fractions) of the NIN chapter's comparisons. Table 1: NIN + dropout, and with
#: translation and horizontal flipping augmentation; Table 5 (Sec. 4.6): the same mlpconv layers under
#: different heads, without augmentation.
NIN_CIFAR10: dict[str, float] = {
    "nin": 0.1041,  # Lin et al. 2014, Table 1, NIN + Dropout; also Table 5, global average pooling
    "nin_augmented": 0.0881,  # Lin et al. 2014, Table 1, NIN + Dropout + Augmentation
    "fc": 0.1159,  # Lin et al. 2014, Table 5, mlpconv + fully connected
    "fc_dropout": 0.1088,  # Lin et al. 2014, Table 5, mlpconv + fully connected + dropout
}
#: Parameters of the authors' CIFAR-10 NIN as released (Caffe Model Zoo, gist mavenlin/e56253735ef32c3c296d:
#: 0.97 M; the paper prints no layer sizes). The library's nin_cifar has exactly its layers.
NIN_CIFAR10_PARAMS = 0.97e6

# --- GoogLeNet (Szegedy et al. 2015)

#: Table 1: (params in K = 1024 weights, without biases; ops in M multiply-adds) of every layer with
#: weights: the stem's two convolution rows, the nine Inception modules and the linear classifier.
GOOGLENET_TABLE1: dict[str, tuple[float, float]] = {
    "conv1": (2.7, 34), "conv2": (112, 360),
    "3a": (159, 128), "3b": (380, 304),
    "4a": (364, 73), "4b": (437, 88), "4c": (463, 100), "4d": (580, 119), "4e": (840, 170),
    "5a": (1072, 54), "5b": (1388, 71),
    "linear": (1000, 1),
}  # fmt: skip
#: Sec. 1: "a computational budget of 1.5 billion multiply-adds at inference time".
GOOGLENET_BUDGET_MACS = 1.5e9
#: Sec. 1: GoogLeNet "uses 12x fewer parameters than the winning architecture of Krizhevsky et al".
GOOGLENET_PARAM_RATIO = 12
#: Sec. 5: the auxiliary classifiers' losses are added to the total loss with weight 0.3.
GOOGLENET_AUX_WEIGHT = 0.3
#: Sec. 5: "22 layers deep when counting only layers with parameters (or 27 layers if we also count
#: pooling)"; the 22 is :func:`network` ("GoogLeNet").depth.
GOOGLENET_DEPTH_WITH_POOLS = 27

# --- ResNet (He et al. 2016)

#: Table 1, last row: "FLOPs" of the ImageNet ResNets by depth, in units of 10^9 multiply-adds (MACs; the
#: paper counts a multiply-add as one FLOP, Sec. 3.3).
RESNET_TABLE1_GMACS: dict[int, float] = {18: 1.8, 34: 3.6, 50: 3.8, 101: 7.6, 152: 11.3}

#: VGG-16/19 in the same unit, as the ResNet paper quotes them to compare complexity (He et al. 2016,
#: Sec. 4.1: "VGG-16/19 nets (15.3/19.6 billion FLOPs)"; Sec. 3.3 quotes only VGG-19's 19.6 billion).
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

#: Table 3: ImageNet validation error (top-1, top-5; 10-crop testing) of the 34-layer nets, plain and with
#: shortcut options A (zero-padding where the shape changes), B (projections there, identity elsewhere)
#: and C (projections everywhere). Sec. 3.3 / 4.1 attribute C's small gain to "the extra parameters
#: introduced by many (thirteen) projection shortcuts".
RESNET_TABLE3: dict[str, tuple[float, float]] = {
    "plain-34": (0.2854, 0.1002),
    "ResNet-34 A": (0.2503, 0.0776),
    "ResNet-34 B": (0.2452, 0.0746),
    "ResNet-34 C": (0.2419, 0.0740),
}
RESNET_TABLE3_EXTRA_PROJECTIONS = 13  # Sec. 4.1, "Identity vs. Projection Shortcuts": C's over B's

#: The ResNet authors' note on depth beyond need: a 1202-layer CIFAR-10 ResNet trains to under 0.1%
#: training error, yet tests worse than the 110-layer one; they attribute it to overfitting a network
#: far larger (19.4M parameters) than the 50k-image dataset calls for. Parameters and errors are
#: :data:`RESNET_TABLE6`'s; the mean and spread of the 110-layer runs are Table 6's too.
CIFAR_RESNET_1202: tuple[CifarResult, CifarResult] = (
    CifarResult("resnet110", 110, *RESNET_TABLE6[110], mean=0.0661, std=0.0016,
                source="He et al. 2016, Table 6 (best of 5 runs)"),
    CifarResult("resnet1202", 1202, *RESNET_TABLE6[1202], mean=None, std=None,
                source="He et al. 2016, Table 6 and Sec. 4.2"),
)

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
        float(ALEXNET_CLAIMS["lrn_cifar_test_error"]["without"]), "krizhevsky2012imagenet", "Sec. 3.3",
        "a four-layer CNN without response normalization "
        f"({100 * float(ALEXNET_CLAIMS['lrn_cifar_test_error']['with']):.0f}% with it); the paper gives no "
        "layer sizes",
    ),
    "nin_cifar": CifarFigure(
        NIN_CIFAR10["nin_augmented"], "lin2014network", "Table 1",
        f"NIN + dropout + augmentation ({100 * NIN_CIFAR10['nin']:.2f}% without augmentation)",
    ),
    "resnet20": CifarFigure(RESNET_TABLE6[20][1], "he2016deep", "Table 6",
                            "164 epochs (64k iterations) of SGD"),
}  # fmt: skip

#: The schedules behind the papers' CIFAR-10 test errors, as a "not testable here" reason names them
#: (ecg_lib.chapters.reach): a run a fraction of that length cannot reach the error by construction.
CIFAR_SCHEDULES: dict[str, str] = {
    "he2016deep": "64k iterations of SGD, about 164 epochs, Sec. 4.2",
    "lin2014network": "training to convergence with dropout, Sec. 4.1-4.2",
    "krizhevsky2012imagenet": "a full training run of its CIFAR-10 network, Sec. 3.3",
}
