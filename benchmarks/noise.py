"""Benchmark: noisy density-matrix forward + gradient of Ren et al.'s 10-qubit image model vs Aer.

Run from the repository root::

    python benchmarks/noise.py --batch 64 --aer-grad-samples 2
    python benchmarks/noise.py --forward-only --batch 4 --rounds 3
    python benchmarks/noise.py --train-step --batch 4 --rounds 5

``--forward-only`` times the forward alone, qadl and Aer alternating ``--rounds`` times in
one warm process, and prints the per-sample medians and the median of the per-round ratios.
``--qadl-only`` times qadl's forward and adjoint gradient per sample, without Aer.
``--train-step`` times a training step's gradient (the cotangent computed from the
outputs) as ``DensityMatrixSimulator.vjp_after`` runs it (one forward pass, transfer
matrices built once) against ``outputs`` then ``vjp``, alternating ``--rounds`` times.

The model (REFERENCE-ren2022.md §2) is built directly as IR: 26 layers of RX/RZ on 10
qubits with angle ``θ_k + π + 2·x_k`` (``θ_k + π`` for the 4 padding angles), brick-wall
CNOT layers after layers 7, 13, 19 and 25, readout = marginal of qubit 4. Noise: the
paper's gate fidelities (1q 0.9994, 2q 0.994) as depolarizing channels
(``p = (1 − F)·d/(d − 1)``), plus thermal relaxation with T1 = 150 µs (paper), and
assumed T2 = 100 µs, 1q/2q gate durations 0.03/0.04 µs (not in the paper).

Qiskit Aer runs the same circuits and noise (``method="density_matrix"``, one circuit per
sample, Aer's own thread pool). Aer has no noisy gradient; its gradient column is the
two-term parameter-shift rule (valid here: every gate is RX/RZ and the channels after a
gate do not depend on its angle), timed on ``--aer-grad-samples`` samples and scaled
linearly to the batch (stated as such in the output).
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from qadl.backends.sim import channels as ch
from qadl.backends.sim.density import DensityMatrixSimulator
from qadl.ir import expr as E
from qadl.ir.circuit import Circuit, Op, Readout
from qadl.ir.gates import Gate
from qadl.ir.target import NoiseModel

N_QUBITS, N_LAYERS, N_PIXELS = 10, 26, 256
ENTANGLE_AFTER = (7, 13, 19, 25)
BRICKWALL = ((0, 1), (2, 3), (4, 5), (6, 7), (8, 9), (1, 2), (3, 4), (5, 6), (7, 8))


def ren_image_circuit() -> Circuit:
    """The 260-angle interleaved-encoding classifier of Ren et al. as IR."""
    ops = []
    for layer in range(N_LAYERS):
        gate = Gate.RX if layer % 2 == 0 else Gate.RZ
        for q in range(N_QUBITS):
            k = N_QUBITS * layer + q
            angle = E.theta(k) + math.pi + (2.0 * E.x(k) if k < N_PIXELS else 0.0)
            ops.append(Op(gate, (q,), (angle,)))
        if layer in ENTANGLE_AFTER:
            ops.extend(Op(Gate.CX, pair) for pair in BRICKWALL)
    return Circuit(
        N_QUBITS,
        tuple(ops),
        N_QUBITS * N_LAYERS,
        N_PIXELS,
        readout=Readout("probs", (4,), num_classes=2),
        name="ren2022_images",
    )


def ren_noise() -> NoiseModel:
    """Depolarizing from the paper's fidelities, T1 from the paper, T2 and durations assumed."""
    return NoiseModel(
        depolarizing_1q=ch.depolarizing_from_fidelity(0.9994, 1),
        depolarizing_2q=ch.depolarizing_from_fidelity(0.994, 2),
        t1=150.0,
        t2=100.0,
        time_1q=0.03,
        time_2q=0.04,
    )


def aer_noise(noise: NoiseModel):
    """The same channels as an Aer noise model (depolarizing then thermal relaxation per qubit)."""
    from qiskit_aer.noise import NoiseModel as AerNoise
    from qiskit_aer.noise import depolarizing_error, thermal_relaxation_error

    relax1 = thermal_relaxation_error(noise.t1, noise.t2, noise.time_1q)
    relax2 = thermal_relaxation_error(noise.t1, noise.t2, noise.time_2q)
    model = AerNoise(basis_gates=["rx", "rz", "cx"])
    model.add_all_qubit_quantum_error(
        depolarizing_error(noise.depolarizing_1q, 1).compose(relax1), ["rx", "rz"]
    )
    model.add_all_qubit_quantum_error(
        depolarizing_error(noise.depolarizing_2q, 2).compose(relax2.expand(relax2)), ["cx"]
    )
    return model


