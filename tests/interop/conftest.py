"""A small trained model for the interop tests: tests/run/tiny_train.qadl (4 qubits, 4x4 digits)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

TINY = Path(__file__).resolve().parent.parent / "run" / "tiny_train.qadl"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip this directory's ``slow`` tests unless the run selects them (``-m slow``)."""
    if "slow" in (config.getoption("markexpr") or ""):
        return
    here = Path(__file__).parent
    skip = pytest.mark.skip(reason="slow: select with -m slow")
    for item in items:
        if "slow" in item.keywords and here in Path(str(item.fspath)).parents:
            item.add_marker(skip)


@dataclass(frozen=True)
class Trained:
    """The program, the model's classifier at its trained θ, and the data splits."""

    program: Any
    clf: Any
    train: Any
    test: Any


@pytest.fixture(scope="session")
def tiny() -> Trained:
    """tiny_train.qadl's model trained as its ``train`` block says (3 epochs), as qadl run does."""
    import qadl
    from qadl.interop._seam import train_config_of
    from qadl.learn.train import fit

    program = qadl.load(TINY)
    train, test = program.data("digits")
    start = program.classifier("tiny")
    config = train_config_of(program, "tiny")
    result = fit(start.core, start.params, train, config, progress=False)
    return Trained(program, start.with_params(result.theta), train, test)
