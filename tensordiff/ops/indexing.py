"""Indexing and assembly: x[...], take, concatenate, stack, flip, roll, pad, diag.

Each of these moves entries around, so its local Jacobian is a selection:
along one axis it is a small matrix ``M[o, i] = [i == picks[o]]`` (a one-hot
row per output position, all zeros where the output is a constant such as
padding), with deltas on the untouched axes. Only indexing that mixes several
axes at once (integer arrays, boolean masks) falls back to a one-hot matrix
over the whole array, after a memory check.
"""

import functools
import operator

import numpy as np

from tensordiff.core import memory
from tensordiff.core.templates import grouped
from tensordiff.core.vjp import IndexProduct, ScatterProduct, numbers_wanted
from tensordiff.errors import ShapeError, UnsupportedOperationError
from tensordiff.ops import jacobians
from tensordiff.ops.arguments import axis_option, letters, normalize_axes, refuse, refuse_bools
from tensordiff.ops.linear import linear
from tensordiff.trace.graph import written
from tensordiff.trace.registry import assign, implements, pulls_back
from tensordiff.trace.traced import (
    Traced,
    expressions,
    plain_inputs,
    positions_name,
    raw,
    record,
    record_numbers,
    top_trace,
)

__all__ = ["overwritten"]


def _along_axes(
    name: str, a, value, picks_by_axis: dict[int, np.ndarray], named_by=None, template=None
):
    """Record ``value``, which takes ``a``'s entries at ``picks[o]`` along each listed axis
    (positions computed from traced values are ``named_by`` their expression); ``template``
    writes the call with the arguments that say which entries (``roll({0}, 1)``)."""
    shape, value_shape = np.shape(raw(a)), np.shape(value)
    deltas = [(n, n) for n in range(len(shape)) if n not in picks_by_axis]
    factors = [
        (
            (axis,),
            (axis,),
            jacobians.one_hot(picks, shape[axis]),
            jacobians.selector(picks, named_by),
        )
        for axis, picks in picks_by_axis.items()
    ]
    return record(
        name,
        value,
        [a],
        lambda _: jacobians.selection(value_shape, shape, deltas, factors),
        template,
    )


def _gather(name: str, a, value, positions: np.ndarray, template=None, named_by=None):
    """Record ``value``, whose entries are ``a.flat[positions]`` (-1: a constant);
    positions computed from traced values are ``named_by`` their expression."""
    shape = np.shape(raw(a))
    size = int(np.prod(shape))

    def jacobian(_):
        if numbers_wanted():  # a gradient: the cotangent is scattered back, no one-hot built
            return ScatterProduct(np.asarray(positions), shape)
        memory.check_dense((positions.size, size), np.dtype(np.float64))
        factor = jacobians.one_hot(positions, size).reshape(positions.shape + shape)
        selector = jacobians.selector(positions, named_by)
        factors = [(list(range(positions.ndim)), list(range(len(shape))), factor, selector)]
        return jacobians.selection(positions.shape, shape, (), factors)

    return record(name, value, [a], jacobian, template)


def _flat_positions(shape) -> np.ndarray:
    return np.arange(int(np.prod(shape))).reshape(shape)


# ---- x[index] --------------------------------------------------------------------------
@implements(operator.getitem)
def getitem(x: Traced, index):
    """``x[index]`` for basic and advanced NumPy indexing."""
    entries = index if isinstance(index, tuple) else (index,)
    if any(type(e) is Traced and e._trace is x._trace for e in entries):
        raise UnsupportedOperationError.for_function(
            "ndarray.__getitem__", "the index is a traced value; indices must be constants"
        )
    value = x.value[index]
    template = "{g0}[" + ", ".join(_index_text(e) for e in entries) + "]"
    if all(e is None or e is Ellipsis or isinstance(e, (int, np.integer, slice)) for e in entries):
        return _basic_index(x, value, entries, template)
    # An index traced at a lower level (td.jit's tape records the arguments) is a
    # constant here; the positions it picks are computed on that level.
    named_by = next((n for e in entries if (n := positions_name(e, False)) is not None), None)
    positions = _positions(_flat_positions(x.shape), index)
    return _gather("index", x, value, positions, template, named_by)


