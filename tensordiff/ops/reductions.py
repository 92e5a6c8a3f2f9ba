"""Reductions along axes (sum, mean, var, std, max/min, prod, cumsum, cumprod, their
nan-ignoring twins, average, ptp, median and the quantiles, trapezoid, cov, corrcoef) and
clip.

Ties in max/min follow JAX: the derivative is shared equally among the
entries that attain the extreme (each gets 1/count). ``std`` is ``√var``: where
the variance is 0 its derivative is infinite or NaN, as in JAX.
"""

import functools
import math

import numpy as np

from tensordiff.core.templates import defined, number
from tensordiff.core.vjp import EinsumProduct, SpreadProduct, numbers_wanted
from tensordiff.errors import ShapeError, UnsupportedOperationError
from tensordiff.ops import jacobians
from tensordiff.ops.arguments import axis_option, letters, normalize_axes, refuse
from tensordiff.ops.arrangement import take_along_axis
from tensordiff.ops.linear import linear
from tensordiff.trace.graph import texts
from tensordiff.trace.registry import implements, pulls_back
from tensordiff.trace.traced import (
    Traced,
    as_array,
    define_constant,
    expression_sources,
    expressions,
    keep_call,
    plain_inputs,
    plain_sources,
    raw,
    record,
    record_numbers,
)

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
    """The sum; ``where=`` counts only the entries it marks (``initial`` is added)."""
    refuse("sum", dtype=_other_dtype(a, dtype), out=out)
    if where is not None:
        return sum_(np.where(where, a, 0.0), axis, keepdims=keepdims, initial=initial)
    value = np.sum(raw(a), axis=axis, keepdims=keepdims)
    total = _linear_reduction("sum", a, axis, keepdims, value)
    return total if initial is None else total + initial


@implements(np.mean)
def mean(a, axis=None, dtype=None, out=None, keepdims=False, where=None):
    """The mean; ``where=`` averages only the entries it marks."""
    refuse("mean", dtype=_other_dtype(a, dtype), out=out)
    if where is not None:
        counted = np.broadcast_to(np.asarray(where, dtype=float), np.shape(raw(a)))
        total = np.sum(a, axis=axis, keepdims=keepdims, where=where)
        return total / np.sum(counted, axis=axis, keepdims=keepdims)
    value = np.mean(raw(a), axis=axis, keepdims=keepdims)
    return _linear_reduction("mean", a, axis, keepdims, value, scale_by_count=True)


def _reduction_pulled_back(name: str, trace, args, kwargs):
    """``np.sum``, ``np.mean``, ``np.max`` or ``np.min`` (``name``) of a traced value along
    ``axis`` on a trace that only wants numbers (see
    :func:`~tensordiff.trace.registry.pulls_back`): the value, its expression as the full
    rule writes it, and the cotangent spread back over the reduced axes (to the extreme's
    entries, shared among ties, for max and min). Any other option (``dtype``, ``where``,
    ``initial``, ...) takes the full rule."""
    if len(args) != 1 or type(args[0]) is not Traced or not kwargs.keys() <= {"axis", "keepdims"}:
        return None
    keepdims = kwargs.get("keepdims", False)
    values = plain_inputs(trace, args) if type(keepdims) is bool else None
    if values is None:
        return None
    (x,) = values
    axis = kwargs.get("axis")
    axes = tuple(range(x.ndim)) if axis is None else normalize_axes(axis, x.ndim, name)
    count = math.prod(x.shape[n] for n in axes)
    if not count:
        return None  # nothing to reduce: NumPy's warning or error, by the full rule
    # np.sum, np.max and np.min of a plain array are the ufunc's reduce: called directly,
    # the same numbers without NumPy's Python wrapper (a microsecond a call)
    reduce = _UFUNC_REDUCE[name] if type(x) is np.ndarray else _REDUCE[name]
    value = as_array(reduce(x, axis=axes, keepdims=keepdims))
    kept = tuple(1 if n in axes else size for n, size in enumerate(x.shape))
    if name in ("max", "min"):
        builder = functools.partial(_extreme_product, reduce, x, axes, kept)
    else:
        scale = 1.0 / count if name == "mean" else None
        builder = functools.partial(_spread_product, scale, kept, x.shape)
    template = f"{name}({{0}}{_options_text(axis, keepdims)})"
    sources = plain_sources(trace, args)
    result = record_numbers(trace, name, value, args, builder, template, sources)
    return keep_call(result, args, axes=axes, keepdims=keepdims)


