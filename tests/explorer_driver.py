"""Driving kernel-free explorers in a browser page (Playwright): read controls and outputs, move controls.

Shared by tests/test_explorers.py (a standalone page) and usable by the built-book test: an explorer is
any element with ``data-explorer``; its controls carry ``data-control``, its numbers ``data-output``
(exact value in ``data-value``, display format in ``data-format``).
"""

from __future__ import annotations

import html
import math
from typing import Any


def standalone_page(*explorers: Any, title: str = "explorers") -> str:
    """A complete HTML document holding ``explorers`` (:class:`ecg_lib.chapters.explorers.Explorer`), to
    open from disk in the browser test."""
    body = "\n".join(e.html() for e in explorers)
    return (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
        f"</head><body>\n{body}\n</body></html>\n"
    )


# Both run in the page on the explorer's root element.
READ_PARAMS = """root => {
  const p = {};
  root.querySelectorAll('[data-control]').forEach(c => {
    const name = c.dataset.control;
    if (c.type === 'checkbox') {
      p[name] = p[name] || [];
      if (c.checked) p[name].push(c.dataset.block);
    } else {
      p[name] = c.dataset.type === 'text' ? c.value : Number(c.value);
    }
  });
  return p;
}"""
READ_OUTPUTS = """root => {
  const out = {};
  root.querySelectorAll('[data-output]').forEach(e => {
    out[e.dataset.output] = {text: e.textContent, value: e.dataset.value, format: e.dataset.format};
  });
  return out;
}"""
CONTROLS = """root => [...root.querySelectorAll('[data-control]')].map((c, i) => ({
  index: i, name: c.dataset.control, tag: c.tagName.toLowerCase(), type: c.type || '',
  min: c.min, max: c.max, step: c.step, value: c.value, block: c.dataset.block || null,
  options: c.tagName === 'SELECT' ? [...c.options].map(o => o.value) : [],
}))"""
# The JSON an explorer's script passes to ECGExplorers.mount(id, kind, data) (explorers.py writes that
# call last in the script right after the root element): {found, data}.
READ_DATA = """root => {
  const head = 'ECGExplorers.mount("' + root.id + '", ';
  for (const s of document.querySelectorAll('script')) {
    const text = s.textContent, at = text.indexOf(head);
    if (at < 0) continue;
    const rest = text.slice(at + head.length);
    const args = rest.slice(rest.indexOf(', ') + 2, rest.lastIndexOf(');'));
    return {found: true, data: JSON.parse(args)};
  }
  return {found: false, data: null};
}"""
# Sets control number `index` the way a reader does: a new value (or a toggled box), then the event.
SET_CONTROL = """(root, [index, value]) => {
  const c = root.querySelectorAll('[data-control]')[index];
  if (c.type === 'checkbox') { c.checked = !c.checked; } else { c.value = String(value); }
  c.dispatchEvent(new Event(c.tagName === 'SELECT' || c.type === 'checkbox' ? 'change' : 'input',
                            {bubbles: true}));
  return c.value;
}"""


def read_params(root: Any) -> dict[str, Any]:
    return root.evaluate(READ_PARAMS)


def read_outputs(root: Any) -> dict[str, dict[str, str]]:
    return root.evaluate(READ_OUTPUTS)


def read_data(root: Any) -> Any:
    """The data the page's script mounted the explorer with (None for formula explorers); raises
    LookupError when the page has no mount call for this explorer's id."""
    got = root.evaluate(READ_DATA)
    if not got["found"]:
        raise LookupError(f"no ECGExplorers.mount call for #{root.get_attribute('id')} on the page")
    return got["data"]


def movable(control: dict[str, Any]) -> bool:
    """False for a control a reader cannot change: a slider whose range is one value (a curve profile
    with a single recorded epoch), a select with one option."""
    if control["type"] == "checkbox":
        return True
    if control["tag"] == "select":
        return len(control["options"]) > 1
    return float(control["min"]) < float(control["max"])


def controls(root: Any) -> list[dict[str, Any]]:
    return root.evaluate(CONTROLS)


def new_value(control: dict[str, Any]) -> str | None:
    """A value different from the control's current one: two thirds along a slider's range (snapped to its
    step), its minimum when that is where it already is; another option of a select; None for a box."""
    if control["type"] == "checkbox":
        return None
    if control["tag"] == "select":
        return next(o for o in control["options"] if o != control["value"])
    lo, hi, now = float(control["min"]), float(control["max"]), float(control["value"])
    if control["step"] in ("", "any"):
        target = lo + 0.37 * (hi - lo)
    else:
        step = float(control["step"])
        target = lo + round(2 / 3 * (hi - lo) / step) * step
    if math.isclose(target, now):
        target = lo
    return repr(round(target, 10))


def move(root: Any, control: dict[str, Any]) -> str:
    """Moves one control to :func:`new_value` and fires its event; returns the value the page holds."""
    return root.evaluate(SET_CONTROL, [control["index"], new_value(control)])


def parse_text(text: str, how: str) -> float | str:
    """The number a reader sees, back from its displayed text (``format()`` in explorers.js)."""
    if how in ("int", "count"):
        return int(text.split(" (")[0].replace(",", ""))
    if how in ("pct", "spct"):
        return float(text.rstrip("%")) / 100
    if how == "ratio":
        return float(text.rstrip("×"))
    if how in ("g4", "auto"):
        return float(text)
    return text


# How far the displayed text may be from the exact number: half a unit of its last shown digit.
_HALF = 0.0005 + 1e-12
TEXT_TOLERANCE = {"int": 0.0, "count": 0.0, "pct": _HALF, "spct": _HALF, "ratio": _HALF}


def mismatches(shown: dict[str, dict[str, str]], expected: dict[str, Any], rel: float = 0.0) -> list[str]:
    """Every output whose exact value or displayed text disagrees with ``expected`` (``rel``: relative
    tolerance for non-integer values, for formulas with powers, whose last bit differs between libms)."""
    bad = []
    for key, want in expected.items():
        if key not in shown:
            continue  # not every number a formula returns is displayed
        got = shown[key]
        if isinstance(want, str):
            if got["text"] != want:
                bad.append(f"{key}: shows {got['text']!r}, library {want!r}")
            continue
        value = float(got["value"])
        if not (value == want or (not float(want).is_integer() and math.isclose(value, want, rel_tol=rel))):
            bad.append(f"{key}: page {value!r}, library {want!r}")
        text = parse_text(got["text"], got["format"])
        how = got["format"]
        if how == "g4" or how == "auto":
            ok = math.isclose(float(text), want, rel_tol=5e-4 if how == "g4" else 1e-12)
        else:
            ok = abs(float(text) - want) <= TEXT_TOLERANCE.get(how, 0.0)
        if not ok:
            bad.append(f"{key}: shows {got['text']!r} ({how}), library {want!r}")
    return bad
