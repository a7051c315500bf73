"""``Op`` keeps its hash once computed; copies and pickles never carry it to another process."""

from __future__ import annotations

import copy
import os
import pickle
import subprocess
import sys
from dataclasses import replace

from qadl.ir import expr as E
from qadl.ir.circuit import Op
from qadl.ir.gates import Gate


def _op() -> Op:
    return Op(Gate.CRZ, (2, 0), (E.theta(1) + 0.5 * E.x(3),), frozenset({"keep"}))


def test_hash_is_the_fields_hash_and_equal_ops_hash_alike():
    op = _op()
    assert hash(op) == hash((op.gate, op.qubits, op.angles, op.tags))
    assert hash(op) == hash(_op()) and op == _op()
    assert replace(op, qubits=(0, 2)) != op
    assert hash(replace(op, qubits=(0, 2))) == hash(Op(Gate.CRZ, (0, 2), op.angles, op.tags))
    moved = replace(op, span=op.span)  # the span is no part of equality or hash
    assert moved == op and hash(moved) == hash(op)


def test_copies_and_pickles_drop_the_cached_hash():
    op = _op()
    hash(op)
    for other in (pickle.loads(pickle.dumps(op)), copy.copy(op), copy.deepcopy(op)):
        assert other == op and other._hash is None and hash(other) == hash(op)


def test_an_op_pickled_in_another_process_hashes_as_this_process_computes():
    """String hashes are salted per process: a hash carried in the pickle would be wrong."""
    script = (
        "import pickle, sys; from tests.ir.test_op_hash import _op; op = _op(); hash(op); "
        "sys.stdout.buffer.write(pickle.dumps(op))"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    data = subprocess.run(
        [sys.executable, "-c", script], env=env, cwd=root, capture_output=True, check=True
    ).stdout
    op = pickle.loads(data)
    assert op == _op() and hash(op) == hash(_op())
    assert {op: 1}[_op()] == 1
