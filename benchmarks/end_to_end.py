"""End to end: the flagship ``qadl run`` phase by phase, and W1 against peers from batch 1 up.

Three measurements, in one invocation:

- **flagship**: ``qadl run examples/ren2022_images.qadl`` in fresh processes (the first
  one, not reported, fills the on-disk Numba cache), each into a new output directory.
  Reported per run: the process's wall time and the phases ``results.json`` records
  under ``timing`` (train, defend, evaluate and the attacks inside it, total).
- **first gradient**: the flagship classifier's first training step (batch 10) in a
  fresh process, on an empty Numba cache (as after a fresh install) and then warm;
  ``--first-gradient-noisy`` the same for the noisy 10-qubit classifier of
  ``benchmarks/noise.py`` (density matrices, batch 4), and ``--first-gradient-amplitude``
  for the amplitude-encoded 8-qubit classifier of ``examples/lu2020_amplitude.qadl``
  (batch 10; its programs run on the complex-amplitude kernels).
- **W1** (forward + gradient of a layered classifier, as in ``benchmarks/sim_w1.py``) at
  every batch size of ``--batch``, for qadl's ``Simulator.vjp``, qadl's training step
  (``Classifier.loss_and_grads``: readout, cross-entropy and gradient), Qulacs
  (per-sample backprop) and PennyLane lightning.qubit (adjoint, device API). Each engine
  runs in a fresh process of its own, one after the other, ``--rounds`` times over; each
  figure is the best round's best of ``--repeats`` timings, a timing repeating the call
  until it lasts ≥ ``--min-time`` s. The cost is per sample (µs). ``--plot PATH`` draws
  per-sample cost vs batch.

Run: ``python benchmarks/end_to_end.py [--flagship-runs 2] [--batch 1,10,20,64,256]
[--qubits 10] [--plot docs/figures/end_to_end_w1.png]``. ``OMP_WAIT_POLICY`` is left as
the caller set it, to measure what users get (``sim_w1.py`` forces PASSIVE); unset, qadl's
kernels start OpenMP with PASSIVE and the peers with their runtime's default.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

_POLICY = os.environ.get("OMP_WAIT_POLICY")
from benchmarks import sim_w1  # noqa: E402  (sets PASSIVE when unset; undone below)
from benchmarks.sim_circuits import layered  # noqa: E402

if _POLICY is None:  # measure what users get: OpenMP has not started yet
    os.environ.pop("OMP_WAIT_POLICY", None)

FLAGSHIP = ROOT / "examples" / "ren2022_images.qadl"
PHASES = ("train", "defend", "evaluate", "attack", "total")


# -- flagship --------------------------------------------------------------------------
def flagship_run(out: Path, plots: bool) -> dict[str, float]:
    """One fresh ``qadl run`` of the flagship; its wall time and recorded phases (s)."""
    cmd = [sys.executable, "-m", "qadl", "run", str(FLAGSHIP), "--out", str(out),
           "--no-progress"] + ([] if plots else ["--no-plots"])
    started = time.perf_counter()
    subprocess.run(cmd, cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - started
    timing = json.loads((out / "results.json").read_text())["timing"]
    return {"wall": wall, **{p: float(timing.get(p, 0.0)) for p in PHASES}}


def flagship(runs: int, plots: bool) -> list[dict[str, float]]:
    """``runs`` timed runs after one untimed warm-up run."""
    rows = []
    with tempfile.TemporaryDirectory(prefix="qadl-e2e-") as tmp:
        for k in range(runs + 1):
            row = flagship_run(Path(tmp) / f"run{k}", plots)
            if k:
                rows.append(row)
                print(f"flagship run {k}: " + ", ".join(f"{n} {v:.2f} s" for n, v in row.items())
                      + f"  (load {os.getloadavg()[0]:.1f})", flush=True)
    return rows


# -- time to first gradient ---------------------------------------------------------------
_FIRST = """
import time
t0 = time.perf_counter()
import numpy as np
from qadl.learn.classifier import Classifier
{build}
rng = np.random.default_rng(0)
theta, x = rng.uniform(0, 6, c.num_params), rng.uniform(0, 0.1, ({batch}, c.num_features))
y = np.arange({batch}) % 2
t1, c1 = time.perf_counter(), time.process_time()
clf.loss_and_grads(theta, y, x=x)
t2, c2, done = time.perf_counter(), time.process_time(), time.time()
clf.loss_and_grads(theta, y, x=x)
t3 = time.perf_counter()
print(f"{{t1 - t0:.3f}} {{t2 - t1:.3f}} {{c2 - c1:.3f}} {{t3 - t2:.4f}} {{done:.3f}}")
"""

MODELS = {
    "flagship": ("""
