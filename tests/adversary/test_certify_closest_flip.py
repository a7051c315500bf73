"""``closest_flip(fidelity = F)``: the exact verifier's states as adversarial training examples."""

from __future__ import annotations

import numpy as np
import pytest

from qadl.adversary.certify_exact import closest_flips
from qadl.adversary.closest_flip import ClosestFlipConfig, closest_flip_attack, toward
from qadl.backends.sim import Simulator
from qadl.errors import QadlError
from qadl.learn.classifier import Classifier
from qadl.learn.data import Dataset
from qadl.learn.train import TrainConfig, fit
from qadl.run.preflight import preflight
from tests.adversary.sessions import CIRCLE, defend_program, load_source
from tests.adversary.test_certify_run import QUANTUM
from tests.adversary.test_certify_smoothing import _state_model, _states

PHASE = QUANTUM.split("attack rot")[0] + "train phase on chain.train { epochs 1 }\n"
PHASE_THETA = np.array([3.86, 2.417, 0.257, 0.104, 5.11, 5.735])
"""After 40 epochs of Adam (lr 0.1, seed 0): test accuracy 1, median exact radius 0.124."""


@pytest.mark.parametrize(("seed", "fidelity"), [(3, 0.97), (5, 0.9), (8, 0.99)])
def test_the_attack_flips_exactly_the_samples_the_verifier_does_not_prove(seed, fidelity):
    circuit, theta, rng = _state_model(seed, 2, 2)
    clf = Classifier(Simulator(circuit), circuit.readout)
    psi = _states(rng, 40, 4)
    y = clf.predict(theta, state=psi)
    config = ClosestFlipConfig(fidelity)
    budget = config.epsilons[0]
    result = closest_flip_attack(clf, theta, Dataset(states=psi, y=y, num_classes=2), config)
    radius = closest_flips(clf.sim, clf.readout, theta, psi, y).radius
    assert 0 < result.success.sum() < len(y)  # the draw has both kinds of samples
    # robust accuracy of the attack = certified accuracy of the exact verifier at F
    np.testing.assert_array_equal(result.success, radius <= budget)
    assert np.all(clf.predict(theta, state=result.states_adv[result.success]) != y[result.success])
    assert np.all(result.fidelity >= fidelity - 1e-9)  # every state stays within the budget
    # a sample it cannot flip is moved to the budget's edge, towards its nearest flip
    np.testing.assert_allclose(result.fidelity[~result.success], fidelity, atol=1e-9)
    np.testing.assert_allclose(np.linalg.norm(result.states_adv, axis=1), 1.0, atol=1e-12)


def test_toward_walks_the_geodesic_whatever_the_global_phase():
    rng = np.random.default_rng(2)
    psi, phi = _states(rng, 5, 8), _states(rng, 5, 8) * np.exp(1j * rng.uniform(0, 6, (5, 1)))
    for distance in (0.0, 0.2, 0.5):
        moved = toward(psi, phi, np.full(5, distance))
        np.testing.assert_allclose(1 - np.abs(np.sum(psi.conj() * moved, axis=1)) ** 2,
                                   distance**2, atol=1e-12)
    # at the full distance between them, it reaches φ (up to a global phase)
    full = np.sqrt(1 - np.abs(np.sum(psi.conj() * phi, axis=1)) ** 2)
    reached = toward(psi, phi, full)
    np.testing.assert_allclose(np.abs(np.sum(phi.conj() * reached, axis=1)), 1.0, atol=1e-9)


def _test_split(session):
    ref = session.program.trainings[0].data
    return session.split(ref, None), session.split(type(ref)(ref.dataset, "test"), None)


def test_adversarial_training_on_closest_flips_raises_the_exact_radius(tmp_path):
    source = PHASE + (
        "defend phase with adversarial_training(attack = closest_flip(fidelity = 0.98), "
        "ratio = 0.5, epochs = 3) as robust { batch 10; seed 1; optimizer adam(lr = 0.05) }\n"
    )
    preflight(load_source(source))  # accepted by `qadl check`
    session = defend_program(source, {"phase": PHASE_THETA}, tmp_path)
    record = session.results["models"]["robust"]
    assert record["attack"] == "closest_flip"
    train, test = _test_split(session)
    clf = session.classifier("phase")
    plain = fit(clf, PHASE_THETA, train, TrainConfig(epochs=3, batch=10, seed=1), progress=False)
    budget = np.sqrt(1 - 0.98)

    def exact(theta):
        radius = closest_flips(clf.sim, clf.readout, theta, test.states, test.y).radius
        return np.mean(radius > budget), np.median(radius)

    clean, fine_tuned = exact(PHASE_THETA), exact(plain.theta)
    robust = exact(session.thetas["robust"])
    assert robust[0] >= clean[0] and robust[0] >= fine_tuned[0]  # certified accuracy at F
    assert robust[1] > clean[1] + 0.005 and robust[1] > fine_tuned[1] + 0.005  # median radius
    assert np.mean(clf.predict(session.thetas["robust"], state=test.states) == test.y) == 1.0


def _errors(source: str) -> list[tuple[str, str]]:
    with pytest.raises(QadlError) as err:
        preflight(load_source(source))
    return [(d.code, d.message) for d in err.value.diagnostics]


