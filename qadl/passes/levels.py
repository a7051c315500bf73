"""Optimisation levels O0…O3 as data: tuples of registered pass names, run to a fixed point."""

from __future__ import annotations

__all__ = ["LEVELS", "POST_ROUTING", "PRE_ROUTING"]

_O1 = ("drop-identities", "cancel-inverses", "merge-rotations")
_O2 = (*_O1, "commute-cancel", "lightcone")
_O3 = (
    *_O2,
    "drop-diagonal-before-measure",
    "drop-initial-diagonal",
    "resynth-2q",
    "resynth-1q",
)

LEVELS: dict[int, tuple[str, ...]] = {0: (), 1: _O1, 2: _O2, 3: _O3}
"""Level -> pass names. O1 keeps the operator exactly (up to global phase for
``drop-identities``); O2 adds commutation and the light cone; O3 removes diagonal gates
before a Z readout and on qubits still in ``|0⟩``, and resynthesises constant two-qubit
blocks with their minimal CX count (``resynth-2q``, in the circuit's own gates) and
single-qubit runs. From O2 on, circuits with a readout keep their readout values, not
necessarily the operator; circuits without one keep the operator."""

PRE_ROUTING: dict[int, tuple[str, ...]] = {
    level: tuple(name for name in names if name != "resynth-1q") for level, names in LEVELS.items()
}
"""Level -> passes ``compile_for_target`` runs to a fixed point before routing: the level's
passes but ``resynth-1q``. The single-qubit runs' form does not change routing, and
``resynth-2q``'s decisions do not depend on it (a block's CX count is that of its class up
to single-qubit gates), so the runs are left to the rounds after routing, which meet them
again once translated; a level's 2q counts stay those of resynthesising them before (on
random circuits and the benchmark circuits), in fewer rounds."""

POST_ROUTING: dict[int, tuple[str, ...]] = {
    0: (),
    1: ("drop-identities", "cancel-inverses", "merge-rotations"),
    2: ("drop-identities", "cancel-inverses", "merge-rotations", "commute-cancel", "lightcone"),
    3: (
        "drop-identities",
        "cancel-inverses",
        "merge-rotations",
        "commute-cancel",
        "lightcone",
        "drop-diagonal-before-measure",
        "drop-initial-diagonal",
        "resynth-2q",
        "resynth-1q",
        "commute-cancel",
        "resynth-1q",
        "drop-diagonal-before-measure",
        "drop-initial-diagonal",
    ),
}
"""Level -> passes run after routing and translation; all of them keep the native basis and
the coupled pairs (they only delete or merge ops, ``resynth-1q`` is given the target's form,
and ``resynth-2q`` writes a block only in gates the circuit already has, on the block's pair).
At O3 the passes that the resyntheses' new single-qubit runs most often enable follow them
once more in the same round (``commute-cancel`` moves their Z rotations through CZ and CX
controls into the neighbouring runs, ``resynth-1q`` rejoins those, and the diagonal gates
they start or end with are dropped), so the next round usually only confirms the fixed
point; ``fixed_point`` skips a pass on a circuit it already left unchanged wherever the
pass appears."""
