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

Numba checks a cached kernel only against its own source file, yet the kernels it calls
from other files are compiled into it (numba/numba#1833): after an upgrade that changed
``soa_kernels.py`` but not ``soa_step.py``, the training step would still run the old
code. ``purge_stale_kernels`` therefore fingerprints every kernel source
(``KERNEL_SOURCES``: size and modification time, as Numba does for one file) and deletes
all of qadl's cached kernels when the fingerprint differs from the one recorded beside
them.
"""

from __future__ import annotations

import functools
import hashlib
import os
import stat
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from qadl.backends.sim.openmp import default_wait_policy
from qadl.errors import QadlError
from qadl.source import Span

__all__ = [
    "KERNEL_SOURCES",
    "configure_numba_cache",
    "kernel_sources",
    "private_temp_cache_dir",
    "purge_stale_kernels",
    "user_cache_dir",
]

STAMP_NAME = "qadl-kernels.stamp"
"""The file, beside the cached kernels, that records the fingerprint of their sources."""


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
    (``openmp.default_wait_policy``), the other setting that must precede the runtime,
    and deletes cached kernels compiled from other sources (``purge_stale_kernels``).

    Returns:
        The cache directory now in force, or None when Numba's default (next to the
        source) is used.

    Raises:
        QadlError: E0806 when no directory at all can hold the cache.
    """
    default_wait_policy()
    chosen = _choose_cache_dir()
    purge_stale_kernels(chosen, kernel_sources())
    return chosen


def _choose_cache_dir() -> str | None:
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


KERNEL_SOURCES = (
    "backends/sim/back_kernels.py",
    "backends/sim/complex_batch.py",
    "backends/sim/jit.py",
    "backends/sim/kernels.py",
    "backends/sim/lanes.py",
    "backends/sim/noise_kernels.py",
    "backends/sim/program.py",
    "backends/sim/soa_kernels.py",
    "backends/sim/soa_single.py",
    "backends/sim/soa_step.py",
    "backends/sim/state_adjoint.py",
    "backends/sim/team.py",
    "learn/phase_kernels.py",
    "passes/sabre_kernels.py",
)
"""Paths below the package of the modules that define cached kernels, and of those whose
globals the kernels read (``program.py``'s block and factor codes): what a cached kernel
may have compiled in."""


def kernel_sources() -> tuple[Path, ...]:
    """``KERNEL_SOURCES`` as absolute paths."""
    package = Path(__file__).resolve().parents[2]
    return tuple(package / path for path in KERNEL_SOURCES)


def _fingerprint(sources: Sequence[Path]) -> str:
    digest = hashlib.sha256()
    for path in sources:
        info = path.stat()
        digest.update(f"{path}:{info.st_size}:{info.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def _kernel_cache_dir(source: Path, cache_dir: str | None) -> Path:
    """Where Numba caches the kernels of ``source`` (in-tree, or below ``NUMBA_CACHE_DIR``)."""
    if cache_dir is None:
        return source.parent / "__pycache__"
    from numba.core.caching import UserProvidedCacheLocator  # lazy: only on a purge

    return Path(cache_dir) / UserProvidedCacheLocator.get_suitable_cache_subpath(str(source))


@functools.cache
def purge_stale_kernels(cache_dir: str | None, sources: tuple[Path, ...]) -> bool:
    """Delete the cached kernels of ``sources`` unless their fingerprint is the recorded one.

    Once per process; returns True when the fingerprint was new. The stamp lives in
    ``cache_dir``, or in-tree beside the first source's kernels; it is written atomically,
    and processes racing here at worst recompile a kernel.
    """
    stamp = _kernel_cache_dir(sources[0], None) if cache_dir is None else Path(cache_dir)
    stamp = stamp / STAMP_NAME
    want = _fingerprint(sources)
    try:
        if stamp.read_text() == want:
            return False
    except OSError:
        pass
    for source in sources:
        for cached in _kernel_cache_dir(source, cache_dir).glob(f"{source.stem}.*.nb[ci]"):
            cached.unlink(missing_ok=True)
    try:
        stamp.parent.mkdir(parents=True, exist_ok=True)
        partial = stamp.with_name(f"{STAMP_NAME}.{os.getpid()}")
        partial.write_text(want)
        os.replace(partial, stamp)
    except OSError:
        pass  # an unwritable cache: Numba will not write kernels there either
    return True
