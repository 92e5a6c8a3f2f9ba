"""Reductions along axes (sum, mean, var, std, max/min, prod, cumsum, cumprod) and clip.

Ties in max/min follow JAX: the derivative is shared equally among the
entries that attain the extreme (each gets 1/count). ``std`` is ``√var``: where
the variance is 0 its derivative is infinite or NaN, as in JAX.
"""

import math

import numpy as np

from tensordiff.core.templates import defined
from tensordiff.ops import jacobians
from tensordiff.ops.arguments import letters, normalize_axes, refuse
from tensordiff.ops.linear import linear
from tensordiff.trace.registry import implements
from tensordiff.trace.traced import expressions, raw, record

__all__: list[str] = []


def _axes(a, axis, name: str) -> tuple[int, ...]:
    ndim = np.ndim(raw(a))
    return tuple(range(ndim)) if axis is None else normalize_axes(axis, ndim, name)


def _kept(shape, axes, keepdims) -> list[tuple[int, int]]:
    """Delta pairs (out axis, in axis) for the axes a reduction keeps."""
    pairs, out_axis = [], 0
    for n in range(len(shape)):
        if n not in axes:
            pairs.append((out_axis, n))
            out_axis += 1
        elif keepdims:
            out_axis += 1
    return pairs


@implements(np.sum)
def sum_(a, axis=None, dtype=None, out=None, keepdims=False, initial=None, where=None):
    refuse("sum", dtype=dtype, out=out, initial=initial, where=where)
    return _linear_reduction("sum", a, axis, keepdims, np.sum(raw(a), axis=axis, keepdims=keepdims))


@implements(np.mean)
def mean(a, axis=None, dtype=None, out=None, keepdims=False, where=None):
    refuse("mean", dtype=dtype, out=out, where=where)
    value = np.mean(raw(a), axis=axis, keepdims=keepdims)
    return _linear_reduction("mean", a, axis, keepdims, value, scale_by_count=True)


def _linear_reduction(name, a, axis, keepdims, value, scale_by_count=False):
    axes = _axes(a, axis, name)
    names = letters(np.ndim(raw(a)))
    output = [None if n in axes else ch for n, ch in enumerate(names) if keepdims or n not in axes]
    count = math.prod(np.shape(raw(a))[n] for n in axes)
    # the mean of nothing is NaN, as NumPy says (its Jacobian has no entries anyway)
    scale = (1.0 / count if count else math.nan) if scale_by_count else None
    where = ("" if axis is None else f", axis={axis}") + (", keepdims=True" if keepdims else "")
    template = f"{name}({{0}}{where})"
    return linear(name, [names], output, [a], value, scale, template, f"1/{count}")


@implements(np.var)
def var(a, axis=None, dtype=None, out=None, ddof=0, keepdims=False, *, where=None, **rest):
    """``Σ (a − mean a)² / (N − ddof)``, written with traceable operations (one rule for
    every order of derivative)."""
    refuse("var", dtype=dtype, out=out, where=where, **_given(rest))
    ddof = _ddof(ddof, rest)
    axes = _axes(a, axis, "var")
    count = math.prod(np.shape(raw(a))[n] for n in axes)
    deviation = a - np.mean(a, axis=axes, keepdims=True)
    squares = np.sum(deviation * deviation, axis=axes, keepdims=keepdims)
    return squares * (1.0 / (count - ddof) if count > ddof else math.inf)


@implements(np.std)
def std(a, axis=None, dtype=None, out=None, ddof=0, keepdims=False, *, where=None, **rest):
    """``√var``."""
    refuse("std", dtype=dtype, out=out, where=where, **_given(rest))
    return np.sqrt(var(a, axis=axis, ddof=_ddof(ddof, rest), keepdims=keepdims))


def _given(rest: dict) -> dict:
    """The options of var/std other than ``correction`` (NumPy 2's name for ddof), which
    we read, and ``mean`` (a precomputed mean), which we refuse."""
    return {k: v for k, v in rest.items() if k != "correction"}


def _ddof(ddof, rest: dict):
    correction = rest.get("correction")
    return ddof if correction is None else correction


def _extreme(name: str, reduce, a, axis, out, keepdims, initial, where):
    refuse(name, out=out, initial=initial, where=where)
    x = raw(a)
    axes = _axes(a, axis, name)
    value = reduce(x, axis=axes, keepdims=bool(keepdims))
    attains = x == reduce(x, axis=axes, keepdims=True)  # plain booleans: no derivative
    share = attains / np.sum(attains, axis=axes, keepdims=True)
    shape = np.shape(x)
    value_shape = np.shape(value)
    pairs = _kept(shape, axes, keepdims)
    every_axis = list(range(len(shape)))
    (e,) = expressions([a])
    # kept axes, so that the comparison broadcasts as the numbers do
    along = "" if axis is None else f", axis={axis}, keepdims=True"
    # the weights are 1 at the extreme, shared equally among tied entries
    extreme = f"[{e} = {name}({e}{along})]"
    weights = defined("w", f"{extreme} / sum({extreme}{along})")
    return record(
        name,
        value,
        [a],
        lambda _: jacobians.selection(
            value_shape, shape, pairs, [((), every_axis, share, weights)]
        ),
    )


