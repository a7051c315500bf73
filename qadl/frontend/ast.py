"""AST nodes: frozen dataclasses, one per grammar rule, each carrying the span it came from.

Spans never take part in equality (``compare=False``), so two parses of the same program
compare equal whatever their layout. Every class docstring quotes its grammar rule and an
example. Names that refer to something (a model, a gate, a register) are ``Name`` nodes so
that diagnostics can point at them; names that define something are ``str`` plus a
``name_span``.
"""

# ruff: noqa: RUF009  (`_span()` returns a `dataclasses.field`, which ruff cannot see)

from __future__ import annotations

from dataclasses import dataclass, field

from qadl.source import NO_SPAN, Span

__all__ = [
    "Arg",
    "AttackDecl",
    "Attribute",
    "Binary",
    "Call",
    "CallStmt",
    "Compare",
    "Conditional",
    "ConstDecl",
    "DataDecl",
    "Decl",
    "DefendDecl",
    "DeviceDecl",
    "Dims",
    "EvaluateDecl",
    "Expr",
    "For",
    "GateDecl",
    "If",
    "Import",
    "Index",
    "KernelDecl",
    "KernelType",
    "Let",
    "ListExpr",
    "ModelDecl",
    "Module",
    "Name",
    "NoiseDecl",
    "Number",
    "Observable",
    "Option",
    "Param",
    "ParamStmt",
    "PauliFactor",
    "Quantity",
    "QubitRef",
    "ReadoutStmt",
    "Slice",
    "Stmt",
    "String",
    "SweepAxis",
    "SweepDecl",
    "TargetDecl",
    "TrainDecl",
    "TupleExpr",
    "TypeRef",
    "Unary",
]


def _span() -> Span:
    return field(default=NO_SPAN, compare=False, repr=False, kw_only=True)


# ---- expressions -------------------------------------------------------------------------


@dataclass(frozen=True)
class Number:
    """``atom: NUMBER | PI_NUMBER`` — ``3``, ``0.05``, ``1e-3``, ``2π`` (value already times π)."""

    value: int | float
    span: Span = _span()


@dataclass(frozen=True)
class Name:
    """``atom: NAME`` — ``θ``, ``layers``, ``cross_entropy``."""

    id: str
    span: Span = _span()


@dataclass(frozen=True)
class String:
    """``atom: STRING`` — ``"data/x.npz"`` (value without quotes)."""

    value: str
    span: Span = _span()


@dataclass(frozen=True)
class Quantity:
    """``atom: QUANTITY`` — ``150us``, ``30ns``: a number with a time unit."""

    value: float
    unit: str
    span: Span = _span()


@dataclass(frozen=True)
class Dims:
    """``atom: DIMS`` — ``16x16``: an image shape."""

    sizes: tuple[int, ...]
    span: Span = _span()


@dataclass(frozen=True)
class ListExpr:
    """``atom: "[" [expr ("," expr)* [","]] "]"`` — ``[ry, rz]``, ``[0.01, 0.05]``."""

    items: tuple[Expr, ...]
    span: Span = _span()


@dataclass(frozen=True)
class Arg:
    """``arg: expr | (NAME | QKEY) "=" expr`` — ``0.5`` or ``lr = 0.05`` or ``1q = 0.999``."""

    name: str | None
    value: Expr
    span: Span = _span()


@dataclass(frozen=True)
class TupleExpr:
    """``atom: "(" [args] ")"`` with several or keyword items — ``(0, 1)``, ``(1q = 0.9994)``.

    A single positional item in parentheses is plain grouping and builds no node.
    """

    args: tuple[Arg, ...]
    span: Span = _span()


@dataclass(frozen=True)
class Call:
    """``postfix: postfix "(" [args] ")"`` — ``len(q)``, ``adam(lr = 0.05)``."""

    func: Expr
    args: tuple[Arg, ...]
    span: Span = _span()


