"""Sphinx extension for the book's HTML: fixes that the browser test found in the stock page scripts.

Loaded through ``sphinx.local_extensions`` in ``_config.yml``.
"""

from __future__ import annotations

from typing import Any

from sphinx.application import Sphinx


def _drop_duplicate_scripts(
    app: Sphinx, pagename: str, templatename: str, context: dict, doctree: Any
) -> None:
    """Emit each <script> once.

    sphinx-thebe adds its inline configuration (``const THEBE_JS_URL = ...``) after the HTML builder has
    started, so Sphinx 7.4 keeps two copies of it, one with filename ``None`` and one with ``""``; the
    second ``const`` then throws "Identifier 'THEBE_JS_URL' has already been declared" on every page.
    """
    scripts = context.get("script_files")
    if not isinstance(scripts, list):
        return
    seen: set[tuple] = set()
    unique = []
    for js in scripts:
        attributes = tuple(sorted(getattr(js, "attributes", {}).items()))
        key = (getattr(js, "filename", None) or "", getattr(js, "priority", 500), attributes)
        if key not in seen:
            seen.add(key)
            unique.append(js)
    scripts[:] = unique  # in place: Sphinx restores the list from its own copy before the next page


def setup(app: Sphinx) -> dict[str, Any]:
    app.connect("html-page-context", _drop_duplicate_scripts, priority=900)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
