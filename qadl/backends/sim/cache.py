"""Choose where Numba caches compiled kernels, before Numba is imported.

Numba writes its on-disk cache next to the source file (``__pycache__``). In a
non-editable install site-packages is often read-only, and then Numba would silently
recompile in every process. ``configure_numba_cache`` points ``NUMBA_CACHE_DIR`` at a
per-user directory in that case (``$XDG_CACHE_HOME/qadl/numba`` or
``~/.cache/qadl/numba``), or, when the home directory is not writable either, to a
directory of this user in the system temp directory (created 0700 and checked to be ours
and private, because Numba's cache files are pickles: a planted one would run code). A
value the user already set is never overridden. With no writable directory at all,
Numba would fail with "no locator available"; qadl reports E0806 instead.
"""

from __future__ import annotations

import os
import stat
import sys
import tempfile
from pathlib import Path

from qadl.backends.sim.openmp import default_wait_policy
from qadl.errors import QadlError
from qadl.source import Span

__all__ = ["configure_numba_cache", "private_temp_cache_dir", "user_cache_dir"]


def user_cache_dir() -> Path:
    """The per-user cache directory for compiled kernels."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "qadl" / "numba"


def _writable(path: Path) -> Path | None:
    """``path``, created if needed, when a file can be written in it; else None."""
    try:
        path.mkdir(parents=True, exist_ok=True)
        tempfile.TemporaryFile(dir=path).close()  # what Numba itself tries
    except OSError:
        return None
    return path


def private_temp_cache_dir() -> Path | None:
    """``$TMPDIR/qadl-numba-<uid>``: created 0700, used only if it is ours and private.

    A shared temp directory lets anyone create that name first, and Numba unpickles what
    it finds there, so a directory another user owns (or can write, or a symlink) is never
    used. Returns None when the directory cannot be made safe and writable.
    """
    uid = os.getuid() if hasattr(os, "getuid") else None
    path = Path(tempfile.gettempdir()) / f"qadl-numba-{uid if uid is not None else 'user'}"
    try:
        path.mkdir(mode=0o700, exist_ok=True)
        info = os.lstat(path)
    except OSError:
        return None
    if not stat.S_ISDIR(info.st_mode) or info.st_mode & 0o077:
        return None  # a symlink, a file, or open to others: not ours to trust
    if uid is not None and info.st_uid != uid:
        return None
    return _writable(path)


def _package_dir_writable() -> bool:
    here = Path(__file__).resolve().parent
    cache = here / "__pycache__"
    target = cache if cache.exists() else here
    return os.access(target, os.W_OK)


def configure_numba_cache() -> str | None:
    """Set ``NUMBA_CACHE_DIR`` if the package directory is not writable.

    Must run before ``import numba``; if Numba is already imported its configuration is
    reloaded so the setting still applies to kernels compiled afterwards. Every kernel
    module calls this first, so it also gives OpenMP its default wait policy
    (``openmp.default_wait_policy``), the other setting that must precede the runtime.

    Returns:
        The cache directory now in force, or None when Numba's default (next to the
        source) is used.

    Raises:
        QadlError: E0806 when no directory at all can hold the cache.
    """
    default_wait_policy()
    chosen = os.environ.get("NUMBA_CACHE_DIR")
    if chosen:
        if _writable(Path(chosen)) is None and not _package_dir_writable():
            raise QadlError.at(
                "E0806",
                f"NUMBA_CACHE_DIR={chosen} is not a writable directory, and neither is the "
                "installed package, so the compiled simulator kernels cannot be cached",
                Span("qadl", 0, 0),
                help="point NUMBA_CACHE_DIR at a directory you can write, or unset it",
            )
        return chosen
    if _package_dir_writable():
        return None
    home = user_cache_dir()  # "~/.cache/..." stays relative when there is no home at all
    path = (_writable(home) if home.is_absolute() else None) or private_temp_cache_dir()
    if path is None:
        raise QadlError.at(
            "E0806",
            "no writable directory for the compiled simulator kernels (the installed package, "
            f"{user_cache_dir()} and the temp directory {tempfile.gettempdir()} are not)",
            Span("qadl", 0, 0),
            help="set NUMBA_CACHE_DIR to a directory you can write",
        )
    os.environ["NUMBA_CACHE_DIR"] = str(path)
    if "numba" in sys.modules:
        from numba.core import config  # only when numba is already loaded

        config.reload_config()
    return str(path)
