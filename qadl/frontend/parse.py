"""``parse(source) -> ast.Module``, or ``QadlError`` with a located syntax diagnostic."""

from __future__ import annotations

from lark import Tree
from lark.exceptions import UnexpectedInput, VisitError

from qadl.errors import QadlError
from qadl.frontend import ast as A
from qadl.frontend.build_ast import build
from qadl.frontend.grammar import parser
from qadl.frontend.layout import MAX_DEPTH, TooDeep
from qadl.frontend.lexical import check_characters, check_identifiers
from qadl.frontend.syntax_errors import syntax_diagnostic
from qadl.source import SourceFile, Span

__all__ = ["MAX_DEPTH", "parse", "parse_text"]


_LISTS = frozenset({"args", "call_args", "body", "options", "params", "qubit_list", "name_list"})
"""Parse-tree nodes that only group their parent's children: they add no nesting level."""


def _too_deep(tree: Tree) -> Tree | None:
    """The first subtree nested deeper than ``MAX_DEPTH`` levels (iterative walk), or None.

    A declaration is level 0; each bracket, block and operator inside adds one level.
    """
    stack: list[tuple[Tree, int]] = [(tree, -1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            return node
        for child in node.children:
            if isinstance(child, Tree):
                flat = child.data in _LISTS or not any(isinstance(c, Tree) for c in child.children)
                stack.append((child, depth if flat else depth + 1))
    return None


def _too_deep_error(source: SourceFile, start: int) -> QadlError:
    return QadlError.at(
        "E0110",
        f"nesting deeper than {MAX_DEPTH} levels (brackets, blocks and operators)",
        Span(source.path, start, start + 1),
        label="too deeply nested",
        help="split the expression with `let` bindings or the block into smaller gate blocks",
    )


def parse(source: SourceFile) -> A.Module:
    """Parse one file.

    Raises:
        QadlError: E01xx with the location of the first syntax error (or of every
            character or name that the source-text rules refuse).
    """
    check_characters(source)
    lark = parser()
    try:
        tree = lark.parse(source.text)
    except UnexpectedInput as error:
        raise QadlError((syntax_diagnostic(error, source, lark),)) from None
    except TooDeep as error:
        raise _too_deep_error(source, error.token.start_pos or 0) from None
    deep = _too_deep(tree)
    if deep is not None:
        meta = deep.meta
        raise _too_deep_error(source, getattr(meta, "start_pos", 0) if not meta.empty else 0)
    check_identifiers(tree, source)
    try:
        return build(tree, source.path, source.text)
    except VisitError as error:  # the builder refuses numbers that do not fit
        if isinstance(error.orig_exc, QadlError):
            raise error.orig_exc from None
        raise


def parse_text(text: str, path: str = "<input>") -> A.Module:
    """Parse a string (tests and tools)."""
    return parse(SourceFile(path, text))
