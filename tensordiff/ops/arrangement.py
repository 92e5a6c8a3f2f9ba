"""Arranging entries: stacks, splits, tiles, triangles, rotations, sorting, differences.

Most of these are written with traceable rules already on the allow-list
(concatenate, reshape, take, where, flip, transpose, indexing), as autograd and
micrograd build derived operations, so every order of derivative, ``td.jit``
and the explanations come for free. ``sort`` is a selection of its own.

``sort`` follows JAX at ties: the sort is stable, so equal entries keep their
order and each output entry has derivative 1 with respect to exactly one input
entry. ``argsort``, ``argmax`` and ``argmin`` are integer constants.

>>> import tensordiff as td
>>> J = td.jacobian(lambda x: np.sort(x))(np.array([3.0, 1.0, 2.0]))
>>> np.asarray(J)
array([[0., 1., 0.],
       [0., 0., 1.],
       [1., 0., 0.]])
"""

import numpy as np

from tensordiff.core import templates
from tensordiff.errors import ShapeError, UnsupportedOperationError
from tensordiff.ops import jacobians
from tensordiff.ops.arguments import normalize_axes, refuse, refuse_bools
from tensordiff.ops.linear import einsum_record
from tensordiff.trace.registry import implements
from tensordiff.trace.traced import (
    Positions,
    define_constant,
    expressions,
    numbers_of,
    raw,
    record,
)

__all__: list[str] = []


def _ndim(a) -> int:
    return np.ndim(raw(a))


def _refuse_traced(name: str, argument: str, value) -> None:
    """Refuse an argument differentiated here (one recorded by td.jit's tape is a
    constant to the derivative)."""
    if raw(value) is not value:
        raise UnsupportedOperationError.for_function(
            name, f"{argument} is a traced value; it must be a constant"
        )


# ---- promotions to a number of dimensions -------------------------------------------------
def _promoted(arrays, shape_of):
    results = [np.reshape(a, shape_of(np.shape(a))) for a in arrays]
    return results[0] if len(results) == 1 else tuple(results)


@implements(np.atleast_1d)
def atleast_1d(*arys):
    return _promoted(arys, lambda s: s if len(s) >= 1 else (1,))


@implements(np.atleast_2d)
def atleast_2d(*arys):
    return _promoted(arys, lambda s: s if len(s) >= 2 else (1,) * (2 - len(s)) + s)


@implements(np.atleast_3d)
def atleast_3d(*arys):
    return _promoted(arys, _three_dimensional)


def _three_dimensional(shape):
    """NumPy's own rule: () -> (1, 1, 1), (N,) -> (1, N, 1), (M, N) -> (M, N, 1)."""
    return {0: (1, 1, 1), 1: (1, *shape, 1), 2: (*shape, 1)}.get(len(shape), shape)


# ---- stacks ---------------------------------------------------------------------------------
@implements(np.vstack)
def vstack(tup, *, dtype=None, casting="same_kind"):
    refuse("vstack", dtype=dtype)
    return np.concatenate([np.atleast_2d(a) for a in tup], axis=0)


@implements(np.hstack)
def hstack(tup, *, dtype=None, casting="same_kind"):
    refuse("hstack", dtype=dtype)
    arrays = [np.atleast_1d(a) for a in tup]
    return np.concatenate(arrays, axis=0 if arrays and np.ndim(arrays[0]) == 1 else 1)


@implements(np.column_stack)
def column_stack(tup):
    columns = [np.reshape(a, (-1, 1)) if np.ndim(a) < 2 else a for a in tup]
    return np.concatenate(columns, axis=1)


@implements(np.dstack)
def dstack(tup):
    return np.concatenate([np.atleast_3d(a) for a in tup], axis=2)


@implements(np.append)
def append(arr, values, axis=None):
    if axis is None:
        return np.concatenate([np.ravel(arr), np.ravel(values)], axis=0)
    return np.concatenate([arr, values], axis=axis)


# ---- splits ---------------------------------------------------------------------------------
def _pieces(ary, indices_or_sections, axis: int, equal: bool) -> list:
    """``ary`` cut along ``axis`` as NumPy's split (``equal``) or array_split cuts it; empty
    pieces included."""
    _refuse_traced("split", "indices_or_sections", indices_or_sections)
    shape = np.shape(raw(ary))
    (axis,) = normalize_axes(axis, len(shape), "split")
    cut = np.split if equal else np.array_split
    prefix = (slice(None),) * axis
    # each piece as the slice it is (NumPy's indices need not increase; an empty piece
    # is an empty slice)
    return [
        ary[prefix + (slice(int(p[0]) if len(p) else 0, int(p[0]) + len(p) if len(p) else 0),)]
        for p in cut(np.arange(shape[axis]), indices_or_sections)
    ]


