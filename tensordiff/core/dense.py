"""Writing a sum of terms as a dense array: deltas go into diagonal views of zeros.

The work splits in two. :func:`dense_writer` looks at the terms' structure once
(which axes are diagonals, which classes are summed, the contraction plan and
the strides of each diagonal view) and returns a function that only runs the
NumPy calls; :func:`tensordiff.jit` keeps that function with its recording, so
a replayed Jacobian is written densely without redoing the structural work.

>>> t = Term(((np.array([1.0, 2.0]), (0,)),), ((0,), (0,)), {0: 2})  # δ[i,j] v[i]
>>> write_dense([t], (2, 2), np.float64)
array([[1., 0.],
       [0., 2.]])
"""

import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence

import numpy as np
from numpy.lib.stride_tricks import as_strided

from tensordiff.core import memory, paths
from tensordiff.core.term import Term, align_to

__all__ = ["write_dense", "dense_writer", "count_write"]

# (terms, out=None) -> the dense array, written into ``out`` when one is given
Writer = Callable[..., np.ndarray]


def write_dense(
    terms: Sequence[Term], shape: tuple[int, ...], dtype, out: np.ndarray | None = None
) -> np.ndarray:
    """The dense array of a sum of terms, deltas written into diagonal views of zeros.

    With ``out`` (any writable array of ``shape`` and ``dtype``: a slice of a memmap or
    a strided view too) the entries are written there and ``out`` is returned.

    >>> t = Term(((np.array([1.0, 2.0]), (0,)),), ((0,), (0,)), {0: 2})  # δ[i,j] v[i]
    >>> out = np.full((2, 4), 9.0)
    >>> write_dense([t], (2, 2), np.float64, out=out[:, ::2])
    array([[1., 0.],
           [0., 2.]])
    >>> out
    array([[1., 9., 0., 9.],
           [0., 9., 2., 9.]])
    """
    key = _structure(terms, shape, dtype)
    with _WRITERS_LOCK:
        writer = _WRITERS.get(key)
        if writer is not None:
            _WRITERS.move_to_end(key)
    if writer is None:
        writer = dense_writer(terms, shape, dtype)
        with _WRITERS_LOCK:
            _WRITERS[key] = writer
            if len(_WRITERS) > _MAX_WRITERS:
                _WRITERS.popitem(last=False)
    return writer(terms, out)


# Writers by structure (see _structure), the most recently used kept: a function
# differentiated again with the same shapes writes its Jacobian without planning
# (planning a 64 × 64 Hessian's write took twice as long as the write itself).
_WRITERS: "OrderedDict[tuple, Writer]" = OrderedDict()
_WRITERS_LOCK = threading.Lock()
_MAX_WRITERS = 256


def _structure(terms: Sequence[Term], shape: tuple[int, ...], dtype) -> tuple:
    """What a writer depends on: each term's axes, class sizes, factor classes and
    shapes; the dense shape and dtype; and the memory limit its contractions are planned
    under. Never values."""
    return (
        memory.get_memory_limit(),
        tuple(shape),
        np.dtype(dtype).str,
        tuple(
            (
                term.axes,
                tuple(term.sizes.items()),
                tuple((np.shape(array), classes) for array, classes in term.factors),
            )
            for term in terms
        ),
    )


def dense_writer(terms: Sequence[Term], shape: tuple[int, ...], dtype) -> Writer:
    """A function writing terms with the structure of ``terms`` (same classes and factor
    shapes, any values) as the dense array of ``shape`` and ``dtype``.

    The array it returns is always new, never a view of a factor: factors may be the
    user's arrays (a closure's matrix is the Jacobian of ``v @ A``), and the caller
    hands the result to the user, who may write into it.

    >>> A = np.ones((2, 3))
    >>> dense = write_dense([Term.dense(A)], (2, 3), np.float64)
    >>> np.shares_memory(dense, A)
    False
    """
    dtype = np.dtype(dtype)
    if len(terms) == 1 and _no_diagonal(terms[0]):
        return _plain_writer(terms[0], shape, dtype)
    parts = [_part_writer(term, first=n == 0) for n, term in enumerate(terms)]

    def write(terms_now: Sequence[Term], out: np.ndarray | None = None) -> np.ndarray:
        if out is None:
            out = np.zeros(shape, dtype=dtype)
        else:
            out[...] = 0
        for part, term in zip(parts, terms_now, strict=True):
            part(out, [array for array, _ in term.factors])
        return out

    return write


def count_write(terms: Sequence[Term]) -> None:
    """Count, on the running meters, the contractions that writing ``terms`` densely runs,
    computing and allocating nothing: the writer's own plans, each run dry.

    >>> t = Term(((np.ones((2, 3)), (0, 1)), (np.ones(3), (1,))), ((0,), (0,)), {0: 2, 1: 3})
    >>> with paths.metered() as meter:
    ...     count_write([t])
    >>> meter["flops"] == 12
    True
    """
    with paths.dry_run():
        for n, term in enumerate(terms):
            arrays = [array for array, _ in term.factors]
            _, view_classes = _class_view(term)
            into = _product_writer(term, view_classes) if n == 0 else None
            if into is not None:
                into(arrays, None)  # a dry product writer only counts
            else:
                _core(term, [c for c in view_classes if c in term.factor_classes()])(arrays)


