"""Options audit of `attack`, `defend` and `evaluate` (docs/language.md §13-15).

One case per documented option: the option, written in a `.qadl` block, changes the
result as the reference says. Every case compares two blocks that differ only in that
option. A last group checks that the options `qadl check` accepts for these statements
are exactly the ones the reference documents.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from qadl.adversary.attacks import craft
from qadl.adversary.quantum import local_rotation_adversary, quantum_attack_sweep
from qadl.check.methods import ATTACK_METHODS, DEFENCE_METHODS
from qadl.check.schema import SCHEMAS
from qadl.learn.data import Dataset
from qadl.run.configs import defence_config, plan_of, spec_plan
from tests.adversary.models import softmax_problem, state_circuit
from tests.adversary.sessions import (
    CIRCLE,
    CIRCLE_THETA,
    defend_program,
    evaluate_program,
    load_source,
)
from tests.adversary.test_adversary_options_fidelity import AMPLITUDE

LANGUAGE = Path(__file__).resolve().parents[2] / "docs" / "language.md"

# ---- the attacked problems ------------------------------------------------------------------


def _classical():
    """A 3-class softmax model on 6 features in [0, 1]; feature 0 is zero in every input."""
    oracle, x, _ = softmax_problem(seed=1, n=40, f=6, c=3)
    x[:, 0] = 0.0
    return oracle, x, oracle.predict_proba(x).argmax(axis=1)


CLASSICAL = _classical()


def _quantum():
    circuit = state_circuit(3, layers=2)
    adversary = local_rotation_adversary(circuit)
    theta = np.random.default_rng(3).uniform(-np.pi, np.pi, circuit.num_params)
    rng = np.random.default_rng(4)
    states = rng.normal(size=(60, 8)) + 1j * rng.normal(size=(60, 8))
    states /= np.linalg.norm(states, axis=1, keepdims=True)
    probs = adversary.predict_proba(theta, states, np.zeros((60, 9)))
    keep = np.flatnonzero(np.abs(probs[:, 0] - 0.5) > 0.05)[:30]
    data = Dataset(states=states[keep], y=probs[keep].argmax(axis=1), num_classes=2, name="q")
    return adversary, theta, data


def _attack_plan(block: str):
    program = load_source(CIRCLE + f"attack a on clf {{ {block} }}\n")
    spec = program.attacks["a"]
    return plan_of(spec.method, spec.options)


def run(block: str) -> list:
    """The results (one per ε) of an attack block on the classical problem."""
    config = _attack_plan(block)
    oracle, x, y = CLASSICAL
    epsilons = config.epsilons if config.bounded else (None,)
    return [craft(oracle, x, y, config, epsilon=eps) for eps in epsilons]


def run_quantum(block: str) -> list:
    """The results of a `local_rotations` attack block on random 3-qubit states."""
    adversary, theta, data = QUANTUM
    return list(quantum_attack_sweep(adversary, theta, data, _attack_plan(block)))


QUANTUM = _quantum()
CASES: dict[str, Callable[[Path], None]] = {}


def case(option: str):
    """Register the test of one documented option."""

    def register(fn: Callable[[Path], None]) -> Callable[[Path], None]:
        assert option not in CASES
        CASES[option] = fn
        return fn

    return register


def _same(a, b) -> bool:
    return np.allclose(a.x_adv, b.x_adv, atol=1e-12)


# ---- §13: attack methods ----------------------------------------------------------------------


@case("fgsm.epsilon")
def _(_tmp):
    (small,), (large,) = run("method fgsm(epsilon = 0.05)"), run("method fgsm(epsilon = 0.2)")
    np.testing.assert_allclose([small.linf.max(), large.linf.max()], [0.05, 0.2])


@case("fgsm.norm")
def _(_tmp):
    (linf,) = run("method fgsm(norm = linf, epsilon = 0.2)")
    (l2,) = run("method fgsm(norm = l2, epsilon = 0.2)")
    np.testing.assert_allclose(linf.linf, 0.2)
    np.testing.assert_allclose(l2.l2, 0.2)
    assert np.all(l2.linf < 0.2) and np.all(linf.l2 > 0.2)


@case("bim.epsilon")
def _(_tmp):
    sweep = run("method bim(epsilon = [0.05, 0.1, 0.2], steps = 5)")
    assert [r.epsilon for r in sweep] == [0.05, 0.1, 0.2]
    assert all(r.linf.max() <= r.epsilon + 1e-12 for r in sweep)
    assert sweep[2].success_rate > sweep[0].success_rate


@case("bim.norm")
def _(_tmp):
    (linf,) = run("method bim(norm = linf, epsilon = 0.2, steps = 5)")
    (l2,) = run("method bim(norm = l2, epsilon = 0.2, steps = 5)")
    assert l2.l2.max() <= 0.2 + 1e-12 and linf.l2.max() > 0.2
    assert linf.linf.max() <= 0.2 + 1e-12


@case("bim.steps")
def _(_tmp):
    (one,), (eight,) = (
        run("method bim(epsilon = 0.2, steps = 1)"),
        run("method bim(epsilon = 0.2, steps = 8)"),
    )
    assert (one.steps.max(), eight.steps.max()) == (1, 8)
    assert not _same(one, eight)


@case("bim.step")
def _(_tmp):
    (default,) = run("method bim(epsilon = 0.2, steps = 4)")
    (tiny,) = run("method bim(epsilon = 0.2, steps = 4, step = 0.01)")
    assert default.linf.max() == pytest.approx(0.2)
    assert tiny.linf.max() == pytest.approx(0.04)


@case("pgd.random_start")
def _(_tmp):
    block = "method pgd(epsilon = 0.2, steps = 3, random_start = {}); seed {}"
    # from the clean input the attack is deterministic; from random points it is not
    assert _same(run(block.format("false", 1))[0], run(block.format("false", 2))[0])
    assert not _same(run(block.format("true", 1))[0], run(block.format("true", 2))[0])
    # PGD starts at random by default (Madry et al.)
    default = run("method pgd(epsilon = 0.2, steps = 3); seed 1")[0]
    assert _same(run(block.format("true", 1))[0], default)


@case("pgd.restarts")
def _(_tmp):
    (one,) = run("method pgd(epsilon = 0.1, steps = 3, restarts = 1)")
    (five,) = run("method pgd(epsilon = 0.1, steps = 3, restarts = 5)")
    assert five.success.sum() >= one.success.sum()
    changed = ~np.all(np.isclose(one.x_adv, five.x_adv), axis=1)
    assert changed.any()  # some samples keep a later, more damaging start


@case("mim.decay")
def _(_tmp):
    (none,) = run("method mim(epsilon = 0.2, steps = 6, step = 0.05, decay = 0.0)")
    (full,) = run("method mim(epsilon = 0.2, steps = 6, step = 0.05, decay = 1.0)")
    (bim,) = run("method bim(epsilon = 0.2, steps = 6, step = 0.05)")
    assert not _same(none, full)
    assert _same(none, bim)  # μ = 0: no momentum, every step is a BIM step


@case("gradient_steps.optimizer")
def _(_tmp):
    (adam,) = run("method gradient_steps(optimizer = adam(lr = 0.01), max_steps = 5)")
    (sgd,) = run("method gradient_steps(optimizer = sgd(lr = 0.01), max_steps = 5)")
    assert not _same(adam, sgd)
    # Adam's first step is lr·sign(g) per feature (bias-corrected moments)
    (first,) = run("method gradient_steps(optimizer = adam(lr = 0.01), max_steps = 1)")
    moved = np.abs(first.x_adv - CLASSICAL[1])[:, 1:]
    np.testing.assert_allclose(moved, 0.01, rtol=1e-3)


@case("gradient_steps.lr")
def _(_tmp):
    (slow,) = run("method gradient_steps(optimizer = adam(lr = 0.001), max_steps = 5)")
    (fast,) = run("method gradient_steps(optimizer = adam(lr = 0.05), max_steps = 5)")
    assert fast.linf.mean() > 10 * slow.linf.mean()


@case("gradient_steps.max_steps")
def _(_tmp):
    (two,) = run("method gradient_steps(max_steps = 2)")
    (nine,) = run("method gradient_steps(max_steps = 9)")
    assert (two.steps.max(), nine.steps.max()) == (2, 9)


@case("gradient_steps.epsilon")
def _(_tmp):
    (free,) = run("method gradient_steps(optimizer = adam(lr = 0.05), max_steps = 10)")
    (ball,) = run(
        "method gradient_steps(optimizer = adam(lr = 0.05), max_steps = 10, epsilon = 0.1)"
    )
    assert free.linf.max() > 0.1 and ball.linf.max() <= 0.1 + 1e-12
    assert (free.epsilon, ball.epsilon) == (None, 0.1)


@case("gradient_steps.norm")
def _(_tmp):
    block = "method gradient_steps(optimizer = adam(lr = 0.05), max_steps = 10, epsilon = 0.1"
    (linf,), (l2,) = run(block + ", norm = linf)"), run(block + ", norm = l2)")
    assert l2.l2.max() <= 0.1 + 1e-12 < linf.l2.max()


# ---- §13: local rotations (quantum data) -------------------------------------------------------


@case("local_rotations.epsilon")
def _(_tmp):
    small, large = run_quantum("method local_rotations(epsilon = [0.05, 0.3], steps = 10)")
    assert small.linf.max() <= 0.05 + 1e-12 and large.linf.max() <= 0.3 + 1e-12
    assert small.fidelity.mean() > large.fidelity.mean()


@case("local_rotations.steps")
def _(_tmp):
    (two,) = run_quantum("method local_rotations(epsilon = 0.3, steps = 2)")
    (nine,) = run_quantum("method local_rotations(epsilon = 0.3, steps = 9)")
    assert (two.steps.max(), nine.steps.max()) == (2, 9)


@case("local_rotations.optimizer")
def _(_tmp):
    block = "method local_rotations(epsilon = 0.3, steps = 5, optimizer = {}, step = 0.05)"
    (sign,), (natural,) = run_quantum(block.format("sign")), run_quantum(block.format("natural"))
    assert not np.allclose(sign.delta, natural.delta)
    # a sign step moves every free angle by exactly `step` at first
    (first,) = run_quantum(
        "method local_rotations(epsilon = 0.3, steps = 1, optimizer = sign, step = 0.05)"
    )
    assert np.allclose(np.abs(first.delta)[np.abs(first.delta) > 0], 0.05)


@case("local_rotations.lr")
def _(_tmp):
    (slow,) = run_quantum("method local_rotations(epsilon = 1.0, steps = 4, lr = 0.001)")
    (fast,) = run_quantum("method local_rotations(epsilon = 1.0, steps = 4, lr = 0.05)")
    assert fast.linf.mean() > 10 * slow.linf.mean()


@case("local_rotations.step")
def _(_tmp):
    (default,) = run_quantum("method local_rotations(epsilon = 0.3, steps = 4)")
    (tiny,) = run_quantum("method local_rotations(epsilon = 0.3, steps = 4, step = 0.01)")
    assert tiny.linf.max() <= 0.04 + 1e-12 < default.linf.max()


@case("local_rotations.axes")
def _(_tmp):
    (y_only,) = run_quantum("method local_rotations(epsilon = 0.3, steps = 4, axes = [y])")
    (every,) = run_quantum("method local_rotations(epsilon = 0.3, steps = 4)")
    delta = y_only.delta.reshape(len(y_only.delta), -1, 3)
    assert np.all(delta[:, :, [0, 2]] == 0.0) and np.any(delta[:, :, 1] != 0.0)
    assert np.any(every.delta.reshape(len(every.delta), -1, 3)[:, :, 0] != 0.0)


@case("local_rotations.fidelity")
def _(_tmp):
    (free,) = run_quantum("method local_rotations(epsilon = 1.0, steps = 8)")
    (bound,) = run_quantum("method local_rotations(epsilon = 1.0, steps = 8, fidelity = 0.95)")
    assert bound.fidelity.min() >= 0.95 - 1e-9 > free.fidelity.min()


@case("closest_flip.fidelity")
def _(_tmp):
    from qadl.adversary.closest_flip import closest_flip_attack
    from qadl.backends.sim import Simulator
    from qadl.learn.classifier import Classifier

    _, theta, data = QUANTUM
    circuit = state_circuit(3, layers=2)  # the model of QUANTUM, without the adversary
    clf = Classifier(Simulator(circuit), circuit.readout)
    near, far = (
        closest_flip_attack(clf, theta, data, _attack_plan(f"method closest_flip(fidelity = {f})"))
        for f in (0.99, 0.9)
    )
    assert near.fidelity.min() >= 0.99 - 1e-9 and far.fidelity.min() >= 0.9 - 1e-9
    assert far.fidelity.min() < 0.99 and far.success_rate > near.success_rate


# ---- §13: transfer (through `qadl run`'s evaluation) -----------------------------------------

TRANSFER = (
    CIRCLE
    + """
