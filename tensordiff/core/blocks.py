"""Blocks of a sum of terms by NumPy basic indexing, computed from the structure.

A block is never cut out of a dense array. Each kept axis gets a fresh class
over the positions it keeps, and each class of the term learns which of its
indices every new position *reads* (for a slice of a one-class axis, the
affine map ``start + step·u``; for an axis indexed by an int, one fixed index):

- a factor over the class is gathered along the read (a slice is a view);
- an axis indexed by an int fixes its class, so factors take that index;
- a δ (one class on two axes) stays a δ when both axes are sliced alike; sliced
  differently it becomes a 0/1 factor over the two kept axes marking where the
  indices meet (the shifted or partial diagonal: n·m numbers for an n × m
  block), and the term vanishes when they never meet.

Composite axes (reshapes) read each of their classes through the digits of the
position, so they need no special case. The cost is that of the block's
factors: never the dense size of the whole tensor.

>>> from tensordiff.core.dense import write_dense
>>> x = np.array([1.0, 2.0, 3.0])
>>> t = Term(((x, (0,)),), ((0,), (0,)), {0: 3})  # δ[i,j] x[i]
>>> selections, layout = basic_selections((slice(1, 3), slice(0, 2)), (3, 3))
>>> terms, shape = block_terms([t], selections, layout, np.float64)
>>> write_dense(terms, shape, np.float64)  # the diagonal shifted by one
array([[0., 2.],
       [0., 0.]])
"""

import math
import numbers
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from tensordiff.core import templates
from tensordiff.core.term import Term, fresh_class
from tensordiff.errors import BlockIndexError, UnsupportedOperationError

__all__ = ["basic_selections", "block_terms"]

# What one axis of the original keeps: one position (an int) or a range of them.
Selection = int | range


def basic_selections(key, shape: Sequence[int]) -> tuple[list[Selection], list[int | None]]:
    """NumPy basic indexing of an array of ``shape`` by ``key``, spelled out.

    Returns ``(selections, layout)``: per original axis the int or range it keeps,
    and per axis of the block the original axis it comes from (None for an axis
    that ``None`` inserts).

    >>> basic_selections((0, Ellipsis, slice(None, None, -2)), (2, 3, 5))
    ([0, range(0, 3), range(4, -1, -2)], [1, 2])
    >>> basic_selections(np.newaxis, (2,))
    ([range(0, 2)], [None, 0])
    """
    items = key if isinstance(key, tuple) else (key,)
    for item in items:
        if not _is_basic(item):
            raise UnsupportedOperationError(
                f"J[...] takes basic indices only (ints, slices, ..., None), got"
                f" {type(item).__name__} {item!r}; for advanced indexing take a block first"
                " and index its array: np.asarray(J[a:b])[rows]"
            )
    ellipses = sum(item is Ellipsis for item in items)
    if ellipses > 1:
        raise BlockIndexError("an index can only have a single ellipsis ('...')")
    named = sum(item is not None and item is not Ellipsis for item in items)
    if named > len(shape):
        raise BlockIndexError(
            f"too many indices: the tensor has {len(shape)} axes but {named} were indexed"
        )
    if not ellipses:
        items = (*items, Ellipsis)
    selections: list[Selection] = []
    layout: list[int | None] = []
    for item in items:
        if item is None:
            layout.append(None)
        elif item is Ellipsis:
            for _ in range(len(shape) - named):
                layout.append(len(selections))
                selections.append(range(shape[len(selections)]))
        elif isinstance(item, slice):
            layout.append(len(selections))
            selections.append(range(shape[len(selections)])[item])
        else:
            size, index = shape[len(selections)], int(item)
            if not -size <= index < size:
                raise BlockIndexError(
                    f"index {index} is out of bounds for axis {len(selections)} with size {size}"
                )
            selections.append(index % size)
    return selections, layout


def _is_basic(item) -> bool:
    if item is None or item is Ellipsis or isinstance(item, slice):
        return True
    # NumPy treats a bool as a mask (advanced indexing), not as 0 or 1
    return isinstance(item, numbers.Integral) and not isinstance(item, (bool, np.bool_))


