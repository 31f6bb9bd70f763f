"""ecg_lib.train: fit() on real CIFAR-10 images with tiny networks (so the CPU tests stay short), the
schedules, History, determinism, checkpoints and resume, the non-finite guard, profiles, the CLI."""

import json
import math

import pytest
import torch
from torch import nn

from ecg_lib import train
from ecg_lib.cli import main as cli_main
from ecg_lib.data import CIFAR10Data
from ecg_lib.train import (
    History,
    NonFiniteLossError,
    TrainConfig,
    evaluate,
    fit,
    format_run_info,
    load_checkpoint,
    lr_at,
    pick_precision,
    run_info,
)
from ecg_lib.train.device import _cpu_has_native_bf16


def tiny_cnn(seed: int = 0, act: type[nn.Module] = nn.ReLU, dropout: float = 0.0) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), act(), nn.MaxPool2d(2),
        nn.Conv2d(8, 16, 3, padding=1), act(), nn.AdaptiveAvgPool2d(2), nn.Flatten(),
        nn.Dropout(dropout), nn.Linear(64, 10),
    )  # fmt: skip


def quiet(**kw) -> TrainConfig:
    return TrainConfig(quiet=True, **kw)


@pytest.fixture(scope="module")
def small(cifar10):
    """200 training and 100 test images of real CIFAR-10, class-balanced."""
    return cifar10.subset(20, 10, seed=0)


# ---------------------------------------------------------------------------------------------- learning


def test_loss_falls_on_real_images(cifar10):
    data = cifar10.subset(100, 20, seed=1)
    h = fit(tiny_cnn(), data, quiet(epochs=4, batch_size=50, lr=0.05))
    assert h.epochs_done == 4 and len(h.train_loss) == 4 * 20 and h.steps_per_epoch == 20
    assert h.epoch_train_loss[0] > 2.1  # chance is ln 10 = 2.30
    assert h.epoch_train_loss[-1] < h.epoch_train_loss[0] - 0.15
    assert h.test_error[-1] < 0.85  # better than chance (0.90) on unseen images
    assert h.stopped == "completed"
    assert all(0 <= e <= 1 for e in h.train_error)


def test_overfits_a_256_image_batch(cifar10):
    sub = cifar10.subset(26, 1, seed=2)
    data = CIFAR10Data(sub.train_x[:256], sub.train_y[:256], sub.test_x, sub.test_y, source="256 images")
    torch.manual_seed(0)
    mlp = nn.Sequential(nn.Flatten(), nn.Linear(3072, 512), nn.ReLU(), nn.Linear(512, 10))
    cfg = quiet(epochs=60, batch_size=256, lr=1e-3, optimizer="adam", weight_decay=0.0, schedule="constant",
                augment=False, eval_every=0)  # fmt: skip
    h = fit(mlp, data, cfg)
    assert h.epoch_train_loss[0] > 2.0
    assert h.train_error[-1] == 0.0  # every one of the 256 images right
    loss, err = evaluate(mlp, data.train_x, data.train_y, normalizer=h.normalizer)
    assert err == 0.0 and loss < 0.05


def test_two_runs_with_one_seed_are_identical(small):
    cfg = quiet(epochs=2, batch_size=40, lr=0.05, seed=7)
    a_model, b_model = tiny_cnn(3, dropout=0.3), tiny_cnn(3, dropout=0.3)
    a, b = fit(a_model, small, cfg), fit(b_model, small, cfg)
    assert a.train_loss == b.train_loss and a.test_error == b.test_error
    for pa, pb in zip(a_model.state_dict().values(), b_model.state_dict().values(), strict=True):
        assert torch.equal(pa, pb)
    c = fit(tiny_cnn(3, dropout=0.3), small, cfg.replace(seed=8))  # another seed: other batches
    assert c.train_loss != a.train_loss


