"""A sum of terms as sparse coordinates: the deltas give the pattern, never a dense array.

A term is nonzero only where the axes that share a class have equal indices, so
its entries are one per combination of its *distinct* classes: for
``∂(W x)/∂W = δ[i,j] x[k]`` that is m·n entries of an m × (m·n) matrix. Each
entry's row is the flat index of the output axes (C order) and its column that
of the input axes, read off the classes.

>>> from tensordiff.core.term import Term
>>> t = Term(((np.array([1.0, 2.0]), (0,)),), ((0,), (0,)), {0: 2})  # δ[i,j] v[i]
>>> rows, columns, values = coordinates([t], 1)
>>> rows.tolist(), columns.tolist(), values.tolist()
([0, 1], [0, 1], [1.0, 2.0])
"""

import math
from collections.abc import Sequence

import numpy as np

from tensordiff.core.term import Term, align_to

__all__ = ["coordinates", "csr_arrays", "structural_nnz", "entries"]


def coordinates(terms: Sequence[Term], n_out: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(rows, columns, values)`` of every term's entries (a position reached by two
    terms is listed twice; their values add). Rows flatten the first ``n_out`` axes,
    columns the others."""
    parts = [_term_coordinates(term, n_out) for term in terms]
    if not parts:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, np.zeros(0)
    if len(parts) == 1:
        return parts[0]
    return tuple(np.concatenate(pieces) for pieces in zip(*parts, strict=True))


def csr_arrays(term: Term, n_out: int, n_columns: int):
    """``(values, columns, row_pointers)`` of one term's CSR matrix when its output axes
    hold distinct classes (a δ may join one to an input axis): then every row has as
    many entries as the input's own classes have combinations, listed in row order, so
    the pointers are a range and no row index is made (``∂(W x)/∂W`` at n = 4000: 16 M
    entries). None for other terms.

    >>> t = Term(((np.array([1.0, 2.0]), (1,)),), ((0,), (0,), (1,)), {0: 2, 1: 2})
    >>> [a.tolist() for a in csr_arrays(t, 1, 4)]   # δ[i,j] v[k] as a 2 x 4 matrix
    [[1.0, 2.0, 1.0, 2.0], [0, 1, 2, 3], [0, 2, 4]]
    """
    distinct = _distinct(term)
    out_classes = [c for axis in term.axes[:n_out] for c in axis]
    if out_classes != distinct[: len(out_classes)] or len(set(out_classes)) < len(out_classes):
        return None
    grid = [term.sizes[c] for c in distinct]
    keep = list(term.core_classes())
    values = np.ravel(np.broadcast_to(align_to(term.core(keep), keep, distinct), grid))
    index = np.int32 if n_columns < 2**31 else np.int64
    columns = _flat_index(term.axes[n_out:], term.sizes, distinct, grid, index)
    per_row = math.prod(grid[len(out_classes) :])
    rows = math.prod(grid[: len(out_classes)])
    return values, columns, np.arange(rows + 1, dtype=index) * per_row


def entries(term: Term) -> int:
    """How many entries ``term`` reaches: one per combination of its distinct classes."""
    return math.prod(term.sizes[c] for c in _distinct(term))


def structural_nnz(terms: Sequence[Term], n_out: int, n_columns: int) -> int:
    """How many entries the terms can make nonzero: one per combination of a term's
    distinct classes, positions shared by several terms counted once."""
    if len(terms) == 1:
        return entries(terms[0])
    rows, columns, _ = coordinates(terms, n_out)
    return int(np.unique(rows * n_columns + columns).size)


def _distinct(term: Term) -> list[int]:
    return list(dict.fromkeys(c for axis in term.axes for c in axis))


def _term_coordinates(term: Term, n_out: int):
    distinct = _distinct(term)
    grid = [term.sizes[c] for c in distinct]
    keep = list(term.core_classes())
    values = np.broadcast_to(align_to(term.core(keep), keep, distinct), grid)
    rows = _flat_index(term.axes[:n_out], term.sizes, distinct, grid)
    columns = _flat_index(term.axes[n_out:], term.sizes, distinct, grid)
    return rows, columns, np.ravel(values)


def _flat_index(axes, sizes, distinct: list[int], grid: list[int], dtype=np.int64) -> np.ndarray:
    """For each point of the grid over ``distinct``, the C-order flat index into ``axes``
    (each axis a composite of classes, major to minor)."""
    index = np.zeros(grid, dtype=dtype)
    stride = 1
    for c in reversed([c for axis in axes for c in axis]):
        shape = [sizes[c] if d == c else 1 for d in distinct]
        index += (np.arange(sizes[c], dtype=dtype) * stride).reshape(shape)
        stride *= sizes[c]
    return index.ravel()
