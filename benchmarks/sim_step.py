"""Training-step overheads of the statevector simulator, measured A/B in one process.

Three questions, each answered by timing two ways of doing the same work alternately
(A B A B …) in one process, so that the load of a shared machine hits both alike; the
median of the per-round ratios is reported with the median times.

- ``--what classifier``: ``Classifier.loss_and_grads`` (one forward pass, through
  ``Simulator.vjp_after``) against the same step as ``outputs`` then ``vjp`` (two
  forward passes), and against ``Simulator.vjp`` alone (the kernel's floor);
  ``--circuit ren`` times Ren et al.'s image classifier (``benchmarks/compile.py``).
- ``--what dispatch``: the W1 gradient at n ≥ 14 three ways: one sample per thread
  (``soa_step.vjp_rows``, used for batches of at least as many samples as threads), each
  state's amplitudes split over the threads on split real/imaginary arrays
  (``soa_single``, used for smaller batches and above ``BATCH_MAX_QUBITS``), and the
  complex amplitude-parallel kernels (``complex_batch.adjoint_single``, used before
  ``soa_single`` and still for programs with two-qubit blocks). "÷ split" columns are
  the median per-round speed ratios against ``soa_single``.
- ``--what overhead``: the public ``Simulator.vjp`` against its compiled kernel called
  directly (same thread count), i.e. the Python glue per call.
- ``--what first-call``: fresh processes (``--rounds`` of them, warm on-disk cache):
  seconds to import Numba, to import the kernels, and to the first training step.
- ``--what states``: ``Simulator.states`` (complex128) against ``states_split`` (the
  kernels' own real/imaginary layout, no conversion) at a large n, one sample.

The W1 circuit: RY(x_q) encoding, ``--layers`` × (RZ·RY·RZ on every qubit + CZ chain),
readout ⟨Z0⟩ read as a two-class classifier. OpenMP's wait policy and the thread count
must be set before the process starts (``OMP_WAIT_POLICY``, ``NUMBA_NUM_THREADS``).

Run: ``python benchmarks/sim_step.py --what classifier --qubits 10 --batch 1,10,64,256``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from benchmarks.sim_circuits import layered
from qadl.backends.sim import Simulator
from qadl.backends.sim import statevector as sv
from qadl.learn.classifier import Classifier


class _TwoPass:
    """The simulator seen without ``vjp_after``: ``Classifier`` then runs two forwards."""

    def __init__(self, sim: Simulator) -> None:
        self._sim = sim
        self.num_params = sim.num_params

    def outputs(self, *args, **kwargs):
        return self._sim.outputs(*args, **kwargs)

    def vjp(self, *args, **kwargs):
        return self._sim.vjp(*args, **kwargs)


def _ab(a: Callable[[], object], b: Callable[[], object], rounds: int):
    """Median seconds of ``a`` and ``b`` and the median of the per-round ratios a/b."""
    a()
    b()
    ta, tb, ratios = [], [], []
    for _ in range(rounds):
        t0 = time.perf_counter()
        a()
        t1 = time.perf_counter()
        b()
        t2 = time.perf_counter()
        ta.append(t1 - t0)
        tb.append(t2 - t1)
        ratios.append((t1 - t0) / (t2 - t1))
    return statistics.median(ta), statistics.median(tb), statistics.median(ratios)


def _inputs(n: int, layers: int, batch: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    return rng.uniform(-np.pi, np.pi, 3 * n * layers), rng.uniform(0, np.pi, (batch, n))


def _classifier(args) -> None:
    if args.circuit == "ren":
        from benchmarks.compile import ren2022_classifier

        circuit = ren2022_classifier()
    else:
        circuit = layered(args.qubits, args.layers, encode=True)
    print(f"circuit {circuit.name}: {len(circuit.ops)} gates, {circuit.num_params} parameters")
    sim = Simulator(circuit)
    one = Classifier(sim, circuit.readout)
    two = Classifier(_TwoPass(sim), circuit.readout)
    print("| batch | one forward (ms) | two forwards (ms) | two ÷ one | vjp alone (ms) "
          "| one ÷ vjp |")
    print("|---:|---:|---:|---:|---:|---:|")
    for batch in args.batch:
        rng = np.random.default_rng(batch)
        theta = rng.uniform(-np.pi, np.pi, circuit.num_params)
        x = rng.uniform(0, np.pi, (batch, circuit.num_features))
        y = np.arange(batch) % 2
        cot = np.ones((batch, circuit.readout.num_outputs))
        t1, t2, r12 = _ab(lambda: one.loss_and_grads(theta, y, x=x),  # noqa: B023
                          lambda: two.loss_and_grads(theta, y, x=x), args.rounds)  # noqa: B023
        _, tv, r1v = _ab(lambda: one.loss_and_grads(theta, y, x=x),  # noqa: B023
                         lambda: sim.vjp(theta, x=x, cotangent=cot), args.rounds)  # noqa: B023
        print(f"| {batch} | {1e3 * t1:.3f} | {1e3 * t2:.3f} | {1 / r12:.2f} | {1e3 * tv:.3f} "
              f"| {r1v:.2f} |")


def _dispatch(args) -> None:
    from qadl.backends.sim import kernels
    from qadl.backends.sim.adjoint import adjoint_tape_grads, chain

    sim = Simulator(layered(args.qubits, args.layers, encode=True))
    assert sim._soa is not None and sim._soa_large
    print("| batch | per sample: samples/s | one state over the threads, split: samples/s "
          "| complex: samples/s | per sample ÷ split | complex ÷ split |")
    print("|---:|---:|---:|---:|---:|---:|")
    for batch in args.batch:
        theta, x = _inputs(args.qubits, args.layers, batch)
        cot = np.ones((batch, 1))
        data = sim._batch(theta, x, None, None)

        def per_sample(data=data, cot=cot, batch=batch):
            with sv._threads_for(batch):
                return sim._vjp_fused(kernels, data, cot)

        def split(data=data, cot=cot):
            return sim._vjp_single(data, sim._angles(kernels, data), cot)

        def complex_(data=data, cot=cot):
            _, g_ang, _ = adjoint_tape_grads(sim.program, sim._angles(kernels, data), None, cot)
            return chain(sim.program, data.theta, data.x, data.delta, g_ang)[0]

        ref = split()
        assert np.allclose(per_sample().theta, ref.theta, atol=1e-9)
        assert np.allclose(complex_(), ref.theta, atol=1e-9)
        ta, ts, r_as = _ab(per_sample, split, args.rounds)
        tc, ts2, r_cs = _ab(complex_, split, args.rounds)
        print(f"| {batch} | {batch / ta:.1f} | {batch / statistics.median([ts, ts2]):.1f} "
              f"| {batch / tc:.1f} | {1 / r_as:.2f} | {1 / r_cs:.2f} |")


def _states(args) -> None:
    circuit = layered(args.qubits, args.layers, encode=False)
    sim = Simulator(circuit)
    theta, _ = _inputs(args.qubits, args.layers, 1)
    re, im = sim.states_split(theta)
    np.testing.assert_allclose(sim.states(theta), re + 1j * im, atol=1e-12)
    ts, tj, ratio = _ab(lambda: sim.states_split(theta), lambda: sim.states(theta), args.rounds)
    print(f"n={args.qubits}, {len(circuit.ops)} gates, one sample, medians of {args.rounds}: "
          f"states_split {ts:.3f} s, states {tj:.3f} s (states ÷ states_split {1 / ratio:.2f})")


def _overhead(args) -> None:
    """Public ``vjp`` against its kernel driver (``soa_step.vjp_rows``) called directly."""
    from qadl.backends.sim import soa_step

    sim = Simulator(layered(args.qubits, args.layers, encode=True))
    print("| batch | vjp (µs) | kernel alone (µs) | Python glue (µs) |")
    print("|---:|---:|---:|---:|")
    for batch in args.batch:
        theta, x = _inputs(args.qubits, args.layers, batch)
        cot = np.ones((batch, 1))
        prep = sim._batch(theta, x, None, None)
        kernel_args = (args.qubits, sim.program.arrays(), sim.program.readout.arrays(),
                       sim.program.tape.arrays(), prep.theta, prep.x, prep.delta,
                       np.zeros((1, 1), dtype=np.complex128), False, cot, *sim._soa)

        def kernel(kernel_args=kernel_args):
            soa_step.vjp_rows(*kernel_args)

        tv, tk, _ = _ab(lambda: sim.vjp(theta, x=x, cotangent=cot), kernel,  # noqa: B023
                        args.rounds)
        print(f"| {batch} | {1e6 * tv:.1f} | {1e6 * tk:.1f} | {1e6 * (tv - tk):.1f} |")


_FIRST_CALL = """
import sys, time
t0 = time.perf_counter()
import numba
t1 = time.perf_counter()
from qadl.backends.sim import kernels
t2 = time.perf_counter()
import numpy as np
from benchmarks.sim_circuits import layered
from qadl.backends.sim import Simulator
from qadl.learn.classifier import Classifier
c = layered({n}, {layers}, encode=True)
clf = Classifier(Simulator(c), c.readout)
rng = np.random.default_rng(0)
theta = rng.uniform(-3, 3, clf.num_params)
x = rng.uniform(0, 3, ({batch}, {n}))
t3 = time.perf_counter()
clf.loss_and_grads(theta, np.arange({batch}) % 2, x=x)
t4 = time.perf_counter()
print(f"{{t1 - t0:.2f}} {{t2 - t1:.2f}} {{t4 - t3:.2f}}")
"""


def _first_call(args) -> None:
    """Fresh processes (warm on-disk cache): import Numba, import the kernels, first step."""
    import subprocess

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    code = _FIRST_CALL.format(n=args.qubits, layers=args.layers, batch=args.batch[0])
    print("| run | import numba (s) | import kernels (s) | first loss_and_grads (s) |")
    print("|---:|---:|---:|---:|")
    for run in range(args.rounds):
        done = subprocess.run([sys.executable, "-c", code], cwd=root, check=True,
                              capture_output=True, text=True)
        print(f"| {run + 1} | " + " | ".join(done.stdout.split()) + " |")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--what", default="classifier",
                        choices=("classifier", "dispatch", "states", "first-call", "overhead"))
    parser.add_argument("--circuit", choices=("w1", "ren"), default="w1",
                        help="classifier: W1 (layered) or Ren et al.'s 10-qubit image model")
    parser.add_argument("--qubits", type=int, default=10)
    parser.add_argument("--layers", type=int, default=10)
    parser.add_argument("--batch", default="1,10,64,256",
                        type=lambda s: [int(v) for v in s.split(",")])
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args(argv)
    from numba import get_num_threads

    print(f"# {args.what}: n={args.qubits}, layers={args.layers}, threads={get_num_threads()}, "
          f"OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY', 'unset')}, "
          f"load average {os.getloadavg()[0]:.1f}")
    run = {"classifier": _classifier, "dispatch": _dispatch, "states": _states,
           "first-call": _first_call, "overhead": _overhead}
    run[args.what](args)


if __name__ == "__main__":
    main()
