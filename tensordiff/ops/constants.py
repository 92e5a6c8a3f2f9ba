"""Functions whose result is a piecewise-constant function of the values: tests,
comparisons, rounding, counts and integer positions.

Their derivative is zero wherever it exists (at the jumps too, by the convention JAX
follows for ``round`` and ``sign``), so they run on the plain values and give plain
constants, as the zero-derivative ufuncs do (:data:`tensordiff.ops.ufuncs.CONSTANT`).

>>> import tensordiff as td
>>> x = np.array([0.4, 1.6, -2.5])
>>> np.asarray(td.jacobian(lambda x: x * np.round(x))(x))
array([[ 0.,  0.,  0.],
       [ 0.,  2.,  0.],
       [ 0.,  0., -2.]])
"""

import functools

import numpy as np

from tensordiff.errors import UnsupportedOperationError
from tensordiff.ops.arguments import refuse
from tensordiff.trace.registry import implements, qualified_name
from tensordiff.trace.traced import Traced, raw

__all__: list[str] = []

_PIECEWISE_CONSTANT = [
    np.all,
    np.any,
    np.round,
    np.around,
    np.fix,
    np.isclose,
    np.allclose,
    np.array_equal,
    np.array_equiv,
    np.isposinf,
    np.isneginf,
    np.iscomplex,
    np.isreal,
    np.iscomplexobj,
    np.isrealobj,
    np.nonzero,
    np.argwhere,
    np.flatnonzero,
    np.count_nonzero,
    np.searchsorted,
    np.argpartition,
    np.digitize,
    np.empty_like,
    np.nanargmax,
    np.nanargmin,
    np.lexsort,
    np.isin,
    np.diag_indices_from,
    np.tril_indices_from,
    np.triu_indices_from,
    np.einsum_path,  # a contraction order: it depends on the shapes only
]


def _constant(function, *args, **kwargs):
    """``function`` of the plain values (one list level deep, as NumPy reads them)."""
    refuse(qualified_name(function), out=kwargs.pop("out", None))
    return function(*(_plain(a) for a in args), **{k: _plain(v) for k, v in kwargs.items()})


def _plain(value):
    if isinstance(value, (list, tuple)):
        return type(value)(raw(v) for v in value)
    return raw(value)


for _function in _PIECEWISE_CONSTANT:
    implements(_function)(functools.partial(_constant, _function))


@implements(np.full_like)
def full_like(a, fill_value, dtype=None, order="K", subok=True, shape=None, device=None):
    """``a`` gives only the shape; the fill value must be a constant."""
    if type(fill_value) is Traced:
        raise UnsupportedOperationError.for_function(
            "full_like",
            "the fill value is a traced value; write np.zeros_like(a) + value instead",
        )
    return np.full_like(raw(a), fill_value, dtype=dtype, order=order, shape=shape)
