"""Noisy forward and gradient per sample at 3, 6 and 10 qubits: first call and steady state.

Each engine and register size runs in a fresh process, so "first call" includes importing,
building the simulator and one sample's forward and gradient. For qadl it is measured
twice: with an empty Numba cache (``NUMBA_CACHE_DIR`` a new directory: every kernel is
compiled) and then with that cache warm (kernels loaded from disk, as every later run).
"Steady" is the per-sample time of later calls on a batch. Engines: qadl's density-matrix
simulator (forward, adjoint gradient), the same under mitigation (readout inversion + ZNE
at scales 1, 3, 5, gradient through the mitigation) and Qiskit Aer ``density_matrix``
with the same channels (depolarising after every gate; the readout confusion matrix applied
to its probabilities). Aer has no noisy gradient: its gradient is the two-term
parameter-shift rule over θ (exact here: every θ sits on one ry/rz gate and the channel
after a gate does not depend on its angle), 2·P circuits per sample.
Usage: ``python benchmarks/mitigation.py [--qubits 3 6 10] [--batch 16]``.

``--forward B [B ...]`` times only the unmitigated forward, qadl and Aer side by side in
one warm process (alternating, ``--rounds`` times, per sample), at each batch size B:
``python benchmarks/mitigation.py --forward 4 64 --qubits 6 8 10``.

``--train-step`` times a mitigated training step (outputs, a cross-entropy cotangent from
them, the gradient through the mitigation) on ``--batch`` samples both ways, alternating
``--rounds`` times in one warm process: ``vjp_after`` (one forward pass per noise scale)
and ``outputs`` then ``vjp`` (``vjp`` repeats each scale's forward pass):
``python benchmarks/mitigation.py --train-step --qubits 6 --batch 8 --rounds 7``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
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
    cot = np.tile([1.0, -1.0], (batch, 1))  # d(p0 − p1): ones would sum to d(1) = 0
    sim.outputs(theta, x[:1])
    first_forward = time.perf_counter() - start
    sim.vjp(theta, x[:1], cotangent=cot[:1])
    first = time.perf_counter() - start
    repeat = 3 if n < 10 else 1
    forward = _timed(lambda: sim.outputs(theta, x), repeat) / batch
    gradient = _timed(lambda: sim.vjp(theta, x, cotangent=cot), repeat) / batch
    return {
        "first_forward_s": first_forward,
        "first_s": first,
        "forward_s": forward,
        "gradient_s": gradient,
        "outputs": sim.outputs(theta, x).tolist(),
        "grad_theta_first": sim.vjp(theta, x[:1], cotangent=cot[:1]).theta.tolist(),
    }


def aer_runner(n: int, theta: np.ndarray):
    """``run(xs, thetas=None)``: Aer's observed probabilities of the last qubit, one circuit
    per sample (building and transpiling included)."""
    from qiskit import QuantumCircuit, transpile
    from qiskit_aer import AerSimulator
    from qiskit_aer.noise import NoiseModel, depolarizing_error

    model = NoiseModel()
    model.add_all_qubit_quantum_error(depolarizing_error(NOISE["p1"], 1), ["ry", "rz"])
    model.add_all_qubit_quantum_error(depolarizing_error(NOISE["p2"], 2), ["cx"])
    sim = AerSimulator(method="density_matrix", noise_model=model)
    c = circuit(n)

    def build(xs, thetas):
        out = []
        for row, th in zip(xs, thetas, strict=True):
            qc = QuantumCircuit(n)
            for op in c.ops:
                angles = [a.evaluate(th, row, None) for a in op.angles]
                getattr(qc, op.gate.value)(*angles, *op.qubits)
            qc.save_probabilities([n - 1])
            out.append(qc)
        return out

    def run(xs, thetas=None):
        thetas = [theta] * len(xs) if thetas is None else thetas
        circuits = transpile(build(xs, thetas), sim, optimization_level=0)
        result = sim.run(circuits).result()
        probs = np.array([result.data(i)["probabilities"] for i in range(len(xs))])
        p10, p01 = NOISE["readout"]
        return probs @ np.array([[1 - p10, p10], [p01, 1 - p01]])

    return run


def aer_engine(n: int, batch: int) -> dict:
    """Aer density matrix, one circuit per sample; readout error applied to the probabilities.

    Gradient: the parameter-shift rule over θ for the first ``grad_samples`` samples (all
    shifted circuits of a sample in one Aer call), per sample.
    """
    start = time.perf_counter()
    c = circuit(n)
    rng = np.random.default_rng(0)
    theta, x = rng.uniform(-np.pi, np.pi, c.num_params), rng.uniform(0, np.pi, (batch, n))
    run = aer_runner(n, theta)

    def shift_gradient(row):
        """d(p0 − p1)/dθ of one sample: 2·P shifted circuits in one Aer call."""
        shifted = []
        for k in range(theta.size):
            for sign in (1.0, -1.0):
                th = theta.copy()
                th[k] += sign * np.pi / 2
                shifted.append(th)
        probs = run(np.repeat(row[None], len(shifted), axis=0), shifted)
        diff = probs[:, 0] - probs[:, 1]
        return 0.5 * (diff[0::2] - diff[1::2])

    run(x[:1])
    first_forward = time.perf_counter() - start
    grad_first = shift_gradient(x[0])
    first = time.perf_counter() - start
    repeat = 3 if n < 10 else 1
    forward = _timed(lambda: run(x), repeat) / batch
    grad_samples = 2 if n < 10 else 1
    gradient = _timed(lambda: [shift_gradient(r) for r in x[:grad_samples]], 1) / grad_samples
    return {
        "first_forward_s": first_forward,
        "first_s": first,
        "forward_s": forward,
        "gradient_s": gradient,
        "outputs": run(x).tolist(),
        "grad_theta_first": grad_first.tolist(),
    }


def forward_side_by_side(n: int, batches: list[int], rounds: int) -> None:
    """Print per-sample forward times of qadl and Aer, alternating in one warm process."""
    from qadl.backends.sim import NoisySimulator
    from qadl.ir.target import NoiseModel

    c = circuit(n)
    sim = NoisySimulator(c, NoiseModel(NOISE["p1"], NOISE["p2"], NOISE["readout"]), "density")
    rng = np.random.default_rng(0)
    theta = rng.uniform(-np.pi, np.pi, c.num_params)
    aer = aer_runner(n, theta)
    engines = {"qadl": lambda xs: sim.outputs(theta, xs), "aer": aer}
    for batch in batches:
        x = rng.uniform(0, np.pi, (batch, n))
        for fn in engines.values():
            fn(x[:1])  # warm
        times: dict[str, list[float]] = {"qadl": [], "aer": []}
        outs = {}
        for _ in range(rounds):
            for name, fn in engines.items():
                start = time.perf_counter()
                outs[name] = fn(x)
                times[name].append((time.perf_counter() - start) / batch)
        ratio = np.median(np.divide(times["qadl"], times["aer"]))
        q, a = np.median(times["qadl"]) * 1e3, np.median(times["aer"]) * 1e3
        gap = np.abs(outs["qadl"] - outs["aer"]).max()
        print(f"| {n} | {batch} | {q:.3g} | {a:.3g} | {ratio:.2f} | {gap:.1e} |", flush=True)


def train_step_side_by_side(n: int, batch: int, rounds: int) -> None:
    """Mitigated training step per sample: one forward pass per scale vs outputs, then vjp."""
    from qadl.backends.sim.extrapolation import Extrapolation
    from qadl.backends.sim.gradients import outputs_then_vjp
    from qadl.backends.sim.mitigated import MitigatedSimulator, Mitigation
    from qadl.ir.target import NoiseModel
    from qadl.passes import fold_global

    c = circuit(n)
    ext = Extrapolation("richardson", (1, 3, 5))
    sim = MitigatedSimulator([fold_global(c, scale=s) for s in ext.scales],
                             NoiseModel(NOISE["p1"], NOISE["p2"], NOISE["readout"]),
                             Mitigation("tensored", None, ext), "density")
    rng = np.random.default_rng(0)
    theta, x = rng.uniform(-np.pi, np.pi, c.num_params), rng.uniform(0, np.pi, (batch, n))
    labels = np.arange(batch) % 2

    def seed(p):  # cross-entropy of the labels' probabilities
        cot = np.zeros_like(p)
        cot[np.arange(batch), labels] = -1.0 / np.clip(p[np.arange(batch), labels], 1e-9, None)
        return cot / batch, None

    one_pass = lambda: sim.vjp_after(theta, x, seed=seed)  # noqa: E731
    two_passes = lambda: outputs_then_vjp(sim, theta, x, None, None, seed, "adjoint")  # noqa: E731
    a, b = one_pass()[0], two_passes()[0]
    gap = max(np.abs(a.theta - b.theta).max(), np.abs(a.x - b.x).max())
    ratios, times = [], []
    for _ in range(rounds):
        t_one, t_two = _timed(one_pass, 1), _timed(two_passes, 1)
        ratios.append(t_two / t_one)
        times.append((t_one, t_two))
    t_one, t_two = np.median(times, axis=0) / batch * 1e3
    print(f"| {n} | {batch} | {t_one:.1f} | {t_two:.1f} | {np.median(ratios):.2f} "
          f"({min(ratios):.2f}-{max(ratios):.2f}) | {gap:.1e} |", flush=True)


def one(n: int, batch: int, engine: str) -> dict:
    if engine == "aer":
        return aer_engine(n, batch)
    return qadl_engine(n, batch, mitigated=engine == "qadl-mitigated")


ROWS = (
    ("qadl", "qadl, empty Numba cache"),
    ("qadl", "qadl, warm Numba cache"),
    ("qadl-mitigated", "qadl, mitigated (warm cache)"),
    ("aer", "Qiskit Aer"),
)


def _child(n: int, batch: int, engine: str, cache: str) -> dict:
    """One engine and size in a fresh process, with ``cache`` as its Numba cache."""
    env = {**os.environ, "NUMBA_CACHE_DIR": cache}
    argv = [sys.executable, __file__, "--qubits", str(n), "--batch", str(batch), "--engine", engine]
    out = subprocess.run(argv, capture_output=True, text=True, check=True, env=env)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--qubits", type=int, nargs="+", default=[3, 6, 10])
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--engine", help=argparse.SUPPRESS)
    parser.add_argument("--forward", type=int, nargs="+", metavar="B")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--train-step", action="store_true")
    args = parser.parse_args()
    if args.train_step:
        print("| qubits | batch | one pass / sample (ms) | outputs then vjp / sample (ms) | "
              "ratio (median, range) | max |Δ gradient| |")
        print("|---|---|---|---|---|---|")
        for n in args.qubits:
            train_step_side_by_side(n, args.batch, args.rounds)
        return
    if args.forward:
        print(f"OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY', '(unset)')}")
        print(
            "| qubits | batch | qadl fwd / sample (ms) | Aer fwd / sample (ms) | qadl ÷ Aer "
            "(median of rounds) | max |Δp| |"
        )
        print("|---|---|---|---|---|---|")
        for n in args.qubits:
            forward_side_by_side(n, args.forward, args.rounds)
        return
    if args.engine:  # the child process: one engine, one size
        print(json.dumps(one(args.qubits[0], args.batch, args.engine)))
        return
    print("| qubits | engine | first call (s) | forward / sample (ms) | gradient / sample (ms) |")
    print("|---|---|---|---|---|")
    agreement = []
    for n in args.qubits:
        batch = args.batch if n < 10 else max(2, args.batch // 8)
        results = {}
        with tempfile.TemporaryDirectory(prefix="qadl-numba-") as cache:  # empty: cold
            for engine, label in ROWS:
                r = _child(n, batch, engine, cache)
                results.setdefault(engine, r)
                print(
                    f"| {n} | {label} | {r['first_s']:.2f} | {r['forward_s'] * 1e3:.2f} | "
                    f"{r['gradient_s'] * 1e3:.2f} |",
                    flush=True,
                )
        ours, aer = results["qadl"], results["aer"]
        gap = np.abs(np.asarray(ours["outputs"]) - np.asarray(aer["outputs"])).max()
        grad_gap = np.abs(
            np.asarray(ours["grad_theta_first"]) - np.asarray(aer["grad_theta_first"])
        ).max()
        agreement.append(
            f"{n} qubits: max |p_qadl - p_Aer| = {gap:.1e}, "
            f"max |dθ qadl adjoint - Aer shift| = {grad_gap:.1e}"
        )
    print("\n" + "; ".join(agreement))


if __name__ == "__main__":
    main()
