"""Compile benchmark: qadl -O3 (with routing, translation) vs Qiskit's transpile at level 3.

For each representative circuit (built directly as qadl IR) and each target (the
10-qubit chain with rx/ry/rz/cz, IBM's 27-qubit heavy-hex with rz/sx/x/cx), compile with
``qadl.passes.compile_for_target(..., level=3)`` and with Qiskit's preset level-3 pass
manager on the same coupling map and basis (fixed seed), then print a Markdown table of
two-qubit gate counts, depth and wall-clock compile time.

Angles stay symbolic on both sides (Qiskit ``Parameter`` expressions), as they are when
qadl emits OpenQASM with ``input float`` parameters. The readout qubits are measured in
the Qiskit circuit, so Qiskit's own measurement-aware passes apply too; measurements are
not counted. Two qadl columns are shown: "qadl" uses the readout (light cone, diagonal
gates before measurement), "qadl-op" compiles the bare operator (readout removed), the
like-for-like comparison with Qiskit's unitary-preserving optimisation.

Every qadl result is checked against the original circuit's readout values with the
dense reference simulator (on the physical qubits it uses) before it is reported.

Routing-heavy circuits are routed by the compiled SABRE sweep (``sabre_kernels``): this
benchmark imports it up front, as a long-running process opts in, and reports the one-time
Numba load on stderr; ``--python-routing`` keeps every sweep in Python (what a one-off
``qadl compile`` does). Times are medians of ``--repeats`` runs (default 5). ``resynth-2q``
keeps its block rewrites (and the syntheses, op matrices and single-qubit sequences behind
them) for the process, and ``resynth-1q`` its run verdicts, so repeats of one circuit find
them ready; ``--cold`` empties those caches before each timed qadl compile (a first
compile's time).

``--random N`` adds a table of totals over N random constant circuits (4–8 qubits, 20–80
ops of H, RX/RY/RZ and CX, ⟨Z⟩ of every qubit read out): two-qubit gates, depth and ops of
each compiler's results, and the summed times (qadl's caches emptied before each compile).

``--fresh N`` adds a second table for the circuits whose features are bound: each is
compiled for N new feature samples (first compiles of new data, as a per-sample
compilation meets them), qadl and Qiskit back to back on each sample so both see the same
load, and the median of the per-sample time ratios is reported with its quartiles.

Usage: ``python benchmarks/compile.py [--quick] [--examples] [--trials N] [--python-routing]
[--repeats N] [--only TEXT] [--cold] [--fresh N] [--random N]``
"""

from __future__ import annotations

import argparse
import importlib
import itertools
import math
import statistics
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from qadl.ir import expr as E
from qadl.ir.circuit import Circuit, Op, Readout
from qadl.ir.gates import Gate
from qadl.ir.target import Target
from qadl.passes import circuit_stats, compile_for_target
from qadl.passes.devices import chain_target, heavy_hex_27

PI = math.pi


# -- representative circuits -----------------------------------------------------------------
def ren2022_classifier() -> Circuit:
    """Ren et al. 2022 image classifier: 26 RX/RZ layers on 10 qubits, 4 CNOT brick walls.

    angle_k = θ_k + π + 2·x_k (k < 256), θ_k + π (padding); E after layers 7, 13, 19, 25;
    readout: Z marginal of qubit 4 (REFERENCE-ren2022.md §2).
    """
    ops = []
    for layer in range(26):
        gate = Gate.RX if layer % 2 == 0 else Gate.RZ
        for q in range(10):
            k = 10 * layer + q
            angle = E.theta(k) + PI + (2.0 * E.x(k) if k < 256 else 0.0)
            ops.append(Op(gate, (q,), (angle,)))
        if layer in (7, 13, 19, 25):
            ops += [Op(Gate.CX, (a, a + 1)) for a in (0, 2, 4, 6, 8, 1, 3, 5, 7)]
    return Circuit(
        10, tuple(ops), 260, 256, readout=Readout("probs", (4,), num_classes=2), name="ren2022"
    )


def hardware_efficient(n: int = 10, layers: int = 4) -> Circuit:
    """RY·RZ on every qubit, then a CZ chain, repeated; final rotation layer; probs(q0)."""
    ops, k = [], 0
    for layer in range(layers + 1):
        for q in range(n):
            ops += [Op(Gate.RY, (q,), (E.theta(k),)), Op(Gate.RZ, (q,), (E.theta(k + 1),))]
            k += 2
        if layer < layers:
            ops += [Op(Gate.CZ, (q, q + 1)) for q in range(n - 1)]
    return Circuit(
        n, tuple(ops), k, readout=Readout("probs", (0,), num_classes=2), name=f"hwe{n}x{layers}"
    )