@dataclass(frozen=True)
class Slice:
    """``subscript: [expr] ":" [expr]`` — the ``0:8`` of ``q[0:8]``."""

    start: Expr | None
    stop: Expr | None
    span: Span = _span()


@dataclass(frozen=True)
class Index:
    """``postfix: postfix "[" subscript "]"`` — ``θ[k]``, ``rotations[0]``, ``p[0:4]``."""

    base: Expr
    index: Expr | Slice
    span: Span = _span()


@dataclass(frozen=True)
class Attribute:
    """``postfix: postfix "." NAME`` — ``digits.train``, ``builtin.digits``."""

    base: Expr
    name: str
    span: Span = _span()


@dataclass(frozen=True)
class Unary:
    """``unary: ADD_OP unary | NOT not_expr`` — ``-x``, ``not done``."""

    op: str
    operand: Expr
    span: Span = _span()


@dataclass(frozen=True)
class Binary:
    """``sum | product | power | and/or`` — ``a + b``, ``2 * p[k]``, ``x ** 2``, ``a and b``."""

    op: str
    left: Expr
    right: Expr
    span: Span = _span()


@dataclass(frozen=True)
class Compare:
    """``comparison: sum COMPARE sum | sum IN sum`` — ``k < 256``, ``layer in [7, 13]``."""

    op: str
    left: Expr
    right: Expr
    span: Span = _span()


@dataclass(frozen=True)
class Conditional:
    """``conditional: or_expr "?" expr ":" expr`` — ``k < 256 ? 2 * p[k] : 0``."""

    cond: Expr
    then: Expr
    otherwise: Expr
    span: Span = _span()


Expr = (
    Number
    | Name
    | String
    | Quantity
    | Dims
    | ListExpr
    | TupleExpr
    | Call
    | Index
    | Attribute
    | Unary
    | Binary
    | Compare
    | Conditional
)
"""Any expression node."""


# ---- statements ----------------------------------------------------------------------------


@dataclass(frozen=True)
class QubitRef:
    """``qubit_ref: NAME ["[" subscript "]"]`` — ``q``, ``q[i + 1]``, ``q[0:8]``."""

    register: Name
    index: Expr | Slice | None
    span: Span = _span()


@dataclass(frozen=True)
class CallStmt:
    """``call_stmt: NAME [call_args] [qubit_list]`` — ``rx(a) q[i]``, ``cx q[0], q[1]``,
    ``hardware_efficient(q[0:10], layers = 3)``.

    ``args`` is None when no parentheses were written.
    """

    name: Name
    args: tuple[Arg, ...] | None
    qubits: tuple[QubitRef, ...]
    span: Span = _span()


@dataclass(frozen=True)
class For:
    """``for_stmt: "for" NAME "in" expr [".." expr ["step" expr]] body`` —
    ``for i in 0..n step 2 { ... }`` or ``for g in [rx, ry] { ... }``.

    ``stop`` is None for iteration over a list (``start`` is then the list).
    """

    var: str
    start: Expr
    stop: Expr | None
    step: Expr | None
    body: tuple[Stmt, ...]
    span: Span = _span()
    var_span: Span = _span()


@dataclass(frozen=True)
class If:
    """``if_stmt: "if" expr body ["else" (body | if_stmt)]`` —
    ``if l % 2 == 0 { ... } else { ... }``.

    An ``else if`` chain is an ``otherwise`` holding one nested ``If``.
    """

    cond: Expr
    then: tuple[Stmt, ...]
    otherwise: tuple[Stmt, ...] | None
    span: Span = _span()


@dataclass(frozen=True)
class Let:
    """``let_stmt: "let" NAME "=" expr`` — ``let k = 10 * layer + j``."""

    name: str
    value: Expr
    span: Span = _span()
    name_span: Span = _span()


@dataclass(frozen=True)
class ParamStmt:
    """``param_stmt: "param" NAME ["[" expr "]"] ["init" expr]`` —
    ``param θ[260] init uniform(0, 2π)``; ``size`` is None for a scalar parameter."""

    name: str
    size: Expr | None
    init: Expr | None
    span: Span = _span()
    name_span: Span = _span()


