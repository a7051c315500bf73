"""Single-qubit block kernels in isolation, and where a W1 training step's time goes.

``--rates`` (default): ns per amplitude pair of ``soa_kernels._m1`` (forward) and
``soa_kernels._back_m1`` (un-apply from ψ and λ, overlaps summed) on every qubit of an
``--qubits``-qubit state, one thread, a Haar-random 2×2 (a non-unitary one would grow
the state to infinities over the repeats, which run at another speed), best of 5
timings of ``--repeats`` calls from a compiled loop.

``--profile SECONDS``: ``perf record`` (software clock) of ``Simulator.vjp`` on W1 (10
qubits, 10 layers) at batch 256, one thread, in a child process whose compiled
functions' addresses are read from Numba's final module (so the child compiles into an
empty temporary cache); prints the share of samples per compiled function. Needs
``perf`` on the PATH.

Run: ``python benchmarks/sim_kernels.py [--qubits 10] [--repeats 2000]`` or
``python benchmarks/sim_kernels.py --profile 5``.
"""

from __future__ import annotations

import argparse
import bisect
import collections
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("NUMBA_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np


def rates(nq: int, repeats: int) -> tuple[list[float], list[float]]:
    """ns per pair, forward and backward, for qubits 0 … nq-1."""
    from numba import njit
    from scipy.stats import unitary_group

    from qadl.backends.sim import soa_kernels as S

    @njit
    def forward(re, im, q, reps, m00, m01, m10, m11):
        for _ in range(reps):
            S._m1(re, im, q, m00, m01, m10, m11)

    @njit
    def backward(re, im, lre, lim, q, reps, m00, m01, m10, m11, r):
        for _ in range(reps):
            S._back_m1(re, im, lre, lim, q, m00, m01, m10, m11, r)

    rng = np.random.default_rng(0)
    n = 1 << nq
    re, im, lre, lim = (rng.normal(size=n) / np.sqrt(n) for _ in range(4))
    m = unitary_group.rvs(2, random_state=1).ravel()
    r = np.zeros(4, dtype=complex)
    forward(re, im, 0, 1, *m)
    backward(re, im, lre, lim, 0, 1, *m, r)
    fwd, bwd = [], []
    for q in range(nq):
        best_f = best_b = np.inf
        for _ in range(5):
            t = time.perf_counter()
            forward(re, im, q, repeats, *m)
            best_f = min(best_f, time.perf_counter() - t)
            t = time.perf_counter()
            backward(re, im, lre, lim, q, repeats, *m, r)
            best_b = min(best_b, time.perf_counter() - t)
        fwd.append(best_f / repeats / (n // 2) * 1e9)
        bwd.append(best_b / repeats / (n // 2) * 1e9)
    return fwd, bwd


_CHILD = """
import json, os, sys, time
sys.path.insert(0, {root!r})
import numpy as np
from benchmarks.sim_circuits import layered
from qadl.backends.sim import Simulator, soa_step
c = layered(10, 10, encode=True)
sim = Simulator(c)
rng = np.random.default_rng(0)
theta, x = rng.uniform(0, 6, c.num_params), rng.uniform(0, 1, (256, c.num_features))
cot = rng.normal(size=sim.outputs(theta, x=x).shape)
sim.vjp(theta, x=x, cotangent=cot)
symbols = {{}}
for cres in soa_step._vjp_rows.overloads.values():
    for f in cres.library._final_module.functions:
        if not f.is_declaration:
            symbols[f.name] = cres.library.get_pointer_to_function(f.name)
json.dump(symbols, open({symbols!r}, "w"))
print("ready", flush=True)
end = time.time() + {seconds} + 2.0
while time.time() < end:
    sim.vjp(theta, x=x, cotangent=cot)
"""


def profile(seconds: float) -> list[tuple[str, float]]:
    """Share of ``perf`` samples per compiled function of ``Simulator.vjp`` (W1, batch 256)."""
    with tempfile.TemporaryDirectory(prefix="qadl-prof-") as tmp:
        symbols_path, data = os.path.join(tmp, "symbols.json"), os.path.join(tmp, "perf.data")
        child = subprocess.Popen(
            [sys.executable, "-c", _CHILD.format(root=str(Path(__file__).parent.parent),
                                                 symbols=symbols_path, seconds=seconds)],
            env={**os.environ, "NUMBA_CACHE_DIR": os.path.join(tmp, "cache")},
            stdout=subprocess.PIPE, text=True)
        assert child.stdout is not None and child.stdout.readline().strip() == "ready"
        subprocess.run(["perf", "record", "-q", "-e", "cpu-clock", "-F", "4000", "-p",
                        str(child.pid), "-o", data, "--", "sleep", str(seconds)], check=True,
                       stderr=subprocess.DEVNULL)
        child.wait()
        ips = subprocess.run(["perf", "script", "-i", data, "-F", "ip"], check=True,
                             capture_output=True, text=True).stdout.split()
        symbols = json.loads(Path(symbols_path).read_text())
    starts = sorted((addr, name) for name, addr in symbols.items())
    keys = [a for a, _ in starts]
    counts: collections.Counter[str] = collections.Counter()
    for ip in ips:
        k = bisect.bisect_right(keys, int(ip, 16)) - 1
        inside = k >= 0 and int(ip, 16) - keys[k] < 1 << 18
        counts[_short(starts[k][1]) if inside else "(outside the compiled module)"] += 1
    total = sum(counts.values())
    return [(name, 100.0 * c / total) for name, c in counts.most_common()]


def _short(mangled: str) -> str:
    """``qadl.backends.sim.lanes.back_m1`` from Numba's mangled name (others unchanged)."""
    rest = mangled[3:] if mangled.startswith("_ZN") else mangled
    names = []
    while m := re.match(r"\d+", rest):
        size, start = int(m.group()), len(m.group())
        names.append(rest[start : start + size])
        rest = rest[start + size :]
    return ".".join(names) or mangled


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--qubits", type=int, default=10)
    p.add_argument("--repeats", type=int, default=2000)
    p.add_argument("--profile", type=float, default=None, metavar="SECONDS")
    args = p.parse_args(argv)
    print(f"load average {os.getloadavg()[0]:.2f}")
    if args.profile is not None:
        for name, share in profile(args.profile):
            if share >= 0.5:
                print(f"{share:5.1f} %  {name}")
        return
    fwd, bwd = rates(args.qubits, args.repeats)
    print("| qubit | " + " | ".join(str(q) for q in range(args.qubits)) + " |")
    print("|---|" + "---:|" * args.qubits)
    print("| forward (ns/pair) | " + " | ".join(f"{v:.2f}" for v in fwd) + " |")
    print("| backward (ns/pair) | " + " | ".join(f"{v:.2f}" for v in bwd) + " |")


if __name__ == "__main__":
    main()