_REDUCE = {"sum": np.sum, "mean": np.mean, "max": np.max, "min": np.min}
_UFUNC_REDUCE = {
    **_REDUCE,
    "sum": np.add.reduce,
    "max": np.maximum.reduce,
    "min": np.minimum.reduce,
}


def _spread_product(scale, kept, shape, _) -> SpreadProduct:
    return SpreadProduct(scale, kept, shape)


def _extreme_product(reduce, x, axes, kept, _) -> SpreadProduct:
    """The cotangent of ``reduce(x)`` (max or min) spread back to the entries that attain
    it, shared equally among ties (the weights of :func:`_extreme`)."""
    attains = x == reduce(x, axis=axes, keepdims=True)
    count = (np.add.reduce if type(attains) is np.ndarray else np.sum)(
        attains, axis=axes, keepdims=True
    )
    share = attains / count
    return SpreadProduct(share, kept, x.shape)


pulls_back(np.sum)(functools.partial(_reduction_pulled_back, "sum"))
pulls_back(np.mean)(functools.partial(_reduction_pulled_back, "mean"))
pulls_back(*{np.max, np.amax})(functools.partial(_reduction_pulled_back, "max"))
pulls_back(*{np.min, np.amin})(functools.partial(_reduction_pulled_back, "min"))


def _other_dtype(a, dtype):
    """``dtype`` if it would change the values' dtype (refused), None if it keeps it
    (``np.sum(x, dtype=np.float64)`` on float64 values, as scipy writes)."""
    return None if dtype is None or np.dtype(dtype) == raw(a).dtype else dtype


def _options_text(axis, keepdims) -> str:
    """``, axis=1, keepdims=True``: a reduction's options as written, for its expression."""
    return ("" if axis is None else f", axis={axis}") + (", keepdims=True" if keepdims else "")


def _linear_reduction(name, a, axis, keepdims, value, scale_by_count=False):
    axes = _axes(a, axis, name)
    names = letters(np.ndim(raw(a)))
    output = [None if n in axes else ch for n, ch in enumerate(names) if keepdims or n not in axes]
    count = math.prod(np.shape(raw(a))[n] for n in axes)
    # the mean of nothing is NaN, as NumPy says (its Jacobian has no entries anyway)
    scale = (1.0 / count if count else math.nan) if scale_by_count else None
    template = f"{name}({{0}}{_options_text(axis, keepdims)})"
    result = linear(name, [names], output, [a], value, scale, template, f"1/{count}")
    return keep_call(result, [a], axes=axes, keepdims=bool(keepdims))


@implements(np.var)
def var(a, axis=None, dtype=None, out=None, ddof=0, keepdims=False, *, where=None, **rest):
    """``Σ (a − mean a)² / (N − ddof)``, written with traceable operations (one rule for
    every order of derivative)."""
    refuse("var", dtype=dtype, out=out, where=where, **_given(rest))
    ddof = _ddof(ddof, rest)
    axes = _axes(a, axis, "var")
    count = math.prod(np.shape(raw(a))[n] for n in axes)
    # the mean as a user writes it: mean(x) over every axis, else along its axis, kept
    along = {} if len(axes) == np.ndim(raw(a)) else {"axis": axis_option(axes)}
    deviation = a - np.mean(a, **along, keepdims=bool(along))
    squares = np.sum(deviation * deviation, axis=axes, keepdims=keepdims)
    # divided, not scaled by 1/N: the formula then shows the exact count
    result = squares / float(count - ddof) if count > ddof else squares * math.inf
    if type(result) is Traced and raw(result) is not result:  # reads var(x), not its sum
        (e,) = expressions([a])
        options = _options_text(along.get("axis"), keepdims)
        options += f", ddof={number(ddof)}" if ddof else ""
        result.node.expr = f"var({e}{options})"
        result.node.op = "var"  # one value of its own, as composites read it
    return keep_call(result, [a], axes=axes, keepdims=bool(keepdims), ddof=ddof)


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


