"""Kernel-free explorers: the page's JavaScript formulas against the library's counts, and the explorers
driven in headless Chromium.

Three layers. (1) The library's numbers (``explorer_numbers``) pinned to the papers. (2) ``formulas`` of
``explorers.js`` run in Node on a grid of settings and compared with the library, key by key (integers
exactly). (3) Every explorer rendered into one standalone page, opened in Chromium with every
non-file request aborted: each control is moved and the displayed numbers must change and equal the
library's for the settings the page then holds.
"""

from __future__ import annotations

import itertools
import json
import math
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from ecg_lib.chapters import explorers as E
from ecg_lib.chapters.explorer_numbers import MAX_EXACT, REFERENCES, inception_inputs, reference_numbers
from ecg_lib.models import googlenet as G

JS = Path(E.__file__).with_name("explorers.js")
NODE = shutil.which("node")

LESION_DATA = {
    "errors": {"stage1.1": 0.12, "stage1.2": 0.10, "stage2.1": 0.55, "stage2.2": 0.11, "stage3.1": 0.60},
    "intact": 0.08,
    "combos": {("stage1.1", "stage1.2"): 0.21},
}
CURVES = {
    "live quick run": {"resnet20": [0.9, 0.62, None, 0.41, 0.35], "plain20": [0.9, 0.75, 0.66, 0.6, 0.57]},
    "archived full run": {
        "resnet20": {"x": [5, 10, 15, 20, 25, 30], "y": [0.4, 0.25, 0.18, 0.12, 0.09, 0.085]},
        "plain20": {"x": [5, 10, 15, 20, 25, 30], "y": [0.5, 0.33, 0.22, 0.16, 0.13, 0.115]},
    },
}


def all_explorers() -> list[E.Explorer]:
    return [
        E.vgg_stack_explorer(),
        E.inception_explorer("3a"),
        E.bottleneck_explorer(),
        E.lrn_explorer(),
        E.lesion_explorer(LESION_DATA["errors"], LESION_DATA["intact"], combos=LESION_DATA["combos"],
                          downsampling=["stage2.1", "stage3.1"]),
        E.curves_explorer(CURVES),
    ]  # fmt: skip


# ----------------------------------------------------------------------------------------------------------
# (1) The library's numbers, pinned to the papers


def test_vgg_stack_matches_the_paper() -> None:
    # Sec. 2.3: three 3x3 layers, 3 (3^2 C^2) = 27 C^2 weights; one 7x7 layer, 7^2 C^2 = 49 C^2.
    n = E.vgg_stack_numbers(3, 64, 56)
    assert (n["stack.per_c2"], n["single.per_c2"]) == (27, 49)
    assert n["stack.rf"] == n["single.rf"] == 7
    assert (n["stack.relus"], n["single.relus"]) == (3, 1)
    assert n["stack.weights"] == 27 * 64**2 and n["stack.params"] == 27 * 64**2 + 3 * 64
    assert n["stack.macs"] == 27 * 64**2 * 56**2
    assert E.vgg_stack_numbers(2, 8, 7)["single.rf"] == 5  # two 3x3 layers see what one 5x5 sees


def test_inception_3a_matches_table1() -> None:
    assert inception_inputs()["3a"] == (192, 28)  # Table 1: 28x28x192 after the stem
    row = next(r for r in G.TABLE1 if r.name == "3a")
    p = {"in_channels": 192, "side": 28} | {f: getattr(row, f) for f in ("n1x1", "n3x3red", "n3x3", "n5x5red",
                                                                          "n5x5", "pool_proj")}  # fmt: skip
    n = E.inception_numbers(**p)
    # 192*64 + (192*96 + 9*96*128) + (192*16 + 25*16*32) + 192*32 weights, no biases
    assert n["reduced.total.weights"] == 12288 + 129024 + 15872 + 6144 == 163328
    assert n["reduced.total.params"] == 163328 + 64 + 96 + 128 + 16 + 32 + 32
    assert n["reduced.total.macs"] == 163328 * 28 * 28
    assert n["reduced.out_channels"] == 256  # Table 1: 28x28x256
    # Fig. 2a: no reductions, the pool branch unprojected
    assert n["naive.total.weights"] == 192 * (64 + 9 * 128 + 25 * 32)
    assert n["naive.out_channels"] == 64 + 128 + 32 + 192
    assert n["share.macs"] == pytest.approx(163328 / 387072)


