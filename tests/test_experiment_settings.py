"""The one settings shape (ecg_lib.experiments.settings) and the one experiment signature (issue 22)."""

from __future__ import annotations

import dataclasses
import inspect

import pytest

from ecg_lib.experiments import CHAPTERS, chapter_module, needs_data, with_seed
from ecg_lib.experiments.settings import ExperimentSettings, resolve
from ecg_lib.profiles import PROFILES, UnknownProfileError
from ecg_lib.train import TrainConfig

ENTRIES = [(c, n, fn) for c in CHAPTERS for n, fn in chapter_module(c).EXPERIMENTS.items()]


@pytest.mark.parametrize(("chapter", "name", "fn"), ENTRIES, ids=[f"{c}-{n}" for c, n, _ in ENTRIES])
def test_every_experiment_has_the_one_signature(chapter: str, name: str, fn) -> None:
    params = inspect.signature(fn).parameters
    first = list(params.values())[:4]
    assert [p.name for p in first] == ["data", "profile", "settings", "context"], f"{chapter}.{name}"
    assert first[0].default is None and first[0].kind is inspect.Parameter.POSITIONAL_OR_KEYWORD
    assert first[1].default is inspect.Parameter.empty and first[1].kind is inspect.Parameter.KEYWORD_ONLY
    assert all(p.default is None and p.kind is inspect.Parameter.KEYWORD_ONLY for p in first[2:])
    # anything beyond the four (a race's models, NIN's keep) has a default: reproduce passes none of it
    assert all(p.default is not inspect.Parameter.empty for p in list(params.values())[4:])


def test_only_the_arithmetic_experiments_need_no_data() -> None:
    without = sorted(f"{c}.{n}" for c, n, fn in ENTRIES if not needs_data(fn))
    assert without == ["alexnet.architecture", "googlenet.counts", "resnet.tables"]


def _tables() -> list[tuple[str, dict]]:
    out = []
    for chapter in CHAPTERS:
        for module_name in {fn.__module__ for fn in chapter_module(chapter).EXPERIMENTS.values()}:
            module = __import__(module_name, fromlist=["_"])
            out += [(f"{module_name}.{n}", v) for n, v in vars(module).items()
                    if n.endswith("SETTINGS") and isinstance(v, dict) and set(v) == set(PROFILES)]
    return out


def test_every_seeded_table_holds_experiment_settings_with_one_seed() -> None:
    tables = dict(_tables())
    # the reference networks' evaluation trains nothing: its settings are sizes only
    assert {n for n, t in tables.items() if not isinstance(t["quick"], ExperimentSettings)} == {
        "ecg_lib.experiments.reference.SETTINGS"}  # fmt: skip
    for name, table in tables.items():
        for profile, s in table.items():
            if not isinstance(s, ExperimentSettings):
                continue
            moved = with_seed(s, 7)
            assert (moved.seed, moved.train.seed) == (7, 7), (name, profile)
            # nothing but the seed moves (VGG's runs become the one seed's)
            same = {f.name for f in dataclasses.fields(s)} - {"train", "seeds"}
            assert all(getattr(moved, f) == getattr(s, f) for f in same), (name, profile)
            assert moved.train.replace(seed=s.train.seed) == s.train
            assert getattr(moved, "seeds", (7,)) == (7,)


def test_resolve_takes_the_given_settings_or_the_profiles_entry() -> None:
    @dataclasses.dataclass(frozen=True)
    class Mine(ExperimentSettings):
        width: float = 1.0

    table = {p: Mine(train=TrainConfig(epochs=i + 1), n_train_per_class=None, n_test_per_class=None)
             for i, p in enumerate(PROFILES)}  # fmt: skip
    assert resolve(None, table, "standard").train.epochs == 2
    given = table["quick"]
    assert resolve(given, table, "full") is given
    with pytest.raises(UnknownProfileError):
        resolve(given, table, "medium")
    with pytest.raises(UnknownProfileError, match="declare no 'full'"):
        resolve(None, {"quick": given}, "full")
    # the shared fields are keyword-only: an experiment's own fields keep their positions
    assert Mine(0.5, train=TrainConfig(), n_train_per_class=1, n_test_per_class=2).width == 0.5