def _extreme(name: str, reduce, a, axis, out, keepdims):
    refuse(name, out=out)
    x = raw(a)
    axes = _axes(a, axis, name)
    value = reduce(x, axis=axes, keepdims=bool(keepdims))
    attains = x == reduce(x, axis=axes, keepdims=True)  # plain booleans: no derivative
    share = attains / np.sum(attains, axis=axes, keepdims=True)
    shape = np.shape(x)
    value_shape = np.shape(value)
    pairs = _kept(shape, axes, keepdims)
    every_axis = list(range(len(shape)))
    sources = expression_sources([a])  # the names are written only if they are read

    def meaning() -> str:
        (e,) = texts(sources)
        # kept axes, so that the comparison broadcasts as the numbers do
        along = "" if axis is None else f", axis={axis}, keepdims=True"
        # the weights are 1 at the extreme, shared equally among tied entries
        extreme = f"[{e} = {name}({e}{along})]"
        return f"{extreme} / sum({extreme}{along})"

    def jacobian(_):
        if numbers_wanted():  # y = Σ_reduced share · x: a gradient needs one einsum
            define_constant(share, "w", meaning)  # a Hessian traces these numbers
            subscripts = letters(len(shape))
            output = [subscripts[n] if n not in axes else None for n in range(len(shape))]
            output = [letter for n, letter in enumerate(output) if keepdims or n not in axes]
            return EinsumProduct(subscripts, [(subscripts, share)], output, None, shape)
        weights = defined("w", meaning())
        return jacobians.selection(value_shape, shape, pairs, [((), every_axis, share, weights)])

    result = record(
        name,
        value,
        [a],
        jacobian,
        # its axis and keepdims, as sum's: max(X) alone would read as the largest entry
        f"{name}({{0}}{_options_text(axis, keepdims)})",
        sources=sources,
    )
    return keep_call(result, [a], axes=axes, keepdims=bool(keepdims))


# cumsum's Jacobian along its axis: ∂y[o]/∂x[i] = [i ≤ o]
_LOWER = defined("L", "the lower triangle of ones (diagonal included)")


@implements(*{np.max, np.amax})  # one object in NumPy 2, two in 1.26
def max_(a, axis=None, out=None, keepdims=False, initial=None, where=None):
    return _with_initial(_extreme, "max", np.max, np.maximum, -np.inf, a, axis, out, keepdims,
                         initial, where)  # fmt: skip


@implements(*{np.min, np.amin})
def min_(a, axis=None, out=None, keepdims=False, initial=None, where=None):
    return _with_initial(_extreme, "min", np.min, np.minimum, np.inf, a, axis, out, keepdims,
                         initial, where)  # fmt: skip


def _with_initial(reduction, name, reduce, combine, neutral, a, axis, out, keepdims, initial,
                  where):  # fmt: skip
    """``name(a, initial=c, where=m)`` as NumPy defines it: the entries ``where`` leaves out
    replaced by ``neutral`` (they then get no derivative), and ``c`` taken as one more entry:
    ``combine(name(a), c)`` (for max, ``np.maximum``: half the derivative each at a tie with
    ``c``, as ``np.maximum`` and JAX's ``initial=``). NumPy asks for ``initial`` with
    ``where`` for max/min, which have no identity (prod's is 1)."""
    if initial is None and where is None:
        return reduction(name, reduce, a, axis, out, keepdims)
    refuse(name, out=out)
    if where is not None:
        if initial is None and neutral != 1.0:
            raise ValueError(
                f"reduction operation '{name}' does not have an identity, so to use a where"
                " mask one has to specify 'initial'"
            )
        a = np.where(where, a, neutral)
    result = reduction(name, reduce, a, axis, None, keepdims)
    return result if initial is None else combine(result, initial)


