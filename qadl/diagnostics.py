"""Diagnostics: what went wrong and where, and their rendering as compiler-style text."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from qadl.source import NO_SPAN, SourceMap, Span

__all__ = ["MAX_ERRORS", "Diagnostic", "DiagnosticBag", "Label", "Severity", "render", "render_all"]

MAX_ERRORS = 20
"""Stop collecting after this many errors in one phase."""


class Severity(enum.Enum):
    """How serious a diagnostic is."""

    ERROR = "error"
    WARNING = "warning"
    NOTE = "note"


@dataclass(frozen=True)
class Label:
    """A span with an optional short message printed beside its caret."""

    span: Span
    message: str = ""


@dataclass(frozen=True)
class Diagnostic:
    """One problem found in the user's program.

    Codes are stable and catalogued in ``docs/errors.md``: E01xx syntax,
    E02xx names and imports, E03xx types and shapes, E04xx qubits, E05xx
    model/data/train/attack/defend options, E06xx targets and noise, E07xx run time
    (data files, checkpoints).
    """

    code: str
    message: str
    primary: Label
    secondary: tuple[Label, ...] = ()
    help: str | None = None
    severity: Severity = Severity.ERROR

    @classmethod
    def error(
        cls, code: str, message: str, span: Span, *, label: str = "", help: str | None = None
    ) -> Diagnostic:
        """Shorthand for an error with one primary label."""
        return cls(code, message, Label(span, label), help=help)


class DiagnosticBag:
    """Collects diagnostics during one phase; the phase raises once at its end."""

    def __init__(self) -> None:
        self.items: list[Diagnostic] = []

    def add(self, diagnostic: Diagnostic) -> None:
        """Record a diagnostic (silently dropped past ``MAX_ERRORS``)."""
        if len(self.items) < MAX_ERRORS:
            self.items.append(diagnostic)

    def error(
        self, code: str, message: str, span: Span, *, label: str = "", help: str | None = None
    ) -> None:
        """Record an error with one primary label."""
        self.add(Diagnostic.error(code, message, span, label=label, help=help))

    @property
    def has_errors(self) -> bool:
        """True once any error was recorded."""
        return any(d.severity is Severity.ERROR for d in self.items)

    def raise_if_errors(self) -> None:
        """Raise ``QadlError`` with everything collected, if any error was recorded."""
        if self.has_errors:
            from qadl.errors import QadlError  # errors imports diagnostics, not the reverse

            raise QadlError(tuple(self.items))


def _render_label(label: Label, sources: SourceMap, marker: str) -> list[str]:
    """Gutter lines for one label: the source line and a caret run under the span."""
    source = sources.get(label.span.file)
    if source is None or label.span is NO_SPAN:
        return []
    line, col = source.line_col(label.span.start)
    # the last character covered, so a span ending at a newline stays on its line
    end_line, end_col = source.line_col(max(label.span.end - 1, label.span.start))
    end_col += 1
    text = source.line_text(line).expandtabs(4)
    raw = source.line_text(line)
    col = len(raw[: col - 1].expandtabs(4)) + 1
    width = (
        max(1, len(raw[: end_col - 1].expandtabs(4)) + 1 - col)
        if end_line == line
        else max(1, len(text) - col + 1)
    )
    gutter = " " * len(str(line))
    suffix = f" {label.message}" if label.message else ""
    if end_line != line:
        suffix += " ..."
    return [
        f"{gutter} |",
        f"{line} | {text}",
        f"{gutter} | {' ' * (col - 1)}{marker * width}{suffix}",
    ]


def render(diagnostic: Diagnostic, sources: SourceMap) -> str:
    """Render one diagnostic as ``path:line:col: error[CODE]: message`` plus the source context."""
    span = diagnostic.primary.span
    source = sources.get(span.file)
    where = span.file
    if source is not None and span is not NO_SPAN:
        line, col = source.line_col(span.start)
        where = f"{span.file}:{line}:{col}"
    lines = [f"{where}: {diagnostic.severity.value}[{diagnostic.code}]: {diagnostic.message}"]
    lines += _render_label(diagnostic.primary, sources, "^")
    for label in diagnostic.secondary:
        lines += _render_label(label, sources, "-")
    if diagnostic.help:
        lines += [f"{' ' * 2}|" if len(lines) > 1 else "", f"  = help: {diagnostic.help}"]
        lines = [ln for ln in lines if ln != ""]
    return "\n".join(lines)


def render_all(diagnostics: tuple[Diagnostic, ...] | list[Diagnostic], sources: SourceMap) -> str:
    """Render several diagnostics separated by blank lines, with an error count at the end."""
    body = "\n\n".join(render(d, sources) for d in diagnostics)
    errors = sum(d.severity is Severity.ERROR for d in diagnostics)
    if errors > 1:
        body += f"\n\nfound {errors} errors"
    return body