@pulls_back(operator.getitem)
def _getitem_pulled_back(trace, args, kwargs):
    """``x[index]`` on a trace that only wants numbers (see
    :func:`~tensordiff.trace.registry.pulls_back`), for an index of integers, slices,
    ``None``, ``...`` and plain integer or boolean arrays: the value, its expression as
    :func:`getitem` writes it, and the cotangent written back at the entries read. Any
    other index (a traced one, a list, positions computed from traced values) takes the
    full rule."""
    x, index = args
    entries = index if isinstance(index, tuple) else (index,)
    if type(x) is not Traced or not all(map(_plain_entry, entries)):
        return None
    if plain_inputs(trace, [x]) is None or sum(e is Ellipsis for e in entries) > 1:
        return None
    try:
        value = x.value[index]
    except (IndexError, ValueError):
        return None  # the full rule raises NumPy's error
    basic = all(type(e) is not np.ndarray for e in entries)
    # the index's text is written only if the expression is read (an index array's text
    # costs as much as the indexing): a gradient computed as numbers never reads it
    template = functools.partial(_indexed_text, entries)
    builder = functools.partial(_index_product, index, x.shape, not basic)
    return record_numbers(trace, "index", value, [x], builder, template, (x.node,))


def _indexed_text(entries: tuple, x_text: str) -> str:
    """``x[entries]`` as :func:`getitem` writes it, for ``x`` written ``x_text``."""
    return written("index", "{g0}[" + ", ".join(_index_text(e) for e in entries) + "]", [x_text])


def _plain_entry(entry) -> bool:
    """Whether an index entry is one the pull-back of ``x[index]`` handles."""
    kind = type(entry)
    if kind is np.ndarray:
        return entry.dtype.kind in "iub"
    if kind is slice:
        return all(type(v) is int or v is None for v in (entry.start, entry.stop, entry.step))
    return kind is int or entry is None or entry is Ellipsis or isinstance(entry, np.integer)


def _index_product(index, shape, repeats, _) -> IndexProduct:
    return IndexProduct(index, shape, repeats)


def _positions(positions: np.ndarray, index):
    """``positions[index]``; an index holding values of td.jit's tape is applied (and
    recorded) by the tape."""
    tape = top_trace((index,))
    return (
        positions[index] if tape is None else tape.apply(operator.getitem, (positions, index), {})
    )


def _index_text(entry) -> str:
    """An index entry as it was written: ``1:``, ``::2``, ``None``, ``...``, an array."""
    if isinstance(entry, slice):
        text = ":".join("" if v is None else str(v) for v in (entry.start, entry.stop))
        return text + (f":{entry.step}" if entry.step is not None else "")
    if entry is Ellipsis:
        return "..."
    if isinstance(entry, (np.ndarray, Traced)) and entry.dtype == bool:
        return "mask"
    named = positions_name(entry)
    if named is not None:
        return named
    if (
        type(entry) is np.ndarray
        and entry.dtype.kind in "iu"
        and entry.size <= _REMEMBERED_INDEX_SIZE
    ):
        # the same index array (np.arange(B), labels) comes back on every call of f:
        # printing it is costly, remembering its text by value is not
        options = np.get_printoptions()  # (a new dict each time: read once)
        layout = (options["threshold"], options["edgeitems"], options["linewidth"])
        return _array_text(entry.dtype.str, entry.shape, entry.tobytes(), layout)
    return _text(entry)


_REMEMBERED_INDEX_SIZE = 4096


@functools.lru_cache(maxsize=256)
def _array_text(dtype: str, shape: tuple, data: bytes, layout: tuple) -> str:
    """The text of an integer index array, by value and NumPy's print layout: on one line
    and with commas, as Python writes it (``[[0, 1], [1, 2]]``): NumPy's ``[[0 1]\n [1 2]]``
    broke the formula's line and read ``1`` as a unit factor to fold."""
    entry = np.frombuffer(data, dtype).reshape(shape)
    return _text(" ".join(np.array2string(entry, separator=", ").split()))


def _text(entry) -> str:
    return str(entry).replace("{", "{{").replace("}", "}}")


def _basic_index(x, value, entries, template: str):
    shape = x.shape
    if sum(e is Ellipsis for e in entries) > 1:
        raise ShapeError("an index can only have a single ellipsis ('...')")
    named = sum(1 for e in entries if e is not None and e is not Ellipsis)
    fill = (slice(None),) * (len(shape) - named)
    if Ellipsis in entries:
        at = entries.index(Ellipsis)
        entries = entries[:at] + fill + entries[at + 1 :]
    else:
        entries = entries + fill
    deltas, factors, in_axis, out_axis = [], [], 0, 0
    for e in entries:
        if e is None:
            out_axis += 1
            continue
        n = shape[in_axis]
        if isinstance(e, slice):
            picks = np.arange(n)[e]
            if len(picks) == n and (picks == np.arange(n)).all():
                deltas.append((out_axis, in_axis))
            else:
                name = jacobians.selector(picks)
                factors.append(((out_axis,), (in_axis,), jacobians.one_hot(picks, n), name))
            out_axis += 1
        else:
            factors.append(
                (
                    (),
                    (in_axis,),
                    jacobians.one_hot(np.arange(n)[e], n),
                    jacobians.unit_vector(int(e) % n),
                )
            )
        in_axis += 1
    value_shape = np.shape(value)
    return record(
        "index",
        value,
        [x],
        lambda _: jacobians.selection(value_shape, shape, deltas, factors),
        template,
    )


