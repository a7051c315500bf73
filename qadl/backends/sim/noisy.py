"""NoisySimulator: noisy simulation behind the Simulator interface.

The engine is a density-matrix simulator or a trajectory simulator.
"""

from __future__ import annotations

from qadl.backends.sim.density import NOISELESS, DensityMatrixSimulator
from qadl.backends.sim.gradients import Gradients
from qadl.backends.sim.trajectories import TrajectorySimulator
from qadl.ir.circuit import Circuit
from qadl.ir.target import NoiseModel

__all__ = ["MAX_DENSITY_QUBITS", "NoisySimulator", "choose_method"]

MAX_DENSITY_QUBITS = 10
"""Largest register ``method="auto"`` simulates by density matrix (16 MiB per sample at 10)."""


def choose_method(
    num_qubits: int, method: str = "auto", max_density_qubits: int = MAX_DENSITY_QUBITS
) -> str:
    """``"density"`` or ``"trajectories"``: the user's choice, or by register size for ``"auto"``.

    Raises:
        ValueError: For an unknown method name.
    """
    if method == "auto":
        return "density" if num_qubits <= max_density_qubits else "trajectories"
    if method not in ("density", "trajectories"):
        raise ValueError(
            f"unknown noisy simulation method {method!r} (auto, density, trajectories)"
        )
    return method


class NoisySimulator:
    """Noisy simulation with the statevector ``Simulator``'s interface (docs/api.md).

    ``states`` returns density matrices ``(B, 2^n, 2^n)`` for ``method="density"`` and
    trajectory statevectors ``(B, T, 2^n)`` for ``method="trajectories"``; ``outputs``
    include readout error (and shot noise when ``shots`` is set); ``vjp`` differentiates
    the exact outputs (density: exact; trajectories: an unbiased estimate).

    Args:
        circuit: The IR circuit.
        noise: The device noise (``Target.noise``).
        method: ``"auto"`` (density up to ``max_density_qubits``), ``"density"`` or
            ``"trajectories"``.
        trajectories: Trajectories per sample (trajectory method).
        seed: Seed for branch sampling and shots.
        shots: Overrides ``noise.shots`` (0: exact outputs).
        max_density_qubits: Threshold of ``"auto"``.
    """

    def __init__(
        self,
        circuit: Circuit,
        noise: NoiseModel = NOISELESS,
        method: str = "auto",
        *,
        trajectories: int = 500,
        seed: int = 0,
        shots: int | None = None,
        max_density_qubits: int = MAX_DENSITY_QUBITS,
    ):
        self.method = choose_method(circuit.num_qubits, method, max_density_qubits)
        if self.method == "density":
            self.engine: DensityMatrixSimulator | TrajectorySimulator = DensityMatrixSimulator(
                circuit, noise, seed=seed, shots=shots
            )
        else:
            self.engine = TrajectorySimulator(
                circuit, noise, trajectories=trajectories, seed=seed, shots=shots
            )
        self.circuit = circuit
        self.noise = noise

    num_qubits = property(lambda self: self.engine.num_qubits, doc="Number of qubits.")
    num_params = property(lambda self: self.engine.num_params, doc="Length of θ.")
    num_features = property(lambda self: self.engine.num_features, doc="Features per sample.")
    num_deltas = property(
        lambda self: self.engine.num_deltas, doc="Perturbation symbols per sample."
    )
    num_outputs = property(lambda self: self.engine.num_outputs, doc="Outputs per sample.")

    def states(self, theta, x=None, delta=None, state=None):
        """Density matrices (density) or trajectory statevectors (trajectories)."""
        return self.engine.states(theta, x, delta, state)

    def outputs(self, theta, x=None, delta=None, state=None):
        """Readout values ``(B, K)`` under noise, readout error and (optionally) finite shots."""
        return self.engine.outputs(theta, x, delta, state)

    def vjp(
        self, theta, x=None, delta=None, state=None, *, cotangent, method: str = "adjoint"
    ) -> Gradients:
        """``cotangentᵀ · ∂outputs``.

        See ``DensityMatrixSimulator.vjp`` / ``TrajectorySimulator.vjp``.
        """
        return self.engine.vjp(theta, x, delta, state, cotangent=cotangent, method=method)

    def vjp_after(
        self, theta, x=None, delta=None, state=None, *, seed, method: str = "adjoint"
    ) -> tuple[Gradients, object]:
        """``vjp`` with ``seed(outputs) = (cotangent, aux)`` in one forward pass
        (``DensityMatrixSimulator.vjp_after``, ``TrajectorySimulator.vjp_after``)."""
        return self.engine.vjp_after(theta, x, delta, state, seed=seed, method=method)
