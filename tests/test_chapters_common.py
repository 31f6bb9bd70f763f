"""ecg_lib.chapters.common: the chapter's run (profile resolved once), footer and small text helpers."""

import pytest

from ecg_lib.chapters import common
from ecg_lib.profiles import UnknownProfileError


def test_start_chapter_resolves_the_profile_once(monkeypatch, capsys):
    monkeypatch.setenv("ECG_PROFILE", "quick")
    run = common.start_chapter("nin")
    monkeypatch.setenv("ECG_PROFILE", "full")  # later changes do not reach a started chapter
    assert run.profile == "quick" and run.info()["profile"] == "quick"
    run.footer()
    line = capsys.readouterr().out.strip()
    assert line.startswith("Chapter run time: ") and "s of it training" in line
    assert line.endswith("(quick profile)")
    assert common.start_chapter("nin", "full").profile == "full"


def test_a_bad_profile_stops_the_chapter_in_its_first_cell(monkeypatch):
    monkeypatch.setenv("ECG_PROFILE", "bogus")
    with pytest.raises(UnknownProfileError, match="must be one of quick, standard, full"):
        common.start_chapter("nin")


def test_text_helpers():
    assert common.pct(0.1234) == "12.3%" and common.pct(None) == "—" and common.pct(0.5, 2) == "50.00%"
    assert common.markdown_table(["a", "b"], [[1, 2]]) == "| a | b |\n|---|---|\n| 1 | 2 |"
    assert common.join_words(["A"]) == "A" and common.join_words(["A", "B"]) == "A and B"
    assert common.join_words(["A", "B", "D"]) == "A, B and D"
    assert common.join_words(["cat", "dog"], "or") == "cat or dog"
    with pytest.raises(ValueError, match="nothing to join"):
        common.join_words([])


# ----------------------------------------------------------------------------------------------------------
# Archived evidence first: the archived run's figure and verdicts, then the reader's own run


def test_the_run_info_is_a_one_line_badge_with_the_details_folded():
    info = {"profile": "quick", "device": "cpu: AMD EPYC, 2 threads", "precision": "fp32",
            "data": "archive /work/shared/data/cifar10-jpeg.tar.gz (decoded cache /x/y.npy, read in 1 s)",
            "data_quality": "lossy JPEG copy (quality 75) — absolute errors are not comparable"}  # fmt: skip
    badge = common.RunBadge(info)
    assert badge.line == "quick profile · cpu: AMD EPYC, 2 threads · CIFAR-10: lossy JPEG copy (quality 75)"
    html = badge._repr_html_()
    first, folded = html.split("<details>")
    assert "quick profile" in first and "precision" not in first  # the details are folded
    assert "fp32" in folded and "/work/shared" not in html  # the data by its source, never the path
    # without a quality note: the archive's file name, still no folders
    del info["data_quality"]
    assert common.RunBadge(info).line.endswith("CIFAR-10: cifar10-jpeg.tar.gz")


def test_print_info_displays_the_badge(monkeypatch):
    import IPython.display

    shown = []
    monkeypatch.setattr(IPython.display, "display", shown.append)
    common.start_chapter("nin", "quick").print_info()
    assert len(shown) == 1 and isinstance(shown[0], common.RunBadge)
    assert shown[0].line.startswith("quick profile · ")