def efficient_su2_full(n: int = 8, reps: int = 2) -> Circuit:
    """Qiskit-style EfficientSU2 with full CX entanglement: RY, RZ layers between all-pairs CX."""
    ops, k = [], 0
    for rep in range(reps + 1):
        for q in range(n):
            ops += [Op(Gate.RY, (q,), (E.theta(k),)), Op(Gate.RZ, (q,), (E.theta(k + 1),))]
            k += 2
        if rep < reps:
            ops += [Op(Gate.CX, (a, b)) for a, b in itertools.combinations(range(n), 2)]
    obs = tuple(((("Z", q),)) for q in range(2))
    return Circuit(
        n, tuple(ops), k, readout=Readout("expval", observables=obs), name=f"esu2full{n}x{reps}"
    )


def zz_feature_map(n: int = 8, reps: int = 2, pairs: str = "linear") -> Circuit:
    """Havlicek et al. ZZ feature map (Qiskit's ZZFeatureMap decomposition) + one RY layer.

    H; P(2x_i); for each pair: CX, P(2(π - x_i)(π - x_j)), CX; repeated ``reps`` times.
    """
    ops = []
    edges = (
        list(itertools.pairwise(range(n)))
        if pairs == "linear"
        else list(itertools.combinations(range(n), 2))
    )
    for _ in range(reps):
        ops += [Op(Gate.H, (q,)) for q in range(n)]
        ops += [Op(Gate.P, (q,), (2.0 * E.x(q),)) for q in range(n)]
        for a, b in edges:
            phi = 2.0 * (PI - E.x(a)) * (PI - E.x(b))
            ops += [Op(Gate.CX, (a, b)), Op(Gate.P, (b,), (phi,)), Op(Gate.CX, (a, b))]
    ops += [Op(Gate.RY, (q,), (E.theta(q),)) for q in range(n)]
    readout = Readout("expval", observables=(tuple(("Z", q) for q in range(n)),))
    return Circuit(n, tuple(ops), n, n, readout=readout, name=f"zz{pairs}{n}x{reps}")


CIRCUITS = {
    "ren2022 (10q)": ren2022_classifier,
    "hardware-efficient 10q x4": hardware_efficient,
    "EfficientSU2 full 8q x2": efficient_su2_full,
    "ZZ feature map linear 8q x2": zz_feature_map,
    "ZZ feature map full 6q x2": lambda: zz_feature_map(6, 2, "full"),
}


# -- qiskit side ------------------------------------------------------------------------------
def to_qiskit(circuit: Circuit, measure: bool):
    """The same circuit as a Qiskit ``QuantumCircuit`` with ``Parameter`` expressions."""
    from qiskit import QuantumCircuit
    from qiskit.circuit import Parameter

    params: dict = {}

    def angle(expr: E.Expr):
        total = 0
        for mono, coeff in expr.terms:
            term = coeff
            for sym in mono:
                if sym not in params:
                    params[sym] = Parameter(f"{sym.kind}_{sym.index}")
                term = term * params[sym]
            total = total + term
        return total

    qc = QuantumCircuit(
        circuit.num_qubits, len(circuit.readout.measured_qubits()) if measure else 0
    )
    for op in circuit.ops:
        getattr(qc, op.gate.value)(*(angle(a) for a in op.angles), *op.qubits)
    if measure and circuit.readout is not None:
        for clbit, q in enumerate(sorted(circuit.readout.measured_qubits())):
            qc.measure(q, clbit)
    return qc


def qiskit_compile(circuit: Circuit, target: Target, seed: int):
    """Transpile with Qiskit level 3 on the target's coupling and basis; (stats, seconds)."""
    from qiskit import transpile
    from qiskit.transpiler import CouplingMap

    qc = to_qiskit(circuit, measure=circuit.readout is not None)
    edges = [list(e) for a, b in target.coupling for e in ((a, b), (b, a))]
    start = time.perf_counter()
    out = transpile(
        qc,
        coupling_map=CouplingMap(edges),
        basis_gates=[g.value for g in target.basis],
        optimization_level=3,
        seed_transpiler=seed,
    )
    seconds = time.perf_counter() - start
    real = [i for i in out.data if i.operation.name not in ("measure", "barrier")]
    two = sum(1 for i in real if len(i.qubits) == 2)
    depth = out.depth(lambda i: i.operation.name not in ("measure", "barrier"))
    return Row(len(real), two, depth, seconds)


