"""Speed work must not change output: compilation results pinned by fingerprints.

The fingerprints in ``golden/speed_fingerprints.json`` were recorded before the optimising
passes (commute-cancel, resynth-1q, drop-identities, cancel-inverses, merge-rotations,
lightcone, translate-basis) were tuned for compile time. Every case is compiled at O3 for
the 10-qubit chain and IBM's heavy-hex 27 (with and without readout) and optimised at
O1-O3 without a target. A fingerprint is a digest of the structure (every op's gate,
qubits and angle monomials, the readout, the layout and final permutation), compared
exactly, and the vector of angle coefficients to 12 significant digits, compared to
``qadl.testing.GOLDEN_ATOL + GOLDEN_RTOL·|x|`` (their last digits depend on the CPU).

Regenerate (only when output changes on purpose):
``python -m tests.passes.test_pass_speed_fingerprint``.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import json
import re
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from qadl.ir.circuit import Circuit
from qadl.ir.gates import Gate
from qadl.passes import compile_for_target, optimize
from qadl.passes.devices import chain_target, heavy_hex_27
from qadl.testing import GOLDEN_ATOL, GOLDEN_RTOL, compare_numbers, random_circuit

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


def _structure_and_angles(circuit: Circuit) -> tuple[list[str], list[float]]:
    """One line per op with every coefficient masked, and the coefficients in order.

    The lines hold everything exact (gate, qubits, the monomials of each angle, the
    readout); the coefficients are the numbers whose last digits depend on the CPU.
    """
    lines = [f"n={circuit.num_qubits}"]
    angles: list[float] = []
    for op in circuit.ops:
        parts = []
        for angle in op.angles:
            parts.append("+".join(f"#{mono}" for mono, _ in angle.terms))
            angles += [coeff for _, coeff in angle.terms]
        lines.append(f"{op.gate.value} {op.qubits} {';'.join(parts)}")
    if circuit.readout is not None:
        lines.append(repr(circuit.readout))
    return lines, angles


def _entry(circuit: Circuit, extra: str = "") -> dict:
    """The stored form of one compilation: structure digest and op count, angles (12 digits)."""
    lines, angles = _structure_and_angles(circuit)
    if extra:
        lines.append(extra)
    text = "\n".join(lines)
    return {
        "structure": hashlib.sha256(text.encode()).hexdigest()[:32],
        "ops": len(circuit.ops),
        "angles": [float(f"{a:.12g}") for a in angles],
    }


def compilations(circuit: Circuit) -> dict[str, tuple[Circuit, str]]:
    """Every compilation of ``circuit`` the fingerprints cover (variant -> circuit, extras)."""
    out = {"input": (circuit, "")}
    for level in (1, 2, 3):
        out[f"O{level}"] = (optimize(circuit, level), "")
    for target in (chain_target(), heavy_hex_27()):
        if circuit.num_qubits > target.num_qubits:
            continue
        for tag, c in (("readout", circuit), ("bare", replace(circuit, readout=None))):
            if tag == "bare" and circuit.readout is None:
                continue
            compiled = compile_for_target(c, target, 3, seed=SEED, report=False)
            extra = f"layout={compiled.layout}\nperm={compiled.final_permutation}"
            out[f"{target.name}/{tag}"] = (compiled.circuit, extra)
    return out


def fingerprints(name: str, circuit: Circuit) -> dict[str, dict]:
    """Fingerprint of every compilation of ``circuit`` (variant -> stored entry)."""
    return {variant: _entry(c, extra) for variant, (c, extra) in compilations(circuit).items()}


def compare_fingerprints(got: dict[str, dict], want: dict[str, dict]) -> str | None:
    """None when every variant has the same structure and angles within tolerance, else why.

    Structure (digest and op count) must match exactly; angles go through
    ``qadl.testing.compare_numbers`` (``GOLDEN_ATOL + GOLDEN_RTOL·|x|``; the stored
    12 significant digits are well inside it).
    """
    if set(got) != set(want):
        return f"variants {sorted(got)} != stored {sorted(want)}"
    for variant in sorted(want):
        g, w = got[variant], want[variant]
        if (g["structure"], g["ops"]) != (w["structure"], w["ops"]):
            return (
                f"{variant}: structure differs ({g['ops']} ops, stored {w['ops']}; gates,"
                " qubits, symbols, layout or permutation changed)"
            )
        why = compare_numbers(
            g["angles"], w["angles"], rtol=GOLDEN_RTOL, atol=GOLDEN_ATOL, label=f"{variant} angles"
        )
        if why is not None:
            return why
    return None


def _stored() -> dict[str, dict[str, dict]]:
    return json.loads(STORE.read_text()) if STORE.exists() else {}


def test_every_case_has_a_stored_fingerprint():
    stored = _stored()
    assert set(cases()) == set(stored)
    assert len(stored) >= 20
    assert all(len(v) >= 5 for v in stored.values())


@pytest.mark.parametrize("name", sorted(_stored()))
def test_compiled_output_is_unchanged(name):
    want = _stored()[name]
    if compare_fingerprints({"input": _entry(cases()[name])}, {"input": want["input"]}):
        pytest.skip(f"the input circuit {name!r} changed (an example was edited); re-record")
    why = compare_fingerprints(fingerprints(name, cases()[name]), want)
    assert why is None, f"{name}: {why}"


def main() -> None:
    """Record the fingerprints (run before changing the passes, never to hide a change)."""
    data = {name: fingerprints(name, c) for name, c in sorted(cases().items())}
    text = json.dumps(data, indent=1, sort_keys=True)
    # One line per angle vector: the file stays readable and its diffs short.
    text = re.sub(r"\[\s*([^\[\]{}]*?)\s*\]", lambda m: "[" + " ".join(m[1].split()) + "]", text)
    STORE.write_text(text + "\n")
    print(f"wrote {len(data)} cases to {STORE}")


if __name__ == "__main__":
    main()