def test_bottleneck_matches_fig5() -> None:
    # Sec. 4.1/Fig. 5: the 256-d bottleneck and the 64-d basic block have similar complexity.
    n = E.resnet_block_numbers(64, 4, 56)
    assert n["bottleneck.weights"] == 256 * 64 + 9 * 64 * 64 + 64 * 256 == 69632
    assert n["basic_narrow.weights"] == 2 * 9 * 64 * 64 == 73728
    assert n["basic_wide.weights"] == 2 * 9 * 256 * 256
    assert n["bottleneck.params"] == 69632 + 2 * (64 + 64 + 256)  # batch norm: scale and shift
    assert n["bottleneck.macs"] == 69632 * 56 * 56
    assert n["bottleneck.channels"] == 256


def test_bottleneck_expansion_defaults_to_the_paper() -> None:
    from ecg_lib.models import resnet as R

    assert R.Bottleneck(64, 16).out_channels == 64 == R.Bottleneck(48, 16, expansion=3).out_channels + 16
    with pytest.raises(ValueError, match="expansion"):
        R.Bottleneck(64, 16, expansion=0)


def test_lrn_numbers_are_the_library_layer() -> None:
    n = E.lrn_numbers(2.0, 5, -4.0, 0.75, 1.0)
    assert n["gain"] == pytest.approx((2 + 1e-4 * 5 * 10**2) ** -0.75, rel=1e-14)
    assert n["flat_gain"] == 2**-0.75
    assert n["onset"] == pytest.approx(math.sqrt(2 / (1e-4 * 5)))
    try:
        from ecg_lib.experiments.alexnet import lrn_gain
    except ImportError:  # the chapter's formula is a cross-check only; the layer itself is the reference
        return
    for a in (0.1, 10.0, 300.0):
        m = E.lrn_numbers(1.5, 3, -3.0, 0.5, math.log10(a))
        assert m["gain"] == pytest.approx(float(lrn_gain(a, k=1.5, n=3, alpha=1e-3, beta=0.5)), rel=1e-12)


def test_lrn_activity_starts_on_its_slider_step() -> None:
    # A browser snaps a range input's value to the slider's step (0.05 in log10 for the activity): the
    # numbers Python fills in must be those of the value the page then holds.
    x = E.lrn_explorer(activity=23.4)  # log10 23.4 = 1.369...
    assert x.params["log10_activity"] == 1.35 and 'value="1.35"' in x.html()
    assert x.numbers == E.lrn_numbers(**x.params)
    assert E.lrn_explorer(activity=10.0).params["log10_activity"] == 1.0


def test_lesion_readout_is_measured_or_labelled_estimate() -> None:
    data = E.lesion_explorer(LESION_DATA["errors"], LESION_DATA["intact"], combos=LESION_DATA["combos"]).data
    assert E.lesion_numbers([], data) == {"deleted": 0, "error": 0.08, "measured": 1,
                                          "kind": "measured (intact network)", "change": 0.0}  # fmt: skip
    one = E.lesion_numbers(["stage2.1"], data)
    assert (one["error"], one["measured"], one["kind"]) == (0.55, 1, "measured")
    pair = E.lesion_numbers(["stage1.2", "stage1.1"], data)  # a measured combination, in any order
    assert (pair["error"], pair["measured"]) == (0.21, 1)
    est = E.lesion_numbers(["stage1.1", "stage2.2"], data)
    assert est["measured"] == 0 and est["kind"].startswith("estimate")
    assert est["error"] == pytest.approx(0.08 + 0.04 + 0.03)
    capped = E.lesion_numbers(["stage2.1", "stage3.1", "stage1.1"], data)
    assert capped["error"] == 1.0 and "clipped" in capped["kind"]


