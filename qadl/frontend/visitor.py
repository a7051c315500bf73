"""Generic AST traversal over dataclass fields: ``children``, ``walk`` and a ``Visitor`` base."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

__all__ = ["Visitor", "children", "walk"]


def _is_node(value: Any) -> bool:
    return dataclasses.is_dataclass(value) and not isinstance(value, type)


def children(node: Any) -> Iterator[Any]:
    """The direct child nodes of ``node`` in field order (tuples are flattened; spans skipped)."""
    for f in dataclasses.fields(node):
        if f.name.endswith("span"):
            continue
        value = getattr(node, f.name)
        items = value if isinstance(value, tuple) else (value,)
        for item in items:
            if _is_node(item):
                yield item
            elif isinstance(item, tuple):
                yield from (x for x in item if _is_node(x))


def walk(node: Any) -> Iterator[Any]:
    """Every node under ``node`` (itself first), pre-order, without recursion."""
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(reversed(list(children(current))))


class Visitor:
    """Dispatches ``visit(node)`` to ``visit_<ClassName>``; the default visits the children.

    A subclass overrides the methods it cares about and calls ``generic_visit`` to go on
    below a node (the openqasm3 pattern, without a mutable context argument).
    """

    def visit(self, node: Any) -> Any:
        """Visit one node."""
        method = getattr(self, f"visit_{type(node).__name__}", None)
        if method is None:
            return self.generic_visit(node)
        return method(node)

    def generic_visit(self, node: Any) -> None:
        """Visit every child of ``node``."""
        for child in children(node):
            self.visit(child)
