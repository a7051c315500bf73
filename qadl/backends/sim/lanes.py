"""Single-qubit blocks and cx on split real/imaginary arrays, as explicit vector code.

Numba leaves LLVM's SLP vectoriser off, and its loop vectoriser reaches a 2×2 block only
through slices of contiguous pairs: on qubits 0–2 (pairs in the same eight-lane vector)
as interleaved accesses or not at all, and on qubits 3–5 through slices so short that
entering each one (alias checks, and in the backward pass a horizontal reduction of
eight sums per slice) costs as much as the arithmetic. These kernels build the vector
code themselves as LLVM IR, one ``<8 x double>`` per load:

- qubits 0–2 (``in-lane``): a chunk of eight amplitudes per array; the pair partners are
  one lane shuffle (lane i ↔ i xor 2^q), and the 2×2 a multiply-add with per-lane
  coefficients (the block's diagonal entry where bit q of the lane is clear or set, and
  its off-diagonal one);
- qubits ≥ 3 (``pairs``): one flat loop over vectors of eight pairs, the partners 2^q
  apart.

The backward kernels sum the overlaps ``T_jk = Σ conj(λ_j) ψ_k`` in vector accumulators
that live across the whole loop and are reduced once per block, then un-apply the block
from ψ and λ in the same pass. ``cx`` exchanges whole vectors, or lanes by a shuffle,
where the scalar loop before it computed two inserted bits per amplitude. LLVM lowers the
generic vector type to the host's SIMD width (AVX-512, AVX2, NEON). Arithmetic allows
FMA contraction only, as ``soa_kernels``' forward kernels do. Arrays must be C-contiguous
float64 of at least eight amplitudes (whole states or chunks of 2^m, m > q);
``soa_kernels`` dispatches.
"""

from __future__ import annotations

from qadl.backends.sim.cache import configure_numba_cache

configure_numba_cache()

import llvmlite.ir as ir  # noqa: E402
from numba import types  # noqa: E402
from numba.core import cgutils  # noqa: E402
from numba.extending import intrinsic  # noqa: E402

from qadl.backends.sim.jit import leaf  # noqa: E402

__all__ = ["LANES", "back_m1", "back_slices_m1", "cx", "m1", "slices_m1"]

LANES = 8
"""Amplitudes per vector: qubits below log2(LANES) are in-lane."""

_F64 = ir.DoubleType()
_VEC = ir.VectorType(_F64, LANES)
_I32 = ir.IntType(32)
_CONTRACT = ("contract",)
_PARTS = [types.float64] * 8


# ============================================================================ IR helpers
def _lanes(indices) -> ir.Constant:
    return ir.Constant(ir.VectorType(_I32, LANES), [ir.Constant(_I32, i) for i in indices])


def _splat(b: ir.IRBuilder, x: ir.Value, vector_type: ir.VectorType = _VEC) -> ir.Value:
    """``x`` in every lane."""
    undef = ir.Constant(vector_type, ir.Undefined)
    return b.shuffle_vector(b.insert_element(undef, x, ir.Constant(_I32, 0)), undef,
                            _lanes([0] * LANES))


def _by_bit(b: ir.IRBuilder, clear: ir.Value, set_: ir.Value, s: int) -> ir.Value:
    """Lane i holds ``clear`` where bit ``s`` of i is clear, else ``set_``."""
    return b.shuffle_vector(_splat(b, clear), _splat(b, set_),
                            _lanes([i + LANES if i & s else i for i in range(LANES)]))


def _partner(b: ir.IRBuilder, v: ir.Value, s: int) -> ir.Value:
    return b.shuffle_vector(v, ir.Constant(_VEC, ir.Undefined),
                            _lanes([i ^ s for i in range(LANES)]))


def _mul(b, x, y):
    return b.fmul(x, y, flags=_CONTRACT)


