"""W2: one large state, 2 layers of RZ·RY·RZ on every qubit + CZ chain, n = 12 … 24.

Reports ns per gate for qadl and peers (Qulacs, Qiskit Aer, PennyLane lightning.qubit),
all in one process, next to the machine's memory bandwidth: the time of a NumPy
streaming copy of one state (read + write 16·2**n bytes each), i.e. the floor for any
simulator that makes one pass over the state per gate.

Run: ``python benchmarks/sim_w2.py [--qubits 12,16,20,24] [--repeats 3] [--skip aer]``
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable

# Several OpenMP runtimes share 2 cores here (Numba's, Qulacs', Aer's, lightning's):
# passive waiting stops idle pools from spinning against the one that is working.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from benchmarks.sim_circuits import gate_count, layered
from qadl.backends.sim import Simulator

LAYERS = 2


def _timeit(fn: Callable[[], object], repeats: int) -> float:
    fn()
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def _gates(n: int):
    """(gate, qubits, angle index) in circuit order."""
    out = []
    k = 0
    for _ in range(LAYERS):
        for q in range(n):
            for g in ("rz", "ry", "rz"):
                out.append((g, (q,), k))
                k += 1
        out += [("cz", (q, q + 1), None) for q in range(n - 1)]
    return out


def qadl_engine(n, theta):
    sim = Simulator(layered(n, LAYERS, encode=False))
    return lambda: sim.states(theta)


def copy_engine(n, theta):
    src = np.ones(1 << n, dtype=np.complex128)
    dst = np.empty_like(src)
    return lambda: np.copyto(dst, src)


def qulacs_engine(n, theta):
    from qulacs import QuantumCircuit, QuantumState

    circ = QuantumCircuit(n)
    for g, qs, k in _gates(n):
        if g == "cz":
            circ.add_CZ_gate(*qs)
        elif g == "rz":
            circ.add_RZ_gate(qs[0], -theta[k])  # qulacs: exp(+i a/2 Z)
        else:
            circ.add_RY_gate(qs[0], -theta[k])
    state = QuantumState(n)

    def run():
        state.set_zero_state()
        circ.update_quantum_state(state)

    return run


def aer_engine(n, theta):
    from qiskit import QuantumCircuit, transpile
    from qiskit_aer import AerSimulator

    qc = QuantumCircuit(n)
    for g, qs, k in _gates(n):
        if g == "cz":
            qc.cz(*qs)
        else:
            getattr(qc, g)(theta[k], qs[0])
    qc.save_statevector()
    sim = AerSimulator(method="statevector", fusion_enable=True)
    tqc = transpile(qc, sim, optimization_level=0)
    return lambda: sim.run(tqc).result()


def lightning_engine(n, theta):
    import pennylane as qml

    dev = qml.device("lightning.qubit", wires=n)

    @qml.qnode(dev, diff_method=None)
    def node():
        for g, qs, k in _gates(n):
            if g == "cz":
                qml.CZ(wires=list(qs))
            elif g == "rz":
                qml.RZ(theta[k], wires=qs[0])
            else:
                qml.RY(theta[k], wires=qs[0])
        return qml.state()

    return node


ENGINES = {
    "numpy-copy": copy_engine,
    "qadl": qadl_engine,
    "qulacs": qulacs_engine,
    "aer": aer_engine,
    "lightning": lightning_engine,
}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--qubits", default="12,16,20,24")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--skip", default="")
    args = parser.parse_args(argv)
    skip = set(filter(None, args.skip.split(",")))
    names = [name for name in ENGINES if name not in skip]
    print(f"{'n':>3} {'gates':>5} " + " ".join(f"{name:>14}" for name in names)
          + "   (ns/gate; numpy-copy: ns per state copy)")
    for n in [int(v) for v in args.qubits.split(",")]:
        theta = np.random.default_rng(n).uniform(-np.pi, np.pi, 3 * n * LAYERS)
        gates = gate_count(layered(n, LAYERS, encode=False))
        cells = []
        times = {}
        for name, factory in ENGINES.items():
            if name in skip:
                continue
            try:
                secs = _timeit(factory(n, theta), args.repeats)
            except Exception as exc:  # a missing peer must not stop the others
                cells.append(f"{'n/a':>14}")
                print(f"# {name}: {type(exc).__name__}: {str(exc)[:80]}", file=sys.stderr)
                continue
            times[name] = secs
            per = secs * 1e9 if name == "numpy-copy" else secs * 1e9 / gates
            cells.append(f"{per:14.1f}")
        print(f"{n:3d} {gates:5d} " + " ".join(cells), flush=True)
        if "qadl" in times and "numpy-copy" in times:
            per_gate = times["qadl"] / gates
            ratios = ", ".join(f"{k} {times[k] / times['qadl']:.1f}x"
                               for k in times if k not in ("qadl", "numpy-copy"))
            print(f"    qadl: {per_gate / times['numpy-copy']:.3f} state copies per gate; "
                  f"peer time / qadl time: {ratios}", flush=True)
    print(f"# cpus={os.cpu_count()}, load={os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
