"""Every rule of the allow-list: how each NumPy call is computed and differentiated.

A new NumPy rule goes here: a function decorated with
``@implements(np.some_function)`` (:mod:`tensordiff.trace.registry`) that
computes the value on plain arrays and records a builder of its local Jacobian
(:mod:`tensordiff.ops.jacobians`). A new ufunc is one row in
:mod:`tensordiff.ops.ufuncs`. A function refused on purpose is listed, with its reason, in
:mod:`tensordiff.ops.refusals`. Importing this package registers every rule.
"""

from tensordiff.ops import (  # noqa: F401
    arrangement,
    array_building,
    constants,
    elementwise,
    indexing,
    linalg,
    linear,
    polynomials,
    reductions,
    refusals,
    sampled,
    scipy_linalg,
    scipy_special,
    writes,
)