@dataclass(frozen=True)
class PauliFactor:
    """``pauli_factor: [NAME] qubit_ref`` — ``Z q[0]`` (expval) or ``q[4]`` (probs)."""

    pauli: str | None
    qubit: QubitRef
    span: Span = _span()


@dataclass(frozen=True)
class Observable:
    """``observable: pauli_factor ("*" pauli_factor)*`` — ``Z q[1] * Z q[2]``."""

    factors: tuple[PauliFactor, ...]
    span: Span = _span()


@dataclass(frozen=True)
class Option:
    """``option: NAME [expr]`` and ``readout_option: ["->"] NAME expr`` — ``epochs 20``,
    ``optimizer adam(lr = 0.05)``, ``fidelity(1q = 0.9994, 2q = 0.994)``, ``targeted``."""

    key: str
    value: Expr | None
    span: Span = _span()
    key_span: Span = _span()


@dataclass(frozen=True)
class ReadoutStmt:
    """``readout_stmt: "readout" NAME "(" [observable ("," observable)*] ")" readout_option*``
    (``readout_option: ["->"] NAME expr``)
    — ``readout probs(q[4]) -> classes 2``, ``readout expval(Z q[0], Z q[1] * Z q[2]) scale 5``."""

    kind: Name
    observables: tuple[Observable, ...]
    options: tuple[Option, ...]
    span: Span = _span()


Stmt = (
    CallStmt
    | For
    | If
    | Let
    | ParamStmt
    | ReadoutStmt
)
"""Any statement of a gate or model body."""


# ---- declarations ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Import:
    """``import_decl: "import" (dotted_name | STRING)`` — ``import ansatz.hardware_efficient``,
    ``import "blocks/mine.qadl"``. Exactly one of ``module`` and ``path`` is set."""

    module: tuple[str, ...] | None
    path: str | None
    span: Span = _span()


@dataclass(frozen=True)
class ConstDecl:
    """``const_decl: "const" NAME "=" expr`` — ``const LAYERS = 26``."""

    name: str
    value: Expr
    span: Span = _span()
    name_span: Span = _span()


@dataclass(frozen=True)
class TypeRef:
    """``type_ref: NAME ["[" expr "]"]`` — ``qubits``, ``int``, ``float[256]``."""

    name: str
    size: Expr | None
    span: Span = _span()


@dataclass(frozen=True)
class Param:
    """``param: NAME ":" type_ref ["=" expr]`` — ``layers: int = 2``, ``p: float[256]``."""

    name: str
    type: TypeRef
    default: Expr | None
    span: Span = _span()
    name_span: Span = _span()


@dataclass(frozen=True)
class GateDecl:
    """``gate_decl: "gate" NAME "(" [params] ")" body`` — ``gate layer(q: qubits) { h q }``."""

    name: str
    params: tuple[Param, ...]
    body: tuple[Stmt, ...]
    span: Span = _span()
    name_span: Span = _span()


@dataclass(frozen=True)
class ModelDecl:
    """``model_decl: "model" NAME "(" [params] ")" "on" NAME "[" expr "]" body`` —
    ``model classifier(p: float[256]) on q[10] { ... }``."""

    name: str
    params: tuple[Param, ...]
    register: str
    size: Expr
    body: tuple[Stmt, ...]
    span: Span = _span()
    name_span: Span = _span()


@dataclass(frozen=True)
class KernelType:
    """``kernel_type: "type" expr`` — ``type fidelity``, ``type projected(gamma = 0.5)``."""

    value: Expr
    span: Span = _span()


@dataclass(frozen=True)
class KernelDecl:
    """``kernel_decl: "kernel" NAME "(" [params] ")" "on" NAME "[" expr "]" kernel_body`` —
    ``kernel k(x: float[2]) on q[2] { zz_feature_map(q, x); type fidelity }``.

    ``body`` is the feature map (the statements of the body but its ``type`` lines);
    ``types`` holds every ``type`` line in order (the checker wants at most one).
    """

    name: str
    params: tuple[Param, ...]
    register: str
    size: Expr
    body: tuple[Stmt, ...]
    types: tuple[KernelType, ...]
    span: Span = _span()
    name_span: Span = _span()


