"""Fuzzing: mutated and generated programs only ever raise QadlError (vyper's pattern).

Example counts come from the hypothesis profile (tests/conftest.py): "ci" (default, 25)
or "dev" (300) via HYPOTHESIS_PROFILE=dev.
"""

from __future__ import annotations

import functools
from pathlib import Path

import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from qadl.api import loads  # noqa: E402
from qadl.errors import QadlError  # noqa: E402
from qadl.source import NO_SPAN  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((REPO / "examples").glob("*.qadl"))
SEEDS = [p.read_text(encoding="utf-8") for p in EXAMPLES] or ["const a = 1"]


def run(text: str, path: Path) -> None:
    """Check + lower; success or QadlError with located diagnostics, nothing else."""
    try:
        loads(text, str(path))
    except QadlError as err:
        assert err.diagnostics
        for d in err.diagnostics:
            assert d.primary.span is not NO_SPAN, d


@st.composite
def mutated(draw):
    index = draw(st.integers(0, len(SEEDS) - 1))
    tokens = SEEDS[index].split(" ")
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["delete", "swap", "truncate", "duplicate"]))
        if len(tokens) < 2:
            break
        i = draw(st.integers(0, len(tokens) - 1))
        j = draw(st.integers(0, len(tokens) - 1))
        if op == "delete":
            del tokens[i]
        elif op == "swap":
            tokens[i], tokens[j] = tokens[j], tokens[i]
        elif op == "truncate":
            tokens = tokens[: max(i, 1)]
        else:
            tokens.insert(i, tokens[j])
    return index, " ".join(tokens)


@pytest.mark.fuzz
@settings(deadline=None)
@given(mutated())
def test_mutated_examples_raise_only_qadl_errors(case):
    index, text = case
    run(text, EXAMPLES[index] if EXAMPLES else REPO / "fuzz.qadl")


@pytest.mark.fuzz
@settings(deadline=None)
@given(st.from_regex(r"[a-z0-9(){}\[\],.:;=+*\-<>?\n ]{0,60}", fullmatch=True))
def test_random_text_raises_only_qadl_errors(text):
    run(text, REPO / "fuzz.qadl")


@functools.cache
def _uncached():
    """A parser with its grammar object attached (the shared one may come from the cache)."""
    from qadl.frontend.grammar import build_parser

    return build_parser()


@pytest.mark.fuzz
@settings(deadline=None, max_examples=max(5, settings.default.max_examples // 3))  # slow to draw
@given(st.data())
def test_grammar_generated_programs(data):
    """Programs drawn from the grammar itself (identifiers padded so tokens do not merge)."""
    from hypothesis.extra.lark import from_lark

    name = st.from_regex(r"[a-z][a-z0-9_]{0,5}", fullmatch=True).map(lambda s: f" {s} ")
    nl = st.sampled_from(["\n", ";"])
    text = data.draw(
        from_lark(
            _uncached(),
            explicit={
                "NAME": name,
                "_NL": nl,
                "NUMBER": st.from_regex(r"[0-9]{1,3}", fullmatch=True).map(lambda s: f" {s} "),
            },
        )
    )
    run(text, REPO / "fuzz.qadl")
