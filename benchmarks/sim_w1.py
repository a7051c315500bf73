"""W1: batched forward + gradient of a 10-qubit, 300-parameter classifier, qadl vs peers.

Circuit: RY(x_q) encoding on 10 qubits, 10 layers of RZ·RY·RZ on every qubit + a CZ
chain (300 parameters), readout ⟨Z0⟩; batch 256. Each engine computes the outputs and
the gradient of the summed outputs with respect to all 300 parameters and all 256×10
inputs. Reports samples/second and the ratio to qadl, all engines in one process.

Run: ``python benchmarks/sim_w1.py [--batch 256] [--repeats 3] [--qubits 10] [--skip aer,...]``
(peers come from the ``bench`` extra: ``pip install .[bench]``; jax is optional).
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

from benchmarks.sim_circuits import layered
from qadl.backends.sim import Simulator

N, LAYERS = 10, 10


def _timeit(fn: Callable[[], object], repeats: int) -> tuple[float, float]:
    """Best wall-clock and best process CPU time (all threads) of ``fn``, after a warm-up."""
    fn()  # warm-up (compilation, caches)
    wall = cpu = float("inf")
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        wall = min(wall, time.perf_counter() - t0)
        cpu = min(cpu, time.process_time() - c0)
    return wall, cpu


# -- qadl ------------------------------------------------------------------------------
def qadl_engine(theta, x):
    sim = Simulator(layered(N, LAYERS, encode=True))
    cot = np.ones((x.shape[0], 1))

    def run():
        g = sim.vjp(theta, x=x, cotangent=cot)
        return g.outputs[:, 0], g.theta, g.x

    return run


# -- PennyLane ---------------------------------------------------------------------------
def _pl_circuit(qml, weights, inputs):
    for q in range(N):
        qml.RY(inputs[..., q], wires=q)
    k = 0
    for _ in range(LAYERS):
        for q in range(N):
            qml.RZ(weights[k], wires=q)
            qml.RY(weights[k + 1], wires=q)
            qml.RZ(weights[k + 2], wires=q)
            k += 3
        for q in range(N - 1):
            qml.CZ(wires=[q, q + 1])
    return qml.expval(qml.PauliZ(0))


def pl_qnode_engine(device: str, diff_method: str, interface: str):
    def factory(theta, x):
        import pennylane as qml

        dev = qml.device(device, wires=N)
        node = qml.QNode(lambda w, i: _pl_circuit(qml, w, i), dev, diff_method=diff_method,
                         interface=interface)
        if interface == "jax":
            import jax
            import jax.numpy as jnp

            jax.config.update("jax_enable_x64", True)
            f = jax.jit(jax.value_and_grad(lambda w, i: jnp.sum(node(w, i)), argnums=(0, 1)))
            w, i = jnp.asarray(theta), jnp.asarray(x)
            return lambda: jax.block_until_ready(f(w, i))
        from pennylane import numpy as pnp

        w = pnp.array(theta, requires_grad=True)
        i = pnp.array(x, requires_grad=True)
        grad = qml.grad(lambda w, i: pnp.sum(node(w, i)), argnums=[0, 1])
        return lambda: grad(w, i)

    return factory


def pl_device_engine(theta, x):
    """lightning.qubit's device API: one adjoint execute_and_compute_derivatives over 256 tapes."""
    import pennylane as qml

    dev = qml.device("lightning.qubit", wires=N)

    def tape_for(xrow):
        with qml.tape.QuantumTape() as tape:
            _pl_circuit(qml, theta, xrow)
        tape.trainable_params = list(range(len(tape.get_parameters(trainable_only=False))))
        return tape

    config = qml.devices.ExecutionConfig(gradient_method="adjoint")

    def run():
        tapes = [tape_for(row) for row in x]
        return dev.execute_and_compute_derivatives(tapes, config)

    return run


# -- Qulacs ------------------------------------------------------------------------------
def qulacs_engine(theta, x):
    """Qulacs backprop: one ParametricQuantumCircuit, per-sample backprop (all 310 angles)."""
    from qulacs import Observable, ParametricQuantumCircuit, QuantumState

    circ = ParametricQuantumCircuit(N)
    for q in range(N):
        circ.add_parametric_RY_gate(q, 0.0)
    k = 0
    for _ in range(LAYERS):
        for q in range(N):
            # qulacs rotations are exp(+i a/2 P): negate the angle to match qadl
            circ.add_parametric_RZ_gate(q, 0.0)
            circ.add_parametric_RY_gate(q, 0.0)
            circ.add_parametric_RZ_gate(q, 0.0)
            k += 3
        for q in range(N - 1):
            circ.add_CZ_gate(q, q + 1)
    obs = Observable(N)
    obs.add_operator(1.0, "Z 0")
    state = QuantumState(N)

    def run():
        out = np.empty(x.shape[0])
        g_th = np.zeros(theta.shape[0])
        g_x = np.empty_like(x)
        for b in range(x.shape[0]):
            angles = np.concatenate([x[b], theta])
            for j, a in enumerate(angles):
                circ.set_parameter(j, -a)
            state.set_zero_state()
            circ.update_quantum_state(state)
            out[b] = obs.get_expectation_value(state)
            grad = -np.asarray(circ.backprop(obs))
            g_x[b] = grad[:N]
            g_th += grad[N:]
        return out, g_th, g_x

    return run


