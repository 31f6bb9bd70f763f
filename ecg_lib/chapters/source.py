"""The library's own code on a chapter's page, and the shapes it produces.

A chapter shows the definition of its paper's building block *from* :mod:`ecg_lib`, never a copy, so
the page cannot drift from the code that the experiments run:

* :func:`show_source` renders a class or function (``inspect.getsource``), or the part of it between
  two marker lines, as a Markdown code block headed by its file and line numbers;
* :func:`show_definition` renders a module-level table (an assignment such as ``TABLE1 = (...)``),
  found by its name in the module's syntax tree, with the comment lines just above it;
* :func:`show_shape_walk` runs one input through a module and tabulates every submodule's input and
  output shapes (:func:`shape_walk`, forward hooks).

The ``*_text`` functions return the Markdown; the ``show_*`` ones display it (``common.display_markdown``).
"""

from __future__ import annotations

import ast
import inspect
import re
import textwrap
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import torch
from torch import nn

from ecg_lib.chapters.common import display_markdown, markdown_table

__all__ = [
    "ShapeStep",
    "SourceError",
    "code_block",
    "definition_text",
    "shape_walk",
    "shape_walk_table",
    "show_definition",
    "show_shape_walk",
    "show_source",
    "source_lines",
    "source_text",
]

_PACKAGE_ROOT = Path(__file__).resolve().parents[2]  # the folder holding ecg_lib/


class SourceError(ValueError):
    """A marker or a name that is not in the source asked for."""


def _where(obj: Any) -> str:
    path = Path(inspect.getsourcefile(obj) or "?").resolve()
    try:
        return str(path.relative_to(_PACKAGE_ROOT))
    except ValueError:
        return path.name


def _name(obj: Any) -> str:
    return getattr(obj, "__qualname__", None) or getattr(obj, "__name__", repr(obj))


def source_lines(obj: Any, start: str | None = None, end: str | None = None) -> tuple[str, int, int]:
    """``(text, first line, last line)`` of ``obj``'s source (a class, function, method or module).

    With ``start`` (and ``end``), only the lines from the first one containing ``start`` to the first
    one after it containing ``end`` (inclusive); ``end=None`` runs to the end of ``obj``. A marker that
    is not in the source raises :class:`SourceError` naming it. Methods are dedented."""
    lines, first = inspect.getsourcelines(obj)
    first = max(first, 1)  # a module starts at line 0 for inspect
    lo, hi = 0, len(lines)
    if start is not None:
        lo = next((i for i, line in enumerate(lines) if start in line), -1)
        if lo < 0:
            raise SourceError(f"start marker {start!r} is not in the source of {_name(obj)} ({_where(obj)}).")
    if end is not None:
        stop = next((i for i in range(lo, len(lines)) if end in lines[i]), -1)
        if stop < 0:
            raise SourceError(
                f"end marker {end!r} does not follow {start or 'the start'!r} in the source of "
                f"{_name(obj)} ({_where(obj)})."
            )
        hi = stop + 1
    return textwrap.dedent("".join(lines[lo:hi])), first + lo, first + hi - 1


def source_text(obj: Any, start: str | None = None, end: str | None = None) -> str:
    """Markdown: a heading line with ``obj``'s file and lines, then its source in a code block."""
    text, a, b = source_lines(obj, start, end)
    part = "" if start is None and end is None else "part of "
    return f"{part}`{_name(obj)}` in `{_where(obj)}`, lines {a}-{b}:\n\n" + code_block(text)


def definition_text(module: ModuleType, name: str) -> str:
    """Markdown for the module-level assignment of ``name`` in ``module`` (with the comments right above
    it), e.g. ``definition_text(ecg_lib.models.googlenet, "TABLE1")``. Unknown name -> SourceError."""
    source = inspect.getsource(module)
    tree = ast.parse(source)
    for node in tree.body:
        targets = node.targets if isinstance(node, ast.Assign) else [getattr(node, "target", None)]
        if isinstance(node, ast.Assign | ast.AnnAssign) and any(
            isinstance(t, ast.Name) and t.id == name for t in targets
        ):
            lines = source.splitlines(keepends=True)
            lo, hi = node.lineno - 1, node.end_lineno or node.lineno
            while lo > 0 and lines[lo - 1].lstrip().startswith("#"):
                lo -= 1
            where = _where(module)
            return f"`{name}` in `{where}`, lines {lo + 1}-{hi}:\n\n" + code_block("".join(lines[lo:hi]))
    raise SourceError(f"{module.__name__} assigns no module-level name {name!r}.")


