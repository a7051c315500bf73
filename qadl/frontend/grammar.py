"""Builds the LALR parser for qadl once; every Lark option lives here."""

from __future__ import annotations

import functools

from lark import Lark

from qadl.frontend.layout import Layout
from qadl.resources import grammar_path

__all__ = ["grammar_text", "parser"]


@functools.cache
def grammar_text() -> str:
    """The text of ``qadl.lark``."""
    return grammar_path().read_text(encoding="utf-8")


def build_parser(*, strict: bool = False, cache: bool = False) -> Lark:
    """A fresh LALR parser (``strict=True`` also checks terminal collisions; needs interegular).

    ``cache=True`` lets Lark keep the analysed tables in the temp directory (keyed by the
    grammar's hash), which halves ``qadl check`` start-up; Lark falls back silently when
    the directory is not writable.
    """
    return Lark(
        grammar_text(),
        parser="lalr",
        lexer="contextual",
        propagate_positions=True,
        maybe_placeholders=True,
        postlex=Layout(),
        strict=strict,
        cache=cache,
    )


@functools.cache
def parser() -> Lark:
    """The shared parser (built on first use)."""
    return build_parser(cache=True)
