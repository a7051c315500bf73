"""Diagnostics render like a compiler's: header, source line, caret, help."""

from __future__ import annotations

from qadl.diagnostics import Diagnostic, DiagnosticBag, Label, render, render_all
from qadl.errors import QadlError
from qadl.source import SourceFile, SourceMap, Span

TEXT = "model m(p: float[4]) on q[2] {\n\thardware_eficient(q) \n}\n"


def _sources() -> SourceMap:
    sources = SourceMap()
    sources.add(SourceFile("ex.qadl", TEXT))
    return sources


def test_render_points_at_the_span_with_tabs_expanded() -> None:
    start = TEXT.index("hardware_eficient")
    diag = Diagnostic.error(
        "E0201", "unknown gate block `hardware_eficient`", Span("ex.qadl", start, start + 17),
        label="not defined", help="did you mean `hardware_efficient`?",
    )
    assert render(diag, _sources()) == (
        "ex.qadl:2:2: error[E0201]: unknown gate block `hardware_eficient`\n"
        "  |\n"
        "2 |     hardware_eficient(q) \n"
        "  |     ^^^^^^^^^^^^^^^^^ not defined\n"
        "  |\n"
        "  = help: did you mean `hardware_efficient`?"
    )


def test_secondary_labels_and_error_count() -> None:
    first = Span("ex.qadl", 6, 7)
    diag = Diagnostic("E0203", "duplicate", Label(first), (Label(Span("ex.qadl", 0, 5), "here"),))
    out = render_all([diag, diag], _sources())
    assert "-----" in out and out.endswith("found 2 errors")


def test_bag_collects_and_raises_once() -> None:
    bag = DiagnosticBag()
    bag.error("E0301", "one", Span("ex.qadl", 0, 1))
    bag.error("E0302", "two", Span("ex.qadl", 1, 2))
    try:
        bag.raise_if_errors()
    except QadlError as err:
        assert [d.code for d in err.diagnostics] == ["E0301", "E0302"]
    else:  # pragma: no cover - the bag must raise
        raise AssertionError("no error raised")
