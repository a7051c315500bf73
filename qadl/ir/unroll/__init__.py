"""Unrolling: the statements of model and block bodies, run at compile time into gates.

Loops are unrolled, blocks inlined with their arguments bound, ``param`` vectors numbered
(the model's own first, in declaration order, then the fresh parameters of block calls in
call order) and the readout resolved. Problems only visible with values (a qubit index past
the register, a vector of the wrong length) are reported with their spans.

Modules: ``gates`` (built-in gate calls and amplitude encoding), ``binding`` (block
arguments bound to their parameters), ``readout``, ``statements`` (loops, conditionals,
``let``, ``param``, calls and block inlining) and ``model`` (``Lowerer``: a model's inputs
and its finished, verified circuit).
"""
