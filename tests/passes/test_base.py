"""The pass framework: registry, context, tracing, verification, Pipeline and fixed_point."""

from __future__ import annotations

import re

import pytest

from qadl.errors import InternalError
from qadl.ir import expr as E
from qadl.ir.circuit import Circuit, Op
from qadl.ir.gates import Gate
from qadl.passes import (
    LEVELS,
    REGISTRY,
    PassContext,
    PassTrace,
    Pipeline,
    circuit_stats,
    fixed_point,
    parse_pass_spec,
)
from qadl.passes.base import circuit_pass

from .helpers import op


def test_registry_names_are_kebab_case_and_match_functions():
    """Every registered name is kebab-case and equals its function name with dashes."""
    assert len(REGISTRY) == 13  # 11 optimising, routing and basis passes; 2 folding passes
    for name, pass_ in REGISTRY.items():
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", name)
        assert pass_.__name__ == name.replace("-", "_")
        assert pass_.__doc__ and "Cost" in pass_.__doc__


def test_levels_name_registered_passes():
    """Levels are data over registered names, and each level extends the previous one."""
    assert LEVELS[0] == ()
    for level in (1, 2, 3):
        assert all(name in REGISTRY for name in LEVELS[level])
        assert LEVELS[level][: len(LEVELS[level - 1])] == LEVELS[level - 1]


def test_registering_twice_or_bad_name_fails():
    """Names are unique and kebab-case."""
    with pytest.raises(ValueError, match="kebab"):
        circuit_pass("Bad_Name")
    with pytest.raises(ValueError, match="twice"):
        circuit_pass("lightcone")(lambda c, ctx: c)


def test_verify_after_pass_catches_broken_ir():
    """With ctx.verify, a pass that produces invalid IR raises InternalError."""

    def broken(circuit, *, ctx):
        return circuit.with_ops((Op(Gate.CX, (0, 0)),))

    wrapped = circuit_pass("test-broken-pass")(broken)
    try:
        c = Circuit(2, (op(Gate.H, 0),))
        assert wrapped(c).ops == (Op(Gate.CX, (0, 0)),)  # no verification by default
        with pytest.raises(InternalError, match="repeated qubit"):
            wrapped(c, ctx=PassContext(verify=True))
    finally:
        REGISTRY.pop("test-broken-pass")


def test_trace_records_each_pass():
    """A trace collects (name, stats before/after, seconds) and prints a table."""
    trace = PassTrace()
    c = Circuit(2, (op(Gate.H, 0), op(Gate.H, 0), op(Gate.CZ, 0, 1)))
    out = Pipeline((REGISTRY["cancel-inverses"], REGISTRY["drop-identities"]))(
        c, ctx=PassContext(trace=trace)
    )
    assert [e.name for e in trace.entries] == ["cancel-inverses", "drop-identities"]
    assert trace.entries[0].before.ops == 3 and trace.entries[0].after.ops == 1
    assert out.ops == (op(Gate.CZ, 0, 1),)
    assert "cancel-inverses" in trace.table() and "depth" in trace.table()


def test_pipeline_callback_sees_prev_and_next():
    """callback(prev, circuit, next) after every pass; next is None after the last."""
    calls = []
    p1, p2 = REGISTRY["drop-identities"], REGISTRY["lightcone"]
    Pipeline((p1, p2), callback=lambda prev, c, nxt: calls.append((prev, len(c), nxt)))(
        Circuit(1, (op(Gate.RZ, 0, angles=(0.0,)),))
    )
    assert calls == [(p1, 0, p2), (p2, 0, None)]


def test_fixed_point_stops_and_never_raises():
    """fixed_point repeats until nothing changes and returns at the round limit."""
    rounds = []

    def shrink(circuit, *, ctx):
        rounds.append(len(circuit))
        return circuit.with_ops(circuit.ops[1:])

    c = Circuit(1, tuple(op(Gate.H, 0) for _ in range(5)))
    assert len(fixed_point([shrink])(c)) == 0
    assert rounds == [5, 4, 3, 2, 1, 0]
    rounds.clear()
    assert len(fixed_point([shrink], max_rounds=2)(c)) == 3


def test_circuit_stats_hand_case():
    """h q0; cx q0,q1; rz q2; cz q1,q2  ==> 4 ops, 2 two-qubit, depth 3."""
    c = Circuit(
        3,
        (op(Gate.H, 0), op(Gate.CX, 0, 1), op(Gate.RZ, 2, angles=(E.theta(0),)), op(Gate.CZ, 1, 2)),
        1,
    )
    stats = circuit_stats(c)
    assert (stats.ops, stats.two_qubit, stats.depth) == (4, 2, 3)


def test_parse_pass_spec_with_options():
    """``--passes`` specs: names, options as literals, errors for unknown passes."""
    pipeline = parse_pass_spec(
        "cancel-inverses, resynth-1q{form='zyz'},translate-basis{basis=('rz','sx','x','cx')}"
    )
    assert len(pipeline.passes) == 3
    c = Circuit(1, (op(Gate.H, 0), op(Gate.T, 0), op(Gate.H, 0)))
    out = pipeline(c)
    assert {o.gate for o in out.ops} <= {Gate.RZ, Gate.SX, Gate.X}
    with pytest.raises(ValueError, match="unknown pass"):
        parse_pass_spec("merge-rotation")
    with pytest.raises(ValueError, match="key=value"):
        parse_pass_spec("resynth-1q{zyz}")


def test_docs_pass_reference_is_current():
    """docs/passes.md ends with ``passes_markdown()`` exactly (regenerate as its comment says)."""
    from pathlib import Path

    from qadl.passes import passes_markdown

    text = (Path(__file__).resolve().parents[2] / "docs" / "passes.md").read_text()
    marker = "and replace everything below this comment. -->\n\n"
    assert marker in text
    assert text.split(marker, 1)[1] == passes_markdown()


def test_docs_pass_reference_example_runs(monkeypatch, capsys):
    """docs/passes.md's Python block runs from the repository root and does what it says."""
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    (block,) = re.findall(r"```python\n(.*?)```", (root / "docs" / "passes.md").read_text(), re.S)
    monkeypatch.chdir(root)
    namespace: dict[str, object] = {}
    exec(compile(block, "docs/passes.md python block", "exec"), namespace)
    assert capsys.readouterr().out.startswith("pass ")  # the trace table's header
    circuit, compiled = namespace["circuit"], namespace["compiled"]
    assert len(namespace["smaller"].ops) < len(circuit.ops)
    assert compiled.circuit.num_qubits == 10 and len(namespace["custom"].ops) <= len(circuit.ops)


def test_every_pass_documents_its_contract_and_the_reference_lists_it():
    """Each docstring states precondition, what it keeps and its cost; passes_markdown lists all."""
    from qadl.passes import passes_markdown

    text = passes_markdown()
    for name, pass_ in REGISTRY.items():
        assert all(word in pass_.__doc__ for word in ("Precondition", "Keeps", "Cost")), name
        assert f"### `{name}`" in text
    assert "`form='u'`" in text and "| O3 |" in text
