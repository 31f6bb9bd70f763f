"""The facts in ecg_lib.papers: pinned to the papers' numbers and checked against the registry models."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import torch
from torch import nn

from ecg_lib import papers
from ecg_lib.counting import min_input_size
from ecg_lib.models import get_model, model_spec

ROOT = Path(__file__).resolve().parents[1]


def weight_depth(model: nn.Module, input_size: tuple[int, int, int]) -> int:
    """Weight layers (conv + linear) on the longest input-to-output path, measured on the autograd graph.

    This is how the papers count depth: an Inception module's parallel branches or a ResNet projection
    shortcut sit side by side with the main path and add nothing, unlike a plain count of conv modules.
    """
    model.eval()
    weight_nodes = set()

    def mark(_module: nn.Module, _inputs: object, output: torch.Tensor) -> None:
        weight_nodes.add(output.grad_fn)

    handles = [m.register_forward_hook(mark) for m in model.modules() if isinstance(m, nn.Conv2d | nn.Linear)]
    device = next(model.parameters()).device  # the meta device works: only the graph's shape matters
    try:
        with torch.enable_grad():
            out = model(torch.zeros(1, *input_size, device=device))
    finally:
        for h in handles:
            h.remove()
    assert isinstance(out, torch.Tensor), "in eval mode the model must return one tensor of logits"

    # Iterative post-order walk: a 1202-layer graph is deeper than Python's recursion limit.
    depth: dict[object, int] = {}
    stack = [(out.grad_fn, False)]
    while stack:
        node, children_done = stack.pop()
        if node in depth:
            continue
        children = [child for child, _ in node.next_functions if child is not None]
        if children_done:
            depth[node] = int(node in weight_nodes) + max((depth[c] for c in children), default=0)
        else:
            stack.append((node, True))
            stack.extend((c, False) for c in children if c not in depth)
    return depth[out.grad_fn]


def test_weight_depth_counts_the_longest_path_not_the_modules() -> None:
    # Two parallel branches of 1 and 3 convs, then a linear layer: 5 weight modules, depth 4.
    class TwoBranches(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.short = nn.Conv2d(3, 4, 1)
            self.long = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(inplace=True),
                                      nn.Conv2d(4, 4, 3, padding=1), nn.Conv2d(4, 4, 1))
            self.fc = nn.Linear(4 * 8 * 8, 2)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.fc(torch.flatten(self.short(x) + self.long(x), 1))

    assert weight_depth(TwoBranches(), (3, 8, 8)) == 4


def _depth_on_meta(name: str) -> tuple[int, nn.Module]:
    """The registry model's weight depth, built and run on the meta device (no memory, no arithmetic),
    at its smallest valid input: the graph, hence the depth, is the same at any valid size."""
    with torch.device("meta"):
        model = get_model(name)
    side = min_input_size(model)
    return weight_depth(model, (3, side, side)), model


@pytest.mark.parametrize("net", papers.NETWORKS, ids=lambda n: n.model)
def test_depth_matches_the_registry_model(net: papers.Network) -> None:
    assert model_spec(net.model).paper == net.paper
    assert _depth_on_meta(net.model)[0] == net.depth


@pytest.mark.parametrize("result", papers.CIFAR_RESNET_1202, ids=lambda r: r.model)
def test_cifar_resnet_depth_and_size_match_the_registry(result: papers.CifarResult) -> None:
    depth, model = _depth_on_meta(result.model)
    assert depth == result.depth
    # Table 6 prints parameters rounded to 0.1M.
    assert sum(p.numel() for p in model.parameters()) / 1e6 == pytest.approx(result.params, abs=0.05)


def test_the_1202_layer_net_tests_worse_than_the_110_layer_one() -> None:
    r110, r1202 = papers.CIFAR_RESNET_1202
    assert (r110.depth, r1202.depth) == (110, 1202)
    assert (r110.error, r1202.error) == (0.0643, 0.0793)
    assert (r110.mean, r110.std) == (0.0661, 0.0016)
    assert r1202.error > r110.error
    # one source: Table 6's record, not a second copy of its figures
    assert [(r.params, r.error) for r in papers.CIFAR_RESNET_1202] == [papers.RESNET_TABLE6[110],
                                                                       papers.RESNET_TABLE6[1202]]


def test_the_comparisons_figures_are_the_chapters_records() -> None:
    c = papers.COMPARISON_CIFAR
    assert c["resnet20"].error == papers.RESNET_TABLE6[20][1] == 0.0875
    assert c["nin_cifar"].error == papers.NIN_CIFAR10["nin_augmented"] == 0.0881
    assert c["alexnet_cifar"].error == papers.ALEXNET_CLAIMS["lrn_cifar_test_error"]["without"] == 0.13
    # the notes quote the other figure of the same record, formatted as the paper prints it
    assert c["nin_cifar"].note == "NIN + dropout + augmentation (10.41% without augmentation)"
    assert c["alexnet_cifar"].note == ("a four-layer CNN without response normalization (11% with it); the "
                                       "paper gives no layer sizes")  # fmt: skip
    assert papers.VGG_TABLE2_PARAMS_MILLIONS == {"A": 133, "A-LRN": 133, "B": 133, "C": 134, "D": 138,
                                                 "E": 144}  # fmt: skip


# The papers' figures, pinned so that an edit of papers.py that changes one shows up here.
# `ensemble_wins`: the entry beats the best single network. Not so for VGG-19: its best single network
# (multi-scale training, 7.1% val / 7.0% test) was trained after the 7-net submission (7.3%).
@pytest.mark.parametrize(
    ("model", "year", "depth", "entry", "entry_models", "single", "ensemble_wins"),
    [
        ("alexnet", 2012, 8, 0.153, 7, 0.182, True),
        ("vgg_d", 2014, 16, 0.073, 7, 0.075, True),
        ("vgg_e", 2014, 19, 0.073, 7, 0.071, False),
        ("googlenet", 2014, 22, 0.0667, 7, 0.0789, True),
        ("resnet152", 2015, 152, 0.0357, 6, 0.0449, True),
    ],
)
def test_ilsvrc_figures(model, year, depth, entry, entry_models, single, ensemble_wins) -> None:
    net = papers.network(model)
    assert (net.ilsvrc_year, net.depth) == (year, depth)
    assert (net.entry.error, net.entry.models, net.entry.split) == (entry, entry_models, "test")
    assert net.entry.is_ensemble and not net.single_model.is_ensemble
    assert (net.single_model.error, net.single_model.split) == (single, "val")
    assert (net.entry.error < net.single_model.error) is ensemble_wins


def test_every_single_network_figure_names_its_test_time_views() -> None:
    # Issue 27: GoogLeNet's 1-crop 10.07% stood beside the others' multi-crop and dense figures. A single
    # network's figure says its views, and the figures compared are all many-view ones.
    views = {net.name: net.single_model.views for net in papers.NETWORKS if net.single_model is not None}
    assert views == {"AlexNet": "10 crops", "VGG-16": "dense, 3 scales", "VGG-19": "dense + multi-crop",
                     "GoogLeNet": "144 crops", "ResNet-152": "dense, multi-scale"}  # fmt: skip
    assert "1 crop" not in views.values()
    googlenet = papers.network("googlenet").single_model
    assert "10.07% with 1 crop" in googlenet.protocol and "9.15% with 10 crops" in googlenet.protocol


def test_nin_has_no_imagenet_figure() -> None:
    nin = papers.network("NIN")
    assert nin.model == "nin_cifar" and nin.depth == 9
    assert nin.ilsvrc_year is None and nin.entry is None and nin.single_model is None
    assert "no ImageNet result" in nin.note


def test_winning_entries_improve_every_year() -> None:
    by_year: dict[int, float] = {}
    for net in papers.NETWORKS:
        if net.entry is not None:
            by_year[net.ilsvrc_year] = min(by_year.get(net.ilsvrc_year, 1.0), net.entry.error)
    assert sorted(by_year) == [2012, 2014, 2015]
    errors = [by_year[y] for y in sorted(by_year)]
    assert errors == sorted(errors, reverse=True)


def test_every_figure_names_its_source() -> None:
    cites = re.compile(r"(Table|Sec\.|Fig\.) ?\d")
    for net in papers.NETWORKS:
        assert cites.search(net.depth_source), net.name
        for result in (net.entry, net.single_model):
            if result is not None:
                assert cites.search(result.source), net.name
    for result in papers.CIFAR_RESNET_1202:
        assert cites.search(result.source)


def test_citation_keys_exist_in_the_bibliography() -> None:
    bib_keys = set(re.findall(r"^@\w+\{([^,]+),", (ROOT / "references.bib").read_text(), re.M))
    assert set(papers.PAPERS) <= bib_keys
    assert {net.paper for net in papers.NETWORKS} <= set(papers.PAPERS)
    from ecg_lib.models import MODELS

    missing = {spec.name: spec.paper for spec in MODELS.values() if spec.paper not in bib_keys}
    assert not missing, f"registry models cite keys missing from references.bib: {missing}"


def test_unknown_network_lists_the_known_ones() -> None:
    with pytest.raises(KeyError, match="VGG-19 \\(vgg_e\\)"):
        papers.network("vgg_z")


def test_the_intro_table_names_each_single_network_s_views() -> None:
    from ecg_lib.chapters import intro

    assert intro.top5_text(papers.network("googlenet").single_model) == "7.89% (val, 1 net, 144 crops)"
    assert intro.top5_text(papers.network("alexnet").entry) == "15.30% (test, 7 nets)"
    assert "7.89% (val, 1 net, 144 crops)" in intro.networks_table()
