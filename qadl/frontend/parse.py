"""``parse(source) -> ast.Module``, or ``QadlError`` with a located syntax diagnostic."""

from __future__ import annotations

from lark import Tree
from lark.exceptions import UnexpectedInput

from qadl.errors import QadlError
from qadl.frontend import ast as A
from qadl.frontend.build_ast import build
from qadl.frontend.grammar import parser
from qadl.frontend.syntax_errors import syntax_diagnostic
from qadl.source import SourceFile, Span

__all__ = ["MAX_DEPTH", "parse", "parse_text"]

MAX_DEPTH = 120
"""Deepest parse tree accepted; deeper nesting is an error, not a ``RecursionError``."""


def _too_deep(tree: Tree) -> Tree | None:
    """The first subtree nested deeper than ``MAX_DEPTH`` (iterative walk), or None."""
    stack: list[tuple[Tree, int]] = [(tree, 0)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            return node
        stack.extend((c, depth + 1) for c in node.children if isinstance(c, Tree))
    return None


def parse(source: SourceFile) -> A.Module:
    """Parse one file.

    Raises:
        QadlError: E01xx with the location of the first syntax error.
    """
    lark = parser()
    try:
        tree = lark.parse(source.text)
    except UnexpectedInput as error:
        raise QadlError((syntax_diagnostic(error, source, lark),)) from None
    deep = _too_deep(tree)
    if deep is not None:
        meta = deep.meta
        start = getattr(meta, "start_pos", 0) if not meta.empty else 0
        raise QadlError.at(
            "E0110",
            f"nesting deeper than {MAX_DEPTH} levels",
            Span(source.path, start, start + 1),
            label="too deeply nested",
            help="split the expression with `let` bindings or the block into smaller gate blocks",
        )
    return build(tree, source.path, source.text)


def parse_text(text: str, path: str = "<input>") -> A.Module:
    """Parse a string (tests and tools)."""
    return parse(SourceFile(path, text))