@implements(np.split)
def split(ary, indices_or_sections, axis=0):
    return _pieces(ary, indices_or_sections, axis, equal=True)


@implements(np.array_split)
def array_split(ary, indices_or_sections, axis=0):
    return _pieces(ary, indices_or_sections, axis, equal=False)


def _split_along(name: str, ary, indices_or_sections, axis: int, least: int):
    if _ndim(ary) < least:
        raise ShapeError(f"numpy.{name} only works on arrays of {least} or more dimensions")
    return _pieces(ary, indices_or_sections, axis, equal=True)


@implements(np.hsplit)
def hsplit(ary, indices_or_sections):
    axis = 1 if _ndim(ary) > 1 else 0
    return _split_along("hsplit", ary, indices_or_sections, axis, 1)


@implements(np.vsplit)
def vsplit(ary, indices_or_sections):
    return _split_along("vsplit", ary, indices_or_sections, 0, 2)


@implements(np.dsplit)
def dsplit(ary, indices_or_sections):
    return _split_along("dsplit", ary, indices_or_sections, 2, 3)


# ---- repetition -----------------------------------------------------------------------------
@implements(np.repeat)
def repeat(a, repeats, axis=None):
    """A gather along ``axis``: output entry o reads input entry ``picks[o]``."""
    _refuse_traced("repeat", "repeats", repeats)
    refuse_bools("repeat", repeats=repeats)
    if axis is None:
        return repeat(np.ravel(a), repeats, axis=0)
    (axis,) = normalize_axes(axis, _ndim(a), "repeat")
    picks = np.repeat(np.arange(np.shape(raw(a))[axis]), repeats)
    return np.take(a, picks, axis=axis)


@implements(np.tile)
def tile(A, reps):
    """Copies of ``A`` side by side: ``A`` broadcast along a new outer axis per dimension,
    then merged (``out[r·s + i] = A[i]``)."""
    _refuse_traced("tile", "reps", reps)
    refuse_bools("tile", reps=reps)
    reps = (int(reps),) if np.ndim(reps) == 0 else tuple(int(r) for r in reps)
    shape = np.shape(raw(A))
    ndim = max(len(shape), len(reps))
    shape = (1,) * (ndim - len(shape)) + shape
    reps = (1,) * (ndim - len(reps)) + reps
    interleaved = [size for pair in zip((1,) * ndim, shape, strict=True) for size in pair]
    copies = [size for pair in zip(reps, shape, strict=True) for size in pair]
    spread = np.broadcast_to(np.reshape(A, interleaved), copies)
    return np.reshape(spread, [r * s for r, s in zip(reps, shape, strict=True)])


# ---- triangles ------------------------------------------------------------------------------
def _triangle(name: str, m, keep, symbol: str, meaning: str):
    shape = np.shape(raw(m))
    if len(shape) < 2:
        raise UnsupportedOperationError.for_function(
            name, f"a traced value of shape {shape}; it needs two or more dimensions"
        )
    mask = keep(*shape[-2:])
    define_constant(mask, symbol, meaning)  # the legend says which triangle (it said K1)
    return np.where(mask, m, 0.0)


@implements(np.tril)
def tril(m, k=0):
    """The entries on and below the k-th diagonal; the others are the constant 0."""
    keep = lambda rows, cols: np.tri(rows, cols, k, dtype=bool)  # noqa: E731
    return _triangle("tril", m, keep, "L", f"[column ≤ row{_offset(k)}]")


@implements(np.triu)
def triu(m, k=0):
    """The entries on and above the k-th diagonal; the others are the constant 0."""
    keep = lambda rows, cols: ~np.tri(rows, cols, k - 1, dtype=bool)  # noqa: E731
    return _triangle("triu", m, keep, "U", f"[column ≥ row{_offset(k)}]")


def _offset(k: int) -> str:
    """`` + 1``, `` − 2`` or nothing: the diagonal ``k`` as the legend writes it."""
    return f" + {k}" if k > 0 else f" − {-k}" if k < 0 else ""


# ---- flips, rotations, axes -----------------------------------------------------------------
@implements(np.fliplr)
def fliplr(m):
    if _ndim(m) < 2:
        raise ShapeError("numpy.fliplr: the array must have two or more dimensions")
    return np.flip(m, axis=1)


