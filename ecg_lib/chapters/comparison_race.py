"""The CIFAR-10 race, the comparison chapter's second page (``notebooks/comparison_race.md``;
:func:`ecg_lib.experiments.comparison.race`, archived first, then the reader's own run): its budget, tables,
generated sentences, plot and the batch-norm rerun. The rest of the chapter (the five ImageNet networks,
what carried forward, the closing page's five points) is :mod:`ecg_lib.chapters.comparison`'s, which
re-exports everything here.

A timed race (the quick profile) gives every network the same training time, enforced after every
optimisation step; what each network does with it (images per second, steps, images seen, errors) varies
with the machine and its load from one run to the next, so every sentence about a race is generated from
its result.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ecg_lib import papers
from ecg_lib.chapters import common
from ecg_lib.chapters import reference as reference_page
from ecg_lib.chapters.common import pct
from ecg_lib.counting import format_count
from ecg_lib.experiments import ExperimentResult
from ecg_lib.experiments import comparison as experiment
from ecg_lib.results import find_archive

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = [
    "CHAPTER",
    "archived_race_text",
    "archived_races",
    "archived_reference",
    "bn_intro_text",
    "bn_rerun_lines",
    "bn_rerun_text",
    "plot_race",
    "race_budget",
    "race_cost_text",
    "race_findings",
    "race_models_table",
    "race_setup_text",
    "race_table",
    "race_time_text",
    "reference_text",
    "seeds_cell",
    "show_full_race",
    "time_span",
]

CHAPTER = "comparison"  # whose archives the race reads


def race_budget(settings: experiment.RaceSettings) -> str:
    """The race's budget for the run-info box: seconds per network (quick) or epochs (full)."""
    if settings.seconds_per_net is not None:
        budget = f"{settings.seconds_per_net:.0f} s of training per network"
    else:
        budget = f"{settings.max_epochs} epochs per network"
    return f"{budget}, seed 0 (the full profile archives seeds 0, 1, 2)"


def race_models_table(facts: Sequence[experiment.RaceModel]) -> str:
    """Family, measured depth, size, cost per 32 x 32 image and receptive field of each race network."""
    return common.markdown_table(
        ("network", "family", "depth", "parameters", "multiply-adds per 32×32 image",
         "receptive field of the last conv"),
        [(f"`{r.name}`", r.family, r.depth, format_count(r.params), format_count(r.macs),
          f"{r.receptive_field} px") for r in facts],
    )  # fmt: skip


def _ref_name(name: str) -> str:
    return f"ResNet-{name.removeprefix('resnet')}"


def race_table(result: ExperimentResult, reference: ExperimentResult | None = None) -> str:
    """Two tables of at most six columns. First what each network of a race did with its budget: its
    speed (images per second of training), steps, passes, images seen and realised training time. Then
    what it reached: training images, passes and test error; with ``reference``
    (:func:`~ecg_lib.experiments.comparison.reference_errors`, or the archived reference networks), a row
    per trained reference network, trained elsewhere on the original data and scored on the same test
    images."""
    nets = [(name, result.metrics["nets"][name]) for name in result.metrics["models"]]
    budget = result.metrics.get("seconds_per_net")
    time_head = "training time" + (f" (budget {budget:g} s)" if budget is not None else "")
    spent = common.markdown_table(
        ("network", "images/s", "steps", "passes", "images seen", time_head),
        [(f"`{name}`", "—" if n.get("images_per_s") is None else f"{n['images_per_s']:.0f}", _steps(n),
          f"{_passes(n):.1f}", f"{n['images_seen']:,}", f"{n['train_time_s']:.1f} s") for name, n in nets],
    )  # fmt: skip
    rows = [(f"`{name}`", f"{10 * n['train_per_class']:,}", f"{_passes(n):.1f}", pct(n["test_error"]))
            for name, n in nets]  # fmt: skip
    if reference is not None:
        for name, e in reference.metrics["errors"].items():
            rows.append((f"{_ref_name(name)}, trained elsewhere on the original data (reference)",
                         "50,000 (original files)", "200 (third party's schedule)", pct(e["error"])))
    reached = common.markdown_table(("network", "training images", "passes", "test error"), rows)
    return spent + "\n\n" + reached


def _passes(n: dict[str, Any]) -> float:
    """Passes over its training images (older results record whole epochs only)."""
    return float(n.get("passes", n["epochs"]))


def _steps(n: dict[str, Any]) -> str:
    return "—" if n.get("steps") is None else f"{n['steps']:,}"


