"""`adversarial_training` options that used to crash or be ignored."""

from __future__ import annotations

import pytest

from qadl.errors import QadlError
from tests.adversary.sessions import CIRCLE, CIRCLE_THETA, defend_program, load_source

BASE = CIRCLE + (
    "train clf on circle.train { epochs 1 }\n"
    "attack ren on clf { method gradient_steps(max_steps = 3); until wrong_class >= 0.6 }\n"
)


def test_on_the_fly_training_against_an_attack_without_a_ball_runs(tmp_path):
    """Was an IndexError: the hook asked the unbounded attack for its first ε."""
    source = BASE + (
        "defend clf with adversarial_training(attack = ren, examples = on_the_fly, epochs = 1)"
        " as robust { batch 50 }\n"
    )
    session = defend_program(source, {"clf": CIRCLE_THETA}, tmp_path)
    record = session.results["models"]["robust"]
    assert record["mode"] == "online" and record["epochs"] == 1


def test_a_linear_schedule_needs_an_attack_with_a_ball(tmp_path):
    source = BASE + (
        "defend clf with adversarial_training(attack = ren, schedule = linear, epochs = 1)"
        " as robust\n"
    )
    with pytest.raises(QadlError) as caught:
        defend_program(source, {"clf": CIRCLE_THETA}, tmp_path)
    diagnostic = caught.value.diagnostics[0]
    assert diagnostic.code == "E0533"
    assert source[diagnostic.primary.span.start :].startswith("defend clf")


@pytest.mark.parametrize(
    ("method", "problem"),
    [
        ("attack = fgsm(epsilon = 0.1), examples = precomputed, schedule = linear", "crafted once"),
        ("attack = fgsm(epsilon = 0.1), ratio = 0", "must be in (0, 1]"),
    ],
)
def test_options_that_cannot_work_are_refused_by_check(method, problem):
    with pytest.raises(QadlError) as caught:
        load_source(BASE + f"defend clf with adversarial_training({method}) as robust\n")
    diagnostic = caught.value.diagnostics[0]
    assert diagnostic.code == "E0520" and problem in diagnostic.message
