"""resynth-2q recalls, within one fixed-point run, what it learnt of a unitary in earlier rounds."""

from __future__ import annotations

import importlib

import numpy as np
import pytest
from scipy.stats import unitary_group

from qadl.ir.gates import Gate
from qadl.passes import compile_for_target
from qadl.passes.base import DEFAULT, PassContext, fixed_point
from qadl.passes.devices import chain_target, heavy_hex_27
from qadl.passes.unitary_recall import NEAR, UnitaryRecall

from .test_pass_speed_fingerprint import _bench

_resynth = importlib.import_module("qadl.passes.resynth_2q")


def _samples(count: int):
    bench = _bench()
    base = bench.CIRCUITS["ZZ feature map full 6q x2"]()
    return [bench.bind_features(base, 100 + s) for s in range(count)]


def _compile(circuit, target):
    return compile_for_target(circuit, target, 3, seed=7, report=False, trials=8)


def test_recall_finds_a_unitary_up_to_phase_and_rounding_only():
    rng = np.random.default_rng(3)
    u = unitary_group.rvs(4, random_state=rng)
    recall = UnitaryRecall()
    recall.add(UnitaryRecall.keys(u[None], Gate.CZ)[0], "bound", "synthesis")
    noise = 1e-15 * (rng.normal(size=(4, 4)) + 1j * rng.normal(size=(4, 4)))
    moved = [np.exp(0.7j) * u + noise, -u, 1j * u]
    for v in moved:
        learnt = recall.get(UnitaryRecall.keys(v[None], Gate.CZ)[0])
        assert learnt is not None and learnt.synthesis == "synthesis"
    assert recall.get(UnitaryRecall.keys(u[None], Gate.CX)[0]) is None  # another tag
    for change, found in ((0.5 * NEAR, True), (2 * NEAR, False)):  # linear in the change
        v = u.copy()
        v[3, 2] += change
        assert (recall.get(UnitaryRecall.keys(v[None], Gate.CZ)[0]) is not None) is found


def test_signed_zeros_share_a_key():
    u = np.eye(4, dtype=complex)
    v = u.copy()
    v[0, 1] = -1e-17  # rounds to -0.0 on the grid
    (ku, _), (kv, _) = UnitaryRecall.keys(np.stack([u, v]), Gate.CX)
    assert ku == kv


def _count_syntheses(monkeypatch) -> list[int]:
    rows: list[int] = []
    synthesize = _resynth._synthesize

    def counted(t, stack, which, unitaries, entangler):
        rows.append(len(which))
        return synthesize(t, stack, which, unitaries, entangler)

    monkeypatch.setattr(_resynth, "_synthesize", counted)
    return rows


@pytest.mark.parametrize("target", [chain_target(), heavy_hex_27()], ids=lambda t: t.name)
def test_later_rounds_recall_instead_of_synthesising_and_decide_the_same(monkeypatch, target):
    """Recalled rejections save syntheses and give what the exact caches alone give."""
    circuits = _samples(3)
    rows = _count_syntheses(monkeypatch)
    _resynth.clear_caches()
    recalled = [_compile(c, target) for c in circuits]
    with_recall = sum(rows)
    rows.clear()
    monkeypatch.setattr(UnitaryRecall, "get", lambda self, near: None)
    _resynth.clear_caches()
    plain = [_compile(c, target) for c in circuits]
    assert sum(rows) > with_recall
    for a, b in zip(recalled, plain, strict=True):
        assert a.circuit == b.circuit


def test_a_compile_does_not_depend_on_what_the_process_compiled_before():
    """Recalled decisions never enter the process caches: any order gives the same circuits."""
    circuits = _samples(4)
    target = chain_target()
    _resynth.clear_caches()
    forward = [_compile(c, target).circuit for c in circuits]
    _resynth.clear_caches()
    backward = [_compile(c, target).circuit for c in reversed(circuits)][::-1]
    alone = []
    for c in circuits:
        _resynth.clear_caches()
        alone.append(_compile(c, target).circuit)
    assert forward == backward == alone


def test_each_fixed_point_run_gets_its_own_memo_and_keeps_a_given_one():
    seen: list[dict | None] = []

    def spy(circuit, /, *, ctx=DEFAULT):
        seen.append(ctx.memo)
        return circuit

    circuit = _samples(1)[0]
    fixed_point([spy])(circuit)
    fixed_point([spy])(circuit)
    assert seen[0] == {} and seen[1] == {} and seen[0] is not seen[1]
    mine: dict = {}
    fixed_point([spy])(circuit, ctx=PassContext(memo=mine))
    assert seen[2] is mine
