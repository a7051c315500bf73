"""`sweep`: grammar and AST, the checked SweepSpec, constants bound per point, planning
(order, keys), and the aggregate statistics. (Check errors: tests/ui/sweep/.)"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

import qadl
from qadl.check.sweep import SweepAxisSpec, SweepSpec
from qadl.frontend import ast as A
from qadl.frontend.parse import parse
from qadl.run.sweep_plan import group_key, plan_points, point_key
from qadl.run.sweep_report import aggregate, confidence_interval, point_metrics
from qadl.source import SourceFile

PROGRAM = """const SEED = 7
const LR = 0.05
const QUBITS = 2
const WIDE = QUBITS * 2
const LOSS = "cross_entropy"
data d = builtin.moons(samples = 40, test = 0.25, seed = 3)
model m(x: float[2]) on q[QUBITS] {
    param θ[WIDE] init uniform(0, 2π)
    for j in 0..QUBITS { ry(θ[j] + x[j % 2]) q[j] }
    readout probs(q[0]) -> classes 2
}
train m on d.train {
    loss LOSS
    optimizer adam(lr = LR)
    epochs 1
    seed SEED
}
"""


def _module(text: str) -> A.Module:
    return parse(SourceFile("t.qadl", text))


def test_grammar_builds_axes_ranges_and_replicates() -> None:
    decl = _module(
        "sweep SEED in 1..11, LR in [0.01, 0.05], N in 0..100 step 10 {\n"
        "    aggregate over SEED\n}\n"
    ).decls[0]
    assert isinstance(decl, A.SweepDecl)
    seed, lr, n = decl.axes
    assert (seed.name.id, seed.values, seed.stop, seed.step) == ("SEED", A.Number(1),
                                                                A.Number(11), None)
    assert lr.values == A.ListExpr((A.Number(0.01), A.Number(0.05))) and lr.stop is None
    assert n.step == A.Number(10)
    assert decl.aggregate == (A.Name("SEED"),)
    assert _module("sweep X in [1]\n").decls[0].aggregate == ()


def test_sweep_stays_a_plain_name_elsewhere() -> None:
    """`sweep`, `aggregate` and `over` are keywords only where a sweep is written."""
    decls = _module("const sweep = 1\nconst aggregate = 2\nconst over = 3\n").decls
    assert [d.name for d in decls] == ["sweep", "aggregate", "over"]


def test_checked_sweep_values_and_replicates() -> None:
    program = qadl.loads(PROGRAM + "sweep SEED in 1..7 step 2, LR in [0.01, 0.1 * 2] "
                         "{ aggregate over SEED }\n", "t.qadl")
    sweep = program.sweep
    assert sweep == SweepSpec((SweepAxisSpec("SEED", (1, 3, 5)),
                               SweepAxisSpec("LR", (0.01, 0.2))), ("SEED",))
    assert sweep.size == 6
    assert qadl.loads(PROGRAM, "t.qadl").sweep is None


def test_bindings_reach_options_sizes_and_derived_constants() -> None:
    """A point is the file with its constants written otherwise: options, register sizes,
    parameter counts and constants computed from a bound one all follow."""
    base = qadl.loads(PROGRAM, "t.qadl")
    point = qadl.loads(PROGRAM, "t.qadl", bindings={"QUBITS": 3, "LR": 0.2, "SEED": 11,
                                                    "LOSS": "mse"})
    assert (base.model("m").num_qubits, base.model("m").num_params) == (2, 4)
    assert (point.model("m").num_qubits, point.model("m").num_params) == (3, 6)
    options = point.trainings[0].options
    assert options["optimizer"].get("lr") == 0.2 and options["seed"] == 11
    assert options["loss"] == "mse" and base.trainings[0].options["loss"] == "cross_entropy"
    with pytest.raises(qadl.QadlError) as err:  # a negative number is written as -(0.1)
        qadl.loads(PROGRAM, "t.qadl", bindings={"LR": -0.1})
    assert "must be > 0" in err.value.diagnostics[0].message
    with pytest.raises(KeyError, match="NOPE"):
        qadl.loads(PROGRAM, "t.qadl", bindings={"NOPE": 1})


def test_bound_program_equals_the_hand_edited_file() -> None:
    bound = qadl.loads(PROGRAM, "t.qadl", bindings={"LR": 0.2, "QUBITS": 3})
    edited = qadl.loads(
        PROGRAM.replace("const LR = 0.05", "const LR = 0.2").replace(
            "const QUBITS = 2", "const QUBITS = 3"),
        "t.qadl",
    )
    assert bound.model("m").circuit == edited.model("m").circuit
    assert bound.trainings == edited.trainings


def test_points_in_grid_order_with_safe_unique_keys() -> None:
    sweep = SweepSpec((SweepAxisSpec("SEED", (1, 2)), SweepAxisSpec("LR", (0.05, 0.1)),
                       SweepAxisSpec("NORM", ("l2", "a/b", "a_b"))), ("SEED",))
    points = plan_points(sweep)
    assert [p.index for p in points] == list(range(12))
    assert [p.bindings for p in points[:4]] == [
        (("SEED", 1), ("LR", 0.05), ("NORM", "l2")),
        (("SEED", 1), ("LR", 0.05), ("NORM", "a/b")),
        (("SEED", 1), ("LR", 0.05), ("NORM", "a_b")),
        (("SEED", 1), ("LR", 0.1), ("NORM", "l2")),
    ]
    assert points[0].key == "SEED=1,LR=0.05,NORM=l2"
    keys = [p.key for p in points]
    assert len(set(keys)) == len(keys)
    # `a/b` and `a_b` sanitise alike: both get a digest of their exact bindings
    assert points[1].key.startswith("SEED=1,LR=0.05,NORM=a_b~") and "~" in points[2].key
    assert all(set(k) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                             "0123456789._+-=,~") for k in keys)
    assert group_key(points[0], ("SEED",)) == "LR=0.05,NORM=l2"
    assert group_key(points[0], ("SEED", "LR", "NORM")) == "all"


def test_keys_do_not_depend_on_the_other_points() -> None:
    """A point's key is a function of its own bindings (where it has no twin): planning a
    sub-grid or the axes' values in another order gives the same keys."""
    full = plan_points(SweepSpec((SweepAxisSpec("SEED", (1, 2, 3)),
                                  SweepAxisSpec("LR", (0.05, 0.1)))))
    part = plan_points(SweepSpec((SweepAxisSpec("SEED", (3, 1)), SweepAxisSpec("LR", (0.1,)))))
    by_bindings = {p.bindings: p.key for p in full}
    assert all(by_bindings[p.bindings] == p.key for p in part)
    assert point_key((("X", True), ("Y", (1, 2)), ("Z", -0.5))) == "X=true,Y=1_2,Z=-0.5"


