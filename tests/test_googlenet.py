"""GoogLeNet of Szegedy et al. (2015): Table 1 rows, counts against the paper, torchvision's differences."""

from __future__ import annotations

import pytest
import torch
import torchvision
from torch import nn

from ecg_lib import papers
from ecg_lib.counting import count_macs, count_params
from ecg_lib.models import get_model, list_models, model_spec
from ecg_lib.models import googlenet as G

pytestmark = pytest.mark.usefixtures("one_thread")


def meta(build, *args, **kwargs) -> nn.Module:
    with torch.device("meta"):
        return build(*args, **kwargs)


# Table 1 of the paper, columns #1x1, #3x3 reduce, #3x3, #5x5 reduce, #5x5, pool proj, and the
# output depth of each Inception row (an independent column: it must equal 1x1 + 3x3 + 5x5 + proj).
PAPER_ROWS = {
    "3a": ((64, 96, 128, 16, 32, 32), 256),
    "3b": ((128, 128, 192, 32, 96, 64), 480),
    "4a": ((192, 96, 208, 16, 48, 64), 512),
    "4b": ((160, 112, 224, 24, 64, 64), 512),
    "4c": ((128, 128, 256, 24, 64, 64), 512),
    "4d": ((112, 144, 288, 32, 64, 64), 528),
    "4e": ((256, 160, 320, 32, 128, 128), 832),
    "5a": ((256, 160, 320, 32, 128, 128), 832),
    "5b": ((384, 192, 384, 48, 128, 128), 1024),
}
SIDE = {"3": 28, "4": 14, "5": 7}  # Table 1's output sizes of the Inception stages at 224 x 224

# Table 1's "params" (K) and "ops" (M) columns. The params column counts weights (no biases) in units
# of 1024: conv2's 64*64 + 9*64*192 = 114,688 = 112 x 1024, the classifier's 1,024,000 = 1000 x 1024.
TABLE1_PARAMS_K = {
    "conv1": 2.7, "conv2": 112, "3a": 159, "3b": 380, "4a": 364, "4b": 437, "4c": 463, "4d": 580,
    "4e": 840, "5a": 1072, "5b": 1388, "linear": 1000,
}  # fmt: skip
TABLE1_OPS_M = {
    "conv1": 34, "conv2": 360, "3a": 128, "3b": 304, "4a": 73, "4b": 88, "4c": 100, "4d": 119,
    "4e": 170, "5a": 54, "5b": 71, "linear": 1,
}  # fmt: skip
# Entries that do not follow from the table's own channel counts (checked below to stay that way):
# conv1: 7x7x3x64 is 9,408 weights and 118M MACs, not 2.7K / 34M (the two match each other, as if
# the input had one channel); 4c: its params entry (463K) is 7% below its channels' 497.5K while its
# ops entry is right; 5a: both entries (1072K, 54M) are ~5% above its channels' 1018K / 51.1M.
INCONSISTENT_PARAMS = {"conv1", "4c", "5a"}
INCONSISTENT_OPS = {"conv1", "5a"}


def row_counts(row: tuple[int, ...], c_in: int, side: int) -> tuple[int, int, int]:
    """Weights, biases and MACs of one Inception module, from a Table 1 row."""
    n1, r3, n3, r5, n5, proj = row
    weights = c_in * n1 + c_in * r3 + 9 * r3 * n3 + c_in * r5 + 25 * r5 * n5 + c_in * proj
    return weights, n1 + r3 + n3 + r5 + n5 + proj, weights * side * side


def layer_counts() -> dict[str, tuple[int, int, int]]:
    """(weights, biases, MACs) per Table 1 row at 224 x 224, from the table alone."""
    out = {
        "conv1": (7 * 7 * 3 * 64, 64, 7 * 7 * 3 * 64 * 112 * 112),
        "conv2": (64 * 64 + 9 * 64 * 192, 64 + 192, (64 * 64 + 9 * 64 * 192) * 56 * 56),
    }
    c_in = 192
    for name, (row, depth) in PAPER_ROWS.items():
        out[name] = row_counts(row, c_in, SIDE[name[0]])
        c_in = depth
    out["linear"] = (1024 * 1000, 1000, 1024 * 1000)
    return out


