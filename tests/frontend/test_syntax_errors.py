"""Syntax errors become located E01xx diagnostics; every labelled example fires."""

from __future__ import annotations

import pytest

from qadl.diagnostics import render
from qadl.errors import QadlError
from qadl.frontend.parse import MAX_DEPTH, parse
from qadl.frontend.syntax_errors import EXAMPLES
from qadl.source import SourceFile, SourceMap


def diagnose(text: str):
    source = SourceFile("t.qadl", text)
    with pytest.raises(QadlError) as info:
        parse(source)
    (diag,) = info.value.diagnostics
    sources = SourceMap()
    sources.add(source)
    return diag, render(diag, sources)


@pytest.mark.parametrize(
    ("label", "snippet"),
    [(label, s) for label, ex in EXAMPLES.items() for s in ex.snippets],
)
def test_every_example_label_fires(label, snippet):
    diag, _ = diagnose(snippet)
    assert diag.code == EXAMPLES[label].code
    assert diag.help == EXAMPLES[label].help


def test_examples_match_at_any_depth():
    """The same mistake inside nested blocks gets the same explanation."""
    diag, text = diagnose(
        "gate g(q: qubits) {\n  for i in 0..2 {\n    if i == 0 {\n      cx q[0] q[1]\n    }\n  }\n}"
    )
    assert diag.code == "E0108"
    assert text.startswith("t.qadl:4:15: error[E0108]")


def test_location_caret_and_expected_words():
    _, text = diagnose("const x = 1 @ 2")
    assert (
        text.splitlines()[0] == "t.qadl:1:13: error[E0101]: syntax error: unexpected character `@`"
    )
    assert text.splitlines()[3].startswith("  |             ^ expected one of:")


def test_eof_points_past_last_character():
    diag, text = diagnose("train m on d.train {\n  epochs 20\n")
    assert diag.code == "E0115"
    assert text.splitlines()[0].startswith("t.qadl:2:12:")
    assert "..." not in text


def test_keyword_typo_gets_did_you_mean():
    diag, _ = diagnose("modle m() on q[2] { }")
    assert diag.code == "E0114" and diag.help == "did you mean `model`?"


def test_keywords_are_soft_where_only_a_name_fits():
    """The contextual lexer reads `in` as a name after `let` (`attack` as a keyword argument)."""
    from qadl.frontend.parse import parse_text

    (gate,) = parse_text("gate g(q: qubits) { let in = 3 }").decls
    assert gate.body[0].name == "in"


@pytest.mark.parametrize(
    "text",
    [
        "const c = " + "(" * 5000 + "1" + ")" * 5000,
        "const c = " + "-" * 5000 + "1",
        "const c = " + "+".join(["1"] * 3000),
        "gate g(q: qubits) {" + "if 1 == 1 {" * 400 + "}" * 400 + "}",
    ],
)
def test_deep_nesting_is_a_diagnostic_not_recursion_error(text):
    diag, _ = diagnose(text)
    assert diag.code == "E0110"
    assert str(MAX_DEPTH) in diag.message


def test_unexpected_character_in_unicode_file():
    diag, text = diagnose("const θ = 1\nconst φ = 2 $ 3")
    assert diag.code in ("E0100", "E0101")
    assert text.startswith("t.qadl:2:13:")