from benchmarks.compile import ren2022_classifier
from qadl.backends.sim import Simulator
c = ren2022_classifier()
clf = Classifier(Simulator(c), c.readout)
""", 10),
    "noisy": ("""
from benchmarks.noise import ren_image_circuit, ren_noise
from qadl.backends.sim.noisy import NoisySimulator
c = ren_image_circuit()
clf = Classifier(NoisySimulator(c, ren_noise(), "density"), c.readout)
""", 4),
    "amplitude": ("""
import qadl
from qadl.backends.sim import Simulator
c = qadl.load("examples/lu2020_amplitude.qadl").models["classifier"].circuit
clf = Classifier(Simulator(c), c.readout)
""", 10),
}
"""The first-gradient models: the code that builds ``c`` and ``clf``, and the batch.
``noisy`` is Ren et al.'s 10-qubit image classifier as ``benchmarks/noise.py`` builds it
(depolarizing and T1/T2 relaxation after every gate), simulated by density matrix;
``amplitude`` is Lu et al.'s 8-qubit classifier on amplitude-encoded 16×16 images."""


def first_gradient(warm_runs: int, model: str = "flagship"
                   ) -> list[tuple[str, float, float, float, float, float, float]]:
    """Fresh processes: ``model``'s first training step (``Classifier.loss_and_grads``).

    The first process gets an empty ``NUMBA_CACHE_DIR`` (as after a fresh install: every
    kernel the step needs is compiled); the next ``warm_runs`` reuse that cache. Rows:
    (cache, process wall s, to the first gradient s, import + build s, first step s,
    first step CPU s, second step s). "To the first gradient" runs from the process's
    start to the first step's return: the process wall time less a second step and the
    exit. Compiling is single-threaded, so the first step's CPU time is less sensitive
    to other jobs on the machine than its wall time.
    """
    build, batch = MODELS[model]
    script = _FIRST.format(build=build, batch=batch)
    rows = []
    with tempfile.TemporaryDirectory(prefix="qadl-e2e-cache-") as cache:
        env = {**os.environ, "NUMBA_CACHE_DIR": cache}
        for k in range(warm_runs + 1):
            started, epoch = time.perf_counter(), time.time()
            done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, check=True,
                                  capture_output=True, text=True)
            wall = time.perf_counter() - started
            build_s, first, cpu, second, at = (float(v) for v in done.stdout.split()[-5:])
            rows.append(("empty" if k == 0 else "warm", wall, at - epoch, build_s, first, cpu,
                         second))
            print(f"first gradient, {model} (batch {batch}, {rows[-1][0]} cache): process "
                  f"{wall:.2f} s, to the first gradient {at - epoch:.2f} s, import + build "
                  f"{build_s:.2f} s, first step {first:.2f} s "
                  f"({cpu:.2f} s CPU), second step {1e3 * second:.1f} ms "
                  f"(load {os.getloadavg()[0]:.1f})", flush=True)
    return rows


# -- W1 ----------------------------------------------------------------------------------
def qadl_step_engine(theta, x):
    """``Classifier.loss_and_grads``: a training step (readout ⟨Z0⟩ read as two classes)."""
    from qadl.backends.sim import Simulator
    from qadl.learn.classifier import Classifier

    circuit = layered(sim_w1.N, sim_w1.LAYERS, encode=True)
    clf = Classifier(Simulator(circuit), circuit.readout)
    y = np.arange(x.shape[0]) % 2
    return lambda: clf.loss_and_grads(theta, y, x=x)