def _ordinal(k: int) -> str:
    return {1: "", 2: "second ", 3: "third ", 4: "fourth ", 5: "fifth "}.get(k, f"{k}th ")


def _count(k: int) -> str:
    words = ("no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")
    return words[k] if 0 <= k < len(words) else str(k)


def race_setup_text(table: dict[str, experiment.RaceSettings]) -> str:
    """The race's budget in each profile of ``table`` (:data:`~ecg_lib.experiments.comparison.SETTINGS`), as
    a Markdown list generated from the settings: what the code guarantees, nothing more."""
    seeds = ", ".join(k.removeprefix("race_seed") for k in experiment.EXPERIMENTS)
    items = []
    for profile, st in table.items():
        if st.n_train_per_class is None:
            train = "all 50,000 training images"
        else:
            train = f"a {10 * st.n_train_per_class:,}-image subset of the training images"
        test = "all 10,000" if st.n_test_per_class is None else f"{10 * st.n_test_per_class:,}"
        if st.seconds_per_net is not None:
            items.append(
                f"- **{profile} profile**: the same *training time* for every network, "
                f"{st.seconds_per_net:g} s, on the same images, {train}, reshuffled every pass. The clock is "
                "read after every optimisation step and a network stops at the first step that reaches the "
                "budget, so it overruns by at most that step (or it stops after "
                f"{st.max_epochs} passes). The learning-rate schedule (warmup, cosine decay) runs over the "
                "budget's seconds, so it completes whatever the network's speed; a network too slow for one "
                f"pass sees part of the images once. Test error is scored once, at the end, on {test} test "
                "images."
            )  # fmt: skip
        else:
            items.append(
                f"- **{profile} profile**: the same *number of epochs*, {st.max_epochs}, for every network, "
                f"on {train}, scored on {test} test images; training times differ. The archive keeps "
                f"one race per seed ({seeds})."
            )  # fmt: skip
    return "\n".join(items)


def race_time_text(result: ExperimentResult) -> str:
    """The realised training times of a race against its budget, generated from the result."""
    nets = result.metrics["nets"]
    times = {name: n["train_time_s"] for name, n in nets.items()}
    budget = result.metrics.get("seconds_per_net")
    if budget is None:
        epochs = sorted({n["epochs"] for n in nets.values()})
        return (f"**Measured.** No time budget in this profile: every network trained "
                f"{', '.join(map(str, epochs))} epochs; {time_span(times)}.")  # fmt: skip
    over = {name: t - budget for name, t in times.items()}
    worst = max(over, key=over.get)
    last_step = {name: _last_step(result, name) for name in nets}
    within = [name for name in nets if nets[name]["stopped"] == "time_budget"
              and over[name] <= last_step[name] + 1e-9]  # fmt: skip
    text = f"**Measured.** Budget {budget:g} s per network; {time_span(times)}. "
    if len(within) == len(nets):
        text += ("Every network stopped at the first step that reached the budget. The largest overrun is "
                 f"{worst}'s, {over[worst]:.2f} s, within its last step, which took "
                 f"{last_step[worst]:.2f} s.")  # fmt: skip
    else:
        why = {"time_budget": "more than one step over", "completed": "finished its passes first",
               "non_finite": "loss became non-finite"}  # fmt: skip
        others = [f"{n} ({why.get(nets[n]['stopped'], nets[n]['stopped'])}, {times[n]:.1f} s)" for n in nets
                  if n not in within]  # fmt: skip
        stopped = (f"{_count(len(within)).capitalize()} of the {_count(len(nets))} networks" if within
                   else "No network")  # fmt: skip
        text += f"{stopped} stopped at the first step that reached it; not so: {', '.join(others)}."
    return text


def time_span(times: dict[str, float]) -> str:
    """The realised training times of a race as a clause: "each network trained for 20.0 s" when they
    agree to the tenth of a second shown, else "training times ran from 20.1 s (vgg_cifar) to 20.3 s
    (nin_cifar)" (a range from one figure to the same figure says nothing)."""
    lo, hi = min(times, key=times.get), max(times, key=times.get)
    if f"{times[lo]:.1f}" == f"{times[hi]:.1f}":
        return f"each network trained for {times[lo]:.1f} s"
    return f"training times ran from {times[lo]:.1f} s ({lo}) to {times[hi]:.1f} s ({hi})"