# cumsum's Jacobian along its axis: ∂y[o]/∂x[i] = [i ≤ o]
_LOWER = defined("L", "the lower triangle of ones (diagonal included)")


@implements(*{np.max, np.amax})  # one object in NumPy 2, two in 1.26
def max_(a, axis=None, out=None, keepdims=False, initial=None, where=None):
    return _extreme("max", np.max, a, axis, out, keepdims, initial, where)


@implements(*{np.min, np.amin})
def min_(a, axis=None, out=None, keepdims=False, initial=None, where=None):
    return _extreme("min", np.min, a, axis, out, keepdims, initial, where)


@implements(np.prod)
def prod(a, axis=None, dtype=None, out=None, keepdims=False, initial=None, where=None):
    refuse("prod", dtype=dtype, out=out, initial=initial, where=where)
    x = raw(a)
    axes = _axes(a, axis, "prod")
    value = np.prod(x, axis=axes, keepdims=bool(keepdims))
    shape = np.shape(x)
    value_shape = np.shape(value)
    pairs = _kept(shape, axes, keepdims)

    (e,) = expressions([a])
    others_name = defined("Π", f"the product of the other entries of {e} in each product")

    def jacobian(_):
        others = _product_of_others(x, axes)
        return jacobians.selection(
            value_shape, shape, pairs, [((), list(range(len(shape))), others, others_name)]
        )

    return record("prod", value, [a], jacobian)


def _product_of_others(x, axes: tuple[int, ...]):
    """For each entry, the product of the other entries of its reduction fibre.

    Written with traceable operations (no division, so zeros are handled as JAX
    does) so that a second derivative of ``prod`` works too.
    """
    shape = np.shape(x)
    kept = [n for n in range(len(shape)) if n not in axes]
    moved = np.transpose(x, kept + list(axes))
    n = math.prod(shape[k] for k in axes)
    fibres = np.reshape(moved, [shape[k] for k in kept] + [n])
    repeated = np.expand_dims(fibres, -2) * np.ones((n, 1))  # (..., n copies, n entries)
    others = np.prod(np.where(np.eye(n, dtype=bool), 1.0, repeated), axis=-1)
    others = np.reshape(others, [shape[k] for k in kept] + [shape[k] for k in axes])
    return np.transpose(others, np.argsort(kept + list(axes)))


@implements(np.cumsum)
def cumsum(a, axis=None, dtype=None, out=None):
    refuse("cumsum", dtype=dtype, out=out)
    if axis is None:
        return cumsum(np.ravel(a), axis=0)
    x = raw(a)
    shape = np.shape(x)
    (axis,) = normalize_axes(axis, len(shape), "cumsum")
    value = np.cumsum(x, axis=axis)
    pairs = [(n, n) for n in range(len(shape)) if n != axis]
    size = shape[axis]
    lower = np.tril(np.ones((size, size)))  # ∂y[o]/∂x[i] = [i <= o] along the axis
    return record(
        "cumsum",
        value,
        [a],
        lambda _: jacobians.selection(shape, shape, pairs, [((axis,), (axis,), lower, _LOWER)]),
    )


@implements(np.cumprod)
def cumprod(a, axis=None, dtype=None, out=None):
    """``y[..., k] = Π_{i ≤ k} x[..., i]``: the product of a lower-triangular selection, so
    zeros are handled as by ``prod`` (the product of the other entries), as in JAX."""
    refuse("cumprod", dtype=dtype, out=out)
    if axis is None:
        return cumprod(np.ravel(a), axis=0)
    (axis,) = normalize_axes(axis, np.ndim(raw(a)), "cumprod")
    moved = np.moveaxis(a, axis, -1)
    size = np.shape(raw(a))[axis]
    lower = np.tril(np.ones((size, size), dtype=bool))  # [o, i]: entry i is in prefix o
    prefixes = np.where(lower, np.expand_dims(moved, -2), 1.0)
    return np.moveaxis(np.prod(prefixes, axis=-1), -1, axis)


@implements(np.clip)
def clip(a, a_min=None, a_max=None, out=None, min=None, max=None, **kwargs):
    """``minimum(maximum(a, low), high)``, as JAX defines it: half the derivative at a bound."""
    refuse("clip", out=out, **kwargs)
    low = a_min if a_min is not None else min
    high = a_max if a_max is not None else max
    result = a if low is None else np.maximum(a, low)
    return result if high is None else np.minimum(result, high)
