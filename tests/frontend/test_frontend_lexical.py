"""Source-text rules: trojan-source characters, ASCII numbers that fit, one-script names, depth."""

from __future__ import annotations

import time

import pytest

from qadl.diagnostics import render
from qadl.errors import QadlError
from qadl.frontend import ast as A
from qadl.frontend.parse import MAX_DEPTH, parse_text
from qadl.source import SourceFile, SourceMap


def codes(text: str) -> list[str]:
    """The codes of the errors ``parse_text`` raises (empty when it parses)."""
    try:
        parse_text(text)
    except QadlError as err:
        return [d.code for d in err.diagnostics]
    return []


def value(text: str):
    (decl,) = parse_text(f"const c = {text}").decls
    return decl.value


# -- characters -------------------------------------------------------------------------------
BIDI = ["\u202a", "\u202b", "\u202c", "\u202d", "\u202e", "\u2066", "\u2067", "\u2068", "\u2069"]
BIDI += ["\u200e", "\u200f", "\u061c"]
LINE_BREAKS = ["\u2028", "\u2029", "\u0085", "\r", "\x0b", "\x0c"]
INVISIBLE = ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\x00", "\x1b", "\u3164"]
PLACES = {
    "line comment": "const a = 1 // note {}const b = 2\n",
    "block comment": "const a = 1 /* note {} */\n",
    "string": 'data d = file("x{}.csv")\n',
    "code": "const a = 1 {}+ 1\n",
}


@pytest.mark.parametrize("place", PLACES)
@pytest.mark.parametrize(
    ("chars", "code"), [(BIDI, "E0117"), (LINE_BREAKS, "E0118"), (INVISIBLE, "E0119")]
)
def test_hidden_characters_are_refused_everywhere(place, chars, code):
    for ch in chars:
        text = PLACES[place].format(ch)
        try:
            parse_text(text)
        except QadlError as err:
            (diag,) = err.diagnostics
            assert diag.code == code, (repr(ch), diag)
            assert diag.primary.span.start == text.index(ch)
            assert f"U+{ord(ch):04X}" in diag.message
        else:
            pytest.fail(f"{ch!r} in a {place} was accepted")


def test_line_separator_cannot_hide_a_gate_in_a_comment():
    """The issue's reproducer: editors show `cx` on its own line; qadl read it as comment."""
    text = "gate g(q: qubits[2]) {\n    h q[0] // prepare\u2028    cx q[0], q[1]\n}\n"
    assert codes(text) == ["E0118"]
    assert codes(text.replace("\u2028", "\n")) == []


def test_plain_whitespace_and_a_leading_bom_are_fine():
    assert codes("\ufeffconst a = 1\r\n\tconst b = 2\r\n") == []
    assert codes("const a = 1\n\ufeff") == ["E0119"]  # only at the start


def test_every_offending_character_is_reported():
    assert codes("const a = 1 // \u202e \u202e \u2028\n") == ["E0117", "E0117", "E0118"]


def test_snippets_never_print_hidden_characters():
    text = "const a = 1 /* \u202e } */\n"
    sources = SourceMap()
    source = sources.add(SourceFile("t.qadl", text))
    try:
        parse_text(source.text, "t.qadl")
    except QadlError as err:
        shown = render(err.diagnostics[0], sources)
    assert "\u202e" not in shown
    assert "/* \ufffd } */" in shown


# -- numbers ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("9223372036854775807", 2**63 - 1),
        ("000000000000000000000000042", 42),
        ("1e308", 1e308),
        ("5e-324", 5e-324),
        ("0.0e-400", 0.0),
        ("0", 0),
    ],
)
def test_numbers_at_the_limits_are_accepted(text, expected):
    assert value(text) == A.Number(expected)


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("9223372036854775808", "E0121"),
        ("7" * 4301, "E0121"),  # past Python's int-conversion digit limit
        ("1" * 100_000, "E0121"),
        ("1e400", "E0121"),
        ("1.5e99999999999999999999", "E0121"),
        ("1" * 400 + "π", "E0121"),
        ("1" * 400 + "us", "E0121"),
        ("1e-400", "E0122"),
        ("0.000001e-320", "E0122"),
    ],
)
def test_numbers_that_do_not_fit_are_located_errors(text, code):
    with pytest.raises(QadlError) as info:
        parse_text(f"const c = {text}\n")
    (diag,) = info.value.diagnostics
    assert diag.code == code
    assert (diag.primary.span.start, diag.primary.span.end) == (10, 10 + len(text))


