"""A small trained model for the interop tests: tests/run/tiny_train.qadl (4 qubits, 4x4 digits)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

TINY = Path(__file__).resolve().parent.parent / "run" / "tiny_train.qadl"


@dataclass(frozen=True)
class Trained:
    """The model's classifier, its trained θ, and its data splits."""

    handle: object
    theta: np.ndarray
    train: object
    test: object


@pytest.fixture(scope="session")
def tiny() -> Trained:
    """tiny_train.qadl's model trained as its ``train`` block says (3 epochs)."""
    from qadl.interop._seam import model_handle, train_config_of
    from qadl.learn.train import fit
    from qadl.run.configs import load_data

    handle = model_handle(TINY, "tiny")
    train, test = load_data(handle.program.datasets["digits"])
    config = train_config_of(handle)
    result = fit(
        handle.classifier, handle.initial_theta(config.seed), train, config, progress=False
    )
    return Trained(handle, np.asarray(result.theta), train, test)
