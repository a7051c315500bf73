"""Resynthesise constant two-qubit blocks with the fewest CX their operator allows (0 to 3).

The pass finds the blocks and decides which rewrite is cheaper; the synthesis itself is
``qadl.passes.kak`` and ``qadl.passes.kak_batch`` (matrices) and
``qadl.passes.two_qubit_ops`` (matrices to gates), and ``qadl.passes.kak_bounds`` rules
out blocks that no synthesis can beat before any is computed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import numpy as np

from qadl.ir.circuit import Circuit, Op
from qadl.ir.gates import Gate
from qadl.passes.base import DEFAULT, PassContext, circuit_pass, is_fixed
from qadl.passes.kak import SYNTH_TOL, TwoQubitSynthesis, block_unitary, state_preparation
from qadl.passes.kak import clear_cache as forget_op_matrices
from qadl.passes.kak_batch import Templates, block_unitaries, min_cx_counts, syntheses_of, templates
from qadl.passes.kak_bounds import synthesis_bounds
from qadl.passes.resynth_1q import clear_cache as forget_runs
from qadl.passes.rules import phase_distance
from qadl.passes.two_qubit_ops import clear_cache as forget_layer_sequences
from qadl.passes.two_qubit_ops import layer_costs, to_ops, with_entangler, with_entangler_all
from qadl.passes.unitary_recall import Learnt, UnitaryRecall

__all__ = ["clear_caches", "resynth_2q"]


@dataclass
class _Block:
    """Constant ops on one qubit pair, consecutive on both wires (local to ``resynth_2q``)."""

    pair: tuple[int, int]
    items: list[tuple[int, Op]] = field(default_factory=list)
    from_zero: bool = False
    """Both qubits are in ``|0⟩`` when the block starts, and only the state matters."""


def _size(ops: tuple[Op, ...] | list[Op]) -> tuple[int, int]:
    """(two-qubit ops, depth) of ops on one pair."""
    level: dict[int, int] = {}
    two = 0
    for op in ops:
        qubits = op.qubits
        if len(qubits) == 1:
            level[qubits[0]] = level.get(qubits[0], 0) + 1
        elif len(qubits) == 2:
            two += 1
            a, b = qubits
            level[a] = level[b] = 1 + max(level.get(a, 0), level.get(b, 0))
        else:
            top = 1 + max([level.get(q, 0) for q in qubits], default=0)
            for q in qubits:
                level[q] = top
    return two, max(level.values(), default=0)


@dataclass(frozen=True)
class _GateSet:
    """What a resynthesised block may be written in: an entangler and single-qubit gates."""

    entangler: Gate
    allowed: frozenset[Gate]


def _gate_set(circuit: Circuit, gates: str) -> _GateSet | None:
    """``gates="u"``: CX and U. ``"own"``: the circuit's own gates (CX, else CZ), or None."""
    if gates == "u":
        return _GateSet(Gate.CX, frozenset({Gate.U, Gate.CX}))
    if gates != "own":
        raise ValueError(f"unknown gate set {gates!r} for resynth-2q; choose 'own' or 'u'")
    own = frozenset(op.gate for op in circuit.ops)
    for entangler in (Gate.CX, Gate.CZ):
        if entangler in own:
            return _GateSet(entangler, own)
    return None


_CACHE_SIZE = 4096
"""Entries a cache may hold when a pass starts; above that it starts over."""

_REWRITES: dict[_Key, tuple[Op, ...] | None] = {}
"""Block rewrites by ``(ops, pair, gate set, from_zero)``: the levels run to a fixed point
and meet the same blocks round after round."""
_UNDECIDED = object()
"""A cache miss (None is a stored decision)."""


