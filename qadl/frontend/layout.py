"""The post-lexer that turns newlines into statement terminators where they end a statement."""

from __future__ import annotations

from collections.abc import Iterator

from lark import Token
from lark.lark import PostLex

__all__ = ["MAX_DEPTH", "Layout", "TooDeep"]

MAX_DEPTH = 120
"""Deepest nesting accepted (brackets, blocks, operators); deeper is an error, not a
``RecursionError`` in a later phase."""

TERMINATOR = "_NL"
"""Token type of a statement terminator (a newline run or ``;``)."""

_OPEN = frozenset({"LPAR", "LSQB"})
_CLOSE = frozenset({"RPAR", "RSQB"})
_MAX_BRACKETS = MAX_DEPTH + 2
"""Bracket depth past which the parse tree is surely deeper than ``MAX_DEPTH`` (every
bracket pair but an empty innermost one, and a declaration's outer brace, adds a level)."""
# A line ending in one of these continues on the next line.
_CONTINUES = frozenset(
    {
        "COMMA",
        "ADD_OP",
        "MUL_OP",
        "STAR",
        "POW",
        "COMPARE",
        "AND",
        "OR",
        "NOT",
        "IN",
        "EQUAL",
        "QMARK",
        "COLON",
        "DOT",
        "LBRACE",
        "__ANON_0",
        "__ANON_1",
        TERMINATOR,
    }
)


class TooDeep(Exception):
    """Brackets nested so deep that the parse would be refused anyway: stop lexing early."""

    def __init__(self, token: Token) -> None:
        super().__init__(f"brackets nested deeper than {_MAX_BRACKETS}")
        self.token = token


def _terminator_at(tok: Token) -> Token:
    return Token.new_borrow_pos(TERMINATOR, "", tok)


class Layout(PostLex):
    """Newline handling so that ``;`` is never needed.

    Inside ``(...)`` and ``[...]`` newlines are dropped; repeated terminators merge (a
    newline before ``else`` or ``{`` is already ignored by the grammar); a terminator is
    inserted before every ``}`` and at the end of input, so the grammar can require one
    after every statement.

    The parser reads tokens lazily, so the contextual lexer lexes each token in the parser
    state left by the previous one; that is why this filter never looks ahead, and why
    ``}`` is always accepted by the lexer (a terminator is inserted in front of it).
    """

    always_accept = (TERMINATOR, "RBRACE")

    def process(self, stream: Iterator[Token]) -> Iterator[Token]:
        """Filter and insert terminator tokens in the token stream."""
        depth = 0
        brackets = 0  # ( [ and {, so that a 100,000-deep `((((` fails after 122 tokens
        prev: Token | None = None
        for tok in stream:
            if tok.type == TERMINATOR:
                if depth == 0 and prev is not None and prev.type not in _CONTINUES:
                    yield tok
                    prev = tok
                continue
            if (
                tok.type == "RBRACE"
                and depth == 0
                and prev is not None
                and prev.type not in (TERMINATOR, "LBRACE")
            ):
                prev = _terminator_at(tok)
                yield prev
            if tok.type in _OPEN:
                depth += 1
            elif tok.type in _CLOSE:
                depth = max(0, depth - 1)
            if tok.type in _OPEN or tok.type == "LBRACE":
                brackets += 1
                if brackets > _MAX_BRACKETS:
                    raise TooDeep(tok)
            elif tok.type in _CLOSE or tok.type == "RBRACE":
                brackets = max(0, brackets - 1)
            yield tok
            prev = tok
        if prev is not None and prev.type != TERMINATOR and depth == 0:
            yield _terminator_at(prev)
