"""ecg_lib.profiles: the profile is resolved once, at an entry point, and unknown names fail fast."""

import pytest
import torch

from ecg_lib import profiles
from ecg_lib.cli import main as cli_main
from ecg_lib.profiles import PROFILES, UnknownProfileError, check_profile, resolve_profile, select


def test_resolve_reads_the_environment_only_when_not_given(monkeypatch):
    monkeypatch.setenv("ECG_PROFILE", "full")
    assert resolve_profile() == "full"
    assert resolve_profile("quick") == "quick"  # an explicit value wins over the environment
    monkeypatch.setenv("ECG_PROFILE", " Quick ")
    assert resolve_profile() == "quick"  # the environment is trimmed and case-folded
    monkeypatch.delenv("ECG_PROFILE")
    auto = "standard" if torch.cuda.is_available() else "quick"
    assert resolve_profile() == auto and resolve_profile("auto") == auto
    monkeypatch.setenv("ECG_PROFILE", "")
    assert resolve_profile() == auto


@pytest.mark.parametrize("bad", ["fast", "Full", "bogus", ""])
def test_unknown_profiles_name_the_valid_ones(monkeypatch, bad):
    with pytest.raises(UnknownProfileError, match="must be one of quick, standard, full"):
        check_profile(bad)
    if bad.strip():
        monkeypatch.setenv("ECG_PROFILE", "bogus")
        with pytest.raises(UnknownProfileError, match=r"\$ECG_PROFILE must be one of quick, standard, full"):
            resolve_profile()
    assert issubclass(UnknownProfileError, ValueError)


def test_select_picks_one_settings_entry():
    table = {"quick": 1, "standard": 3, "full": 2}
    assert [select(table, p) for p in PROFILES] == [1, 3, 2]
    with pytest.raises(UnknownProfileError, match="declare no 'full' profile"):
        select({"quick": 1}, "full")
    with pytest.raises(UnknownProfileError, match="must be one of"):
        select(table, "fast")


def test_the_environment_is_read_in_one_module():
    """Nothing below the entry points reads $ECG_PROFILE: only ecg_lib/profiles.py names it."""
    from pathlib import Path

    root = Path(profiles.__file__).resolve().parent
    readers = sorted(str(p.relative_to(root)) for p in root.rglob("*.py") if "ECG_PROFILE" in p.read_text())
    assert readers == ["profiles.py"]


@pytest.mark.parametrize("argv", [["models", "--family", "nin"], ["reproduce", "nin", "--list"],
                                  ["train", "resnet20", "--epochs", "1", "--subset", "10"]])
def test_cli_fails_fast_on_a_bad_environment_profile(monkeypatch, capsys, argv):
    monkeypatch.setenv("ECG_PROFILE", "bogus")
    assert cli_main(argv) == 2
    err = capsys.readouterr().err
    assert "$ECG_PROFILE must be one of quick, standard, full" in err and "Traceback" not in err


def test_reproduce_leaves_the_environment_alone(monkeypatch, tmp_path):
    import os

    monkeypatch.setenv("ECG_PROFILE", "full")
    assert cli_main(["reproduce", "nin", "--profile", "quick", "--list"]) == 0
    assert os.environ["ECG_PROFILE"] == "full"


def test_seeded_variant_replaces_every_seed_its_settings_hold() -> None:
    from ecg_lib.experiments import resnet, vgg, with_seed

    depth = with_seed(resnet.SETTINGS["standard"], 1)
    assert (depth.seed, depth.train.seed) == (1, 1)
    assert with_seed(vgg.SETTINGS["standard"], 3).seeds == (3,)
    seen = {}

    def fake(data=None, *, profile, settings=None, context=None):
        seen.update(profile=profile, seed=settings.seed)

    from ecg_lib.experiments import seeded

    seeded(fake, resnet.SETTINGS, 1)(profile="standard")
    assert seen == {"profile": "standard", "seed": 1}
    with pytest.raises(ValueError, match="holds no seed"):
        import dataclasses

        @dataclasses.dataclass(frozen=True)
        class NoSeed:
            n: int = 1

        with_seed(NoSeed(), 1)
