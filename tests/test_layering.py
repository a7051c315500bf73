"""The one-way dependency rule of STYLE.md §2, read from the import statements of every module."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "qadl"

# module prefix -> qadl prefixes it may import (besides itself)
BASE = ("qadl.source", "qadl.diagnostics", "qadl.errors", "qadl.resources")
ALLOWED: dict[str, tuple[str, ...]] = {
    "qadl.source": (),
    "qadl.diagnostics": ("qadl.source", "qadl.errors"),
    "qadl.errors": ("qadl.source", "qadl.diagnostics"),
    "qadl.resources": (),
    "qadl.frontend": (*BASE, "qadl.frontend"),
    "qadl.check": (*BASE, "qadl.frontend", "qadl.check"),
    "qadl.ir.lower": (*BASE, "qadl.frontend", "qadl.check", "qadl.ir", "qadl.program"),
    # the lowering's two halves: compile-time evaluation and unrolling
    "qadl.ir.evaluate": (*BASE, "qadl.frontend", "qadl.check", "qadl.ir", "qadl.program"),
    "qadl.ir.unroll": (*BASE, "qadl.frontend", "qadl.check", "qadl.ir", "qadl.program"),
    "qadl.ir.kernel": (*BASE, "qadl.frontend", "qadl.check", "qadl.ir", "qadl.program"),
    "qadl.ir.printer": (*BASE, "qadl.ir"),
    "qadl.ir": (*BASE, "qadl.ir"),
    "qadl.passes": (*BASE, "qadl.ir", "qadl.passes"),
    "qadl.backends": (*BASE, "qadl.ir"),
    "qadl.backends.qasm3": (*BASE, "qadl.ir"),
    "qadl.backends.sim": (*BASE, "qadl.ir", "qadl.backends.sim"),
    "qadl.learn": (*BASE, "qadl.ir", "qadl.backends.sim", "qadl.learn"),
    "qadl.adversary": (*BASE, "qadl.ir", "qadl.backends.sim", "qadl.learn", "qadl.adversary"),
    # adapters to other libraries: built on the public API and the run layer, used by none
    "qadl.interop": (
        *BASE, "qadl.ir", "qadl.backends.sim", "qadl.learn", "qadl.adversary", "qadl.program",
        "qadl.api", "qadl.api_model", "qadl.runs", "qadl.run", "qadl.interop",
    ),
}
UNRESTRICTED = ("qadl.cli", "qadl.api", "qadl.run", "qadl.program", "qadl.testing", "qadl.__")


def _module_name(path: Path) -> str:
    rel = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return {name for name in found if name == "qadl" or name.startswith("qadl.")}


def _rule_for(module: str) -> tuple[str, ...] | None:
    best = None
    for prefix in ALLOWED:
        if (module == prefix or module.startswith(prefix + ".")) and (
            best is None or len(prefix) > len(best)
        ):
            best = prefix
    return None if best is None else ALLOWED[best]


def _ok(imported: str, allowed: tuple[str, ...]) -> bool:
    return any(imported == a or imported.startswith(a + ".") for a in allowed)


MODULES = sorted(p for p in PACKAGE.rglob("*.py"))


@pytest.mark.parametrize("path", MODULES, ids=lambda p: _module_name(p))
def test_imports_follow_the_pipeline(path: Path) -> None:
    """Each stage imports only from itself and earlier stages."""
    module = _module_name(path)
    if module == "qadl" or module.startswith(UNRESTRICTED):
        return
    allowed = _rule_for(module)
    assert allowed is not None, f"{module} is not covered by the layering table"
    bad = sorted(
        name
        for name in _imports(path)
        if not _ok(name, allowed)
        and name != module
        and not name.startswith(module + ".")
        and name not in {"qadl"}
    )
    assert not bad, f"{module} imports {bad}, outside {allowed}"