def _last_step(result: ExperimentResult, name: str) -> float:
    """Seconds of a timed run's last step (its History records the clock after every step, or after every
    window of ``steps_per_entry`` steps in a long run: the last window's mean step)."""
    h = result.histories.get(name)
    if h is None or not h.train_time_s:
        return float("nan")
    window = h.train_time_s[-1] - (h.train_time_s[-2] if len(h.train_time_s) > 1 else 0.0)
    per_entry = int(h.extra.get("steps_per_entry", 1))
    steps = h.extra.get("steps")
    last = steps - per_entry * (len(h.train_time_s) - 1) if steps and per_entry > 1 else 1
    return window / max(1, last)


def race_cost_text(result: ExperimentResult, facts: Sequence[experiment.RaceModel]) -> str:
    """How cost per image shaped a race: images seen by each network in order of cost, and the best error
    against the papers' CIFAR-10 figures, generated from the result."""
    nets = result.metrics["nets"]
    ordered = sorted((r for r in facts if r.name in nets), key=lambda r: r.macs)
    seen = [f"{r.name}, at {format_count(r.macs)} multiply-adds per image, saw "
            f"{nets[r.name]['images_seen']:,} images ({_passes(nets[r.name]):.1f} passes)"
            for r in ordered]  # fmt: skip
    by_seen = sorted(nets, key=lambda n: -nets[n]["images_seen"])
    by_cost = [r.name for r in ordered]
    misplaced = sum(a != b for a, b in zip(by_seen, by_cost, strict=True))
    if misplaced == 0:
        order = "The cheaper the network per image, the more images it saw, without exception."
    else:
        order = (f"Ranked by images seen, {_count(misplaced)} of the {_count(len(nets))} networks sit at "
                 "another place than in the ranking by cost per image: speed on this machine is not "
                 "multiply-adds alone.")  # fmt: skip
    text = "**Measured.** From the cheapest to the most expensive: " + "; ".join(seen) + ". " + order
    scored = {n: v["test_error"] for n, v in nets.items() if v["test_error"] is not None}
    figures = {n: f.error for n, f in papers.COMPARISON_CIFAR.items()}
    if scored and figures:
        best = min(scored, key=scored.get)
        paper_best = min(figures, key=figures.get)
        gap = scored[best] - figures[paper_best]
        text += (f" The lowest test error here is {best}'s, {pct(scored[best])}. The lowest CIFAR-10 figure "
                 f"the papers report for these families is {paper_best}'s, {100 * figures[paper_best]:.2f}%, "
                 f"{100 * abs(gap):.1f} points {'lower' if gap > 0 else 'higher'}.")  # fmt: skip
    return text


def bn_intro_text(result: ExperimentResult, facts: Sequence[experiment.RaceModel],
                  name: str = "vgg_cifar") -> str:  # fmt: skip
    """Where ``name`` stands in the race before its batch-norm rerun: its rank by cost and by passes, and
    its test error against chance, generated from the result."""
    nets = result.metrics["nets"]
    by_cost = [r.name for r in sorted(facts, key=lambda r: r.macs) if r.name in nets]
    by_passes = sorted(nets, key=lambda n: -_passes(nets[n]))
    n = nets[name]
    error = n["test_error"]
    text = (f"`{name}` is the {_ordinal(by_cost.index(name) + 1)}cheapest of the {_count(len(nets))} per "
            f"image and made {_passes(n):.1f} passes over its {10 * n['train_per_class']:,} training images, "
            f"the {_ordinal(by_passes.index(name) + 1)}most of the {_count(len(nets))}; it ends at "
            f"{pct(error)} test error")  # fmt: skip
    if error is not None and error > 0.85 and _passes(n) >= 1:
        text += (", within five points of chance (90%). Cost cannot explain a network that stays near "
                 "chance after so many passes.")
    elif error is not None and error > 0.85:
        # less than one pass: too little training to tell a stalled network from an untrained one
        text += ", within five points of chance (90%), before it has seen each image once."
    else:
        text += "."
    return text


def plot_race(result: ExperimentResult, ax: Axes) -> None:
    """The race as a plot: each network's training error against its training seconds (see
    :func:`~ecg_lib.experiments.comparison.race_curve`), one line per network; the time axis is the budget
    they shared."""
    for name, h in result.histories.items():
        xs, ys = experiment.race_curve(h)
        if xs:
            ax.plot(xs, ys, marker="o" if len(xs) < 4 else None, markersize=4, label=name)
    ax.axhline(90, color="grey", lw=0.8, ls=":")  # chance: one class in ten
    ax.set_xlabel("training time (s)")
    ax.set_ylabel("training error (%)")
    ax.legend(fontsize=8)