def _cmadd(b, a, x, c, y):
    """a·x + c·y on split parts (pairs of real and imaginary vectors), in the order of
    ``soa_kernels._upd``."""
    (ar, ai), (xr, xi), (cr, ci), (yr, yi) = a, x, c, y
    re = b.fsub(_mul(b, ar, xr), _mul(b, ai, xi), flags=_CONTRACT)
    re = b.fadd(re, _mul(b, cr, yr), flags=_CONTRACT)
    re = b.fsub(re, _mul(b, ci, yi), flags=_CONTRACT)
    im = b.fadd(_mul(b, ar, xi), _mul(b, ai, xr), flags=_CONTRACT)
    im = b.fadd(im, _mul(b, cr, yi), flags=_CONTRACT)
    im = b.fadd(im, _mul(b, ci, yr), flags=_CONTRACT)
    return re, im


def _conj_times(b, lam, x):
    """conj(λ)·x on split parts."""
    (lr, li), (xr, xi) = lam, x
    return (b.fadd(_mul(b, lr, xr), _mul(b, li, xi), flags=_CONTRACT),
            b.fsub(_mul(b, lr, xi), _mul(b, li, xr), flags=_CONTRACT))


def _is_vector(a) -> bool:
    return (isinstance(a, types.Array) and a.ndim == 1 and a.layout == "C"
            and a.dtype == types.float64)


def _arrays(context, builder, array_types, values):
    return [context.make_array(t)(context, builder, v)
            for t, v in zip(array_types, values, strict=True)]


def _vector_at(b, array, index):
    return b.bitcast(b.gep(array.data, [index]), _VEC.as_pointer())


def _load(b, ptrs):
    return [b.load(p, align=8) for p in ptrs]


def _store(b, ptrs, values):
    for p, v in zip(ptrs, values, strict=True):
        b.store(v, p, align=8)


def _accumulate(b, accumulators, values):
    for a, v in zip(accumulators, values, strict=True):
        b.store(b.fadd(b.load(a), v), a)


def _lane_sum(b, v, keep=lambda lane: True):
    """Sum of the lanes of ``v`` for which ``keep(lane)``."""
    lanes = [b.extract_element(v, ir.Constant(_I32, i)) for i in range(LANES) if keep(i)]
    total = lanes[0]
    for x in lanes[1:]:
        total = b.fadd(total, x)
    return total


def _zeros(b, count):
    zero = ir.Constant(_VEC, [ir.Constant(_F64, 0.0)] * LANES)
    return [cgutils.alloca_once_value(b, zero) for _ in range(count)]


def _insert_zero(b, e, q):
    """``e`` with a zero bit inserted at position ``q`` (runtime)."""
    one = ir.Constant(e.type, 1)
    return b.or_(b.shl(b.lshr(e, q), b.add(q, one)), b.and_(e, b.sub(b.shl(one, q), one)))


def _count(b, array, shift):
    return b.lshr(array.nitems, ir.Constant(array.nitems.type, shift))


# ============================================================================ qubits 0–2
def _in_lane_coefficients(b, s, parts):
    """Per-lane (own, partner) coefficients of M = [[a, c], [d, e]] given as 8 reals."""
    ar, ai, cr, ci, dr, di, er, ei = parts
    return ((_by_bit(b, ar, er, s), _by_bit(b, ai, ei, s)),
            (_by_bit(b, cr, dr, s), _by_bit(b, ci, di, s)))


def _in_lane_apply(b, v, s, coef):
    """M on the pairs of one chunk; also returns the partners of ``v``."""
    partner = (_partner(b, v[0], s), _partner(b, v[1], s))
    return _cmadd(b, coef[0], v, coef[1], partner), partner


def _in_lane_forward(s: int):
    @intrinsic
    def apply_in_lane(typingctx, re, im, ar, ai, br, bi, cr, ci, dr, di):
        if not (_is_vector(re) and _is_vector(im)):
            return None

        def codegen(context, builder, signature, args):
            arrays = _arrays(context, builder, signature.args[:2], args[:2])
            coef = _in_lane_coefficients(builder, s, args[2:])
            with cgutils.for_range(builder, _count(builder, arrays[0], 3)) as loop:
                off = builder.shl(loop.index, ir.Constant(loop.index.type, 3))
                ptrs = [_vector_at(builder, a, off) for a in arrays]
                new, _ = _in_lane_apply(builder, _load(builder, ptrs), s, coef)
                _store(builder, ptrs, new)
            return context.get_dummy_value()

        return types.void(re, im, *_PARTS), codegen

    return apply_in_lane


