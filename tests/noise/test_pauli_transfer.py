"""The Pauli basis of the density-matrix simulator: conversions, readouts and cotangents."""

from __future__ import annotations

import numpy as np
import pytest

from qadl.backends.sim import noisy_readout as nro
from qadl.backends.sim import pauli_transfer as pt
from qadl.backends.sim.density import DensityMatrixSimulator
from qadl.ir.circuit import Readout
from qadl.testing import random_bindings, random_circuit
from tests.noise.helpers import NOISE, with_readout

OBSERVABLES = ((("Z", 0), ("Z", 2)), (("X", 1),), (("Y", 0), ("X", 2)), (("Y", 1), ("Z", 0)))
READOUTS = {
    "probs": Readout("probs", qubits=(0, 2), num_classes=3),
    "expval": Readout("expval", observables=OBSERVABLES),
}


def _random_density(rng, batch: int, n: int) -> np.ndarray:
    """Random mixed states ``(B, 2^n, 2^n)``."""
    dim = 1 << n
    a = rng.normal(size=(batch, dim, dim)) + 1j * rng.normal(size=(batch, dim, dim))
    rho = a @ a.conj().transpose(0, 2, 1)
    return rho / np.trace(rho, axis1=1, axis2=2)[:, None, None]


def test_components_are_traces_of_pauli_strings():
    """``c_P = Tr(P ρ)/√(2^n)`` for P = I, Z₀Z₂, X₁, Y₀X₂, Y₁Z₀, and the round trip is exact."""
    rng = np.random.default_rng(0)
    rho = _random_density(rng, 2, 3)
    c = pt.to_pauli(rho.reshape(2, -1), 3)
    for obs in ((), *OBSERVABLES):
        flip, phase = nro.pauli_action(obs, 3)
        trace = (rho[:, np.arange(8), flip] * phase).sum(axis=1).real
        np.testing.assert_allclose(c[:, pt.pauli_index(obs, 3)] * np.sqrt(8), trace, atol=1e-13)
    np.testing.assert_allclose(pt.from_pauli(c, 3).reshape(rho.shape), rho, atol=1e-13)
    np.testing.assert_allclose(pt.zero_state(1, 3), pt.to_pauli(np.eye(64)[:1], 3), atol=1e-15)


@pytest.mark.parametrize("kind", sorted(READOUTS))
def test_readout_and_cotangent_match_dense_forms(kind):
    """Pauli-basis outputs equal ``density_outputs``; ``⟨λ, c⟩ = Re⟨Λ, ρ⟩`` (readout error on)."""
    rng = np.random.default_rng(1)
    rho = _random_density(rng, 3, 3)
    readout, err = READOUTS[kind], (0.03, 0.07)
    c = pt.to_pauli(rho.reshape(3, -1), 3)
    np.testing.assert_allclose(
        nro.pauli_outputs(c, readout, 3, err), nro.density_outputs(rho, readout, 3, err), atol=1e-13
    )
    cot = rng.normal(size=(3, len(OBSERVABLES) if kind == "expval" else 3))
    lam = nro.pauli_cotangent(cot, readout, 3, err)
    dense = nro.cotangent_operator(cot, readout, 3, err)
    np.testing.assert_allclose(lam, pt.to_pauli(dense.reshape(3, -1), 3), atol=1e-13)
    np.testing.assert_allclose(
        (lam * c).sum(axis=1), np.einsum("bij,bij->b", dense.conj(), rho).real, atol=1e-13
    )


def test_transfer_matrices_are_real_and_act_like_superoperators():
    """``W R W† = S`` for a noisy block's superoperator, and ``W† S W`` has no imaginary part."""
    rng = np.random.default_rng(2)
    circuit = with_readout(random_circuit(rng, 2, 6), READOUTS["probs"])
    sim = DensityMatrixSimulator(circuit, NOISE)
    theta, x, _ = random_bindings(rng, circuit)
    angles = sim.program.angle_values(theta, x[None], None, 1)
    s, _ = sim._block(0, angles, derivatives=False)
    w = pt.block_basis(len(sim._blocks[0][0]))
    assert np.abs((w.conj().T @ s @ w).imag).max() < 1e-12
    r = pt.transfer_matrices(s, len(sim._blocks[0][0]))
    np.testing.assert_allclose(w @ r @ w.conj().T, s, atol=1e-13)
