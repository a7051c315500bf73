"""Choose where Numba caches compiled kernels, before Numba is imported.

Numba writes its on-disk cache next to the source file (``__pycache__``). In a
non-editable install site-packages is often read-only, and then Numba would silently
recompile in every process. ``configure_numba_cache`` points ``NUMBA_CACHE_DIR`` at a
per-user directory in that case (``$XDG_CACHE_HOME/qadl/numba`` or
``~/.cache/qadl/numba``); a value the user already set is never overridden.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

__all__ = ["configure_numba_cache", "user_cache_dir"]


def user_cache_dir() -> Path:
    """The per-user cache directory for compiled kernels."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "qadl" / "numba"


def _package_dir_writable() -> bool:
    here = Path(__file__).resolve().parent
    cache = here / "__pycache__"
    target = cache if cache.exists() else here
    return os.access(target, os.W_OK)


def configure_numba_cache() -> str | None:
    """Set ``NUMBA_CACHE_DIR`` if the package directory is not writable.

    Must run before ``import numba``; if Numba is already imported its configuration is
    reloaded so the setting still applies to kernels compiled afterwards.

    Returns:
        The cache directory now in force, or None when Numba's default (next to the
        source) is used.
    """
    if os.environ.get("NUMBA_CACHE_DIR"):
        return os.environ["NUMBA_CACHE_DIR"]
    if _package_dir_writable():
        return None
    path = user_cache_dir()
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None  # nowhere to cache: Numba compiles in memory each run
    os.environ["NUMBA_CACHE_DIR"] = str(path)
    if "numba" in sys.modules:
        from numba.core import config  # only when numba is already loaded

        config.reload_config()
    return str(path)
