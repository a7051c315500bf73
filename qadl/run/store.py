"""``ResultStore``: one atomic JSON file per finished task, so an interrupted run resumes.

A task's result is written to a temporary sibling, flushed to disk (``fsync``) and moved
into place with ``os.replace``: a reader sees either no file or the whole result, never a
partial one, even when the process dies between the write and the move. Only the process
that drives the run (the Dask client, or the serial loop) writes here, so a task that Dask
retried on another worker is still stored exactly once.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from qadl.run.outputs import unwritable

__all__ = ["ResultStore", "file_name"]

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_TMP = re.compile(r"\..+\.json\.[a-z0-9_]{8}\.tmp")  # mkstemp's names below


def file_name(key: str) -> str:
    """A safe, unique file name for ``key``: readable stem plus a digest of the full key.

    The digest keeps two keys apart that sanitise alike (``a/b`` and ``a_b``).
    """
    stem = _UNSAFE.sub("_", key).strip("._")[:80] or "task"
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:12]
    return f"{stem}-{digest}.json"


def _plain(value: Any) -> Any:
    """``json`` default: NumPy scalars and arrays as Python values (floats stay exact)."""
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"a task result holds a {type(value).__name__}, which is not JSON")


class ResultStore:
    """Finished task results under ``directory``, one ``<safe key>-<digest>.json`` per key.

    Floats are written with ``repr`` precision (NaN and infinities included), so a value
    read back equals the one stored bit for bit.
    """

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self.directory = Path(directory)
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise unwritable(self.directory, err, "task results") from None
        for orphan in self.directory.iterdir():  # left by a run killed mid-write
            if _TMP.fullmatch(orphan.name):
                orphan.unlink(missing_ok=True)

    def path(self, key: str) -> Path:
        return self.directory / file_name(key)

    def has(self, key: str) -> bool:
        return self.path(key).is_file()

    def get(self, key: str) -> Any:
        """The stored value of ``key`` (KeyError when it has none)."""
        try:
            text = self.path(key).read_text(encoding="utf-8")
        except FileNotFoundError:
            raise KeyError(key) from None
        record = json.loads(text)
        if record.get("key") != key:  # a digest collision or a hand-edited file
            raise KeyError(key)
        return record["value"]

    def put(self, key: str, value: Any) -> Any:
        """Store ``value`` under ``key`` atomically; returns it as it reads back from disk."""
        text = json.dumps({"key": key, "value": value}, default=_plain)
        target = self.path(key)
        try:
            fd, tmp = tempfile.mkstemp(dir=self.directory, prefix=f".{target.name}.", suffix=".tmp")
        except OSError as err:
            raise unwritable(self.directory, err, "task results") from None
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(text.encode("utf-8"))
                handle.flush()
                os.fsync(handle.fileno())  # the data is on disk before the name points at it
            os.replace(tmp, target)
        except BaseException as err:
            Path(tmp).unlink(missing_ok=True)
            if isinstance(err, OSError):
                raise unwritable(self.directory, err, "task results") from None
            raise
        return json.loads(text)["value"]

    def keys(self) -> Iterator[str]:
        """The keys stored (in file-name order)."""
        for path in sorted(self.directory.glob("*.json")):
            try:
                yield json.loads(path.read_text(encoding="utf-8"))["key"]
            except (OSError, ValueError, KeyError, TypeError):
                continue  # not one of ours