def block_terms(
    terms: Sequence[Term], selections: Sequence[Selection], layout: Sequence[int | None], dtype
) -> tuple[tuple[Term, ...], tuple[int, ...]]:
    """The terms and the shape of the block ``(selections, layout)`` (see
    :func:`basic_selections`). Terms that vanish in the block are left out."""
    shape = tuple(1 if k is None else len(selections[k]) for k in layout)
    if 0 in shape:  # nothing to compute: an empty block is zeros of its shape, "T = 0"
        return (), shape
    kept = [k for k in layout if k is not None]
    blocks = []
    for term in terms:
        block = _block_of_term(term, selections, np.dtype(dtype))
        if block is not None:
            by_axis = dict(zip(kept, block.axes, strict=True))
            axes = tuple(() if k is None else by_axis[k] for k in layout)
            blocks.append(Term(block.factors, axes, block.sizes, block.names))
    return tuple(blocks), shape


@dataclass(frozen=True, slots=True)
class _Read:
    """The index of an old class at each position of a new class (or one fixed index)."""

    new: int | None  # the new class; None for a fixed index
    index: np.ndarray  # of length sizes[new]; 0-d for a fixed index
    text: str  # the index as a template expression, for formulas
    view: slice | None = None  # the same as a basic slice, when it is one


def _block_of_term(term: Term, selections: Sequence[Selection], dtype: np.dtype) -> Term | None:
    reads: dict[int, dict] = {}  # old class -> {new class or index text: _Read}
    sizes: dict[int, int] = {}
    axes: list[tuple[int, ...]] = []
    alike: dict[tuple, int] = {}  # (composite, range) -> its new class
    for axis, selection in zip(term.axes, selections, strict=True):
        if isinstance(selection, range) and len(selection) > 1:
            if (axis, selection) in alike:  # a δ between axes sliced alike stays one
                axes.append((alike[(axis, selection)],))
                continue
            identity = len(axis) == 1 and selection == range(term.sizes[axis[0]])
            new = axis[0] if identity else fresh_class()
            alike[(axis, selection)] = new
            sizes[new] = len(selection)
            axes.append((new,))
            for c, read in zip(axis, _digit_reads(axis, term.sizes, selection, new), strict=True):
                reads.setdefault(c, {})[read.new] = read
        else:
            if isinstance(selection, range):  # one position kept: an axis of size 1
                axes.append(())
                selection = selection[0]
            for c, read in zip(axis, _fixed_reads(axis, term.sizes, selection), strict=True):
                reads.setdefault(c, {})[read.text] = read

    chosen: dict[int, _Read] = {}  # the read that factors over each old class use
    masks: list[tuple[np.ndarray, tuple[int, ...], str]] = []
    for c, by_target in reads.items():
        found = list(by_target.values())
        fixed = [read for read in found if read.new is None]
        identity = [read for read in found if read.new == c]
        first = (fixed or identity or found)[0]
        chosen[c] = first
        for other in found:
            if other is first:
                continue
            if first.new is None and other.new is None:
                if first.text != other.text:
                    return None  # two fixed indices of one δ that differ
                continue
            mask = _meeting(first, other, dtype)
            if mask is None:
                return None  # the indices never meet: the term is zero here
            masks.append(mask)

    factors, names = [], []
    for (array, classes), name in zip(term.factors, term.factor_names(), strict=True):
        factors.append(_gathered(array, classes, chosen))
        texts = {c: chosen[c].text for c in classes if c in chosen and chosen[c].new != c}
        texts.update(
            (c, chosen[c].text)
            for c in templates.classes_in(name)
            if c in chosen and chosen[c].new != c
        )
        names.append(templates.reindexed(name, texts))
    for array, classes, name in masks:
        factors.append((array, classes))
        names.append(name)
    for array, classes in factors:
        sizes.update(zip(classes, np.shape(array), strict=True))
    return Term(tuple(factors), tuple(axes), sizes, tuple(names))


