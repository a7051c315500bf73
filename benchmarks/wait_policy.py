"""OpenMP spin counts for one large state split over the threads, idle and beside a busy loop.

W1 (``layered(n, 10, encode=True)``) at batch 1 from 14 qubits runs on ``soa_single``:
about 44 parallel regions per sample. For each spin count of ``--spin`` (with
``OMP_WAIT_POLICY=PASSIVE``) and each ``--qubits``, a fresh process repeats
``Simulator.vjp`` for ``--seconds`` and prints the *mean* ms per call (a user's many steps,
not the best one); ``--busy K`` first starts K processes spinning in a Python loop (as
other work on the machine would), killed afterwards. Settings alternate, ``--rounds`` times.

Run: ``python benchmarks/wait_policy.py [--qubits 14,16] [--spin 0,1000,10000] [--busy 1]``.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

_CHILD = """
import sys, time
sys.path.insert(0, {root!r})
import numpy as np
from benchmarks.sim_circuits import layered
from qadl.backends.sim import Simulator
c = layered({n}, 10, encode=True)
sim = Simulator(c)
rng = np.random.default_rng(0)
theta, x = rng.uniform(0, 6, c.num_params), rng.uniform(0, 1, (1, c.num_features))
cot = np.ones_like(sim.outputs(theta, x=x))
sim.vjp(theta, x=x, cotangent=cot)
start, calls = time.perf_counter(), 0
while time.perf_counter() - start < {seconds}:
    sim.vjp(theta, x=x, cotangent=cot)
    calls += 1
print((time.perf_counter() - start) / calls * 1e3)
"""


def mean_ms(n: int, spin: int, seconds: float) -> float:
    """Mean ms per ``Simulator.vjp`` call at batch 1, in a fresh process."""
    env = {**os.environ, "OMP_WAIT_POLICY": "PASSIVE", "GOMP_SPINCOUNT": str(spin)}
    done = subprocess.run([sys.executable, "-c", _CHILD.format(root=str(ROOT), n=n,
                                                               seconds=seconds)],
                          env=env, check=True, capture_output=True, text=True)
    return float(done.stdout.split()[-1])


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--qubits", default="14,16")
    p.add_argument("--spin", default="0,1000,10000")
    p.add_argument("--busy", type=int, default=0)
    p.add_argument("--seconds", type=float, default=2.0)
    p.add_argument("--rounds", type=int, default=2)
    args = p.parse_args(argv)
    qubits = [int(v) for v in args.qubits.split(",")]
    spins = [int(v) for v in args.spin.split(",")]
    busy = [subprocess.Popen([sys.executable, "-c", "while True: pass"])
            for _ in range(args.busy)]
    try:
        rows = {(n, s): [] for n in qubits for s in spins}
        for _ in range(args.rounds):
            for n in qubits:
                for s in spins:
                    rows[n, s].append(mean_ms(n, s, args.seconds))
    finally:
        for proc in busy:
            proc.kill()
    print(f"busy loops {args.busy}, load average {os.getloadavg()[0]:.2f}")
    print("| qubits | " + " | ".join(f"spin {s}" for s in spins) + " |")
    print("|---:|" + "---:|" * len(spins))
    for n in qubits:
        cells = [" / ".join(f"{v:.2f}" for v in rows[n, s]) for s in spins]
        print(f"| {n} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
