"""Lower bounds on a KAK synthesis's layers, from its template alone (no synthesis).

A ``k``-CX synthesis of ``u`` (``qadl.passes.kak``) is its template's inner part (the CX
and the middle layers, fixed by the KAK coordinates) between two outer layers found from
``u``'s eigenbases: ``u ∝ last·inner·first``. The middle layers are the ones the synthesis
computes (``kak_batch.Templates``), so their phase flags and least ops
(``two_qubit_ops.layer_costs``) are the synthesis's own; an outer
layer is counted busy, a rotation and at least one op only where ``u·inner†``
(``inner†·u``) is provably far from every local unitary, which a phase ``first``
(``last``) would make it. ``resynth-2q`` rejects with these bounds the blocks whose
synthesis cannot beat them, before synthesising anything.
"""

from __future__ import annotations

import numpy as np

from qadl.ir.gates import GATES, Gate
from qadl.passes.kak import _CX, _CX_REVERSED, _EYE4, _YY, _det_complex
from qadl.passes.kak_batch import _TEMPLATE_CX, Templates, _kron_stack
from qadl.passes.two_qubit_ops import fold_hadamards, layer_costs

__all__ = ["FAR_FROM_LOCAL", "far_from_local", "synthesis_bounds"]

_CZ = GATES[Gate.CZ].matrix()

FAR_FROM_LOCAL = 1e-6
"""Distance of ``γ = V·(Y⊗Y)·Vᵀ·(Y⊗Y)`` from ``±I`` above which ``V`` is far from local.

``γ`` is ``±I`` exactly for local ``V`` (in SU(4) up to a fourth root of unity) and
moves at most a few times as far as ``V`` does. A synthesis is within ``SYNTH_TOL``
(1e-11) of ``u`` and a phase layer within ``LAYER_TOL`` (1e-12) of a phase, so a phase
outer layer leaves ``u·inner†`` within ~2e-11 of a local unitary: ``γ`` within ~1e-10
of ``±I``, four orders of magnitude below this bound."""


def far_from_local(x: np.ndarray) -> np.ndarray:
    """For a stack of 4×4 unitaries: which are far from every local unitary (up to phase)."""
    v = x / (_det_complex(x) ** 0.25)[:, None, None]
    gamma = v @ _YY @ v.transpose(0, 2, 1) @ _YY
    plus = abs(gamma - _EYE4).max(axis=(1, 2))
    minus = abs(gamma + _EYE4).max(axis=(1, 2))
    return np.minimum(plus, minus) > FAR_FROM_LOCAL


def synthesis_bounds(
    t: Templates, rows: list[int], entangler: Gate
) -> list[tuple[int, int, int] | None]:
    """Lower bounds ``(busy, rotations, min_ops)`` of the synthesis of each of ``t``'s rows.

    The bounds are for ``resynth_2q._counted``'s counts of the synthesis with ``t.counts``
    CX (the count ``two_qubit_syntheses`` tries first) written for ``entangler``. None
    where there is no bound: 0 CX (no template), or an eigenvalue tie in the coordinates
    (the synthesis then takes another eigenbasis).
    """
    groups: dict[int, list[int]] = {}
    for r, i in enumerate(rows):
        if t.counts[i] > 0 and t.ok[i]:
            groups.setdefault(t.counts[i], []).append(r)
    out: list[tuple[int, int, int] | None] = [None] * len(rows)
    if not groups:
        return out
    order: list[int] = []
    inners: list[np.ndarray] = []
    middles: list[tuple[int, list[np.ndarray]]] = []  # (first place in order, matrices)
    for k, index in groups.items():
        cx = _TEMPLATE_CX[k]
        layers = [list(layer) for layer in t.layers_of(k, [rows[r] for r in index])]
        if entangler is Gate.CZ:
            fold_hadamards(layers, cx)
        gates = [_CZ if entangler is Gate.CZ else _CX if c == 0 else _CX_REVERSED for c, _ in cx]
        inner = np.broadcast_to(gates[0], (len(index), 4, 4))
        for (low, high), gate in zip(layers[1:-1], gates[1:], strict=True):
            inner = gate @ _kron_stack(high, low) @ inner
        middles.append((len(order), [m for layer in layers[1:-1] for m in layer]))
        order += index
        inners.append(inner)
    x = t.su[[rows[r] for r in order]]
    dagger = np.concatenate(inners).conj().transpose(0, 2, 1)
    far = far_from_local(np.concatenate([x @ dagger, dagger @ x])).reshape(2, -1).sum(axis=0)
    busy, rotations = far.tolist(), far.tolist()
    min_ops = [f + t.counts[rows[r]] for f, r in zip(busy, order, strict=True)]
    mats = [m for _, group in middles for m in group]
    if mats:
        phases, costs = layer_costs(np.concatenate(mats))
        at = 0
        for first, group in middles:
            n = len(group[0]) if group else 0
            for j in range(0, len(group), 2):
                low, high = at + j * n, at + (j + 1) * n
                for r in range(n):
                    busy[first + r] += not (phases[low + r] and phases[high + r])
                    rotations[first + r] += (not phases[low + r]) + (not phases[high + r])
                    min_ops[first + r] += costs[low + r] + costs[high + r]
            at += n * len(group)
    for place, r in enumerate(order):
        out[r] = (busy[place], rotations[place], min_ops[place])
    return out
