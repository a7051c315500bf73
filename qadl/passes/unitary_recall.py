"""What one ``fixed_point`` run learnt of the two-qubit unitaries it met, found again by value.

``resynth-2q`` keeps its syntheses and bounds for the process by a unitary's exact bytes.
After ``resynth-1q`` rewrites a kept block's single-qubit runs, the next round meets the
same unitary up to phase and rounding, whose bytes are new: ``UnitaryRecall`` finds what
was learnt of it (entries within ``NEAR`` once each matrix's phase is fixed). It lives in
``ctx.memo`` for one run only, so a compile's result never depends on what the process
compiled before.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["NEAR", "Learnt", "UnitaryRecall"]

NEAR = 1e-12
"""Largest entry difference of two unitaries, each with its phase fixed, taken as one."""

_GRID = 1e8
"""Entries are looked up rounded to ``1/_GRID``: far coarser than ``NEAR``, so two
unitaries within it share a key unless an entry sits on a rounding boundary (then they
are only not recalled)."""


@dataclass(frozen=True)
class Learnt:
    """A unitary met earlier (phase fixed) and what was computed for it: its bounds (None
    where none were) and its synthesis (the caller's own marker where none was made)."""

    unitary: np.ndarray
    bound: object
    synthesis: object


class UnitaryRecall:
    """``Learnt`` records by unitary up to phase, per tag (the entangler they are for)."""

    def __init__(self) -> None:
        self._learnt: dict[tuple, list[Learnt]] = {}

    @staticmethod
    def keys(us: np.ndarray, tag: object) -> list[tuple[tuple, np.ndarray]]:
        """Each unitary of a (n, 4, 4) stack as ``(lookup key, entries with phase fixed)``.

        The phase makes the first entry above 0.4 in modulus real and positive (every row
        of a unitary has one); the key is the tag, that entry's place and the rounded
        entries.
        """
        flat = us.reshape(len(us), 16)
        fixed = (abs(flat) > 0.4).argmax(axis=1)
        ref = flat[np.arange(len(us)), fixed]
        scaled = flat * (ref.conj() / abs(ref))[:, None]
        coarse = np.round(scaled.view(float) * _GRID) + 0.0  # -0.0 rounds to 0.0's key
        rows = zip(fixed.tolist(), coarse, scaled, strict=True)
        return [((tag, j, c.tobytes()), u) for j, c, u in rows]

    def get(self, near: tuple[tuple, np.ndarray]) -> Learnt | None:
        """The record of a unitary within ``NEAR`` of this one, if any."""
        key, u = near
        for learnt in self._learnt.get(key, ()):
            if abs(learnt.unitary - u).max() <= NEAR:
                return learnt
        return None

    def add(self, near: tuple[tuple, np.ndarray], bound: object, synthesis: object) -> None:
        """Keep what was computed for a unitary."""
        key, u = near
        self._learnt.setdefault(key, []).append(Learnt(u, bound, synthesis))