def test_lesion_explorer_from_study_records() -> None:
    study = [{"block": -1, "name": "none", "downsampling": False, "error": 0.1},
             {"block": 0, "name": "stage1.1", "downsampling": False, "error": 0.2},
             {"block": 1, "name": "stage2.1", "downsampling": True, "error": 0.6}]  # fmt: skip
    x = E.lesion_explorer_from_study(study)
    assert x.data["intact"] == 0.1 and [b["name"] for b in x.data["blocks"]] == ["stage1.1", "stage2.1"]
    assert "stage2.1 ↓" in x.html()
    with pytest.raises(ValueError, match="intact"):
        E.lesion_explorer_from_study(study[1:])


def test_curves_readout_and_history_curves() -> None:
    x = E.curves_explorer(CURVES)
    assert x.params == {"profile": "live quick run", "epoch": 5}
    # None (not evaluated) is left out: epoch 3 of resnet20 has no point, 2 is nearest (first on a tie)
    n = E.curves_numbers("live quick run", 3, x.data)
    assert (n["resnet20.epoch"], n["resnet20.value"]) == (2, 0.62)
    assert (n["plain20.epoch"], n["plain20.value"]) == (3, 0.66)
    assert E.curves_numbers("archived full run", 12, x.data)["resnet20.epoch"] == 10
    from ecg_lib.train import History

    h = History(test_error=[None, 0.5, None, 0.3], epoch_train_error=[0.8, 0.6, 0.5, 0.4])
    assert E.history_curves({"a": h}) == {"a": {"x": [2, 4], "y": [0.5, 0.3]}}
    assert E.history_curves({"a": h.to_dict()}, "epoch_train_error")["a"]["x"] == [1, 2, 3, 4]


# ----------------------------------------------------------------------------------------------------------
# The HTML itself


def test_html_is_self_contained_with_unique_ids() -> None:
    from explorer_driver import standalone_page

    xs = all_explorers()
    page = standalone_page(*xs, *xs[:2])  # the same explorers twice on one page
    ids = re.findall(r'<div class="ecgx[^"]*" id="([^"]+)"', page)
    assert len(ids) == len(xs) + 2 and len(set(ids)) == len(ids)
    # The only URL is the SVG namespace, which is a name, not a request.
    assert set(re.findall(r"https?://[^\s\"'<>]+", page)) == {"http://www.w3.org/2000/svg"}
    assert "<link" not in page and "src=" not in page and "import(" not in page
    for x in xs:
        html = x.html()
        assert f'data-explorer="{x.kind}"' in html and "data-control=" in html and "data-output=" in html


def test_data_cannot_close_the_script() -> None:
    x = E.lesion_explorer({"</script><b>x": 0.2}, 0.1)
    assert x.html().count("</script>") == 1


def test_slider_maxima_stay_exact_in_javascript() -> None:
    # JavaScript numbers are doubles: every integer the page computes must stay below 2^53.
    for n in (E.vgg_stack_numbers(5, 1024, 224),
              E.inception_numbers(1024, 56, 512, 512, 512, 512, 512, 512),
              E.resnet_block_numbers(512, 8, 112)):  # fmt: skip
        assert max(v for v in n.values() if isinstance(v, int)) < MAX_EXACT


def test_sliders_reject_a_start_off_their_range() -> None:
    with pytest.raises(ValueError, match="outside"):
        E.vgg_stack_explorer(layers=9)


# ----------------------------------------------------------------------------------------------------------
# (2) Same numbers in the page as in the library: the JavaScript formulas in Node