@dataclass(frozen=True)
class _Synthesis:
    """A block unitary's synthesis for an entangler, and the counts its size follows from."""

    circuit: TwoQubitSynthesis
    busy: int
    """Layers holding a single-qubit matrix that is not a phase (each adds one to the depth)."""
    rotations: int
    """Single-qubit matrices that are not a phase (``to_ops`` writes each as one op or more)."""
    min_ops: int
    """A lower bound on the ops ``to_ops`` writes in a gate set without ``U`` (``layer_costs``)."""


_BOUNDS: dict[tuple[bytes, Gate], tuple[int, tuple[int, int, int] | None]] = {}
"""``(first CX count, synthesis_bounds)`` by ``(unitary bytes, entangler)``: a unitary
ruled out in one round meets other blocks in the next."""
_SYNTHESES: dict[tuple[bytes, Gate], _Synthesis | None] = {}
"""Syntheses by ``(the 4×4 block unitary's bytes, entangler)`` (None: it failed): after
routing, one pattern (a ZZ interaction, a SWAP next to a CX) recurs on other pairs with
the same matrix, bit for bit."""


def clear_caches() -> None:
    """Forget every block rewrite, synthesis, op matrix and 1q sequence, and resynth-1q's
    run verdicts (first-compile timing)."""
    _REWRITES.clear()
    _BOUNDS.clear()
    _SYNTHESES.clear()
    forget_op_matrices()
    forget_layer_sequences()
    forget_runs()


@dataclass(frozen=True)
class _Plan:
    """A block's size, and its unitary's bytes when a synthesis might beat it."""

    size: tuple[int, int]
    unitary: bytes | None
    recalled: bool = False
    """Decided with what ``UnitaryRecall`` gave: a decision of this run, not for ``_REWRITES``."""


def _plans(
    keys: list[tuple], gate_set: _GateSet, bounded: bool = True, seen: UnitaryRecall | None = None
) -> tuple[list[_Plan], dict[bytes, _Synthesis | None]]:
    """The plan of each block ``(ops, pair, …)`` and the syntheses the plans name.

    The blocks' unitaries and CX counts are computed in one batch each; those syntheses
    that ``_SYNTHESES`` lacks too, after (``bounded``) the blocks that ``_bounded_out``
    rejects are given no unitary. Returned rather than read back from the cache, which
    another run may empty meanwhile. ``seen`` (this fixed-point run's) stands in for the
    caches where a unitary is new to them but was met in an earlier round, and learns the
    rest.
    """
    if not keys:
        return [], {}
    us = block_unitaries([(ops, pair) for ops, pair, *_ in keys])
    sizes = [_size(key[0]) for key in keys]
    counts = min_cx_counts(us)
    maybe = [i for i, (size, k) in enumerate(zip(sizes, counts, strict=True)) if _may_beat(size, k)]
    unitaries = {i: us[i].tobytes() for i in maybe}
    by_block = dict(unitaries)  # ``unitaries`` loses the blocks ruled out below
    entangler = gate_set.entangler
    near: dict[int, tuple] = {}
    if seen is not None and maybe:
        near = dict(zip(maybe, UnitaryRecall.keys(us[maybe], entangler), strict=True))
    found: dict[bytes, _Synthesis | None] = {}
    bounds: dict[bytes, tuple[int, tuple[int, int, int] | None] | None] = {}
    recalled: set[int] = set()
    new: dict[bytes, int] = {}  # a unitary not synthesised yet -> its row in ``t``
    for i in maybe:
        unitary, ops = unitaries[i], len(keys[i][0])
        known = _SYNTHESES.get((unitary, entangler), _UNDECIDED)
        bound = _BOUNDS.get((unitary, entangler))
        earlier = seen.get(near[i]) if near and known is _UNDECIDED else None
        if earlier is not None and _rejected_by(earlier, bound, sizes[i], ops, gate_set):
            recalled.add(i)  # only rejections: a rewrite is written from its own synthesis
            del unitaries[i]
            continue
        if known is not _UNDECIDED:
            found[unitary] = known
        elif bounded and _ruled_out(bound, sizes[i], ops, gate_set):
            del unitaries[i]  # by a bound found in an earlier run
        else:
            new.setdefault(unitary, i)
    stack = us[list(new.values())]
    rows = {unitary: row for row, unitary in enumerate(new)}
    blocks = [(i, sizes[i], len(keys[i][0])) for i, u in unitaries.items() if u in rows]
    blocks = [b for b in blocks if bounded and _boundable(counts[b[0]], *b[1:], gate_set)]
    # Templates serve the bounds and stacked syntheses; one synthesis alone computes its own.
    t = templates(stack) if blocks or len(new) > 1 else None
    if blocks:
        ruled, bounds = _bounded_out(t, rows, unitaries, blocks, gate_set)
        for i in ruled:
            del unitaries[i]
    needed = list(dict.fromkeys(u for u in unitaries.values() if u in rows))
    if needed:
        found.update(_synthesize(t, stack, [rows[u] for u in needed], needed, entangler))
    for i, key in near.items():  # what this call computed or the caches held
        if i not in recalled:
            u = by_block[i]
            seen.add(key, bounds.get(u) or _BOUNDS.get((u, entangler)), found.get(u, _UNDECIDED))
    plans = [_Plan(size, unitaries.get(i), i in recalled) for i, size in enumerate(sizes)]
    return plans, found