# ---- x[index] = value ------------------------------------------------------------------
@implements(assign)
def assign_(x, index, value):
    """``x`` with ``x[index] = value``, as a new value (:meth:`Traced.write` puts it in
    place): each entry is ``x``'s own or the value's entry written last at its position,
    a gather from the two. NumPy's own assignment of the value's entry numbers decides
    which (broadcasting, repeated positions, errors), so the semantics are NumPy's."""
    entries = index if isinstance(index, tuple) else (index,)
    if any(type(e) is Traced and e._trace is x._trace for e in entries):
        raise UnsupportedOperationError.for_function(
            "ndarray.__setitem__", "the index is a traced value; indices must be constants"
        )
    value = np.asarray(value)  # a list holding traced values is built as NumPy would
    result = overwritten(x, value, lambda positions, ids: _assigned(positions, index, ids))
    if type(result) is Traced and result._trace is x._trace:
        e_x, e_value = expressions([x, value])
        written = ", ".join(_index_text(e) for e in entries)
        result.node.expr = f"{grouped(e_x)} with [{written}] = {e_value}"
    return result


def overwritten(x, value, write):
    """``x`` after NumPy's ``write(array, values)`` (an assignment, ``np.put``,
    ``np.fill_diagonal``, ...) with ``value``, as a new value. The write is made by NumPy
    itself on the positions of ``x``'s entries with the value's entries numbered after
    them, which says where each entry of the result comes from (broadcasting, repeats, the
    last of repeated positions, errors: NumPy's); the result gathers them."""
    shape = np.shape(raw(x))
    size = int(np.prod(shape))
    value = np.asarray(value)
    if type(value) is not Traced and value.dtype.kind != "f":
        value = value.astype(raw(x).dtype)  # a Python number or integers: x's dtype
    ids = size + np.arange(value.size).reshape(value.shape)
    sources = write(np.arange(size).reshape(shape), ids)
    both = np.concatenate([np.ravel(x), np.ravel(value)])
    return np.reshape(both[sources], shape)


def _assigned(positions: np.ndarray, index, ids):
    """``positions`` with ``positions[index] = ids``; an index holding values of td.jit's
    tape is applied (and recorded) by the tape."""
    tape = top_trace((index,))
    if tape is not None:
        return tape.apply(assign, (positions, index, ids), {})
    positions[index] = ids
    return positions


# ---- take ------------------------------------------------------------------------
@implements(np.take)
def take(a, indices, axis=None, out=None, mode="raise"):
    refuse("take", out=out)
    value = np.take(raw(a), indices, axis=axis, mode=mode)
    shape = np.shape(raw(a))
    named_by = positions_name(indices, False)
    if axis is not None and np.ndim(indices) == 1:
        (axis,) = normalize_axes(axis, len(shape), "take")
        picks = np.take(np.arange(shape[axis]), indices, mode=mode)
        index = _index_text(indices if named_by is not None else np.asarray(picks))
        entries = "{g0}[" + ", ".join([":"] * axis + [index]) + "]"
        return _along_axes("take", a, value, {axis: picks}, named_by, entries)
    positions = np.take(_flat_positions(shape), indices, axis=axis, mode=mode)
    where = "" if axis is None else f", axis={axis}"
    index = _index_text(indices if named_by is not None else np.asarray(indices))
    template = f"take({{0}}, {index}{where})"
    return _gather("take", a, value, positions, template, named_by)


