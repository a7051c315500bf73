"""Built-in device targets the compiler knows by name (until stdlib/targets provides them)."""

from __future__ import annotations

import itertools

from qadl.ir.gates import Gate
from qadl.ir.target import FALCON_27_EDGES, NoiseModel, Target

__all__ = ["BUILTIN_TARGETS", "FALCON_27_EDGES", "chain_target", "heavy_hex_27"]



def chain_target(num_qubits: int = 10, name: str = "chain10") -> Target:
    """A nearest-neighbour chain with basis rx/ry/rz/cz (Ren et al.'s 10-transmon device)."""
    return Target(
        name,
        num_qubits,
        (Gate.RX, Gate.RY, Gate.RZ, Gate.CZ),
        tuple(itertools.pairwise(range(num_qubits))),
        NoiseModel(depolarizing_1q=1 - 0.9994, depolarizing_2q=1 - 0.994),
    )


def heavy_hex_27(name: str = "heavy_hex27") -> Target:
    """IBM's 27-qubit Falcon heavy-hex lattice with basis rz/sx/x/cx."""
    return Target(name, 27, (Gate.RZ, Gate.SX, Gate.X, Gate.CX), FALCON_27_EDGES)


BUILTIN_TARGETS: dict[str, Target] = {"chain10": chain_target(), "heavy_hex27": heavy_hex_27()}
"""Name -> target, for ``qadl compile --target NAME`` when the program declares none."""