@dataclass(frozen=True)
class Row:
    """One compiler's result on one circuit and target."""

    ops: int
    two_qubit: int
    depth: int
    seconds: float


def qadl_compile(
    circuit: Circuit,
    target: Target,
    seed: int,
    check: Circuit | None = None,
    trials: int = 8,
    cold: bool = False,
) -> Row:
    """compile_for_target at O3; (stats, seconds). With ``check``, verify readout values.

    ``cold``: first empty ``resynth-2q``'s caches (block rewrites and what they are built
    from) and ``resynth-1q``'s run verdicts (they live for the process; ``clear_caches``
    empties both), so the time is that of a circuit's first compile, not of a repeat.
    """
    if cold:
        importlib.import_module("qadl.passes.resynth_2q").clear_caches()
    start = time.perf_counter()
    compiled = compile_for_target(circuit, target, 3, seed=seed, report=False, trials=trials)
    seconds = time.perf_counter() - start
    if check is not None:
        verify_outputs(compiled, check, seed)
    s = circuit_stats(compiled.circuit)
    return Row(s.ops, s.two_qubit, s.depth, seconds)


def verify_outputs(compiled, original: Circuit, seed: int) -> None:
    """Assert the compiled circuit gives ``original``'s readout values (dense, used qubits only).

    The readout is taken from ``original`` and moved through ``final_permutation``, so this
    also checks circuits compiled without their readout. Skipped above 16 used qubits.
    """
    import numpy as np

    from qadl.testing import random_bindings, reference_outputs, reference_state

    out, readout, perm = compiled.circuit, original.readout, compiled.final_permutation
    measured = {perm[q] for q in readout.measured_qubits()}
    used = sorted({q for op in out.ops for q in op.qubits} | measured)
    if len(used) > 16:
        return
    index = {q: i for i, q in enumerate(used)}
    ops = tuple(replace(op, qubits=tuple(index[q] for q in op.qubits)) for op in out.ops)
    moved = replace(
        readout,
        qubits=tuple(index[perm[q]] for q in readout.qubits),
        observables=tuple(tuple((p, index[perm[q]]) for p, q in o) for o in readout.observables),
    )
    small = replace(out, num_qubits=len(used), ops=ops, readout=moved)
    theta, x, delta = random_bindings(np.random.default_rng(seed), original)
    want = reference_outputs(original, reference_state(original, theta, x, delta))
    got = reference_outputs(small, reference_state(small, theta, x, delta))
    if not np.allclose(got, want, atol=1e-8):
        raise AssertionError(f"compiled circuit differs: {got} vs {want}")


def best_of(fn, repeats: int) -> Row:
    """Run ``fn`` ``repeats`` times; the stats of the last run with the median time."""
    rows = [fn() for _ in range(repeats)]
    return replace(rows[-1], seconds=statistics.median(r.seconds for r in rows))


def example_circuits() -> dict[str, Circuit]:
    """Every example model, when the front end can load them (empty otherwise)."""
    root = Path(__file__).resolve().parent.parent / "examples"
    try:
        import qadl

        load = qadl.load  # type: ignore[attr-defined]
    except (ImportError, AttributeError):
        return {}
    out = {}
    for path in sorted(root.glob("*.qadl")):
        try:
            program = load(path)
        except Exception as err:  # a broken example is reported, not fatal, in a benchmark
            print(f"skipping {path.name}: {err}", file=sys.stderr)
            continue
        for name, model in program.models.items():
            if not any(op.gate is Gate.AMPLITUDE for op in model.circuit.ops):
                out[f"{path.stem}:{name}"] = model.circuit
    return out


def bind_features(circuit: Circuit, seed: int) -> Circuit:
    """``circuit`` with the features x bound to one random sample in [0, π) (θ stays symbolic)."""
    import numpy as np

    x = np.random.default_rng(seed).uniform(0, PI, circuit.num_features)
    ops = tuple(op.with_angles(tuple(a.bind(x=x) for a in op.angles)) for op in circuit.ops)
    return replace(circuit, ops=ops, num_features=0)