def grid() -> list[tuple[str, dict[str, Any], Any]]:
    cases: list[tuple[str, dict[str, Any], Any]] = []
    for k, c, s in itertools.product(range(1, 6), (8, 64, 1024), (1, 56, 224)):
        cases.append(("vgg-stack", {"k": k, "channels": c, "side": s}, None))
    widths = ("n1x1", "n3x3red", "n3x3", "n5x5red", "n5x5", "pool_proj")
    inputs = inception_inputs()
    for row in G.TABLE1:  # every Table 1 row at its place in the network
        c, s = inputs[row.name]
        p = {"in_channels": c, "side": s} | {f: getattr(row, f) for f in widths}
        cases.append(("inception", p, None))
    for c, s, w in ((8, 1, 1), (1024, 56, 512), (192, 28, 7), (480, 14, 300)):  # slider ends and between
        cases.append(("inception", {"in_channels": c, "side": s} | dict.fromkeys(widths, w), None))
    for w, r, s in itertools.product((8, 64, 512), (1, 4, 8), (1, 56, 112)):
        cases.append(("resnet-blocks", {"width": w, "ratio": r, "side": s}, None))
    lrn_axes = ((0.25, 2.0, 4.0), (1, 5, 9), (-6.0, -4.0, -2.1), (0.25, 0.75, 1.0), (-1.0, 1.35, 3.5))
    for k, n, la, b, lx in itertools.product(*lrn_axes):
        cases.append(("lrn", {"k": k, "n": n, "log10_alpha": la, "beta": b, "log10_activity": lx}, None))
    lesion = all_explorers()[4].data
    names = [b["name"] for b in lesion["blocks"]]
    for size in range(len(names) + 1):
        for chosen in itertools.combinations(names, size):
            cases.append(("lesion", {"deleted": list(chosen)}, lesion))
    curves = E.curves_explorer(CURVES).data
    for profile, epoch in itertools.product(curves["profiles"], (0, 1, 2.5, 3, 4.49, 12.5, 30, 99)):
        cases.append(("curves", {"profile": profile, "epoch": epoch}, curves))
    return cases


