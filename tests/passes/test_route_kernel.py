"""The compiled SABRE sweep (``sabre_kernels``) makes exactly the Python sweep's decisions.

Each test runs the Python ``_sweep`` and the Numba one from the same layout with equal
generators and compares everything a sweep produces: the events (ops and SWAPs, in
order), the final layout, the SWAP count, and the generator's state afterwards (the same
tie-breaks were drawn). Random circuits mix one-qubit ops, commuting CX runs and
arbitrary pairs on lines, rings, stars, heavy-hex and random connected graphs; some of
them stall long enough to open the release valve, whose paths the kernel looks up.
"""

from __future__ import annotations

import importlib
import itertools
import os
import subprocess
import sys
from pathlib import Path

import networkx as nx
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from qadl.ir.circuit import Circuit, Op
from qadl.ir.gates import GATES, Gate
from qadl.passes import route
from qadl.passes.devices import FALCON_27_EDGES
from qadl.testing import UNITARY_GATES, random_circuit

from .helpers import PROPERTY, PROPERTY_SMALL, seeds
from .test_route_incremental import full_entanglement

pytest.importorskip("numba")
from qadl.passes import sabre_kernels

rs = importlib.import_module("qadl.passes.route_sabre")  # the package exports the pass function

REPO = Path(__file__).resolve().parents[2]
GRAPHS = {
    "line6": (6, tuple(itertools.pairwise(range(6)))),
    "ring7": (7, (*itertools.pairwise(range(7)), (0, 6))),
    "star5": (5, ((0, 1), (0, 2), (0, 3), (0, 4))),
    "hex27": (27, FALCON_27_EDGES),
}
GATES_MIX = (Gate.RZ, Gate.H, Gate.CX, Gate.CZ, Gate.SWAP, Gate.RZZ)
TWO_QUBIT_AT_MOST = tuple(g for g in UNITARY_GATES if GATES[g].num_qubits <= 2)
"""Every gate routing takes (commuting runs in the x, y and z bases and none)."""
ONE_QUBIT = tuple(g for g in UNITARY_GATES if GATES[g].num_qubits == 1)


def random_graph(seed: int) -> tuple[int, tuple[tuple[int, int], ...]]:
    """A connected random graph on 5-12 qubits (a random spanning tree plus a few edges)."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(5, 13))
    edges = {(int(rng.integers(0, q)), q) for q in range(1, n)}
    for _ in range(int(rng.integers(0, n))):
        a, b = sorted(int(q) for q in rng.choice(n, 2, replace=False))
        edges.add((a, b))
    return n, tuple(sorted(edges))


def random_ops(seed: int, num_qubits: int, num_ops: int) -> list[Op]:
    """One- and two-qubit ops; CXs often share a control (commuting runs)."""
    rng = np.random.default_rng(seed)
    ops = []
    for _ in range(num_ops):
        gate = GATES_MIX[int(rng.integers(len(GATES_MIX)))]
        if gate in (Gate.RZ, Gate.H):
            ops.append(Op(gate, (int(rng.integers(num_qubits)),)))
        else:
            a, b = (int(q) for q in rng.choice(num_qubits, 2, replace=False))
            ops.append(Op(gate, (a, b)))
    return ops


def advance(rng: np.random.Generator, used: int) -> None:
    """Move ``rng`` on by the first ``used`` draws of its ``tie_stream``."""
    bits = rng.bit_generator
    state = bits.state
    if state["has_uint32"] and used:
        used -= 1
        state["has_uint32"] = 0
    pairs, odd = divmod(used, 2)
    bits.state = state
    raw = bits.random_raw(pairs + odd)
    if odd:  # the high half of the last 64-bit output waits in the state
        state = bits.state
        state["has_uint32"], state["uinteger"] = 1, int(raw[-1]) >> 32
        bits.state = state


def kernel_problem(ops) -> tuple[np.ndarray, ...]:
    """The kernel's arrays of ``ops`` (``problem_kernel``, as ``route_trials`` makes them)."""
    return sabre_kernels.problem_kernel(sabre_kernels.op_table(ops, rs._wire_codes))


def compiled_sweep(ops, layout, device, rng, bound=None) -> rs._Sweep | None:
    """``_sweep`` of ``ops`` run by ``sweep_kernel``, with tie-breaks from ``rng``'s draws
    (``rng`` moves on by those it made); None at the bound."""
    k = sabre_kernels
    l2p = np.array(layout, np.int64)
    buf = k.buffers(len(ops), len(layout), device.arrays[3].shape[0])
    ties = k.tie_stream(rng.bit_generator.state, 20_000)
    status, events = k.sweep_kernel(
        kernel_problem(ops), device.arrays, l2p, -1 if bound is None else bound, ties, buf
    )
    assert status != k.SHORT
    advance(rng, int(buf[4][k._TIE]))
    if status == k.BOUND:
        return None
    return rs._Sweep(l2p.tolist(), events[: buf[4][k._EVENTS]].tolist(), int(buf[4][k._SWAPS]))