# ---- concatenate / stack -------------------------------------------------------------------
@implements(np.concatenate)
def concatenate(arrays, axis=0, out=None, dtype=None, casting=None):
    refuse("concatenate", out=out, dtype=dtype)
    arrays = list(arrays)
    if axis is None:
        return concatenate([np.ravel(x) for x in arrays], axis=0)
    values = [raw(x) for x in arrays]
    value = np.concatenate(values, axis=axis)
    (axis,) = normalize_axes(axis, value.ndim, "concatenate")
    starts = np.cumsum([0] + [np.shape(v)[axis] for v in values])
    value_shape = value.shape

    def jacobian(n):
        shape = np.shape(values[n])
        picks = np.arange(value_shape[axis]) - starts[n]
        picks[(picks < 0) | (picks >= shape[axis])] = -1
        deltas = [(k, k) for k in range(len(shape)) if k != axis]
        factors = [
            ((axis,), (axis,), jacobians.one_hot(picks, shape[axis]), jacobians.selector(picks))
        ]
        return jacobians.selection(value_shape, shape, deltas, factors)

    return record("concatenate", value, arrays, jacobian, _joined("concatenate", arrays, axis))


@implements(np.stack)
def stack(arrays, axis=0, out=None, dtype=None, casting=None):
    refuse("stack", out=out, dtype=dtype)
    arrays = list(arrays)
    values = [raw(x) for x in arrays]
    value = np.stack(values, axis=axis)
    (axis,) = normalize_axes(axis, value.ndim, "stack")
    value_shape = value.shape

    def jacobian(n):
        shape = np.shape(values[n])
        deltas = [(k + (k >= axis), k) for k in range(len(shape))]
        factors = [((axis,), (), jacobians.one_hot(n, len(values)), jacobians.unit_vector(n))]
        return jacobians.selection(value_shape, shape, deltas, factors)

    return record("stack", value, arrays, jacobian, _joined("stack", arrays, axis))


def _joined(name: str, arrays: list, axis: int) -> str:
    """``concatenate({0}, {1})``, with ``axis=`` unless it is the first."""
    operands = ", ".join(f"{{{n}}}" for n in range(len(arrays)))
    return f"{name}({operands}{'' if axis == 0 else f', axis={axis}'})"


# ---- flip / roll / pad ---------------------------------------------------------------------
@implements(np.flip)
def flip(m, axis=None):
    shape = np.shape(raw(m))
    axes = range(len(shape)) if axis is None else normalize_axes(axis, len(shape), "flip")
    picks = {k: np.arange(shape[k])[::-1] for k in axes}
    # flip(X) reverses every axis: one that reverses fewer says which
    along = "" if len(picks) == len(shape) else f", axis={axis_option(picks)}"
    return _along_axes("flip", m, np.flip(raw(m), axis=axis), picks, template=f"flip({{0}}{along})")


@implements(np.roll)
def roll(a, shift, axis=None):
    shape = np.shape(raw(a))
    if axis is None:
        return np.reshape(roll(np.ravel(a), shift, axis=0), shape)
    axes = normalize_axes(axis, len(shape), "roll", repeats=True)
    shifts = np.broadcast_to(shift, (len(axes),))
    picks: dict[int, np.ndarray] = {}
    for k, s in zip(axes, shifts, strict=True):
        picks[k] = np.roll(picks.get(k, np.arange(shape[k])), int(s))
    along = "" if len(shape) == 1 else f", axis={axis_option(axes)}"
    template = f"roll({{0}}, {np.asarray(shift).tolist()}{along})"
    return _along_axes("roll", a, np.roll(raw(a), shift, axis=axis), picks, template=template)


@implements(np.fft.fftshift)
def fftshift(x, axes=None):
    """The zero frequency moved to the centre: a roll by half of each axis (rounded down)."""
    return _rolled_by_halves(x, axes, 1, "fft.fftshift")


@implements(np.fft.ifftshift)
def ifftshift(x, axes=None):
    """fftshift undone: a roll back by half of each axis."""
    return _rolled_by_halves(x, axes, -1, "fft.ifftshift")