@implements(np.flipud)
def flipud(m):
    if _ndim(m) < 1:
        raise ShapeError("numpy.flipud: the array must have one or more dimensions")
    return np.flip(m, axis=0)


@implements(np.rot90)
def rot90(m, k=1, axes=(0, 1)):
    """NumPy's own construction: flips and one transpose."""
    ndim = _ndim(m)
    first, second = normalize_axes(tuple(axes), ndim, "rot90")
    if len(axes) != 2:
        raise ShapeError("numpy.rot90: len(axes) must be 2")
    k %= 4
    if k == 0:
        return m
    if k == 2:
        return np.flip(np.flip(m, first), second)
    permutation = list(range(ndim))
    permutation[first], permutation[second] = second, first
    if k == 1:
        return np.transpose(np.flip(m, second), permutation)
    return np.flip(np.transpose(m, permutation), second)


@implements(np.rollaxis)
def rollaxis(a, axis, start=0):
    ndim = _ndim(a)
    (axis,) = normalize_axes(axis, ndim, "rollaxis")
    if not -ndim <= start <= ndim:
        raise ShapeError(f"numpy.rollaxis: start={start} is out of bounds for {ndim} dimensions")
    start %= ndim + 1
    if axis < start:
        start -= 1
    order = [n for n in range(ndim) if n != axis]
    order.insert(start, axis)
    return np.transpose(a, order)


# ---- differences and products -----------------------------------------------------------------
@implements(np.diff)
def diff(a, n=1, axis=-1, prepend=np._NoValue, append=np._NoValue):
    """``a[1:] − a[:-1]`` along ``axis``, ``n`` times, after the prepended/appended values."""
    ndim = _ndim(a)
    (axis,) = normalize_axes(axis, ndim, "diff")
    parts = [a]
    for position, extra in ((0, prepend), (1, append)):
        if extra is not np._NoValue:
            if np.ndim(extra) == 0:
                size = list(np.shape(raw(a)))
                size[axis] = 1
                extra = np.broadcast_to(extra, size)
            parts.insert(position * len(parts), extra)
    result = np.concatenate(parts, axis=axis) if len(parts) > 1 else a
    prefix = (slice(None),) * axis
    for _ in range(n):
        result = result[prefix + (slice(1, None),)] - result[prefix + (slice(None, -1),)]
    return result


@implements(np.cross)
def cross(a, b, axisa=-1, axisb=-1, axisc=-1, axis=None):
    """The cross product of 3-vectors, component by component (``c = a × b``)."""
    if axis is not None:
        axisa = axisb = axisc = axis
    # only real moves are recorded: moveaxis(z, …) in a formula for nothing reads badly
    a = a if axisa in (-1, _ndim(a) - 1) else np.moveaxis(a, axisa, -1)
    b = b if axisb in (-1, _ndim(b) - 1) else np.moveaxis(b, axisb, -1)
    if np.shape(a)[-1] != 3 or np.shape(b)[-1] != 3:
        raise UnsupportedOperationError.for_function(
            "cross", "vectors of 2 components are deprecated by NumPy; only 3-vectors"
        )
    # (a × b)[i] = Σ_j,k ε[i,j,k] a[j] b[k]: the textbook form, and its derivative's
    define_constant(_LEVI_CIVITA, "ε", _LEVI_CIVITA_MEANING)
    value = np.cross(raw(a), raw(b))  # the einsum's ellipsis broadcasts a against b
    c = einsum_record("cross", "ijk,...j,...k->...i", [_LEVI_CIVITA, a, b], value, "{g1} × {g2}")
    return c if axisc in (-1, np.ndim(value) - 1) else np.moveaxis(c, -1, axisc)


def _levi_civita() -> np.ndarray:
    epsilon = np.zeros((3, 3, 3))
    for i, j, k in ((0, 1, 2), (1, 2, 0), (2, 0, 1)):
        epsilon[i, j, k], epsilon[i, k, j] = 1.0, -1.0
    return epsilon


_LEVI_CIVITA = _levi_civita()
_LEVI_CIVITA_MEANING = (
    "the Levi-Civita symbol: ε[0,1,2] = 1, and a swap of two indices flips its sign"
)


