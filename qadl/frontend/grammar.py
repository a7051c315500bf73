"""Builds the LALR parser for qadl once; every Lark option lives here.

Analysing the grammar takes about half a second, so the analysed tables are cached between
runs. Lark's own ``cache=True`` is never used: it unpickles a file with a predictable name in
the shared temp directory, so anyone who can write there could run code as the user. Our
cache holds JSON (loading it cannot run code) in a directory that belongs to the user and
that nobody else can write; when no such directory is available the parser is built afresh.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import stat
import sys
import tempfile
from pathlib import Path
from typing import Any

import lark
from lark import Lark
from lark.grammar import Rule
from lark.lark import _LOAD_ALLOWED_OPTIONS
from lark.lexer import TerminalDef

from qadl.frontend.layout import Layout
from qadl.resources import grammar_path

__all__ = ["build_parser", "cache_dir", "cached_parser", "grammar_text", "parser"]

_OPTIONS: dict[str, Any] = {
    "parser": "lalr",
    "lexer": "contextual",
    "propagate_positions": True,
    "maybe_placeholders": True,
}
_MAX_CACHE_BYTES = 4 << 20
"""A cache file larger than this is not ours (the real one is about 200 kB)."""


@functools.cache
def grammar_text() -> str:
    """The text of ``qadl.lark``."""
    return grammar_path().read_text(encoding="utf-8")


def build_parser(*, strict: bool = False) -> Lark:
    """A fresh LALR parser (``strict=True`` also checks terminal collisions; needs interegular)."""
    return Lark(grammar_text(), postlex=Layout(), strict=strict, **_OPTIONS)


@functools.cache
def parser() -> Lark:
    """The shared parser (built on first use, from the user's cache when it is safe)."""
    return cached_parser(cache_dir())


def cache_dir() -> Path | None:
    """``$XDG_CACHE_HOME/qadl`` (or ``~/.cache/qadl``) if it is safe to use, else None.

    Safe means: a real directory (not a link), owned by the current user, that neither the
    group nor others can write. It is created with mode 0700 when missing.
    """
    if not hasattr(os, "geteuid"):
        return None  # no POSIX ownership to check
    base = os.environ.get("XDG_CACHE_HOME", "")
    if not os.path.isabs(base):
        try:
            base = str(Path.home() / ".cache")
        except (RuntimeError, KeyError):
            return None
    directory = Path(base) / "qadl"
    try:
        directory.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        with contextlib.suppress(FileExistsError):
            directory.mkdir(mode=0o700)
        return directory if _owned_and_private(os.lstat(directory), want_dir=True) else None
    except OSError:
        return None


def _owned_and_private(st: os.stat_result, *, want_dir: bool) -> bool:
    kind_ok = stat.S_ISDIR(st.st_mode) if want_dir else stat.S_ISREG(st.st_mode)
    return kind_ok and st.st_uid == os.geteuid() and not st.st_mode & 0o022


def _fingerprint() -> str:
    """Changes whenever the grammar, Lark, Python or the parser options change."""
    key = json.dumps([grammar_text(), lark.__version__, sys.version_info[:2], _OPTIONS])
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def cached_parser(directory: Path | None) -> Lark:
    """The parser, loaded from ``directory`` when a valid cache is there, else built (and saved)."""
    if directory is None:
        return build_parser()
    path = directory / f"parser-{_fingerprint()[:32]}.json"
    loaded = _load(path)
    if loaded is not None:
        return loaded
    built = build_parser()
    # the cache only saves start-up time: never fail a compilation over it
    with contextlib.suppress(OSError, TypeError, ValueError, AttributeError):
        _save(built, path)
    return built


def _load(path: Path) -> Lark | None:
    """The cached parser at ``path``, or None if it is missing, unsafe or not a valid cache."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError:
        return None
    try:
        with os.fdopen(fd, "rb") as f:
            st = os.fstat(f.fileno())
            if not _owned_and_private(st, want_dir=False) or st.st_size > _MAX_CACHE_BYTES:
                return None
            doc = json.loads(f.read(), object_hook=_decode)
        if not isinstance(doc, dict) or doc.get("fingerprint") != _fingerprint():
            return None
        return Lark.__new__(Lark)._load(
            {"data": doc["data"], "memo": doc["memo"]},
            postlex=Layout(),
            propagate_positions=_OPTIONS["propagate_positions"],
        )
    except Exception:  # any damage to the cache means: rebuild it
        return None


def _save(built: Lark, path: Path) -> None:
    """Write the cache atomically (a private temp file renamed into place)."""
    data, memo = built.memo_serialize([TerminalDef, Rule])
    data["options"] = {k: v for k, v in data["options"].items() if k not in _LOAD_ALLOWED_OPTIONS}
    text = json.dumps({"fingerprint": _fingerprint(), "data": _encode(data), "memo": _encode(memo)})
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".parser-", suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
        tmp = None
    finally:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)


# Lark's serialised tables use tuples and int dict keys, which JSON lacks: tag them.
def _encode(value: Any) -> Any:
    if isinstance(value, dict):
        if all(isinstance(k, str) and not k.startswith("__") for k in value):
            return {k: _encode(v) for k, v in value.items()}
        return {"__items__": [[_encode(k), _encode(v)] for k, v in value.items()]}
    if isinstance(value, tuple):
        return {"__tuple__": [_encode(v) for v in value]}
    if isinstance(value, list):
        return [_encode(v) for v in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    raise TypeError(f"cannot cache a {type(value).__name__}")


def _decode(obj: dict[str, Any]) -> Any:
    if "__tuple__" in obj:
        return tuple(obj["__tuple__"])
    if "__items__" in obj:
        return dict(obj["__items__"])
    return obj
