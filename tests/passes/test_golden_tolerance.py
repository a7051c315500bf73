"""The golden comparators tolerate last-digit noise and catch a 1e-9 change in one angle.

Applied to what the suite really compares: a QASM golden file, the lowered-IR golden, a
pass golden, and the pass fingerprints (recomputed from the compiled circuits with
their angles perturbed).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from qadl.ir import expr as E
from qadl.ir.circuit import Circuit
from qadl.testing import (
    NumericText,
    assert_text_close,
    compare_numbers,
    compare_text,
    replace_numbers,
)
from tests.passes import test_pass_speed_fingerprint as fingerprint

REPO = Path(__file__).resolve().parents[2]
GOLDENS = [
    REPO / "tests" / "golden" / "qasm" / "lu2020_amplitude.classifier.qasm",
    REPO / "tests" / "golden" / "qasm" / "zz_feature_map.vqc.qasm",
    REPO / "tests" / "check" / "golden" / "layered.ir",
    REPO / "tests" / "passes" / "golden" / "zz_feature_map.vqc.chain10.ir",
]
_SIGNS = (1.0, -1.0, 0.5, -0.7)


def _last_digits(k: int, v: float) -> float:
    """``v`` moved by ~1e-14 relative: the last two of its 16-17 significant digits."""
    return v * (1.0 + _SIGNS[k % len(_SIGNS)] * 1e-14)


def _first_small(values) -> int:
    """Index of the first value below 4 in size and not zero (an angle a 1e-9 change must hit)."""
    return next(i for i, v in enumerate(values) if 0.0 < abs(v) < 4.0)


@pytest.mark.parametrize("path", GOLDENS, ids=lambda p: p.name)
def test_golden_text_passes_with_every_number_perturbed_in_its_last_digits(path):
    golden = path.read_text(encoding="utf-8")
    perturbed = replace_numbers(golden, _last_digits)
    assert perturbed != golden  # the perturbation really changed the text
    assert len(NumericText.parse(golden).numbers) >= 5
    assert_text_close(perturbed, golden)


@pytest.mark.parametrize("path", GOLDENS, ids=lambda p: p.name)
def test_golden_text_fails_with_one_angle_changed_by_1e_9(path):
    golden = path.read_text(encoding="utf-8")
    numbers = [v for _, v in NumericText.parse(golden).numbers]
    target = _first_small(numbers)
    changed = replace_numbers(golden, lambda k, v: v + 1e-9 if k == target else v)
    why = compare_text(changed, golden)
    assert why is not None and "1 of" in why and "difference 1.000e-09" in why
    line = NumericText.parse(golden).numbers[target][0] + 1
    assert f"at line {line}:" in why


def test_structure_changes_are_reported_at_the_first_differing_line():
    golden = (REPO / "tests" / "check" / "golden" / "layered.ir").read_text(encoding="utf-8")
    swapped = golden.replace("cx q[0], q[1]", "cx q[1], q[0]", 1)
    why = compare_text(swapped, golden)
    line = golden.splitlines().index("  cx q[0], q[1]") + 1
    assert why is not None and why.startswith(f"structure differs at line {line}:")
    assert "cx q[1], q[0]" in why
    shorter = compare_text(golden + "  h q[0]\n", golden)
    assert shorter is not None and "first extra line (actual" in shorter and "h q[0]" in shorter


def test_integers_are_structure_and_compare_exactly():
    assert compare_text("rz(0.5) q[1]", "rz(0.5) q[2]") is not None
    assert compare_text("input float[64] theta_10;", "input float[64] theta_11;") is not None
    assert compare_text("rz(0.5000000000001) q[1]", "rz(0.5) q[1]") is None
    assert NumericText.parse("a - 1.5*x[0] + -2e-05").numbers == ((0, 1.5), (0, -2e-05))


def test_number_vectors_report_the_largest_difference():
    assert compare_numbers([1.0, 2.0], [1.0]) == "2 numbers, expected 1"
    why = compare_numbers([1.0, 2.0 + 1e-6, 3.0 + 1e-8], [1.0, 2.0, 3.0], label="O3 angles")
    assert why is not None and why.startswith("O3 angles: 2 of 3 numbers differ")
    assert "largest at #1" in why


def _perturbed(circuit: Circuit, change) -> Circuit:
    """``circuit`` with each angle coefficient ``c`` (the k-th overall) set to ``change(k, c)``."""
    count = iter(range(1 << 62))
    ops = []
    for op in circuit.ops:
        angles = tuple(
            E.Expr(tuple((mono, change(next(count), coeff)) for mono, coeff in angle.terms))
            for angle in op.angles
        )
        ops.append(op.with_angles(angles) if op.angles else op)
    return circuit.with_ops(tuple(ops))


def _recomputed(name: str, change) -> dict:
    """The fingerprints of ``name`` computed from its compilations with angles changed."""
    out = {}
    for variant, (compiled, extra) in fingerprint.compilations(fingerprint.cases()[name]).items():
        out[variant] = fingerprint._entry(_perturbed(compiled, change), extra)
    return out


@pytest.mark.parametrize("name", ["zz_feature_map:vqc (x bound)", "random4"])
def test_fingerprints_pass_with_every_angle_perturbed_in_its_last_digits(name):
    stored = fingerprint._stored()[name]
    assert fingerprint.compare_fingerprints(_recomputed(name, _last_digits), stored) is None


@pytest.mark.parametrize("name", ["zz_feature_map:vqc (x bound)", "random4"])
def test_fingerprints_fail_with_one_angle_changed_by_1e_9(name):
    stored = fingerprint._stored()[name]
    target = _first_small(stored["heavy_hex27/readout"]["angles"])
    variants = fingerprint.compilations(fingerprint.cases()[name])
    got = {}
    for variant, (compiled, extra) in variants.items():
        if variant == "heavy_hex27/readout":
            compiled = _perturbed(compiled, lambda k, v: v + 1e-9 if k == target else v)
        got[variant] = fingerprint._entry(compiled, extra)
    why = fingerprint.compare_fingerprints(got, stored)
    assert why is not None and why.startswith("heavy_hex27/readout angles: 1 of")
    assert f"largest at #{target}" in why
