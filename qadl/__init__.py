"""qadl: a language and compiler for adversarial quantum machine learning.

``qadl.load(path) -> Program``, ``qadl.diagnose(path) -> diagnostics``,
``qadl.to_qasm(model, params=None, x=None) -> str``, ``qadl.runs.load(dir) -> Run``;
``Program.classifier/data/attack/evaluation`` (see ``qadl.api`` and docs/api.md).
Importing ``qadl`` is cheap: the front end is loaded on first use, and
Numba/Qiskit/Matplotlib/scikit-learn only by the calls that need them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from qadl.errors import InternalError, QadlError

if TYPE_CHECKING:
    from qadl.api import diagnose, load, loads, to_qasm
    from qadl.program import Model, Program

__all__ = [
    "InternalError",
    "Model",
    "Program",
    "QadlError",
    "__version__",
    "diagnose",
    "load",
    "loads",
    "runs",
    "to_qasm",
]

__version__ = "0.1.0"

_LAZY = {
    "diagnose": "qadl.api",
    "load": "qadl.api",
    "loads": "qadl.api",
    "to_qasm": "qadl.api",
    "Model": "qadl.program",
    "Program": "qadl.program",
}


def __getattr__(name: str) -> Any:
    """Import the public API on first access (keeps ``import qadl`` fast)."""
    import importlib

    if name == "runs":
        return importlib.import_module("qadl.runs")
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'qadl' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
