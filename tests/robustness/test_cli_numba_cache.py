"""Numba's on-disk kernel cache when neither the install nor the home directory is writable."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from qadl.backends.sim import cache
from qadl.errors import QadlError


@pytest.fixture
def no_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A read-only install and a HOME below a regular file (unwritable even for root)."""
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    monkeypatch.setattr(cache, "_package_dir_writable", lambda: False)
    monkeypatch.setenv("HOME", str(blocker / "home"))
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.delenv("NUMBA_CACHE_DIR", raising=False)
    monkeypatch.setattr(cache.tempfile, "tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    return tmp_path


def test_falls_back_to_a_private_temp_dir(no_home: Path) -> None:
    chosen = Path(cache.configure_numba_cache())
    assert chosen.parent == no_home / "tmp" and chosen.name.startswith("qadl-numba-")
    assert os.environ["NUMBA_CACHE_DIR"] == str(chosen)
    assert chosen.stat().st_mode & 0o777 == 0o700


def test_a_temp_dir_open_to_others_is_never_used(no_home: Path) -> None:
    """Numba unpickles its cache: a directory someone else could plant files in is refused."""
    planted = no_home / "tmp" / f"qadl-numba-{os.getuid()}"
    planted.mkdir(mode=0o777)
    planted.chmod(0o777)
    with pytest.raises(QadlError) as err:
        cache.configure_numba_cache()
    diag = err.value.diagnostics[0]
    assert diag.code == "E0806" and "NUMBA_CACHE_DIR" in (diag.help or "")
    assert "NUMBA_CACHE_DIR" not in os.environ


def test_a_symlinked_temp_dir_is_never_used(no_home: Path) -> None:
    target = no_home / "elsewhere"
    target.mkdir(mode=0o700)
    (no_home / "tmp" / f"qadl-numba-{os.getuid()}").symlink_to(target)
    assert cache.private_temp_cache_dir() is None


def test_user_setting_wins(no_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(no_home / "mine"))
    assert cache.configure_numba_cache() == str(no_home / "mine")


def test_a_cached_kernel_compiles_without_a_writable_home(tmp_path: Path) -> None:
    """End to end in a fresh process: the kernel compiles and lands in the fallback cache.

    (Without a fallback, a non-root user got "cannot cache function ...: no locator
    available" here.)
    """
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    module = tmp_path / "kern" / "tiny_kernel.py"
    module.parent.mkdir()
    module.write_text(
        "from numba import njit\n\n@njit(cache=True)\ndef twice(x):\n    return 2 * x\n"
    )
    module.parent.chmod(0o500)  # like a read-only site-packages (ignored when run as root)
    code = (
        "import sys, tempfile\n"
        f"tempfile.tempdir = {str(tmp_path)!r}\n"
        "import qadl.backends.sim.cache as c\n"
        "c._package_dir_writable = lambda: False\n"
        "print(c.configure_numba_cache())\n"
        f"sys.path.insert(0, {str(module.parent)!r})\n"
        "import tiny_kernel\n"
        "print(tiny_kernel.twice(21))\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("NUMBA_CACHE_DIR", "XDG_CACHE_HOME")}
    env["HOME"] = str(blocker / "home")
    try:
        done = subprocess.run(
            [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120
        )
    finally:
        module.parent.chmod(0o700)
    assert done.returncode == 0, done.stderr
    where, value = done.stdout.split()
    assert value == "42" and Path(where).parent == tmp_path
    assert any(Path(where).rglob("*.nbi")), "the kernel was not cached in the fallback directory"


def test_an_unwritable_user_setting_is_named(no_home: Path, monkeypatch) -> None:
    """The user's NUMBA_CACHE_DIR is kept, but when nothing can hold the cache it is named."""
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(no_home / "not-a-dir" / "cache"))
    with pytest.raises(QadlError) as err:
        cache.configure_numba_cache()
    assert err.value.diagnostics[0].code == "E0806"
    assert "NUMBA_CACHE_DIR=" in err.value.diagnostics[0].message


def _two_modules(tmp_path: Path) -> tuple[Path, Path]:
    """``caller.f`` (cached) compiles in ``callee.inc`` (cached, another file)."""
    src = tmp_path / "src"
    src.mkdir()
    callee = src / "callee.py"
    callee.write_text("from numba import njit\n\n@njit(cache=True)\ndef inc():\n    return 1\n")
    caller = src / "caller.py"
    caller.write_text(
        "from numba import njit\nfrom callee import inc\n\n"
        "@njit(cache=True)\ndef f():\n    return inc() + 10\n"
    )
    return caller, callee


def _run_caller(tmp_path: Path, sources: tuple[Path, ...]) -> str:
    code = (
        "import sys\n"
        f"sys.path.insert(0, {str(sources[0].parent)!r})\n"
        "from pathlib import Path\n"
        "from qadl.backends.sim.cache import purge_stale_kernels\n"
        f"sources = tuple(map(Path, {[str(s) for s in sources]!r}))\n"
        f"purge_stale_kernels({str(tmp_path / 'cache')!r}, sources)\n"
        "from caller import f\n"
        "print(f())\n"
    )
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path / "cache")}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_a_kernel_is_recompiled_when_a_kernel_it_calls_changes(tmp_path: Path) -> None:
    """Numba checks a cached kernel against its own file only (numba/numba#1833): without
    the purge the second run printed the old 11 from ``caller``'s cache."""
    caller, callee = _two_modules(tmp_path)
    sources = (caller, callee)
    assert _run_caller(tmp_path, sources) == "11"
    assert list((tmp_path / "cache").rglob("caller.f-*.nbi"))
    callee.write_text(callee.read_text().replace("return 1", "return 2"))
    later = callee.stat().st_mtime + 5
    os.utime(callee, (later, later))
    assert _run_caller(tmp_path, sources) == "12"


