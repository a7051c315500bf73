"""The two exception types that may reach the command line: user errors and internal errors."""

from __future__ import annotations

from qadl.diagnostics import Diagnostic
from qadl.source import Span

__all__ = ["InternalError", "QadlError"]


class QadlError(Exception):
    """The user's program (or data) is wrong; carries located diagnostics. CLI exit code 1."""

    def __init__(self, diagnostics: tuple[Diagnostic, ...]) -> None:
        self.diagnostics = tuple(diagnostics)
        super().__init__("; ".join(d.message for d in self.diagnostics))

    def __reduce__(self) -> tuple[type[QadlError], tuple[tuple[Diagnostic, ...]]]:
        # pickled by its diagnostics (not its message): a task's error crosses to the client
        return (type(self), (self.diagnostics,))

    @classmethod
    def at(
        cls, code: str, message: str, span: Span, *, label: str = "", help: str | None = None
    ) -> QadlError:
        """Build an error with a single diagnostic."""
        return cls((Diagnostic.error(code, message, span, label=label, help=help),))


class InternalError(Exception):
    """A bug in qadl itself (never the user's fault). CLI exit code 101."""
