"""Markdown reference of the registered passes and levels, generated from their docstrings."""

from __future__ import annotations

import inspect

from qadl.passes.base import REGISTRY
from qadl.passes.levels import LEVELS, POST_ROUTING, PRE_ROUTING

__all__ = ["passes_markdown"]


def _options(name: str) -> str:
    """The keyword options of a pass beyond ``ctx``, as ``key=default`` text."""
    params = inspect.signature(REGISTRY[name]).parameters.values()
    opts = [
        f"`{p.name}={p.default!r}`" for p in params if p.kind is p.KEYWORD_ONLY and p.name != "ctx"
    ]
    return ", ".join(opts) or "none"


def passes_markdown() -> str:
    """A Markdown section listing every pass (docstring, options) and the O0…O3 levels.

    Meant for ``docs/architecture.md``, so the documentation cannot drift from
    ``REGISTRY``: regenerate it rather than editing pass descriptions by hand.
    """
    out = ["## Passes", ""]
    for name in sorted(REGISTRY):
        doc = inspect.cleandoc(REGISTRY[name].__doc__ or "")
        out += [f"### `{name}`", "", doc, "", f"Options: {_options(name)}.", ""]
    out += [
        "## Levels",
        "",
        "| level | passes (to a fixed point) | before routing | after routing |",
        "|---|---|---|---|",
    ]
    for level, names in LEVELS.items():
        stages = (names, PRE_ROUTING[level], POST_ROUTING[level])
        out.append(f"| O{level} | " + " | ".join(", ".join(s) or "—" for s in stages) + " |")
    return "\n".join(out) + "\n"