def code_block(text: str, language: str = "python") -> str:
    """A fenced Markdown code block holding ``text`` unchanged (the fence outgrows any backticks in it)."""
    longest = max((len(run) for run in re.findall("`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{language}\n{text if text.endswith(chr(10)) else text + chr(10)}{fence}"


def show_source(obj: Any, start: str | None = None, end: str | None = None) -> None:
    """Display :func:`source_text` in the notebook."""
    display_markdown(source_text(obj, start, end))


def show_definition(module: ModuleType, name: str) -> None:
    """Display :func:`definition_text` in the notebook."""
    display_markdown(definition_text(module, name))


# ----------------------------------------------------------------------------------------------------------
# Shape walks


@dataclass(frozen=True)
class ShapeStep:
    """One submodule call of a forward pass, in the order the calls started."""

    name: str  # dotted path below the walked module ("" for the module itself)
    kind: str  # class name
    depth: int  # nesting level (0: the module itself)
    input_shape: tuple[int, ...]
    output_shape: tuple[int, ...]
    params: int  # the submodule's parameters, its children's included


def _shape(value: Any) -> tuple[int, ...]:
    if isinstance(value, torch.Tensor):
        return tuple(value.shape)
    if isinstance(value, tuple | list) and value and isinstance(value[0], torch.Tensor):
        return tuple(value[0].shape)
    return ()


def shape_walk(module: nn.Module, x: torch.Tensor, *, max_depth: int | None = None) -> list[ShapeStep]:
    """Run ``x`` through ``module`` (eval mode, no gradient) and record every submodule call with its
    input and output shapes. ``max_depth`` leaves out calls nested deeper than that. The module's
    mode is restored afterwards."""
    names = {id(m): n for n, m in module.named_modules()}
    started: list[list[Any]] = []
    hooks = []

    def pre(mod: nn.Module, args: tuple) -> None:
        name = names[id(mod)]
        depth = 0 if name == "" else name.count(".") + 1
        if max_depth is None or depth <= max_depth:
            params = sum(p.numel() for p in mod.parameters())
            started.append([mod, name, depth, _shape(args), None, params])

    def post(mod: nn.Module, args: tuple, out: Any) -> None:
        for row in reversed(started):  # the latest unfinished call of this module
            if row[0] is mod and row[4] is None:
                row[4] = _shape(out)
                break

    for m in module.modules():
        hooks += [m.register_forward_pre_hook(pre), m.register_forward_hook(post)]
    was_training = module.training
    try:
        module.eval()
        with torch.no_grad():
            module(x)
    finally:
        module.train(was_training)
        for h in hooks:
            h.remove()
    return [ShapeStep(n, type(m).__name__, d, i, o or (), p) for m, n, d, i, o, p in started]


def _fmt(shape: tuple[int, ...]) -> str:
    return " × ".join(map(str, shape)) if shape else "—"


def shape_walk_table(steps: list[ShapeStep]) -> str:
    """The walk as a Markdown table, nesting shown by indentation."""
    rows = [
        ("&nbsp;" * 4 * s.depth + (f"`{s.name}`" if s.name else "(the whole module)"), s.kind,
         _fmt(s.input_shape), _fmt(s.output_shape), f"{s.params:,}")
        for s in steps
    ]  # fmt: skip
    return markdown_table(("step", "module", "input", "output", "parameters"), rows)


def show_shape_walk(module: nn.Module, x: torch.Tensor, *, max_depth: int | None = None) -> None:
    """Display the :func:`shape_walk` of ``x`` through ``module`` as a table."""
    display_markdown(shape_walk_table(shape_walk(module, x, max_depth=max_depth)))
