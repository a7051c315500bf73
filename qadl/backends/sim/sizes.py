"""``CircuitSizes``: the size properties every simulator of the contract exposes."""

from __future__ import annotations

from qadl.ir.circuit import Circuit

__all__ = ["CircuitSizes"]


class CircuitSizes:
    """Mixin for simulators that hold the IR circuit they run as ``self.circuit``."""

    circuit: Circuit

    @property
    def num_qubits(self) -> int:
        """Register size n."""
        return self.circuit.num_qubits

    @property
    def num_params(self) -> int:
        """Length P of θ."""
        return self.circuit.num_params

    @property
    def num_features(self) -> int:
        """Length F of each feature row."""
        return self.circuit.num_features

    @property
    def num_deltas(self) -> int:
        """Length D of each perturbation row."""
        return self.circuit.num_deltas

    @property
    def num_outputs(self) -> int:
        """K, the readout values per sample (0 without a readout)."""
        readout = self.circuit.readout
        return 0 if readout is None else readout.num_outputs