def _part_writer(term: Term, first: bool):
    """``(out, arrays) -> None`` adding the term with these factor arrays into ``out``.

    The first term lands on zeros, so a pure product is written straight into its
    diagonal view (one einsum with ``out=``, no intermediate); others are added.
    """
    view_of, view_classes = _class_view(term)
    into = _product_writer(term, view_classes) if first else None
    if into is not None:
        return lambda out, arrays: into(arrays, view_of(out))
    if first and _one_factor_on_view(term, view_classes):
        # the first term lands on zeros: its one factor is copied in, not added
        ((_, classes),) = term.factors
        classes, order = list(classes), list(view_classes)
        return lambda out, arrays: np.copyto(view_of(out), align_to(arrays[0], classes, order))
    keep = [c for c in view_classes if c in term.factor_classes()]
    core = _core(term, keep)

    def add(out, arrays):
        view = view_of(out)
        view += align_to(core(arrays), keep, list(view_classes))

    return add


def _plain_writer(term: Term, shape, dtype: np.dtype) -> Writer:
    """One term without deltas: every entry is written, so no zero fill is needed."""
    classes = [c for axis in term.axes for c in axis]
    view_of, view_classes = _class_view(term)
    into = _product_writer(term, view_classes)
    if into is not None:

        def write_product(terms_now, out=None):
            if out is None:
                out = np.empty(shape, dtype=dtype)
            into([array for array, _ in terms_now[0].factors], view_of(out))
            return out

        return write_product
    keep = [c for c in classes if c in term.factor_classes()]
    core = _core(term, keep)
    # A product of two or more factors is computed into new memory; one factor may come
    # back as itself or a view of it (a transpose, a diagonal).
    always_fresh = len(term.factors) >= 2

    def write(terms_now, out=None):
        arrays = [array for array, _ in terms_now[0].factors]
        product = core(arrays)
        fresh = always_fresh or not any(np.may_share_memory(product, a) for a in arrays)
        if out is None and keep == classes and fresh:
            # A fresh product already in output order: hand it over instead of copying
            # it (it may be a transposed view of what BLAS wrote; the values are the same).
            # A view of a factor (a transpose) is not fresh: the caller would alias it.
            return np.asarray(product, dtype=dtype).reshape(shape)
        if out is None:
            out = np.empty(shape, dtype=dtype)
        np.copyto(view_of(out), align_to(product, keep, list(view_classes)))
        return out

    return write


def _product_writer(term: Term, view_classes):
    """Writes ``term``'s factors' product straight into a view over ``view_classes``
    (one einsum with ``out=``, no intermediate) when it is a pure product of several
    factors covering every class of the view; None otherwise."""
    if len(term.factors) < 2 or term.factor_classes() != set(view_classes):
        return None
    classes, shapes = _operands(term)
    return paths.product_writer(classes, view_classes, shapes)


def _one_factor_on_view(term: Term, view_classes) -> bool:
    """Whether ``term`` is one factor whose axes are distinct classes of the view: then
    it is the term's value on the view, up to a transpose and broadcasting."""
    if len(term.factors) != 1:
        return False
    ((_, classes),) = term.factors
    return len(set(classes)) == len(classes) and set(classes) <= set(view_classes)


def _core(term: Term, keep: list) -> Callable[[list], np.ndarray]:
    """The product of the factors over ``keep``, other classes summed; ones if none."""
    if not term.factors:
        return lambda arrays: np.ones(())
    classes, shapes = _operands(term)
    return paths.planned_product(classes, keep, shapes)


def _operands(term: Term) -> tuple[list, tuple]:
    """The factors' classes and shapes: what a plan depends on."""
    return [c for _, c in term.factors], tuple(np.shape(a) for a, _ in term.factors)


def _no_diagonal(term: Term) -> bool:
    flat = [c for axis in term.axes for c in axis]
    return len(flat) == len(set(flat))


def _class_view(term: Term):
    """``(view_of, classes)``: ``view_of(out)`` is a writeable view of ``out`` (any
    strides: a memmap slice too) with one axis per distinct class of ``term`` (a
    diagonal where a class repeats)."""
    distinct = tuple(dict.fromkeys(c for axis in term.axes for c in axis))
    position = {c: n for n, c in enumerate(distinct)}
    view_shape = tuple(term.sizes[c] for c in distinct)
    # Each class occurrence: its view axis, the out axis it lies on, and how many steps of
    # that axis one step of it is (the classes of a composite axis, major to minor).
    pieces = []
    for number, axis in enumerate(term.axes):
        steps = 1
        for c in reversed(axis):
            pieces.append((position[c], number, steps))
            steps *= term.sizes[c]

    known = {}  # out's strides -> the view's: a replayed Jacobian writes the same out

    def view_of(out: np.ndarray) -> np.ndarray:
        strides = known.get(out.strides)
        if strides is None:
            strides = [0] * len(distinct)
            for view_axis, number, steps in pieces:
                strides[view_axis] += out.strides[number] * steps
            strides = known[out.strides] = tuple(strides)
        if type(out) is np.ndarray and out.flags.c_contiguous and out.flags.writeable:
            # our own zeros (the common case): a view on its buffer is several times
            # cheaper than as_strided, which a replayed Jacobian would pay on every call
            return np.ndarray(view_shape, out.dtype, out, 0, strides)
        return as_strided(out, view_shape, strides, writeable=True)

    return view_of, distinct