def aer_circuits(circuit: Circuit, theta: np.ndarray, xs: np.ndarray):
    """One bound Qiskit circuit per sample, saving the probabilities of qubit 4."""
    from qiskit import QuantumCircuit

    out = []
    for x in xs:
        qc = QuantumCircuit(N_QUBITS)
        for op in circuit.ops:
            if op.gate is Gate.CX:
                qc.cx(*op.qubits)
            else:
                getattr(qc, op.gate.value)(op.angles[0].evaluate(theta, x), op.qubits[0])
        qc.save_probabilities([4])
        out.append(qc)
    return out


def run_aer(sim, circuits) -> np.ndarray:
    """``(len(circuits), 2)`` probabilities of qubit 4."""
    result = sim.run(circuits).result()
    return np.array([result.data(i)["probabilities"] for i in range(len(circuits))])


def aer_shift_gradient(sim, circuit, theta, xs, cot) -> np.ndarray:
    """dL/dθ by the two-term shift rule on every gate angle (each θ_k sits on one gate)."""
    grad = np.zeros(theta.size)
    for k in range(theta.size):
        plus, minus = theta.copy(), theta.copy()
        plus[k] += math.pi / 2
        minus[k] -= math.pi / 2
        diff = run_aer(sim, aer_circuits(circuit, plus, xs)) - run_aer(
            sim, aer_circuits(circuit, minus, xs)
        )
        grad[k] = 0.5 * float((diff * cot).sum())
    return grad


def forward_side_by_side(sim, aer, circuit, theta, xs, rounds: int) -> None:
    """Print per-sample forward medians of qadl and Aer, timed alternately."""
    engines = {
        "qadl": lambda: sim.outputs(theta, xs),
        "aer": lambda: run_aer(aer, aer_circuits(circuit, theta, xs)),
    }
    times: dict[str, list[float]] = {"qadl": [], "aer": []}
    outs = {}
    for _ in range(rounds):
        for name, fn in engines.items():
            t0 = time.perf_counter()
            outs[name] = fn()
            times[name].append((time.perf_counter() - t0) / len(xs))
    ratio = np.median(np.divide(times["qadl"], times["aer"]))
    print(f"OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY', '(unset)')}, batch {len(xs)}")
    print(
        f"forward / sample: qadl {np.median(times['qadl']):.3f} s, "
        f"Aer {np.median(times['aer']):.3f} s, qadl ÷ Aer {ratio:.2f} (median of {rounds}); "
        f"rounds qadl {np.round(times['qadl'], 3).tolist()}, "
        f"Aer {np.round(times['aer'], 3).tolist()}"
    )
    print(f"max |p_qadl − p_aer|: {np.max(np.abs(outs['qadl'] - outs['aer'])):.2e}")


def train_step_side_by_side(sim, theta, xs, rounds: int) -> None:
    """Print per-sample medians of ``vjp_after`` and ``outputs`` + ``vjp``, timed alternately."""
    from qadl.backends.sim.gradients import outputs_then_vjp

    def seed(outputs):
        return np.log(np.clip(outputs, 1e-12, None)), None  # a cotangent that reads the outputs

    engines = {
        "vjp_after": lambda: sim.vjp_after(theta, xs, seed=seed)[0],
        "outputs + vjp": lambda: outputs_then_vjp(sim, theta, xs, None, None, seed, "adjoint")[0],
    }
    times: dict[str, list[float]] = {name: [] for name in engines}
    grads = {}
    for _ in range(rounds):
        for name, fn in engines.items():
            t0 = time.perf_counter()
            grads[name] = fn()
            times[name].append((time.perf_counter() - t0) / len(xs))
    ratio = np.median(np.divide(times["outputs + vjp"], times["vjp_after"]))
    gap = np.max(np.abs(grads["vjp_after"].theta - grads["outputs + vjp"].theta))
    print(
        f"batch {len(xs)}, load {os.getloadavg()[0]:.1f}: training-step gradient / sample: "
        f"vjp_after {np.median(times['vjp_after']):.3f} s, outputs + vjp "
        f"{np.median(times['outputs + vjp']):.3f} s, speed-up {ratio:.2f} (median of "
        f"{rounds}); max |dL/dθ| difference {gap:.1e}"
    )