def test_table1_rows_are_the_paper() -> None:
    assert [r.name for r in G.TABLE1] == list(PAPER_ROWS)
    for row in G.TABLE1:
        channels, depth = PAPER_ROWS[row.name]
        assert (row.n1x1, row.n3x3red, row.n3x3, row.n5x5red, row.n5x5, row.pool_proj) == channels
        assert row.out_channels == depth  # Table 1's "output size" column agrees with its filter columns


def test_module_counts_equal_the_table_arithmetic() -> None:
    model = meta(G.googlenet)
    counts = layer_counts()
    for name, module in model.inception.items():
        weights, biases, macs = counts[name]
        side = SIDE[name[0]]
        assert count_params(module) == weights + biases, name
        assert count_macs(module, (module.in_channels, side, side)) == macs, name
    assert count_params(model.stem) == sum(counts[k][0] + counts[k][1] for k in ("conv1", "conv2"))
    assert count_params(model.fc) == sum(counts["linear"][:2])
    exact = {  # pinned: weights + biases of each module
        "3a": 163_696, "3b": 388_736, "4a": 376_176, "4b": 449_160, "4c": 510_104,
        "4d": 605_376, "4e": 868_352, "5a": 1_043_456, "5b": 1_444_080,
    }  # fmt: skip
    assert {k: count_params(m) for k, m in model.inception.items()} == exact


def test_rows_against_table1_params_and_ops_columns() -> None:
    for name, (weights, _, macs) in layer_counts().items():
        params_k, ops_m = weights / 1024, macs / 1e6
        params_off = abs(params_k / TABLE1_PARAMS_K[name] - 1)
        ops_off = abs(ops_m - TABLE1_OPS_M[name])
        # Params within 2% (the column is rounded and slightly loose, e.g. 4d 590.5K vs 580K).
        assert (params_off <= 0.02) != (name in INCONSISTENT_PARAMS), (name, params_k)
        # Ops rounded to the nearest million, and within 1% where rounding to integers is coarser.
        assert (ops_off <= max(0.5, 0.01 * TABLE1_OPS_M[name])) != (name in INCONSISTENT_OPS), (name, ops_m)
    assert layer_counts()["3a"][2] == 128_049_152  # the "128M" of inception (3a)


def test_totals_against_the_paper() -> None:
    model = meta(G.googlenet)
    counts = layer_counts()
    params, macs = count_params(model), count_macs(model, (3, 224, 224))
    assert params == sum(w + b for w, b, _ in counts.values()) == 6_998_552
    assert macs == sum(m for _, _, m in counts.values()) == 1_582_671_872
    # Sec. 5: "a computational budget of 1.5 billion multiply-adds at inference time". Table 1's ops
    # column sums to 1502M; with conv1's true 118M instead of 34M it sums to 1586M, 0.2% from ours.
    assert sum(TABLE1_OPS_M.values()) == 1502
    corrected = sum(TABLE1_OPS_M.values()) - 34 + 118
    assert macs / 1e6 == pytest.approx(corrected, rel=0.005)
    assert macs / 1.5e9 == pytest.approx(1, abs=0.06)
    # Parameters: Table 1's column sums to 6797.7K (~6.8M); its inconsistent rows and units (K = 1024,
    # no biases) explain the gap to our 6,998,552 (7.0M with biases, 6,826.4K weights).
    weights_k = sum(w for w, _, _ in counts.values()) / 1024
    assert sum(TABLE1_PARAMS_K.values()) == pytest.approx(6797.7)
    assert weights_k == pytest.approx(6797.7, rel=0.01)