def _rejected_by(
    earlier: Learnt,
    bound: tuple[int, tuple[int, int, int] | None] | None,
    size: tuple[int, int],
    ops: int,
    gate_set: _GateSet,
) -> bool:
    """Whether what an earlier round learnt of the unitary (its synthesis, else its bounds
    where ``bound``, the cache's, is unknown) rejects a block of ``size`` and ``ops``."""
    synth = earlier.synthesis
    if isinstance(synth, _Synthesis):
        return _too_costly_synthesis(synth, size, ops, gate_set)
    return bound is None and _ruled_out(earlier.bound, size, ops, gate_set)


def _may_beat(size: tuple[int, int], k: int) -> bool:
    """False when no synthesis of a block of ``size`` needing ``k`` CX can beat it."""
    two, depth = size
    if (k, k) >= size:
        return False  # no k-CX circuit is smaller (a borderline k above two too)
    return not (k == two and depth <= two + 1)  # only a bare CX product has depth k


def _boundable(k: int, size: tuple[int, int], ops: int, gate_set: _GateSet) -> bool:
    """Whether ``synthesis_bounds`` could reject the block: a ``k``-CX synthesis with
    every layer busy, every middle matrix a rotation and both outer layers counted is too
    costly (for the least ops only the CX and outer layers are counted, ``k + 2``: the
    middle matrices' ops, up to two each, would widen this filter for no gain measured on
    the benchmark circuits). A guess (``k`` is the block's count, which the synthesis's
    may differ from at the borders): it only saves computing useless bounds."""
    return 0 < k < 4 and _too_costly(k, k + 1, 2 * k, k + 2, size, ops, gate_set)


def _bounded_out(
    t: Templates,
    rows: dict[bytes, int],
    unitaries: dict[int, bytes],
    blocks: list[tuple[int, tuple[int, int], int]],
    gate_set: _GateSet,
) -> tuple[list[int], dict[bytes, tuple[int, tuple[int, int, int] | None] | None]]:
    """The blocks ``(index, size, ops)`` whose synthesis surely cannot beat them.

    ``t`` holds the templates of the unitaries (``rows``: unitary to row) and the CX
    count each synthesis tries first; the lower bounds of that synthesis's counts
    (``synthesis_bounds``) are computed where ``_BOUNDS`` lacks them, and kept there;
    returned too, with the bounds by unitary.
    """
    entangler = gate_set.entangler
    known: dict[bytes, tuple[int, tuple[int, int, int] | None] | None] = {}
    for i, _, _ in blocks:
        known.setdefault(unitaries[i], _BOUNDS.get((unitaries[i], entangler)))
    wanted = [u for u, bound in known.items() if bound is None]
    if wanted:
        bounds = synthesis_bounds(t, [rows[u] for u in wanted], entangler)
        for unitary, bound in zip(wanted, bounds, strict=True):
            known[unitary] = _BOUNDS[unitary, entangler] = (t.counts[rows[unitary]], bound)
    ruled = [i for i, size, ops in blocks if _ruled_out(known[unitaries[i]], size, ops, gate_set)]
    return ruled, known