# ---- sorting ------------------------------------------------------------------------------------
@implements(np.sort)
def sort(a, axis=-1, kind=None, order=None, *, stable=None):
    """A permutation along ``axis``: ``∂y[..., o]/∂x[..., i] = [i == argsort(x)[..., o]]``
    (a stable sort, so ties keep their order, as in JAX)."""
    refuse("sort", order=order)
    if axis is None:
        return sort(np.ravel(a), axis=0)
    (axis,) = normalize_axes(axis, _ndim(a), "sort")
    picks = np.argsort(raw(a), axis=axis, kind="stable")
    along = "" if axis == _ndim(a) - 1 else f", axis={axis}"  # NumPy sorts the last by default
    (e,) = expressions([a])
    # the value as np.sort, so that a derivative tracing this one (a Hessian) sees a sort
    value = np.sort(raw(a), axis=axis, kind="stable")
    return take_along_axis(
        a, picks, axis, text=f"sort({{0}}{along})", picked_by=f"argsort({e}{along})", value=value
    )


@implements(np.take_along_axis)
def take_along_axis(arr, indices, axis=-1, *, text=None, picked_by=None, value=None):
    """``y[..., o, ...] = x[..., indices[..., o, ...], ...]``: along ``axis`` a one-hot
    factor ``P[..., o, ..., i] = [i == indices[..., o, ...]]``, deltas on the other axes.
    ``text`` writes the value for the rule that took it (``sort({0})``), ``picked_by`` the
    positions (``argsort(x)``); ``value`` is the result if the rule has it already."""
    _refuse_traced("take_along_axis", "indices", indices)
    if axis is None:
        return take_along_axis(np.ravel(arr), indices, 0, text=text)
    x = raw(arr)
    shape = np.shape(x)
    (axis,) = normalize_axes(axis, len(shape), "take_along_axis")
    spread = list(shape)
    spread[axis] = np.shape(indices)[axis]
    picks = np.broadcast_to(indices, spread)  # NumPy broadcasts them on the other axes
    if value is None:
        value = np.take_along_axis(x, picks, axis=axis)
    others = [(n, n) for n in range(len(shape)) if n != axis]
    every = list(range(len(shape)))

    def jacobian(_):
        permutation = jacobians.one_hot(picks % shape[axis], shape[axis])
        # the picks follow the values (a sort): the legend names them by the expression
        # that computes them, true on every replay of td.jit too
        if picked_by is not None and len(shape) == 1:
            name = jacobians.selector(picks, picked_by)
        else:
            taken = f"the one {picked_by} takes" if picked_by else "the one taken"
            name = templates.defined("P", f"1 where the entry is {taken} along axis {axis}")
        factors = [(every, (axis,), permutation, name)]
        return jacobians.selection(np.shape(value), shape, others, factors)

    text = text or f"take_along_axis({{0}}, {{1}}, axis={axis})"
    return record("take_along_axis", value, [arr, indices], jacobian, text)


def _positions_of(name: str, a, value, axis):
    """Integer positions (a constant, no derivative) that read as ``name(a)`` in formulas."""
    (e,) = expressions([a])
    return Positions.of(value, f"{name}({e}" + ("" if axis is None else f", axis={axis}") + ")")


@implements(np.argsort)
def argsort(a, axis=-1, kind=None, order=None, *, stable=None):
    extra = {} if stable is None else {"stable": stable}
    value = np.argsort(raw(a), axis=axis, kind=kind, order=order, **extra)
    return _positions_of("argsort", a, value, None if axis == -1 else axis)


@implements(np.argmax)
def argmax(a, axis=None, out=None, *, keepdims=False):
    refuse("argmax", out=out)
    return _positions_of("argmax", a, np.argmax(raw(a), axis=axis, keepdims=keepdims), axis)


@implements(np.argmin)
def argmin(a, axis=None, out=None, *, keepdims=False):
    refuse("argmin", out=out)
    return _positions_of("argmin", a, np.argmin(raw(a), axis=axis, keepdims=keepdims), axis)


# ---- building arrays from traced pieces ---------------------------------------------------
@implements(np.linspace)
def linspace(start, stop, num=50, endpoint=True, retstep=False, dtype=None, axis=0, *, device=None):
    """``start + (stop − start) · t`` with constant fractions ``t``; the last entry is
    ``stop`` itself when ``endpoint``, as NumPy makes it."""
    refuse("linspace", dtype=dtype)
    fractions = np.linspace(0.0, 1.0, num, endpoint=endpoint)
    ndim = max(np.ndim(raw(start)), np.ndim(raw(stop)))
    t = np.reshape(fractions, (-1,) + (1,) * ndim)
    delta = stop - start
    result = start + delta * t
    if endpoint and num > 1:
        last = np.reshape(np.arange(num) == num - 1, (-1,) + (1,) * ndim)
        result = np.where(last, stop + 0.0 * result, result)
    result = np.moveaxis(result, 0, axis)
    if retstep:
        return result, delta / (num - 1 if endpoint else num)
    return result