def test_naive_inception_3a_versus_reduced() -> None:
    row = G.TABLE1[0]
    reduced = meta(G.Inception, 192, row)
    naive = meta(G.Inception, 192, row, reduce=False)
    naive_proj = meta(G.Inception, 192, row, reduce=False, pool_proj=True)
    size = (192, 28, 28)
    assert reduced.out_channels == 256 and naive.out_channels == 64 + 128 + 32 + 192
    assert naive_proj.out_channels == 256
    # Without the 1x1 reductions the 3x3 and 5x5 convolutions see all 192 input channels.
    assert count_macs(naive, size) == 28 * 28 * 192 * (64 + 9 * 128 + 25 * 32) == 303_464_448
    assert count_macs(naive_proj, size) == 303_464_448 + 28 * 28 * 192 * 32
    assert count_macs(reduced, size) == 128_049_152
    assert count_params(naive) == 192 * (64 + 9 * 128 + 25 * 32) + 64 + 128 + 32 == 387_296
    assert count_params(reduced) == 163_696


def test_structure_is_the_papers() -> None:
    model = G.googlenet()
    assert not any(isinstance(m, nn.BatchNorm2d) for m in model.modules())
    assert sum(isinstance(m, nn.LocalResponseNorm) for m in model.modules()) == 2
    for module in model.inception.values():
        assert module.branch5[-1][0].kernel_size == (5, 5)  # a true 5x5, unlike torchvision
        assert module.branch3[-1][0].kernel_size == (3, 3)
    assert model.dropout.p == 0.4 and model.aux1 is None and model.aux2 is None
    # "22 layers deep when counting only layers with parameters": 3 stem convs, 2 per module, FC.
    stem_convs = sum(isinstance(m, nn.Conv2d) for m in model.stem.modules())
    assert stem_convs + 2 * len(model.inception) + 1 == 22
    assert all(c.bias is not None for c in model.modules() if isinstance(c, nn.Conv2d))


def test_feature_map_sizes_follow_table1() -> None:
    model = meta(G.googlenet).eval()
    shapes = {}
    for name, module in model.inception.items():
        module.register_forward_hook(lambda m, i, o, name=name: shapes.__setitem__(name, tuple(o.shape[1:])))
    stem_out = model.stem(torch.zeros(2, 3, 224, 224, device="meta"))
    assert tuple(stem_out.shape[1:]) == (192, 28, 28)
    assert model(torch.zeros(2, 3, 224, 224, device="meta")).shape == (2, 1000)
    expected = {name: (depth, SIDE[name[0]], SIDE[name[0]]) for name, (_, depth) in PAPER_ROWS.items()}
    assert shapes == expected


def test_auxiliary_classifiers() -> None:
    model = meta(G.googlenet, aux_logits=True)  # shapes only: the meta device skips the arithmetic
    # Sec. 5: 5x5/3 avg pool -> 4x4x512 (4a) or 4x4x528 (4d); 1x1 conv 128; FC 1024; linear 1000.
    head = lambda c_in: (c_in * 128 + 128) + (128 * 16 * 1024 + 1024) + (1024 * 1000 + 1000)  # noqa: E731
    assert count_params(model) == 6_998_552 + head(512) + head(528) == 13_378_280
    assert model.aux1.dropout.p == 0.7
    x = torch.zeros(2, 3, 224, 224, device="meta")
    model.train()
    main, aux1, aux2 = model(x)
    assert main.shape == aux1.shape == aux2.shape == (2, 1000)
    model.eval()
    out = model(x)
    assert isinstance(out, torch.Tensor) and out.shape == (2, 1000)
    assert G.AUX_LOSS_WEIGHT is papers.GOOGLENET_AUX_WEIGHT == 0.3  # one constant, the paper's
    # The heads' FC layer fixes their pooled map at 4x4, so training needs a 223..270 input.
    assert model.aux_input_range == (223, 270)
    model.train()
    with pytest.raises(ValueError, match="223 <= H, W <= 270"):
        model(torch.zeros(2, 3, 288, 288, device="meta"))


