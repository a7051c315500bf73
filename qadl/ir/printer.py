"""A stable text dump of the circuit IR, for golden files and ``qadl compile --emit ir``."""

from __future__ import annotations

from qadl.ir.circuit import Circuit, Readout

__all__ = ["format_circuit", "format_readout"]


def format_readout(readout: Readout | None) -> str:
    """One line: ``probs q[4] -> classes 2`` or ``expval Z q[0], Z q[1] * Z q[2] -> classes 2``."""
    if readout is None:
        return "none"
    if readout.kind == "probs":
        qubits = ", ".join(f"q[{q}]" for q in readout.qubits)
        return f"probs {qubits} -> classes {readout.num_classes}"
    products = [" * ".join(f"{p} q[{q}]" for p, q in obs) for obs in readout.observables]
    return f"expval {', '.join(products)} -> classes {readout.num_classes}"


def format_circuit(circuit: Circuit) -> str:
    """The whole circuit: a header of sizes, the readout, then one op per line.

    The output depends only on the circuit's value (op order, canonical expressions,
    ``repr`` floats), so it is deterministic and suitable for golden files.
    """
    lines = [
        f"circuit {circuit.name}",
        f"  qubits {circuit.num_qubits}",
        f"  params {circuit.num_params}",
        f"  features {circuit.num_features}",
        f"  deltas {circuit.num_deltas}",
        f"  input {'state' if circuit.state_input else 'zero'}",
        f"  readout {format_readout(circuit.readout)}",
        f"ops {len(circuit.ops)}",
    ]
    lines += [f"  {op}" for op in circuit.ops]
    return "\n".join(lines) + "\n"
