"""Kernel benchmark: the fidelity Gram matrix of a ZZ feature map, qadl vs Qiskit and PennyLane.

For N random samples on n qubits (Qiskit's ``zz_feature_map``, reps 2, full
entanglement; qadl's stdlib ``zz_feature_map`` and a PennyLane template, the same
circuit), time the N x N Gram matrix K = |<φ(x_a)|φ(x_b)>|²:

- qadl: one batched simulation per sample, then tiled ZGEMM (``qadl.learn.kernels``);
- Qiskit ``Statevector``: one ``Statevector`` per sample, then a NumPy product (the
  fastest way to use Qiskit's own simulator for this);
- Qiskit Machine Learning ``FidelityStatevectorKernel`` (if installed);
- Qiskit Machine Learning ``FidelityQuantumKernel`` (compute-uncompute circuits with the
  reference ``StatevectorSampler``, N(N-1)/2 circuits): it grows as N², so it runs on
  the first ``--fqk-n`` samples and its time is extrapolated by the number of pairs;
- PennyLane states: one QNode returning ``qml.state()``, called once on the whole
  batch (parameter broadcasting), then the same NumPy product, on ``lightning.qubit``
  and on ``default.qubit`` (which vectorises the broadcast batch: faster at 8 qubits,
  slower at 12, so both are timed; the faster is PennyLane's best here);
- PennyLane ``qml.kernels.square_kernel_matrix`` with the compute-uncompute QNode
  (the feature map, then ``qml.adjoint`` of it, ``qml.probs``; PennyLane's kernel
  tutorial), on ``lightning.qubit``: N(N-1)/2 circuits, on the first ``--pl-kernel-n``
  samples, extrapolated like ``FidelityQuantumKernel``.

Every peer's matrix is compared with qadl's (max abs difference) before it is reported.
The qadl row also gives the peak of Python-tracked memory (NumPy arrays) during the Gram
computation, with the tile budget ``--memory-mb``, and the peak resident size of the
process so far (meaningful for the first size measured, or with ``--qadl-only``).

``--profile`` times qadl's two parts instead, each old way against new in one process:
the states by the simulator's blocks against the phase-polynomial plan, and the
self-Gram products in one square tile against the row tiles that skip the lower half.

Usage: ``python benchmarks/kernel.py [--n 500 2000] [--qubits 8 12] [--fqk-n 40]
[--pl-kernel-n 40] [--memory-mb 256] [--qadl-only] [--random-states] [--profile]``
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from qadl.api import loads
from qadl.learn.kernels import feature_states, fidelity_gram

PROGRAM = """import encodings.zz_feature_map
kernel k(x: float[{n}]) on q[{n}] {{ zz_feature_map(q, x, reps = 2) }}
"""

Peer = Callable[[np.ndarray], "tuple[np.ndarray, float] | None"]


def qadl_gram(
    x: np.ndarray, memory_mb: float, random_states: bool = False
) -> tuple[np.ndarray, float, float, float]:
    """(K, seconds, simulation seconds, peak MiB tracked) for qadl, simulator compiled
    beforehand.

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
    simulated = time.perf_counter() - started
    gram = fidelity_gram(states, memory_bytes=int(memory_mb * (1 << 20)))
    seconds = time.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1] / (1 << 20)
    tracemalloc.stop()
    return gram, seconds, simulated, peak


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


def _pennylane_zz(x, n: int) -> None:
    """Qiskit's ``zz_feature_map(n, reps = 2)`` (full entanglement) as PennyLane operations."""
    import pennylane as qml

    for _ in range(2):
        for i in range(n):
            qml.Hadamard(i)
            qml.PhaseShift(2 * x[i], i)
        for i in range(n):
            for j in range(i + 1, n):
                qml.CNOT([i, j])
                qml.PhaseShift(2 * (np.pi - x[i]) * (np.pi - x[j]), j)
                qml.CNOT([i, j])


def pennylane_state_gram(
    x: np.ndarray, device: str = "lightning.qubit"
) -> tuple[np.ndarray, float] | None:
    try:
        import pennylane as qml
    except ImportError:
        return None
    n = x.shape[1]
    dev = qml.device(device, wires=n)

    @qml.qnode(dev)
    def state(features):
        _pennylane_zz(features, n)
        return qml.state()

    state(x[0])  # build the device and QNode outside the timing
    started = time.perf_counter()
    states = np.asarray(state(x.T))  # broadcast over the samples
    gram = np.abs(states.conj() @ states.T) ** 2
    return gram, time.perf_counter() - started


def pennylane_kernel_gram(x: np.ndarray) -> tuple[np.ndarray, float] | None:
    try:
        import pennylane as qml
    except ImportError:
        return None
    n = x.shape[1]
    dev = qml.device("lightning.qubit", wires=n)

    @qml.qnode(dev)
    def overlap(a, b):
        _pennylane_zz(a, n)
        qml.adjoint(_pennylane_zz)(b, n)
        return qml.probs(wires=range(n))

    overlap(x[0], x[0])  # build the device and QNode outside the timing
    started = time.perf_counter()
    gram = qml.kernels.square_kernel_matrix(
        x, lambda a, b: overlap(a, b)[0], assume_normalized_kernel=True
    )
    return np.asarray(gram), time.perf_counter() - started


def _pairs(n: int) -> int:
    return n * (n - 1) // 2


