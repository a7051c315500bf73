"""``jit.inner``: kernels only other kernels call, without machine code of their own."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]

MODULE = """
from numba import njit

from qadl.backends.sim.jit import inner, leaf


@leaf()
def scale(a, f):
    for i in range(a.shape[0]):
        a[i] *= f


@inner()
def total(a):
    s = 0.0
    for i in range(a.shape[0]):
        s += a[i]
    return s


@njit(cache=True)
def first(a):
    scale(a, 2.0)
    return total(a)


@njit(cache=True)
def second(a):
    scale(a, 3.0)
    return total(a) + 1.0
"""


def _run(tmp_path: Path, cache: Path, body: str) -> str:
    env = {**os.environ, "NUMBA_CACHE_DIR": str(cache),
           "PYTHONPATH": os.pathsep.join([str(tmp_path), str(ROOT)])}
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(body)], env=env, check=True,
                          capture_output=True, text=True, cwd=tmp_path)
    return done.stdout.strip()


def test_inner_kernels_run_inside_callers():
    from numba import njit

    from qadl.backends.sim.jit import inner

    @inner()
    def double(a):
        for i in range(a.shape[0]):
            a[i] *= 2.0

    @njit
    def caller(a):
        double(a)
        return a.sum()

    a = np.arange(5.0)
    assert caller(a) == 20.0
    np.testing.assert_array_equal(a, 2 * np.arange(5.0))


def test_inner_kernels_reach_their_environment(capfd):
    """Printing an array calls back into Python through the kernel's environment, which a
    kernel without machine code of its own still provides to its callers' copies."""
    from numba import njit

    from qadl.backends.sim.jit import inner

    @inner()
    def show(a):
        print(a)

    @njit
    def caller(a):
        show(a)
        return a.size

    assert caller(np.arange(3.0)) == 3
    assert capfd.readouterr().out.strip() == "[0. 1. 2.]"


def test_cached_inner_kernels_serve_a_caller_compiled_in_a_later_process(tmp_path):
    """An inner kernel compiled afresh has no machine code of its own; the on-disk cache
    holds its IR, and a process that compiles a new caller loads it from there (and
    compiles it to machine code) instead of recompiling it."""
    (tmp_path / "innermod.py").write_text(MODULE)
    cache = tmp_path / "cache"
    out = _run(tmp_path, cache, """
        import numpy as np
        import innermod
        from qadl.backends.sim.jit import _LinkOnlyLibrary
        print(innermod.first(np.arange(4.0)))
        for kernel in (innermod.total, innermod.scale):
            library = kernel.overloads[kernel.signatures[0]].library
            assert isinstance(library, _LinkOnlyLibrary), library
            assert library.get_pointer_to_function(library.name) == 0
    """)
    assert float(out) == 12.0
    out = _run(tmp_path, cache, """
        import numpy as np
        import innermod
        print(innermod.second(np.arange(4.0)), innermod.first(np.arange(4.0)))
        hits = lambda kernel: sum(kernel.stats.cache_hits.values())
        print(hits(innermod.total), hits(innermod.scale), hits(innermod.first))
    """)
    values, hits = out.splitlines()
    assert [float(v) for v in values.split()] == [19.0, 12.0]
    assert [int(v) for v in hits.split()] == [1, 1, 1]


def test_an_inner_kernel_refuses_a_call_from_python():
    """No entry point to call: a clear TypeError, not a crash."""
    from qadl.backends.sim import soa_kernels

    with pytest.raises(TypeError, match="only from compiled kernels"):
        soa_kernels._add_r((0.0,) * 8, 1j, 1j, 1j, 1j, np.zeros(4, dtype=complex))


def test_without_the_private_numba_members_inner_is_plain_njit(monkeypatch):
    """A Numba without the members the link-only library needs: ``inner`` kernels compile
    as ordinary wrapper-less kernels, and their callers give the same results."""
    from numba import njit

    from qadl.backends.sim import jit

    assert jit._link_only_supported() == jit._LINK_ONLY
    monkeypatch.setattr(jit, "_LINK_ONLY", False)

    @jit.inner()
    def halve(a):
        for i in range(a.shape[0]):
            a[i] *= 0.5

    @njit
    def caller(a):
        halve(a)
        return a.sum()

    assert "pipeline_class" not in halve.targetoptions
    assert caller(np.arange(4.0)) == 3.0
    with pytest.raises(TypeError, match="only from compiled kernels"):
        halve(np.arange(4.0))