def _ruled_out(
    known: tuple[int, tuple[int, int, int] | None] | None,
    size: tuple[int, int],
    ops: int,
    gate_set: _GateSet,
) -> bool:
    """Whether a synthesis whose first CX count and bounds are ``known`` surely cannot
    beat a block of ``size`` and ``ops`` ops: the bounds are ``_too_costly``, and a
    synthesis with one more CX (the fallback when the first count misses the tolerance)
    is too, whatever its layers."""
    if known is None or known[1] is None:
        return False
    k, bound = known
    if not _too_costly(k, *bound, size, ops, gate_set):
        return False
    return k == 3 or _too_costly(k + 1, 0, 0, k + 1, size, ops, gate_set)


def _synthesize(
    t: Templates | None, stack: np.ndarray, rows: list[int], unitaries: list[bytes], entangler: Gate
) -> dict[bytes, _Synthesis | None]:
    """The syntheses of ``stack``'s ``rows`` (whose bytes are ``unitaries``; ``t``: their
    templates, or None) for ``entangler``, in one batch, with their counts; ``_SYNTHESES``
    keeps them."""
    synths = syntheses_of(t, rows, None if t is not None else list(stack))
    counted = _counted(with_entangler_all([s for s in synths if s is not None], entangler))
    found = {}
    for unitary, synth in zip(unitaries, synths, strict=True):
        found[unitary] = None if synth is None else next(counted)
        _SYNTHESES[unitary, entangler] = found[unitary]
    return found


def _counted(synths: list[TwoQubitSynthesis]) -> Iterator[_Synthesis]:
    """Each synthesis with its busy layers, rotations and least ops (an iterator).

    The single-qubit matrices of all of them are judged at once (``layer_costs``: a
    phase is ``proportional_to_identity``'s decision, bit for bit).
    """
    mats = [m for synth in synths for layer in synth.layers for m in layer]
    if not mats:
        return iter(())
    phases, bounds = layer_costs(np.array(mats))
    return _counts(synths, iter(phases), iter(bounds))


def _counts(
    synths: list[TwoQubitSynthesis], phases: Iterator[bool], bounds: Iterator[int]
) -> Iterator[_Synthesis]:
    """``_counted``'s syntheses, reading two phase flags and op bounds per layer in order."""
    for synth in synths:
        flags = [(next(phases), next(phases)) for _ in synth.layers]
        busy = sum(not (low and high) for low, high in flags)
        rotations = sum(not low for low, _ in flags) + sum(not high for _, high in flags)
        min_ops = len(synth.cx) + sum(next(bounds) for _ in range(2 * len(synth.layers)))
        yield _Synthesis(synth, busy, rotations, min_ops)


def _operator_replacement(
    ops: tuple[Op, ...],
    pair: tuple[int, int],
    gate_set: _GateSet,
    plan: _Plan,
    syntheses: dict[bytes, _Synthesis | None],
) -> list[Op] | None:
    """The block's operator in its fewest CX, or None when that cannot beat the block.

    ``plan`` is the block's and ``syntheses`` holds its synthesis (both from ``_plans``);
    a rewrite with more ops than the block is not written.
    """
    if plan.unitary is None:
        return None
    found = syntheses[plan.unitary]
    if found is None:  # pragma: no cover - block unitaries are unitary; keep the block
        return None
    if _too_costly_synthesis(found, plan.size, len(ops), gate_set):
        return None
    return to_ops(found.circuit, pair, gate_set.entangler, gate_set.allowed, len(ops))


