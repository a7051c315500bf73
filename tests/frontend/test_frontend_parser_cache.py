"""The parser cache never runs code from a planted file (issue 17: planted Lark pickle)."""

from __future__ import annotations

import functools
import os
import pickle
import stat
import tempfile
from pathlib import Path

import pytest
from lark import Lark

from qadl.frontend import grammar as G
from qadl.frontend.layout import Layout

PROGRAM = "const a = 1\ngate g(t: angle) { rx(t) q }\n"


class _Payload:
    """Unpickling this creates ``marker``: proof that a planted pickle was loaded."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


def _plant(path: Path, marker: Path) -> None:
    # Lark's cache format: a sha line, then pickles; the first pickle.load runs the payload.
    path.write_bytes(b"0" * 64 + b"\n" + pickle.dumps(_Payload(marker)))


def _old_style_parser() -> Lark:
    """How qadl built its parser before the fix (Lark's ``cache=True``)."""
    return Lark(
        G.grammar_text(),
        parser="lalr",
        lexer="contextual",
        propagate_positions=True,
        maybe_placeholders=True,
        postlex=Layout(),
        strict=False,
        cache=True,
    )


@functools.cache
def _built() -> Lark:
    return _BUILD()


_BUILD = G.build_parser


@pytest.fixture
def dirs(tmp_path, monkeypatch):
    """A private temp dir (for Lark's old cache name) and XDG cache home."""
    monkeypatch.setattr(G, "build_parser", _built)  # analysing the grammar once is enough
    shared_tmp = tmp_path / "tmp"
    shared_tmp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(shared_tmp))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return shared_tmp, tmp_path / "cache"


def test_planted_pickle_in_temp_dir_is_never_loaded(dirs, tmp_path):
    shared_tmp, _ = dirs
    _old_style_parser()  # the old code wrote its cache here: learn the predictable name
    (old_cache,) = shared_tmp.glob(".lark_cache_*.tmp")
    marker = tmp_path / "pwned"
    _plant(old_cache, marker)
    _old_style_parser()  # control: the old code runs the payload (Lark then logs and rebuilds)
    assert marker.exists(), "control failed: the planted pickle was not loaded by Lark"
    marker.unlink()

    parser = G.cached_parser(G.cache_dir())
    assert parser.parse(PROGRAM).data == "start"
    G.cached_parser(G.cache_dir())  # and again, now from the new cache
    assert not marker.exists()


def test_cache_dir_is_private_and_reused(dirs):
    _, cache_home = dirs
    directory = G.cache_dir()
    assert directory == cache_home / "qadl"
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    G.cached_parser(directory)
    (cached,) = directory.glob("parser-*.json")
    assert not stat.S_IMODE(cached.stat().st_mode) & 0o077
    loaded = G._load(cached)
    assert loaded is not None
    assert loaded.parse(PROGRAM) == G.build_parser().parse(PROGRAM)


def test_planted_pickle_in_new_location_is_not_unpickled(dirs, tmp_path, monkeypatch):
    directory = G.cache_dir()
    G.cached_parser(directory)
    (cached,) = directory.glob("parser-*.json")
    marker = tmp_path / "pwned"
    _plant(cached, marker)
    calls = []
    monkeypatch.setattr(pickle, "load", lambda *a, **k: calls.append(a))
    monkeypatch.setattr(pickle, "loads", lambda *a, **k: calls.append(a))
    parser = G.cached_parser(directory)
    assert parser.parse(PROGRAM).data == "start"
    assert not marker.exists() and not calls
    assert G._load(cached) is not None  # the damaged file was replaced by a good one


def test_group_writable_cache_dir_is_refused(dirs):
    _, cache_home = dirs
    directory = cache_home / "qadl"
    directory.mkdir(parents=True)
    directory.chmod(0o777)
    assert G.cache_dir() is None
    assert G.cached_parser(None).parse(PROGRAM).data == "start"


def test_symlinked_cache_dir_is_refused(dirs, tmp_path):
    _, cache_home = dirs
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir(mode=0o700)
    cache_home.mkdir()
    (cache_home / "qadl").symlink_to(elsewhere)
    assert G.cache_dir() is None


def test_writable_or_foreign_cache_file_is_not_read(dirs, monkeypatch):
    directory = G.cache_dir()
    G.cached_parser(directory)
    (cached,) = directory.glob("parser-*.json")
    assert G._load(cached) is not None  # control: a good file is read
    cached.chmod(0o666)
    assert G._load(cached) is None
    cached.chmod(0o600)
    if os.geteuid() == 0:
        os.chown(cached, 12345, 12345)
        assert G._load(cached) is None
    else:  # cannot give a file away: pretend we are someone else instead
        monkeypatch.setattr(os, "geteuid", lambda: os.stat(cached).st_uid + 1)
        assert G._load(cached) is None


def test_stale_or_damaged_cache_is_rebuilt(dirs):
    directory = G.cache_dir()
    G.cached_parser(directory)
    (cached,) = directory.glob("parser-*.json")
    cached.write_text('{"fingerprint": "old", "data": {}, "memo": {}}', encoding="utf-8")
    assert G._load(cached) is None
    cached.write_text("{not json", encoding="utf-8")
    assert G.cached_parser(directory).parse(PROGRAM).data == "start"
    assert G._load(cached) is not None
