"""How a kernel-free explorer is embedded in a page: :class:`Explorer` (its HTML, with the inlined
``explorers.js`` and ``explorers.css`` beside this module, under an id unique to each display) and the
markup the explorers are built from (sliders, tables, outputs holding the library's initial numbers,
formatted as ``format()`` in ``explorers.js`` formats them). The explorers themselves are in
:mod:`ecg_lib.chapters.explorers`.
"""

from __future__ import annotations

import functools
import html
import json
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from importlib import resources
from typing import Any

__all__ = ["Explorer", "Slider", "controls", "explorer_js", "format_value", "js_str", "output", "table",
           "to_precision"]  # fmt: skip


@functools.cache
def _asset(name: str) -> str:
    return resources.files("ecg_lib.chapters").joinpath(name).read_text(encoding="utf-8")


def explorer_js() -> str:
    """The explorers' JavaScript (formulas, formatting, SVG chart, binding): inlined into every explorer."""
    return _asset("explorers.js")


# ----------------------------------------------------------------------------------------------------------
# The displayed object


@dataclass(repr=False)
class Explorer:
    """One explorer: ``kind`` names its formula in ``explorers.js``; ``body`` is the controls and outputs
    (initial numbers filled in from the library, so the page reads right even before its script runs);
    ``data`` is passed to the page as JSON; ``params``/``numbers`` are the initial controls and outputs."""

    kind: str
    title: str
    body: str
    note: str = ""
    data: Any = None
    params: dict[str, Any] = field(default_factory=dict)
    numbers: dict[str, Any] = field(default_factory=dict)

    def html(self) -> str:
        """Self-contained HTML: the explorer, its CSS and its script, under an id unique to this call."""
        element_id = f"ecgx-{self.kind}-{uuid.uuid4().hex[:10]}"
        # "<" escaped so that no string in the data can close the <script> element early.
        data = json.dumps(self.data, allow_nan=False).replace("<", "\\u003c")
        note = f'<p class="ecgx-note">{self.note}</p>' if self.note else ""
        return (
            f'<div class="ecgx tex2jax_ignore mathjax_ignore" id="{element_id}" data-explorer="{self.kind}">'
            f"<style>{_asset('explorers.css')}</style>"
            f'<div class="ecgx-title">{html.escape(self.title)}</div>{self.body}{note}</div>\n'
            f"<script>\n{explorer_js()}\n"
            f'ECGExplorers.mount("{element_id}", "{self.kind}", {data});\n</script>'
        )

    def _repr_html_(self) -> str:
        return self.html()

    def __repr__(self) -> str:
        # Shown where HTML is not rendered (a terminal): the initial settings and numbers.
        settings = ", ".join(f"{k}={v}" for k, v in self.params.items())
        return f"<{self.title} explorer ({settings}); display it in a notebook or the book>"


# ----------------------------------------------------------------------------------------------------------
# Markup helpers; format_value mirrors format() in explorers.js for the initial, pre-script numbers


def js_str(v: Any) -> str:
    # JavaScript's String(number): no ".0", plain digits from 1e-6 up to 1e21, else "1e-7"-style exponents.
    if not isinstance(v, float):
        return str(v)
    if v.is_integer() and abs(v) < 1e21:
        return str(int(v))
    r = repr(v)
    if "e" not in r:
        return r
    if 1e-6 <= abs(v) < 1e21:
        return format(Decimal(r), "f")
    mantissa, exp = r.split("e")
    return f"{mantissa}e{'+' if int(exp) >= 0 else '-'}{abs(int(exp))}"


def to_precision(v: float, digits: int) -> str:
    # JavaScript's Number.prototype.toPrecision.
    if v == 0:
        return "0." + "0" * (digits - 1) if digits > 1 else "0"
    exp = int(f"{v:.{digits - 1}e}".split("e")[1])
    if exp < -6 or exp >= digits:
        mantissa, e = f"{v:.{digits - 1}e}".split("e")
        return f"{mantissa}e{'+' if int(e) >= 0 else '-'}{abs(int(e))}"
    return f"{v:.{max(0, digits - 1 - exp)}f}"


def _compact(v: float) -> str:
    for unit, scale, places in (("G", 1e9, 2), ("M", 1e6, 1), ("k", 1e3, 1)):
        if abs(v) >= scale:
            return f"{v / scale:.{places}f} {unit}"
    return js_str(v)


def format_value(v: Any, how: str) -> str:
    if isinstance(v, str):
        return v
    if how == "int":
        return f"{round(v):,}"
    if how == "count":
        return f"{round(v):,} ({_compact(v)})" if abs(v) >= 1e3 else f"{round(v):,}"
    if how == "pct":
        return f"{100 * v:.1f}%"
    if how == "spct":
        return f"{'+' if v >= 0 else ''}{100 * v:.1f}%"
    if how == "ratio":
        return f"{v:.3f}×"
    if how == "g4":
        return to_precision(v, 4)
    return js_str(v)


def output(numbers: Mapping[str, Any], key: str, how: str = "count", tag: str = "span") -> str:
    """One output element, filled with the library's initial value."""
    v = numbers[key]
    value = v if isinstance(v, str) else js_str(v)
    return (
        f'<{tag} data-output="{html.escape(key)}" data-format="{how}" data-value="{html.escape(value)}">'
        f"{html.escape(format_value(v, how))}</{tag}>"
    )


@dataclass(frozen=True)
class Slider:
    name: str
    label: str
    min: float
    max: float
    step: float | str  # "any": no steps
    value: float
    type: str = "int"
    echo: str = ""  # "pow10": show 10**value beside a log-scale slider

    def html(self) -> str:
        if not self.min <= self.value <= self.max:
            raise ValueError(
                f"{self.label}: {self.value} is outside the slider's range {self.min}..{self.max}."
            )
        if isinstance(self.step, int) and (self.value - self.min) % self.step:
            raise ValueError(f"{self.label}: {self.value} is not on the slider's steps of {self.step}.")
        shown = to_precision(10**self.value, 3) if self.echo == "pow10" else js_str(self.value)
        return (
            f'<label class="ecgx-control"><span>{self.label}</span>'
            f'<input type="range" data-control="{self.name}" data-type="{self.type}" '
            f'min="{js_str(self.min)}" max="{js_str(self.max)}" step="{js_str(self.step)}" '
            f'value="{js_str(self.value)}">'
            f'<output data-echo="{self.name}" data-format="{self.echo}">{shown}</output></label>'
        )


def controls(sliders: Iterable[Slider]) -> str:
    return '<div class="ecgx-controls">' + "".join(s.html() for s in sliders) + "</div>"


def table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    head = "".join(f"<th>{h}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return f'<table class="ecgx-table"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'
