"""Fuzzing: generated and mutated programs only ever raise QadlError (vyper's pattern).

About 460 programs per run in the default suite (more with HYPOTHESIS_PROFILE=dev): drawn
from the grammar, mutated examples (token deletion, duplication and swaps, byte flips, and
inserted hazards: trojan-source characters, non-ASCII digits, huge and tiny numbers, deep
nesting) and random text. Each program must check and lower, or raise ``QadlError`` with
located diagnostics, within ``LIMIT_S`` seconds (a hard alarm, so a hang fails the test
instead of stalling the suite).
"""

from __future__ import annotations

import contextlib
import functools
import re
import signal
from datetime import timedelta
from pathlib import Path

import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from qadl.api import loads  # noqa: E402
from qadl.errors import QadlError  # noqa: E402
from qadl.source import NO_SPAN  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((REPO / "examples").glob("*.qadl"))
SEEDS = [p.read_text(encoding="utf-8") for p in EXAMPLES] or ["const a = 1"]
LIMIT_S = 10
"""Hard limit per program; every example checks in well under a second."""


def examples(n: int) -> int:
    """``n`` examples, or the profile's count when that is larger (the dev profile)."""
    return max(n, settings.default.max_examples)


def fuzz(n: int) -> settings:
    """Settings for a fuzz test of about ``n`` programs."""
    return settings(
        max_examples=examples(n),
        deadline=timedelta(seconds=LIMIT_S),
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


class Hang(Exception):
    """A program took longer than ``LIMIT_S`` to check."""


@contextlib.contextmanager
def time_limit(seconds: float):
    """Raise ``Hang`` in this (main) thread after ``seconds`` (where there are POSIX timers)."""
    if not hasattr(signal, "setitimer"):
        yield
        return

    def alarm(signum, frame):
        raise Hang(f"no result after {seconds} s")

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def run(text: str | bytes, path: Path) -> None:
    """Check + lower; success or QadlError with located diagnostics, nothing else."""
    try:
        with time_limit(LIMIT_S):
            loads(text, str(path), real_path=path)
    except QadlError as err:
        assert err.diagnostics
        for d in err.diagnostics:
            assert d.primary.span is not NO_SPAN, d


# -- mutations of the examples ----------------------------------------------------------------
HAZARDS = [
    "\u202e",  # text-direction override
    "\u2066",
    "\u2028",  # line separator
    "\u200b",  # zero-width space
    "\u0430",  # Cyrillic a
    "\u09ea",  # Bengali four
    "\uff14",  # full-width four
    "\ufeff",
    "\r",
    "\x00",
    "9" * 5000,
    "9223372036854775808",
    "1e400",
    "1e-400",
    "1" * 400 + "π",
    "(" * 130,
    ")" * 130,
    "[" * 130,
    "{" * 130,
    "-" * 130,
    "1 + " * 130,
    "not not not ",
    "θ",
    '"',
    "/*",
    "//",
    "\\\n",
    ";",
]
_TOKENS = re.compile(r"(\s+)")


@st.composite
def mutated(draw):
    index = draw(st.integers(0, len(SEEDS) - 1))
    tokens = _TOKENS.split(SEEDS[index])
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["delete", "duplicate", "swap", "truncate", "insert", "char"]))
        i = draw(st.integers(0, len(tokens) - 1))
        j = draw(st.integers(0, len(tokens) - 1))
        if op == "delete" and len(tokens) > 1:
            del tokens[i]
        elif op == "duplicate":
            tokens.insert(i, tokens[j])
        elif op == "swap":
            tokens[i], tokens[j] = tokens[j], tokens[i]
        elif op == "truncate":
            tokens = tokens[: max(i, 1)]
        elif op == "insert":
            tokens.insert(i, draw(st.sampled_from(HAZARDS)))
        else:
            tokens.insert(i, draw(st.characters(codec="utf-8")))
    text: str | bytes = "".join(tokens)
    if draw(st.booleans()) and text:
        data = bytearray(text.encode("utf-8"))
        for _ in range(draw(st.integers(1, 3))):
            k = draw(st.integers(0, len(data) - 1))
            data[k] ^= 1 << draw(st.integers(0, 7))
        text = bytes(data)
    return index, text


@pytest.mark.fuzz
@fuzz(300)
@given(mutated())
def test_mutated_examples_raise_only_qadl_errors(case):
    index, text = case
    run(text, EXAMPLES[index] if EXAMPLES else REPO / "fuzz.qadl")


@pytest.mark.fuzz
@fuzz(60)
@given(st.from_regex(r"[a-z0-9(){}\[\],.:;=+*\-<>?\n \"π]{0,80}", fullmatch=True))
def test_random_text_raises_only_qadl_errors(text):
    run(text, REPO / "fuzz.qadl")


# -- programs drawn from the grammar ----------------------------------------------------------
def _padded(pattern: str):
    return st.from_regex(pattern, fullmatch=True).map(lambda s: f" {s} ")


@functools.cache
def _programs():
    """Programs drawn from the grammar (built once: analysing the grammar is slow)."""
    from hypothesis.extra.lark import from_lark

    from qadl.frontend.grammar import build_parser

    return from_lark(
        build_parser(),  # not the cached one: from_lark needs the grammar object
        explicit={
            # identifiers and numbers padded so that neighbouring tokens do not merge
            "NAME": _padded(r"[a-zθ][a-z0-9_]{0,5}"),
            "_NL": st.sampled_from(["\n", ";"]),
            "NUMBER": _padded(r"[0-9]{1,3}(\.[0-9]{1,3})?|[0-9]{1,400}|[0-9]e-?[0-9]{1,3}"),
            "PI_NUMBER": _padded(r"[0-9]{1,2}(π|pi)"),
            "STRING": _padded(r'"[a-z./]{0,8}"'),
            # ignored tokens: a newline kept only before `else`/`{` (the lookahead can
            # never match a drawn token on its own), a BOM only allowed first, and a line
            # comment would swallow the tokens drawn after it
            "__IGNORE_0": st.just(" "),
            "__IGNORE_2": st.just(" "),
            "COMMENT": st.just(" /* c */ "),
        },
    )


@pytest.mark.fuzz
@fuzz(100)
@given(st.data())
def test_grammar_generated_programs(data):
    """Programs drawn from the grammar itself."""
    run(data.draw(_programs()), REPO / "fuzz.qadl")