@implements(np.logspace)
def logspace(start, stop, num=50, endpoint=True, base=10.0, dtype=None, axis=0):
    """``base ** linspace(start, stop)``, as NumPy computes it."""
    refuse("logspace", dtype=dtype)
    exponents = np.linspace(start, stop, num, endpoint=endpoint, axis=axis)
    if np.ndim(raw(base)) != 0:
        base = np.expand_dims(base, axis)
    return np.power(base, exponents)


@implements(np.geomspace)
def geomspace(start, stop, num=50, endpoint=True, dtype=None, axis=0):
    """``sign · 10 ** linspace(log10 |start|, log10 |stop|)`` with the ends ``start`` and
    ``stop`` themselves, as NumPy makes it; both ends must have one sign (real arrays)."""
    refuse("geomspace", dtype=dtype)
    first, last = raw(start), raw(stop)
    if np.any(numbers_of(first) == 0) or np.any(numbers_of(last) == 0):
        raise ValueError("numpy.geomspace: geometric sequence cannot include zero")
    sign = np.sign(first)
    if np.any(numbers_of(np.sign(last)) != numbers_of(sign)):
        raise UnsupportedOperationError.for_function(
            "geomspace", "ends of opposite signs give a complex sequence; give ends of one sign"
        )
    ndim = max(np.ndim(first), np.ndim(last))
    ends_shape = (1,) * ndim
    values = np.logspace(np.log10(start / sign), np.log10(stop / sign), num, endpoint, 10.0)
    count = np.reshape(np.arange(num), (-1,) + ends_shape)
    values = np.where(count == 0, start / sign + 0.0 * values, values)
    if endpoint and num > 1:
        values = np.where(count == num - 1, stop / sign + 0.0 * values, values)
    return np.moveaxis(values * sign, 0, axis)


@implements(np.meshgrid)
def meshgrid(*xi, copy=True, sparse=False, indexing="xy"):
    """Each 1-d input along its own axis, broadcast to the grid (or left sparse)."""
    count = len(xi)
    shapes = [[1] * count for _ in xi]
    for n, shape in enumerate(shapes):
        shape[n] = -1
    if indexing == "xy" and count > 1:
        for shape in shapes:
            shape[0], shape[1] = shape[1], shape[0]
    grids = [np.reshape(x, shape) for x, shape in zip(xi, shapes, strict=True)]
    if sparse:
        return tuple(grids)
    return tuple(np.broadcast_arrays(*grids))


@implements(np.broadcast_arrays)
def broadcast_arrays(*args, subok=False):
    shape = np.broadcast_shapes(*(np.shape(raw(a)) for a in args))
    return tuple(np.broadcast_to(a, shape) for a in args)


@implements(np.unstack)
def unstack(x, /, *, axis=0):
    moved = np.moveaxis(x, axis, 0)
    return tuple(moved[n] for n in range(np.shape(raw(moved))[0]))


@implements(np.block)
def block(arrays):
    """Nested lists joined as NumPy does: the innermost lists along the last axis, each
    level out along the axis before; pieces first given ``max(depth, ndim)`` dimensions."""
    depth, leaves = _nesting(arrays)
    ndim = max([depth] + [np.ndim(raw(leaf)) for leaf in leaves])

    def join(item, level):
        if not isinstance(item, list):
            return np.reshape(item, (1,) * (ndim - np.ndim(raw(item))) + np.shape(raw(item)))
        return np.concatenate([join(part, level + 1) for part in item], axis=level - depth)

    return join(arrays, 0)


def _nesting(arrays) -> tuple[int, list]:
    """The depth of nested lists in ``arrays`` and their leaves; lists must nest evenly."""
    if not isinstance(arrays, list):
        return 0, [arrays]
    if not arrays:
        raise ShapeError("numpy.block: lists cannot be empty")
    found = [_nesting(part) for part in arrays]
    depths = {depth for depth, _ in found}
    if len(depths) != 1:
        raise ShapeError("numpy.block: list depths are mismatched")
    return depths.pop() + 1, [leaf for _, leaves in found for leaf in leaves]