ENGINES: dict[str, Callable] = {
    "qadl vjp": sim_w1.qadl_engine,
    "qadl train step": qadl_step_engine,
    "Qulacs backprop": sim_w1.qulacs_engine,
    "lightning adjoint": sim_w1.pl_device_engine,
}


def per_sample_us(run: Callable[[], object], batch: int, repeats: int, min_time: float) -> float:
    """Best per-sample cost (µs) over ``repeats`` timings of ≥ ``min_time`` seconds each."""
    run()  # warm-up: compilation, caches, thread pools
    started, calls = time.perf_counter(), 0
    while calls == 0 or time.perf_counter() - started < min_time / 4:
        run()
        calls += 1
    inner = max(1, round(calls * min_time / max(time.perf_counter() - started, 1e-9) / 4))
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(inner):
            run()
        best = min(best, (time.perf_counter() - t0) / inner)
    return 1e6 * best / batch


def w1_engine(name: str, batches: list[int], repeats: int, min_time: float) -> dict[int, float]:
    """Per-sample µs of one engine at every batch size, in this process."""
    rng = np.random.default_rng(0)
    theta = rng.uniform(-np.pi, np.pi, 3 * sim_w1.N * sim_w1.LAYERS)
    x_all = rng.uniform(0, np.pi, (max(batches), sim_w1.N))
    return {b: per_sample_us(ENGINES[name](theta, x_all[:b]), b, repeats, min_time)
            for b in batches}


def w1(batches: list[int], engines: list[str], args) -> dict[str, dict[int, float]]:
    """Per-sample µs by engine and batch; the best over ``args.rounds`` rounds.

    Each engine runs in its own fresh process: the OpenMP pools of the peers (and
    their idle threads spinning under the default wait policy) would otherwise slow
    whichever engine runs next, which no user who runs one simulator sees. A round runs
    every engine once, in order, so load changes hit all of them alike.
    """
    table: dict[str, dict[int, float]] = {name: {} for name in engines}
    for r in range(args.rounds):
        for name in engines:
            cmd = [sys.executable, __file__, "--worker", name, "--qubits", str(args.qubits),
                   "--batch", ",".join(map(str, batches)), "--repeats", str(args.repeats),
                   "--min-time", str(args.min_time)]
            done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
            if done.returncode:  # a missing or broken peer must not stop the others
                why = (done.stderr.strip().splitlines() or ["?"])[-1][:100]
                print(f"round {r + 1} {name}: unavailable ({why})", flush=True)
                continue
            for b, us in json.loads(done.stdout.strip().splitlines()[-1]).items():
                b = int(b)
                table[name][b] = min(us, table[name].get(b, float("inf")))
            print(f"round {r + 1} {name:18s} " + "  ".join(
                f"B={b}: {table[name][b]:.1f}" for b in batches if b in table[name])
                + f" µs/sample  (load {os.getloadavg()[0]:.1f})", flush=True)
    return table


def markdown(table: dict[str, dict[int, float]], batches: list[int]) -> str:
    """Per-sample µs, and the fastest peer ÷ qadl, as a Markdown table."""
    names = [n for n in table if table[n]]
    peers = [n for n in names if not n.startswith("qadl")]
    head = "| batch | " + " | ".join(f"{n} (µs/sample)" for n in names)
    head += " | fastest peer ÷ qadl vjp |" if peers and "qadl vjp" in names else " |"
    lines = [head, "|---:" * (head.count("|") - 1) + "|"]
    for b in batches:
        cells = [f"{table[n][b]:.1f}" if b in table[n] else "—" for n in names]
        row = f"| {b} | " + " | ".join(cells) + " |"
        if peers and "qadl vjp" in names and b in table["qadl vjp"]:
            best = min((table[p][b] for p in peers if b in table[p]), default=None)
            row += f" {best / table['qadl vjp'][b]:.1f}× |" if best else " — |"
        lines.append(row)
    return "\n".join(lines)


