"""The tracing mechanism: traced values, the traces that record them, td.jit's tape.

It knows no rule: a NumPy call on a traced value is applied by the top trace
among its arguments, which asks the registry (:mod:`.registry`) for the rule
that :mod:`tensordiff.ops` put there.
"""