@dataclass(frozen=True)
class DataDecl:
    """``data_decl: "data" NAME "=" expr`` — ``data digits = builtin.digits(classes = [1, 9])``."""

    name: str
    source: Expr
    span: Span = _span()
    name_span: Span = _span()


@dataclass(frozen=True)
class TrainDecl:
    """``train_decl: "train" NAME "on" expr options`` —
    ``train clf on digits.train { epochs 20 }``."""

    model: Name
    data: Expr
    options: tuple[Option, ...]
    span: Span = _span()


@dataclass(frozen=True)
class AttackDecl:
    """``attack_decl: "attack" NAME "on" NAME options`` —
    ``attack ren on clf { method fgsm(epsilon = 0.1) }``."""

    name: str
    model: Name
    options: tuple[Option, ...]
    span: Span = _span()
    name_span: Span = _span()


@dataclass(frozen=True)
class DefendDecl:
    """``defend_decl: "defend" NAME "with" expr "as" NAME [options]`` —
    ``defend clf with adversarial_training(attack = ren, ratio = 0.5) as robust``."""

    model: Name
    method: Expr
    result: str
    options: tuple[Option, ...]
    span: Span = _span()
    result_span: Span = _span()


@dataclass(frozen=True)
class EvaluateDecl:
    """``evaluate_decl: "evaluate" name_list "on" expr ["under" expr] [options]`` —
    ``evaluate clf, robust on digits.test under [clean, ren]``."""

    models: tuple[Name, ...]
    data: Expr
    under: Expr | None
    options: tuple[Option, ...]
    span: Span = _span()


@dataclass(frozen=True)
class TargetDecl:
    """``target_decl: "target" NAME options`` — ``target chain10 { qubits 10; coupling chain }``."""

    name: str
    options: tuple[Option, ...]
    span: Span = _span()
    name_span: Span = _span()


@dataclass(frozen=True)
class NoiseDecl:
    """``noise_decl: "noise" NAME options`` —
    ``noise n1 { depolarizing(1q = 0.001, 2q = 0.01) }``."""

    name: str
    options: tuple[Option, ...]
    span: Span = _span()
    name_span: Span = _span()


@dataclass(frozen=True)
class DeviceDecl:
    """``device_decl: "device" NAME "on" NAME`` — ``device classifier on chain10``."""

    model: Name
    target: Name
    span: Span = _span()


@dataclass(frozen=True)
class SweepAxis:
    """``sweep_axis: NAME "in" expr [".." expr ["step" expr]]`` — ``LR in [0.01, 0.05]`` or
    ``SEED in 1..11`` (``values`` is the list, or the range start with ``stop``/``step``)."""

    name: Name
    values: Expr
    stop: Expr | None
    step: Expr | None
    span: Span = _span()


@dataclass(frozen=True)
class SweepDecl:
    """``sweep_decl: "sweep" sweep_axis ("," sweep_axis)* [sweep_body]`` —
    ``sweep SEED in 1..11, LR in [0.01, 0.05] { aggregate over SEED }``."""

    axes: tuple[SweepAxis, ...]
    aggregate: tuple[Name, ...]
    span: Span = _span()


Decl = (
    Import
    | ConstDecl
    | GateDecl
    | ModelDecl
    | KernelDecl
    | DataDecl
    | TrainDecl
    | AttackDecl
    | DefendDecl
    | EvaluateDecl
    | TargetDecl
    | NoiseDecl
    | DeviceDecl
    | SweepDecl
)
"""Any top-level declaration."""


@dataclass(frozen=True)
class Module:
    """``start: (_decl | _NL)*`` — one parsed ``.qadl`` file."""

    path: str
    decls: tuple[Decl, ...]
    span: Span = _span()
