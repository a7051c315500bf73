"""The FLOP counter of ``benchmarks/flops.py`` against hand counts."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import pytest

from qadl.backends.sim.build import build_program

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def flops():
    """``benchmarks/flops.py`` as a module (benchmarks/ is not a package)."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    return importlib.import_module("benchmarks.flops")


def test_two_qubit_layer_by_hand(flops):
    """RZ·RY·RZ on q0 and q1 (two fused 2×2 blocks), one cz (a tabled diagonal), ⟨Z0⟩.

    2 amplitude pairs: 2 blocks × (28 + 88) × 2 + (14 + 28) × 2 + 20 × 4 = 628.
    """
    from benchmarks.sim_circuits import layered

    count = flops.count_flops(build_program(layered(2, 1, encode=False)))
    assert [r[:2] for r in count.rows] == [
        ("m1 forward", 2), ("m1 backward", 2), ("table forward", 1), ("table backward", 1),
    ]
    assert count.total == 2 * (28 + 88) * 2 + (14 + 28) * 2 + 20 * 4


def test_w1_per_sample(flops):
    """W1: 100 fused blocks and 10 cz tables over 512 pairs, one readout."""
    from benchmarks.sim_circuits import layered

    count = flops.count_flops(build_program(layered(10, 10, encode=True)))
    assert count.total == 100 * 116 * 512 + 10 * 42 * 512 + 20 * 1024