def prepare(name: str, circuit: Circuit, seed: int) -> tuple[str, Circuit]:
    """Bind features where angles are products of features.

    Qiskit's symbolic engine is very slow on products of parameters (14 s for the linear
    8-qubit ZZ map, minutes for the full one), so such circuits are compared with one
    bound sample; the label says so.
    """
    if any(a.degree > 1 for op in circuit.ops for a in op.angles):
        return f"{name} (x bound)", bind_features(circuit, seed)
    return name, circuit


def fresh_samples(
    name: str, circuit: Circuit, target: Target, seed: int, samples: int, trials: int
) -> str:
    """A Markdown row: ``circuit`` bound to ``samples`` new feature samples, qadl and
    Qiskit compiling each in turn; the median (quartiles) of the time ratios, the median
    times and the mean two-qubit counts. Every qadl result is checked (``verify_outputs``)."""
    ratios, ours, theirs, two, their_two = [], [], [], [], []
    for s in range(samples):
        bound = bind_features(circuit, seed + 1 + s)
        q = qadl_compile(bound, target, seed, None, trials)
        k = qiskit_compile(bound, target, seed)
        qadl_compile(bound, target, seed, bound, trials)  # correctness, not timed
        ratios.append(q.seconds / k.seconds)
        ours.append(q.seconds)
        theirs.append(k.seconds)
        two.append(q.two_qubit)
        their_two.append(k.two_qubit)
    low, _, high = statistics.quantiles(ratios, n=4) if samples > 1 else ratios * 3
    return (
        f"| {name} | {target.name} | {samples} | **{statistics.median(ratios):.2f}** "
        f"({low:.2f}–{high:.2f}) | {1e3 * statistics.median(ours):.1f} "
        f"| {1e3 * statistics.median(theirs):.1f} | {statistics.mean(two):.1f} "
        f"| {statistics.mean(their_two):.1f} |"
    )


def random_circuits(count: int, seed: int) -> list[Circuit]:
    """``count`` random constant circuits: 4–8 qubits, 20–80 ops (35 % CX, the rest H and
    RX/RY/RZ by uniform angles), read out as ⟨Z⟩ of every qubit."""
    import numpy as np

    rng = np.random.default_rng(seed)
    out = []
    for _ in range(count):
        n, size = int(rng.integers(4, 9)), int(rng.integers(20, 81))
        ops = []
        for _ in range(size):
            if rng.random() < 0.35:
                a, b = (int(q) for q in rng.choice(n, 2, replace=False))
                ops.append(Op(Gate.CX, (a, b)))
                continue
            gate = (Gate.H, Gate.RX, Gate.RY, Gate.RZ)[rng.integers(4)]
            angles = () if gate is Gate.H else (E.const(float(rng.uniform(-PI, PI))),)
            ops.append(Op(gate, (int(rng.integers(n)),), angles))
        readout = Readout("expval", observables=tuple((("Z", q),) for q in range(n)))
        out.append(Circuit(n, tuple(ops), 0, 0, readout=readout, name="random"))
    return out


def random_totals(circuits: list[Circuit], target: Target, seed: int, trials: int) -> str:
    """A Markdown row: total two-qubit gates, depth and ops of ``circuits`` compiled by
    qadl (a first compile: its caches emptied) and by Qiskit, and the total times. Every
    tenth qadl result is checked (``verify_outputs``)."""
    totals = {"qadl": [0, 0, 0, 0.0], "qiskit": [0, 0, 0, 0.0]}
    for i, circuit in enumerate(circuits):
        q = qadl_compile(circuit, target, seed, circuit if i % 10 == 0 else None, trials, True)
        k = qiskit_compile(circuit, target, seed)
        for name, row in (("qadl", q), ("qiskit", k)):
            total = totals[name]
            total[0] += row.two_qubit
            total[1] += row.depth
            total[2] += row.ops
            total[3] += row.seconds
    (q2, qd, qo, qs), (k2, kd, ko, ks) = totals["qadl"], totals["qiskit"]
    return (
        f"| {target.name} | {len(circuits)} | {q2} / {qd} / {qo} | {k2} / {kd} / {ko} "
        f"| {qs:.2f} | {ks:.2f} |"
    )


