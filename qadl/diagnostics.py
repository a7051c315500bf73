"""Diagnostics: what went wrong and where, and their rendering as compiler-style text."""

from __future__ import annotations

import enum
import unicodedata
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


_MAX_SHOWN = 100
"""Columns of a source line shown in a snippet; longer lines are cut around the caret."""
_CONTEXT = 30
"""Columns shown before the caret when a long line is cut."""


def _visible(text: str) -> str:
    """``text`` with control, format and line-separator characters shown as U+FFFD.

    Printing a text-direction override or an escape sequence raw would reorder or restyle
    the terminal output; one replacement character per character keeps the carets aligned.
    """
    if text.isascii() and text.isprintable():
        return text
    return "".join("\ufffd" if _hidden(ch) else ch for ch in text)


def _hidden(ch: str) -> bool:
    return ch != "\t" and unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Zl", "Zp")


def _window(text: str, col: int, width: int) -> tuple[str, int, int]:
    """Cut a long line to about ``_MAX_SHOWN`` columns around the caret (``col`` is 1-based)."""
    if len(text) <= _MAX_SHOWN:
        return text, col, width
    start = max(0, min(col - 1 - _CONTEXT, len(text) - _MAX_SHOWN))
    end = start + _MAX_SHOWN
    shown = ("..." if start else "") + text[start:end] + ("..." if end < len(text) else "")
    col = col - start + (3 if start else 0)
    return shown, col, max(1, min(width, len(shown) - (col - 1)))


def _render_label(label: Label, sources: SourceMap, marker: str) -> list[str]:
    """Gutter lines for one label: the source line and a caret run under the span."""
    source = sources.get(label.span.file)
    if source is None or label.span is NO_SPAN:
        return []
    line, col = source.line_col(label.span.start)
    # the last character covered, so a span ending at a newline stays on its line
    end_line, end_col = source.line_col(max(label.span.end - 1, label.span.start))
    end_col += 1
    raw = _visible(source.line_text(line))
    text = raw.expandtabs(4)
    col = len(raw[: col - 1].expandtabs(4)) + 1
    width = (
        max(1, len(raw[: end_col - 1].expandtabs(4)) + 1 - col)
        if end_line == line
        else max(1, len(text) - col + 1)
    )
    text, col, width = _window(text, col, width)
    gutter = " " * len(str(line))
    suffix = f" {label.message}" if label.message else ""
    if end_line != line:
        suffix += " ..."
    return [
        f"{gutter} |",
        f"{line} | {text}",
        f"{gutter} | {' ' * (col - 1)}{marker * width}{suffix}",
    ]


def _where(span: Span, sources: SourceMap) -> str:
    """``path:line:col`` of a span (just the path when its source is unknown)."""
    source = sources.get(span.file)
    if source is None or span is NO_SPAN:
        return span.file
    line, col = source.line_col(span.start)
    return f"{span.file}:{line}:{col}"


def render(diagnostic: Diagnostic, sources: SourceMap) -> str:
    """Render one diagnostic as ``path:line:col: error[CODE]: message`` plus the source context.

    A secondary label in another file than the label before it (a call site of the block
    the error is in, say) is headed by ``::: path:line:col``, as rustc does.
    """
    span = diagnostic.primary.span
    lines = [
        f"{_where(span, sources)}: {diagnostic.severity.value}[{diagnostic.code}]: "
        f"{diagnostic.message}"
    ]
    lines += _render_label(diagnostic.primary, sources, "^")
    file = span.file
    for label in diagnostic.secondary:
        rendered = _render_label(label, sources, "-")
        if rendered and label.span.file != file:
            rendered.insert(0, f"{rendered[0][:-1]}::: {_where(label.span, sources)}")
            file = label.span.file
        lines += rendered
    if diagnostic.help:
        pad = " " * _gutter_width(diagnostic, sources)
        lines += [f"{pad} |" if len(lines) > 1 else "", f"{pad} = help: {diagnostic.help}"]
        lines = [ln for ln in lines if ln != ""]
    return "\n".join(lines)


def _gutter_width(diagnostic: Diagnostic, sources: SourceMap) -> int:
    """Width of the widest line number shown, so the help lines up with the snippets' bars."""
    widths = [1]
    for label in (diagnostic.primary, *diagnostic.secondary):
        source = sources.get(label.span.file)
        if source is not None and label.span is not NO_SPAN:
            widths.append(len(str(source.line_col(label.span.start)[0])))
    return max(widths)


def render_all(diagnostics: tuple[Diagnostic, ...] | list[Diagnostic], sources: SourceMap) -> str:
    """Render several diagnostics separated by blank lines, with an error count at the end."""
    body = "\n\n".join(render(d, sources) for d in diagnostics)
    errors = sum(d.severity is Severity.ERROR for d in diagnostics)
    if errors > 1:
        body += f"\n\nfound {errors} errors"
    return body