def run_node(script: str, payload: Any, tmp_path: Path) -> Any:
    src, data = tmp_path / "run.js", tmp_path / "payload.json"
    src.write_text(script)
    data.write_text(json.dumps(payload))
    done = subprocess.run([NODE, str(src), str(JS), str(data)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


FORMULAS_JS = """
const lib = require(process.argv[2]);
const cases = JSON.parse(require('fs').readFileSync(process.argv[3], 'utf8'));
process.stdout.write(JSON.stringify(cases.map(c => lib.formulas[c.kind](c.params, c.data))));
"""
FORMAT_JS = """
const lib = require(process.argv[2]);
const cases = JSON.parse(require('fs').readFileSync(process.argv[3], 'utf8'));
process.stdout.write(JSON.stringify(cases.map(c => lib.format(c[0], c[1]))));
"""


@pytest.mark.skipif(NODE is None, reason="node is not installed")
def test_page_formulas_equal_library_counts(tmp_path: Path) -> None:
    cases = grid()
    page = run_node(FORMULAS_JS, [{"kind": k, "params": p, "data": d} for k, p, d in cases], tmp_path)
    bad = []
    for (kind, params, data), got in zip(cases, page, strict=True):
        want = reference_numbers(kind, params, data)
        if set(got) != set(want):
            bad.append(f"{kind} {params}: keys differ: {sorted(set(got) ^ set(want))}")
            continue
        for key, w in want.items():
            g = got[key]
            # Counts, shares, lesion sums and curve points are exact; the LRN's powers may differ in the
            # last bit between V8 and the C library.
            same = g == w if kind != "lrn" else math.isclose(g, w, rel_tol=1e-12)
            if not same or (isinstance(w, int) and not float(g).is_integer()):
                bad.append(f"{kind} {params}: {key}: page {g!r}, library {w!r}")
    assert not bad, f"{len(bad)} disagreements, e.g.:\n" + "\n".join(bad[:15])
    assert {k for k, _, _ in cases} == set(REFERENCES)


@pytest.mark.skipif(NODE is None, reason="node is not installed")
def test_python_initial_text_is_the_page_format(tmp_path: Path) -> None:
    """The text filled in by Python before the script runs is the text the script then writes."""
    from ecg_lib.chapters.explorer_html import format_value as _format

    values = [0, 7, 999, 1234, 1769472, 1.5e9, 12_845_056_000, 0.123456, 0.5836931601907399,
              63.245553203367585, 1e-7, 2.5e-5, 12345.6, 0.08, -0.03, 1.0, 2.5]  # fmt: skip
    formats = ["int", "count", "pct", "spct", "ratio", "g4", "auto"]
    cases = [(v, f) for v in values for f in formats if not (f in ("int", "count") and v != round(v))]
    page = run_node(FORMAT_JS, cases, tmp_path)
    bad = [f"{v!r} as {f}: page {g!r}, python {_format(v, f)!r}"
           for (v, f), g in zip(cases, page, strict=True) if g != _format(v, f)]  # fmt: skip
    assert not bad, "\n".join(bad)


# ----------------------------------------------------------------------------------------------------------
# (3) In the browser: move every control, read the numbers


@pytest.fixture(scope="module")
def explorer_page(tmp_path_factory: pytest.TempPathFactory, chromium: Any) -> Any:
    if chromium is None:
        pytest.skip("no headless Chromium (apt-get install -y chromium) or no playwright")
    from explorer_driver import standalone_page

    xs = all_explorers()
    path = tmp_path_factory.mktemp("explorers") / "explorers.html"
    path.write_text(standalone_page(*xs))
    blocked: list[str] = []
    errors: list[str] = []
    context = chromium.new_context(viewport={"width": 1100, "height": 900})

    def route(r: Any) -> None:
        if r.request.url.startswith("file:"):
            r.continue_()
        else:
            blocked.append(r.request.url)
            r.abort()

    context.route("**/*", route)
    tab = context.new_page()
    tab.on("console", lambda msg: msg.type == "error" and errors.append(msg.text))
    tab.on("pageerror", lambda exc: errors.append(f"uncaught: {exc}"))
    tab.goto(path.as_uri(), wait_until="load")
    yield tab, {x.kind: x for x in xs}, blocked, errors
    context.close()


KINDS = ["vgg-stack", "inception", "resnet-blocks", "lrn", "lesion", "curves"]


@pytest.mark.browser
@pytest.mark.parametrize("kind", KINDS)
def test_every_control_moves_the_numbers(kind: str, explorer_page: Any) -> None:
    from explorer_driver import controls, mismatches, move, read_outputs, read_params

    tab, by_kind, blocked, errors = explorer_page
    x = by_kind[kind]
    root = tab.locator(f'[data-explorer="{kind}"]').element_handle()
    assert root.get_attribute("data-ready") == "1", f"{kind}: the script did not mount"
    rel = 1e-12 if kind == "lrn" else 0.0
    shown = read_outputs(root)
    assert shown, f"{kind}: no outputs"
    # As loaded: the page's script recomputed the numbers the library filled in, and they agree.
    assert read_params(root) == x.params
    assert not mismatches(shown, reference_numbers(kind, x.params, x.data), rel)
    ctrls = controls(root)
    assert ctrls, f"{kind}: no controls"
    for i in range(len(ctrls)):
        c = controls(root)[i]  # read again: a profile switch changes the epoch slider's range
        before = read_outputs(root)
        move(root, c)
        params = read_params(root)
        after = read_outputs(root)
        label = f"{kind}: after moving {c['name']}{' ' + c['block'] if c['block'] else ''} to {params}"
        changed = [k for k in after if after[k]["text"] != before.get(k, {}).get("text")]
        assert changed, f"{label}: no displayed number changed"
        bad = mismatches(after, reference_numbers(kind, params, x.data), rel)
        assert not bad, f"{label}:\n" + "\n".join(bad)
    assert not blocked, f"requests left the page: {blocked}"
    assert not errors, f"console errors: {errors}"


@pytest.mark.browser
def test_curves_hover_reads_the_curves(explorer_page: Any) -> None:
    from explorer_driver import mismatches, read_outputs, read_params

    tab, by_kind, _, errors = explorer_page
    x = by_kind["curves"]
    root = tab.locator('[data-explorer="curves"]')
    tab.locator('[data-explorer="curves"] [data-control="profile"]').select_option("archived full run")
    svg = root.locator("svg[data-hover]")
    svg.scroll_into_view_if_needed()  # the mouse reaches only what is on screen
    box = svg.bounding_box()
    assert box and box["width"] > 0
    seen = set()
    for frac in (0.15, 0.5, 0.9):
        # The plot area starts 56 of 520 viewBox units from the left and is 452 wide.
        tab.mouse.move(box["x"] + box["width"] * (56 + frac * 452) / 520, box["y"] + box["height"] / 2)
        handle = root.element_handle()
        params = read_params(handle)
        assert params["profile"] == "archived full run"
        shown = read_outputs(handle)
        assert not mismatches(shown, reference_numbers("curves", params, x.data))
        seen.add(shown["resnet20.epoch"]["text"])
        assert root.locator("tr[data-curve]").count() == 2
    assert len(seen) == 3, f"hovering at three places read {seen}"
    assert not errors
