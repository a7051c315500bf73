"""Lark ``UnexpectedInput`` -> located ``Diagnostic``: tokens in words, labelled examples, hints."""

from __future__ import annotations

import difflib
import functools
import unicodedata
from dataclasses import dataclass

from lark import Lark
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from qadl.diagnostics import Diagnostic
from qadl.source import SourceFile, Span

__all__ = ["EXAMPLES", "TOKEN_WORDS", "SyntaxExample", "describe_token", "syntax_diagnostic"]

TOKEN_WORDS: dict[str, str] = {
    "NAME": "a name",
    "NUMBER": "a number",
    "PI_NUMBER": "a multiple of π",
    "QUANTITY": "a time (like `150us`)",
    "DIMS": "a shape (like `16x16`)",
    "QKEY": "`1q` or `2q`",
    "STRING": "a string",
    "COMPARE": "a comparison",
    "ADD_OP": "`+` or `-`",
    "MUL_OP": "`*`, `/` or `%`",
    "_NL": "end of statement (a newline or `;`)",
    "$END": "end of file",
}
"""Display words for terminals that are not a fixed string."""

TOP_LEVEL_KEYWORDS = (
    "import",
    "const",
    "gate",
    "model",
    "kernel",
    "data",
    "train",
    "attack",
    "defend",
    "evaluate",
    "target",
    "noise",
    "device",
    "sweep",
)
STATEMENT_KEYWORDS = ("for", "if", "let", "param", "readout")
MAX_LISTED = 10


@dataclass(frozen=True)
class SyntaxExample:
    """A labelled malformed snippet: if a program fails in the same parser state, say this."""

    code: str
    message: str
    help: str | None
    snippets: tuple[str, ...]


EXAMPLES: dict[str, SyntaxExample] = {
    "missing-on": SyntaxExample(
        "E0102",
        "a model needs its qubit register: `on NAME[SIZE]`",
        "write `model m(p: float[4]) on q[2] { ... }`",
        ("model m(p: float[4]) q[2] { }", "model m() { }"),
    ),
    "register-size": SyntaxExample(
        "E0103",
        "the register of a model needs a size in brackets",
        "write `on q[10]` for a 10-qubit register",
        ("model m() on q { }", "model m() on q() { }"),
    ),
    "param-type": SyntaxExample(
        "E0104",
        "every parameter needs a type",
        "write `name: type`, e.g. `q: qubits`, `layers: int = 2`, `p: float[256]`",
        ("gate g(q) { }", "gate g(q: qubits, n) { }", "model m(p) on q[2] { }"),
    ),
    "assign-in-condition": SyntaxExample(
        "E0105",
        "`=` is not a comparison",
        "use `==` to compare values",
        ("gate g() { if a = 1 { } }", "const c = a = 1"),
    ),
    "for-syntax": SyntaxExample(
        "E0106",
        "a `for` loop is written `for NAME in START..STOP { ... }`",
        "for example `for i in 0..n { ... }` or `for g in [rx, ry] { ... }`",
        ("gate g() { for i 0..3 { } }", "gate g() { for (i in 0..3) { } }"),
    ),
    "let-syntax": SyntaxExample(
        "E0107",
        "`let` needs `=` and a value",
        "write `let k = 10 * layer + j`",
        ("gate g() { let k 3 }", "gate g() { let k }"),
    ),
    "one-statement-per-line": SyntaxExample(
        "E0108",
        "expected `,` between qubit operands, or the end of the statement",
        "separate qubit operands with `,` (`cx q[0], q[1]`); put each statement on its own line"
        " or end it with `;`",
        ("gate g(q: qubits) { h q[0] x q[1] }", "gate g(q: qubits) { cx q[0] q[1] }"),
    ),
    "missing-options-block": SyntaxExample(
        "E0109",
        "options go in a `{ ... }` block",
        "write `train m on d.train { epochs 20 }`",
        ("train m on d.train epochs 20", "attack a on m method fgsm", "target t qubits 10"),
    ),
    "readout-parens": SyntaxExample(
        "E0111",
        "`readout` takes its qubits or observables in parentheses",
        "write `readout probs(q[4]) -> classes 2` or `readout expval(Z q[0])`",
        ("model m() on q[1] { readout probs q[0] }", "model m() on q[1] { readout }"),
    ),
    "keyword-arg-colon": SyntaxExample(
        "E0112",
        "keyword arguments use `=`, not `:`",
        "write `adam(lr = 0.05)`",
        ("const c = adam(lr: 0.05)", "data d = builtin.digits(classes: [1, 9])"),
    ),
    "missing-comma": SyntaxExample(
        "E0113",
        "list items are separated by commas",
        "write `[1, 2, 3]`",
        ("const c = [1 2]", "const c = [rx ry]"),
    ),
    "unclosed": SyntaxExample(
        "E0115",
        "unclosed bracket: the file ends inside `(`, `[` or `{`",
        "add the missing closing bracket",
        ("const c = (1 + 2", "const c = [1, 2", "gate g() {"),
    ),
    "gate-call-qubits-in-parens": SyntaxExample(
        "E0116",
        "a gate's qubits come after its angle arguments, outside the parentheses",
        "write `rx(0.5) q[0]`, and `cx q[0], q[1]`",
        ("gate g(q: qubits) { rx(0.5) (q[0]) }",),
    ),
}
"""match_examples table: label -> message, hint and snippets that fail in the same state."""