# -- Qiskit Aer ----------------------------------------------------------------------------
def aer_engine(theta, x):
    """Aer statevector, gradient by parameter shift: 1 + 2·310 circuits per sample, one run()."""
    from qiskit import QuantumCircuit, transpile
    from qiskit.circuit import ParameterVector
    from qiskit.quantum_info import SparsePauliOp
    from qiskit_aer import AerSimulator

    params = ParameterVector("a", N + 3 * N * LAYERS)
    qc = QuantumCircuit(N)
    for q in range(N):
        qc.ry(params[q], q)
    k = N
    for _ in range(LAYERS):
        for q in range(N):
            qc.rz(params[k], q)
            qc.ry(params[k + 1], q)
            qc.rz(params[k + 2], q)
            k += 3
        for q in range(N - 1):
            qc.cz(q, q + 1)
    qc.save_expectation_value(SparsePauliOp("I" * (N - 1) + "Z"), list(range(N)))
    sim = AerSimulator(method="statevector")
    tqc = transpile(qc, sim)

    def run():
        binds = []
        for row in x:
            base = np.concatenate([row, theta])
            binds.append(base)
            for j in range(base.size):
                for s in (0.5 * np.pi, -0.5 * np.pi):
                    shifted = base.copy()
                    shifted[j] += s
                    binds.append(shifted)
        values = np.asarray(binds).T
        result = sim.run([tqc], parameter_binds=[dict(zip(params, values, strict=True))]).result()
        return result

    return run


ENGINES = {
    "qadl": qadl_engine,
    "lightning-adjoint-qnode": pl_qnode_engine("lightning.qubit", "adjoint", "autograd"),
    "lightning-adjoint-device": pl_device_engine,
    "default.qubit-backprop-autograd": pl_qnode_engine("default.qubit", "backprop", "autograd"),
    "default.qubit-backprop-jax": pl_qnode_engine("default.qubit", "backprop", "jax"),
    "qulacs-backprop": qulacs_engine,
    "aer-parameter-shift": aer_engine,
}
SMALL_BATCH = {"aer-parameter-shift": 2, "lightning-adjoint-qnode": 32,
               "default.qubit-backprop-autograd": 64}
"""Slow peers run on a smaller batch (samples/s is per-sample anyway)."""


def _set_qubits(n: int) -> None:
    """Every engine builds its circuit from the module's ``N`` when it is created."""
    global N
    N = n


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--skip", default="", help="comma-separated engine names")
    parser.add_argument("--only", default="", help="comma-separated engine names")
    parser.add_argument("--qubits", type=int, default=N, help="register size (default 10)")
    args = parser.parse_args(argv)
    _set_qubits(args.qubits)
    rng = np.random.default_rng(0)
    theta = rng.uniform(-np.pi, np.pi, 3 * N * LAYERS)
    x = rng.uniform(0, np.pi, (args.batch, N))
    skip = set(filter(None, args.skip.split(",")))
    only = set(filter(None, args.only.split(",")))
    rates: dict[str, float] = {}
    cpu_rates: dict[str, float] = {}
    for name, factory in ENGINES.items():
        if name in skip or (only and name not in only and name != "qadl"):
            continue
        batch = min(args.batch, SMALL_BATCH.get(name, args.batch))
        try:
            run = factory(theta, x[:batch])
            secs, cpu = _timeit(run, args.repeats)
        except Exception as exc:  # a missing or broken peer must not stop the others
            print(f"{name:34s} unavailable: {type(exc).__name__}: {str(exc)[:100]}")
            continue
        rates[name] = batch / secs
        cpu_rates[name] = batch / cpu
        print(f"{name:34s} batch {batch:4d}  {secs * 1e3:9.1f} ms  {rates[name]:10.1f} samples/s"
              f"  {cpu_rates[name]:10.1f} samples/cpu-s", flush=True)
    if "qadl" in rates:
        print("\nratio qadl / peer (wall clock, CPU time):")
        for name, rate in rates.items():
            if name != "qadl":
                cpu_ratio = cpu_rates["qadl"] / cpu_rates[name]
                print(f"  {name:34s} {rates['qadl'] / rate:8.1f}x {cpu_ratio:8.1f}x")
    print(f"\nn = {N}, OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY')}, "
          f"threads: NUMBA_NUM_THREADS={os.environ.get('NUMBA_NUM_THREADS', 'default')}, "
          f"cpus={os.cpu_count()}, load={os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