def test_history_holds_times_throughput_and_info(small):
    h = fit(tiny_cnn(), small, quiet(epochs=2, batch_size=50, lr=0.05, warmup_epochs=1))
    assert len(h.train_time_s) == len(h.wall_time_s) == len(h.images_per_s) == 2
    assert 0 < h.train_time_s[0] < h.train_time_s[1] <= h.wall_time_s[1]
    assert all(ips > 0 for ips in h.images_per_s)
    assert h.lr[:4] == pytest.approx([0.0125, 0.025, 0.0375, 0.05])  # one epoch of linear warmup
    assert h.info["n_train"] == 200 and h.info["n_test"] == 100 and h.info["device"] == "cpu"
    assert h.info["precision"] in ("fp32", "bf16") and h.info["world_size"] == 1
    assert "subset" in h.info["data_source"]


def test_recorded_test_error_matches_evaluate(small):
    model = tiny_cnn()
    h = fit(model, small, quiet(epochs=1, batch_size=50, lr=0.05))
    loss, err = evaluate(model, small.test_x, small.test_y, normalizer=h.normalizer)
    assert err == pytest.approx(h.test_error[-1], abs=1e-9)
    assert loss == pytest.approx(h.test_loss[-1], rel=1e-5)
    with pytest.raises(ValueError, match="normalizer="):
        evaluate(model, small.test_x, small.test_y)


# ---------------------------------------------------------------------------------------------- safety


def test_non_finite_loss_stops_with_step_and_lr(small):
    net = tiny_cnn(act=nn.Tanh)
    with pytest.raises(NonFiniteLossError) as info:
        fit(net, small, quiet(epochs=5, batch_size=20, lr=1e12, schedule="constant"))
    e = info.value
    assert e.lr == 1e12 and e.step >= 1 and not math.isfinite(e.value)
    assert f"step {e.step}" in str(e) and "learning rate 1e+12" in str(e)
    assert len(e.history.train_loss) == e.step  # everything before the bad step is kept
    assert all(math.isfinite(v) for v in e.history.train_loss)
    assert e.history.stopped == "non_finite"


def test_resume_gives_the_weights_of_an_uninterrupted_run(small, tmp_path):
    cfg = quiet(epochs=3, batch_size=40, lr=0.05, seed=1)
    ref_model = tiny_cnn(5, dropout=0.3)  # dropout: resuming must restore the RNG state too
    ref = fit(ref_model, small, cfg)

    class Crash(RuntimeError):
        pass

    def crash_after_second_epoch(epoch, model, history):
        if epoch == 1:
            raise Crash

    ckpt = tmp_path / "run.pt"
    with pytest.raises(Crash):
        fit(tiny_cnn(5, dropout=0.3), small, cfg, checkpoint=ckpt, on_epoch_end=crash_after_second_epoch)
    saved = load_checkpoint(ckpt)
    assert saved["epoch"] == 1  # the callback runs before the checkpoint of its epoch
    raw = torch.load(ckpt, weights_only=True)  # plain tensors and data only
    assert set(raw) >= {"model", "optimizer", "scheduler", "rng", "history", "config"}

    resumed_model = tiny_cnn(99, dropout=0.3)  # other initial weights: all must come from the checkpoint
    resumed = fit(resumed_model, small, cfg, checkpoint=ckpt, resume=ckpt)
    for a, b in zip(ref_model.state_dict().values(), resumed_model.state_dict().values(), strict=True):
        assert torch.equal(a, b)
    assert resumed.train_loss == ref.train_loss and resumed.test_error == ref.test_error
    assert resumed.info["resumed_from_epoch"] == 1 and load_checkpoint(ckpt)["epoch"] == 3
    assert not list(tmp_path.glob("*.tmp"))  # atomic writes leave no temporary files


