"""route() with the compiled trials (``sabre_kernels.route_trials``) is route() with Python sweeps.

The compiled path refines every start and routes every trial in one call, taking its
tie-breaks from streams of the generators' 32-bit draws (``tie_stream``) through NumPy's
bounded-integer method (``_draw``); these tests pin each piece to NumPy and the whole to
the Python sweeps on random circuits and the benchmark circuits, on the 10-qubit chain
and heavy-hex 27.
"""

from __future__ import annotations

import importlib

import numpy as np
import pytest

from qadl.ir.gates import GATES
from qadl.passes import compile_for_target, pipeline, route
from qadl.passes.devices import chain_target, heavy_hex_27
from qadl.testing import UNITARY_GATES, random_circuit

from .test_pass_speed_fingerprint import _bench
from .test_route_kernel import advance

pytest.importorskip("numba")
from qadl.passes import sabre_kernels as K

rs = importlib.import_module("qadl.passes.route_sabre")

TARGETS = {"chain10": chain_target(), "hex27": heavy_hex_27()}
TWO_QUBIT_AT_MOST = tuple(g for g in UNITARY_GATES if GATES[g].num_qubits <= 2)
BOUNDS = (2, 3, 7, 100, 2**16 + 1, 2**31 - 1, 2**31 + 1, 3 * 2**30, 2**32 - 2)
"""Ranges for ``_draw`` (the kernel draws among two ties or more): the large ones reject
often (Lemire's threshold near 2**31)."""


def routes_alike(circuit, target, seed: int, trials: int) -> None:
    """The compiled trials and the Python sweeps give the same RoutedCircuit (the compiled
    trials ran unless a perfect layout made SWAPs unnecessary)."""
    args = (circuit, target.coupling, target.num_qubits)
    compiled = []
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(rs, "KERNEL_MIN_TWO_QUBIT", 10**9)
        want = route(*args, seed=seed, trials=trials)
        mp.setattr(rs, "KERNEL_MIN_TWO_QUBIT", 0)
        run = K.route_trials
        mp.setattr(K, "route_trials", lambda *a: compiled.append(a) or run(*a))
        got = route(*args, seed=seed, trials=trials)
    assert got == want
    assert [op.span for op in got.circuit.ops] == [op.span for op in want.circuit.ops]
    assert compiled or not want.swaps, "the compiled trials did not run"


@pytest.mark.parametrize("cached_half", [False, True])
def test_draws_are_the_generators(cached_half):
    """``_draw`` on a ``tie_stream`` gives ``Generator.integers(0, k)``'s numbers, and
    ``advance`` leaves the generator where drawing them directly does."""
    rng = np.random.default_rng(5)
    if cached_half:  # a 32-bit draw leaves half of a 64-bit output in the state
        rng.integers(0, 7)
    ks = [BOUNDS[i % len(BOUNDS)] for i in range(400)]
    mirror = np.random.default_rng(5)
    mirror.bit_generator.state = rng.bit_generator.state
    ties, scalars = K.tie_stream(rng.bit_generator.state, 2000), np.zeros(6, np.int64)
    got = [K._draw(ties, scalars, k) for k in ks]
    assert got == [int(rng.integers(0, k)) for k in ks]
    advance(mirror, int(scalars[K._TIE]))
    assert mirror.integers(2**62, size=4).tolist() == rng.integers(2**62, size=4).tolist()
    assert K._draw(ties[:0], scalars, 3) == -1  # an exhausted stream says so


@pytest.mark.parametrize("target", sorted(TARGETS))
@pytest.mark.parametrize("seed", range(36))
def test_random_circuits_route_alike(seed, target):
    """Random circuits of 2-10 qubits, 1-8 trials."""
    rng = np.random.default_rng(seed)
    width = 2 + seed % 9
    circuit = random_circuit(rng, width, int(rng.integers(60, 160)), gates=TWO_QUBIT_AT_MOST)
    routes_alike(circuit, TARGETS[target], seed % 5, 1 + seed % 8)


@pytest.mark.parametrize("target", sorted(TARGETS))
@pytest.mark.parametrize("name", sorted(_bench().CIRCUITS))
def test_benchmark_circuits_route_alike(name, target, monkeypatch):
    """Every circuit of ``benchmarks/compile.py``, as built and as O3 hands it to route()
    (features symbolic and bound, as the benchmark binds them)."""
    built = _bench().CIRCUITS[name]()
    sources = (built, _bench().bind_features(built, 3))
    received = []
    monkeypatch.setattr(
        pipeline, "route", lambda *args, **kw: received.append(args[0]) or route(*args, **kw)
    )
    for source in sources:
        compile_for_target(source, TARGETS[target], 3, seed=7, report=False, trials=8)
    monkeypatch.undo()
    for circuit in (*sources, *received):
        for seed, trials in ((7, 1), (7, 8), (11, 4)):
            routes_alike(circuit, TARGETS[target], seed, trials)


def test_short_tie_streams_are_drawn_again(monkeypatch):
    """Streams too short for a trial are drawn again, longer: the same result."""
    sizes = []
    draws = K.draws

    def recording(*args):
        sizes.append(args[-1])
        return draws(*args)

    monkeypatch.setattr(K, "draws", recording)
    monkeypatch.setattr(rs, "TIE_DRAWS", 1)
    routes_alike(_bench().CIRCUITS["ZZ feature map full 6q x2"](), TARGETS["hex27"], 3, 8)
    assert sizes[:2] == [1, 4]