@implements(np.prod)
def prod(a, axis=None, dtype=None, out=None, keepdims=False, initial=None, where=None):
    """The product; ``initial`` multiplies it, and ``where=`` leaves entries out (as 1)."""
    refuse("prod", dtype=_other_dtype(a, dtype))
    return _with_initial(_product, "prod", np.prod, np.multiply, 1.0, a, axis, out, keepdims,
                         initial, where)  # fmt: skip


def _product(name, reduce, a, axis, out, keepdims):
    refuse("prod", out=out)
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

    return record("prod", value, [a], jacobian, f"prod({{0}}{_options_text(axis, keepdims)})")


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
        "cumsum({0})" if len(shape) == 1 else f"cumsum({{0}}, axis={axis})",
    )


@implements(np.cumprod)
def cumprod(a, axis=None, dtype=None, out=None):
    """``y[..., k] = Π_{i ≤ k} x[..., i]``: the product of a lower-triangular selection, so
    zeros are handled as by ``prod`` (the product of the other entries), as in JAX."""
    refuse("cumprod", dtype=dtype, out=out)
    if axis is None:
        return cumprod(np.ravel(a), axis=0)
    return over_prefixes("cumprod", np.prod, 1.0, a, axis)


def over_prefixes(name: str, reduce, identity: float, a, axis):
    """``reduce`` of each prefix of ``a`` along ``axis`` (a running product, maximum, …):
    the prefixes are rows of an (n, n) lower triangle, the rest filled with ``reduce``'s
    identity, so each output is one reduction with that reduction's own derivative."""
    (axis,) = normalize_axes(axis, np.ndim(raw(a)), name)
    moved = np.moveaxis(a, axis, -1)
    size = np.shape(raw(a))[axis]
    lower = np.tril(np.ones((size, size), dtype=bool))  # [o, i]: entry i is in prefix o
    prefixes = np.where(lower, np.expand_dims(moved, -2), identity)
    return np.moveaxis(reduce(prefixes, axis=-1), -1, axis)


@implements(np.clip)
def clip(a, a_min=None, a_max=None, out=None, min=None, max=None, **kwargs):
    """``minimum(maximum(a, low), high)``, as JAX defines it: half the derivative at a bound."""
    refuse("clip", out=out, **kwargs)
    low = a_min if a_min is not None else min
    high = a_max if a_max is not None else max
    result = a if low is None else np.maximum(a, low)
    return result if high is None else np.minimum(result, high)


def _cumulative(name: str, running, empty: float):
    """The array-API cumsum/cumprod: ``axis`` may be omitted only for 1-d arrays, and
    ``include_initial`` prepends the empty sum 0 (product 1)."""

    def rule(x, /, *, axis=None, dtype=None, out=None, include_initial=False):
        refuse(name, dtype=dtype, out=out)
        ndim = np.ndim(raw(x))
        if axis is None:
            if ndim != 1:
                raise ShapeError(f"numpy.{name}: axis is required for arrays of {ndim} dimensions")
            axis = 0
        result = running(x, axis=axis)
        if not include_initial:
            return result
        start_shape = list(np.shape(raw(x)))
        start_shape[normalize_axes(axis, ndim, name)[0]] = 1
        return np.concatenate([np.full(start_shape, empty), result], axis=axis)

    return rule


implements(np.cumulative_sum)(_cumulative("cumulative_sum", np.cumsum, 0.0))
implements(np.cumulative_prod)(_cumulative("cumulative_prod", np.cumprod, 1.0))


@implements(np.ptp)
def ptp(a, axis=None, out=None, keepdims=False):
    """``max − min``; ties share each extreme's derivative equally, as for max/min."""
    refuse("ptp", out=out)
    return np.max(a, axis=axis, keepdims=keepdims) - np.min(a, axis=axis, keepdims=keepdims)