def assert_same_sweep(ops, layout, device, seed: int, bound=None) -> rs._Sweep | None:
    """Python and compiled sweeps of ``ops`` agree, generator state included; the result."""
    rng_py, rng_nb = np.random.default_rng(seed), np.random.default_rng(seed)
    want = rs._sweep(rs._Problem.of(ops), layout, device, rng_py, bound)
    got = compiled_sweep(ops, layout, device, rng_nb, bound)
    assert got == want, f"compiled sweep differs from the Python sweep (bound {bound})"
    assert rng_nb.integers(2**62) == rng_py.integers(2**62), "different tie-breaks drawn"
    return want


@PROPERTY
@given(seed=seeds, graph=st.sampled_from([*sorted(GRAPHS), "random"]), size=st.integers(1, 120))
def test_compiled_sweep_makes_the_same_decisions(seed, graph, size):
    """Random circuits, graphs and layouts: identical events, layout, SWAPs and draws."""
    n, coupling = random_graph(seed) if graph == "random" else GRAPHS[graph]
    device = rs._Device.of(rs._coupling_graph(coupling, n), n)
    width = int(np.random.default_rng(seed).integers(2, n + 1))
    ops = random_ops(seed, width, size)
    layout = [int(p) for p in np.random.default_rng(seed + 1).permutation(n)]
    full = assert_same_sweep(ops, layout, device, seed)
    assert full is not None
    if full.swaps:  # a bound at, or just above, the SWAPs needed: both stop (or not) alike
        assert assert_same_sweep(ops, layout, device, seed, full.swaps) is None
        assert assert_same_sweep(ops, layout, device, seed, full.swaps + 1) == full


VALVE_CASES = ((2, "hex27"), (398, "random"), (970, "hex27"), (1538, "hex27"))
"""(seed, graph) whose 20 random ops from a random layout stall the Python sweep into its
release valve (found by searching seeds 0-2160; rare, SABRE's look-ahead usually avoids it)."""


@pytest.mark.parametrize(("seed", "graph"), VALVE_CASES)
def test_release_valve_cases_agree(seed, graph, monkeypatch):
    """Sweeps through the release valve (the kernel looks networkx's paths up): the same."""
    n, coupling = random_graph(seed) if graph == "random" else GRAPHS[graph]
    device = rs._Device.of(rs._coupling_graph(coupling, n), n)
    ops = random_ops(seed, n, 20)
    layout = [int(p) for p in np.random.default_rng(seed).permutation(n)]
    opened = []
    shortest_path = nx.shortest_path

    def counting(*args):
        opened.append(args)
        return shortest_path(*args)

    with monkeypatch.context() as patch:
        patch.setattr(nx, "shortest_path", counting)
        full = rs._sweep(rs._Problem.of(ops), layout, device, np.random.default_rng(seed))
    assert opened, "this case no longer reaches the release valve"
    assert assert_same_sweep(ops, layout, device, seed) == full
    for bound in range(1, full.swaps + 2):  # bounds hit inside and after the valve's SWAPs
        assert_same_sweep(ops, layout, device, seed, bound)


@PROPERTY_SMALL
@given(seed=seeds, graph=st.sampled_from(["line6", "ring7", "hex27"]))
def test_route_is_the_same_with_the_kernel(seed, graph):
    """route() end to end (layout trials, bounds, replay): the same RoutedCircuit."""
    n, coupling = GRAPHS[graph]
    c = full_entanglement(6, 2, seed)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(rs, "KERNEL_MIN_TWO_QUBIT", 10**9)
        want = route(c, coupling, n, seed=seed % 13, trials=4)
        mp.setattr(rs, "KERNEL_MIN_TWO_QUBIT", 0)
        got = route(c, coupling, n, seed=seed % 13, trials=4)
    assert got == want


def test_kernel_constants_are_the_routers():
    """The kernel's copies of SABRE's constants are route_sabre's."""
    assert (
        sabre_kernels.EXTENDED_SET_SIZE,
        sabre_kernels.EXTENDED_WEIGHT,
        sabre_kernels.DECAY_STEP,
        sabre_kernels.DECAY_RESET,
    ) == (rs.EXTENDED_SET_SIZE, rs.EXTENDED_WEIGHT, rs.DECAY_STEP, rs.DECAY_RESET)


