"""Shadow-model membership inference: the attack's features and data split, its AUC on an
overfitted target and on a model that never saw the members, determinism, and the
check-time refusals (E0502, E0960, E0966–E0968)."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from qadl.adversary.privacy.shadow import attack_features, fit_attack, shadow_partition
from qadl.errors import QadlError
from qadl.run.session import RunOptions, run_program
from tests.adversary.sessions import load_source

# 16 training samples of a circle problem with 30% of its labels flipped, 184 held out;
# 16 parameters in 4 re-uploading layers: 80 epochs of Adam fit the training labels, flipped
# ones included, so members get lower loss than held-out samples.
PROGRAM = """
data circle = file("{path}", test = 0.92, seed = 3)
model clf(x: float[2]) on q[2] {{
    param θ[16]
    for l in 0..4 {{
        ry(x[0] * θ[4*l]) q[0]
        ry(x[1] * θ[4*l+1]) q[1]
        cz q[0], q[1]
        rx(θ[4*l+2]) q[0]
        rx(θ[4*l+3]) q[1]
    }}
    readout probs(q[0])
}}
train clf on circle.train {{ epochs 80; batch 4; seed 3; optimizer adam(lr = 0.1) }}
"""


def _circle(n: int, flip: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Points uniform in [-1, 1]², label 1 inside radius sqrt(2/π), a ``flip`` fraction flipped."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1, 1, (n, 2))
    y = (np.sum(x**2, axis=1) < 2 / np.pi) ^ (rng.random(n) < flip)
    return x, y.astype(np.int64)


@pytest.fixture(scope="module")
def program(tmp_path_factory) -> str:
    x, y = _circle(200, 0.3, 0)
    path = tmp_path_factory.mktemp("noisy") / "circle.csv"
    rows = "".join(f"{a:.6f},{b:.6f},{c}\n" for (a, b), c in zip(x, y, strict=True))
    path.write_text("x0,x1,label\n" + rows)
    return PROGRAM.format(path=path)


SHADOW = "attack mia on clf {{ method membership_inference(score = shadow{args}); seed {seed} }}\n"


def test_features_are_sorted_probabilities_and_true_log_probability():
    probs = np.array([[0.2, 0.7, 0.1], [0.5, 0.0, 0.5]])
    got = attack_features(probs, np.array([0, 1]))
    np.testing.assert_allclose(got[:, :3], [[0.7, 0.2, 0.1], [0.5, 0.5, 0.0]])
    np.testing.assert_allclose(got[:, 3], [np.log(0.2), np.log(1e-12)])


def test_partition_is_disjoint_and_sized():
    split = shadow_partition(50, 3, 6, 10, np.random.default_rng(0))
    parts = [split.non_members, *(p for pair in split.shadows for p in pair)]
    assert [len(p) for p in parts] == [10] + [6] * 6
    assert len(np.unique(np.concatenate(parts))) == 46
    with pytest.raises(ValueError):
        shadow_partition(40, 3, 6, 5, np.random.default_rng(0))


def test_attack_is_per_class_with_a_global_fallback():
    rng = np.random.default_rng(1)
    feats = rng.normal(size=(40, 3))
    y = np.r_[np.zeros(20), np.ones(20)].astype(int)
    inside = np.r_[rng.integers(0, 2, 20), np.ones(20)]  # class 1: members only
    attack = fit_attack(feats, y, inside)
    assert sorted(attack.per_class) == [0]
    scores = attack.scores(feats, y)
    np.testing.assert_allclose(scores[y == 1], attack.fallback.predict_proba(feats[y == 1])[:, 1])
    np.testing.assert_allclose(
        scores[y == 0], attack.per_class[0].predict_proba(feats[y == 0])[:, 1]
    )


def _run(text, tmp_path, monkeypatch, seen):
    """Run ``text``; ``seen`` collects the (member, non-member) scores the attack AUC is of."""
    import qadl.run.privacy_shadow as shadow

    real = shadow.membership_inference

    def spy(members, others):
        seen.append((members, others))
        return real(members, others)

    monkeypatch.setattr(shadow, "membership_inference", spy)
    out = tmp_path / f"o{len(seen)}"
    run_program(load_source(text), RunOptions(out, plots=False, progress=False))
    return json.loads((out / "results.json").read_text())["privacy"]["mia"]


def test_overfitted_target_leaks_reproducibly(program, tmp_path, monkeypatch):
    text = program + SHADOW.format(args=", shadows = 2", seed=5)
    seen: list = []
    first = _run(text, tmp_path, monkeypatch, seen)
    again = _run(text, tmp_path, monkeypatch, seen)
    members, others = seen[0]
    truth = np.r_[np.ones(members.size), np.zeros(others.size)]
    assert first["auc"] == pytest.approx(roc_auc_score(truth, np.r_[members, others]), abs=1e-12)
    assert first["members"] == first["non_members"] == 16
    assert first["shadows"] == 2 and first["shadow_size"] == 16 and first["shadow_epochs"] == 80
    assert first["shadow_train_accuracy"] > first["shadow_held_out_accuracy"]
    assert first["auc"] > 0.65, first  # members are told apart
    assert {k: v for k, v in again.items() if k != "seconds"} == {
        k: v for k, v in first.items() if k != "seconds"
    }
    np.testing.assert_array_equal(seen[1][0], members)


def test_a_model_that_never_saw_the_members_gives_chance(program, tmp_path, monkeypatch):
    """The target trains on 16 fresh samples of the same problem instead of its `train`
    split: its "members" are then as unseen as its non-members (the shadows still train
    on their own samples and learn what overfitting looks like)."""
    import qadl.run.training as training

    real = training.fit
    x, y = _circle(16, 0.3, 11)
    monkeypatch.setattr(
        training,
        "fit",
        lambda clf, t0, data, *a, **k: real(clf, t0, replace(data, x=x, y=y), *a, **k),
    )
    record = _run(program + SHADOW.format(args=", shadows = 2", seed=5), tmp_path, monkeypatch, [])
    assert abs(record["auc"] - 0.5) < 0.15, record


def _diagnostics(text: str) -> list[tuple[str, str]]:
    """``qadl check``'s diagnostics (the preflight knows the data sizes)."""
    from qadl.run.preflight import preflight

    with pytest.raises(QadlError) as info:
        preflight(load_source(text))
    return [(d.code, f"{d.message} {d.help or ''}") for d in info.value.diagnostics]


