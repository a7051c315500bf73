"""Two-qubit syntheses as ops: single-qubit layers written in a given gate set.

A ``TwoQubitSynthesis`` (``qadl.passes.kak``) holds its single-qubit layers as 2×2
matrices; here each layer becomes the shortest sequence of allowed gates equal to it up
to phase (the forms of ``resynth-1q``), and each CX stays a CX or becomes ``H·CZ·H``.
"""

from __future__ import annotations

import functools

import numpy as np

from qadl.ir.circuit import Op
from qadl.ir.gates import GATES, Gate
from qadl.passes.kak import TwoQubitSynthesis, two_qubit_synthesis
from qadl.passes.kak_batch import within_phase
from qadl.passes.resynth_1q import FORMS, Spec, first_matches, spec_ops, zyz_angles
from qadl.passes.rules import phase_distance

__all__ = [
    "LAYER_TOL",
    "clear_cache",
    "fold_hadamards",
    "learn_layers",
    "proportional_to_identity",
    "synthesize_2q",
    "to_ops",
    "with_entangler",
    "with_entangler_all",
]

_H = GATES[Gate.H].matrix()
_I2 = np.eye(2, dtype=complex)
LAYER_TOL = 1e-12
"""Frobenius error (up to global phase) of one single-qubit layer written as gates."""


def proportional_to_identity(m: np.ndarray) -> bool:
    """A phase times I within ``LAYER_TOL`` (linear: ``rz(ε)`` is not, for ``ε > ~1.4e-12``)."""
    return phase_distance(m, _I2) <= LAYER_TOL


def _with_phase_gates(spec: Spec) -> Spec:
    """``spec`` with RZ written as P (equal up to phase), for gate sets that have P only."""
    return [(Gate.P, angles) if gate is Gate.RZ else (gate, angles) for gate, angles in spec]


_FORM_NEEDS = {
    "zyz": frozenset({Gate.RZ, Gate.RY}),
    "xyz": frozenset({Gate.RZ, Gate.RX}),  # its Z-X-Z candidate; Z-Y-Z is the zyz form's
    "zsx": frozenset({Gate.RZ, Gate.SX}),
}
"""Gates a ``resynth_1q.FORMS`` form needs to write every single-qubit unitary."""


@functools.lru_cache(maxsize=64)
def _usable_forms(allowed: frozenset[Gate]) -> tuple[tuple[str, bool], ...]:
    """``(form, with P for RZ)`` pairs whose general sequence ``allowed`` can write."""
    z_gates = [(False, Gate.RZ), (True, Gate.P)]
    return tuple(
        (form, use_p)
        for form, needs in _FORM_NEEDS.items()
        for use_p, z in z_gates
        if (needs - {Gate.RZ}) | {z} <= allowed and not (use_p and Gate.RZ in allowed)
    )


_SPECS: dict[tuple[bytes, frozenset[Gate]], Spec | None] = {}
"""``_shortest_spec`` results by (the 2×2 matrix's bytes, gate set): a layer such as ``H``
or ``RZ(π/2)·H`` recurs in many syntheses, and one synthesis on many pairs."""
_SPECS_SIZE = 4096
_MISSING = object()


def clear_cache() -> None:
    """Forget the remembered single-qubit sequences."""
    _SPECS.clear()


def _single_qubit_ops(m: np.ndarray, qubit: int, allowed: frozenset[Gate]) -> list[Op] | None:
    """The shortest sequence of ``allowed`` gates equal to ``m`` up to phase, or None."""
    key = (m.tobytes(), allowed)
    spec = _SPECS.get(key, _MISSING)
    if spec is _MISSING:
        learn_layers([m], allowed)
        spec = _SPECS[key]
    return None if spec is None else spec_ops(spec, qubit)


def learn_layers(mats: list[np.ndarray], allowed: frozenset[Gate]) -> None:
    """Find the shortest sequences of ``allowed`` gates for the 2×2 unitaries ``mats`` that
    ``_SPECS`` lacks, in one batch (``_shortest_specs``), and keep them there."""
    new = {m.tobytes(): m for m in mats if (m.tobytes(), allowed) not in _SPECS}
    if not new:
        return
    if len(_SPECS) + len(new) > _SPECS_SIZE:
        _SPECS.clear()
    specs = _shortest_specs(np.array(list(new.values())), allowed)
    _SPECS.update(((key, allowed), spec) for key, spec in zip(new, specs, strict=True))


