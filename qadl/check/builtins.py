"""Names every qadl file sees without importing anything: gates, functions, constants."""

from __future__ import annotations

import math

__all__ = [
    "BUILTIN_CONSTANTS",
    "BUILTIN_GATES",
    "DATA_SOURCES",
    "INIT_FUNCTIONS",
    "MATH_FUNCTIONS",
    "builtin_names",
]

BUILTIN_GATES: dict[str, tuple[int, int]] = {
    "h": (1, 0),
    "x": (1, 0),
    "y": (1, 0),
    "z": (1, 0),
    "s": (1, 0),
    "sdg": (1, 0),
    "t": (1, 0),
    "tdg": (1, 0),
    "sx": (1, 0),
    "sxdg": (1, 0),
    "rx": (1, 1),
    "ry": (1, 1),
    "rz": (1, 1),
    "p": (1, 1),
    "u": (1, 3),
    "cx": (2, 0),
    "cy": (2, 0),
    "cz": (2, 0),
    "ch": (2, 0),
    "swap": (2, 0),
    "cp": (2, 1),
    "crx": (2, 1),
    "cry": (2, 1),
    "crz": (2, 1),
    "rxx": (2, 1),
    "ryy": (2, 1),
    "rzz": (2, 1),
    "ccx": (3, 0),
    "amplitude": (0, 1),
}
"""Built-in gate -> (qubits, angle arguments); 0 qubits means a whole register (``amplitude``).

Mirrors ``qadl.ir.gates`` (the checker may not import the IR); a test keeps them equal.
"""

MATH_FUNCTIONS = {
    "sin": math.sin,
    "cos": math.cos,
    "tan": math.tan,
    "sqrt": math.sqrt,
    "exp": math.exp,
    "log": math.log,
    "arccos": math.acos,
    "arcsin": math.asin,
    "arctan": math.atan,
    "abs": abs,
    "floor": math.floor,
    "ceil": math.ceil,
    "round": round,
    "min": min,
    "max": max,
}
"""Functions of compile-time numbers (``len`` is handled separately: it takes registers too)."""

INIT_FUNCTIONS = ("uniform", "normal", "zeros", "constant")
"""Initialisers allowed after ``param ... init``."""

BUILTIN_CONSTANTS: dict[str, object] = {"pi": math.pi, "π": math.pi, "true": True, "false": False}

DATA_SOURCES = ("digits", "aubry_andre", "ising", "cluster_ising")
"""``builtin.<name>(...)`` data generators."""


def builtin_names() -> tuple[str, ...]:
    """Every name visible in a body without a definition (for did-you-mean)."""
    return (*BUILTIN_GATES, *MATH_FUNCTIONS, "len", *BUILTIN_CONSTANTS)