def _in_lane_backward(s: int):
    @intrinsic
    def back_in_lane(typingctx, re, im, lre, lim, ar, ai, br, bi, cr, ci, dr, di):
        if not all(_is_vector(a) for a in (re, im, lre, lim)):
            return None

        def codegen(context, builder, signature, args):
            arrays = _arrays(context, builder, signature.args[:4], args[:4])
            coef = _in_lane_coefficients(builder, s, args[4:])
            acc = _zeros(builder, 4)  # conj(λ)ψ and conj(λ)·partner(ψ), split
            with cgutils.for_range(builder, _count(builder, arrays[0], 3)) as loop:
                off = builder.shl(loop.index, ir.Constant(loop.index.type, 3))
                ptrs = [_vector_at(builder, a, off) for a in arrays]
                xr, xi, lr, li = _load(builder, ptrs)
                psi, lam = (xr, xi), (lr, li)
                new_psi, partner = _in_lane_apply(builder, psi, s, coef)
                _accumulate(builder, acc, (*_conj_times(builder, lam, psi),
                                           *_conj_times(builder, lam, partner)))
                new_lam, _ = _in_lane_apply(builder, lam, s, coef)
                _store(builder, ptrs, (*new_psi, *new_lam))
            own_r, own_i, cross_r, cross_i = (builder.load(a) for a in acc)

            def low(lane):
                return not lane & s

            def high(lane):
                return bool(lane & s)

            sums = [_lane_sum(builder, v, keep) for v, keep in
                    ((own_r, low), (own_i, low), (cross_r, low), (cross_i, low),
                     (cross_r, high), (cross_i, high), (own_r, high), (own_i, high))]
            return context.make_tuple(builder, signature.return_type, sums)

        return types.UniTuple(types.float64, 8)(re, im, lre, lim, *_PARTS), codegen

    return back_in_lane


# ============================================================================ qubits ≥ 3
def _pair_offsets(b, k, q):
    """Indices of the k-th vector of pairs of qubit ``q`` ≥ 3: i0 is 8k with a zero bit
    inserted at q, i1 = i0 + 2^q."""
    i0 = _insert_zero(b, b.shl(k, ir.Constant(k.type, 3)), q)
    return i0, b.add(i0, b.shl(ir.Constant(k.type, 1), q))


def _pairs_update(b, x, y, m):
    """(x, y) ← M (x, y) on split vectors, M = [[a, c], [d, e]] as 8 splatted reals."""
    a, c, d, e = (m[0], m[1]), (m[2], m[3]), (m[4], m[5]), (m[6], m[7])
    return _cmadd(b, a, x, c, y), _cmadd(b, d, x, e, y)


def _pairs_step(b, ptrs, m):
    """One vector of pairs: (x, y) ← M (x, y), at ``ptrs`` = (x_r, x_i, y_r, y_i)."""
    xr, xi, yr, yi = _load(b, ptrs)
    x, y = _pairs_update(b, (xr, xi), (yr, yi), m)
    _store(b, ptrs, (*x, *y))


def _pairs_back_step(b, ptrs, m, acc):
    """One vector of pairs: T += conj(λ)ᵀψ, then ψ ← Mψ and λ ← Mλ, at ``ptrs`` =
    (ψ0_r, ψ0_i, λ0_r, λ0_i, ψ1_r, ψ1_i, λ1_r, λ1_i)."""
    x0r, x0i, l0r, l0i, x1r, x1i, l1r, l1i = _load(b, ptrs)
    psi0, psi1, lam0, lam1 = (x0r, x0i), (x1r, x1i), (l0r, l0i), (l1r, l1i)
    _accumulate(b, acc, (*_conj_times(b, lam0, psi0), *_conj_times(b, lam0, psi1),
                         *_conj_times(b, lam1, psi0), *_conj_times(b, lam1, psi1)))
    psi0, psi1 = _pairs_update(b, psi0, psi1, m)
    lam0, lam1 = _pairs_update(b, lam0, lam1, m)
    _store(b, ptrs, (*psi0, *lam0, *psi1, *lam1))


