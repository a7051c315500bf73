"""The output directory of a run: checked before any work, locked while the run writes to it.

``prepare_output_dir`` creates the directory and proves it writable (so ``--out /`` fails
at once, not after training at the first checkpoint). ``OutputLock`` keeps a second
``qadl run`` out of a directory the first one is writing, and ``clean_orphans`` removes
the temporary files that an interrupted atomic write (``qadl.run.outputs``, checkpoints)
leaves behind.
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
from pathlib import Path

from qadl.errors import QadlError
from qadl.source import Span

__all__ = ["LOCK_NAME", "OutputLock", "clean_orphans", "prepare_output_dir"]

LOCK_NAME = ".qadl-run.lock"
"""Lock file inside a run's output directory; it holds the pid of the run that writes there."""

# mkstemp's random part is 8 characters of [a-z0-9_]; only our own writers' names match
_ORPHANS = (
    re.compile(r"\.(results\.json|.+\.params\.npz)\.[a-z0-9_]{8}\.tmp"),  # run/outputs.py
    re.compile(r"last\.npz\.[a-z0-9_]{8}\.tmp"),  # learn/checkpoint.py
)


def _where(path: Path) -> Span:
    """A span naming the directory itself: rendered as ``DIR: error[...]``, without line:col."""
    return Span(str(path), 0, 0)


def prepare_output_dir(path: Path, option: str = "--out", subdirs: tuple[str, ...] = ()) -> Path:
    """Create ``path`` (and its parents) and check that files can be written in it.

    ``subdirs`` name directories the run will create inside it (``plots``, ``checkpoints``):
    a file of that name is refused now rather than when the first plot is drawn.

    Raises:
        QadlError: E0801 when ``path`` or a parent is a file, or it cannot be created or
            written (permissions, read-only file system).
    """
    for name in subdirs:
        inner = path / name
        if inner.exists() and not inner.is_dir():
            raise QadlError.at(
                "E0801", f"`{inner}` is a file, but the run writes a directory there",
                _where(inner), help=f"move that file, or choose another {option} DIR",
            )
    hint = f"choose another {option} DIR"
    if path.exists() and not path.is_dir():
        raise QadlError.at(
            "E0801", f"{option} `{path}` is an existing file, not a directory", _where(path),
            help=hint,
        )
    try:
        path.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(dir=path, prefix=".qadl-probe.", suffix=".tmp")
        os.close(fd)
        os.unlink(probe)
    except FileExistsError:  # a parent is a file (mkdir reports the parent as existing)
        raise QadlError.at(
            "E0801", f"cannot create {option} `{path}`: a parent of it is a file", _where(path),
            help=hint,
        ) from None
    except OSError as err:  # NotADirectoryError, PermissionError, read-only file system
        reason = err.strerror or type(err).__name__
        raise QadlError.at(
            "E0801", f"cannot write to {option} `{path}`: {reason}", _where(path), help=hint,
        ) from None
    return path


def _pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, owned by someone else
        return True
    except OSError:
        return False
    return True


def _read_pid(path: Path) -> int | None:
    try:
        text = path.read_text(encoding="ascii", errors="replace").strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None


class OutputLock:
    """An exclusive lock on a run's output directory (a context manager).

    Where ``fcntl`` exists the lock is a ``flock`` on ``DIR/.qadl-run.lock``: the kernel
    drops it when its process dies, so a crashed run never blocks the next. Without
    ``fcntl``, or on a file system without ``flock``, the lock file is created with
    ``O_CREAT | O_EXCL`` instead and taken over when the pid in it is dead.
    """

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.path = directory / LOCK_NAME
        self._fd: int | None = None
        self._exclusive = False
        """True when the lock is the O_EXCL file (no flock): release deletes it."""

    def __enter__(self) -> OutputLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()

    def _busy(self, pid: int | None) -> QadlError:
        who = f"another qadl run (pid {pid})" if pid else "another qadl run"
        return QadlError.at(
            "E0802",
            f"output directory `{self.directory}` is in use by {who}",
            _where(self.directory),
            help="wait for that run to finish, or give this one another --out DIR",
        )

    def _unusable(self, err: OSError) -> QadlError:
        return QadlError.at(
            "E0801",
            f"cannot create the lock file `{self.path}`: {err.strerror or type(err).__name__}",
            _where(self.path),
            help="remove whatever has that name, or choose another --out DIR",
        )

    def acquire(self) -> None:
        """Take the lock or raise ``QadlError`` E0802 naming the run that holds it."""
        try:
            import fcntl
        except ImportError:  # not POSIX
            self._acquire_exclusive()
            return
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as err:  # e.g. a directory of that name
            raise self._unusable(err) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise self._busy(_read_pid(self.path)) from None
        except OSError:  # a file system without flock (some network mounts)
            os.close(fd)
            self._acquire_exclusive()
            return
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode("ascii"))
        self._fd = fd

    def _acquire_exclusive(self) -> None:
        for _ in range(2):  # a second try after taking over a stale lock
            try:
                fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            except FileExistsError:
                if self.path.is_dir():
                    raise self._unusable(IsADirectoryError(21, "Is a directory")) from None
                pid = _read_pid(self.path)
                if pid is not None and pid != os.getpid() and _pid_alive(pid):
                    raise self._busy(pid) from None
                self.path.unlink(missing_ok=True)  # stale: its run is gone
                continue
            except OSError as err:
                raise self._unusable(err) from None
            os.write(fd, f"{os.getpid()}\n".encode("ascii"))
            self._fd, self._exclusive = fd, True
            return
        raise self._busy(_read_pid(self.path))

    def release(self) -> None:
        """Drop the lock (the flock'ed file stays, so a waiting run locks the same inode)."""
        if self._fd is None:
            return
        if self._exclusive:
            os.close(self._fd)
            self.path.unlink(missing_ok=True)
        else:
            import fcntl

            os.ftruncate(self._fd, 0)
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
        self._fd = None


def clean_orphans(directory: Path) -> list[Path]:
    """Delete our interrupted writes' temporary files in ``directory`` and its checkpoints.

    Only names our own atomic writers make are touched, and only in ``directory`` and
    ``directory/checkpoints/<model>``; call it while holding the ``OutputLock``.

    Returns:
        The files removed.
    """
    places = [directory]
    checkpoints = directory / "checkpoints"
    if checkpoints.is_dir():
        places += [p for p in checkpoints.iterdir() if p.is_dir() and not p.is_symlink()]
    removed = []
    for place in places:
        for entry in place.iterdir():
            if any(p.fullmatch(entry.name) for p in _ORPHANS) and entry.is_file():
                with contextlib.suppress(OSError):
                    entry.unlink()
                    removed.append(entry)
    return removed
