"""A small program for the Python API tests: two 2-qubit models, one on a noisy device."""

from __future__ import annotations

import numpy as np
import pytest

PROGRAM = """
data pts = file("pts.csv", test = 0.25, seed = 7)

gate body(q: qubits, x: angles) {
    param θ[4]
    ry(x[0]) q[0]
    ry(x[1]) q[1]
    ry(θ[0]) q[0]
    ry(θ[1]) q[1]
    cx q[0], q[1]
    ry(θ[2]) q[0]
    ry(θ[3]) q[1]
}

model m(x: float[2]) on q[2] {
    body(q, x)
    readout probs(q[1]) -> classes 2
}
model n(x: float[2]) on q[2] {
    body(q, x)
    readout probs(q[1]) -> classes 2
}

noise dep { depolarizing(1q = 0.05, 2q = 0.2) }
target noisy2 { qubits 2; basis [ry, cx]; coupling chain; noise dep; shots 200 }
device n on noisy2

train m on pts.train { optimizer adam(lr = 0.1); epochs 2; batch 8; seed 3 }

attack sweep on m {
    method pgd(norm = linf, epsilon = [0.1, 0.3], steps = 5)
    clip [0, 3]
    seed 1
}
attack moved on m { method transfer(from = n, attack = sweep) }

defend m with adversarial_training(attack = sweep, epochs = 2, ratio = 0.5) as hard {
    optimizer adam(lr = 0.1)
    batch 8
    seed 3
}

evaluate m on pts.test under [clean, sweep] { samples 8 }
evaluate m on pts.test under [clean, moved]
evaluate m on pts.test under [clean] { certify [lipschitz] }
"""


@pytest.fixture
def program_file(tmp_path):
    """The program and its data (40 points of [0, 3]², label: x0 > x1) in ``tmp_path``."""
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 3, size=(40, 2))
    rows = [f"{a:.6f},{b:.6f},{int(a > b)}" for a, b in x]
    (tmp_path / "pts.csv").write_text("x0,x1,label\n" + "\n".join(rows) + "\n")
    path = tmp_path / "api.qadl"
    path.write_text(PROGRAM)
    return path