def test_input_size_limits() -> None:
    for build, smallest in ((G.googlenet, 31), (lambda: G.googlenet_cifar(width=0.25), 8)):
        model = meta(build).eval()
        assert model.min_input_size == smallest
        assert model(torch.zeros(1, 3, smallest, smallest, device="meta")).shape[0] == 1
        with pytest.raises(ValueError, match=f"at least {smallest}x{smallest}"):
            model(torch.zeros(1, 3, smallest - 1, smallest - 1, device="meta"))
        with pytest.raises(ValueError, match="1 channels"):
            model(torch.zeros(1, 1, 64, 64, device="meta"))


def test_differences_from_torchvision_in_numbers() -> None:
    ours = meta(G.googlenet)
    theirs = meta(torchvision.models.googlenet, weights=None, aux_logits=False, init_weights=False)
    p_ours, p_theirs = count_params(ours), count_params(theirs)
    m_ours, m_theirs = count_macs(ours, (3, 224, 224)), count_macs(theirs, (3, 224, 224))
    assert (p_theirs, m_theirs) == (6_624_904, 1_498_376_192)
    # torchvision's "5x5" branch is a 3x3 (16 fewer weights per filter tap pair) and every conv has
    # BN (2 parameters per channel) instead of a bias (1): those two differences explain the gap.
    five = [(r.n5x5red, r.n5x5, SIDE[r.name[0]]) for r in G.TABLE1]
    conv_channels = (
        64 + 64 + 192 + sum(r.n1x1 + r.n3x3red + r.n3x3 + r.n5x5red + r.n5x5 + r.pool_proj for r in G.TABLE1)
    )
    assert p_ours - p_theirs == sum(16 * a * b for a, b, _ in five) - conv_channels == 373_648
    assert m_ours - m_theirs == sum(16 * a * b * s * s for a, b, s in five) == 84_295_680
    assert sum(isinstance(m, nn.LocalResponseNorm) for m in theirs.modules()) == 0
    assert sum(isinstance(m, nn.BatchNorm2d) for m in theirs.modules()) == 57


@pytest.mark.parametrize(
    ("width", "params", "macs"),
    [(1.0, 5_976_122, 391_620_608), (0.5, 1_498_850, 98_350_080), (0.25, 377_126, 24_809_984)],
)
def test_cifar_variant_counts(width: float, params: int, macs: int) -> None:
    model = meta(G.googlenet_cifar, width=width)
    assert (count_params(model), count_macs(model, (3, 32, 32))) == (params, macs)
    # MACs fall with width**2 (within the rounding of odd channel counts).
    assert macs / 391_620_608 == pytest.approx(width**2, rel=0.02)


def test_cifar_variant_shapes_and_rows() -> None:
    torch.manual_seed(0)
    model = G.googlenet_cifar(width=0.25, aux_logits=True)
    assert model.inception["3a"].row == G.TABLE1[0].scaled(0.25)
    assert model.inception["3a"].row.n1x1 == 16 and model.inception["5b"].out_channels == 256
    model.train()
    outs = model(torch.randn(2, 3, 32, 32))
    assert [o.shape for o in outs] == [(2, 10)] * 3
    full = meta(G.googlenet_cifar).eval()
    shapes = {}
    for name in ("3a", "4a", "5b"):
        full.inception[name].register_forward_hook(
            lambda m, i, o, n=name: shapes.__setitem__(n, tuple(o.shape[1:]))
        )
    full(torch.zeros(1, 3, 32, 32, device="meta"))
    assert shapes == {"3a": (256, 16, 16), "4a": (512, 8, 8), "5b": (1024, 4, 4)}
    with pytest.raises(ValueError, match="width must be positive"):
        G.googlenet_cifar(width=0)


def test_registry_entries() -> None:
    assert list_models("googlenet") == ["googlenet", "googlenet_cifar"]
    assert (
        model_spec("googlenet").input_size == (3, 224, 224)
        and model_spec("googlenet").paper == "szegedy2015going"
    )
    with torch.device("meta"):
        model = get_model("googlenet_cifar", width=0.5, aux_logits=True)
    assert model.fc.out_features == 10 and model.aux2 is not None
