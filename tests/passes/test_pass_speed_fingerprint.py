"""Speed work must not change output: O3 compilation results pinned by sha256 fingerprints.

The fingerprints in ``golden/speed_fingerprints.json`` were recorded before the optimising
passes (commute-cancel, resynth-1q, drop-identities, cancel-inverses, merge-rotations,
lightcone, translate-basis) were tuned for compile time. Every case is compiled at O3 for
the 10-qubit chain and IBM's heavy-hex 27 (with and without readout) and optimised at
O1-O3 without a target; the fingerprint covers every op's gate, qubits and exact angle
terms (float ``repr``), plus the layout and final permutation.

Regenerate (only when output changes on purpose):
``python -m tests.passes.test_pass_speed_fingerprint``.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import json
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from qadl.ir.circuit import Circuit
from qadl.ir.gates import Gate
from qadl.passes import compile_for_target, optimize
from qadl.passes.devices import chain_target, heavy_hex_27
from qadl.testing import random_circuit

ROOT = Path(__file__).resolve().parents[2]
STORE = Path(__file__).with_name("golden") / "speed_fingerprints.json"
SEED = 7

_CANCELLY = (
    Gate.H, Gate.X, Gate.Y, Gate.Z, Gate.S, Gate.SDG, Gate.T, Gate.TDG, Gate.SX, Gate.SXDG,
    Gate.RX, Gate.RY, Gate.RZ, Gate.P, Gate.U, Gate.CX, Gate.CZ, Gate.CY, Gate.SWAP, Gate.CP,
    Gate.CRZ, Gate.RZZ, Gate.RXX, Gate.CCX,
)  # fmt: skip


@functools.cache
def _bench():
    """``benchmarks/compile.py`` as a module (its circuit builders and example loader)."""
    path = ROOT / "benchmarks" / "compile.py"
    spec = importlib.util.spec_from_file_location("_qadl_bench_compile", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _random_cases() -> dict[str, Circuit]:
    out = {}
    for seed in range(12):
        rng = np.random.default_rng(1000 + seed)
        symbolic = seed % 3 != 0
        out[f"random{seed}"] = random_circuit(
            rng,
            4 + seed % 3,
            60,
            gates=_CANCELLY,
            num_params=4 if symbolic else 0,
            num_features=2 if symbolic else 0,
        )
    return out


@functools.cache
def cases() -> dict[str, Circuit]:
    """Every benchmark circuit, every example model, their bound variants, random circuits."""
    bench = _bench()
    out: dict[str, Circuit] = {}
    for name, build in bench.CIRCUITS.items():
        out[name] = build()
    for name, circuit in bench.example_circuits().items():
        if not name.startswith("_"):  # scratch files others leave in examples/
            out[name] = circuit
    for name, circuit in list(out.items()):
        label, prepared = bench.prepare(name, circuit, SEED)
        if label != name:
            out[label] = prepared
    out.update(_random_cases())
    return out


def _circuit_text(circuit: Circuit) -> str:
    lines = [f"n={circuit.num_qubits}"]
    for op in circuit.ops:
        angles = ";".join(repr(a.terms) for a in op.angles)
        lines.append(f"{op.gate.value} {op.qubits} {angles}")
    if circuit.readout is not None:
        lines.append(repr(circuit.readout))
    return "\n".join(lines)


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def fingerprints(name: str, circuit: Circuit) -> dict[str, str]:
    """Fingerprint of every compilation of ``circuit`` (variant -> sha256)."""
    out = {"input": _digest(_circuit_text(circuit))}
    for level in (1, 2, 3):
        out[f"O{level}"] = _digest(_circuit_text(optimize(circuit, level)))
    for target in (chain_target(), heavy_hex_27()):
        if circuit.num_qubits > target.num_qubits:
            continue
        for tag, c in (("readout", circuit), ("bare", replace(circuit, readout=None))):
            if tag == "bare" and circuit.readout is None:
                continue
            compiled = compile_for_target(c, target, 3, seed=SEED, report=False)
            text = _circuit_text(compiled.circuit)
            text += f"\nlayout={compiled.layout}\nperm={compiled.final_permutation}"
            out[f"{target.name}/{tag}"] = _digest(text)
    return out


def _stored() -> dict[str, dict[str, str]]:
    return json.loads(STORE.read_text()) if STORE.exists() else {}


def test_every_case_has_a_stored_fingerprint():
    stored = _stored()
    assert set(cases()) == set(stored)
    assert len(stored) >= 20
    assert all(len(v) >= 5 for v in stored.values())


@pytest.mark.parametrize("name", sorted(_stored()))
def test_compiled_output_is_unchanged(name):
    want = _stored()[name]
    if _digest(_circuit_text(cases()[name])) != want["input"]:
        pytest.skip(f"the input circuit {name!r} changed (an example was edited); re-record")
    assert fingerprints(name, cases()[name]) == want


def main() -> None:
    """Record the fingerprints (run before changing the passes, never to hide a change)."""
    data = {name: fingerprints(name, c) for name, c in sorted(cases().items())}
    STORE.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
    print(f"wrote {len(data)} cases to {STORE}")


if __name__ == "__main__":
    main()
