"""W1 at batch 256 against the machine's measured double-precision FLOP peak.

Three things, in one invocation, alternated round by round so that the load of the
shared machine affects all of them alike:

- the peak, measured two ways on 1 and 2 threads: a compiled FMA-throughput kernel
  (Numba; 8 dependent ``v = v*a + b`` per element of a 512-element array that stays in
  L1, four elements' chains per iteration; the script checks that its
  machine code uses packed ``vfmadd`` on zmm/ymm registers; 1 dependent chain per
  vector instead of 4 reached only 49 GFLOP/s on 1 thread) and OpenBLAS DGEMM through
  NumPy (2048×2048, threads pinned with threadpoolctl);
- the FLOP per sample of the fused W1 program, counted from the program itself
  (``build_program(layered(10, 10, encode=True))``), block by block, with the FLOP per
  amplitude pair that the split-array kernels (``qadl/backends/sim/soa_kernels.py``)
  execute; an FMA counts as 2 FLOP, as it does in the peak;
- ``Simulator.vjp`` of W1 at batch 256, best of ``--repeats`` after a warm-up, in fresh
  processes with ``NUMBA_NUM_THREADS`` 1 and 2 (wall clock and process CPU time).

Run: ``python benchmarks/flops.py [--rounds 3] [--repeats 15] [--batch 256]``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from benchmarks.sim_circuits import layered
from qadl.backends.sim.build import build_program
from qadl.backends.sim.program import K_CX, K_D1, K_DGRP, K_M1, SimProgram

N, LAYERS = 10, 10

# FLOP per amplitude pair as the split-array kernels do them (a complex multiply is
# 4 mul + 2 add = 6, a complex add 2; x*y + z is 2 FLOP whether or not it is fused).
PAIR_FLOP = {
    # forward (_m1): each of the 4 outputs is 4 mul + 3 add
    "m1 forward": (K_M1, 28),
    # backward (_back_m1): un-apply to ψ (28) and λ (28); 8 real sums of 2 mul + 2 add
    "m1 backward": (K_M1, 88),
    # forward (_d1/_scale): one complex multiply per amplitude
    "d1 forward": (K_D1, 12),
    # backward (_back_scale): ψ and λ (6 + 6) and Σ conj(λ)ψ (8) per amplitude
    "d1 backward": (K_D1, 40),
    # forward (_table): sign·ti (1) and a complex multiply (6) per amplitude
    "table forward": (K_DGRP, 14),
    # backward: _table on ψ and on λ
    "table backward": (K_DGRP, 28),
    "cx forward": (K_CX, 0),
    "cx backward": (K_CX, 0),
}
READOUT_AMP_FLOP = 8 + 12
"""Per amplitude and observable: ⟨ψ|P|ψ⟩ (a complex multiply and add) and the seed
λ = cot·Pψ (real × complex, complex sign sum, complex multiply, complex add)."""


@dataclass(frozen=True)
class FlopCount:
    """FLOP per sample of one program: amplitude-scaled terms, by kernel."""

    rows: tuple[tuple[str, int, int, int], ...]
    """(kernel, blocks, FLOP per pair, FLOP per sample)."""
    readout: int
    """Readout and λ seed per sample."""

    @property
    def total(self) -> int:
        """All counted FLOP per sample."""
        return sum(r[3] for r in self.rows) + self.readout


def count_flops(program: SimProgram) -> FlopCount:
    """FLOP per sample of forward + adjoint gradient on the split-array kernels.

    Per-block work that does not scale with the state (block matrices, the angle
    derivatives from the 2×2 overlap, the tape) is left out: O(1) per block.
    """
    kinds = np.asarray(program.kind)
    other = set(np.unique(kinds)) - {K_M1, K_D1, K_DGRP, K_CX}
    if other:
        raise ValueError(f"block kinds without split-array kernels: {sorted(other)}")
    pairs = 1 << (program.num_qubits - 1)
    rows = []
    for name, (kind, flop) in PAIR_FLOP.items():
        blocks = int(np.sum(kinds == kind))
        if blocks:
            rows.append((name, blocks, flop, blocks * flop * pairs))
    readout = READOUT_AMP_FLOP * 2 * pairs * program.readout.num_outputs
    return FlopCount(tuple(rows), readout)


# -- peak ----------------------------------------------------------------------------------
FMA_CHAIN = 8
"""Dependent FMAs per element; each loop iteration runs 4 elements' chains side by side
(4 vectors once vectorised), and the out-of-order core overlaps iterations."""


def _fma_kernel():
    from numba import njit

    @njit(fastmath={"contract"}, nogil=True, cache=False)
    def fma(v, a, b, reps):
        h = v.shape[0] >> 2
        for _ in range(reps):
            for j in range(h):
                x, y, z, w = v[j], v[j + h], v[j + 2 * h], v[j + 3 * h]
                for _k in range(FMA_CHAIN):
                    x = x * a + b
                    y = y * a + b
                    z = z * a + b
                    w = w * a + b
                v[j], v[j + h], v[j + 2 * h], v[j + 3 * h] = x, y, z, w

    return fma


def _check_fma_asm(fma) -> str:
    asm = fma.inspect_asm(fma.signatures[0])
    packed = [ln.split()[1] for ln in asm.splitlines()
              if "vfmadd" in ln and "pd" in ln.split()[0] and len(ln.split()) > 1]
    regs = {"zmm" if "zmm" in r else "ymm" if "ymm" in r else "xmm" for r in packed}
    if not packed:
        raise RuntimeError("the FMA kernel did not compile to packed vfmadd")
    return f"{len(packed)} packed vfmadd…pd on {'/'.join(sorted(regs))}"


def fma_peak(fma, threads: int, seconds: float = 0.5) -> float:
    """FLOP/s of ``threads`` threads each running the FMA kernel on its own array."""
    n, reps = 512, 50_000
    arrays = [np.full(n, 0.5) for _ in range(threads)]
    flop = 2 * FMA_CHAIN * n * reps
    best = 0.0
    t_end = time.perf_counter() + seconds
    while time.perf_counter() < t_end:
        workers = [threading.Thread(target=fma, args=(v, 0.999, 1e-3, reps)) for v in arrays]
        t0 = time.perf_counter()
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        best = max(best, threads * flop / (time.perf_counter() - t0))
    return best


def dgemm_peak(threads: int, n: int = 2048, repeats: int = 3) -> float:
    """FLOP/s of NumPy's BLAS DGEMM (n×n) on ``threads`` threads."""
    from threadpoolctl import threadpool_limits

    rng = np.random.default_rng(0)
    a, b = rng.random((n, n)), rng.random((n, n))
    best = 0.0
    with threadpool_limits(limits=threads, user_api="blas"):
        a @ b
        for _ in range(repeats):
            t0 = time.perf_counter()
            a @ b
            best = max(best, 2 * n**3 / (time.perf_counter() - t0))
    return best