def _overlap_sums(b, context, signature, acc):
    return context.make_tuple(b, signature.return_type, [_lane_sum(b, b.load(a)) for a in acc])


@intrinsic
def _pairs_forward(typingctx, re, im, q, ar, ai, br, bi, cr, ci, dr, di):
    if not (_is_vector(re) and _is_vector(im) and isinstance(q, types.Integer)):
        return None

    def codegen(context, builder, signature, args):
        arrays = _arrays(context, builder, signature.args[:2], args[:2])
        q = context.cast(builder, args[2], signature.args[2], types.intp)
        m = [_splat(builder, x) for x in args[3:]]
        with cgutils.for_range(builder, _count(builder, arrays[0], 4)) as loop:
            _pairs_step(builder, [_vector_at(builder, a, i)
                                  for i in _pair_offsets(builder, loop.index, q)
                                  for a in arrays], m)
        return context.get_dummy_value()

    return types.void(re, im, q, *_PARTS), codegen


@intrinsic
def _pairs_backward(typingctx, re, im, lre, lim, q, ar, ai, br, bi, cr, ci, dr, di):
    if not (all(_is_vector(a) for a in (re, im, lre, lim)) and isinstance(q, types.Integer)):
        return None

    def codegen(context, builder, signature, args):
        arrays = _arrays(context, builder, signature.args[:4], args[:4])
        q = context.cast(builder, args[4], signature.args[4], types.intp)
        m = [_splat(builder, x) for x in args[5:]]
        acc = _zeros(builder, 8)  # T00, T01, T10, T11, split
        with cgutils.for_range(builder, _count(builder, arrays[0], 4)) as loop:
            _pairs_back_step(builder, [_vector_at(builder, a, i)
                                       for i in _pair_offsets(builder, loop.index, q)
                                       for a in arrays], m, acc)
        return _overlap_sums(builder, context, signature, acc)

    return types.UniTuple(types.float64, 8)(re, im, lre, lim, q, *_PARTS), codegen


# ============================================================================ slice pairs
@intrinsic
def _slices_forward(typingctx, re0, im0, re1, im1, ar, ai, br, bi, cr, ci, dr, di):
    if not all(_is_vector(a) for a in (re0, im0, re1, im1)):
        return None

    def codegen(context, builder, signature, args):
        arrays = _arrays(context, builder, signature.args[:4], args[:4])
        m = [_splat(builder, x) for x in args[4:]]
        with cgutils.for_range(builder, _count(builder, arrays[0], 3)) as loop:
            off = builder.shl(loop.index, ir.Constant(loop.index.type, 3))
            _pairs_step(builder, [_vector_at(builder, a, off) for a in arrays], m)
        return context.get_dummy_value()

    return types.void(re0, im0, re1, im1, *_PARTS), codegen


@intrinsic
def _slices_backward(typingctx, re0, im0, lre0, lim0, re1, im1, lre1, lim1,
                     ar, ai, br, bi, cr, ci, dr, di):
    if not all(_is_vector(a) for a in (re0, im0, lre0, lim0, re1, im1, lre1, lim1)):
        return None

    def codegen(context, builder, signature, args):
        arrays = _arrays(context, builder, signature.args[:8], args[:8])
        m = [_splat(builder, x) for x in args[8:]]
        acc = _zeros(builder, 8)
        with cgutils.for_range(builder, _count(builder, arrays[0], 3)) as loop:
            off = builder.shl(loop.index, ir.Constant(loop.index.type, 3))
            _pairs_back_step(builder, [_vector_at(builder, a, off) for a in arrays], m, acc)
        return _overlap_sums(builder, context, signature, acc)

    return (types.UniTuple(types.float64, 8)(re0, im0, lre0, lim0, re1, im1, lre1, lim1,
                                             *_PARTS), codegen)