@pytest.mark.parametrize(
    "item", ["flip", "transfer(from = phase, attack = flip)", "closest_flip(fidelity = 0.9)"]
)
def test_closest_flip_in_an_evaluation_is_refused_with_a_pointer_to_certify_exact(item):
    source = PHASE + (
        "attack flip on phase { method closest_flip(fidelity = 0.95) }\n"
        f"evaluate phase on chain.test under [clean, {item}]\n"
    )
    ((code, message),) = _errors(source)
    assert code == "E0950" and "certify [exact]" in message


@pytest.mark.parametrize(
    ("model", "code", "words"),
    [
        (  # features
            CIRCLE + "train clf on circle.train { epochs 1 }\n", "E0716", "takes features",
        ),
        (  # 7 qubits: no exact verification
            "data chain = builtin.ising(qubits = 7, samples = 20, test = 0.5, seed = 3)\n"
            "model phase(psi: state) on q[7] {\n    param t[7]\n"
            "    for j in 0..7 { ry(t[j]) q[j] }\n    readout probs(q[0])\n}\n"
            "train phase on chain.train { epochs 1 }\n",
            "E0951", "7 qubits",
        ),
        (  # a noisy device: mixed states
            PHASE + "noise dep { depolarizing(1q = 0.01, 2q = 0.02) }\n"
            "target lab { qubits 3; basis [rx, ry, rz, cx]; coupling chain; noise dep }\n"
            "device phase on lab\n",
            "E0951", "noisy device",
        ),
    ],
)
def test_models_the_exact_attack_does_not_apply_to_are_refused(model, code, words):
    name = "clf" if "model clf" in model else "phase"
    source = model + (
        f"defend {name} with adversarial_training(attack = closest_flip(fidelity = 0.95)) "
        "as robust\n"
    )
    errors = _errors(source)
    assert any(c == code and words in m for c, m in errors), errors


@pytest.mark.parametrize(
    ("block", "words"),
    [
        ("method closest_flip()", "fidelity floor"),
        ("method closest_flip(fidelity = 1)", "fidelity"),
        ("method closest_flip(fidelity = 0.9); seed 3", "computed exactly"),
        ("method closest_flip(fidelity = 0.9); targeted 1", "computed exactly"),
    ],
)
def test_bad_closest_flip_blocks_are_refused_by_check(block, words):
    with pytest.raises(QadlError) as err:
        load_source(PHASE + f"attack flip on phase {{ {block} }}\n")
    assert any(words in d.message or words in (d.help or "") for d in err.value.diagnostics)


def test_a_linear_schedule_ramps_the_fidelity_budget():
    from qadl.adversary.config import AdversarialTrainingConfig
    from qadl.adversary.defend import OnlineAdversarialHook

    circuit, theta, rng = _state_model(3, 2, 2)
    clf = Classifier(Simulator(circuit), circuit.readout)
    psi = _states(rng, 12, 4)
    batch = Dataset(states=psi, y=clf.predict(theta, state=psi), num_classes=2)
    config = AdversarialTrainingConfig(ClosestFlipConfig(0.9), ratio=1.0, schedule="linear")
    hook = OnlineAdversarialHook(clf, config, total_steps=4)
    moved = []
    for _ in range(4):
        adv = hook(theta, batch, np.random.default_rng(0))
        moved.append(np.max(1 - np.abs(np.sum(psi.conj() * adv.states, axis=1)) ** 2))
    budgets = [eps for eps, _ in hook.log]
    np.testing.assert_allclose(budgets, [0.0, 0.5 * np.sqrt(0.1), np.sqrt(0.1), np.sqrt(0.1)])
    assert all(m <= b**2 + 1e-9 for m, b in zip(moved, budgets, strict=True))
    assert moved[-1] > moved[1] > 0.0


def test_the_python_api_runs_the_attack_and_the_defence(tmp_path):
    from qadl.api_model import data_splits

    source = PHASE + (
        "attack flip on phase { method closest_flip(fidelity = 0.98) }\n"
        "defend phase with adversarial_training(attack = flip, ratio = 0.5, epochs = 1) "
        "as robust { batch 10; seed 1 }\n"
    )
    program = load_source(source)
    train, test = data_splits(program, "chain")
    clf = program.classifier("phase", PHASE_THETA)
    (result,) = program.attack("flip")(clf, test)
    radius = closest_flips(clf.core.sim, clf.core.readout, PHASE_THETA, test.states, test.y).radius
    np.testing.assert_array_equal(result.success, radius <= np.sqrt(1 - 0.98))
    robust = program.defence("robust")(clf, train)
    session = defend_program(source, {"phase": PHASE_THETA}, tmp_path)
    np.testing.assert_allclose(robust.params, session.thetas["robust"], atol=1e-10)


def test_the_python_api_refuses_the_attack_on_features():
    program = load_source(
        CIRCLE + "attack flip on clf { method closest_flip(fidelity = 0.9) }\n"
    )
    from qadl.api_model import data_splits
    from tests.adversary.sessions import CIRCLE_THETA

    _, test = data_splits(program, "circle")
    with pytest.raises(ValueError, match="takes features"):
        program.attack("flip")(program.classifier("clf", CIRCLE_THETA), test)
