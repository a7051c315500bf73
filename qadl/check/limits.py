"""Resource limits of compile-time evaluation, and the cheap tests that enforce them.

Every value the checker and the lowering build is bounded *before* it is built, so a
hostile or mistaken program gets a located error in well under a second instead of
hanging or exhausting memory. The numbers are documented in docs/language.md ("Limits").
"""

from __future__ import annotations

import math
from typing import Any

__all__ = [
    "MAX_AMPLITUDE_QUBITS",
    "MAX_INT_BITS",
    "MAX_LIST",
    "MAX_NESTING",
    "MAX_OPS",
    "MAX_SIM_QUBITS",
    "MAX_STEPS",
    "MAX_TERMS",
    "MAX_TRIPS",
    "MAX_VECTOR",
    "float_ok",
    "int_too_large",
    "list_measure",
    "pow_too_large",
]

MAX_SIM_QUBITS = 30
"""Largest register a model may declare: a 2^30 complex128 state is 16 GiB per sample."""
MAX_OPS = 100_000
"""Largest unrolled circuit, in gates."""
MAX_STEPS = 500_000
"""Most units of work unrolling the models of one program may take, all models together:
statements executed, expressions evaluated, list elements built or compared, and terms of
symbolic angles built (loops with empty bodies count too)."""
MAX_TRIPS = 1_000_000
"""Most iterations of nested loops: the product of the trip counts of a loop and every loop
(and block call inside a loop) around it."""
MAX_LIST = 100_000
"""Most elements a list value may hold, nested elements included."""
MAX_NESTING = 32
"""Deepest nesting of list values."""
MAX_INT_BITS = 63
"""Integers are 64-bit: their magnitude stays below 2**63, as for integer literals."""
MAX_TERMS = 10_000
"""Most terms of one symbolic angle polynomial."""
MAX_VECTOR = 1 << 20
"""Most trainable parameters or features a model may declare."""
MAX_AMPLITUDE_QUBITS = 20
"""Most qubits of one ``amplitude`` encoding (2**20 amplitudes)."""


def int_too_large(value: Any) -> bool:
    """True for an integer (not a bool) of magnitude 2**MAX_INT_BITS or more."""
    return (
        isinstance(value, int)
        and not isinstance(value, bool)
        and abs(value).bit_length() > MAX_INT_BITS
    )


def pow_too_large(base: Any, exponent: Any) -> bool:
    """True when ``base ** exponent`` would be an integer past the limit (tested before it is
    computed: a tower such as ``2**2**2**2**2**2`` must not be evaluated to find out)."""
    if isinstance(base, bool) or isinstance(exponent, bool):
        return False
    if not (isinstance(base, int) and isinstance(exponent, int)) or exponent < 0:
        return False
    if abs(base) < 2:
        return False
    # |base| >= 2**(bits-1), so the result has at least (bits-1)*exponent + 1 bits.
    return (abs(base).bit_length() - 1) * exponent + 1 > MAX_INT_BITS


def float_ok(value: Any) -> bool:
    """False for an infinite or NaN float (ints and non-numbers pass)."""
    return not isinstance(value, float) or math.isfinite(value)


def list_measure(value: Any, limit: int = MAX_LIST) -> tuple[int, int]:
    """``(elements, depth)`` of a nested tuple value, counting nested elements.

    Stops early once ``elements`` passes ``limit`` or ``depth`` passes ``MAX_NESTING``, so
    the cost is at most about ``limit`` steps even for a value that shares sub-lists
    (``[a, a]`` built repeatedly denotes exponentially many elements).
    """
    if not isinstance(value, tuple):
        return 0, 0
    elements, depth = 0, 0
    stack: list[tuple[tuple, int]] = [(value, 1)]
    while stack:
        items, level = stack.pop()
        depth = max(depth, level)
        elements += len(items)
        if elements > limit or depth > MAX_NESTING:
            break
        stack.extend((v, level + 1) for v in items if isinstance(v, tuple))
    return elements, depth