def test_checkpoint_dir_resumes_every_fit_of_an_experiment_after_a_kill(small, tmp_path):
    # What `reproduce` relies on: an experiment that fits two nets, killed in the second one's second
    # epoch, run again in the same checkpoint folder, trains only what was left and ends with exactly
    # the weights and Histories of an uninterrupted run.
    cfg = quiet(epochs=3, batch_size=40, lr=0.05, seed=1)

    def experiment(crash_at=None, context=None):
        nets, hists = [], []
        for seed in (0, 1):
            net = tiny_cnn(5, dropout=0.3)
            def stop(epoch, model, history, seed=seed):
                if (seed, epoch) == crash_at:
                    raise KeyboardInterrupt
            hists.append(fit(net, small, cfg.replace(seed=seed), on_epoch_end=stop, context=context))
            nets.append(net)
        return nets, hists

    ref_nets, ref_hists = experiment()
    events = []
    folder = tmp_path / "ckpt"
    context = train.RunContext(checkpoint_dir=folder, progress=events.append)
    with pytest.raises(KeyboardInterrupt):
        experiment(crash_at=(1, 1), context=context)
    assert len(list(folder.glob("*.pt"))) == 2  # one file per fit, named after the run
    assert [(e["epoch"], e["resumed"]) for e in events] == [(1, 0), (2, 0), (3, 0), (1, 0)]
    events.clear()
    nets, hists = experiment(context=context)
    # the first fit was finished: reported once, nothing trained; the second resumed after its epoch 1
    assert [(e["epoch"], e["resumed"]) for e in events] == [(3, 3), (2, 1), (3, 1)]
    assert events[0]["steps"] == 3 * 5 and events[-1]["test_error"] == hists[1].test_error[-1]
    for ref, net in zip(ref_nets, nets, strict=True):
        for a, b in zip(ref.state_dict().values(), net.state_dict().values(), strict=True):
            assert torch.equal(a, b)
    assert [h.train_loss for h in hists] == [h.train_loss for h in ref_hists]
    # without the context nothing is checkpointed; another config is another file
    experiment()
    assert len(list(folder.glob("*.pt"))) == 2
    names = {train.auto_checkpoint_path(tmp_path, tiny_cnn(), small, c).name
             for c in (cfg, cfg.replace(seed=2), cfg.replace(quiet=False, eval_every=0))}  # fmt: skip
    assert len(names) == 2


def test_resume_refuses_another_configuration(small, tmp_path):
    cfg = quiet(epochs=1, batch_size=50, lr=0.05)
    fit(tiny_cnn(), small, cfg, checkpoint=tmp_path / "c.pt")
    with pytest.raises(ValueError, match=r"lr \(checkpoint 0.05, now 0.1\)"):
        fit(tiny_cnn(), small, cfg.replace(lr=0.1, epochs=2), resume=tmp_path / "c.pt")
    with pytest.raises(FileNotFoundError):
        fit(tiny_cnn(), small, cfg, resume=tmp_path / "missing.pt")


def test_time_budget_and_callback_stop_early(small):
    h = fit(tiny_cnn(), small, quiet(epochs=5, batch_size=50, max_time_s=0.0))
    assert h.epochs_done == 1 and h.stopped == "time_budget"

    def record_and_stop(epoch, model, history):
        norm = sum(float(p.grad.norm()) ** 2 for p in model.parameters() if p.grad is not None) ** 0.5
        history.extra.setdefault("grad_norm", []).append(norm)
        return epoch == 1

    h = fit(tiny_cnn(), small, quiet(epochs=5, batch_size=50), on_epoch_end=record_and_stop)
    assert h.epochs_done == 2 and h.stopped == "callback"
    assert len(h.extra["grad_norm"]) == 2 and all(g > 0 for g in h.extra["grad_norm"])
    assert History.from_json(h.to_json()).extra == h.extra