# ============================================================================ cx
def _control_lanes(b, c):
    """Lanes whose bit ``c`` is set, as an ``<8 x i1>`` mask: all lanes for c ≥ 3 (the
    callers then walk only vectors whose bit c is set)."""
    lane_ids = ir.Constant(ir.VectorType(c.type, LANES), [ir.Constant(c.type, i)
                                                         for i in range(LANES)])
    bit = b.shl(ir.Constant(c.type, 1), c)
    bits = b.and_(lane_ids, _splat(b, bit, ir.VectorType(c.type, LANES)))
    zero = ir.Constant(ir.VectorType(c.type, LANES), [ir.Constant(c.type, 0)] * LANES)
    in_lane = b.icmp_unsigned("!=", bits, zero)
    every = ir.Constant(ir.VectorType(ir.IntType(1), LANES), [ir.Constant(ir.IntType(1), 1)]
                        * LANES)
    return b.select(b.icmp_unsigned("<", c, ir.Constant(c.type, 3)), in_lane, every)


def _vector_offset(b, k, c, t, target_in_lane: bool):
    """Start of the k-th vector the cx touches: 8k with zero bits inserted at the vector
    qubits among c and t (those ≥ 3), and bit c set when c ≥ 3. Where the target is
    (``target_in_lane``: t < 3) each intrinsic knows; the control is a runtime choice."""
    one = ir.Constant(c.type, 1)
    three = ir.Constant(c.type, 3)
    e = b.shl(k, three)
    high_c = b.icmp_unsigned(">=", c, three)
    if target_in_lane:
        return b.select(high_c, b.or_(_insert_zero(b, e, c), b.shl(one, c)), e)
    lo = b.select(b.icmp_unsigned("<", c, t), c, t)
    hi = b.select(b.icmp_unsigned("<", c, t), t, c)
    both = b.or_(_insert_zero(b, _insert_zero(b, e, lo), hi), b.shl(one, c))
    return b.select(high_c, both, _insert_zero(b, e, t))


def _cx_types(re, im, c, t) -> bool:
    return _is_vector(re) and _is_vector(im) and all(isinstance(q, types.Integer)
                                                     for q in (c, t))


def _cx_setup(context, builder, signature, args, shift):
    """The arrays, control and target (intp), the control-lane mask, and the number of
    vectors to visit: n >> shift, halved when the control is a vector qubit (c ≥ 3)."""
    arrays = _arrays(context, builder, signature.args[:2], args[:2])
    c, t = (context.cast(builder, args[k], signature.args[k], types.intp) for k in (2, 3))
    high = builder.icmp_unsigned(">=", c, ir.Constant(c.type, 3))
    count = builder.select(high, _count(builder, arrays[0], shift + 1),
                           _count(builder, arrays[0], shift))
    return arrays, c, t, _control_lanes(builder, c), count


def _cx_in_lane(s_t: int):
    """cx with its target in the lanes (bit ``s_t``): the control lanes of a vector take
    their partners by one shuffle."""
    partner = [i ^ s_t for i in range(LANES)]

    @intrinsic
    def cx_in_lane(typingctx, re, im, c, t):
        if not _cx_types(re, im, c, t):
            return None

        def codegen(context, builder, signature, args):
            arrays, c, t, control, count = _cx_setup(context, builder, signature, args, 3)
            undef = ir.Constant(_VEC, ir.Undefined)
            with cgutils.for_range(builder, count) as loop:
                at = _vector_offset(builder, loop.index, c, t, True)
                ptrs = [_vector_at(builder, a, at) for a in arrays]
                _store(builder, ptrs, [
                    builder.select(control, builder.shuffle_vector(v, undef, _lanes(partner)), v)
                    for v in _load(builder, ptrs)])
            return context.get_dummy_value()

        return types.void(re, im, c, t), codegen

    return cx_in_lane


