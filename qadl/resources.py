"""The one place that finds the grammar and the stdlib: package data first, then the source tree."""

from __future__ import annotations

import functools
from importlib import resources
from pathlib import Path

__all__ = ["grammar_path", "stdlib_root"]

_REPO_ROOT = Path(__file__).resolve().parent.parent


def _package_dir(package: str, fallback: str) -> Path:
    """Directory of a data package, or the source-tree directory when not installed as one."""
    try:
        path = Path(str(resources.files(package)))
        if path.is_dir():
            return path
    except ModuleNotFoundError:
        pass
    return _REPO_ROOT / fallback


@functools.cache
def grammar_path() -> Path:
    """Path of ``qadl.lark``."""
    return _package_dir("qadl._grammar", "grammar") / "qadl.lark"


@functools.cache
def stdlib_root() -> Path:
    """Directory holding the stdlib ``.qadl`` modules."""
    return _package_dir("qadl._stdlib", "stdlib")