def test_stop_conditions_are_values(small):
    cfg = quiet(epochs=4, batch_size=50)  # 4 steps per epoch
    full = fit(tiny_cnn(), small, cfg)
    # a pass cap ends the run early, on the schedule of the config's 4 epochs: the same steps as a full run
    capped = fit(tiny_cnn(), small, cfg, until=train.Until(epochs=2))
    assert capped.epochs_done == 2 and capped.stopped == "completed" and capped.test_error[-1] is not None
    assert capped.lr == full.lr[:8] and capped.train_loss == full.train_loss[:8]
    # a target training error stops after the first epoch at or below it
    target = full.epoch_train_error[1]
    hit = fit(tiny_cnn(), small, cfg, until=train.Until(train_error=target))
    assert hit.stopped == "target" and hit.epochs_done == full.reach(target)[0]
    # a time budget read after every step: one History entry per step, the clock after each, scored at the end
    timed = fit(tiny_cnn(), small, cfg, until=train.Until(seconds=1e-9))
    assert timed.stopped == "time_budget" and timed.steps_per_epoch == 1 and len(timed.train_loss) == 1
    assert timed.extra["steps"] == 1 and timed.extra["images_seen"] == 50 and timed.test_error[-1] is not None
    assert timed.train_loss == full.train_loss[:1]
    # a replay takes exactly the rates given, mid-epoch end included
    replay = fit(tiny_cnn(), small, cfg, lrs=full.lr[:6])
    assert replay.lr == full.lr[:6] and replay.train_loss == full.train_loss[:6]
    assert replay.stopped == "completed"
    with pytest.raises(ValueError, match="not both"):
        fit(tiny_cnn(), small, cfg, until=train.Until(seconds=1.0), lrs=[0.1])
    with pytest.raises(ValueError, match="mid-epoch"):
        fit(tiny_cnn(), small, cfg, until=train.Until(seconds=1.0, train_error=0.5))
    with pytest.raises(ValueError, match="positive"):
        train.Until(seconds=0)


# ---------------------------------------------------------------------------------------------- pieces


def test_schedules_pin_their_values():
    step = TrainConfig(epochs=10, lr=0.1, schedule="step", milestones=(5, 8))
    assert [lr_at(s, 10, step) for s in (0, 49, 50, 79, 80, 99)] == pytest.approx(
        [0.1, 0.1, 0.01, 0.01, 0.001, 0.001]
    )
    cos = TrainConfig(epochs=10, lr=0.1, schedule="warmup_cosine", warmup_epochs=1)
    assert lr_at(0, 10, cos) == pytest.approx(0.01)  # linear warmup over 10 steps
    assert lr_at(9, 10, cos) == pytest.approx(0.1)
    assert lr_at(10, 10, cos) == pytest.approx(0.1)
    assert lr_at(55, 10, cos) == pytest.approx(0.05)  # half way through the decay
    assert lr_at(99, 10, cos) == pytest.approx(0.1 * 0.5 * (1 + math.cos(math.pi * 8.9 / 9)))
    lin = TrainConfig(epochs=10, lr=0.1, schedule="warmup_linear", warmup_epochs=0)
    assert lr_at(50, 10, lin) == pytest.approx(0.05)
    # He et al. (2016): ResNet-110 warms up at 0.01 (a tenth of 0.1), then follows the step schedule
    he = TrainConfig(epochs=164, lr=0.1, schedule="step", milestones=(82, 123), warmup_epochs=1,
                     warmup_factor=0.1)  # fmt: skip
    assert [lr_at(s, 391, he) for s in (0, 390, 391, 82 * 391, 123 * 391)] == pytest.approx(
        [0.01, 0.01, 0.1, 0.01, 0.001]
    )
    assert TrainConfig(epochs=20).warmup == pytest.approx(2.0)  # default: 10% for warmup_* schedules
    assert TrainConfig(epochs=20, schedule="constant").warmup == 0.0


