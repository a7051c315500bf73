"""Every example model, bound to a random sample, keeps its operator at O0-O3 on both targets.

Qiskit is the judge: the uncompiled circuit and each compilation are emitted as OpenQASM 3,
loaded with ``qiskit.qasm3.loads`` and evolved with ``qiskit.quantum_info.Statevector``.
Each model gets random θ and features (the 256-pixel image models: a real digit) bound
as numbers, so every optimising pass, the resynthesis passes included, acts on every gate,
and the readout is removed, so every level must keep the operator (up to global phase).

What is compared: the compiled circuit is simulated on the physical qubits it touches
(at most 27 on heavy_hex27, in practice ≤ 16), with each logical qubit placed by the
layout and read back through the final permutation, and every other qubit in ``|0⟩``
(it must end there). Models of up to 4 qubits are compared on every computational basis
state (the whole operator); wider ones (8 and 10 qubits: a 2^10 × 2^10 operator on up to
16 physical qubits is too slow for the default suite) on ``|0…0⟩`` and three random
product states. All columns share one global phase; the distance is the largest entry
of ``want − e^{iφ}·got`` (linear in any angle error) and must be at most 1e-10.
"""

from __future__ import annotations

import functools
import zlib
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import qiskit.qasm3
from qiskit.quantum_info import Statevector

from qadl.api import load
from qadl.backends.qasm3 import emit
from qadl.ir.circuit import Circuit
from qadl.ir.stateprep import expand_amplitude
from qadl.passes import compile_for_target, optimize
from qadl.passes.devices import chain_target, heavy_hex_27
from qadl.testing import operator_distance

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "examples").glob("*.qadl"))
TARGETS = {"chain10": chain_target(), "heavy_hex27": heavy_hex_27()}
TOL = 1e-10


def _model_names() -> list[tuple[str, str]]:
    return [(p.stem, name) for p in EXAMPLES for name in load(p).models]


@functools.cache
def _digit() -> np.ndarray:
    """A real 16×16 digit (l2-normalised, as the image examples train on).

    Smooth images with dark borders give the amplitude encoding tiny RY angles; this one
    made the old quadratic resynth-1q test drop rotations (operator off by 4.4e-6 on
    heavy_hex27 at -O3), which uniform random features never did.
    """
    from qadl.learn.data import digits

    train, _ = digits(classes=(1, 9), size=(16, 16), normalize="l2", test=0.2, seed=7)
    return np.asarray(train.x[2], dtype=float).ravel()


@functools.cache
def bound_circuit(example: str, name: str) -> Circuit:
    """The model with random θ, x (and δ) substituted, amplitudes expanded, no readout."""
    circuit = load(ROOT / "examples" / f"{example}.qadl").models[name].circuit
    rng = np.random.default_rng(zlib.crc32(f"{example}.{name}".encode()))
    theta = rng.uniform(-np.pi, np.pi, circuit.num_params)
    x = _digit() if circuit.num_features == 256 else rng.uniform(0.05, 1.0, circuit.num_features)
    delta = rng.uniform(-0.1, 0.1, circuit.num_deltas)
    circuit = expand_amplitude(circuit, x, delta)
    ops = tuple(
        op.with_angles(tuple(a.bind(theta, x, delta) for a in op.angles)) for op in circuit.ops
    )
    return replace(circuit, ops=ops, readout=None)


@functools.cache
def compiled(example: str, name: str, where: str, level: int):
    """``(circuit, layout, final permutation)`` of one compilation (cached across tests)."""
    circuit = bound_circuit(example, name)
    if where == "none":
        identity = tuple(range(circuit.num_qubits))
        return optimize(circuit, level), identity, identity
    out = compile_for_target(circuit, TARGETS[where], level, seed=5, report=False)
    return out.circuit, out.layout, out.final_permutation


def _qiskit(circuit: Circuit):
    """The circuit as Qiskit reads its OpenQASM (register ``q``: Qiskit's qubit k is ``q[k]``;
    the ``$k`` physical-qubit form of the same text is checked in ``test_qasm_physical.py``)."""
    return _load(emit(circuit))


@functools.lru_cache(maxsize=16)
def _load(text: str):
    """``qiskit.qasm3.loads`` once per distinct program (levels often agree; parsing dominates)."""
    return qiskit.qasm3.loads(text)


def _evolve(qc, order: list[int], psi: np.ndarray, place: np.ndarray) -> np.ndarray:
    """``qc`` restricted to the qubits ``order`` (device indices), run from ``psi`` placed by
    ``place`` (logical basis index -> small-register index); the small final state."""
    small = type(qc)(len(order))
    index = {q: i for i, q in enumerate(order)}
    for inst in qc.data:
        small.append(inst.operation, [index[qc.find_bit(q).index] for q in inst.qubits])
    full = np.zeros(1 << len(order), dtype=complex)
    full[place] = psi
    return Statevector(full).evolve(small).data