def _terminal_words(parser: Lark) -> dict[str, str]:
    words = dict(TOKEN_WORDS)
    for term in parser.terminals:
        if term.name not in words and term.pattern.type == "str":
            words[term.name] = f"`{term.pattern.value}`"
    return words


def describe_token(name: str, parser: Lark) -> str:
    """Words for a terminal: ``a name``, ``\\`{\\```, ``end of file`` …"""
    return _terminal_words(parser).get(name, name.lower())


_OPERATORS = frozenset(
    {"ADD_OP", "MUL_OP", "POW", "COMPARE", "AND", "OR", "IN", "QMARK", "STAR", "__ANON_0"}
)
"""Terminals summarised as "an operator" when several of them are expected."""


def _expected_text(expected: set[str] | frozenset[str], parser: Lark) -> str:
    """``expected one of: ...`` in words, operators summarised, at most ``MAX_LISTED`` items."""
    operators = expected & _OPERATORS
    if len(operators) >= 3:
        expected = (expected - operators) | {"an operator"}
    declarations = {t for t in expected if t.lower() in TOP_LEVEL_KEYWORDS}
    if len(declarations) >= 5:
        expected = (expected - declarations) | {"a new declaration"}
    summaries = ("an operator", "a new declaration")
    words = {describe_token(t, parser) if t not in summaries else t for t in expected}
    # punctuation and summaries first, keywords (`model`, `for` ...) last
    words = sorted(words, key=lambda w: (w.strip("`").isalpha() and w.startswith("`"), w))
    if len(words) > MAX_LISTED:
        return (
            "expected one of: "
            + ", ".join(words[:MAX_LISTED])
            + f" (and {len(words) - MAX_LISTED} more)"
        )
    if len(words) == 1:
        return f"expected {words[0]}"
    return "expected one of: " + ", ".join(words)


def _signature(error: UnexpectedInput) -> tuple[object, str] | None:
    """Where the parser stopped: its LALR state and the kind of token it refused.

    Lark's own ``match_examples`` also compares the depth of the state stack, so an example
    would only match at the nesting depth it was written at; the top state is enough here.
    """
    state = getattr(error, "state", None)
    position = getattr(state, "position", None)
    if position is None:
        return None
    token = getattr(error, "token", None)
    kind = token.type if token is not None else type(error).__name__
    return position, kind


@functools.cache
def _example_signatures(parser: Lark) -> tuple[tuple[tuple[object, str], str], ...]:
    out = []
    for label, example in EXAMPLES.items():
        for snippet in example.snippets:
            try:
                parser.parse(snippet)
            except UnexpectedInput as error:
                sig = _signature(error)
                if sig is not None:
                    out.append((sig, label))
    return tuple(out)


def match_label(error: UnexpectedInput, parser: Lark) -> str | None:
    """The ``EXAMPLES`` label whose snippets fail in the same parser state, if any."""
    sig = _signature(error)
    if sig is None:
        return None
    for example_sig, label in _example_signatures(parser):
        if example_sig == sig:
            return label
    return None


def _offending(error: UnexpectedInput, source: SourceFile) -> tuple[int, int, str]:
    """Start, end and a description of what was found where parsing stopped."""
    text = source.text
    if isinstance(error, UnexpectedCharacters):
        pos = error.pos_in_stream
        return pos, pos + 1, f"unexpected character `{text[pos : pos + 1]}`"
    token = getattr(error, "token", None)
    if isinstance(error, UnexpectedEOF) or token is None or token.type == "$END":
        end = len(text.rstrip())
        return end, end + 1, "unexpected end of file"
    if token.type == "_NL":
        pos = token.start_pos if token.value else (token.end_pos or token.start_pos)
        if token.value in ("", None):
            # an inserted terminator borrows the position of the next `}` or the last token
            if text[token.start_pos : token.start_pos + 1] == "}":
                return token.start_pos, token.start_pos + 1, "unexpected `}`"
            end = len(text.rstrip())
            return end, end + 1, "unexpected end of file"
        what = "`;`" if token.value == ";" else "end of line"
        return pos, pos + 1, f"unexpected {what}"
    start = token.start_pos
    end = token.end_pos if token.end_pos is not None else start + len(token)
    return start, max(end, start + 1), f"unexpected `{token}`"


