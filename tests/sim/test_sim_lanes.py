"""``lanes``: single-qubit blocks as explicit vector code (in-lane qubits 0–2 and the
pairs of qubits ≥ 3), against NumPy.

The forward kernel is checked against the 2×2 applied with ``np.einsum`` on the state
reshaped so that the qubit is an axis; the backward kernel's overlaps against
``Σ conj(λ_j) ψ_k`` summed by NumPy, and its updated ψ and λ against the forward
reference. Matrices: Haar-random unitaries, rotations at hard angles (0, 1e-9, multiples
of π/4, near π) and non-unitary matrices (the kernels are linear in M); states of 3 to
7 qubits and chunks (views) of larger ones, as ``soa_single`` passes them.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numba import njit

from qadl.backends.sim import lanes, soa_kernels

_ANGLES = st.sampled_from([0.0, 1e-9, -1e-9, math.pi / 4, math.pi / 2, 3 * math.pi / 4,
                           math.pi, math.pi - 1e-9, 2 * math.pi, 0.3, -2.1])


@njit
def _m1(re, im, q, m):
    lanes.m1(re, im, q, m[0].real, m[0].imag, m[1].real, m[1].imag,
             m[2].real, m[2].imag, m[3].real, m[3].imag)


@njit
def _back(re, im, lre, lim, q, m):
    return lanes.back_m1(re, im, lre, lim, q, m[0].real, m[0].imag, m[1].real, m[1].imag,
                         m[2].real, m[2].imag, m[3].real, m[3].imag)


@njit
def _m1_chunk(re, im, q, m, lo, hi):
    """``lanes.m1`` on the view ``[lo, hi)`` (a chunk of a larger state)."""
    _m1(re[lo:hi], im[lo:hi], q, m)


@njit
def _soa_m1(re, im, q, m):
    soa_kernels._m1(re, im, q, m[0], m[1], m[2], m[3])


@njit
def _soa_back(re, im, lre, lim, q, m, r):
    soa_kernels._back_m1(re, im, lre, lim, q, m[0], m[1], m[2], m[3], r)


def _apply(psi: np.ndarray, q: int, m: np.ndarray) -> np.ndarray:
    """M on qubit ``q`` of ``psi`` (little-endian index), by NumPy."""
    n = psi.shape[0]
    t = psi.reshape(n >> (q + 1), 2, 1 << q)
    return np.einsum("jk,akb->ajb", m.reshape(2, 2), t).reshape(n)


def _overlaps(psi: np.ndarray, lam: np.ndarray, q: int) -> np.ndarray:
    """T_jk = Σ conj(λ_j) ψ_k over the pairs of qubit ``q``, as (T00, T01, T10, T11)."""
    n = psi.shape[0]
    p = psi.reshape(n >> (q + 1), 2, 1 << q)
    lm = lam.reshape(n >> (q + 1), 2, 1 << q)
    t = np.einsum("ajb,akb->jk", lm.conj(), p)
    return t.reshape(4)


def _rotation(a: float, b: float) -> np.ndarray:
    """RZ(b)·RY(a) as a flat 2×2."""
    ry = np.array([[math.cos(a / 2), -math.sin(a / 2)], [math.sin(a / 2), math.cos(a / 2)]])
    rz = np.diag([np.exp(-0.5j * b), np.exp(0.5j * b)])
    return (rz @ ry).reshape(4)


def _state(rng, n):
    return rng.normal(size=1 << n) + 1j * rng.normal(size=1 << n)


def _tol(*arrays) -> float:
    return 1e-13 * max(1.0, *(float(np.max(np.abs(a))) for a in arrays))


@settings(max_examples=60, deadline=None)
@given(n=st.integers(3, 7), q=st.integers(0, 6), a=_ANGLES, b=_ANGLES,
       seed=st.integers(0, 2**31 - 1), unitary=st.booleans())
def test_forward_matches_numpy(n, q, a, b, seed, unitary):
    q %= n
    rng = np.random.default_rng(seed)
    psi = _state(rng, n)
    m = _rotation(a, b) if unitary else rng.normal(size=4) + 1j * rng.normal(size=4)
    re, im = psi.real.copy(), psi.imag.copy()
    _m1(re, im, q, m)
    want = _apply(psi, q, m)
    np.testing.assert_allclose(re + 1j * im, want, rtol=0, atol=_tol(want, psi))


@settings(max_examples=60, deadline=None)
@given(n=st.integers(3, 7), q=st.integers(0, 6), a=_ANGLES, b=_ANGLES,
       seed=st.integers(0, 2**31 - 1))
def test_backward_overlaps_and_updates(n, q, a, b, seed):
    q %= n
    rng = np.random.default_rng(seed)
    psi, lam = _state(rng, n), _state(rng, n)
    m = _rotation(a, b)
    arrays = [psi.real.copy(), psi.imag.copy(), lam.real.copy(), lam.imag.copy()]
    t = np.array(_back(*arrays, q, m))
    want = _overlaps(psi, lam, q)
    np.testing.assert_allclose(t[0::2] + 1j * t[1::2], want, rtol=0, atol=_tol(want) * n)
    for got, ref in ((arrays[0] + 1j * arrays[1], _apply(psi, q, m)),
                     (arrays[2] + 1j * arrays[3], _apply(lam, q, m))):
        np.testing.assert_allclose(got, ref, rtol=0, atol=_tol(ref))


def test_overlap_sums_are_not_mixed_between_pair_halves():
    """A state with one nonzero pair: each of the four sums picks up exactly its term."""
    for q in range(5):
        for base in (0, 5, 14, 21, 31):
            i0 = base & ~(1 << q)
            i1 = i0 | (1 << q)
            psi = np.zeros(32, complex)
            lam = np.zeros(32, complex)
            psi[i0], psi[i1] = 1 + 2j, -0.5 + 0.25j
            lam[i0], lam[i1] = 3 - 1j, 0.125 + 4j
            t = np.array(_back(psi.real.copy(), psi.imag.copy(), lam.real.copy(),
                               lam.imag.copy(), q, np.eye(2, dtype=complex).reshape(4)))
            want = [np.conj(lam[i0]) * psi[i0], np.conj(lam[i0]) * psi[i1],
                    np.conj(lam[i1]) * psi[i0], np.conj(lam[i1]) * psi[i1]]
            np.testing.assert_array_equal(t[0::2] + 1j * t[1::2], want)


@pytest.mark.parametrize("q", [0, 1, 2, 3, 4])
def test_chunk_views_leave_the_rest_untouched(q):
    rng = np.random.default_rng(q)
    psi = _state(rng, 7)
    m = _rotation(0.7, -1.3)
    re, im = psi.real.copy(), psi.imag.copy()
    _m1_chunk(re, im, q, m, 32, 96)
    got = re + 1j * im
    np.testing.assert_array_equal(got[:32], psi[:32])
    np.testing.assert_array_equal(got[96:], psi[96:])
    want = _apply(psi[32:96], q, m)
    np.testing.assert_allclose(got[32:96], want, rtol=0, atol=_tol(want))


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5])
def test_soa_kernels_dispatch_small_and_lane_states_alike(n):
    """``soa_kernels`` runs blocks through ``lanes`` from 3 qubits, loops below."""
    rng = np.random.default_rng(n)
    m = _rotation(1.1, 0.4)
    for q in range(n):
        psi, lam = _state(rng, n), _state(rng, n)
        re, im = psi.real.copy(), psi.imag.copy()
        _soa_m1(re, im, q, m)
        np.testing.assert_allclose(re + 1j * im, _apply(psi, q, m), rtol=0, atol=1e-13 * 8)
        arrays = [psi.real.copy(), psi.imag.copy(), lam.real.copy(), lam.imag.copy()]
        r = np.zeros(4, complex)
        _soa_back(*arrays, q, m, r)
        dagger = m.reshape(2, 2).conj().T.reshape(4)
        new_psi, new_lam = _apply(psi, q, dagger), _apply(lam, q, dagger)
        # R_jk = Σ conj(λ_j) ψ_k with λ at the block's output and ψ at its input
        np.testing.assert_allclose(r, _overlaps(new_psi, lam, q), rtol=0, atol=1e-12)
        np.testing.assert_allclose(arrays[0] + 1j * arrays[1], new_psi, rtol=0, atol=1e-13 * 8)
        np.testing.assert_allclose(arrays[2] + 1j * arrays[3], new_lam, rtol=0, atol=1e-13 * 8)


@njit
def _cx(re, im, c, t):
    lanes.cx(re, im, c, t)


@njit
def _soa_cx(re, im, c, t):
    soa_kernels._cx(re, im, c, t)


def _cx_reference(psi: np.ndarray, c: int, t: int) -> np.ndarray:
    """Swap the amplitudes of |…1_c…0_t…⟩ and |…1_c…1_t…⟩, by index arithmetic."""
    i = np.arange(psi.shape[0])
    return psi[np.where((i >> c) & 1, i ^ (1 << t), i)]


@pytest.mark.parametrize("n", [2, 3, 4, 5, 6, 7])
def test_cx_every_control_and_target(n):
    """Every (control, target) pair: in-lane and vector targets and controls, both ways."""
    rng = np.random.default_rng(n)
    for c in range(n):
        for t in range(n):
            if c == t:
                continue
            psi = _state(rng, n)
            if n >= 3:
                re, im = psi.real.copy(), psi.imag.copy()
                _cx(re, im, c, t)
                np.testing.assert_array_equal(re + 1j * im, _cx_reference(psi, c, t))
            re, im = psi.real.copy(), psi.imag.copy()
            _soa_cx(re, im, c, t)
            np.testing.assert_array_equal(re + 1j * im, _cx_reference(psi, c, t))
