"""Atomic output files of a run: JSON results and parameter archives.

Every file is written to a temporary sibling and moved into place with ``os.replace``,
so an interrupted run never leaves a half-written file behind.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from qadl.errors import QadlError
from qadl.source import Span

__all__ = ["write_json", "write_params", "write_text"]


def _atomic(path: Path, write, option: str = "--out") -> Path:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as err:
        raise unwritable(path, err, option=option) from None
    if hasattr(os, "fchmod"):  # mkstemp makes 0600; results are ordinary files (umask applies)
        os.fchmod(fd, 0o666 & ~_umask())
    try:
        with os.fdopen(fd, "wb") as handle:
            write(handle)
        os.replace(tmp, path)
    except BaseException as err:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(err, OSError):  # disk full, a directory of that name, ...
            raise unwritable(path, err, option=option) from None
        raise
    return path


def _umask() -> int:
    mask = os.umask(0o022)  # reading the umask means setting it: put it straight back
    os.umask(mask)
    return mask


def unwritable(path: Path, err: OSError, what: str = "", option: str = "--out") -> QadlError:
    """E0801 for an ``OSError`` writing ``path`` (``what``: what was written there, if named;
    ``option``: the command-line flag that chose the directory)."""
    where = f"{what} to `{path}`" if what else f"`{path}`"
    return QadlError.at(
        "E0801",
        f"cannot write {where}: {err.strerror or type(err).__name__}",
        Span(str(path), 0, 0),
        help=f"free some space or choose another {option} DIR",
    )


def _clean(value: Any) -> Any:
    """JSON-safe copy: NaN/inf -> None, NumPy scalars/arrays -> Python values."""
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    if isinstance(value, np.ndarray):
        return _clean(value.tolist())
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def write_json(path: Path, data: dict[str, Any]) -> Path:
    """Write ``data`` as indented JSON, atomically."""
    text = json.dumps(_clean(data), indent=2, sort_keys=False) + "\n"
    return _atomic(path, lambda handle: handle.write(text.encode("utf-8")))


def write_text(path: Path, text: str, option: str = "--out") -> Path:
    """Write ``text`` as UTF-8, atomically (``option`` names the directory's flag in errors)."""
    return _atomic(path, lambda handle: handle.write(text.encode("utf-8")), option)


def write_params(path: Path, theta: np.ndarray, **extra: np.ndarray) -> Path:
    """Write ``theta`` (loadable by ``qadl compile --bind``) and extra arrays, atomically."""
    return _atomic(path, lambda handle: np.savez(handle, theta=np.asarray(theta), **extra))
