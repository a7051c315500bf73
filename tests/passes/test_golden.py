"""Golden IR of every example model after -O3 and after compiling for chain10 (``--update-golden``).

The files pin the passes' output text: any change in what a pass removes, merges, routes
or translates shows up as a reviewable diff. Structure compares exactly, float literals to
``qadl.testing.GOLDEN_ATOL + GOLDEN_RTOL·|x|`` (their last digits depend on the CPU).
Amplitude-encoded models are skipped (they need a bound sample; test_examples_compile.py
covers them).
"""

from __future__ import annotations

import functools
from pathlib import Path

import pytest

from qadl.ir.gates import Gate
from qadl.passes import compile_for_target, optimize
from qadl.passes.devices import chain_target
from qadl.testing import assert_text_close

REPO = Path(__file__).resolve().parents[2]
GOLDEN = Path(__file__).resolve().parent / "golden"
EXAMPLES = sorted((REPO / "examples").glob("*.qadl"))


@functools.cache
def _program(stem: str):
    from qadl.api import load

    return load(REPO / "examples" / f"{stem}.qadl")


def _cases() -> list[tuple[str, str]]:
    cases = []
    for path in EXAMPLES:
        for name, model in _program(path.stem).models.items():
            if not any(op.gate is Gate.AMPLITUDE for op in model.circuit.ops):
                cases.append((path.stem, name))
    return cases


def _check(text: str, path: Path, update: bool) -> None:
    if update:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"no golden file {path}; run pytest --update-golden and review it"
    assert_text_close(
        text, path.read_text(encoding="utf-8"), label=f"{path} (review, then --update-golden)"
    )


@pytest.mark.parametrize(("example", "name"), _cases())
def test_o3_and_chain10_ir_match_golden(example, name, update_golden):
    """Exact IR text after optimize(-O3) and after compile_for_target(chain10, -O3)."""
    from qadl.ir.printer import format_circuit

    circuit = _program(example).models[name].circuit
    _check(format_circuit(optimize(circuit, 3)), GOLDEN / f"{example}.{name}.O3.ir", update_golden)
    compiled = compile_for_target(circuit, chain_target(), 3)
    text = format_circuit(compiled.circuit)
    header = f"// layout {list(compiled.layout)}\n// final {list(compiled.final_permutation)}\n"
    _check(header + text, GOLDEN / f"{example}.{name}.chain10.ir", update_golden)