def test_sweep_choice_follows_the_thresholds(monkeypatch):
    """Small circuits stay in Python; routing-heavy ones are compiled once the kernel
    module is imported, or once Python sweeps took ``KERNEL_AFTER_SECONDS``."""
    heavy = rs.KERNEL_MIN_TWO_QUBIT
    assert rs._sweep_for(heavy - 1) is rs._sweep
    assert rs._sweep_for(heavy) is None  # compiled: imported by this test module
    monkeypatch.delitem(sys.modules, "qadl.passes.sabre_kernels")
    monkeypatch.setattr(rs, "_PYTHON_SWEEP_SECONDS", [0.0])
    assert rs._sweep_for(heavy) is rs._timed_sweep
    monkeypatch.setattr(rs, "_PYTHON_SWEEP_SECONDS", [rs.KERNEL_AFTER_SECONDS])
    assert rs._sweep_for(heavy) is None


ROUTE_IN_FRESH_PROCESS = """
import importlib, itertools, sys
from qadl.ir.circuit import Circuit, Op
from qadl.ir.gates import GATES, Gate
from qadl.passes import route
rs = importlib.import_module("qadl.passes.route_sabre")
rs.KERNEL_AFTER_SECONDS = float(sys.argv[1])
line = tuple(itertools.pairwise(range(8)))
route(Circuit(8, tuple(Op(Gate.CX, p) for p in line)), line, 8)  # a perfect layout
heavy = tuple(Op(Gate.CX, p) for _ in range(2) for p in itertools.combinations(range(8), 2))
route(Circuit(8, heavy), line, 8)  # 56 two-qubit ops, SWAPs needed
route(Circuit(8, heavy), line, 8)
print("numba" in sys.modules, rs._PYTHON_SWEEP_SECONDS[0] > 0)
"""


@pytest.mark.parametrize(("after", "want"), [(0.5, "False True"), (0.0, "True False")])
def test_fresh_process_loads_numba_only_after_python_routing_time(after, want):
    """A one-off routing-heavy route stays in Python (no Numba import); with the time
    budget at 0 it is compiled from the first one."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.run(
        [sys.executable, "-c", ROUTE_IN_FRESH_PROCESS, str(after)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert proc.stdout.strip() == want, proc.stderr


NETWORKX_IN_FRESH_PROCESS = """
import itertools, sys
from qadl.ir.circuit import Circuit, Op
from qadl.ir.gates import GATES, Gate
from qadl.passes import optimize, route
c = Circuit(3, (Op(Gate.H, (0,)), Op(Gate.CX, (0, 1)), Op(Gate.CX, (1, 2))))
optimize(c, 3)
before = "networkx" in sys.modules
route(c, tuple(itertools.pairwise(range(3))), 3)
print(before, "networkx" in sys.modules)
"""


def test_networkx_loads_only_when_a_circuit_is_routed():
    """`import qadl.passes` and optimising without a target leave networkx unloaded (its
    import is about 0.15 s of a fresh process); routing loads it."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.run(
        [sys.executable, "-c", NETWORKX_IN_FRESH_PROCESS],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert proc.stdout.strip() == "False True", proc.stderr


def test_graph_helper_is_connected():
    """The random graphs above are connected (routing needs that)."""
    for seed in range(20):
        n, coupling = random_graph(seed)
        assert nx.is_connected(rs._coupling_graph(coupling, n))


def test_circuit_sized_problem_arrays():
    """Problem arrays: -1 marks one-qubit ops; CSR successors match the tuples."""
    c = Circuit(3, (Op(Gate.H, (0,)), Op(Gate.CX, (0, 1)), Op(Gate.CX, (1, 2))))
    problem = rs._Problem.of(c.ops)
    pair_a, pair_b, preds, ptr, idx = kernel_problem(c.ops)
    assert pair_a.tolist() == [-1, 0, 1] and pair_b.tolist() == [-1, 1, 2]
    assert preds.tolist() == list(problem.preds)
    assert [idx[ptr[i] : ptr[i + 1]].tolist() for i in range(3)] == [list(s) for s in problem.succs]


@PROPERTY
@given(seed=seeds, size=st.integers(0, 150), width=st.integers(1, 9))
def test_kernel_dependencies_are_the_pythons(seed, size, width):
    """``problem_kernel`` finds ``_dependencies``'s predecessors and successors (in order)."""
    gates = TWO_QUBIT_AT_MOST if width > 1 else ONE_QUBIT
    ops = random_circuit(np.random.default_rng(seed), width, size, gates=gates).ops
    problem = rs._Problem.of(ops)
    pair_a, pair_b, preds, ptr, idx = kernel_problem(ops)
    pairs = [
        None if a < 0 else (a, b) for a, b in zip(pair_a.tolist(), pair_b.tolist(), strict=True)
    ]
    assert pairs == list(problem.pairs)
    assert preds.tolist() == list(problem.preds)
    assert [tuple(idx[ptr[i] : ptr[i + 1]].tolist()) for i in range(len(ops))] == list(
        problem.succs
    )
