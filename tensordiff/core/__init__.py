"""Structured-tensor algebra: terms (dense factors × Kronecker deltas), their sums,
contraction planning and execution, dense writing, and the context state.

Imports NumPy, opt_einsum and :mod:`tensordiff.errors` only; knows nothing of
tracing, rules or derivatives. A new storage backend (a way to write a term's
entries somewhere other than one NumPy array) builds on :mod:`.dense` and
:mod:`.term` here.
"""
