"""Noisy forward and gradient per sample at 3, 6 and 10 qubits: first call and steady state.

Each register size runs in a fresh process, so "first call" includes building the
simulator and loading (or compiling) the Numba kernels; "steady" is the per-sample time of
later calls on a batch. Engines: qadl's density-matrix simulator (forward, adjoint
gradient), the same under mitigation (readout inversion + ZNE at scales 1, 3, 5, gradient
through the mitigation) and Qiskit Aer ``density_matrix`` (forward only: Aer has no noisy
gradient). Usage: ``python benchmarks/mitigation.py [--qubits 3 6 10] [--batch 16]``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

import numpy as np

NOISE = {"p1": 1e-3, "p2": 1e-2, "readout": (0.02, 0.05)}


def circuit(n: int, layers: int = 2):
    """ry(x) encoding, then ``layers`` × (ry(θ), rz(θ) on every qubit, a CX chain).

    Read out ``probs`` of the last qubit, whose light cone holds the whole circuit.
    """
    from qadl.ir import expr as E
    from qadl.ir.circuit import Circuit, Op, Readout
    from qadl.ir.gates import Gate

    ops = [Op(Gate.RY, (q,), (E.x(q),)) for q in range(n)]
    k = 0
    for _ in range(layers):
        for q in range(n):
            ops += [Op(Gate.RY, (q,), (E.theta(k),)), Op(Gate.RZ, (q,), (E.theta(k + 1),))]
            k += 2
        ops += [Op(Gate.CX, (q, q + 1)) for q in range(n - 1)]
    readout = Readout("probs", qubits=(n - 1,), num_classes=2)
    return Circuit(n, tuple(ops), k, n, readout=readout)


def _timed(fn, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def qadl_engine(n: int, batch: int, mitigated: bool) -> dict:
    """First call (build + 1 sample forward and gradient) and steady per-sample times."""
    start = time.perf_counter()
    from qadl.backends.sim import NoisySimulator
    from qadl.backends.sim.extrapolation import Extrapolation
    from qadl.backends.sim.mitigated import MitigatedSimulator, Mitigation
    from qadl.ir.target import NoiseModel
    from qadl.passes import fold_global

    c = circuit(n)
    noise = NoiseModel(NOISE["p1"], NOISE["p2"], NOISE["readout"])
    if mitigated:
        ext = Extrapolation("richardson", (1, 3, 5))
        circuits = [fold_global(c, scale=s) for s in ext.scales]
        sim = MitigatedSimulator(circuits, noise, Mitigation("tensored", None, ext), "density")
    else:
        sim = NoisySimulator(c, noise, "density", shots=0)
    rng = np.random.default_rng(0)
    theta, x = rng.uniform(-np.pi, np.pi, c.num_params), rng.uniform(0, np.pi, (batch, n))
    cot = np.ones((1, 2))
    sim.outputs(theta, x[:1])
    first_forward = time.perf_counter() - start
    sim.vjp(theta, x[:1], cotangent=cot)
    first = time.perf_counter() - start
    repeat = 3 if n < 10 else 1
    forward = _timed(lambda: sim.outputs(theta, x), repeat) / batch
    gradient = _timed(lambda: sim.vjp(theta, x, cotangent=np.ones((batch, 2))), repeat) / batch
    return {
        "first_forward_s": first_forward,
        "first_s": first,
        "forward_s": forward,
        "gradient_s": gradient,
        "outputs": sim.outputs(theta, x).tolist(),
    }


def aer_engine(n: int, batch: int) -> dict:
    """Aer density matrix, one circuit per sample; readout error applied to the probabilities."""
    start = time.perf_counter()
    from qiskit import QuantumCircuit, transpile
    from qiskit_aer import AerSimulator
    from qiskit_aer.noise import NoiseModel, depolarizing_error

    model = NoiseModel()
    model.add_all_qubit_quantum_error(depolarizing_error(NOISE["p1"], 1), ["ry", "rz"])
    model.add_all_qubit_quantum_error(depolarizing_error(NOISE["p2"], 2), ["cx"])
    sim = AerSimulator(method="density_matrix", noise_model=model)
    c = circuit(n)
    rng = np.random.default_rng(0)
    theta, x = rng.uniform(-np.pi, np.pi, c.num_params), rng.uniform(0, np.pi, (batch, n))

    def build(xs):
        out = []
        for row in xs:
            qc = QuantumCircuit(n)
            for op in c.ops:
                angles = [a.evaluate(theta, row, None) for a in op.angles]
                getattr(qc, op.gate.value)(*angles, *op.qubits)
            qc.save_probabilities([n - 1])
            out.append(qc)
        return out

    def run(xs):
        circuits = transpile(build(xs), sim, optimization_level=0)
        probs = np.array(
            [
                r
                for r in (
                    sim.run(circuits).result().data(i)["probabilities"] for i in range(len(xs))
                )
            ]
        )
        p10, p01 = NOISE["readout"]
        return probs @ np.array([[1 - p10, p10], [p01, 1 - p01]])

    run(x[:1])
    first = time.perf_counter() - start
    repeat = 3 if n < 10 else 1
    forward = _timed(lambda: run(x), repeat) / batch
    return {"first_forward_s": first, "forward_s": forward, "outputs": run(x).tolist()}


def one(n: int, batch: int, engine: str) -> dict:
    if engine == "aer":
        return aer_engine(n, batch)
    return qadl_engine(n, batch, mitigated=engine == "qadl-mitigated")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--qubits", type=int, nargs="+", default=[3, 6, 10])
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--engine", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.engine:  # the child process: one engine, one size
        print(json.dumps(one(args.qubits[0], args.batch, args.engine)))
        return
    print("| qubits | engine | first call (s) | forward / sample (ms) | gradient / sample (ms) |")
    print("|---|---|---|---|---|")
    agreement = []
    for n in args.qubits:
        batch = args.batch if n < 10 else max(2, args.batch // 8)
        outputs = {}
        for engine in ("qadl", "qadl-mitigated", "aer"):
            out = subprocess.run(
                [
                    sys.executable,
                    __file__,
                    "--qubits",
                    str(n),
                    "--batch",
                    str(batch),
                    "--engine",
                    engine,
                ],
                capture_output=True,
                text=True,
                check=True,
            )
            r = json.loads(out.stdout.strip().splitlines()[-1])
            outputs[engine] = np.asarray(r["outputs"])
            grad = f"{r['gradient_s'] * 1e3:.2f}" if "gradient_s" in r else "—"
            print(
                f"| {n} | {engine} | {r.get('first_s', r['first_forward_s']):.2f} | "
                f"{r['forward_s'] * 1e3:.2f} | {grad} |",
                flush=True,
            )
        gap = np.abs(outputs["qadl"] - outputs["aer"]).max()
        agreement.append(f"{n} qubits: max |p_qadl - p_Aer| = {gap:.1e}")
    print("\n" + "; ".join(agreement))


if __name__ == "__main__":
    main()