def main(argv: list[str] | None = None) -> None:
    """Time qadl and Aer on the same batch and print a markdown table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--aer-grad-samples", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--forward-only", action="store_true")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--qadl-only", action="store_true")
    parser.add_argument("--train-step", action="store_true")
    args = parser.parse_args(argv)

    rng = np.random.default_rng(args.seed)
    circuit, noise = ren_image_circuit(), ren_noise()
    theta = rng.uniform(-math.pi, math.pi, circuit.num_params)
    images = rng.random((args.batch, N_PIXELS))
    xs = images / np.linalg.norm(images, axis=1, keepdims=True)
    cot = rng.normal(size=(args.batch, 2))

    sim = DensityMatrixSimulator(circuit, noise)
    if args.train_step:
        train_step_side_by_side(sim, theta, xs, args.rounds)
        return
    if args.forward_only:
        from qiskit_aer import AerSimulator

        aer = AerSimulator(method="density_matrix", noise_model=aer_noise(noise))
        sim.outputs(theta, xs[:1])
        run_aer(aer, aer_circuits(circuit, theta, xs[:1]))
        forward_side_by_side(sim, aer, circuit, theta, xs, args.rounds)
        return
    t0 = time.perf_counter()
    sim.outputs(theta, xs[:1])
    sim.vjp(theta, xs[:1], cotangent=cot[:1])
    t_warm = time.perf_counter() - t0
    t0 = time.perf_counter()
    ours = sim.outputs(theta, xs)
    t_fwd = time.perf_counter() - t0
    t0 = time.perf_counter()
    grads = sim.vjp(theta, xs, cotangent=cot)
    t_grad = time.perf_counter() - t0
    if args.qadl_only:
        print(
            f"batch {args.batch}: qadl forward {t_fwd / args.batch:.3f} s/sample, adjoint "
            f"gradient {t_grad / args.batch:.3f} s/sample ({t_grad / t_fwd:.2f} forwards); "
            f"outputs[0] {ours[0]}, dL/dθ[:2] {grads.theta[:2]}"
        )
        return

    from qiskit_aer import AerSimulator

    aer = AerSimulator(method="density_matrix", noise_model=aer_noise(noise))
    run_aer(aer, aer_circuits(circuit, theta, xs[:1]))
    t0 = time.perf_counter()
    theirs = run_aer(aer, aer_circuits(circuit, theta, xs))
    t_aer = time.perf_counter() - t0
    m = args.aer_grad_samples
    t0 = time.perf_counter()
    aer_grad = aer_shift_gradient(aer, circuit, theta, xs[:m], cot[:m])
    t_aer_grad = (time.perf_counter() - t0) * args.batch / m
    ours_m = sim.vjp(theta, xs[:m], cotangent=cot[:m]).theta

    threads = os.environ.get("NUMBA_NUM_THREADS", os.cpu_count())
    print(
        f"threads: numba={threads}, cpus={os.cpu_count()}; batch {args.batch}; "
        f"{len(circuit.ops)} ops ({circuit.num_params} angles), noise {noise}"
    )
    print(f"qadl first call (Numba load/compile + 1 sample fwd+grad): {t_warm:.2f} s")
    print("| engine | forward (s) | gradient dL/dθ, dL/dx (s) |")
    print("|---|---|---|")
    print(
        f"| qadl density matrix (adjoint) | {t_fwd:.2f} | {t_grad:.2f} "
        "(outputs + all 260 θ and 256·B x) |"
    )
    print(
        f"| Qiskit Aer density_matrix | {t_aer:.2f} | {t_aer_grad:.1f} (parameter shift, θ only; "
        f"timed on {m} samples, scaled ×{args.batch / m:g}) |"
    )
    print(f"max |p_qadl − p_aer| over the batch: {np.max(np.abs(ours - theirs)):.2e}")
    gap = np.max(np.abs(ours_m - aer_grad))
    print(f"max |dL/dθ qadl adjoint − Aer shift| ({m} samples): {gap:.2e}")
    print(f"|dL/dθ| scale: {np.max(np.abs(grads.theta)):.2e}")


if __name__ == "__main__":
    main()