@implements(np.diagflat)
def diagflat(v, k=0):
    return np.diag(np.ravel(v), k)


@implements(np.ediff1d)
def ediff1d(ary, to_end=None, to_begin=None):
    parts = [np.diff(np.ravel(ary))]
    if to_begin is not None:
        parts.insert(0, np.ravel(to_begin))
    if to_end is not None:
        parts.append(np.ravel(to_end))
    return np.concatenate(parts) if len(parts) > 1 else parts[0]


@implements(np.vander)
def vander(x, N=None, increasing=False):
    """Columns ``x^k`` (``x^0`` the constant 1), highest power first unless ``increasing``."""
    count = np.shape(raw(x))[0] if N is None else N
    powers = range(count) if increasing else range(count - 1, -1, -1)
    return np.stack([x**k for k in powers], axis=1) if count else np.zeros((len(x), 0))


# ---- selections worked out on positions -------------------------------------------------
# insert, delete, compress, extract, resize and choose only move entries: NumPy's own
# function applied to the entries' positions says where each one goes, and the result
# is a take of those positions (every order of derivative, td.jit and the explanations
# follow from take's rule).
def _positions(a) -> np.ndarray:
    """The flat position of each entry of ``a``, in ``a``'s shape."""
    shape = np.shape(raw(a))
    return np.arange(int(np.prod(shape))).reshape(shape)


def _picked(a, positions: np.ndarray):
    """``ravel(a)[positions]`` (a constant ``a`` stays a constant)."""
    return np.take(np.ravel(a), positions)


@implements(np.delete)
def delete(arr, obj, axis=None):
    _refuse_traced("delete", "obj", obj)
    return _picked(arr, np.delete(_positions(arr), obj, axis=axis))


@implements(np.compress)
def compress(condition, a, axis=None, out=None):
    refuse("compress", out=out)
    _refuse_traced("compress", "condition", condition)
    return _picked(a, np.compress(condition, _positions(a), axis=axis))


@implements(np.extract)
def extract(condition, arr):
    _refuse_traced("extract", "condition", condition)
    return _picked(arr, np.extract(condition, _positions(arr)))


@implements(np.resize)
def resize(a, new_shape):
    """NumPy's resize repeats the entries in order to fill ``new_shape``."""
    return _picked(a, np.resize(_positions(a), new_shape))


@implements(np.insert)
def insert(arr, obj, values, axis=None):
    """Entries of ``arr`` and of ``values`` (broadcast as NumPy broadcasts them) interleaved:
    NumPy inserts the positions of ``values`` where it would insert the values."""
    _refuse_traced("insert", "obj", obj)
    if np.result_type(raw(arr)).kind != "f":
        raise UnsupportedOperationError.for_function(
            "insert", "NumPy would cast the traced values to the integers of arr; make arr float"
        )
    kept = np.insert(_positions(arr) + 1, obj, 0, axis=axis)  # 0: an inserted entry
    value_positions = _positions(values) + 1
    inserted = np.insert(np.zeros(np.shape(raw(arr)), dtype=int), obj, value_positions, axis=axis)
    from_arr = _picked(arr, np.maximum(kept - 1, 0))
    from_values = _picked(values, np.maximum(inserted - 1, 0))
    return np.where(kept > 0, from_arr, from_values)


@implements(np.choose)
def choose(a, choices, out=None, mode="raise"):
    """``result[i] = choices[a[i]][i]`` with constant integers ``a``: a take along a new
    first axis of the broadcast choices."""
    refuse("choose", out=out)
    _refuse_traced("choose", "a", a)
    picks = np.choose(a, [np.full(np.shape(raw(c)), n) for n, c in enumerate(choices)], mode=mode)
    stacked = np.stack(np.broadcast_arrays(*choices, np.zeros(np.shape(picks))))[:-1]
    return take_along_axis(stacked, picks[np.newaxis], 0)[0]


@implements(np.partition)
def partition(a, kth, axis=-1, kind="introselect", order=None):
    """A permutation along ``axis``, the one ``np.argpartition`` finds (so ties and the
    order within each side follow it)."""
    refuse("partition", order=order)
    if axis is None:
        return partition(np.ravel(a), kth, axis=0, kind=kind)
    picks = np.argpartition(raw(a), kth, axis=axis, kind=kind)
    along = "" if axis in (-1, _ndim(a) - 1) else f", axis={axis}"
    return take_along_axis(a, picks, axis, text=f"partition({{0}}, {kth}{along})")