def _shortest_specs(mats: np.ndarray, allowed: frozenset[Gate]) -> list[Spec | None]:
    """For each matrix of a (n, 2, 2) stack, the shortest candidate in ``allowed`` gates
    equal to it up to phase (within ``LAYER_TOL``), or None; ``[]`` for a phase
    (``proportional_to_identity``'s decision)."""
    phases = within_phase(mats, _I2, LAYER_TOL).tolist()
    angles = [None if phase else zyz_angles(m) for m, phase in zip(mats, phases, strict=True)]
    if Gate.U in allowed:  # one gate, always exact: no search
        return [[] if a is None else FORMS["u"](*a, LAYER_TOL)[0] for a in angles]
    candidates = [[] if a is None else _candidates(*a, allowed) for a in angles]
    found = first_matches(mats, candidates, LAYER_TOL)
    return [[] if a is None else spec for a, spec in zip(angles, found, strict=True)]


def _candidates(t: float, p: float, lam: float, allowed: frozenset[Gate]) -> list[Spec]:
    """The candidate sequences in ``allowed`` gates (without ``U``) for ``U(t, p, lam)``,
    shortest first."""
    candidates: list[Spec] = []
    for form, use_p in _usable_forms(allowed):
        for spec in FORMS[form](t, p, lam, LAYER_TOL):
            candidates.append(_with_phase_gates(spec) if use_p else spec)
    fitting = [c for c in candidates if all(gate in allowed for gate, _ in c)]
    return sorted(fitting, key=len)


def with_entangler(synth: TwoQubitSynthesis, gate: Gate) -> TwoQubitSynthesis:
    """``synth`` with each CX written as ``H_t·CZ·H_t`` when ``gate`` is CZ (H folded in)."""
    if gate is Gate.CX:
        return synth
    layers = [list(layer) for layer in synth.layers]
    for j, (_, target) in enumerate(synth.cx):
        layers[j][target] = _H @ layers[j][target]
        layers[j + 1][target] = layers[j + 1][target] @ _H
    return TwoQubitSynthesis(tuple((lo, hi) for lo, hi in layers), synth.cx)


def fold_hadamards(layers: list[list[np.ndarray]], cx: tuple[tuple[int, int], ...]) -> None:
    """Write each CX as ``H_t·CZ·H_t`` in stacked layers ``[low[n], high[n]]`` (in place).

    The same products as ``with_entangler``, one stacked matmul per layer and qubit.
    """
    for j, (_, target) in enumerate(cx):
        layers[j][target] = _H @ layers[j][target]
        layers[j + 1][target] = layers[j + 1][target] @ _H


def with_entangler_all(synths: list[TwoQubitSynthesis], gate: Gate) -> list[TwoQubitSynthesis]:
    """``with_entangler(s, gate)`` of each synthesis, bit for bit, in stacked products.

    The syntheses with the same CX are written together: the same 2×2 products, one
    stacked matmul per layer and qubit instead of one per synthesis.
    """
    if gate is Gate.CX:
        return list(synths)
    groups: dict[tuple, list[int]] = {}
    for i, synth in enumerate(synths):
        groups.setdefault(synth.cx, []).append(i)
    out: list[TwoQubitSynthesis] = list(synths)
    for cx, index in groups.items():
        layers = [
            [np.array([synths[i].layers[j][q] for i in index]) for q in (0, 1)]
            for j in range(len(cx) + 1)
        ]
        fold_hadamards(layers, cx)
        for row, i in enumerate(index):
            out[i] = TwoQubitSynthesis(tuple((lo[row], hi[row]) for lo, hi in layers), cx)
    return out


def to_ops(
    synth: TwoQubitSynthesis,
    pair: tuple[int, int],
    entangler: Gate,
    allowed: frozenset[Gate],
) -> list[Op] | None:
    """The circuit as ops on ``pair`` in ``allowed`` gates, or None if a layer cannot be.

    ``synth``'s layers must already suit ``entangler`` (see ``with_entangler``).
    """
    ops: list[Op] = []
    for j, layer in enumerate(synth.layers):
        if j:
            control, target = synth.cx[j - 1]
            qubits = (pair[control], pair[target])
            ops.append(Op(entangler, qubits if entangler is Gate.CX else tuple(sorted(qubits))))
        for local, m in enumerate(layer):
            one = _single_qubit_ops(m, pair[local], allowed)
            if one is None:
                return None
            ops += one
    return ops


def synthesize_2q(u: np.ndarray, pair: tuple[int, int], k: int | None = None) -> list[Op]:
    """Ops equal to ``u`` on ``pair`` up to global phase: ``k`` CX (default: the fewest) and U.

    Single-qubit layers are one ``U(θ, φ, λ)`` gate each (none where the layer is a phase);
    ``translate-basis`` and ``resynth-1q`` turn them into native gates.
    """
    synth = two_qubit_synthesis(u, k)
    ops = to_ops(synth, pair, Gate.CX, frozenset({Gate.U}))
    assert ops is not None  # the U form expresses every 2×2 unitary
    return ops