def test_huge_shape_is_a_located_error():
    assert codes("const s = 99999999999999999999x2\n") == ["E0121"]
    assert value("28x28") == A.Dims((28, 28))


@pytest.mark.parametrize("digit", ["\u09ea", "\uff14", "\u0664", "\u0e54"])  # ৪ ４ ٤ ๔
def test_non_ascii_digits_are_not_numbers(digit):
    assert codes(f"const c = {digit}\n") == ["E0120"]
    assert codes(f"const c = 1.{digit}\n") == ["E0120"]


# -- names ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "name", ["θ", "theta", "ψ_0", "θmax", "dφ", "Δt", "вес", "変数すう", "π2", "layer_2"]
)
def test_one_script_names_and_physics_greek_are_fine(name):
    assert codes(f"const {name} = 1\nconst other = {name}\n") == []


@pytest.mark.parametrize(
    ("name", "at"),
    [("p\u0430ram", 1), ("\u0440hase", 0), ("c\u03bfnst", 1), ("x\u09ea", 1)],
)
def test_mixed_script_names_are_refused(name, at):
    with pytest.raises(QadlError) as info:
        parse_text(f"const {name} = 1\n")
    (diag,) = info.value.diagnostics
    assert diag.code == "E0123"
    assert diag.primary.span.start == len("const ") + at


@pytest.mark.parametrize(
    ("first", "second"),
    [("copy", "\u0441\u043e\u0440\u0443"), ("x", "\uff58"), ("θ", "\U0001d703"), ("ℓ", "l")],
)
def test_lookalike_names_are_refused(first, second):
    assert codes(f"const {first} = 1\nconst {second} = 2\n") == ["E0124"]


def test_each_bad_name_is_reported_once():
    assert codes("const p\u0430ram = 1\nconst b = p\u0430ram + p\u0430ram\n") == ["E0123"]


# -- nesting ----------------------------------------------------------------------------------
def nested(kind: str, n: int) -> str:
    if kind == "parens":
        return "const d = " + "(" * n + "1" + ")" * n + "\n"
    if kind == "lists":
        return "const d = " + "[" * n + "1" + "]" * n + "\n"
    if kind == "minus":
        return "const d = " + "-" * n + "1\n"
    return "gate g() {\n" + "if true {\n" * (n - 1) + "h q\n" + "}\n" * (n - 1) + "}\n"


@pytest.mark.parametrize("kind", ["parens", "lists", "minus", "blocks"])
def test_depth_limit_is_the_documented_one(kind):
    assert codes(nested(kind, MAX_DEPTH)) == []
    assert codes(nested(kind, MAX_DEPTH + 1)) == ["E0110"]


def test_very_deep_brackets_fail_fast():
    """A million `(` is refused after about MAX_DEPTH tokens, not after parsing them all."""
    start = time.perf_counter()
    assert codes(nested("parens", 1_000_000)) == ["E0110"]
    assert time.perf_counter() - start < 5  # about 0.1 s; parsing it all takes minutes


def test_operator_chains_parse_in_linear_time():
    """Parsing alone (lowering is another matter) of `not` and `+` chains."""
    for text in ("const d = " + "not " * 30 + "true\n", "const d = " + "1 + " * 100 + "1\n"):
        start = time.perf_counter()
        parse_text(text)
        assert time.perf_counter() - start < 1
    assert codes("const d = " + "not " * 20_000 + "true\n") == ["E0110"]
