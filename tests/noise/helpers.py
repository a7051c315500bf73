"""Shared builders for the noise tests: noisy models, random readouts, Qiskit reference runs."""

from __future__ import annotations

import numpy as np

from qadl.backends.sim import channels as ch
from qadl.ir.circuit import Circuit, Readout
from qadl.ir.target import NoiseModel

NOISE = NoiseModel(
    depolarizing_1q=0.02,
    depolarizing_2q=0.05,
    readout_error=(0.03, 0.07),
    t1=50.0,
    t2=40.0,
    time_1q=0.5,
    time_2q=1.5,
)
"""A deliberately strong noise model: every channel kind is exercised and visible."""


def with_readout(circuit: Circuit, readout: Readout) -> Circuit:
    """The same circuit with another readout."""
    return Circuit(
        circuit.num_qubits,
        circuit.ops,
        circuit.num_params,
        circuit.num_features,
        circuit.num_deltas,
        readout,
        circuit.state_input,
        circuit.name,
    )


def qiskit_density(
    circuit: Circuit, noise: NoiseModel, theta, x=None, delta=None, state=None
) -> np.ndarray:
    """Final density matrix by qiskit.quantum_info: Operator then Kraus evolution, gate by gate."""
    from qiskit.quantum_info import DensityMatrix, Kraus, Operator, Statevector

    n = circuit.num_qubits
    if state is None:
        rho = DensityMatrix.from_int(0, 2**n)
    else:
        rho = DensityMatrix(Statevector(np.asarray(state)))
    for op in circuit.ops:
        angles = [a.evaluate(theta, x, delta) for a in op.angles]
        rho = rho.evolve(Operator(op.info.matrix(angles)), qargs=list(op.qubits))
        for channel, positions in ch.gate_noise(noise, len(op.qubits)):
            qargs = [op.qubits[p] for p in positions]
            rho = rho.evolve(Kraus(list(channel.kraus)), qargs=qargs)
    return np.asarray(rho.data)