def bench(x: np.ndarray, args: argparse.Namespace) -> list[tuple]:
    """Rows (implementation, N measured, seconds measured, seconds at N, diff, note)."""
    n = len(x)
    ours, seconds, simulated, peak = qadl_gram(x, args.memory_mb, args.random_states)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    rows = [(
        "qadl", n, seconds, seconds, 0.0,
        f"{simulated:.2f} s simulation; {peak:.0f} MiB peak tracked, {rss:.0f} MiB peak RSS",
    )]
    peers: tuple[tuple[str, Peer, int], ...] = (
        ("Qiskit Statevector + NumPy", qiskit_statevector_gram, n),
        ("Qiskit ML FidelityStatevectorKernel", qml_statevector_gram, n),
        ("PennyLane lightning.qubit states (broadcast) + NumPy", pennylane_state_gram, n),
        (
            "PennyLane default.qubit states (broadcast) + NumPy",
            lambda data: pennylane_state_gram(data, "default.qubit"),
            n,
        ),
        ("Qiskit ML FidelityQuantumKernel", qml_fidelity_gram, min(n, args.fqk_n)),
        (
            "PennyLane qml.kernels.square_kernel_matrix (lightning.qubit)",
            pennylane_kernel_gram,
            min(n, args.pl_kernel_n),
        ),
    )
    for name, fn, m in () if args.qadl_only or args.random_states else peers:
        result = fn(x[:m])
        if result is None:
            rows.append((name, m, float("nan"), float("nan"), float("nan"), "not installed"))
            continue
        gram, secs = result
        diff = float(np.max(np.abs(gram - ours[:m, :m])))
        at_n = secs * _pairs(n) / _pairs(m) if m < n else secs
        note = f"measured at N = {m}, extrapolated by N(N-1)/2 pairs" if m < n else ""
        rows.append((name, m, secs, at_n, diff, note))
    return rows


def profile(x: np.ndarray, memory_mb: float, rounds: int = 2) -> None:
    """qadl's Gram matrix in its two parts, each old way against new, in one process:
    states by the simulator's blocks vs the phase-polynomial plan, and the self-Gram
    products in one square tile vs at least ``SELF_TILES`` row tiles."""
    import qadl.learn.kernels as kernels
    from qadl.backends.sim import Simulator

    fm = loads(PROGRAM.format(n=x.shape[1]), "k.qadl").kernels["k"].feature_map
    sim, budget, chunk = Simulator(fm), int(memory_mb * (1 << 20)), 1000
    kernels.feature_states(fm, x[:2])
    sim.states([], x=x[:2])
    tiles = kernels.SELF_TILES
    for r in range(rounds):
        started = time.perf_counter()
        old = np.vstack([sim.states([], x=x[i : i + chunk]) for i in range(0, len(x), chunk)])
        blocks = time.perf_counter() - started
        started = time.perf_counter()
        states = kernels.feature_states(fm, x)
        plan = time.perf_counter() - started
        try:
            kernels.SELF_TILES = 1
            started = time.perf_counter()
            one = kernels.fidelity_gram(states, memory_bytes=budget)
            square = time.perf_counter() - started
        finally:
            kernels.SELF_TILES = tiles
        started = time.perf_counter()
        split = kernels.fidelity_gram(states, memory_bytes=budget)
        tiled = time.perf_counter() - started
        diffs = np.max(np.abs(old - states)), np.max(np.abs(one - split))
        print(f"round {r}: states {blocks:.2f} s (simulator blocks) -> {plan:.2f} s (phase plan), "
              f"max diff {diffs[0]:.1e}; products {square:.2f} s (one tile) -> {tiled:.2f} s "
              f"({tiles}+ tiles), max diff {diffs[1]:.1e}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, nargs="+", default=[500])
    parser.add_argument("--qubits", type=int, nargs="+", default=[8])
    parser.add_argument("--fqk-n", type=int, default=40)
    parser.add_argument("--pl-kernel-n", type=int, default=40)
    parser.add_argument("--memory-mb", type=float, default=256.0)
    parser.add_argument("--qadl-only", action="store_true", help="skip the peers")
    parser.add_argument(
        "--random-states", action="store_true", help="qadl only, on random states (memory)"
    )
    parser.add_argument(
        "--profile", action="store_true", help="qadl's states and products, old vs new"
    )
    args = parser.parse_args()
    if args.profile:
        for qubits in args.qubits:
            for n in args.n:
                print(f"{qubits} qubits, N = {n}:")
                x = np.random.default_rng(0).uniform(0, 2 * np.pi, size=(n, qubits))
                profile(x, args.memory_mb)
        return
    print("Gram matrix, ZZ feature map (reps 2, full entanglement)")
    print("| qubits | N | implementation | seconds at N | qadl faster by | measured "
          "(N, s) | max abs diff to qadl | note |")
    print("|---|---|---|---|---|---|---|---|")
    for qubits in args.qubits:
        for n in args.n:
            x = np.random.default_rng(0).uniform(0, 2 * np.pi, size=(n, qubits))
            rows = bench(x, args)
            ours = rows[0][3]
            for name, m, secs, at_n, diff, note in rows:
                ratio = "" if name == "qadl" else f"{at_n / ours:.1f}×"
                print(f"| {qubits} | {n} | {name} | {at_n:.3g} | {ratio} | ({m}, {secs:.3g}) "
                      f"| {diff:.1e} | {note} |", flush=True)
            timed = [r for r in rows[1:] if np.isfinite(r[3])]
            if timed:
                best = min(timed, key=lambda r: r[3])
                print(f"| {qubits} | {n} | fastest peer: {best[0]} | {best[3]:.3g} | "
                      f"{best[3] / ours:.1f}× | | | |", flush=True)


if __name__ == "__main__":
    main()
