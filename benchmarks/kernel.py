"""Kernel benchmark: the fidelity Gram matrix of a ZZ feature map, qadl vs Qiskit.

For N random samples on n qubits (Qiskit's ``zz_feature_map``, reps 2, full
entanglement; qadl's stdlib ``zz_feature_map``, the same circuit), time the N x N Gram
matrix K = |<φ(x_a)|φ(x_b)>|²:

- qadl: one batched simulation per sample, then tiled ZGEMM (``qadl.learn.kernels``);
- Qiskit ``Statevector``: one ``Statevector`` per sample, then a NumPy product (the
  fastest way to use Qiskit's own simulator for this);
- Qiskit Machine Learning ``FidelityStatevectorKernel`` (if installed);
- Qiskit Machine Learning ``FidelityQuantumKernel`` (compute-uncompute circuits with the
  reference ``StatevectorSampler``, N(N-1)/2 circuits) at a small N only, because it
  grows as N² (``--fqk-n``).

Every peer's matrix is compared with qadl's (max abs difference) before it is reported.
The qadl column also gives the peak of Python-tracked memory (NumPy arrays) during the
Gram computation, with the tile budget ``--memory-mb``.

Usage: ``python benchmarks/kernel.py [--n 500] [--qubits 8] [--fqk-n 40] [--memory-mb 256]
[--qadl-only] [--random-states]``
"""

from __future__ import annotations

import argparse
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from qadl.api import loads
from qadl.learn.kernels import feature_states, fidelity_gram

PROGRAM = """import encodings.zz_feature_map
kernel k(x: float[{n}]) on q[{n}] {{ zz_feature_map(q, x, reps = 2) }}
"""


def qadl_gram(
    x: np.ndarray, memory_mb: float, random_states: bool = False
) -> tuple[np.ndarray, float, float]:
    """(K, seconds, peak MiB tracked) for qadl, simulator compiled beforehand.

    ``random_states``: random unit vectors instead of simulated feature states (the
    products and the memory alone, for sizes where the peers are out of reach).
    """
    fm = loads(PROGRAM.format(n=x.shape[1]), "k.qadl").kernels["k"].feature_map
    feature_states(fm, x[:2])  # compile (or load) the simulator kernels outside the timing
    tracemalloc.start()
    started = time.perf_counter()
    if random_states:
        rng = np.random.default_rng(1)
        shape = (len(x), 1 << x.shape[1])
        states = rng.normal(size=shape) + 1j * rng.normal(size=shape)
        states /= np.linalg.norm(states, axis=1)[:, None]
    else:
        states = feature_states(fm, x)
    gram = fidelity_gram(states, memory_bytes=int(memory_mb * (1 << 20)))
    seconds = time.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1] / (1 << 20)
    tracemalloc.stop()
    return gram, seconds, peak


def qiskit_statevector_gram(x: np.ndarray) -> tuple[np.ndarray, float]:
    from qiskit.circuit.library import zz_feature_map
    from qiskit.quantum_info import Statevector

    circuit = zz_feature_map(x.shape[1], reps=2)
    started = time.perf_counter()
    states = np.array([Statevector(circuit.assign_parameters(row)).data for row in x])
    gram = np.abs(states.conj() @ states.T) ** 2
    return gram, time.perf_counter() - started


def qml_statevector_gram(x: np.ndarray) -> tuple[np.ndarray, float] | None:
    try:
        from qiskit.circuit.library import zz_feature_map
        from qiskit_machine_learning.kernels import FidelityStatevectorKernel
    except ImportError:
        return None
    kernel = FidelityStatevectorKernel(feature_map=zz_feature_map(x.shape[1], reps=2))
    started = time.perf_counter()
    gram = kernel.evaluate(x)
    return gram, time.perf_counter() - started


def qml_fidelity_gram(x: np.ndarray) -> tuple[np.ndarray, float] | None:
    try:
        from qiskit.circuit.library import zz_feature_map
        from qiskit_machine_learning.kernels import FidelityQuantumKernel
    except ImportError:
        return None
    kernel = FidelityQuantumKernel(feature_map=zz_feature_map(x.shape[1], reps=2))
    started = time.perf_counter()
    gram = kernel.evaluate(x)
    return gram, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=500)
    parser.add_argument("--qubits", type=int, default=8)
    parser.add_argument("--fqk-n", type=int, default=40)
    parser.add_argument("--memory-mb", type=float, default=256.0)
    parser.add_argument("--qadl-only", action="store_true", help="skip the peers")
    parser.add_argument(
        "--random-states", action="store_true", help="qadl only, on random states (memory)"
    )
    args = parser.parse_args()
    x = np.random.default_rng(0).uniform(0, 2 * np.pi, size=(args.n, args.qubits))

    ours, seconds, peak = qadl_gram(x, args.memory_mb, args.random_states)
    rows = [("qadl", args.n, seconds, 0.0, f"{peak:.0f} MiB peak tracked")]
    peers = (
        ("Qiskit Statevector + NumPy", qiskit_statevector_gram, x),
        ("Qiskit ML FidelityStatevectorKernel", qml_statevector_gram, x),
        ("Qiskit ML FidelityQuantumKernel", qml_fidelity_gram, x[: args.fqk_n]),
    )
    for name, fn, data in () if args.qadl_only or args.random_states else peers:
        result = fn(data)
        if result is None:
            rows.append((name, len(data), float("nan"), float("nan"), "not installed"))
            continue
        gram, secs = result
        diff = float(np.max(np.abs(gram - ours[: len(data), : len(data)])))
        rows.append((name, len(data), secs, diff, ""))

    print(f"Gram matrix, ZZ feature map (reps 2, full), {args.qubits} qubits")
    print("| implementation | N | seconds | max abs diff to qadl | note |")
    print("|---|---|---|---|---|")
    for name, n, secs, diff, note in rows:
        print(f"| {name} | {n} | {secs:.3f} | {diff:.1e} | {note} |")


if __name__ == "__main__":
    main()