def load_routing_kernel() -> float:
    """Import the compiled SABRE sweep and route once per target (Numba's load); seconds."""
    start = time.perf_counter()
    import qadl.passes.sabre_kernels  # noqa: F401  (importing it opts routing-heavy circuits in)

    for target in (chain_target(), heavy_hex_27()):
        compile_for_target(efficient_su2_full(), target, 3, report=False)
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    """Print the comparison table (Markdown) to stdout."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one repeat, fewer circuits")
    parser.add_argument(
        "--examples", action="store_true", help="also compile examples/*.qadl models"
    )
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--trials", type=int, default=8, help="qadl's SABRE layout trials (compile_for_target's)"
    )
    parser.add_argument(
        "--python-routing", action="store_true", help="no compiled SABRE sweep (pure Python)"
    )
    parser.add_argument("--repeats", type=int, default=5, help="timed runs per row (median)")
    parser.add_argument(
        "--only", default="", metavar="TEXT", help="only circuits whose name contains TEXT"
    )
    parser.add_argument(
        "--cold", action="store_true", help="empty qadl's block caches before each timed compile"
    )
    parser.add_argument(
        "--random",
        type=int,
        default=0,
        metavar="N",
        help="also compile N random constant circuits and report the totals",
    )
    parser.add_argument(
        "--fresh",
        type=int,
        default=0,
        metavar="N",
        help="also compile bound circuits for N new feature samples (qadl and Qiskit in turn)",
    )
    args = parser.parse_args(argv)
    repeats = 1 if args.quick else args.repeats
    if args.python_routing:  # never switch to the kernel, however long routing takes
        importlib.import_module("qadl.passes.route_sabre").KERNEL_MIN_TWO_QUBIT = sys.maxsize
    else:
        print(f"routing kernel loaded in {load_routing_kernel():.2f} s", file=sys.stderr)
    trials = args.trials
    built = {name: build() for name, build in CIRCUITS.items()}
    if args.examples:
        built.update(example_circuits())
    prepared = {name: prepare(name, c, args.seed) for name, c in built.items()}
    circuits = {label: c for label, c in prepared.values() if args.only in label}
    unbound = {  # the circuits compiled with bound features, before binding
        label: built[name]
        for name, (label, _) in prepared.items()
        if label != name and args.only in label
    }
    targets = [chain_target(), heavy_hex_27()]
    print(
        "| circuit | target | input 2q / depth | qadl 2q | qadl-op 2q | qiskit 2q "
        "| qadl depth | qadl-op depth "
        "| qiskit depth | qadl s | qiskit s |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for (name, circuit), target in itertools.product(circuits.items(), targets):
        if circuit.num_qubits > target.num_qubits:
            continue
        bare = replace(circuit, readout=None)
        q = best_of(
            lambda c=circuit, t=target: qadl_compile(c, t, args.seed, None, trials, args.cold),
            repeats,
        )
        qo = best_of(
            lambda c=bare, t=target, o=circuit: qadl_compile(c, t, args.seed, o, trials), 1
        )
        qadl_compile(circuit, target, args.seed, circuit, trials)  # correctness, not timed
        k = best_of(lambda c=circuit, t=target: qiskit_compile(c, t, args.seed), repeats)
        s = circuit_stats(circuit)
        print(
            f"| {name} | {target.name} | {s.two_qubit} / {s.depth} "
            f"| {q.two_qubit} | {qo.two_qubit} | {k.two_qubit} "
            f"| {q.depth} | {qo.depth} | {k.depth} | {q.seconds:.4f} | {k.seconds:.4f} |",
            flush=True,
        )
    if args.fresh > 0 and unbound:
        print(
            "\n| circuit | target | samples | qadl ÷ Qiskit, median (quartiles) | qadl ms "
            "| qiskit ms | qadl 2q | qiskit 2q |"
        )
        print("|---|---|---|---|---|---|---|---|")
        for (name, circuit), target in itertools.product(unbound.items(), targets):
            if circuit.num_qubits <= target.num_qubits:
                row = fresh_samples(name, circuit, target, args.seed, args.fresh, trials)
                print(row, flush=True)
    if args.random > 0:
        print(
            "\n| target | circuits | qadl 2q / depth / ops | qiskit 2q / depth / ops "
            "| qadl s | qiskit s |"
        )
        print("|---|---|---|---|---|---|")
        circuits = random_circuits(args.random, args.seed)
        for target in targets:
            print(random_totals(circuits, target, args.seed, trials), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
