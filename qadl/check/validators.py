"""Value validators: small checks ``value -> problem | None`` that option schemas are built from.

Each returns a description of what is wrong with a value (the checker turns it into a located
diagnostic) or None when the value is fine.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Callable
from typing import Any

from qadl.check.values import Condition

__all__ = [
    "Check",
    "any_of",
    "boolean",
    "close_match",
    "condition",
    "dims",
    "feature_range",
    "integer",
    "list_of",
    "name",
    "number",
    "one_of",
    "pairs",
    "string",
]

Check = Callable[[Any], "str | None"]
"""Returns a description of what is wrong with a value, or None when it is fine."""


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_num(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def integer(lo: int | None = None, hi: int | None = None) -> Check:
    """An int in ``[lo, hi]``."""

    def check(v: Any) -> str | None:
        if not _is_int(v):
            return "expected an integer"
        if (lo is not None and v < lo) or (hi is not None and v > hi):
            return f"must be {_range_text(lo, hi)}"
        return None

    return check


def number(
    lo: float | None = None,
    hi: float | None = None,
    *,
    open_lo: bool = False,
    open_hi: bool = False,
) -> Check:
    """A finite number in ``[lo, hi]`` (``open_lo``/``open_hi`` exclude an end)."""

    def check(v: Any) -> str | None:
        if not _is_num(v):
            return "expected a number"
        if not math.isfinite(v):
            return f"must be a finite number, got {v}"
        below = lo is not None and (v < lo or (open_lo and v == lo))
        above = hi is not None and (v > hi or (open_hi and v == hi))
        if below or above:
            return f"must be {_range_text(lo, hi, open_lo, open_hi)}"
        return None

    return check


def _range_text(
    lo: float | None, hi: float | None, open_lo: bool = False, open_hi: bool = False
) -> str:
    if lo is not None and hi is not None:
        return f"in {'(' if open_lo else '['}{lo}, {hi}{')' if open_hi else ']'}"
    if lo is not None:
        return f"{'>' if open_lo else '>='} {lo}"
    return f"{'<' if open_hi else '<='} {hi}"


def one_of(*words: str) -> Check:
    """One of a fixed set of words."""

    def check(v: Any) -> str | None:
        if isinstance(v, str) and v in words:
            return None
        hint = close_match(v, words) if isinstance(v, str) else None
        extra = f"; did you mean `{hint}`?" if hint else ""
        return f"expected one of {', '.join(words)}{extra}"

    return check


def boolean(v: Any) -> str | None:
    """``true`` or ``false`` (or 0/1)."""
    return None if isinstance(v, bool) or v in (0, 1) else "expected true or false"


def name(v: Any) -> str | None:
    """A bare name."""
    return None if isinstance(v, str) and v.isidentifier() else "expected a name"


def string(v: Any) -> str | None:
    """A string."""
    return None if isinstance(v, str) else "expected a string"


def list_of(item: Check, *, length: int | None = None, min_length: int = 1) -> Check:
    """A list (or a single item, promoted to a one-element list) of valid items."""

    def check(v: Any) -> str | None:
        items = v if isinstance(v, tuple) else (v,)
        if length is not None and len(items) != length:
            return f"expected a list of {length} items"
        if len(items) < min_length:
            return f"expected at least {min_length} item(s)"
        for it in items:
            problem = item(it)
            if problem:
                return f"list item {it!r}: {problem}"
        return None

    return check


def any_of(*checks: Check) -> Check:
    """Valid when one of ``checks`` accepts the value."""

    def check(v: Any) -> str | None:
        problems = [c(v) for c in checks]
        return None if any(p is None for p in problems) else problems[0]

    return check


def dims(v: Any) -> str | None:
    """An image shape like ``16x16``."""
    ok = isinstance(v, tuple) and len(v) == 2 and all(_is_int(s) and s > 0 for s in v)
    return None if ok else "expected a shape like 16x16"


def condition(metrics: tuple[str, ...]) -> Check:
    """A stopping rule ``metric >= value``."""

    def check(v: Any) -> str | None:
        if not isinstance(v, Condition):
            return "expected a condition like `wrong_class >= 0.6`"
        if v.metric not in metrics:
            return f"unknown metric `{v.metric}`; expected one of {', '.join(metrics)}"
        if v.op != ">=":
            return f"a stopping rule reads `{v.metric} >= value`, not `{v.op}`"
        if not 0.0 < v.value <= 1.0:
            return f"`{v.metric}` is a fraction: the value must lie in (0, 1], got {v.value:g}"
        return None

    return check


def feature_range(v: Any) -> str | None:
    """``[lo, hi]``: two finite numbers with ``lo < hi``."""
    problem = list_of(number(), length=2)(v)
    if problem:
        return problem
    lo, hi = v
    return None if lo < hi else f"the range must have lo < hi, got [{lo:g}, {hi:g}]"


def pairs(v: Any) -> str | None:
    """A coupling list ``[(0, 1), (1, 2)]``."""
    ok = isinstance(v, tuple) and all(
        isinstance(p, tuple)
        and len(p) == 2
        and all(_is_int(q) and q >= 0 for q in p)
        and p[0] != p[1]
        for p in v
    )
    return None if ok else "expected a list of qubit pairs like [(0, 1), (1, 2)]"


def close_match(word: str, choices: Any) -> str | None:
    """The most similar choice (difflib), if any is close."""
    found = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return found[0] if found else None