@intrinsic
def _cx_pairs(typingctx, re, im, c, t):
    """cx with its target t ≥ 3: vectors 2^t apart exchange their control lanes (all of
    them when c ≥ 3, in the half where bit c is set)."""
    if not _cx_types(re, im, c, t):
        return None

    def codegen(context, builder, signature, args):
        arrays, c, t, control, count = _cx_setup(context, builder, signature, args, 4)
        with cgutils.for_range(builder, count) as loop:
            i0 = _vector_offset(builder, loop.index, c, t, False)
            i1 = builder.add(i0, builder.shl(ir.Constant(c.type, 1), t))
            ptrs = [_vector_at(builder, a, i) for i in (i0, i1) for a in arrays]
            x_r, x_i, y_r, y_i = _load(builder, ptrs)
            _store(builder, ptrs, (builder.select(control, y_r, x_r),
                                   builder.select(control, y_i, x_i),
                                   builder.select(control, x_r, y_r),
                                   builder.select(control, x_i, y_i)))
        return context.get_dummy_value()

    return types.void(re, im, c, t), codegen


# The target's lane shuffle is a compile-time constant: one intrinsic per in-lane target.
_cx_target_0, _cx_target_1, _cx_target_2 = (_cx_in_lane(s) for s in (1, 2, 4))


_forward_1, _forward_2, _forward_4 = (_in_lane_forward(s) for s in (1, 2, 4))
_backward_1, _backward_2, _backward_4 = (_in_lane_backward(s) for s in (1, 2, 4))


# ============================================================================ kernels
@leaf()
def m1(re, im, q, ar, ai, br, bi, cr, ci, dr, di):
    """(ψ[i0], ψ[i1]) ← M (ψ[i0], ψ[i1]) for the pairs of qubit ``q``, with
    M = [[a, b], [c, d]] given by real and imaginary parts."""
    if q == 0:
        _forward_1(re, im, ar, ai, br, bi, cr, ci, dr, di)
    elif q == 1:
        _forward_2(re, im, ar, ai, br, bi, cr, ci, dr, di)
    elif q == 2:
        _forward_4(re, im, ar, ai, br, bi, cr, ci, dr, di)
    else:
        _pairs_forward(re, im, q, ar, ai, br, bi, cr, ci, dr, di)


@leaf()
def back_m1(re, im, lre, lim, q, ar, ai, br, bi, cr, ci, dr, di):
    """Overlaps ``T_jk = Σ conj(λ_j) ψ_k`` over the pairs of qubit ``q`` (8 reals: T00,
    T01, T10, T11), then ψ ← Mψ and λ ← Mλ (M given as in ``m1``)."""
    if q == 0:
        return _backward_1(re, im, lre, lim, ar, ai, br, bi, cr, ci, dr, di)
    if q == 1:
        return _backward_2(re, im, lre, lim, ar, ai, br, bi, cr, ci, dr, di)
    if q == 2:
        return _backward_4(re, im, lre, lim, ar, ai, br, bi, cr, ci, dr, di)
    return _pairs_backward(re, im, lre, lim, q, ar, ai, br, bi, cr, ci, dr, di)


@leaf()
def slices_m1(re0, im0, re1, im1, ar, ai, br, bi, cr, ci, dr, di):
    """(ψ0[j], ψ1[j]) ← M (ψ0[j], ψ1[j]) for matching entries of two slices (lengths a
    multiple of eight), M given as in ``m1``."""
    _slices_forward(re0, im0, re1, im1, ar, ai, br, bi, cr, ci, dr, di)


@leaf()
def back_slices_m1(re0, im0, re1, im1, lre0, lim0, lre1, lim1, ar, ai, br, bi, cr, ci, dr,
                   di):
    """``back_m1`` for matching entries of two slices (ψ0, λ0) and (ψ1, λ1): the overlaps
    T (8 reals), then both slice pairs updated by M."""
    return _slices_backward(re0, im0, lre0, lim0, re1, im1, lre1, lim1, ar, ai, br, bi, cr,
                            ci, dr, di)


@leaf()
def cx(re, im, c, t):
    """cx with control ``c`` and target ``t`` on a state of eight or more amplitudes."""
    if t == 0:
        _cx_target_0(re, im, c, t)
    elif t == 1:
        _cx_target_1(re, im, c, t)
    elif t == 2:
        _cx_target_2(re, im, c, t)
    else:
        _cx_pairs(re, im, c, t)