@implements(np.average)
def average(a, axis=None, weights=None, returned=False, *, keepdims=False):
    """``Σ w a / Σ w`` along ``axis`` (the mean without weights); 1-d weights with an
    axis lie along that axis, as in NumPy."""
    if weights is None:
        result = np.mean(a, axis=axis, keepdims=keepdims)
        count = math.prod(np.shape(raw(a))[n] for n in _axes(a, axis, "average"))
        total = np.full(np.shape(raw(result)), float(count))
    else:
        ndim = np.ndim(raw(a))
        if np.ndim(raw(weights)) != ndim:
            if axis is None or np.ndim(raw(weights)) != 1:
                raise ShapeError(
                    "numpy.average: weights of a different shape need one axis and 1 dimension"
                )
            (along,) = normalize_axes(axis, ndim, "average")
            weights = np.reshape(weights, [-1 if n == along else 1 for n in range(ndim)])
        weights = weights + np.zeros(np.shape(raw(a)))  # broadcast to a's shape
        total = np.sum(weights, axis=axis, keepdims=keepdims)
        result = np.sum(a * weights, axis=axis, keepdims=keepdims) / total
    return (result, total) if returned else result


# ---- the nan-ignoring reductions: NaN entries are replaced by the neutral value ----------
def _without_nan(a, neutral: float):
    """``a`` with its NaN entries replaced by ``neutral`` (a constant: derivative 0 there)."""
    return np.where(np.isnan(raw(a)), neutral, a)


@implements(np.nansum)
def nansum(a, axis=None, dtype=None, out=None, keepdims=False, initial=None, where=None):
    refuse("nansum", dtype=dtype, out=out, initial=initial, where=where)
    return np.sum(_without_nan(a, 0.0), axis=axis, keepdims=keepdims)


@implements(np.nanprod)
def nanprod(a, axis=None, dtype=None, out=None, keepdims=False, initial=None, where=None):
    refuse("nanprod", dtype=dtype, out=out, initial=initial, where=where)
    return np.prod(_without_nan(a, 1.0), axis=axis, keepdims=keepdims)


@implements(np.nanmax)
def nanmax(a, axis=None, out=None, keepdims=False, initial=None, where=None):
    refuse("nanmax", out=out, initial=initial, where=where)
    return np.max(_without_nan(a, -np.inf), axis=axis, keepdims=keepdims)


@implements(np.nanmin)
def nanmin(a, axis=None, out=None, keepdims=False, initial=None, where=None):
    refuse("nanmin", out=out, initial=initial, where=where)
    return np.min(_without_nan(a, np.inf), axis=axis, keepdims=keepdims)


@implements(np.nancumsum)
def nancumsum(a, axis=None, dtype=None, out=None):
    refuse("nancumsum", dtype=dtype, out=out)
    return np.cumsum(_without_nan(a, 0.0), axis=axis)


@implements(np.nancumprod)
def nancumprod(a, axis=None, dtype=None, out=None):
    refuse("nancumprod", dtype=dtype, out=out)
    return np.cumprod(_without_nan(a, 1.0), axis=axis)


def _count(a, axis, keepdims):
    """How many entries are not NaN (a constant)."""
    return np.sum(~np.isnan(raw(a)), axis=axis, keepdims=keepdims)


@implements(np.nanmean)
def nanmean(a, axis=None, dtype=None, out=None, keepdims=False, *, where=None):
    refuse("nanmean", dtype=dtype, out=out, where=where)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.sum(_without_nan(a, 0.0), axis=axis, keepdims=keepdims) / _count(
            a, axis, keepdims
        )


@implements(np.nanvar)
def nanvar(a, axis=None, dtype=None, out=None, ddof=0, keepdims=False, *, where=None, **rest):
    refuse("nanvar", dtype=dtype, out=out, where=where, **_given(rest))
    ddof = _ddof(ddof, rest)
    deviation = _without_nan(a - np.nanmean(a, axis=axis, keepdims=True), 0.0)
    squares = np.sum(deviation * deviation, axis=axis, keepdims=keepdims)
    with np.errstate(invalid="ignore", divide="ignore"):
        return squares / np.maximum(_count(a, axis, keepdims) - ddof, 0)