model other(x: float[2]) on q[2] {
    angle_encoding(q, x, rotation = rx)
    param θ[2]
    for i in 0..2 { ry(θ[i]) q[i] }
    readout probs(q[1])
}
train clf on circle.train { epochs 1 }
train other on circle.train { epochs 1 }
"""
)
THETAS = {"clf": CIRCLE_THETA, "other": np.array([0.9, -0.4])}


def _transfer_point(tmp: Path, method: str):
    source = TRANSFER + f"attack t on clf {{ method {method} }}\n"
    source += "evaluate clf on circle.test under [t]\n"
    (evaluation,) = evaluate_program(source, THETAS, tmp)
    return evaluation.points[0]


@case("transfer.from")
def _(tmp):
    attack = "attack = fgsm(epsilon = 0.15)"
    white = _transfer_point(tmp, f"transfer(from = clf, {attack})")
    black = _transfer_point(tmp, f"transfer(from = other, {attack})")
    assert white.robust_accuracy < black.robust_accuracy


@case("transfer.surrogate")
def _(tmp):
    attack = "attack = fgsm(epsilon = 0.15)"
    logistic = _transfer_point(tmp, f"transfer(surrogate = logistic_regression, {attack})")
    mlp = _transfer_point(tmp, f"transfer(surrogate = mlp, {attack})")
    assert logistic.to_json() != mlp.to_json()


@case("transfer.attack")
def _(tmp):
    small = _transfer_point(tmp, "transfer(from = other, attack = fgsm(epsilon = 0.05))")
    large = _transfer_point(tmp, "transfer(from = other, attack = fgsm(epsilon = 0.3))")
    # clipped to the data's range, so at most ε
    assert small.mean_linf <= 0.05 + 1e-12 < 0.1 < large.mean_linf <= 0.3 + 1e-12


# ---- §13: attack options ------------------------------------------------------------------------


@case("attack.mask")
def _(_tmp):
    block = "method gradient_steps(optimizer = adam(lr = 0.05), max_steps = 5); mask {}"
    (nonzero,), (every,) = run(block.format("nonzero")), run(block.format("all"))
    assert np.all(nonzero.x_adv[:, 0] == 0.0)  # feature 0 is zero in every clean input
    assert np.any(every.x_adv[:, 0] != 0.0)


@case("attack.until")
def _(_tmp):
    oracle, _, y = CLASSICAL
    block = "method gradient_steps(optimizer = adam(lr = 0.02), max_steps = 60)"
    (free,) = run(block)
    (stopped,) = run(block + "; until wrong_class >= 0.6")
    (batch,) = run(block + "; until success_rate >= 0.5")
    assert stopped.steps.mean() < free.steps.mean()
    reached = stopped.steps < 60
    probs = oracle.predict_proba(stopped.x_adv)
    probs[np.arange(len(y)), y] = -1
    assert reached.any() and np.all(probs.max(axis=1)[reached] >= 0.6)
    assert batch.steps.max() < 60 and batch.success.mean() >= 0.5


@case("attack.clip")
def _(_tmp):
    (free,) = run("method bim(epsilon = 0.3, steps = 5)")
    (clipped,) = run("method bim(epsilon = 0.3, steps = 5); clip [0.1, 0.9]")
    assert free.x_adv.min() < 0.1 or free.x_adv.max() > 0.9
    assert clipped.x_adv.min() >= 0.1 and clipped.x_adv.max() <= 0.9


@case("attack.targeted")
def _(_tmp):
    (free,) = run("method pgd(epsilon = 0.3, steps = 10)")
    (aimed,) = run("method pgd(epsilon = 0.3, steps = 10); targeted 2")
    assert np.mean(aimed.pred_adv == 2) > np.mean(free.pred_adv == 2)
    np.testing.assert_array_equal(aimed.success, aimed.pred_adv == 2)


@case("attack.seed")
def _(_tmp):
    block = "method pgd(epsilon = 0.2, steps = 2); seed {}"
    assert _same(run(block.format(4))[0], run(block.format(4))[0])
    assert not _same(run(block.format(4))[0], run(block.format(5))[0])


# ---- §14: defences ------------------------------------------------------------------------------

DEFENCE = CIRCLE + "train clf on circle.train { epochs 1 }\n"


def _defend(tmp: Path, method: str, block: str = "{ batch 50; seed 1 }"):
    source = DEFENCE + f"defend clf with adversarial_training({method}) as robust {block}\n"
    session = defend_program(source, {"clf": CIRCLE_THETA}, tmp)
    return session.thetas["robust"], session.results["models"]["robust"]


@case("defend.attack")
def _(tmp):
    weak, _ = _defend(tmp / "a", "attack = fgsm(epsilon = 0.01), epochs = 1")
    strong, record = _defend(tmp / "b", "attack = fgsm(epsilon = 0.4), epochs = 1")
    assert not np.allclose(weak, strong)
    assert record["attack"] == "fgsm"


@case("defend.examples")
def _(tmp):
    fixed, fixed_record = _defend(
        tmp / "a", "attack = fgsm(epsilon = 0.2), examples = precomputed, epochs = 1"
    )
    online, online_record = _defend(
        tmp / "b", "attack = fgsm(epsilon = 0.2), examples = on_the_fly, epochs = 1"
    )
    assert (fixed_record["mode"], online_record["mode"]) == ("fixed", "online")
    assert not np.allclose(fixed, online)


@case("defend.ratio")
def _(tmp):
    few, few_record = _defend(tmp / "a", "attack = fgsm(epsilon = 0.3), ratio = 0.1, epochs = 1")
    all_, all_record = _defend(tmp / "b", "attack = fgsm(epsilon = 0.3), ratio = 1.0, epochs = 1")
    assert (few_record["ratio"], all_record["ratio"]) == (0.1, 1.0)
    assert not np.allclose(few, all_)


@case("defend.epochs")
def _(tmp):
    _, one = _defend(tmp / "a", "attack = fgsm(epsilon = 0.1), epochs = 1")
    _, three = _defend(tmp / "b", "attack = fgsm(epsilon = 0.1), epochs = 3")
    assert (one["epochs"], three["epochs"]) == (1, 3)


@case("defend.schedule")
def _(tmp):
    program = load_source(
        DEFENCE + "defend clf with adversarial_training(attack = fgsm(epsilon = 0.3), "
        "schedule = linear, epochs = 2) as robust\n"
    )
    (spec,) = program.defences
    config = defence_config(spec, plan_of(spec.method.get("attack"), {}))
    assert [config.epsilon_scale(p) for p in (0.0, 0.25, 0.5, 1.0)] == [0.0, 0.5, 1.0, 1.0]
    constant, _ = _defend(
        tmp / "a", "attack = fgsm(epsilon = 0.3), schedule = constant, epochs = 2"
    )
    linear, _ = _defend(tmp / "b", "attack = fgsm(epsilon = 0.3), schedule = linear, epochs = 2")
    assert not np.allclose(constant, linear)


# ---- §15: evaluation ----------------------------------------------------------------------------

EVALUATE = CIRCLE + "evaluate clf on circle.test under [clean, pgd(epsilon = 0.1, steps = 2)] "


def _evaluate(tmp: Path, options: str, **kw) -> dict:
    (evaluation,) = evaluate_program(EVALUATE + options + "\n", {"clf": CIRCLE_THETA}, tmp, **kw)
    return evaluation.to_json()


@case("evaluate.plots")
def _(tmp):
    _evaluate(tmp / "off", "{ plots false }", plots=True)
    _evaluate(tmp / "on", "{ plots true }", plots=True)
    assert not (tmp / "off" / "plots").exists()
    assert (tmp / "on" / "plots" / "accuracy_vs_epsilon.png").is_file()


@case("evaluate.fidelity")
def _(tmp):
    source = AMPLITUDE + "evaluate amp on circle.test under [clean, fgsm(epsilon = 0.1)] "
    theta = {"amp": np.array([0.3])}
    (asked,) = evaluate_program(source + "{ fidelity true }\n", theta, tmp)
    (silent,) = evaluate_program(source + "{ fidelity false }\n", theta, tmp)
    assert 0.0 < asked.points[0].min_fidelity <= asked.points[0].mean_fidelity < 1.0
    assert silent.points[0].mean_fidelity is None


@case("evaluate.certify")
def _(tmp):
    source = CIRCLE + "evaluate clf on circle.test under [clean, fgsm(epsilon = 0.05)] "
    theta = {"clf": CIRCLE_THETA}
    (asked,) = evaluate_program(source + "{ certify lipschitz; samples 10 }\n", theta, tmp)
    (silent,) = evaluate_program(source + "{ samples 10 }\n", theta, tmp)
    assert [c.method for c in asked.certificates] == ["lipschitz"]
    (point,) = asked.certified
    assert (point.attack, point.epsilon, point.unit) == ("fgsm", 0.05, "linf")
    assert point.certified_accuracy <= asked.points[0].robust_accuracy
    assert silent.certificates == () and "certified" not in silent.to_json()


@case("evaluate.shots")
def _(tmp):
    exact, sampled = _evaluate(tmp, ""), _evaluate(tmp, "{ shots 3 }")
    assert exact["clean_accuracy"] != sampled["clean_accuracy"]
    assert exact["points"][0]["mean_linf"] == pytest.approx(sampled["points"][0]["mean_linf"])


@case("evaluate.seed")
def _(tmp):
    # the inline pgd's random start, and the shot draws
    one, two = _evaluate(tmp, "{ seed 1 }"), _evaluate(tmp, "{ seed 2 }")
    assert one["points"][0]["mean_l2"] != two["points"][0]["mean_l2"]
    assert _evaluate(tmp, "{ seed 1 }") == one
    assert _evaluate(tmp, "{ shots 3; seed 1 }") != _evaluate(tmp, "{ shots 3; seed 2 }")


@case("evaluate.samples")
def _(tmp):
    assert _evaluate(tmp, "")["n"] == 100
    assert _evaluate(tmp, "{ samples 7 }")["n"] == 7
    assert _evaluate(tmp, "{ samples 7 }", max_samples=5)["n"] == 5


MISREAD = (
    "noise misread { readout_error(p01 = 0.05, p10 = 0.45) }\n"
    "target reader { qubits 2; basis [rx, ry, rz, cz]; coupling chain; noise misread }\n"
)


@case("evaluate.device")
def _(tmp):
    source = CIRCLE + MISREAD + "evaluate clf on circle.test under [clean] "
    theta = {"clf": CIRCLE_THETA}
    (ideal,) = evaluate_program(source + "\n", theta, tmp)
    (device,) = evaluate_program(source + "{ device reader }\n", theta, tmp)
    assert (ideal.model, device.model) == ("clf", "clf @ reader")
    assert device.clean_accuracy != ideal.clean_accuracy


@case("evaluate.mitigate")
def _(tmp):
    source = CIRCLE + MISREAD + "evaluate clf on circle.test under [clean] "
    theta = {"clf": CIRCLE_THETA}
    (ideal,) = evaluate_program(source + "\n", theta, tmp)
    raw, fixed = evaluate_program(source + "{ device reader; mitigate readout }\n", theta, tmp)
    assert fixed.model == "clf @ reader (readout)"
    assert raw.clean_accuracy != ideal.clean_accuracy
    assert fixed.clean_accuracy == pytest.approx(ideal.clean_accuracy)  # inversion is exact


@case("evaluate.noise_scale")
def _(tmp):
    source = CIRCLE + MISREAD + "evaluate clf on circle.test under [clean] "
    theta = {"clf": CIRCLE_THETA}
    (ideal,) = evaluate_program(source + "\n", theta, tmp)
    (device,) = evaluate_program(source + "{ device reader }\n", theta, tmp)
    rows = evaluate_program(source + "{ device reader; noise_scale [0, 1] }\n", theta, tmp)
    assert [r.model for r in rows] == ["clf @ reader ×0", "clf @ reader ×1"]
    # λ = 0 is the noiseless model, λ = 1 the declared device
    assert rows[0].clean_accuracy == pytest.approx(ideal.clean_accuracy)
    assert rows[1].clean_accuracy == pytest.approx(device.clean_accuracy)
    assert rows[0].clean_accuracy != rows[1].clean_accuracy


@pytest.mark.parametrize("option", sorted(CASES))
def test_option_changes_the_result_as_documented(option, tmp_path):
    CASES[option](tmp_path)


# ---- the reference and the schema agree ------------------------------------------------------


def _section(number: int) -> str:
    text = LANGUAGE.read_text(encoding="utf-8")
    start = text.index(f"\n## {number} ")
    return text[start : text.index("\n## ", start + 1)]


def _cells(line: str) -> list[str]:
    return [c.strip() for c in re.split(r"(?<!\\)\|", line.strip())[1:-1]]


def _table_rows(section: str, header: str) -> list[list[str]]:
    lines = section.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"| {header} |"))
    rows = []
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        rows.append(_cells(line))
    return rows


def _names(cell: str) -> set[str]:
    """Option names in a cell: the identifier opening each `code span` (before ` = `)."""
    return {m.group(1) for m in re.finditer(r"`([a-z_0-9]+)(?: =[^`]*)?`", cell)}


def test_every_method_option_is_documented_and_every_documented_one_exists():
    rows = _table_rows(_section(13), "method")
    documented = {_names(row[0]).pop(): _names(row[1]) for row in rows}
    assert set(documented) == set(ATTACK_METHODS)
    for method, options in ATTACK_METHODS.items():
        assert documented[method] == set(options), method


def test_attack_defend_evaluate_options_match_the_reference():
    attack = set().union(*(_names(r[0]) for r in _table_rows(_section(13), "option")))
    assert attack == set(SCHEMAS["attack"].options) - {"method"}
    defend = set().union(*(_names(r[0]) for r in _table_rows(_section(14), "option")))
    assert defend == set(DEFENCE_METHODS["adversarial_training"])
    evaluate = set().union(*(_names(r[0]) for r in _table_rows(_section(15), "option")))
    assert evaluate == set(SCHEMAS["evaluate"].options)


def test_every_option_has_a_case():
    methods = {f"{m}.{k}" for m, opts in ATTACK_METHODS.items() for k in opts}
    blocks = {f"attack.{k}" for k in SCHEMAS["attack"].options if k != "method"}
    defend = {f"defend.{k}" for k in DEFENCE_METHODS["adversarial_training"]}
    evaluate = {f"evaluate.{k}" for k in SCHEMAS["evaluate"].options}
    # `pgd` and `mim` take `bim`'s ball and step options through the same code
    shared = {f"{m}.{k}" for m in ("pgd", "mim") for k in ("epsilon", "norm", "steps", "step")}
    documented = methods | blocks | defend | evaluate
    assert documented - shared <= set(CASES)
    assert set(CASES) - {"gradient_steps.lr"} <= documented


def test_declared_attack_options_reach_the_config():
    program = load_source(
        CIRCLE + "attack a on clf { method pgd(epsilon = 0.1, random_start = false, restarts = 3); "
        "seed 4; clip [0, 1]; targeted 1; until success_rate >= 0.5; mask nonzero }\n"
    )
    config = spec_plan(program.attacks["a"])
    assert (config.random_start, config.restarts, config.seed) == (False, 3, 4)
    assert (config.clip, config.target, config.until_success_rate, config.mask) == (
        (0.0, 1.0),
        1,
        0.5,
        "nonzero",
    )
