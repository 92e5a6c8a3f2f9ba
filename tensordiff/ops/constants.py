"""Functions whose result is a piecewise-constant function of the values: tests,
comparisons, rounding, counts and integer positions; and arrays shaped like a traced one
(``np.zeros_like(x)``), whose values do not depend on it at all.

Their derivative is zero wherever it exists (at the jumps too, by the convention JAX
follows for ``round`` and ``sign``), so they run on the plain values and give plain
constants, as the zero-derivative ufuncs do (:data:`tensordiff.ops.ufuncs.CONSTANT`).
A float array made like a traced one is the exception: it is a *traced* constant (as in
``jax.numpy``), so that writing traced values into it (``acc = np.zeros_like(x);
acc += t``) is recorded.

>>> import tensordiff as td
>>> x = np.array([0.4, 1.6, -2.5])
>>> np.asarray(td.jacobian(lambda x: x * np.round(x))(x)) + 0.0  # (no signed zeros)
array([[ 0.,  0.,  0.],
       [ 0.,  2.,  0.],
       [ 0.,  0., -2.]])
"""

import functools

import numpy as np

from tensordiff.errors import UnsupportedOperationError
from tensordiff.ops.arguments import refuse
from tensordiff.trace.registry import created_like, implements, qualified_name
from tensordiff.trace.traced import Traced, expressions, raw, writable_constant

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


# ---- arrays shaped like a traced one ------------------------------------------------------
def _shaped_like(a, value, expr: str):
    """NumPy's ``value`` made from ``a``'s shape; when ``a`` is traced, a traced constant
    if it holds floats: an accumulator or a buffer filled in later
    (``acc = np.zeros_like(x); acc += x ** 2``, ``out[i] = …``) must record those writes,
    as jax.numpy's does."""
    return writable_constant(value, a, expr) if type(a) is Traced else value


@implements(created_like)
def _made_like(like, function, *args, **kwargs):
    """``np.zeros(3, like=t)``, ``np.eye(2, like=t)``: NumPy's array, shaped like ``like``'s
    arrays are (a traced constant when it holds floats)."""
    value = function(*args, **kwargs)
    if not isinstance(value, np.ndarray):
        return value
    shown = ", ".join([*map(repr, args), *(f"{k}={v!r}" for k, v in kwargs.items())])
    return _shaped_like(like, value, f"{function.__name__}({shown})")


@implements(np.zeros_like)
def zeros_like(a, dtype=None, order="K", subok=True, shape=None, device=None):
    return _shaped_like(a, np.zeros_like(raw(a), dtype=dtype, order=order, shape=shape), "0")


@implements(np.ones_like)
def ones_like(a, dtype=None, order="K", subok=True, shape=None, device=None):
    return _shaped_like(a, np.ones_like(raw(a), dtype=dtype, order=order, shape=shape), "1")


@implements(np.empty_like)
def empty_like(prototype, dtype=None, order="K", subok=True, shape=None, device=None):
    """Zeros, not NumPy's arbitrary entries: an entry read before it is written is then the
    same at every call (and in ``td.jit``'s replay)."""
    return np.zeros_like(prototype, dtype=dtype, order=order, shape=shape)


@implements(np.full_like)
def full_like(a, fill_value, dtype=None, order="K", subok=True, shape=None, device=None):
    """``a`` gives the shape (and the dtype); a traced fill value is broadcast into it."""
    if type(fill_value) is Traced:
        zeros = np.zeros_like(a, dtype=dtype, order=order, shape=shape)
        if not np.issubdtype(zeros.dtype, np.inexact):
            raise UnsupportedOperationError.for_function(
                "full_like",
                f"a {zeros.dtype} array cannot hold the traced fill value's derivative;"
                " give a float dtype",
            )
        return zeros + fill_value
    value = np.full_like(raw(a), fill_value, dtype=dtype, order=order, shape=shape)
    return _shaped_like(a, value, expressions([a, fill_value])[1])
