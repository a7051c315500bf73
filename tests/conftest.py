"""Shared pytest configuration: ``--update-golden`` and hypothesis profiles."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

try:
    from hypothesis import HealthCheck, settings

    # the default suite draws the same examples on every run (a CI result must not depend
    # on luck); `HYPOTHESIS_PROFILE=dev` draws fresh, more numerous ones to hunt for bugs
    settings.register_profile(
        "ci",
        max_examples=25,
        deadline=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.too_slow],
    )
    settings.register_profile(
        "dev", max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow]
    )
    settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
except ImportError:  # hypothesis is a test extra
    pass

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = REPO / "examples"


def pytest_addoption(parser: pytest.Parser) -> None:
    """``--update-golden`` rewrites expected-output files instead of comparing with them."""
    parser.addoption(
        "--update-golden",
        action="store_true",
        default=False,
        help="rewrite golden files (review the diff like code)",
    )


@pytest.fixture(scope="session")
def update_golden(request: pytest.FixtureRequest) -> bool:
    """True when golden files should be rewritten."""
    return bool(request.config.getoption("--update-golden"))


@pytest.fixture(scope="session")
def example_paths() -> list[Path]:
    """Every example program."""
    return sorted(EXAMPLES.glob("*.qadl"))