def test_archive_figure_and_summary_lead_with_the_archived_run():
    import matplotlib.pyplot as plt

    from ecg_lib.chapters import vgg as vgg_page
    from ecg_lib.results import find_archives

    found = find_archives("vgg", "train_configs")
    if not found:
        pytest.skip("no archived vgg/train_configs")
    fig = common.archive_figure("vgg", "train_configs")
    assert plt.get_fignums() == []  # no pyplot figure: the cell's returned Figure is its only output
    assert fig.get_figwidth() <= common.FIGURE_WIDTH and len(fig.axes) == len(found)
    titles = [f"archived: {common.archive_label(r)}" for r in found.values()]
    assert [ax.get_title() for ax in fig.axes] == titles
    text = common.archive_summary("vgg", "train_configs", vgg_page.LEDGER, ["deeper", "lrn"])
    assert text.startswith(f"**Archived {next(iter(found))} run** (")
    bullets = [line for line in text.splitlines() if line.startswith("- ")]
    assert bullets == [f"- {vgg_page.LEDGER.archived_sentence(k)}" for k in ("deeper", "lrn")]
    # a second section quoting the same run leaves out how it was made
    again = common.archive_summary("vgg", "train_configs", vgg_page.LEDGER, ["lrn"], how_made=False)
    assert again == bullets[1]
    quoted = common.quoted_archive("vgg", "train_configs")
    assert quoted is not None and quoted.profile == ("full" if "full" in found else "standard")


def test_without_an_archive_the_live_run_is_the_evidence(tmp_path):
    assert common.archive_figure("vgg", "train_configs", root=tmp_path) is None
    assert common.quoted_archive("vgg", "train_configs", root=tmp_path) is None
    text = common.archive_summary("vgg", "train_configs", root=tmp_path)
    assert "\n" not in text and text.startswith("No archived run of this experiment exists yet")


def test_the_live_figure_and_the_small_run_lead():
    import matplotlib.pyplot as plt

    from ecg_lib.experiments import ExperimentResult
    from ecg_lib.results import find_archive

    archived = find_archive("nin", "train_heads", profile="standard")
    if archived is None:
        pytest.skip("no archived nin/train_heads")
    live = ExperimentResult(archived.name, "quick", histories=archived.histories, metrics=archived.metrics,
                            run_info={"device": "cpu", "precision": "fp32"})  # fmt: skip
    fig = common.live_figure(live)
    assert plt.get_fignums() == [] and fig.axes[0].get_title() == "your run: quick profile · cpu · fp32"
    assert common.small_run_lead(live).startswith("**Your small run (quick profile).**")
    assert "do not decide the claim" in common.small_run_lead(live)
    standard = ExperimentResult(archived.name, "standard", histories={}, metrics={}, run_info={})
    assert common.small_run_lead(standard) == ("**Your run (standard profile).** The verdicts quote the "
                                               "archived run above.")  # fmt: skip


def test_a_kernel_without_a_figure_formatter_gets_the_inline_one(monkeypatch):
    # a chapter that never touches pyplot still shows the Figures its cells return: found by executing
    # vgg.md, whose figure cells came back as text/plain only
    import IPython
    from matplotlib.figure import Figure

    class Formatter:
        def __init__(self, types):
            self.types = types

        def lookup_by_type(self, cls):
            if cls not in self.types:
                raise KeyError(cls)

    class Shell:
        kernel = object()

        def __init__(self, types):
            self.display_formatter = type("D", (), {"formatters": {"image/png": Formatter(types)}})()
            self.magics = []

        def run_line_magic(self, name, line):
            self.magics.append((name, line))

    bare, ready = Shell(set()), Shell({Figure})
    for shell in (bare, ready):
        monkeypatch.setattr(IPython, "get_ipython", lambda shell=shell: shell)
        common.show_figures_inline()
    assert bare.magics == [("matplotlib", "inline")] and ready.magics == []
    monkeypatch.setattr(IPython, "get_ipython", lambda: None)
    common.show_figures_inline()  # a script: nothing to do, nothing raised


def test_time_text_says_when_a_run_was_resumed():
    assert common.time_text({"wall_time_s": 600.0, "fit_time_s": 590.0}) == "Wall time 10.0 min."
    assert common.time_text({"wall_time_s": 90.0}) == "Wall time 1.5 min."
    # depth110: the process that wrote the archive trained one epoch; the run took three sessions
    text = common.time_text({"wall_time_s": 1014.8, "fit_time_s": 11535.2})
    assert text.startswith("Training time 3.2 h in all") and "resumed from checkpoints" in text
    assert "16.9 min" in text
    assert common.time_text({}) == ""