def _too_costly_synthesis(
    found: _Synthesis, size: tuple[int, int], ops: int, gate_set: _GateSet
) -> bool:
    """``_too_costly`` with a synthesis's counts."""
    cx = len(found.circuit.cx)
    return _too_costly(cx, found.busy, found.rotations, found.min_ops, size, ops, gate_set)


def _too_costly(
    cx: int,
    busy: int,
    rotations: int,
    min_ops: int,
    size: tuple[int, int],
    ops: int,
    gate_set: _GateSet,
) -> bool:
    """True when a synthesis with these counts (or more) cannot beat a block of ``size``
    and ``ops`` ops: each busy layer adds at least one to the depth, each rotation is
    written as at least one op, and ``to_ops`` stops past ``ops`` ops."""
    two, depth = size
    if (cx, cx + busy) >= (two, depth) or cx + rotations > ops:
        return True
    return Gate.U not in gate_set.allowed and min_ops > ops


def _state_replacement(
    ops: tuple[Op, ...], pair: tuple[int, int], gate_set: _GateSet
) -> list[Op] | None:
    """Ops preparing the block's output state on ``|00⟩``, or None if they are not written."""
    psi = block_unitary(list(ops), pair)[:, 0]
    synth = with_entangler(state_preparation(psi), gate_set.entangler)
    if phase_distance(synth.matrix()[:, :1], psi[:, None]) > SYNTH_TOL:
        return None  # pragma: no cover - the SVD is exact to rounding
    return to_ops(synth, pair, gate_set.entangler, gate_set.allowed, len(ops))


def _replacement(
    ops: tuple[Op, ...],
    pair: tuple[int, int],
    gate_set: _GateSet,
    from_zero: bool,
    plan: _Plan,
    syntheses: dict[bytes, _Synthesis | None],
) -> tuple[Op, ...] | None:
    """The block's best rewrite with no more ops and fewer 2q ops (or as many, shallower).

    Candidates: the operator's synthesis, and for a block that starts from ``|00⟩`` the
    preparation of its output state. ``ops`` has two or more ops (a lone gate is kept).
    """
    size = plan.size
    candidates = [_operator_replacement(ops, pair, gate_set, plan, syntheses)]
    if from_zero:
        candidates.append(_state_replacement(ops, pair, gate_set))
    best, best_key = None, (*size, len(ops))
    for new in candidates:
        if new is None or len(new) > len(ops):
            continue
        key = (*_size(new), len(new))
        if key < best_key:
            best, best_key = tuple(new), key
    if best is not None and best_key[:2] == size:
        return None  # fewer ops alone is resynth-1q's job; a block must get cheaper in 2q/depth
    return best


class _Key:
    """A block's ``(ops, pair, gate set, from_zero)``, hashed once.

    A tuple's hash hashes every op again, and a new block's key is looked up four times.
    """

    __slots__ = ("_hash", "key")

    def __init__(self, key: tuple) -> None:
        self.key = key
        self._hash = hash(key)

    def __hash__(self) -> int:
        return self._hash

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Key) and self._hash == other._hash and self.key == other.key


def _key(block: _Block, gate_set: _GateSet) -> _Key:
    return _Key((tuple([op for _, op in block.items]), block.pair, gate_set, block.from_zero))