def _strides(axis: tuple[int, ...], sizes) -> list[int]:
    """How many positions of a composite axis one step of each of its classes is."""
    return [math.prod(sizes[d] for d in axis[n + 1 :]) for n in range(len(axis))]


def _digit_reads(axis, sizes, selection: range, new: int) -> list[_Read]:
    """What each class of a composite ``axis`` reads at each kept position ``selection``."""
    positions = np.arange(selection.start, selection.stop, selection.step)
    if len(axis) == 1:
        view = slice(
            selection.start, selection.stop if selection.stop >= 0 else None, selection.step
        )
        text = _affine_text(selection.start, selection.step, new)
        return [_Read(new, positions, text, view)]
    reads = []
    affine = _affine_text(selection.start, selection.step, new)
    for n, (c, stride) in enumerate(zip(axis, _strides(axis, sizes), strict=True)):
        text = f"({affine})" if stride == 1 else f"⌊({affine})/{stride}⌋"
        if n > 0:  # the major class needs no modulus: positions are below the axis size
            text += f" mod {sizes[c]}"
        reads.append(_Read(new, positions // stride % sizes[c], f"({text})"))
    return reads


def _fixed_reads(axis, sizes, position: int) -> list[_Read]:
    reads = []
    for c, stride in zip(axis, _strides(axis, sizes), strict=True):
        digit = position // stride % sizes[c]
        reads.append(_Read(None, np.asarray(digit), str(digit)))
    return reads


def _affine_text(start: int, step: int, new: int) -> str:
    """``start + step·u`` as a template: ``⟨7⟩+5``, ``2⟨7⟩+1``, ``9−⟨7⟩``."""
    slot = templates.slot(new)
    term = slot if abs(step) == 1 else f"{abs(step)}{slot}"
    if step < 0:
        return f"{start}−{term}"
    return f"{term}+{start}" if start else term


def _meeting(first: _Read, other: _Read, dtype: np.dtype):
    """``(array, classes, name)``: 1 where two reads of one class agree, over their new
    classes (a 0/1 factor: the shifted or partial diagonal); None if they never agree."""
    if first.new is None:
        first, other = other, first
    if other.new is None:
        meet = first.index == other.index
        classes: tuple[int, ...] = (first.new,)
    else:
        meet = first.index[:, None] == other.index[None, :]
        classes = (first.new, other.new)
    if not meet.any():
        return None
    return meet.astype(dtype), classes, f"δ[{first.text},{other.text}]"


def _gathered(array, classes: tuple[int, ...], chosen: dict[int, _Read]):
    """The factor ``(array, classes)`` read at the chosen indices: a view where the reads
    are slices or fixed, a gather (over the new classes) elsewhere."""
    basic, kept, gathers = [], [], {}
    repeats = [chosen[c].new for c in classes if c in chosen]
    for c in classes:
        read = chosen.get(c)
        if read is None or read.new == c:  # a summed class, or one kept whole
            basic.append(slice(None))
            kept.append(c)
        elif read.new is None:
            basic.append(int(read.index))
        elif read.view is not None and repeats.count(read.new) == 1:
            basic.append(read.view)
            kept.append(read.new)
        else:
            basic.append(slice(None))
            gathers.setdefault(read.new, []).append((len(kept), read.index))
            kept.append(read.new)
    array = array[tuple(basic)]
    if not gathers:
        return array, tuple(kept)
    # All gathered axes go to the front, each new class one broadcast axis of the index
    # arrays, so a class read by several axes (digits of one position) is gathered once.
    front = [position for group in gathers.values() for position, _ in group]
    array = np.moveaxis(array, front, range(len(front)))
    index = []
    for n, group in enumerate(gathers.values()):
        for _, positions in group:
            shape = [1] * len(gathers)
            shape[n] = len(positions)
            index.append(positions.reshape(shape))
    rest = [c for position, c in enumerate(kept) if position not in front]
    return array[tuple(index)], (*gathers, *rest)
