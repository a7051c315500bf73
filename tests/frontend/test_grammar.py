"""The grammar builds strictly, every rule has an AST builder, each construct parses as intended."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from qadl.frontend import ast as A
from qadl.frontend.build_ast import AstBuilder
from qadl.frontend.grammar import build_parser, parser
from qadl.frontend.parse import parse, parse_text
from qadl.source import NO_SPAN, SourceFile

REPO = Path(__file__).resolve().parents[2]


def only(text: str):
    """The single declaration of a one-declaration program."""
    (decl,) = parse_text(text).decls
    return decl


def stmt(text: str):
    """The single statement of a gate body."""
    (s,) = only("gate g(q: qubits) {\n" + text + "\n}").body
    return s


def expr(text: str):
    """The value of ``const c = <text>``."""
    return only(f"const c = {text}").value


def n(v):
    return A.Number(v)


def nm(s):
    return A.Name(s)


def test_strict_build():
    """No LALR conflicts and no terminal collisions (needs interegular)."""
    pytest.importorskip("interegular")
    build_parser(strict=True)


def test_every_rule_has_builder():
    """Every rule and alias that can reach the transformer has a method on AstBuilder."""
    names = set()
    for rule in parser().rules:
        origin = rule.origin.name
        alias = rule.alias
        if alias:
            names.add(alias)
        elif not origin.startswith("_") and not (rule.options.expand1 and len(rule.expansion) == 1):
            names.add(origin)
    missing = sorted(n for n in names if not callable(getattr(AstBuilder, n, None)))
    assert missing == []


def test_imports_and_const():
    assert only("import ansatz.hardware_efficient") == A.Import(
        ("ansatz", "hardware_efficient"), None
    )
    assert only('import "blocks/x.qadl"') == A.Import(None, "blocks/x.qadl")
    assert only("const N = 10") == A.ConstDecl("N", n(10))


def test_gate_block_params_and_defaults():
    decl = only("gate g(q: qubits, layers: int = 2, rot: gates = [ry, rz], w: float[4]) { h q }")
    assert [p.name for p in decl.params] == ["q", "layers", "rot", "w"]
    assert decl.params[1] == A.Param("layers", A.TypeRef("int", None), n(2))
    assert decl.params[2].default == A.ListExpr((nm("ry"), nm("rz")))
    assert decl.params[3].type == A.TypeRef("float", n(4))


def test_gate_call_forms():
    assert stmt("rx(0.5) q[0]") == A.CallStmt(
        nm("rx"), (A.Arg(None, n(0.5)),), (A.QubitRef(nm("q"), n(0)),)
    )
    assert stmt("cx q[0], q[1]").qubits == (A.QubitRef(nm("q"), n(0)), A.QubitRef(nm("q"), n(1)))
    assert stmt("h q").qubits == (A.QubitRef(nm("q"), None),)
    call = stmt("blk(q[0:4], layers = 3)")
    assert call.args[0] == A.Arg(None, A.Index(nm("q"), A.Slice(n(0), n(4))))
    assert call.args[1] == A.Arg("layers", n(3))
    assert call.qubits == ()


def test_for_loops():
    loop = stmt("for i in 0..n step 2 { h q[i] }")
    assert (loop.var, loop.start, loop.stop, loop.step) == ("i", n(0), nm("n"), n(2))
    over = stmt("for g in [rx, ry] { g(1) q[0] }")
    assert over.stop is None and over.start == A.ListExpr((nm("rx"), nm("ry")))


def test_if_else_chain_and_newline_before_else():
    s = stmt("if a == 1 { h q }\nelse if a == 2 { x q } else { z q }")
    assert s.cond == A.Compare("==", nm("a"), n(1))
    (inner,) = s.otherwise
    assert isinstance(inner, A.If) and inner.otherwise is not None


def test_let_param_init():
    assert stmt("let k = 10 * l + j") == A.Let(
        "k", A.Binary("+", A.Binary("*", n(10), nm("l")), nm("j"))
    )
    p = stmt("param θ[260] init uniform(0, 2π)")
    assert p.name == "θ" and p.size == n(260)
    assert p.init == A.Call(nm("uniform"), (A.Arg(None, n(0)), A.Arg(None, n(2 * math.pi))))
    assert stmt("param φ").size is None
    assert stmt("param w[3] init zeros").init == nm("zeros")


def test_expression_precedence():
    assert expr("1 + 2 * 3") == A.Binary("+", n(1), A.Binary("*", n(2), n(3)))
    assert expr("-x ** 2") == A.Unary("-", A.Binary("**", nm("x"), n(2)))
    assert expr("a or b and not c") == A.Binary(
        "or", nm("a"), A.Binary("and", nm("b"), A.Unary("not", nm("c")))
    )
    assert expr("k < 256 ? 2 * p[k] : 0") == A.Conditional(
        A.Compare("<", nm("k"), n(256)), A.Binary("*", n(2), A.Index(nm("p"), nm("k"))), n(0)
    )
    assert expr("l in [7, 13]") == A.Compare("in", nm("l"), A.ListExpr((n(7), n(13))))
    assert expr("(1 + 2) * 3") == A.Binary("*", A.Binary("+", n(1), n(2)), n(3))
    assert expr("(0, 1)") == A.TupleExpr((A.Arg(None, n(0)), A.Arg(None, n(1))))
    assert expr("(1,)") == A.TupleExpr((A.Arg(None, n(1)),))
    assert expr("((1))") == n(1)
    assert expr("( (1) , )") == A.TupleExpr((A.Arg(None, n(1)),))
    assert expr("((a + b)) * 2") == A.Binary("*", A.Binary("+", nm("a"), nm("b")), n(2))


def test_literals():
    assert expr("150us") == A.Quantity(150.0, "us")
    assert expr("16x16") == A.Dims((16, 16))
    assert expr('"a/b.npz"') == A.String("a/b.npz")
    assert expr("1e-3") == n(0.001)
    assert expr("digits.train") == A.Attribute(nm("digits"), "train")


def test_model_and_readouts():
    decl = only(
        "model m(p: float[4]) on q[2] {\n  rx(p[0]) q[0]\n  readout probs(q[1]) -> classes 2\n}"
    )
    assert decl.register == "q" and decl.size == n(2)
    ro = decl.body[-1]
    assert ro.kind == nm("probs")
    assert ro.observables == (A.Observable((A.PauliFactor(None, A.QubitRef(nm("q"), n(1))),)),)
    assert ro.options == (A.Option("classes", n(2)),)
    ex = only("model m(s: state) on q[3] { readout expval(Z q[0], Z q[1] * X q[2]) scale 5 }").body[
        0
    ]
    assert [len(o.factors) for o in ex.observables] == [1, 2]
    assert ex.observables[1].factors[1].pauli == "X"


def test_experiment_statements():
    d = only("data d = builtin.digits(classes = [1, 9], size = 16x16)")
    assert d.source.func == A.Attribute(nm("builtin"), "digits")
    t = only("train m on d.train { loss cross_entropy; optimizer adam(lr = 0.05)\n epochs 20 }")
    assert [o.key for o in t.options] == ["loss", "optimizer", "epochs"]
    a = only("attack ren on m { method fgsm(epsilon = 0.1)\n targeted 1 }")
    assert a.name == "ren" and a.model == nm("m")
    df = only("defend m with adversarial_training(attack = ren) as robust")
    assert df.result == "robust" and df.options == ()
    ev = only("evaluate m, robust on d.test under [clean, ren]")
    assert ev.models == (nm("m"), nm("robust"))
    tg = only("target t { qubits 10\n fidelity(1q = 0.9994, 2q = 0.994)\n t1 150us }")
    assert tg.options[1].value == A.TupleExpr((A.Arg("1q", n(0.9994)), A.Arg("2q", n(0.994))))
    assert only("noise n1 { depolarizing(1q = 0.001) }").name == "n1"
    assert only("device m on t") == A.DeviceDecl(nm("m"), nm("t"))


def test_semicolons_and_layout_are_equivalent():
    a = parse_text("gate g(q: qubits) { h q[0]; x q[1] }")
    b = parse_text("gate g(q: qubits)\n{\n  h q[0]\n\n  // c\n  x q[1];;\n}\n")
    assert a == b


def test_comments_and_continuation():
    m = parse_text("/* block\n comment */ const a = 1 +\n   2 // trailing\nconst b = [1,\n 2]")
    assert [d.name for d in m.decls] == ["a", "b"]


def test_walk_and_visitor():
    from qadl.frontend.visitor import Visitor, walk

    module = parse_text("gate g(q: qubits) { for i in 0..2 { rx(θ[i] + 1) q[i] } }")
    names = [n.id for n in walk(module) if isinstance(n, A.Name)]
    assert names == ["rx", "θ", "i", "q", "i"]

    class Calls(Visitor):
        def __init__(self):
            self.seen = []

        def visit_CallStmt(self, node):
            self.seen.append(node.name.id)
            self.generic_visit(node)

    calls = Calls()
    calls.visit(module)
    assert calls.seen == ["rx"]


@pytest.mark.parametrize(
    "path",
    sorted((REPO / "examples").glob("*.qadl")) + sorted((REPO / "stdlib").rglob("*.qadl")),
    ids=lambda p: p.name,
)
def test_span_guard(path):
    """Every node of every example has a real span inside its file, non-empty, in order."""
    source = SourceFile.read(path)
    from qadl.frontend.visitor import walk

    module = parse(source)
    spans = [(type(node).__name__, node.span) for node in walk(module)]
    assert len(spans) > 1
    for kind, span in spans:
        assert span is not NO_SPAN, kind
        assert span.file == str(path)
        assert 0 <= span.start < span.end <= len(source.text), (kind, span)
