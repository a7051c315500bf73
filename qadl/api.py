"""The public Python API (user guide: docs/api.md).

::

    import qadl
    program = qadl.load("examples/reuploading.qadl")    # Program (checked, lowered)
    train, test = program.data("circle")                # Dataset splits: .x/.states, .y
    run = qadl.runs.load("runs/reuploading")            # Run: .params[name], .results
    run = qadl.runs.run("examples/reuploading.qadl")    # `qadl run` in this process -> Run
    clf = program.classifier("reupload", params=run)    # QadlClassifier, as `qadl run` builds it
    clf.predict_proba(test.x)          # (B, C), device noise included; shots=N samples
    clf.predict(test.x); clf.score(test.x, test.y)
    clf.losses(x, y)                   # (B,) per-sample losses (loss="cross_entropy"|"mse"|"hinge")
    clf.input_gradients(x, y)          # (B, F) d loss_b / d x_b (complex (B, 2**n) for states)
    clf.param_gradient(x, y)           # (P,) d mean loss / d θ; per_sample=True: (B, P)
    clf.jacobian(x)                    # (B, C, F) d p_c / d x
    clf.with_params(theta)             # same model, other θ
    program.attack("pgd_sweep")(clf, x, y, feature_range=(-1, 1))  # AttackResult per ε
    program.defence("robust")(clf, train)  # adversarially trained QadlClassifier
    program.evaluation(0)(clf, test)   # Evaluation: clean accuracy, metrics, robust points

Besides: ``qadl.loads(text)``, ``qadl.diagnose(path)`` (``qadl check``'s diagnostics),
``qadl.to_qasm(model, params, x)``. Errors in the program or run directory are
``QadlError`` (located diagnostics); wrong Python arguments are ``ValueError``/``KeyError``.
Heavy back ends are imported lazily: ``import qadl`` and ``qadl.load`` never import
Numba, Qiskit, Matplotlib or scikit-learn.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from qadl.diagnostics import Diagnostic
from qadl.errors import QadlError
from qadl.source import NO_SPAN, SourceFile, SourceMap, Span

if TYPE_CHECKING:
    from qadl.ir.circuit import Circuit
    from qadl.program import Model, Program

__all__ = ["diagnose", "load", "loads", "to_qasm"]


def loads(
    text: str | bytes,
    path: str = "<string>",
    *,
    sources: SourceMap | None = None,
    real_path: str | Path | None = None,
    bindings: dict[str, Any] | None = None,
) -> Program:
    """Check and lower program text (imports resolve relative to ``real_path`` or ``path``).

    ``text`` may be ``bytes``, decoded as UTF-8. ``bindings`` gives constants of the file
    other values (``{"SEED": 3}``): the program of one point of its ``sweep``.

    Raises:
        QadlError: with every diagnostic found; render them with ``qadl.diagnostics.render_all``
            and the ``sources`` map you passed in.
        TypeError: ``text`` is neither ``str`` nor ``bytes``.
        KeyError: a binding names no constant of the file.
    """
    from qadl.check.check import check_source
    from qadl.ir.lower import lower_program

    if isinstance(text, bytes | bytearray):
        text = _decode(bytes(text), str(path))
    if not isinstance(text, str):
        raise TypeError(f"qadl.loads() takes str or bytes, not {type(text).__name__}")
    sources = sources if sources is not None else SourceMap()
    checked = check_source(
        SourceFile(path, text),
        sources,
        real_path=Path(real_path) if real_path is not None else None,
        bindings=bindings,
    )
    return lower_program(checked)


def load(path: str | Path, *, sources: SourceMap | None = None) -> Program:
    """Read, check and lower a ``.qadl`` file into a ``Program``.

    Raises:
        QadlError: the program (or a file it imports) is wrong; every diagnostic is located.
    """
    text = _read(path)
    return loads(text, str(path), sources=sources)


def _read(path: str | Path) -> str:
    try:
        data = Path(path).read_bytes()
    except (OSError, ValueError) as err:  # ValueError: a NUL byte in the path
        reason = err.strerror if isinstance(err, OSError) and err.strerror else str(err)
        raise QadlError.at("E0001", f"cannot read `{path}`: {reason}", _file_span(path)) from None
    return _decode(data, str(path))


def _file_span(path: str | Path) -> Span:
    return Span(str(path), 0, 0) if str(path) else NO_SPAN


def _decode(data: bytes, path: str) -> str:
    """UTF-8 text, or E0001 naming the first bad byte and its line."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = data.count(b"\n", 0, err.start) + 1
        raise QadlError.at(
            "E0001",
            f"cannot read `{path}`: not UTF-8 text (byte 0x{data[err.start]:02x} on line {line})",
            _file_span(path),
            help="save the file as UTF-8",
        ) from None


def diagnose(
    path: str | Path, *, sources: SourceMap | None = None, data_policy: Any = None
) -> tuple[Diagnostic, ...]:
    """Every diagnostic for a file, as ``qadl check`` reports them; an empty tuple means the
    program is fine.

    Besides loading, it runs the preflight (``qadl.run.preflight``): data files, model/data
    fit, attack combinations, memory. ``data_policy`` is a ``DataPolicy`` (default: data
    only from the program's directory, files up to 1 GiB).

    (Named ``diagnose`` because ``qadl.check`` is the checker subpackage.)
    """
    from qadl.run.preflight import preflight
    from qadl.run.sweep_check import check_points

    try:
        program = load(path, sources=sources)
        preflight(program, data_policy)
        check_points(program, data_policy)  # every point of a sweep
    except QadlError as err:
        return err.diagnostics
    return ()


def to_qasm(model: Model | Circuit, params: Any = None, x: Any = None, *, delta: Any = None) -> str:
    """OpenQASM 3 for a model (or circuit); given values are bound, the rest stay ``input``s."""
    from qadl.backends.qasm3 import emit
    from qadl.ir.circuit import Circuit

    circuit = getattr(model, "circuit", model)
    if not isinstance(circuit, Circuit):
        raise TypeError(
            f"qadl.to_qasm() takes a Model (from qadl.load) or a Circuit, not "
            f"{type(model).__name__}"
        )
    return emit(circuit, theta=params, x=x, delta=delta)
