"""The scoreboard page (``book/scoreboard.md``) and the count the introduction states: every claim the
chapters check, gathered from their ledgers (:meth:`ecg_lib.chapter_registry.Chapter.ledger`), plus the
numeric statements of the notes this book grew from (:data:`SEED`), each paper figure once
(:func:`ecg_lib.claims.figures`) with its best evidence.

The page opens with :func:`grid`: the count, then one row of coloured tiles per chapter, each tile a link
to its claim's row in :func:`table` (the claims folded by chapter); :func:`notes_table` lists the notes'
statements apart.

Nothing is trained here. Arithmetic claims are counted live (each chapter's ``counted()``, seconds);
trained claims are read from the archived standard and full runs only
(:func:`ecg_lib.results.find_archive`), so the page never retrains and a missing archive reads "no
evidence yet".
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any

from ecg_lib import chapter_registry, papers
from ecg_lib.claims import (
    TILES,
    Claim,
    Evidence,
    Figure,
    Ledger,
    Measurement,
    figures,
    scoreboard_table,
    tally,
    tally_text,
    tile_count_text,
)
from ecg_lib.claims import notes_table as _notes_table

__all__ = ["CHAPTERS", "SEED", "count_line", "count_text", "evidence", "grid", "ledgers", "notes_table",
           "table"]  # fmt: skip

#: The chapters whose ledgers the scoreboard gathers, in reading order (:mod:`ecg_lib.chapter_registry`).
CHAPTERS: tuple[str, ...] = chapter_registry.names()

_NOTES = "the notes this book grew from"


def _reduction_share(c: dict[str, Any]) -> Measurement:
    s = c["s3a"]
    proj = s.naive_proj.weights - s.naive.weights  # the pool projection's weights (192 x 32)
    share, formula = s.reduced.weights / s.naive_proj.weights, (s.reduced.weights - proj) / s.naive.weights
    return Measurement(share, f"{100 * share:.1f}% ({s.reduced.weights:,} / {s.naive_proj.weights:,}); "
                       f"{100 * formula:.1f}% by the notes' formula, without the pool projection")


def _depth_1202(t6: dict[int, tuple[float, float]]) -> Measurement:
    gap = t6[1202][1] - t6[110][1]
    return Measurement(gap, f"{100 * t6[1202][1]:.2f}% vs. {100 * t6[110][1]:.2f}% "
                            f"({100 * gap:+.2f} points; He et al. 2016, Table 6)")  # fmt: skip


def _relu_additivity(_: Any) -> Measurement:
    import torch

    # a linear f has f(a + b) = f(a) + f(b); for ReLU at a = 1, b = -1: relu(0) = 0, but 1 + 0 = 1
    a, b = torch.tensor(1.0), torch.tensor(-1.0)
    gap = float((torch.relu(a) + torch.relu(b) - torch.relu(a + b)).abs())
    return Measurement(gap, f"relu(1) + relu(-1) - relu(0) = {gap:g}")


#: The seed's numeric statements, each checked by a count (the chapters discuss them where they belong).
SEED = Ledger("seed", "the notes", "googlenet-paper-vs-book", (
    Claim("seed_one_third", "", "the notes", "The 1×1 reductions of inception (3a) cut its parameters to "
          "about one third", "about 1/3 (within 10%)", _NOTES, "weights with reductions over weights "
          "without, counted (Fig. 2b vs. 2a)", "s3a_counts", _reduction_share, kind="exact", target=1 / 3,
          tolerance=0.10, section="googlenet-reductions"),
    Claim("seed_1202", "", "the notes", "ResNet-1202 was about as good as ResNet-110 on CIFAR-10",
          "about the same (within 0.5 points)", _NOTES, "the two test errors of Table 6, subtracted",
          "table6", _depth_1202, kind="exact", target=0.0, tolerance=0.005, section="resnet-table6"),
    Claim("seed_relu_linear", "", "the notes", "ReLU is a linear activation", "linear", _NOTES,
          "additivity checked at 1 and -1", "relu", _relu_additivity, kind="exact", target=0.0,
          section="alexnet-relu"),
))  # fmt: skip


def ledgers() -> list[tuple[Ledger, Any]]:
    """Every chapter's ledger with the module that counts its arithmetic claims, then :data:`SEED`."""
    return [(c.ledger(), c.counted()) for c in chapter_registry.CHAPTERS]


def _seed_counts() -> dict[str, Any]:
    from ecg_lib.experiments import googlenet

    # the ReLU check takes no input; 0 stands for it, since measure() reads None as "no result"
    return {"s3a_counts": {"s3a": googlenet.branch_savings("3a")}, "table6": papers.RESNET_TABLE6, "relu": 0}


def evidence(profile: str = "any", *, root: Any = None) -> list[Evidence]:
    """Every claim's evidence: arithmetic claims counted now, trained ones from the archives only (the
    profile only names the live run that a missing count would lack; the scoreboard trains nothing)."""
    out: list[Evidence] = []
    for ledger, counted in ledgers():
        out += ledger.evidence(counted(), profile, retrained=False, root=root)
    out += SEED.evidence(_seed_counts(), profile, retrained=False, root=root)
    return out


def table(ev: Sequence[Evidence]) -> str:
    """The papers' claims folded by chapter (see :func:`ecg_lib.claims.scoreboard_table`)."""
    return scoreboard_table(ev)


