"""ecg_lib.experiments.reference: error against depth, lesions and block statistics of trained networks,
checked on small synthetic data with small random networks (and once with the real ResNet-56 weights)."""

import math

import pytest
import torch

from ecg_lib.data import CIFAR10Data, Normalizer
from ecg_lib.experiments import ExperimentResult
from ecg_lib.experiments import reference as R
from ecg_lib.models import get_model
from ecg_lib.models.resnet import drop_block
from ecg_lib.profiles import UnknownProfileError


def _data(n_test_per_class: int = 4) -> CIFAR10Data:
    g = torch.Generator().manual_seed(0)
    y = torch.arange(10).repeat_interleave(n_test_per_class)
    x = torch.randint(0, 256, (y.numel(), 3, 32, 32), dtype=torch.uint8, generator=g)
    return CIFAR10Data(x, y, x, y, source="synthetic")


def _net(name: str = "resnet20", seed: int = 0):
    torch.manual_seed(seed)
    model = get_model(name)
    # random batch-norm statistics, so that the residual branches matter and lesions change the output
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.normal_(0, 0.1)
            m.running_var.uniform_(0.5, 1.5)
    return model.eval()


def _errors_by_copying(model, x, y, deleted) -> float:
    net = drop_block(model, list(deleted), allow_downsampling=True) if deleted else model
    with torch.no_grad():
        return float((net(x).argmax(1) != y).double().mean())


# The one lesion study serves both the reference ResNets and the chapter's plain nets (a plain block
# becomes the identity, a plain downsampling block the option A shortcut), so both are checked.
@pytest.mark.parametrize("name", ["resnet20", "plain20"])
def test_lesion_errors_equal_those_of_lesioned_copies(one_thread, name):
    model, data = _net(name), _data()
    x = Normalizer.from_images(data.test_x, "channel")(data.test_x)
    y = data.test_y
    sets = [(), (0,), (3,), (4, 5), (1, 7, 8), (2, 6)]  # 3 and 6 downsample in resnet20
    got = R.lesion_errors(model, x, y, sets, batch_size=16)
    assert got == pytest.approx([_errors_by_copying(model, x, y, s) for s in sets], abs=1e-12)
    with pytest.raises(IndexError):
        R.lesion_errors(model, x, y, [(9,)])


def test_single_contiguous_and_random_lesions_shapes(one_thread):
    model, data = _net(), _data()
    x, y = Normalizer.from_images(data.test_x, "channel")(data.test_x), data.test_y
    single = R.single_lesions(model, x, y)
    assert [r["block"] for r in single] == list(range(-1, 9))
    assert [r["downsampling"] for r in single[1:]] == [
        False,
        False,
        False,
        True,
        False,
        False,
        True,
        False,
        False,
    ]
    contiguous = R.contiguous_lesions(model, x, y, (1, 2))
    # runs avoid the downsampling blocks 3 and 6: singles 0,1,2,4,5,7,8; pairs 0-1,1-2,4-5,7-8
    assert contiguous[1]["starts"] == [0, 1, 2, 4, 5, 7, 8] and contiguous[2]["starts"] == [0, 1, 4, 7]
    by_block = {r["block"]: r["error"] for r in single}
    assert contiguous[1]["errors"] == [by_block[b] for b in contiguous[1]["starts"]]
    assert len(R.contiguous_lesions(model, x, y, (2,), include_downsampling=True)[2]["starts"]) == 8
    rand = R.random_lesions(model, x, y, (1, 3), repeats=5, seed=1)
    assert [len(rand[k]["sets"]) for k in (1, 3)] == [5, 5]
    assert all(len(s) == 3 and not {3, 6} & set(s) for s in rand[3]["sets"])
    for v in rand.values():
        assert v["min"] <= v["mean"] <= v["max"] and v["std"] >= 0 and len(v["errors"]) == 5
    assert R.random_lesions(model, x, y, (1, 3), repeats=5, seed=1) == rand  # seeded
    with pytest.raises(ValueError, match="cannot delete more than 7"):
        R.random_lesions(model, x, y, (8,), repeats=1)


def test_block_statistics_leave_the_model_alone():
    model, data = _net(), _data()
    x, y = Normalizer.from_images(data.test_x, "channel")(data.test_x), data.test_y
    before = {k: v.clone() for k, v in model.state_dict().items()}
    rows = R.block_statistics(model, x, y)
    assert len(rows) == 9 and all(r["grad_norm"] > 0 and r["out_grad_norm"] > 0 for r in rows)
    assert all(0 <= r["out_zero_frac"] <= 1 and r["residual_ratio"] > 0 for r in rows)
    assert all(p.grad is None for p in model.parameters())
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())


def test_experiments_with_given_models_return_results():
    data = _data(n_test_per_class=20)
    norm = Normalizer.from_images(data.test_x, "channel")
    models = {n: (_net("resnet20", seed=i), norm) for i, n in enumerate(R.NAMES)}
    # a ResNet-20 stands in for the lesion net: the plumbing is the same, at a third of the cost
    models["resnet56"] = (_net("resnet20", seed=5), norm)
    # tiny sizes: the quick profile's own sizes are for the real networks (tens of seconds)
    tiny = R.Settings(n_test=100, lesion_n_test=50, contiguous_lengths=(2,), random_ks=(2, 4), repeats=2,
                      probe_batch=20)  # fmt: skip
    depth = R.error_vs_depth_experiment(data, profile="quick", models=models, settings=tiny)
    assert isinstance(depth, ExperimentResult) and depth.profile == "quick"
    errors = depth.metrics["errors"]
    assert list(errors) == list(R.NAMES) and all(e["n"] == 100 for e in errors.values())
    assert all(e["error"] == pytest.approx(1 - e["correct"] / 100) for e in errors.values())
    # the publisher's two figures on the original test set, each named for where it was read
    assert depth.metrics["best_prec1"]["resnet56"] == 93.62
    assert depth.metrics["readme_error"]["resnet56"] == 6.61
    assert "reported_accuracy" not in depth.metrics
    assert depth.metrics["data_quality"].startswith("not recorded")
    les = R.lesion_experiment(data, profile="quick", models=models, settings=tiny).metrics
    assert les["n_test"] == 50 and len(les["single"]) == 10
    assert set(les["random"]) == {"2", "4"} and les["contiguous"]["2"]["n"] == 2 + 1 + 1
    se = math.sqrt(les["intact_error"] * (1 - les["intact_error"]) / 50)
    assert les["sampling_se"] == pytest.approx(se)
    stats = R.block_stats_experiment(data, profile="quick", models=models, settings=tiny).metrics
    assert len(stats["blocks"]) == 9
    assert stats["settings"]["probe_batch"] == 20
    with pytest.raises(UnknownProfileError):
        R.error_vs_depth_experiment(data, profile="medium", models=models)
    assert set(R.SETTINGS) == {"quick", "standard", "full"}


def test_eval_images_are_class_balanced():
    data = _data(n_test_per_class=20)
    _, y = R.eval_images(data, 50)
    assert torch.bincount(y).tolist() == [5] * 10
    assert R.eval_images(data, None)[0] is data.test_x
    with pytest.raises(ValueError, match="multiple of 10"):
        R.eval_images(data, 55)
