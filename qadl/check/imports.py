"""Loads the root file and all it imports (stdlib and local files), sandboxed and acyclic."""

from __future__ import annotations

import difflib
import os
from dataclasses import dataclass
from pathlib import Path

from qadl.diagnostics import Diagnostic, DiagnosticBag, Label
from qadl.frontend import ast as A
from qadl.frontend.parse import parse
from qadl.resources import stdlib_root
from qadl.source import SourceFile, SourceMap, Span

__all__ = ["STDLIB_PREFIX", "LoadedModule", "ModuleGraph", "load_modules", "stdlib_modules"]

STDLIB_PREFIX = "<stdlib>"
"""How stdlib files are named in diagnostics (stable whatever the install location)."""


@dataclass(frozen=True)
class LoadedModule:
    """One parsed file and the modules its imports resolved to (by key, in import order)."""

    key: str
    """The display path: as the user named the root, relative to it for local imports,
    ``<stdlib>/a/b.qadl`` for stdlib modules."""
    module: A.Module
    imports: tuple[str, ...]
    is_stdlib: bool


@dataclass(frozen=True)
class ModuleGraph:
    """Every file of one compilation, the root first."""

    root: str
    modules: dict[str, LoadedModule]


def stdlib_modules() -> tuple[str, ...]:
    """Dotted names of every stdlib module (for did-you-mean)."""
    root = stdlib_root()
    found = []
    for path in sorted(root.rglob("*.qadl")):
        found.append(".".join(path.relative_to(root).with_suffix("").parts))
    return tuple(found)


@dataclass
class _Loader:
    sources: SourceMap
    bag: DiagnosticBag
    project: Path
    real: dict[str, Path]
    done: dict[str, LoadedModule]

    def resolve(self, imp: A.Import, importer: str) -> tuple[str, Path] | None:
        """Display key and real path of an import, or None after recording an error."""
        if imp.module is not None:
            return self._resolve_stdlib(imp)
        return self._resolve_local(imp, importer)

    def _resolve_stdlib(self, imp: A.Import) -> tuple[str, Path] | None:
        rel = Path(*imp.module).with_suffix(".qadl")
        path = stdlib_root() / rel
        if path.is_file():
            return f"{STDLIB_PREFIX}/{rel.as_posix()}", path
        dotted = ".".join(imp.module)
        close = difflib.get_close_matches(dotted, stdlib_modules(), n=1)
        self.bag.error(
            "E0210",
            f"no stdlib module `{dotted}`",
            imp.span,
            label="not found",
            help=f"did you mean `{close[0]}`?"
            if close
            else f"stdlib modules: {', '.join(stdlib_modules()) or '(none)'}",
        )
        return None

    def _resolve_local(self, imp: A.Import, importer: str) -> tuple[str, Path] | None:
        base = self.real[importer].parent
        path = (base / imp.path).resolve()
        sandbox = self.real[importer].is_relative_to(
            stdlib_root().resolve()
        ) and path.is_relative_to(stdlib_root().resolve())
        if not (path.is_relative_to(self.project) or sandbox):
            self.bag.error(
                "E0212",
                f"import `{imp.path}` escapes the project directory",
                imp.span,
                label="outside the project",
                help=f"imports must stay inside `{self.project.name}/` (the root file's directory)"
                " or the stdlib",
            )
            return None
        if not path.is_file():
            self.bag.error(
                "E0211",
                f"cannot find file `{imp.path}`",
                imp.span,
                label="no such file",
                help=f"the path is relative to the importing file ({importer})",
            )
            return None
        if importer.startswith(STDLIB_PREFIX):
            key = f"{STDLIB_PREFIX}/{path.relative_to(stdlib_root().resolve()).as_posix()}"
        else:
            key = os.path.normpath(os.path.join(os.path.dirname(importer), imp.path))
        return key, path

    def _read(self, key: str, path: Path, at: Span) -> str | None:
        """The text of an imported file, or None after an error located at the import."""
        try:
            data = path.read_bytes()
        except OSError as err:
            self.bag.error(
                "E0002",
                f"cannot read imported file `{key}`: {err.strerror or err}",
                at,
                label="imported here",
            )
            return None
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError as err:
            line = data.count(b"\n", 0, err.start) + 1
            self.bag.error(
                "E0003",
                f"imported file `{key}` is not UTF-8 text: byte 0x{data[err.start]:02x}"
                f" on its line {line}",
                at,
                label="imported here",
                help="save the file as UTF-8",
            )
            return None

    def load(self, key: str, path: Path, stack: tuple[tuple[str, Span], ...]) -> None:
        """Parse ``path`` (once) and load its imports depth-first, reporting cycles."""
        if key in self.done:
            return
        text = self._read(key, path, stack[-1][1])
        if text is None:
            return
        source = self.sources.add(SourceFile(key, text))
        self.real[key] = path.resolve()
        module = parse(source)
        imports: list[str] = []
        for decl in module.decls:
            if not isinstance(decl, A.Import):
                continue
            target = self.resolve(decl, key)
            if target is None:
                continue
            child_key, child_path = target
            chain = [k for k, _ in stack] + [key]
            if child_key in chain:
                cycle = " -> ".join([*chain[chain.index(child_key) :], child_key])
                self.bag.add(
                    Diagnostic(
                        "E0213",
                        f"import cycle: {cycle}",
                        Label(decl.span, "this import closes the cycle"),
                        help="move the shared definitions into a third file that both import",
                    )
                )
                continue
            imports.append(child_key)
            self.load(child_key, child_path, (*stack, (key, decl.span)))
        self.done[key] = LoadedModule(key, module, tuple(imports), key.startswith(STDLIB_PREFIX))


def load_modules(
    root: SourceFile, sources: SourceMap, *, real_path: Path | None = None
) -> ModuleGraph:
    """Parse ``root`` and, transitively, every file it imports.

    Raises:
        QadlError: syntax errors (first file that fails) or import errors (all of them).
    """
    sources.add(root)
    real = (real_path or Path(root.path)).resolve()
    loader = _Loader(sources, DiagnosticBag(), real.parent, {root.path: real}, {})
    module = parse(root)
    imports = []
    for decl in module.decls:
        if isinstance(decl, A.Import):
            target = loader.resolve(decl, root.path)
            if target is None:
                continue
            if target[0] == root.path:
                loader.bag.error(
                    "E0213",
                    f"import cycle: {root.path} -> {root.path}",
                    decl.span,
                    label="a file cannot import itself",
                )
                continue
            imports.append(target[0])
            loader.load(target[0], target[1], ((root.path, decl.span),))
    loader.bag.raise_if_errors()
    modules = {root.path: LoadedModule(root.path, module, tuple(imports), False), **loader.done}
    return ModuleGraph(root.path, modules)