def test_config_validation_and_round_trip():
    with pytest.raises(ValueError, match="schedule must be one of"):
        TrainConfig(schedule="exponential")
    with pytest.raises(ValueError, match="needs milestones"):
        TrainConfig(schedule="step")
    with pytest.raises(ValueError, match="epochs must be at least 1"):
        TrainConfig(epochs=0)
    cfg = TrainConfig(epochs=3, schedule="step", milestones=[1, 2], normalize="mean_image")
    assert TrainConfig.from_dict(json.loads(json.dumps(cfg.to_dict()))) == cfg


def test_history_reach_and_json_round_trip(tmp_path):
    h = History(epoch_train_error=[0.8, 0.5, 0.3, 0.2], train_time_s=[10.0, 20.0, 30.0, 40.0],
                test_error=[None, 0.6, None, 0.35], epoch_train_loss=[2, 1.5, 1, 0.8])  # fmt: skip
    assert h.reach(0.25) == (4, 40.0)  # AlexNet Figure 1: epochs and time to 25% training error
    assert h.reach(0.5) == (2, 20.0) and h.epochs_to(0.3) == 3 and h.time_to(0.3) == 30.0
    assert h.reach(0.1) is None and h.time_to(0.1) is None
    assert h.reach(0.4, metric="test_error") == (4, 40.0)
    assert h.final_test_error == 0.35
    with pytest.raises(ValueError, match="metric must be"):
        h.reach(0.1, metric="loss")
    h.save(tmp_path / "h.json")
    assert History.load(tmp_path / "h.json").to_dict() == h.to_dict()


def test_precision_choice():
    assert pick_precision("cpu", "auto") == ("bf16" if _cpu_has_native_bf16() else "fp32")
    assert pick_precision("cpu", "fp32") == "fp32"
    with pytest.raises(ValueError, match="needs a CUDA GPU"):
        pick_precision("cpu", "fp16")


def test_run_info_says_what_produced_the_numbers(small, monkeypatch):
    monkeypatch.setenv("ECG_PROFILE", "full")  # ignored: run_info records the profile it is given
    info = run_info(small, profile="quick", chapter="test")
    assert info["profile"] == "quick" and info["device"].startswith("cpu: ")
    assert info["n_train"] == 200 and info["n_test"] == 100 and "subset" in info["data"]
    assert info["torch"] == torch.__version__ and info["chapter"] == "test"
    assert "fit_time_s" not in info and info["elapsed_s"] > 0  # no process-wide fitting clock
    assert run_info(small, profile="quick", fit_time_s=12.34)["fit_time_s"] == 12.3  # a caller's total
    text = format_run_info(info)
    assert text.splitlines()[0].startswith("profile") and "quick" in text.splitlines()[0]
    assert run_info()["profile"] is None  # no profile given, none recorded
    with pytest.raises(ValueError, match="profile must be one of quick, standard, full"):
        run_info(profile="fast")


def test_fit_records_the_profile_it_is_given(small, monkeypatch):
    monkeypatch.setenv("ECG_PROFILE", "full")  # never read below the entry points
    h = fit(tiny_cnn(), small.subset(2, 1), quiet(epochs=1, batch_size=20), profile="quick")
    assert h.info["profile"] == "quick"
    assert fit(tiny_cnn(), small.subset(2, 1), quiet(epochs=1, batch_size=20)).info["profile"] is None
    with pytest.raises(ValueError, match="profile must be one of quick, standard, full"):
        fit(tiny_cnn(), small.subset(2, 1), quiet(epochs=1, batch_size=20), profile="Quick")


