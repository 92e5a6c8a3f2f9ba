"""Writing a sum of terms as a dense array: deltas go into diagonal views of zeros."""

from collections.abc import Sequence

import numpy as np

from tensordiff import planner
from tensordiff.term import Term, align_to

__all__ = ["write_dense"]


def write_dense(terms: Sequence[Term], shape: tuple[int, ...], dtype) -> np.ndarray:
    """The dense array of a sum of terms, deltas written into diagonal views of zeros."""
    if len(terms) == 1 and _no_diagonal(terms[0]):
        return _write_plain(terms[0], shape, dtype)
    out = np.zeros(shape, dtype=dtype)
    if len(terms) == 1:
        view, view_classes = _class_view(out, terms[0])
        if _product_into(view, view_classes, terms[0]):
            return out
    for term in terms:
        view, view_classes = _class_view(out, term)
        in_factors = term.factor_classes()
        keep = [c for c in view_classes if c in in_factors]
        view += align_to(term.core(keep), keep, list(view_classes))
    return out


def _product_into(view: np.ndarray, view_classes: Sequence[int], term: Term) -> bool:
    """Write ``term``'s factors, multiplied, straight into ``view`` in one einsum pass.

    Only for a pure product (nothing summed, every class of the view in some factor,
    plain arrays): no intermediate is formed, so memory stays at the result.
    False, with nothing written, when that does not apply.
    """
    in_factors = term.factor_classes()
    if not term.factors or in_factors != set(view_classes):
        return False
    if not all(isinstance(array, np.ndarray) for array, _ in term.factors):
        return False
    planner.product_into(term.factors, view_classes, view)
    return True


def _write_plain(term: Term, shape: tuple[int, ...], dtype) -> np.ndarray:
    """One term without deltas: every entry is written, so no zero fill is needed."""
    classes = [c for axis in term.axes for c in axis]
    in_factors = term.factor_classes()
    if len(term.factors) > 1:
        out = np.empty(shape, dtype=dtype)
        view, view_classes = _class_view(out, term)
        if _product_into(view, view_classes, term):
            return out
    keep = [c for c in classes if c in in_factors]
    core = term.core(keep)
    if keep == classes and all(core is not array for array, _ in term.factors):
        # A fresh product already in output order: hand it over instead of copying it
        # (it may be a transposed view of what BLAS wrote; the values are the same).
        return np.asarray(core, dtype=dtype).reshape(shape)
    out = np.empty(shape, dtype=dtype)
    view, view_classes = _class_view(out, term)
    np.copyto(view, align_to(core, keep, list(view_classes)))
    return out


def _no_diagonal(term: Term) -> bool:
    flat = [c for axis in term.axes for c in axis]
    return len(flat) == len(set(flat))


def _class_view(out: np.ndarray, term: Term) -> tuple[np.ndarray, tuple[int, ...]]:
    """A writeable view of ``out`` with one axis per distinct class of ``term``."""
    flat = [c for axis in term.axes for c in axis]
    refined = out.reshape([term.sizes[c] for c in flat])  # out is contiguous: a view
    distinct = tuple(dict.fromkeys(flat))
    strides = [
        sum(stride for c2, stride in zip(flat, refined.strides, strict=True) if c2 == c)
        for c in distinct
    ]
    view = np.lib.stride_tricks.as_strided(
        refined, shape=[term.sizes[c] for c in distinct], strides=strides, writeable=True
    )
    return view, distinct
