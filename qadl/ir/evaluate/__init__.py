"""Compile-time evaluation for the lowering: values, names, expressions and their limits.

Expressions evaluate to compile-time values (numbers, strings, lists, registers, gates) or
to symbolic angles, ``ir.expr`` polynomials in θ, x and δ. Every value is bounded before
it is built (``qadl.check.limits``): integers are 64-bit, floats finite, lists and
polynomials capped, and all the work is charged to one step budget per program.
Errors carry a label at each block call that led to them (``Reporter.diagnostic``).

Modules: ``values`` (the compile-time values and environments), ``reporting`` (errors and
the size limits), ``arithmetic`` (operators on numbers and angles) and ``evaluator``
(names and expressions); ``qadl.ir.unroll`` builds the statements on top.
"""
