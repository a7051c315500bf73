"""`qadl check` never hangs, explodes or crashes: every compile-time resource limit is a located
diagnostic, refused before the work is done, within a few seconds (issue 17, "Also found").

Each case asserts the error code and a wall-clock bound far below what the unguarded
program took (minutes, hours, or until memory ran out).
"""

from __future__ import annotations

import time

import numpy as np
import pytest

from qadl.api import loads
from qadl.check.limits import MAX_LIST, MAX_OPS, MAX_TRIPS, list_measure, pow_too_large
from qadl.diagnostics import render_all
from qadl.errors import QadlError
from qadl.ir.gates import Gate
from qadl.ir.stateprep import MAX_QUBITS, amplitude_ops, gray_code, walsh_hadamard
from qadl.source import SourceFile, SourceMap

BOUND_S = 5.0
"""Generous: each case takes milliseconds to about a second on a loaded machine."""


def _model(body: str, n: int = 1, params: str = "") -> str:
    return f"model m({params}) on q[{n}] {{\n{body}\n    readout probs(q[0]) -> classes 2\n}}\n"


def _codes(text: str) -> tuple[list[str], float, QadlError | None]:
    start = time.perf_counter()
    try:
        loads(text, "t.qadl")
    except QadlError as err:
        return [d.code for d in err.diagnostics], time.perf_counter() - start, err
    return [], time.perf_counter() - start, None


def _refused(text: str, code: str) -> QadlError:
    codes, seconds, err = _codes(text)
    assert codes == [code], codes
    assert seconds < BOUND_S, f"{seconds:.1f} s"
    assert err is not None
    return err


# ---- hangs: work that grew exponentially or without bound ------------------------------------


def test_a_chain_of_30_nots_is_linear():
    # each `not` evaluated its operand twice: 2**30 evaluations before the fix
    codes, seconds, _ = _codes(_model(f"    if {'not ' * 30}true {{ x q[0] }}"))
    assert codes == []
    assert seconds < BOUND_S, f"{seconds:.1f} s"


def test_a_chain_of_nots_over_a_symbolic_value_is_one_error():
    err = _refused(_model(f"    if {'not ' * 30}p[0] {{ x q[0] }}", params="p: float[1]"), "E0312")
    assert len(err.diagnostics) == 1


def test_nested_loops_are_refused_by_their_trip_product_before_unrolling():
    text = _model("    for i in 0..100000 {\n        for j in 0..100000 { x q[0] }\n    }")
    err = _refused(text, "E0408")
    d = err.diagnostics[0]
    assert "100,000 times inside loops that run 100,000 times" in d.message
    assert f"{100_000**2:,}" in d.primary.message and f"{MAX_TRIPS:,}" in d.primary.message


def test_loops_in_blocks_called_from_loops_count_in_the_product():
    text = "gate g(a: qubits) { for j in 0..2000 { x a } }\n" + _model(
        "    for i in 0..1000 { g(q) }"
    )
    _refused(text, "E0408")


def test_a_loop_of_two_million_gates_is_refused_before_unrolling():
    _refused(_model("    for i in 0..2000000 { x q[0] }"), "E0408")


def test_emitted_gates_are_counted_as_they_are_emitted():
    # within the trip limit, but 30-qubit broadcasts pass the gate limit
    err = _refused(_model("    for i in 0..10000 { h q }", n=30), "E0406")
    assert f"{MAX_OPS:,} gates" in err.diagnostics[0].message


def test_list_comparisons_are_charged_to_the_step_budget():
    text = _model(
        "    let a = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]\n"
        "    let b = a + a + a + a + a + a + a + a\n"
        "    let c = b + b + b + b + b + b + b + b\n"
        "    let d = c + c + c + c + c + c + c + c\n"
        "    for i in 0..100000 { if d == d[0:len(d)] { x q[0] } }"
    )
    err = _refused(text, "E0406")
    assert "steps" in err.diagnostics[0].message


def test_list_doubling_in_let_is_refused_at_the_limit():
    lets = "    let a0 = [0]\n" + "".join(f"    let a{i + 1} = a{i} + a{i}\n" for i in range(40))
    err = _refused(_model(lets + "    x q[0]"), "E0325")
    assert f"{MAX_LIST:,}" in err.diagnostics[0].primary.message


