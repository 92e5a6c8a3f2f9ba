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

__all__ = ["coordinates", "structural_nnz", "entries"]


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


def _flat_index(axes, sizes, distinct: list[int], grid: list[int]) -> np.ndarray:
    """For each point of the grid over ``distinct``, the C-order flat index into ``axes``
    (each axis a composite of classes, major to minor)."""
    index = np.zeros(grid, dtype=np.int64)
    stride = 1
    for c in reversed([c for axis in axes for c in axis]):
        shape = [sizes[c] if d == c else 1 for d in distinct]
        index += (np.arange(sizes[c], dtype=np.int64) * stride).reshape(shape)
        stride *= sizes[c]
    return index.ravel()