def plot(table: dict[str, dict[int, float]], path: Path, title: str) -> None:
    """Per-sample cost vs batch, log-log, one line per engine."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    for (name, row), marker in zip(table.items(), "osD^v", strict=False):
        if row:
            xs = sorted(row)
            ax.plot(xs, [row[b] for b in xs], marker=marker, label=name)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("batch size")
    ax.set_ylabel("µs per sample (forward + gradient)")
    ax.set_title(title, fontsize=10)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--flagship-runs", type=int, default=2,
                        help="timed flagship runs after one warm-up (0: skip the flagship)")
    parser.add_argument("--plots", action="store_true", help="let the flagship draw its plots")
    parser.add_argument("--first-gradient", type=int, default=2, metavar="N",
                        help="fresh processes to the first gradient: one on an empty Numba "
                             "cache, then N on the warm one (-1: skip)")
    parser.add_argument("--first-gradient-noisy", type=int, default=-1, metavar="N",
                        help="the same for the noisy 10-qubit classifier (density matrices, "
                             "batch 4): one process on an empty cache, then N warm (-1: skip)")
    parser.add_argument("--first-gradient-amplitude", type=int, default=-1, metavar="N",
                        help="the same for the amplitude-encoded 8-qubit classifier (complex "
                             "kernels, batch 10): one process on an empty cache, then N warm")
    parser.add_argument("--batch", default="1,10,20,64,256", help="W1 batch sizes ('': skip W1)",
                        type=lambda s: [int(v) for v in s.split(",") if v])
    parser.add_argument("--qubits", type=int, default=10)
    parser.add_argument("--engines", default=",".join(ENGINES),
                        help="comma-separated subset of: " + ", ".join(ENGINES))
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=2,
                        help="W1: every engine runs once per round; the best round counts")
    parser.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--min-time", type=float, default=0.2,
                        help="seconds each timing lasts at least (a call is repeated)")
    parser.add_argument("--plot", type=Path, default=None, help="PNG of per-sample cost vs batch")
    args = parser.parse_args(argv)
    engines = [e for e in args.engines.split(",") if e]
    unknown = [e for e in engines if e not in ENGINES]
    if unknown:
        parser.error(f"unknown engines {unknown}; choose from {list(ENGINES)}")
    if args.worker is not None:  # one engine, this process; prints {batch: µs}
        sim_w1._set_qubits(args.qubits)
        print(json.dumps(w1_engine(args.worker, args.batch, args.repeats, args.min_time)))
        return
    from numba import get_num_threads

    policy = os.environ.get("OMP_WAIT_POLICY", "unset")
    print(f"# threads={get_num_threads()}, OMP_WAIT_POLICY={policy}, cpus={os.cpu_count()}, "
          f"load {os.getloadavg()[0]:.1f}", flush=True)
    if args.flagship_runs:
        rows = flagship(args.flagship_runs, args.plots)
        print("\n| run | wall (s) | " + " | ".join(f"{p} (s)" for p in PHASES) + " |")
        print("|---:" * (len(PHASES) + 2) + "|")
        for k, row in enumerate(rows, 1):
            print(f"| {k} | {row['wall']:.2f} | " + " | ".join(f"{row[p]:.2f}" for p in PHASES)
                  + " |")
    if args.first_gradient >= 0:
        first_gradient(args.first_gradient)
    if args.first_gradient_noisy >= 0:
        first_gradient(args.first_gradient_noisy, "noisy")
    if args.first_gradient_amplitude >= 0:
        first_gradient(args.first_gradient_amplitude, "amplitude")
    if args.batch and engines:
        sim_w1._set_qubits(args.qubits)
        table = w1(args.batch, engines, args)
        print(f"\nW1, n = {args.qubits}, {sim_w1.LAYERS} layers, OMP_WAIT_POLICY={policy}:")
        print(markdown(table, args.batch))
        if args.plot is not None:
            plot(table, args.plot, f"W1 forward + gradient, n = {args.qubits}, "
                 f"{sim_w1.LAYERS} layers ({get_num_threads()} threads, {policy})")
            print(f"plot: {args.plot}")
    print(f"# load at the end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
