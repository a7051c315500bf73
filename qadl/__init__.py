"""qadl: a language and compiler for adversarial quantum machine learning.

``qadl.load(path) -> Program``, ``qadl.diagnose(path) -> diagnostics``,
``qadl.to_qasm(model, params=None, x=None) -> str``. Importing ``qadl`` is cheap: the
front end is loaded on first use, and Numba/Qiskit/Matplotlib only by the commands that
need them.
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
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'qadl' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)