def test_cli_flags_follow_train_config(capsys):
    """`train`'s flags, defaults and choices come from TrainConfig: the two cannot drift apart."""
    import dataclasses

    from ecg_lib.cli import build_parser
    from ecg_lib.cli_train_flags import config_from_args as _config_from_args

    args = build_parser().parse_args(["train", "resnet20"])
    assert _config_from_args(args) == TrainConfig()  # every default is TrainConfig's
    flags = build_parser()._subparsers._group_actions[0].choices["train"]._option_string_actions
    for f in dataclasses.fields(TrainConfig):
        assert any(a.dest == f.name for a in flags.values()), f"no flag for TrainConfig.{f.name}"
    args = build_parser().parse_args(["train", "resnet20", "--schedule", "step", "--milestones", "2,3",
                                      "--no-augment", "--normalize", "none", "--nesterov",
                                      "--warmup-epochs", "0.5", "--label-smoothing", "0.1"])  # fmt: skip
    cfg = _config_from_args(args)
    assert cfg.milestones == (2.0, 3.0) and not cfg.augment and cfg.normalize is None and cfg.nesterov
    assert cfg.warmup_epochs == 0.5 and cfg.label_smoothing == 0.1
    with pytest.raises(SystemExit):
        build_parser().parse_args(["train", "resnet20", "--optimizer", "rmsprop"])
    assert "invalid choice" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        build_parser().parse_args(["train", "resnet20", "--milestones", "a,b"])
    assert "--milestones takes epochs separated by commas" in capsys.readouterr().err


def test_fast_recipe_sets_what_was_measured_and_keeps_the_rest():
    base = TrainConfig(epochs=5, batch_size=256, seed=3, weight_decay=1e-4, precision="fp32")
    fast = train.apply_recipe(base, "fast")
    assert (fast.lr, fast.nesterov, fast.schedule, fast.warmup_epochs, fast.augment) == (
        0.4, True, "warmup_linear", 1.0, False)  # 0.2 per 128 images of batch; 20% of the run warms up
    kept = (fast.epochs, fast.batch_size, fast.seed, fast.weight_decay, fast.precision)
    assert kept == (5, 256, 3, 1e-4, "fp32")
    assert train.apply_recipe(base, "paper") == base
    with pytest.raises(ValueError, match="recipe must be one of paper, fast"):
        train.apply_recipe(base, "quick")
    # the schedule it names: the peak after the warmup, zero at the end
    steps = 10
    lrs = [lr_at(i, steps, fast) for i in range(5 * steps)]
    assert max(lrs) == pytest.approx(0.4) and lrs.index(max(lrs)) == steps - 1 and lrs[-1] < 0.01


def test_cli_recipe_refuses_flags_it_would_override(capsys):
    from ecg_lib.cli import build_parser
    from ecg_lib.cli_train_flags import config_from_args as _config_from_args

    flags = ["train", "resnet20", "--epochs", "2", "--recipe", "fast", "--no-augment"]
    args = build_parser().parse_args(flags)
    cfg = _config_from_args(args)  # --no-augment agrees with the recipe: accepted
    assert cfg == train.apply_recipe(TrainConfig(epochs=2), "fast")
    args = build_parser().parse_args(["train", "resnet20", "--recipe", "fast", "--lr", "0.3"])
    with pytest.raises(ValueError, match="--recipe fast sets lr itself; drop --lr"):
        _config_from_args(args)


def test_cli_train_prints_accuracy_and_writes_history(tmp_path, capsys):
    out = tmp_path / "h.json"
    code = cli_main(["train", "resnet20", "--subset", "100", "--test-subset", "50", "--epochs", "1",
                     "--batch-size", "50", "--quiet", "--out", str(out)])  # fmt: skip
    assert code == 0
    line = capsys.readouterr().out.strip().splitlines()[-1]
    assert line.startswith("resnet20: test error ") and "accuracy" in line and " s " in line
    h = History.load(out)
    assert h.epochs_done == 1 and h.info["n_train"] == 100 and h.info["n_test"] == 50
    assert h.info["params"] == 269_722  # ResNet-20: "0.27M" parameters (He et al. 2016, Table 6)
    assert cli_main(["train", "resnet50", "--epochs", "1"]) == 2  # an ImageNet net: a clear refusal
    assert "pick a CIFAR model" in capsys.readouterr().err
    assert cli_main(["train", "resnet20", "--subset", "55"]) == 2
    assert "multiple of 10" in capsys.readouterr().err
