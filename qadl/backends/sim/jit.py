"""How qadl compiles its kernels: ``inner`` and ``leaf``, Numba options for kernels that only
other kernels call.

Numba builds, for every function it compiles, a CPython wrapper, a C wrapper, and machine
code of its own, and optimises its module as a whole; a kernel that only compiled callers
call needs none of these, since every caller links the kernel's IR into its own module
and optimises and compiles it there. ``inner`` skips them (``_LinkOnlyLibrary``, where
this Numba has the private members it builds on); ``leaf`` also drops reference counting.
"""

from __future__ import annotations

from qadl.backends.sim.cache import configure_numba_cache

configure_numba_cache()

import llvmlite.binding as llvm  # noqa: E402
import llvmlite.ir as llvmir  # noqa: E402
from numba import njit  # noqa: E402
from numba.core import cgutils  # noqa: E402
from numba.core.codegen import JITCodeLibrary  # noqa: E402
from numba.core.compiler import CompilerBase, DefaultPassBuilder  # noqa: E402
from numba.core.compiler_machinery import PassManager, register_pass  # noqa: E402
from numba.core.registry import CPUDispatcher  # noqa: E402
from numba.core.typed_passes import NativeLowering  # noqa: E402

__all__ = ["inner", "leaf"]


class _LinkOnlyLibrary(JITCodeLibrary):
    """A code library that is only ever linked into its callers' modules.

    Numba optimises every compiled function's module as a whole (its callees linked in)
    and generates its machine code, although a kernel without a Python entry point
    never runs that code: each caller links the kernel's IR into its own module, and
    optimises and compiles everything there again, at every level of the call tree.
    This library does neither: its functions get Numba's per-function passes only, and
    the callers' optimisation does the rest (1.4 of 8.8 CPU seconds before the
    flagship's first gradient with an empty cache). The callers' machine code differs
    (LLVM inlines what it sees differently); the flagship's training steps, outputs and
    gradients stayed equal bit for bit, and as fast. The on-disk cache keeps the IR
    (bitcode), which is compiled to machine code only if a later process loads it.
    """

    def _optimize_final_module(self):
        pass  # the callers optimise it, with their own code

    def _finalize_final_module(self):
        self._finalize_dynamic_globals()
        self._verify_declare_only_symbols()
        self._finalized = True

    def get_pointer_to_function(self, name):
        return 0  # no entry point: nothing here is ever called directly

    @property
    def codegen(self):
        return _NoEnvironment(self._codegen)

    def serialize_using_object_code(self):
        return self.serialize_using_bitcode()


class _NoEnvironment:
    """The codegen of a ``_LinkOnlyLibrary``, with its own ``set_env``.

    After compiling a function Numba stores the address of its environment (what it
    needs to call back into Python, e.g. to print an array) in a global of its machine
    code. A link-only library has no machine code, so ``set_env`` first gives the global
    a definition of its own in the JIT; the copies callers link resolve to it, as they
    resolved to the kernel's own machine code before.
    """

    def __init__(self, codegen):
        self._codegen = codegen

    def set_env(self, env_name, env) -> None:
        module = self._codegen._create_empty_module(env_name)
        slot = llvmir.GlobalVariable(module, cgutils.voidptr_t, name=env_name)
        slot.linkage = "common"
        slot.initializer = cgutils.get_null_value(cgutils.voidptr_t)
        self._codegen._engine.add_module(llvm.parse_assembly(str(module)))
        self._codegen._engine.finalize_object()
        self._codegen.set_env(env_name, env)

    def __getattr__(self, name):
        return getattr(self._codegen, name)


def _link_only_supported() -> bool:
    """Whether this Numba has the private members ``_LinkOnlyLibrary`` and
    ``_NoEnvironment`` build on; without them ``inner`` compiles as plain ``njit``
    (slower to compile, the same kernels)."""
    from numba.core.codegen import JITCPUCodegen

    library = ("_optimize_final_module", "_finalize_final_module", "_finalize_dynamic_globals",
               "_verify_declare_only_symbols", "serialize_using_bitcode",
               "serialize_using_object_code", "enable_object_caching")
    codegen = ("_create_empty_module", "set_env")
    return (all(hasattr(JITCodeLibrary, name) for name in library)
            and all(hasattr(JITCPUCodegen, name) for name in codegen))


@register_pass(mutates_CFG=True, analysis_only=False)
class _LinkOnlyLowering(NativeLowering):
    """Numba's lowering into a ``_LinkOnlyLibrary``."""

    _name = "qadl_link_only_lowering"

    def run_pass(self, state):
        if state.library is None:
            codegen = state.targetctx.codegen()
            state.library = _LinkOnlyLibrary(codegen, state.func_id.func_qualname)
            state.library.enable_object_caching()
        return super().run_pass(state)


class _InnerCompiler(CompilerBase):
    """Numba's nopython pipeline with ``_LinkOnlyLowering`` for ``NativeLowering``."""

    def define_pipelines(self):
        build = DefaultPassBuilder
        pm = PassManager("qadl_inner")
        pm.passes.extend(build.define_untyped_pipeline(self.state).passes)
        pm.passes.extend(build.define_typed_pipeline(self.state).passes)
        pm.passes.extend(
            (_LinkOnlyLowering if pass_class is NativeLowering else pass_class, what)
            for pass_class, what in build.define_nopython_lowering_pipeline(self.state).passes
        )
        pm.finalize()
        return [pm]


_LINK_ONLY = _link_only_supported()


def inner(**options):
    """``njit(cache=True)`` for a kernel only other kernels call: no Python entry point.

    Numba builds a CPython wrapper (boxing and unboxing every argument, a dozen arrays
    for a program tuple) and a C wrapper for every function it compiles, also for
    those only called from compiled code; skipping them saved 1.5 of 12 CPU seconds
    before the flagship's first gradient with an empty cache. Nor does it generate the
    kernel's own machine code (``_LinkOnlyLibrary``). Such a kernel has no entry point:
    calling it from Python raises ``TypeError`` (``_CompiledCallersOnly``).
    """
    if _LINK_ONLY:
        options = {"pipeline_class": _InnerCompiler, **options}
    compile_ = njit(cache=True, no_cpython_wrapper=True, no_cfunc_wrapper=True, **options)

    def decorate(function):
        dispatcher = compile_(function)
        dispatcher.__class__ = _CompiledCallersOnly
        return dispatcher

    return decorate


class _CompiledCallersOnly(CPUDispatcher):
    """The dispatcher of an ``inner`` kernel: compiled kernels call it as any other, a call
    from Python is refused (it has no entry point to call)."""

    def __call__(self, *args, **kwargs):
        raise TypeError(f"{self.py_func.__qualname__} is called only from compiled kernels")


def leaf(**options):
    """``inner`` for a kernel that neither allocates nor returns an array: compiled without
    Numba's reference counting (``_nrt=False``).

    Numba counts every array argument of a compiled call in and out (two atomic
    operations per array per call) and prunes few of those pairs in functions with
    branches; in a W1 training step, 11-13 % of the time. The arrays a leaf receives are
    held by its caller for the whole call. Numba refuses to compile an allocation in
    such a kernel.
    """
    return inner(_nrt=False, **options)