# -- W1 ------------------------------------------------------------------------------------
def w1_worker(batch: int, repeats: int) -> dict[str, float]:
    """Best wall and process CPU seconds per sample of ``Simulator.vjp`` on W1."""
    from qadl.backends.sim import Simulator

    sim = Simulator(layered(N, LAYERS, encode=True))
    rng = np.random.default_rng(0)
    theta = rng.normal(size=sim.num_params)
    x = rng.normal(size=(batch, N))
    cot = np.ones((batch, 1))
    sim.vjp(theta, x=x, cotangent=cot)
    wall = cpu = float("inf")
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        sim.vjp(theta, x=x, cotangent=cot)
        wall = min(wall, time.perf_counter() - t0)
        cpu = min(cpu, time.process_time() - c0)
    return {"wall": wall / batch, "cpu": cpu / batch}


def w1_fresh(threads: int, batch: int, repeats: int) -> dict[str, float]:
    """``w1_worker`` in a fresh process with ``NUMBA_NUM_THREADS=threads``."""
    env = dict(os.environ, NUMBA_NUM_THREADS=str(threads))
    cmd = [sys.executable, __file__, "--w1-worker", "--batch", str(batch),
           "--repeats", str(repeats)]
    out = subprocess.run(cmd, env=env, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


# -- report --------------------------------------------------------------------------------
def _print_count(count: FlopCount) -> None:
    print(f"FLOP per sample of W1 (n={N}, {LAYERS} layers, 2^{N - 1} amplitude pairs; "
          "FMA = 2 FLOP):")
    for name, blocks, flop, total in count.rows:
        print(f"  {name:15s} {blocks:4d} blocks × {flop:3d} FLOP/pair = {total / 1e6:7.4f} M")
    print(f"  {'readout + seed':15s} {count.readout / 1e6:33.4f} M")
    print(f"  {'total':15s} {count.total / 1e6:33.4f} M")


def _round(fma, args) -> dict[str, float]:
    r = {}
    for t in (1, 2):
        r[f"fma{t}"] = fma_peak(fma, t)
        r[f"dgemm{t}"] = dgemm_peak(t)
        w = w1_fresh(t, args.batch, args.repeats)
        r[f"w1wall{t}"], r[f"w1cpu{t}"] = w["wall"], w["cpu"]
    return r


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--repeats", type=int, default=15)
    p.add_argument("--batch", type=int, default=256)
    p.add_argument("--w1-worker", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.w1_worker:
        print(json.dumps(w1_worker(args.batch, args.repeats)))
        return
    count = count_flops(build_program(layered(N, LAYERS, encode=True)))
    _print_count(count)
    fma = _fma_kernel()
    fma(np.zeros(512), 0.999, 1e-3, 1)
    print(f"FMA kernel: {_check_fma_asm(fma)}; load average {os.getloadavg()}")
    rounds = []
    for i in range(args.rounds):
        r = _round(fma, args)
        rounds.append(r)
        print(f"round {i}: FMA {r['fma1'] / 1e9:.1f} / {r['fma2'] / 1e9:.1f} GFLOP/s, "
              f"DGEMM {r['dgemm1'] / 1e9:.1f} / {r['dgemm2'] / 1e9:.1f} (1 / 2 threads); "
              f"W1 per sample {r['w1cpu1'] * 1e6:.1f} µs CPU (1 thread), "
              f"{r['w1wall2'] * 1e6:.1f} µs wall / {r['w1cpu2'] * 1e6:.1f} µs CPU "
              f"(2 threads); load {os.getloadavg()}")
    _report(count.total, rounds)


def _report(flop: int, rounds: list[dict[str, float]]) -> None:
    best = {k: (max if k.startswith(("fma", "dgemm")) else min)(r[k] for r in rounds)
            for k in rounds[0]}
    peak1 = max(best["fma1"], best["dgemm1"])
    peak2 = max(best["fma2"], best["dgemm2"])
    print(f"peak, best of {len(rounds)} rounds: FMA kernel {best['fma1'] / 1e9:.1f} GFLOP/s "
          f"on 1 thread ({best['fma1'] / 16e9:.2f} GHz at 16 FLOP/cycle), "
          f"{best['fma2'] / 1e9:.1f} on 2; DGEMM {best['dgemm1'] / 1e9:.1f} on 1, "
          f"{best['dgemm2'] / 1e9:.1f} on 2")
    print(f"peak taken: {peak1 / 1e9:.1f} GFLOP/s per core, {peak2 / 1e9:.1f} for the machine")
    rows = (("1 thread, CPU time", best["w1cpu1"], 1, peak1),
            ("1 thread, wall", best["w1wall1"], 1, peak1),
            ("2 threads, CPU time", best["w1cpu2"], 1, peak1),
            ("2 threads, wall", best["w1wall2"], 2, peak2))
    for label, sec, cores, peak in rows:
        rate = flop / sec
        print(f"W1 {label:20s} {sec * 1e6:7.1f} µs/sample  {rate / 1e9:5.1f} GFLOP/s  "
              f"{100 * rate / peak:4.1f} % of the measured peak of {cores} core(s)")


if __name__ == "__main__":
    main()