def test_confidence_interval_is_student_t() -> None:
    values = [0.61, 0.72, 0.68, 0.70, 0.65]
    mean, std, (low, high) = confidence_interval(values)
    half = stats.t.ppf(0.975, 4) * np.std(values, ddof=1) / math.sqrt(5)
    assert mean == pytest.approx(np.mean(values), rel=1e-12)
    assert std == pytest.approx(np.std(values, ddof=1), rel=1e-12)
    assert (low, high) == pytest.approx((np.mean(values) - half, np.mean(values) + half))
    assert confidence_interval([0.5]) == (0.5, None, None)


def test_aggregate_groups_over_the_replicate_axis_only() -> None:
    sweep = SweepSpec((SweepAxisSpec("SEED", (1, 2, 3)), SweepAxisSpec("LR", (0.05, 0.1))),
                      ("SEED",))
    points = plan_points(sweep)
    metrics = {p.key: [{"metric": "clean_accuracy", "model": "m",
                        "value": p.value("SEED") / 10 + p.value("LR")}] for p in points}
    groups = aggregate(points, metrics, ("SEED",))
    assert [g["bindings"] for g in groups] == [{"LR": 0.05}, {"LR": 0.1}]
    first = groups[0]["metrics"][0]
    expected = [0.1 + 0.05, 0.2 + 0.05, 0.3 + 0.05]
    assert first["n"] == 3 and first["mean"] == pytest.approx(np.mean(expected))
    assert first["std"] == pytest.approx(np.std(expected, ddof=1))
    assert groups[0]["points"] == ["SEED=1,LR=0.05", "SEED=2,LR=0.05", "SEED=3,LR=0.05"]
    alone = aggregate(points, metrics, ())
    assert len(alone) == 6 and all(g["metrics"][0]["std"] is None for g in alone)