def test_unchanged_sources_keep_their_cache(tmp_path: Path) -> None:
    """Same fingerprint: nothing deleted; a change deletes only the sources' own kernels."""
    caller, callee = (Path(p) for p in _two_modules(tmp_path))
    sources = (caller, callee)
    cache_dir = str(tmp_path / "cache")
    assert cache.purge_stale_kernels.__wrapped__(cache_dir, sources)
    where = cache._kernel_cache_dir(callee, cache_dir)
    where.mkdir(parents=True)
    kept = [where / "callee.inc-4.py311.nbi", where / "other.g-1.py311.nbi"]
    for path in kept:
        path.write_text("")
    assert not cache.purge_stale_kernels.__wrapped__(cache_dir, sources)
    assert all(path.exists() for path in kept)
    os.utime(caller, (caller.stat().st_mtime + 5,) * 2)
    assert cache.purge_stale_kernels.__wrapped__(cache_dir, sources)
    assert not kept[0].exists() and kept[1].exists()
    assert (tmp_path / "cache" / cache.STAMP_NAME).read_text()


def test_kernel_sources_cover_every_kernel_module() -> None:
    """Every module that defines cached kernels is fingerprinted, and so is every qadl
    module they import, but for those whose globals no kernel reads."""
    import ast

    package = Path(cache.__file__).resolve().parents[2]
    listed = set(cache.kernel_sources())
    assert all(path.is_file() for path in listed)
    defines = {p for p in package.rglob("*.py") if any(
        line.startswith(("@njit", "@inner")) for line in p.read_text().splitlines())}
    assert defines and defines <= listed
    no_kernel_globals = {"cache", "openmp", "errors", "diagnostics", "source", "threads"}
    for path in defines:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("qadl"):
                for name in (node.module, *(f"{node.module}.{a.name}" for a in node.names)):
                    module = package.parent / (name.replace(".", "/") + ".py")
                    if module.is_file() and module.stem not in no_kernel_globals:
                        assert module in listed, f"{path.name} imports {module.name}"
