"""What the mitigation run tests share: a trainable two-qubit model and its data file."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def model(name: str) -> str:
    """A two-qubit model `name` (four trained angles, one CX) reading out two classes."""
    return f"""
model {name}(x: float[2]) on q[2] {{
    param θ[4]
    ry(x[0]) q[0]
    ry(x[1]) q[1]
    ry(θ[0]) q[0]
    ry(θ[1]) q[1]
    cx q[0], q[1]
    ry(θ[2]) q[0]
    ry(θ[3]) q[1]
    readout probs(q[1]) -> classes 2
}}
"""


def write_data(root: Path) -> Path:
    """``root/d.csv``: 40 points of [0, π]², label cos x1 · cos x2 > 0."""
    rng = np.random.default_rng(0)
    x = rng.uniform(0, np.pi, (40, 2))
    y = (np.cos(x[:, 0]) * np.cos(x[:, 1]) > 0).astype(int)
    rows = "\n".join(f"{a:.6f},{b:.6f},{c}" for (a, b), c in zip(x, y, strict=True))
    path = root / "d.csv"
    path.write_text("x1,x2,label\n" + rows + "\n")
    return path