def race_findings(result: ExperimentResult, facts: Sequence[experiment.RaceModel]) -> str:
    """Three lines on a race: the lowest test error, the spread of images seen, the networks near chance."""
    nets = result.metrics["nets"]
    scored = {name: n["test_error"] for name, n in nets.items() if n["test_error"] is not None}
    best = min(scored, key=scored.get)
    cheapest = min(facts, key=lambda r: r.macs).name
    seen = {name: n["images_seen"] for name, n in nets.items()}
    near_chance = [name for name, e in scored.items() if e > 0.85]
    return "\n".join([
        f"Lowest test error: {best} ({pct(scored[best])}); cheapest per image: {cheapest}.",
        (f"Every network saw {min(seen.values()):,} images." if min(seen.values()) == max(seen.values())
         else f"Images seen ranged from {min(seen.values()):,} ({min(seen, key=seen.get)}) "
              f"to {max(seen.values()):,} ({max(seen, key=seen.get)}), a factor of "
              f"{max(seen.values()) / max(1, min(seen.values())):.0f}."),
        (f"Within 5 points of chance (90%): {', '.join(near_chance)}." if near_chance
         else "No network ended within 5 points of chance (90%)."),
    ])  # fmt: skip


def reference_text(result: ExperimentResult, reference: ExperimentResult) -> str:
    """The measured paragraph: where the trained references sit beside the race, on the same test images."""
    errs = {n: e["error"] for n, e in reference.metrics["errors"].items()}
    n = next(iter(reference.metrics["errors"].values()))["n"]
    nets = result.metrics["nets"]
    scored = {name: v["test_error"] for name, v in nets.items() if v["test_error"] is not None}
    best = min(scored, key=scored.get) if scored else None
    effect = reference_page.offsets_text(reference)
    data = str(reference.metrics.get("data_quality") or "").split(" — ")[0].split(" (")[0]
    scores = [f"{_ref_name(k)} {pct(e)}" for k, e in errs.items()]
    listed = ", ".join(scores[:-1]) + " and " + scores[-1] if len(scores) > 1 else scores[0]
    text = (f"**Measured.** On the race's own {n:,} test images, the trained references score {listed}. "
            "They were trained elsewhere, on the original CIFAR-10, for 200 epochs with their publisher's "
            f"schedule, not the paper's. The data here is a {data or 'copy of unrecorded source'}; on it "
            f"their errors are {effect} points off the publisher's figures on the original test set (README "
            "table / the files' best-epoch best_prec1), which is what the data costs a trained network. ")
    if best is not None:
        gap = scored[best] - min(errs.values())
        text += (f"The race's best network, {best}, ends at {pct(scored[best])}, {100 * gap:+.1f} points "
                 "from the better reference")  # fmt: skip
        if "resnet20" in scored and "resnet20" in errs:
            same = scored["resnet20"] - errs["resnet20"]
            text += (f"; the race's resnet20, the same architecture as the reference ResNet-20, ends "
                     f"{100 * same:+.1f} points from it")  # fmt: skip
        text += ": the distance between this budget and a full training run."
    return text


def archived_race_text(archived: ExperimentResult | None, reference: ExperimentResult | None,
                       facts: Sequence[experiment.RaceModel]) -> str:  # fmt: skip
    """What the archived race of one seed shows, generated from it: its two tables (with the archived
    reference networks, when ``reference`` is given), its realised times, where the references sit and
    how cost per image shaped it; a note without an archive."""
    if archived is None:
        return common.NO_ARCHIVE.format(chapter=CHAPTER)
    parts = [race_table(archived, reference), race_time_text(archived)]
    if reference is not None:
        parts.append(reference_text(archived, reference))
    parts.append(race_cost_text(archived, facts))
    return "\n\n".join(parts)


def archived_reference(names: Sequence[str] = ("resnet20", "resnet56")) -> ExperimentResult | None:
    """The trained reference networks ``names`` as the ResNet chapter archived them (``reference_depth``:
    scored on all 10,000 test images of the same copy, the standard race's test set), in the shape of
    :func:`~ecg_lib.experiments.comparison.reference_errors`; None without that archive."""
    depth = find_archive("resnet", "reference_depth")
    if depth is None:
        return None
    m = depth.metrics
    keep = [n for n in names if n in m["errors"]]
    metrics = {**m, "errors": {n: m["errors"][n] for n in keep}}
    for key in ("best_prec1", "reported_accuracy", "readme_error"):
        if key in m:
            metrics[key] = {n: m[key][n] for n in keep}
    return ExperimentResult("comparison.reference", depth.profile, metrics=metrics, run_info=depth.run_info)