def _rolled_by_halves(x, axes, direction: int, name: str):
    shape = np.shape(raw(x))
    every = range(len(shape))
    axes = normalize_axes(every if axes is None else axes, len(shape), name, repeats=True)
    return np.roll(x, [direction * (shape[k] // 2) for k in axes], axis=axes)


# np.pad's modes whose new entries are copies of entries (reflect_type='odd' is not)
_COPYING_MODES = ("edge", "wrap", "reflect", "symmetric")


@implements(np.pad)
def pad(array, pad_width, mode="constant", **kwargs):
    """Constant padding, or copies of the array's own entries (edge, wrap, reflect,
    symmetric): along each axis, the positions np.pad gives ``arange(n)`` (-1: a constant)."""
    if mode in _COPYING_MODES and kwargs in ({}, {"reflect_type": "even"}):
        marks = {"mode": mode}
    elif mode == "constant" and not set(kwargs) - {"constant_values"}:
        marks = {"mode": mode, "constant_values": -1}
        if any(
            type(v) is Traced
            for v in np.ravel(np.asarray(kwargs.get("constant_values", 0), dtype=object))
        ):
            raise UnsupportedOperationError.for_function("pad", "traced constant_values")
    else:
        raise UnsupportedOperationError.for_function(
            "pad",
            f"mode={mode!r} with {sorted(kwargs)}; the modes supported are 'constant' and"
            f" those that copy entries ({', '.join(map(repr, _COPYING_MODES))})",
        )
    value = np.pad(raw(array), pad_width, mode=mode, **kwargs)
    shape = np.shape(raw(array))
    widths = np.broadcast_to(np.asarray(pad_width, dtype=int), (len(shape), 2))
    picks = {
        k: np.pad(np.arange(shape[k]), widths[k], **marks)
        for k in range(len(shape))
        if value.shape[k] != shape[k]
    }
    return _along_axes("pad", array, value, picks, template=_pad_text(widths, mode, kwargs))


def _pad_text(widths: np.ndarray, mode: str, options: dict) -> str:
    """``pad({0}, 1)``, ``pad({0}, ((0, 1), (2, 0)), mode='edge')``: the call as NumPy reads it."""
    pairs = tuple(tuple(int(w) for w in pair) for pair in widths)
    width = pairs[0][0] if len(set(pairs)) == 1 and pairs[0][0] == pairs[0][1] else pairs
    text = f"pad({{0}}, {width}"
    if mode != "constant":
        text += f", mode={mode!r}"
    fill = options.get("constant_values", 0)
    if np.any(np.asarray(fill) != 0):
        text += f", constant_values={_text(np.asarray(fill).tolist())}"
    return text + ")"


@implements(np.bincount)
def bincount(x, /, weights=None, minlength=0):
    """``Σᵢ [x[i] = k] weights[i]`` for each bin ``k``: linear in the weights, as a matrix of
    ones where an entry falls in a bin (the bins are integers, which have no derivative)."""
    if type(x) is Traced or weights is None:
        raise UnsupportedOperationError.for_function(
            "bincount", "its bins are integers, which have no derivative; only weights="
        )
    bins = np.asarray(x)
    size = np.bincount(bins, minlength=minlength).size
    return (np.arange(size)[:, None] == bins).astype(float) @ weights


# ---- diagonals -------------------------------------------------------------------------------
@implements(np.diagonal)
def diagonal(a, offset=0, axis1=0, axis2=1):
    refuse_bools("diagonal", offset=offset)
    shape = np.shape(raw(a))
    axis1, axis2 = normalize_axes((axis1, axis2), len(shape), "diagonal")
    value = np.diagonal(raw(a), offset, axis1, axis2)
    if offset == 0 and shape[axis1] == shape[axis2]:  # a δ between the two axes, nothing stored
        names = list(letters(len(shape)))
        names[axis2] = names[axis1]
        rest = [ch for k, ch in enumerate(names) if k not in (axis1, axis2)]
        return linear(
            "diagonal",
            ["".join(names)],
            rest + [names[axis1]],
            [a],
            value,
            template=_diagonal_text(offset, axis1, axis2),
        )
    positions = np.diagonal(_flat_positions(shape), offset, axis1, axis2)
    return _gather("diagonal", a, value, positions, _diagonal_text(offset, axis1, axis2))


def _diagonal_text(offset: int, axis1: int, axis2: int) -> str:
    """``diagonal({0})``, with the offset and the axes unless they are NumPy's defaults."""
    options = f", {offset}" if offset else ""
    if (axis1, axis2) != (0, 1):
        options = f", {offset}, {axis1}, {axis2}"
    return f"diagonal({{0}}{options})"


@implements(np.trace)
def matrix_trace(a, offset=0, axis1=0, axis2=1, dtype=None, out=None):
    refuse("trace", dtype=dtype, out=out)
    return np.sum(np.diagonal(a, offset, axis1, axis2), axis=-1)


@implements(np.diag)
def diag(v, k=0):
    shape = np.shape(raw(v))
    if len(shape) == 2:
        return np.diagonal(v, k)
    if len(shape) != 1:
        raise ShapeError(f"numpy.diag: input must be 1-D or 2-D, got shape {shape}")
    value = np.diag(raw(v), k)
    if k == 0:
        return record(
            "diag", value, [v], lambda _: jacobians.selection(value.shape, shape, [(0, 0), (1, 0)])
        )
    positions = np.full(value.shape, -1)
    positions[np.diag(np.ones(shape[0], dtype=bool), k)] = np.arange(shape[0])
    return _gather("diag", v, value, positions, f"diag({{0}}, {k})")