# examples/data/circle.csv at test = 0.92: 32 training samples, 368 held out
CHECKED = PROGRAM.format(path="data/circle.csv")
CHECKS = [
    (SHADOW.format(args=", shadows = 0", seed=1), "E0502", "shadows"),
    (SHADOW.format(args=", shadows = 6", seed=1), "E0966", "384 samples"),
    (SHADOW.format(args=", shadow_size = 100", seed=1), "E0966", "shadow_size"),
    (
        "attack mia on clf { method membership_inference(score = loss, shadows = 2) }\n",
        "E0967",
        "`shadows` applies to `score = shadow` only",
    ),
    (
        "attack mia on clf { method membership_inference(shadow_epochs = 2) }\n",
        "E0967",
        "`shadow_epochs` applies",
    ),
    (
        "defend clf with adversarial_training(epochs = 1) as robust\n"
        "attack mia on robust { method membership_inference(score = shadow, shadows = 1) }\n",
        "E0968",
        "`defend` statement",
    ),
    (
        SHADOW.format(args=", shadows = 1", seed=1)
        + "attack curve on clf { method privacy_utility(noise = [0, 1], attacks = [mia]) }\n",
        "E0960",
        "shadow-model",
    ),
]


@pytest.mark.parametrize(("snippet", "code", "words"), CHECKS)
def test_refused_at_check(snippet, code, words):
    found = _diagnostics(CHECKED + snippet)
    assert any(c == code and words in m for c, m in found), found


def test_federated_shadows_take_no_epochs():
    text = CHECKED.replace("epochs 80;", "federated(clients = 2, rounds = 3);")
    found = _diagnostics(
        text + "attack mia on clf { method membership_inference(score = shadow, "
        "shadows = 1, shadow_epochs = 2) }\n"
    )
    assert [c for c, _ in found] == ["E0967"] and "rounds" in found[0][1], found


def test_run_refuses_too_little_held_out_data_before_training(program, tmp_path, capsys):
    text = program + SHADOW.format(args=", shadows = 6", seed=1)  # 192 > 184 held out
    with pytest.raises(QadlError) as info:
        run_program(load_source(text), RunOptions(tmp_path / "o", plots=False, progress=False))
    assert [d.code for d in info.value.diagnostics] == ["E0966"]
    assert "train clf" not in capsys.readouterr().out


def test_shadows_of_a_federated_state_model_train_its_rounds(tmp_path, monkeypatch):
    """Quantum-data input and federated training: the shadows copy the target's rounds."""
    from tests.privacy.test_privacy_states import MODEL

    text = MODEL.replace("samples = 40, test = 0.25", "samples = 80, test = 0.75") + (
        "train m on chain.train { federated(clients = 2, rounds = 3); batch 5; seed 2 }\n"
        "attack mia on m { method membership_inference(score = shadow, shadows = 2, "
        "shadow_size = 10); seed 1 }\n"
    )
    seen: list = []
    record = _run(text, tmp_path, monkeypatch, seen)
    assert record["shadow_rounds"] == 3 and "shadow_epochs" not in record
    assert record["members"] == record["non_members"] == 20
    assert 0.0 <= record["auc"] <= 1.0 and len(seen) == 1