@implements(np.nanstd)
def nanstd(a, axis=None, dtype=None, out=None, ddof=0, keepdims=False, *, where=None, **rest):
    refuse("nanstd", dtype=dtype, out=out, where=where, **_given(rest))
    return np.sqrt(np.nanvar(a, axis=axis, ddof=_ddof(ddof, rest), keepdims=keepdims))


# ---- order statistics and statistics of several variables --------------------------------
@implements(np.median)
def median(a, axis=None, out=None, overwrite_input=False, keepdims=False):
    """The middle of the sorted entries (the mean of the two middle ones for an even
    count): a selection, so ties follow ``sort`` (stable, as in JAX)."""
    refuse("median", out=out)
    ndim = np.ndim(raw(a))
    axes = _axes(a, axis, "median")
    kept = [n for n in range(ndim) if n not in axes]
    moved = np.transpose(a, kept + list(axes))
    shape = np.shape(raw(a))
    flat = np.reshape(moved, [shape[n] for n in kept] + [-1])
    ordered = np.sort(flat, axis=-1)
    count = np.shape(raw(ordered))[-1]
    middle = ordered[..., (count - 1) // 2 : count // 2 + 1]
    result = np.mean(middle, axis=-1)
    return np.expand_dims(result, axes) if keepdims else result


# NumPy's quantile methods that interpolate between two order statistics, by how each
# reads the virtual position p (an integer p picks one entry).
_QUANTILE_METHODS = ("linear", "lower", "higher", "midpoint", "nearest")


def _quantile(name, a, q, axis, method, keepdims, weights, ignore_nan):
    """The ``q``-quantiles of ``a`` along ``axis``: sorted entries (NaN last) read at the
    virtual position ``p = q (count − 1)``, interpolated as ``(1 − t) lo + t hi`` between
    the entries on either side; ``t`` and the positions are constants, so the derivative
    follows ``sort`` (stable at ties, as in JAX). A NaN in a fibre makes its quantile NaN
    (``nanquantile``: NaN entries are left out, and a fibre of NaN only gives NaN)."""
    refuse(name, weights=weights)
    if method not in _QUANTILE_METHODS:
        raise UnsupportedOperationError.for_function(
            name, f"method={method!r} is not supported; use one of {list(_QUANTILE_METHODS)}"
        )
    if raw(q) is not q:
        raise UnsupportedOperationError.for_function(
            name, "q is a traced value; it must be a constant"
        )
    quantiles = np.asarray(q, dtype=float)
    if np.any((quantiles < 0) | (quantiles > 1)):
        raise ValueError(f"numpy.{name}: quantiles must be in the range [0, 1]")
    ndim = np.ndim(raw(a))
    axes = _axes(a, axis, name)
    kept = [n for n in range(ndim) if n not in axes]
    shape = np.shape(raw(a))
    flat = np.reshape(np.transpose(a, kept + list(axes)), [shape[n] for n in kept] + [-1])
    ordered = np.sort(flat, axis=-1)
    # constants: which entries are NaN (plain, or recorded on td.jit's tape)
    missing = raw(np.isnan(raw(flat)))
    if ignore_nan:
        count = np.sum(~missing, axis=-1, keepdims=True)
        undefined = count == 0
    else:
        count = np.full(np.shape(missing)[:-1] + (1,), np.shape(missing)[-1])
        undefined = np.any(missing, axis=-1, keepdims=True) | (count == 0)
    last = np.maximum(count - 1, 0)
    results = []
    for fraction in np.ravel(quantiles):
        low, high, weight = _interpolation(method, fraction * last, last)
        lo = take_along_axis(ordered, low, -1)
        hi = take_along_axis(ordered, high, -1)
        between = np.where(weight == 0, lo, lo * (1.0 - weight) + hi * weight)
        results.append(np.where(undefined, np.nan, between)[..., 0])
    result = np.reshape(np.stack(results), quantiles.shape + np.shape(raw(results[0])))
    if keepdims:
        result = np.expand_dims(result, tuple(quantiles.ndim + n for n in axes))
    return result


def _interpolation(method: str, position, last):
    """(low index, high index, weight of the high entry) at the virtual ``position``."""
    low = np.floor(position)
    weight = position - low
    if method == "lower":
        weight = np.zeros_like(position)
    elif method == "higher":
        low, weight = np.ceil(position), np.zeros_like(position)
    elif method == "nearest":
        low, weight = np.around(position), np.zeros_like(position)  # half to even, as NumPy
    elif method == "midpoint":
        weight = np.where(weight == 0, 0.0, 0.5)
    high = np.minimum(low + 1, last)
    return low.astype(int), high.astype(int), weight


def _quantile_rule(name: str, per_unit: float, ignore_nan: bool):
    """The rule of quantile-like ``name``, whose ``q`` is a fraction of ``per_unit``."""

    def rule(a, q, axis=None, out=None, overwrite_input=False, method="linear",
             keepdims=False, *, weights=None, interpolation=None):  # fmt: skip
        refuse(name, out=out, interpolation=interpolation)
        fractions = q if per_unit == 1 else np.true_divide(q, per_unit)
        return _quantile(name, a, fractions, axis, method, keepdims, weights, ignore_nan)

    return rule


implements(np.quantile)(_quantile_rule("quantile", 1, ignore_nan=False))
implements(np.nanquantile)(_quantile_rule("nanquantile", 1, ignore_nan=True))
implements(np.percentile)(_quantile_rule("percentile", 100, ignore_nan=False))
implements(np.nanpercentile)(_quantile_rule("nanpercentile", 100, ignore_nan=True))


@implements(np.nanmedian)
def nanmedian(a, axis=None, out=None, overwrite_input=False, keepdims=False):
    """The median of the entries that are not NaN."""
    refuse("nanmedian", out=out)
    return _quantile("nanmedian", a, 0.5, axis, "linear", keepdims, None, ignore_nan=True)


@implements(np.trapezoid)
def trapezoid(y, x=None, dx=1.0, axis=-1):
    """``Σ (y[i+1] + y[i])/2 · (x[i+1] − x[i])`` along ``axis``."""
    ndim = np.ndim(raw(y))
    (axis,) = normalize_axes(axis, ndim, "trapezoid")
    if x is None:
        steps = dx
    else:
        steps = np.diff(x, axis=-1 if np.ndim(raw(x)) == 1 else axis)
        if np.ndim(raw(x)) == 1:
            steps = np.reshape(steps, [-1 if n == axis else 1 for n in range(ndim)])
    prefix = (slice(None),) * axis
    pairs = y[prefix + (slice(1, None),)] + y[prefix + (slice(None, -1),)]
    return np.sum(pairs * steps, axis=axis) / 2.0


@implements(np.cov)
def cov(m, y=None, rowvar=True, bias=False, ddof=None, fweights=None, aweights=None, *, dtype=None):
    """``Xc Xcᵀ / (N − ddof)`` with ``Xc`` the variables (rows) less their means."""
    refuse("cov", fweights=fweights, aweights=aweights, dtype=dtype)
    variables = np.atleast_2d(m)
    if not rowvar and np.shape(raw(variables))[0] != 1:
        variables = np.transpose(variables)
    if y is not None:
        other = np.atleast_2d(y)
        if not rowvar and np.shape(raw(other))[0] != 1:
            other = np.transpose(other)
        variables = np.concatenate([variables, other], axis=0)
    count = np.shape(raw(variables))[1]
    ddof = (0 if bias else 1) if ddof is None else ddof
    centred = variables - np.mean(variables, axis=1, keepdims=True)
    result = (centred @ np.transpose(centred)) * (1.0 / (count - ddof))
    return np.squeeze(result) if np.shape(raw(result)) == (1, 1) else result


@implements(np.corrcoef)
def corrcoef(x, y=None, rowvar=True, *, dtype=None):
    """``cov[i,j] / √(cov[i,i] cov[j,j])``."""
    refuse("corrcoef", dtype=dtype)
    c = np.cov(x, y, rowvar=rowvar)
    if np.ndim(raw(c)) == 0:
        return c / c
    deviation = np.sqrt(np.diagonal(c))
    return c / np.outer(deviation, deviation)
