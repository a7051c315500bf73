"""On-disk cache of generated data sets, keyed by a hash of their parameters."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path

import numpy as np

__all__ = ["CACHE_VERSION", "cache_dir", "cache_key", "cached_arrays", "save_npz_atomic"]

CACHE_VERSION = 1
"""Bumped whenever a generator's output changes for the same parameters."""


def cache_dir() -> Path:
    """``$QADL_CACHE_DIR`` if set, else ``~/.cache/qadl/data``."""
    env = os.environ.get("QADL_CACHE_DIR")
    return Path(env) if env else Path.home() / ".cache" / "qadl" / "data"


def cache_key(kind: str, params: Mapping[str, object]) -> str:
    """A stable file stem for ``kind`` generated with ``params`` (JSON-serialisable values)."""
    blob = json.dumps({"kind": kind, "v": CACHE_VERSION, **params}, sort_keys=True)
    return f"{kind}-{hashlib.sha256(blob.encode()).hexdigest()[:16]}"


def save_npz_atomic(path: Path, arrays: Mapping[str, np.ndarray]) -> None:
    """Write ``arrays`` to ``path`` as .npz so readers never see a half-written file.

    The data go to a temporary file in the same directory, which is then renamed over
    ``path`` with ``os.replace`` (atomic on POSIX and Windows).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            np.savez(fh, **arrays)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def cached_arrays(
    kind: str,
    params: Mapping[str, object],
    build: Callable[[], dict[str, np.ndarray]],
    *,
    use_cache: bool = True,
) -> dict[str, np.ndarray]:
    """Load the arrays generated for ``(kind, params)``, building and storing them on a miss.

    A corrupt or unreadable cache file is treated as a miss and rewritten.
    """
    if not use_cache:
        return build()
    path = cache_dir() / f"{cache_key(kind, params)}.npz"
    if path.exists():
        try:
            with np.load(path) as stored:
                return {name: stored[name] for name in stored.files}
        except (OSError, ValueError, EOFError):
            pass  # fall through and regenerate
    arrays = build()
    with contextlib.suppress(OSError):  # a read-only cache must not stop the run
        save_npz_atomic(path, arrays)
    return arrays