def test_point_metrics_reads_trainings_evaluations_and_certificates() -> None:
    results = {
        "models": {"m": {"clean_test_accuracy": 0.8, "clean_train_accuracy": 0.9,
                         "history": {"loss": [0.7, 0.5]}}},
        "evaluations": [{
            "model": "m", "dataset": "d.test", "clean_accuracy": 0.8,
            "points": [{"attack": "pgd", "epsilon": 0.1, "robust_accuracy": 0.6,
                        "success_rate": 0.25}],
            "certified": [{"method": "lipschitz", "attack": "pgd", "epsilon": 0.1,
                           "certified_accuracy": 0.4, "unit": "l2"}],
        }],
    }
    rows = point_metrics(results)
    by = {(r["metric"], r.get("attack"), r.get("method")): r["value"] for r in rows}
    assert by == {
        ("clean_train_accuracy", None, None): 0.9, ("clean_test_accuracy", None, None): 0.8,
        ("final_loss", None, None): 0.5, ("clean_accuracy", None, None): 0.8,
        ("robust_accuracy", "pgd", None): 0.6, ("success_rate", "pgd", None): 0.25,
        ("certified_accuracy", "pgd", "lipschitz"): 0.4,
    }
    nan = {"models": {"m": {"clean_test_accuracy": float("nan"), "history": {"loss": []}}}}
    assert point_metrics(nan) == []


def test_a_model_evaluated_twice_is_not_counted_twice() -> None:
    """Two `evaluate` statements of one model on one data set stay two quantities."""
    ev = {"model": "robust", "dataset": "d.test", "clean_accuracy": 0.9, "points": []}
    results = {"evaluations": [ev, dict(ev, clean_accuracy=0.9)]}
    sweep = SweepSpec((SweepAxisSpec("SEED", (1, 2)),), ("SEED",))
    points = plan_points(sweep)
    metrics = {p.key: point_metrics(results) for p in points}
    entries = aggregate(points, metrics, ("SEED",))[0]["metrics"]
    assert [(m["evaluation"], m["n"]) for m in entries] == [(0, 2), (1, 2)]


def test_list_and_boolean_axes_bind_where_their_constants_are_used() -> None:
    text = PROGRAM.replace("const LR = 0.05", "const LR = 0.05\nconst EPS = [0.1]\n"
                           "const PLOTS = true") + (
        "attack fgsm on m { method fgsm(norm = linf, epsilon = EPS) }\n"
        "evaluate m on d.test under [clean, fgsm] { plots PLOTS }\n"
        "sweep EPS in [[0.1], [0.2, 0.3]], PLOTS in [true, false]\n")
    program = qadl.loads(text, "t.qadl")
    assert [p.key for p in plan_points(program.sweep)] == [
        "EPS=0.1,PLOTS=true", "EPS=0.1,PLOTS=false", "EPS=0.2_0.3,PLOTS=true",
        "EPS=0.2_0.3,PLOTS=false"]
    point = qadl.loads(text, "t.qadl", bindings=dict(plan_points(program.sweep)[3].bindings))
    assert point.attacks["fgsm"].method.get("epsilon") == (0.2, 0.3)
    assert point.evaluations[0].options["plots"] is False


def test_diagnose_reports_a_failing_point_at_its_sweep_value() -> None:
    """``qadl.diagnose`` (the API of ``qadl check``) checks every point, as the CLI does."""
    from pathlib import Path

    case = Path(__file__).resolve().parents[1] / "ui" / "sweep" / "point_invalid_lr.qadl"
    (diag,) = qadl.diagnose(case)
    assert diag.code == "E0502"
    text = case.read_text(encoding="utf-8")
    (label,) = diag.secondary
    assert text[label.span.start:label.span.end] == "-0.1"
    assert label.message == "at the point LR = -0.1"
    assert "fails (and 2 other points)" in diag.help


def test_a_point_that_fails_when_run_names_the_point(tmp_path) -> None:
    from qadl.run.sweep_run import run_point

    with pytest.raises(qadl.QadlError) as err:
        run_point("t.qadl", PROGRAM, {"LR": -0.1, "SEED": 2}, str(tmp_path), {})
    assert err.value.diagnostics[0].help.endswith("in the sweep point LR=-0.1,SEED=2")