def test_shared_nested_lists_are_measured_by_their_elements():
    # [a, a] doubles the elements an equality would walk, without copying anything
    lets = "    let a0 = [0]\n" + "".join(f"    let a{i + 1} = [a{i}, a{i}]\n" for i in range(40))
    _refused(_model(lets + "    if a40 == a40 { x q[0] }"), "E0325")


def test_deeply_nested_list_equality_is_refused_by_nesting():
    deep = "[" * 40 + "0" + "]" * 40
    err = _refused(_model(f"    let a = {deep}\n    if a == {deep} {{ x q[0] }}"), "E0325")
    assert "nested more than 32 deep" in err.diagnostics[0].message


def test_a_tower_of_powers_is_refused_before_it_is_computed():
    _refused(_model("    let a = 2**2**2**2**2**2\n    rx(a) q[0]"), "E0323")


def test_a_tower_of_powers_in_a_const_is_refused_before_it_is_computed():
    codes, seconds, _ = _codes("const A = 3**40\nconst B = A**4000\nconst C = B**4000\n")
    assert codes == ["E0323"], codes
    assert seconds < BOUND_S


def test_powers_are_predicted_exactly_at_the_limit():
    assert not pow_too_large(2, 62) and pow_too_large(2, 63)
    assert not pow_too_large(-2, 62) and not pow_too_large(1, 10**9)
    assert not pow_too_large(2.0, 100) and not pow_too_large(2, -5)


def test_a_failed_let_is_not_reported_again_at_each_use():
    err = _refused(_model("    let a = 10**400\n    rx(a) q[0]\n    ry(a) q[0]"), "E0323")
    assert len(err.diagnostics) == 1


def test_symbolic_products_are_refused_before_they_are_expanded():
    text = _model(
        "    let s = p[0] + p[1] + p[2] + p[3] + p[4] + p[5] + p[6] + p[7] + p[8] + p[9]\n"
        "    let t = s ** 8\n    rx(t * t) q[0]",
        params="p: float[10]",
    )
    _refused(text, "E0326")


# ---- internal errors that became located diagnostics ---------------------------------------


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ("    let a = 10**400\n    rx(a) q[0]", "E0323"),
        ("    for i in 0..10**400 { x q[0] }", "E0323"),
        ("    for i in 0..10**300 { x q[0] }", "E0323"),
        ("    for i in 0..10**18 { x q[0] }", "E0408"),
        ("    x q[1e300]", "E0323"),
        ("    rx(2**62 * 4) q[0]", "E0323"),
        ("    rx(1e308 * 10) q[0]", "E0324"),
        ("    rx(1e308 * 10 - 1e308 * 10) q[0]", "E0324"),
        ("    rx(exp(1000)) q[0]", "E0316"),
        ("    rx((-8) ** 0.5) q[0]", "E0316"),
        ("    rx(2.0 ** 5000) q[0]", "E0324"),
    ],
)
def test_numbers_past_the_limits_are_located_errors(body, code):
    err = _refused(_model(body), code)
    assert err.diagnostics[0].primary.span.file == "t.qadl"


def test_a_non_finite_angle_coefficient_is_refused_at_the_gate_call():
    text = _model("    rx(1e200 * p[0] * 1e200) q[0]", params="p: float[1]")
    err = _refused(text, "E0324")
    assert "coefficient" in err.diagnostics[0].message


def test_a_billion_qubit_register_is_refused_with_its_memory():
    err = _refused(_model("    x q[0]", n=1_000_000_000), "E0403")
    d = err.diagnostics[0]
    assert "the limit is 30" in d.primary.message
    assert "2^1000000004 bytes" in (d.help or "")


def test_amplitude_encoding_on_too_many_qubits_is_refused_before_padding():
    # 25 qubits would allocate 2**25 amplitude expressions
    _refused(_model("    amplitude(p) q", n=25, params="p: float[4]"), "E0409")


def test_list_measure_stops_at_the_limit():
    a: tuple = (0,)
    for _ in range(20):
        a = (a,) * 8  # 8**20 elements by reference, a few hundred objects in memory
    start = time.perf_counter()
    elements, depth = list_measure(a, limit=1000)
    assert elements > 1000 and depth <= 21
    assert time.perf_counter() - start < 1.0
    assert list_measure(((1, 2), (3, (4, 5)))) == (8, 3)  # sub-lists are elements too


# ---- stdlib and compile-time state preparation -------------------------------------------------


