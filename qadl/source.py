"""Source files and spans: byte offsets into a file, rendered as line:col only when printed."""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["NO_SPAN", "SourceFile", "SourceMap", "Span"]


@dataclass(frozen=True, slots=True)
class Span:
    """A half-open character range ``[start, end)`` in one source file.

    Spans never take part in equality of the values that carry them: every
    carrier declares its span with ``field(compare=False)``.
    """

    file: str
    """Path of the file as the user named it (or ``<generated>``)."""
    start: int
    """Offset of the first character."""
    end: int
    """Offset one past the last character."""

    def merge(self, other: Span) -> Span:
        """Return the smallest span covering ``self`` and ``other`` (same file)."""
        if self is NO_SPAN or self.file != other.file:
            return other
        if other is NO_SPAN:
            return self
        return Span(self.file, min(self.start, other.start), max(self.end, other.end))


NO_SPAN = Span("<generated>", 0, 0)


@dataclass(frozen=True)
class SourceFile:
    """The text of one source file with a table of line starts for line/col lookup."""

    path: str
    text: str
    _line_starts: tuple[int, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        starts = [0] + [i + 1 for i, ch in enumerate(self.text) if ch == "\n"]
        object.__setattr__(self, "_line_starts", tuple(starts))

    @classmethod
    def read(cls, path: str | Path) -> SourceFile:
        """Read a UTF-8 file from disk."""
        return cls(str(path), Path(path).read_text(encoding="utf-8"))

    def line_col(self, offset: int) -> tuple[int, int]:
        """Return the 1-based (line, column) of a character offset."""
        offset = max(0, min(offset, len(self.text)))
        line = bisect.bisect_right(self._line_starts, offset) - 1
        return line + 1, offset - self._line_starts[line] + 1

    def line_text(self, line: int) -> str:
        """Return line ``line`` (1-based) without its newline."""
        start = self._line_starts[line - 1]
        end = self.text.find("\n", start)
        return self.text[start:] if end < 0 else self.text[start:end]

    @property
    def num_lines(self) -> int:
        """Number of lines in the file."""
        return len(self._line_starts)


class SourceMap:
    """Every source file seen in one compilation, by path; used when rendering diagnostics."""

    def __init__(self) -> None:
        self._files: dict[str, SourceFile] = {}

    def add(self, source: SourceFile) -> SourceFile:
        """Register ``source`` and return it."""
        self._files[source.path] = source
        return source

    def get(self, path: str) -> SourceFile | None:
        """Return the file registered under ``path``, if any."""
        return self._files.get(path)