def _placement(n: int, qubits, index: dict[int, int]) -> np.ndarray:
    k = np.arange(1 << n)
    out = np.zeros(1 << n, dtype=np.int64)
    for logical, physical in enumerate(qubits[:n]):
        out |= ((k >> logical) & 1) << index[physical]
    return out


def _inputs(n: int, rng: np.random.Generator) -> list[np.ndarray]:
    if n <= 4:
        return list(np.eye(1 << n, dtype=complex))
    states = [np.eye(1 << n, dtype=complex)[0]]
    for _ in range(3):
        psi = np.ones(1, dtype=complex)
        for _ in range(n):
            v = rng.normal(size=2) + 1j * rng.normal(size=2)
            psi = np.kron(v / np.linalg.norm(v), psi)
        states.append(psi)
    return states


@functools.cache
def _reference(example: str, name: str) -> tuple[np.ndarray, ...]:
    """Qiskit's final states of the uncompiled bound circuit, one per input state."""
    circuit = bound_circuit(example, name)
    n = circuit.num_qubits
    qc = _qiskit(circuit)
    order = list(range(n))
    ident = _placement(n, order, {q: q for q in order})
    return tuple(_evolve(qc, order, psi, ident) for psi in _inputs(n, np.random.default_rng(n)))


def distance(example: str, name: str, where: str, level: int) -> float:
    """Largest entry of ``reference − e^{iφ}·compiled`` over all input states."""
    circuit = bound_circuit(example, name)
    n = circuit.num_qubits
    out, layout, final = compiled(example, name, where, level)
    qc = _qiskit(out)
    touched = {qc.find_bit(q).index for inst in qc.data for q in inst.qubits}
    order = sorted(touched | set(layout[:n]) | set(final[:n]))
    index = {q: i for i, q in enumerate(order)}
    start, end = _placement(n, layout, index), _placement(n, final, index)
    got, want = [], []
    for psi, ref in zip(
        _inputs(n, np.random.default_rng(n)), _reference(example, name), strict=True
    ):
        got.append(_evolve(qc, order, psi, start))
        embedded = np.zeros(1 << len(order), dtype=complex)
        embedded[end] = ref
        want.append(embedded)
    return operator_distance(np.column_stack(want), np.column_stack(got))


@pytest.mark.parametrize("where", ["none", *TARGETS])
@pytest.mark.parametrize("level", [0, 1, 2, 3])
@pytest.mark.parametrize(("example", "name"), _model_names())
def test_example_operator_is_kept(example, name, level, where):
    d = distance(example, name, where, level)
    assert d <= TOL, f"{example}.{name} -O{level} on {where}: operator off by {d:.3e}"


@pytest.mark.parametrize("where", sorted(TARGETS))
def test_lu2020_readout_on_a_real_digit_matches_qiskit(where):
    """The issue's path: features bound, θ left as ``input``s, readout kept, -O3, ``$k`` qubits.

    Qiskit's probabilities of the emitted program (θ assigned by name) equal the reference
    simulator's readout of the uncompiled model; the old quadratic resynth-1q test made
    them differ by ~1e-6 on heavy_hex27.
    """
    from qadl.testing import reference_outputs, reference_state

    circuit = load(ROOT / "examples" / "lu2020_amplitude.qadl").models["classifier"].circuit
    x = _digit()
    theta = np.random.default_rng(2).uniform(-np.pi, np.pi, circuit.num_params)
    out = compile_for_target(circuit, TARGETS[where], 3, x=x, seed=11, report=False)
    qc = qiskit.qasm3.loads(emit(out.circuit, x=x, physical=True))
    qc = qc.remove_final_measurements(inplace=False)
    qc = qc.assign_parameters({p: theta[int(p.name.split("_")[1])] for p in qc.parameters})
    touched = sorted({qc.find_bit(q).index for inst in qc.data for q in inst.qubits})
    readout = out.circuit.readout
    measured = list(readout.qubits)
    order = sorted(set(touched) | set(measured))
    small = type(qc)(len(order))
    for inst in qc.data:
        small.append(inst.operation, [order.index(qc.find_bit(q).index) for q in inst.qubits])
    probs = Statevector(small).probabilities([order.index(q) for q in measured])
    want = reference_outputs(circuit, reference_state(expand_amplitude(circuit, x), theta, x))
    np.testing.assert_allclose(probs[: readout.num_classes], want, rtol=0, atol=TOL)