def test_walsh_hadamard_matches_the_dense_sign_matrix():
    rng = np.random.default_rng(3)
    for m in range(1, 7):
        size = 1 << m
        alphas = rng.normal(size=size)
        grays = [gray_code(i) for i in range(size)]
        signs = np.array(
            [[-1.0 if (g & j).bit_count() % 2 else 1.0 for g in grays] for j in range(size)]
        )
        np.testing.assert_allclose(
            walsh_hadamard(alphas)[grays], signs.T @ alphas, rtol=0, atol=1e-12
        )


def test_state_preparation_is_refused_past_its_qubit_limit():
    from qadl.ir import expr as E
    from qadl.ir.circuit import Op

    k = MAX_QUBITS + 1
    op = Op(Gate.AMPLITUDE, tuple(range(k)), (E.const(1.0),) * (1 << k))
    start = time.perf_counter()
    with pytest.raises(ValueError, match="limited to 16 qubits"):
        amplitude_ops(op)
    assert time.perf_counter() - start < 1.0


# ---- errors inside blocks show their call sites ---------------------------------------------


def test_an_error_in_a_stdlib_block_labels_the_call_in_the_users_file():
    text = "import ansatz.qcnn\n" + _model("    qcnn_pool(q[0:4], q[4:7])", n=8)
    err = _refused(text, "E0401")
    d = err.diagnostics[0]
    assert d.primary.span.file == "<stdlib>/ansatz/qcnn.qadl"
    assert [label.span.file for label in d.secondary] == ["t.qadl"]
    assert d.secondary[0].message == "in this call of `qcnn_pool`"
    sources = SourceMap()
    sources.add(SourceFile("t.qadl", text))
    assert "::: t.qadl:3:5" in render_all(err.diagnostics, sources)


def test_call_chains_are_innermost_first_and_recursion_is_merged():
    text = (
        "gate inner(a: qubits) { x a[5] }\n"
        "gate outer(a: qubits) { inner(a) }\n"
        "gate loop(a: qubits) { loop(a) }\n" + _model("    outer(q)\n    loop(q)", n=2)
    )
    codes, seconds, err = _codes(text)
    assert codes == ["E0401", "E0322"]
    assert seconds < BOUND_S
    chain = [label.message for label in err.diagnostics[0].secondary]
    assert chain == ["in this call of `inner`", "in this call of `outer`"]
    recursion = [label.message for label in err.diagnostics[1].secondary]
    assert recursion == ["in this call of `loop` (63 times)", "in this call of `loop`"]


@pytest.mark.parametrize(("vector", "label"), [("[0, 0]", "is 0"), ("[1e200, 1]", "overflows")])
def test_a_constant_amplitude_vector_must_be_normalisable(vector, label):
    err = _refused(_model(f"    amplitude({vector}) q[0]"), "E0410")
    assert label in err.diagnostics[0].primary.message


def test_amplitude_statements_in_a_loop_do_not_rescan_the_circuit():
    # each `amplitude` checks that its qubits are still unused: incrementally, not by a scan
    # of all earlier gates per statement (20,000 x 5,000 comparisons before)
    text = _model(
        "    for i in 0..20000 { h q[1] }\n    for i in 0..5000 { amplitude(p) q[0] }",
        n=2,
        params="p: float[2]",
    )
    _refused(text, "E0407")


def test_an_error_in_a_default_argument_labels_the_call_that_used_it():
    text = "gate g(a: qubits, k: int = 2**70) { x a }\n" + _model("    g(q)")
    err = _refused(text, "E0323")
    d = err.diagnostics[0]
    assert d.primary.span.start < text.index("{")  # in the block's signature
    assert [label.message for label in d.secondary] == ["in this call of `g`"]


def test_a_large_angle_repeated_by_a_loop_runs_out_of_budget_quickly():
    # each gate's angle terms are charged: a 1,275-term polynomial added to itself per gate
    s = " + ".join(f"p[{i}]" for i in range(50))
    text = _model(
        f"    let s = {s}\n    let big = s * s\n    for i in 0..100000 {{ rx(big + big) q[0] }}",
        params="p: float[50]",
    )
    err = _refused(text, "E0406")
    assert "steps" in err.diagnostics[0].message


def test_the_step_budget_is_shared_by_all_models_of_a_program():
    heavy = "    for i in 0..60000 { let a = i }"
    text = "".join(_model(heavy).replace("model m(", f"model m{k}(") for k in range(10))
    err = _refused(text, "E0406")
    assert "program is too expensive" in err.diagnostics[0].message