def bn_rerun_lines(bn: experiment.BatchNormRerun) -> str:
    """The raced network and its batch-norm rerun, one line each."""
    steps = f"{bn.steps:,} steps, " if bn.steps else ""
    return (
        f"{bn.model}, as raced:          {pct(bn.error_without)} test error after {steps}"
        f"{bn.images_seen:,} images seen\n"
        f"{bn.model} with batch norm:    {pct(bn.test_error)} test error, the same batches and learning "
        f"rates ({bn.train_time_s:.0f} s)"
    )


def bn_rerun_text(bn: experiment.BatchNormRerun) -> str:
    """The measured paragraph: did batch normalisation turn a stalled network into one that learns? The
    sentence follows the numbers: a change within two standard errors of the test-set size (binomial) is
    called noise, and equal figures are called equal."""
    a, b = bn.error_without, bn.test_error
    if a is None or b is None:
        missing = "the raced network" if a is None else "the rerun"
        return f"**Measured.** No test error for {missing} (its loss became non-finite): nothing to compare."
    n = int(bn.history.info.get("n_test") or 0)
    se = ((a * (1 - a) + b * (1 - b)) / n) ** 0.5 if n else 0.0
    stalled, learns = a > 0.85, b < a - max(0.1, 2 * se)
    if stalled and learns:
        return (
            f"**Measured.** The plain `{bn.model}` stays near chance ({pct(a)}), and the same network with "
            f"batch normalisation reaches {pct(b)} in the same steps: in this race VGG loses to an "
            "optimisation problem of a deep plain network, not to its cost. The VGG paper met the same "
            "problem on ImageNet: bad initialisation can stall deep nets, so the authors trained their "
            "shallowest configuration first and started the deeper ones from its layers (Sec. 3.1 of "
            "{cite}`simonyan2015very`)."
        )
    if pct(a) == pct(b):
        return (f"**Measured.** Batch normalisation leaves `{bn.model}`'s test error where it was, "
                f"{pct(a)}, in the same steps.")  # fmt: skip
    noise = (f"the two errors differ by {100 * abs(b - a):.1f} points, within two standard errors "
             f"({200 * se:.1f} points on {n:,} test images), so this run cannot tell them apart")  # fmt: skip
    if abs(b - a) <= 2 * se:
        return (f"**Measured.** With batch normalisation `{bn.model}` ends at {pct(b)} against {pct(a)} "
                f"without: {noise}.")  # fmt: skip
    verb = "lowers" if b < a else "raises"
    return (f"**Measured.** Batch normalisation {verb} `{bn.model}`'s test error from {pct(a)} to {pct(b)} "
            f"in the same steps, {100 * abs(b - a):.1f} points, more than two standard errors "
            f"({200 * se:.1f} points on {n:,} test images).")  # fmt: skip


def archived_races(seeds: Sequence[int] = (0, 1, 2)) -> list[ExperimentResult]:
    """The archived races (``race_seed0`` ...) that exist, in seed order: the full profile's where it has
    archived any, else the standard profile's (one profile, so the pooled rows never mix budgets)."""
    for profile in ("full", "standard"):
        found = [find_archive(CHAPTER, f"race_seed{s}", profile=profile) for s in seeds]
        if any(a is not None for a in found):
            return [a for a in found if a is not None]
    return []


def seeds_cell(row: experiment.RaceRow) -> str:
    """The seeds a pooled row stands for, and how many of them diverged (they have no test error and are
    not in its mean)."""
    diverged = row.seeds - len(row.errors)
    return f"{row.seeds}" + (f" ({diverged} diverged, left out of the mean)" if diverged else "")


def show_full_race(archives: Sequence[ExperimentResult], rows: Sequence[experiment.RaceRow]) -> None:
    """The archived races pooled over seeds (``rows`` from
    :func:`~ecg_lib.experiments.comparison.race_summary`), or a note that there is no archive."""
    if not rows:
        print(common.NO_ARCHIVE.format(chapter=CHAPTER))
        return
    print(common.archive_label(archives[0]))
    common.display_markdown(common.markdown_table(
        ("network", "test error, mean ± sd over seeds", "seeds", "epochs", "training time (first seed)"),
        [(f"`{r.model}`", f"{pct(r.error_mean)} ± {pct(r.error_std)}", seeds_cell(r), r.epochs,
          f"{r.train_time_s / 60:.1f} min") for r in rows],
    ))  # fmt: skip