def _keyword_help(error: UnexpectedInput) -> str | None:
    token = getattr(error, "token", None)
    expected = getattr(error, "expected", None) or getattr(error, "allowed", None) or set()
    if token is None or not str(token).isidentifier() or token.type == "NAME":
        if token is not None and token.type == "NAME" and "NAME" not in expected:
            close = difflib.get_close_matches(
                str(token), TOP_LEVEL_KEYWORDS + STATEMENT_KEYWORDS, n=1
            )
            if close:
                return f"did you mean `{close[0]}`?"
        return None
    if "NAME" in expected:
        return f"`{token}` is a reserved word and cannot be used as a name"
    return None


def _unknown_keyword(error: UnexpectedInput, expected: set[str], parser: Lark) -> str | None:
    """``modle`` where a keyword was expected: the keyword it most resembles."""
    token = getattr(error, "token", None)
    if token is None or token.type != "NAME" or "NAME" in expected:
        return None
    words = _terminal_words(parser)
    keywords = [words[t].strip("`") for t in expected if t in words and words[t][1:-1].isalpha()]
    close = difflib.get_close_matches(str(token), keywords, n=1, cutoff=0.6)
    if str(token) == "def":
        close = ["gate"]
    return close[0] if close else None


def _expected(error: UnexpectedInput) -> set[str]:
    """Terminals the parser would really accept here.

    LALR lookahead sets are merged, so ``error.expected`` lists tokens that only some
    contexts accept; the interactive parser simulates the reductions and knows better.
    """
    expected = set(getattr(error, "expected", None) or getattr(error, "allowed", None) or ())
    interactive = getattr(error, "interactive_parser", None)
    if interactive is not None:
        try:
            accepted = set(interactive.accepts())
        except Exception:  # a failing simulation must never hide the real error
            return expected
        if accepted:
            return accepted
    return expected


def _foreign_digit(error: UnexpectedInput, source: SourceFile) -> Diagnostic | None:
    """``৪`` or ``４`` where a token starts: digits are ASCII only (``int()`` would read these)."""
    if not isinstance(error, UnexpectedCharacters):
        return None
    pos = error.pos_in_stream
    ch = source.text[pos : pos + 1]
    if not ch or ch.isascii() or not ch.isdigit():
        return None
    value = unicodedata.digit(ch, None)
    return Diagnostic.error(
        "E0120",
        f"non-ASCII digit `{ch}` (U+{ord(ch):04X} {unicodedata.name(ch, '')})",
        Span(source.path, pos, pos + 1),
        label="numbers are written with the digits 0-9",
        help=f"write `{value}`" if value is not None else "write the number with the digits 0-9",
    )


def syntax_diagnostic(error: UnexpectedInput, source: SourceFile, parser: Lark) -> Diagnostic:
    """One E01xx diagnostic for a parse failure, pointing at the offending token."""
    foreign = _foreign_digit(error, source)
    if foreign is not None:
        return foreign
    start, end, found = _offending(error, source)
    span = Span(source.path, start, min(end, max(len(source.text), start + 1)))
    expected = _expected(error)
    label = _expected_text(expected, parser) if expected else ""
    at_end = found == "unexpected end of file"
    if at_end and expected & {"RBRACE", "RPAR", "RSQB"}:
        ex = EXAMPLES["unclosed"]
        return Diagnostic.error(ex.code, ex.message, span, label=label, help=ex.help)
    keyword = _unknown_keyword(error, set(expected), parser)
    if keyword is not None:
        return Diagnostic.error(
            "E0114",
            f"unknown keyword `{getattr(error, 'token', '')}`",
            span,
            label="not a keyword",
            help=f"did you mean `{keyword}`?",
        )
    name = match_label(error, parser)
    if name is not None:
        ex = EXAMPLES[name]
        return Diagnostic.error(ex.code, f"{ex.message} ({found})", span, label=label, help=ex.help)
    if isinstance(error, UnexpectedToken | UnexpectedEOF) or expected:
        return Diagnostic.error(
            "E0101", f"syntax error: {found}", span, label=label, help=_keyword_help(error)
        )
    return Diagnostic.error("E0100", f"syntax error: {found}", span)