def notes_table(ev: Sequence[Evidence]) -> str:
    """The notes' statements, apart from the papers' claims (see :func:`ecg_lib.claims.notes_table`)."""
    return _notes_table(ev)


def count_text(ev: Sequence[Evidence] | None = None) -> str:
    """The honest count, generated (see :func:`ecg_lib.claims.tally_text`); without ``ev`` it gathers
    the evidence itself (the count does not depend on the build's profile: it counts arithmetic claims
    and archived runs only)."""
    if ev is None:
        ev = evidence()
    return tally_text(tally(ev))


def count_line(ev: Sequence[Evidence]) -> str:
    """The count in one line, by tile: ``"48 claims of the papers: 34 hold, 4 fail, ..."``."""
    papers_ = [f for f in figures(ev) if f.claim.paper]
    n = len(papers_)
    return f"{n} {'claim' if n == 1 else 'claims'} of the papers: {tile_count_text(papers_)}."


# The grid's look, and one script: a tile links to a row inside a closed dropdown, which the script opens
# (browsers that open a <details> for a fragment do it anyway; the others need this).
_STYLE = """<style>
.ecg-board{font-size:.95rem;margin:0 0 1rem}
.ecg-board .ecg-count{font-size:1.1rem;margin:0 0 .6rem}
.ecg-board .ecg-row{display:flex;align-items:center;gap:.6rem;margin:.15rem 0}
.ecg-board .ecg-row-notes{margin-top:.6rem;padding-top:.4rem;border-top:1px solid #ccc}
.ecg-board .ecg-chapter{flex:0 0 11.5rem;line-height:1.15}
.ecg-board .ecg-tiles{display:flex;flex-wrap:wrap;gap:3px}
.ecg-board .ecg-tile{display:inline-block;width:1.6rem;height:1.6rem;line-height:1.6rem;text-align:center;
  border-radius:3px;font-weight:700;text-decoration:none;border:1px solid transparent}
.ecg-board a.ecg-tile:hover,.ecg-board a.ecg-tile:focus{outline:2px solid #222;outline-offset:1px}
.ecg-board .ecg-holds{background:#2e7d32;color:#fff}
.ecg-board .ecg-fails{background:#c62828;color:#fff}
.ecg-board .ecg-noise{background:#f9a825;color:#222}
.ecg-board .ecg-untestable{background:#b0bec5;color:#222}
.ecg-board .ecg-none{background:#fff;color:#555;border:1px dashed #777}
.ecg-board .ecg-legend{display:flex;flex-wrap:wrap;gap:.3rem 1rem;margin:.6rem 0 0;font-size:.85rem}
.ecg-board .ecg-legend .ecg-tile{width:1.2rem;height:1.2rem;line-height:1.2rem;margin-right:.25rem}
</style>"""
_SCRIPT = """<script>
(function () {
  function reveal() {
    var id = decodeURIComponent(window.location.hash.slice(1));
    var target = id && document.getElementById(id);
    if (!target) { return; }
    for (var d = target.closest("details"); d; d = d.parentElement && d.parentElement.closest("details")) {
      d.open = true;
    }
    target.scrollIntoView();
  }
  window.addEventListener("hashchange", reveal);
  document.addEventListener("DOMContentLoaded", reveal);
})();
</script>"""


def _tile(f: Figure) -> str:
    _, label, symbol, _ = next(t for t in TILES if t[0] == f.tile)
    also = f" (checked in {' and '.join(f.chapters)})" if len(f.chapters) > 1 else ""
    title = html.escape(f"{f.claim.statement}{also}: {label}", quote=True)
    return (f'<a class="ecg-tile ecg-{f.tile}" href="#{f.anchor}" title="{title}" aria-label="{title}">'
            f"{symbol}</a>")  # fmt: skip


def grid(ev: Sequence[Evidence]) -> str:
    """The scoreboard's first screen, as HTML: the count (:func:`count_line`), one row per chapter with
    one tile per claim of its ledger (a paper figure that several chapters check sits with the first),
    the notes' statements in a row of their own, and the legend. A tile's colour is its best evidence's
    (:data:`ecg_lib.claims.TILES`), its symbol says the same in text, its title names the claim, and it
    links to the claim's row in :func:`table`."""
    figs = figures(ev)
    rows = [f'<p class="ecg-count"><strong>{html.escape(count_line(ev))}</strong></p>',
            '<div class="ecg-grid">']  # fmt: skip
    chapters: dict[str, tuple[str, list[Figure]]] = {}
    for f in figs:
        chapters.setdefault(f.chapter, (f.lead.ledger.title, []))[1].append(f)
    for chapter, (title, own) in chapters.items():
        notes = not own[0].claim.paper
        label = "The notes (not a paper's)" if notes else title
        rows.append(f'<div class="ecg-row{" ecg-row-notes" if notes else ""}" data-chapter="{chapter}">'
                    f'<span class="ecg-chapter">{html.escape(label)}</span><span class="ecg-tiles">'
                    + "".join(_tile(f) for f in own) + "</span></div>")  # fmt: skip
    rows.append("</div>")
    legend = "".join(f'<span><span class="ecg-tile ecg-{cls}" aria-hidden="true">{symbol}</span>'
                     f"{label}</span>" for cls, label, symbol, _ in TILES)  # fmt: skip
    rows.append(f'<p class="ecg-legend">{legend}</p>')
    return _STYLE + '<div class="ecg-board">' + "".join(rows) + "</div>" + _SCRIPT
