"""Device targets: native basis, coupling graph and noise, as compiler and simulator see them."""

from __future__ import annotations

from dataclasses import dataclass

from qadl.ir.gates import Gate

__all__ = ["FALCON_27_EDGES", "NoiseModel", "Target"]

FALCON_27_EDGES: tuple[tuple[int, int], ...] = (
    (0, 1),
    (1, 2),
    (1, 4),
    (2, 3),
    (3, 5),
    (4, 7),
    (5, 8),
    (6, 7),
    (7, 10),
    (8, 9),
    (8, 11),
    (10, 12),
    (11, 14),
    (12, 13),
    (12, 15),
    (13, 14),
    (14, 16),
    (15, 18),
    (16, 19),
    (17, 18),
    (18, 21),
    (19, 20),
    (19, 22),
    (21, 23),
    (22, 25),
    (23, 24),
    (24, 25),
    (25, 26),
)
"""IBM Falcon r5.11 (27-qubit heavy-hex: ibmq_montreal, ibm_cairo …) coupled pairs."""


@dataclass(frozen=True, slots=True)
class NoiseModel:
    """Noise of a device; every field is optional (0 or None means absent).

    Depolarizing probabilities are per gate application; ``readout_error`` is
    ``(p(1|0), p(0|1))``; ``t1``/``t2`` and gate durations share one time unit (µs).
    """

    depolarizing_1q: float = 0.0
    depolarizing_2q: float = 0.0
    readout_error: tuple[float, float] = (0.0, 0.0)
    t1: float | None = None
    t2: float | None = None
    time_1q: float = 0.0
    time_2q: float = 0.0
    shots: int | None = None

    @property
    def is_noiseless(self) -> bool:
        """True when no field adds noise (shots alone do not change the state)."""
        return (
            self.depolarizing_1q == 0.0
            and self.depolarizing_2q == 0.0
            and self.readout_error == (0.0, 0.0)
            and self.t1 is None
            and self.t2 is None
        )


@dataclass(frozen=True, slots=True)
class Target:
    """A device: physical qubits ``0 … num_qubits-1``, native gates and coupled pairs."""

    name: str
    num_qubits: int
    basis: tuple[Gate, ...]
    coupling: tuple[tuple[int, int], ...]
    """Undirected coupled pairs ``(a, b)`` with ``a < b``."""
    noise: NoiseModel = NoiseModel()

    def is_coupled(self, a: int, b: int) -> bool:
        """True when a two-qubit gate may act on physical qubits ``a`` and ``b``."""
        return (min(a, b), max(a, b)) in set(self.coupling)