def _rewrites(
    blocks: list[_Block], gate_set: _GateSet, seen: UnitaryRecall | None
) -> list[tuple[Op, ...] | None]:
    """Each block's rewrite, or None where it stays (a lone gate always does).

    The blocks not met before are planned first, so that their CX counts and their
    syntheses run as batches (``min_cx_counts``, ``syntheses_of``: the same bits
    as one by one, with far fewer NumPy calls); ``_REWRITES`` keeps every decision
    but those made with what ``seen`` recalled.
    """
    for cache in (_REWRITES, _BOUNDS, _SYNTHESES):
        if len(cache) > _CACHE_SIZE:
            cache.clear()
    keys = [_key(block, gate_set) if len(block.items) > 1 else None for block in blocks]
    known = [None if key is None else _REWRITES.get(key, _UNDECIDED) for key in keys]
    new = list(dict.fromkeys(k for k, r in zip(keys, known, strict=True) if r is _UNDECIDED))
    plans, syntheses = _plans([k.key for k in new], gate_set, seen=seen)
    decided = {k: _replacement(*k.key, p, syntheses) for k, p in zip(new, plans, strict=True)}
    _REWRITES.update((k, decided[k]) for k, p in zip(new, plans, strict=True) if not p.recalled)
    return [decided[k] if r is _UNDECIDED else r for k, r in zip(keys, known, strict=True)]


def _emit(block: _Block, new: tuple[Op, ...] | None, out: list[tuple[int, int, Op]]) -> None:
    """Append the block's ops, or its rewrite ``new`` at the block's last position."""
    items = block.items
    if new is not None:
        last = items[-1][0]
        out.extend((last, j, op) for j, op in enumerate(new))
    else:
        out.extend((pos, 0, op) for pos, op in items)


@dataclass
class _Scan:
    """The forward scan of ``_blocks``: open blocks and the qubits still in ``|0⟩``.

    A qubit is *fresh* while only constant single-qubit ops have touched it; those ops
    wait in ``leading`` and join the qubit's first block when both its qubits are fresh.
    """

    emit: Callable[[_Block], None]
    fresh: set[int]
    out: list[tuple[int, int, Op]] = field(default_factory=list)
    open_blocks: dict[int, _Block] = field(default_factory=dict)
    leading: dict[int, list[tuple[int, Op]]] = field(default_factory=dict)

    def close(self, q: int) -> None:
        """Emit the block open on ``q`` (if any)."""
        block = self.open_blocks.get(q)
        if block is not None:
            for p in block.pair:
                self.open_blocks.pop(p, None)
            self.emit(block)

    def spoil(self, q: int) -> None:
        """``q`` is no longer fresh: its waiting single-qubit ops go out as they are."""
        if self.fresh:
            self.fresh.discard(q)
            waiting = self.leading.pop(q, None)
            if waiting:
                self.out += [(pos, 0, op) for pos, op in waiting]

    def open(self, a: int, b: int) -> _Block:
        """A new block on ``(a, b)``, starting from ``|00⟩`` when both are fresh."""
        block = _Block((min(a, b), max(a, b)))
        if a in self.fresh and b in self.fresh:
            block.from_zero = True
            block.items = sorted(self.leading.pop(a, []) + self.leading.pop(b, []))
        self.spoil(a)
        self.spoil(b)
        self.open_blocks[a] = self.open_blocks[b] = block
        return block


def _blocks(circuit: Circuit, ctx: PassContext, emit: Callable[[_Block], None], fresh: set[int]):
    """Group ``circuit`` into blocks; ``emit`` each closed one; return the ops outside blocks."""
    scan = _Scan(emit, fresh)
    open_blocks = scan.open_blocks
    for pos, op in enumerate(circuit.ops):
        qubits = op.qubits
        if len(qubits) > 2 or op.gate is Gate.AMPLITUDE or not is_fixed(op, ctx):  # not constant
            for q in qubits:
                scan.close(q)
                scan.spoil(q)
            scan.out.append((pos, 0, op))
        elif len(qubits) == 1:
            block = open_blocks.get(qubits[0])
            if block is not None:
                block.items.append((pos, op))
            elif qubits[0] in fresh:
                scan.leading.setdefault(qubits[0], []).append((pos, op))
            else:
                scan.out.append((pos, 0, op))
        else:
            a, b = qubits
            block = open_blocks.get(a)
            if block is None or block is not open_blocks.get(b):
                scan.close(a)
                scan.close(b)
                block = scan.open(a, b)
            block.items.append((pos, op))
    for q in sorted(scan.open_blocks):
        scan.close(q)
    for q in sorted(scan.leading):
        scan.spoil(q)
    return scan.out


@circuit_pass("resynth-2q")
def resynth_2q(
    circuit: Circuit, /, *, ctx: PassContext = DEFAULT, gates: str = "own", from_zero: bool = False
) -> Circuit:
    """Replace each constant two-qubit block by an analytic circuit with its minimal CX count.

    A block is a maximal run of constant ops on one pair of qubits, consecutive on both
    wires (single-qubit ops on either wire join the open block). Its 4×4 unitary's CX
    count ``k`` follows from the Shende–Bullock–Markov invariants, and the circuit from
    the KAK decomposition in the magic basis (``two_qubit_synthesis``): a fixed ``k``-CX
    template locally equivalent to the block, with the local gates that make it equal.
    The block is replaced when the new circuit has no more ops, and fewer two-qubit
    ops or as many and a smaller depth; its CX stay on the block's pair. Symbolic ops end
    blocks: their angles are not numbers.

    With ``from_zero``, a block whose qubits are both still in ``|0⟩`` (only constant
    single-qubit ops before it, which join it) may instead become the preparation of its
    output state, which needs at most one CX (``state_preparation``); only in circuits
    with a readout and without a state input, as for ``drop-initial-diagonal``. It is off
    by default, so off in the levels: it takes the bound ZZ-feature-map VQC of
    ``benchmarks/compile.py`` from 4 to 3 two-qubit gates, but the smaller input changes
    SABRE's choices and the 6-qubit full ZZ map on heavy-hex then needs 99 instead of 98.

    Args:
        circuit: the circuit to simplify.
        ctx: pass options; protected and symbolic ops end a block.
        gates: ``"own"`` (default) writes blocks only in gates the circuit already uses:
            CX (else CZ) and a single-qubit form among them (``u``, ``rz``/``p`` with
            ``ry`` or ``rx``, or ``rz``/``sx``); blocks stay when there is none, and a
            native circuit stays native (the pass runs after routing). ``"u"``: CX and
            ``U`` gates, for ``translate-basis`` and ``resynth-1q`` to lower.
        from_zero: allow the state preparation of blocks that start from ``|00⟩``
            (opt in: ``--passes "resynth-2q{from_zero=True}"``).

    Deterministic: the synthesis is closed-form (no fit, no random starts).

    Precondition: none. Keeps: the operator up to global phase; with ``from_zero`` on a
    circuit with a readout and no state input, the final state from ``|0…0⟩`` up to
    global phase (hence every readout). Cost: O(ops), plus for each block of two or more
    ops not met before (decisions are kept for the process) its 4×4 unitary and CX count
    and, unless a bound (from the count, then from the KAK template's layers) rules it
    out, a KAK synthesis (three 4×4 eigendecompositions); the counts, bounds and
    syntheses of one run are computed as stacked batches.
    """
    if not isinstance(from_zero, bool):
        raise ValueError(f"resynth-2q from_zero must be True or False, got {from_zero!r}")
    gate_set = _gate_set(circuit, gates)
    state_only = from_zero and circuit.readout is not None and not circuit.state_input
    fresh = set(range(circuit.num_qubits)) if state_only else set()
    blocks: list[_Block] = []
    out = _blocks(circuit, ctx, blocks.append, fresh)
    if gate_set is None:
        rewrites = [None] * len(blocks)
    else:
        seen = None if ctx.memo is None else ctx.memo.setdefault("resynth-2q", UnitaryRecall())
        rewrites = _rewrites(blocks, gate_set, seen)
    for block, new in zip(blocks, rewrites, strict=True):
        _emit(block, new, out)
    out.sort()  # by (position, index): unique, so the ops are never compared
    ops = tuple([op for _, _, op in out])
    return circuit if ops == circuit.ops else circuit.with_ops(ops)
