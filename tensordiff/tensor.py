"""Labelled tensors: arrays whose axes carry names, stored with their delta structure.

A :class:`Tensor` is a sum of :class:`~tensordiff.core.term.Term` objects with a label
per axis. It knows nothing about derivatives; a :class:`Jacobian` is a Tensor
whose labels are split into output labels and input (``wrt``) labels.
"""

import itertools
import math
from collections.abc import Sequence

import numpy as np

from tensordiff.core import memory, trees
from tensordiff.core.dense import write_dense
from tensordiff.core.dtypes import as_real_array
from tensordiff.core.labels import parse_labels
from tensordiff.core.sums import add_terms
from tensordiff.core.term import Term, contract_terms
from tensordiff.errors import ShapeError, TensorDiffError, TraceLeakError
from tensordiff.text import notation
from tensordiff.trace.densify import dense_value
from tensordiff.trace.traced import Traced

__all__ = ["Tensor", "Jacobian", "contract", "slot_names"]


class Tensor:
    """A NumPy array whose axes carry labels, kept in factored form.

    Labels, not positions, decide what contracts with what (see
    :func:`tensordiff.contract`). ``np.asarray(T)`` gives the dense array; until
    then Kronecker deltas stay symbolic, so ``stored_nbytes`` can be far below
    ``dense_nbytes``.

    >>> T = Tensor(np.ones((3, 4)), "ij")
    >>> T.indices, T.shape
    (('i', 'j'), (3, 4))
    >>> Tensor(np.ones(2), ("row",)).indices
    ('row',)
    """

    # _writer: a planned dense write for terms of exactly this structure, or None
    __slots__ = ("indices", "shape", "dtype", "terms", "_writer")

    def __init__(self, data, labels: str | Sequence[str]):
        array = as_real_array(data, "the data of a Tensor")
        self.indices = parse_labels(labels, array.ndim, f"a Tensor of shape {array.shape}")
        self.shape = array.shape
        self.dtype = array.dtype
        self.terms = (Term.dense(array),)
        self._writer = None

    # Pickling leaves out the caches: closures (and in a Jacobian the user's function),
    # tied to this process; the tensor itself is its labels and terms.
    _CACHES = ("_writer",)

    def __getstate__(self) -> dict:
        return {
            name: getattr(self, name)
            for name in slot_names(type(self))
            if name not in self._CACHES and hasattr(self, name)
        }

    def __setstate__(self, state: dict) -> None:
        for name in slot_names(type(self)):
            setattr(self, name, state.get(name))

    @classmethod
    def _from_terms(cls, terms, indices, shape, dtype) -> "Tensor":
        tensor = cls.__new__(cls)
        tensor.indices, tensor.shape, tensor.dtype = tuple(indices), tuple(shape), np.dtype(dtype)
        tensor.terms = tuple(terms)
        tensor._writer = None
        return tensor

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        return math.prod(self.shape)

    @property
    def dense_nbytes(self) -> int:
        """Bytes the dense array would take."""
        return self.size * self.dtype.itemsize

    @property
    def stored_nbytes(self) -> int:
        """Bytes actually held by this tensor's factors."""
        return sum(term.stored_nbytes for term in self.terms)

    @property
    def sizes(self) -> dict[str, int]:
        """The size of each label."""
        return dict(zip(self.indices, self.shape, strict=True))

    def to_numpy(self) -> np.ndarray:
        """The dense array; raises JacobianTooLarge if it is over the memory limit."""
        memory.check_dense(self.shape, self.dtype)
        if self._writer is not None:
            return self._writer(self.terms)
        return write_dense(self.terms, self.shape, self.dtype)

    def __array__(self, dtype=None, copy=None):
        if any(type(array) is Traced for term in self.terms for array, _ in term.factors):
            raise TraceLeakError(
                "np.asarray() of a derivative computed inside another derivative would drop"
                " the outer derivative; return the Jacobian itself, or pass it to NumPy"
                " functions (np.sum(J), J * 2), which keep it traced"
            )
        dense = self.to_numpy()
        return dense if dtype is None else dense.astype(dtype, copy=False)

    # NumPy functions on a Tensor see its dense array; inside a derivative (traced
    # factors) that array is itself traced, so np.sum(td.jacobian(f)(x)) differentiates.
    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        return getattr(ufunc, method)(*_densified(inputs), **_densified(kwargs))

    def __array_function__(self, func, types, args, kwargs):
        return func(*_densified(args), **_densified(kwargs))

    def relabel(self, labels: str | Sequence[str]) -> "Tensor":
        """The same tensor with new labels (positionally)."""
        indices = parse_labels(labels, self.ndim, f"a Tensor of shape {self.shape}")
        return Tensor._from_terms(self.terms, indices, self.shape, self.dtype)

    def transpose(self, labels: str | Sequence[str]) -> "Tensor":
        """The same tensor with its axes put in the order of ``labels``."""
        return contract(self, out=labels)

    def __add__(self, other: "Tensor") -> "Tensor":
        if not isinstance(other, Tensor):
            return NotImplemented
        other = _aligned(other, self)
        dtype = np.result_type(self.dtype, other.dtype)
        return Tensor._from_terms(
            add_terms(self.terms + other.terms), self.indices, self.shape, dtype
        )

    def __neg__(self) -> "Tensor":
        return self * -1.0

    def __sub__(self, other: "Tensor") -> "Tensor":
        if not isinstance(other, Tensor):
            return NotImplemented
        return self + (-other)

    def __mul__(self, scalar) -> "Tensor":
        if not np.isscalar(scalar) or isinstance(scalar, (str, bytes, complex)):
            return NotImplemented
        factor = (np.asarray(scalar, dtype=self.dtype), ())
        terms = [
            Term(
                term.factors + (factor,),
                term.axes,
                term.sizes,
                term.factor_names() + (f"{scalar:g}",),
            )
            for term in self.terms
        ]
        return Tensor._from_terms(terms, self.indices, self.shape, self.dtype)

    __rmul__ = __mul__

    @property
    def formula(self) -> str:
        """The entries in index notation, e.g. ``T[i,j] = δ[i,j] x[j]``."""
        symbols = notation.symbols_of([self])
        entries = notation.index_notation(self, symbols)
        return notation.with_legend(f"{notation.signature('T', self.indices)} = {entries}", symbols)

    def __repr__(self) -> str:
        labels = ",".join(self.indices)
        return (
            f"{type(self).__name__}([{labels}], shape={self.shape}, dtype={self.dtype},"
            f" stored={self.stored_nbytes} B of {self.dense_nbytes} B dense)"
        )


class Jacobian(Tensor):
    """∂(output)/∂(input) as a labelled tensor: output labels first, then input labels.

    ``out_indices`` label the output's axes and ``in_indices`` the input's, so the
    shape is ``output.shape + input.shape`` (the JAX convention).
    """

    # _source: a function returning the cost report of the call that computed it, or None
    __slots__ = ("out_indices", "in_indices", "numerator", "denominator", "_source")
    _CACHES = (*Tensor._CACHES, "_source")

    @classmethod
    def _from_tensor(
        cls, tensor: Tensor, n_out: int, numerator: str = "f", denominator: str = "x"
    ) -> "Jacobian":
        jacobian = cls._from_terms(tensor.terms, tensor.indices, tensor.shape, tensor.dtype)
        jacobian.out_indices = tensor.indices[:n_out]
        jacobian.in_indices = tensor.indices[n_out:]
        jacobian.numerator, jacobian.denominator = numerator, denominator
        jacobian._source = getattr(tensor, "_source", None)  # relabelling keeps the cost
        return jacobian

    def plan(self):
        """The cost report of the call that computed this Jacobian: :func:`tensordiff.plan`
        of the same function and arguments (each order is run once more to measure it).

        >>> import tensordiff as td
        >>> J = td.jacobian(lambda x: np.tanh(x))(np.ones(3))
        >>> J.plan().costs["optimal"]["flops"]
        0
        """
        source = getattr(self, "_source", None)  # unset on Jacobians built by arithmetic
        if source is None:
            raise TensorDiffError(
                f"{self!r} was not computed by td.jacobian from one call (it was chained,"
                " contracted or replayed by td.jit), so its cost report is not known; call"
                " td.plan(f, argnums)(*args) on the function instead"
            )
        return source()

    def relabel(self, labels: str | Sequence[str]) -> "Jacobian":
        relabelled = type(self)._from_tensor(
            super().relabel(labels), len(self.out_indices), self.numerator, self.denominator
        )
        relabelled._source = getattr(self, "_source", None)
        return relabelled

    def named(self, numerator: str, denominator: str) -> "Jacobian":
        """The same Jacobian, written ∂numerator/∂denominator in formulas."""
        return type(self)._from_tensor(self, len(self.out_indices), numerator, denominator)

    @property
    def formula(self) -> str:
        """The entries in index notation, e.g. ``∂f[i]/∂W[j,k] = δ[i,j] x[k]``."""
        top = notation.signature(self.numerator, self.out_indices)
        bottom = notation.signature(self.denominator, self.in_indices)
        symbols = notation.symbols_of([self])
        entries = notation.index_notation(self, symbols)
        return notation.with_legend(f"∂{top}/∂{bottom} = {entries}", symbols)

    def __repr__(self) -> str:
        top = notation.signature(self.numerator, self.out_indices)
        bottom = notation.signature(self.denominator, self.in_indices)
        return (
            f"{type(self).__name__}(∂{top}/∂{bottom}, shape={self.shape}, dtype={self.dtype},"
            f" stored={self.stored_nbytes} B of {self.dense_nbytes} B dense)"
        )


def contract(*tensors: Tensor, out: str | Sequence[str] | None = None) -> Tensor:
    """Multiply tensors and sum over every label that is not in ``out``.

    Labels shared by several tensors are the same index (einsum semantics). With
    ``out=None`` the result keeps the labels that occur exactly once, in order of
    appearance. Deltas are eliminated by relabelling, never by dense products.

    >>> A = Tensor(np.arange(6.0).reshape(2, 3), "ij")
    >>> x = Tensor(np.ones(3), "j")
    >>> y = contract(A, x)
    >>> y.indices, np.asarray(y)
    (('i',), array([ 3., 12.]))
    >>> contract(A, out="ji").shape
    (3, 2)
    """
    if not tensors:
        raise ShapeError("td.contract needs at least one Tensor")
    for position, tensor in enumerate(tensors):
        if not isinstance(tensor, Tensor):
            raise ShapeError(
                f"argument {position} of td.contract is a {type(tensor).__name__}, not a"
                " td.Tensor; wrap arrays as td.Tensor(array, labels) first"
            )
    sizes: dict[str, int] = {}
    counts: dict[str, int] = {}
    for position, tensor in enumerate(tensors):
        for label, size in zip(tensor.indices, tensor.shape, strict=True):
            if sizes.setdefault(label, size) != size:
                raise ShapeError(
                    f"label {label!r} has size {sizes[label]} in one tensor but size {size}"
                    f" in argument {position} (labels {tensor.indices}, shape {tensor.shape})"
                )
            counts[label] = counts.get(label, 0) + 1
    if out is None:
        out_labels = tuple(label for label, count in counts.items() if count == 1)
    else:
        out_labels = _parse_out(out)
        missing = [label for label in out_labels if label not in sizes]
        if missing:
            raise ShapeError(
                f"output labels {missing} occur in no tensor; the inputs have {tuple(sizes)}"
            )
    shape = tuple(sizes[label] for label in out_labels)
    dtype = np.result_type(*(tensor.dtype for tensor in tensors))
    terms = [
        contract_terms(
            [(term, tensor.indices) for term, tensor in zip(combo, tensors, strict=True)],
            out_labels,
        )
        for combo in itertools.product(*(tensor.terms for tensor in tensors))
    ]
    return Tensor._from_terms(add_terms(terms), out_labels, shape, dtype)


def _parse_out(out: str | Sequence[str]) -> tuple[str, ...]:
    labels = tuple(out)
    return parse_labels(out, len(labels), "the output of td.contract")


def slot_names(cls) -> list[str]:
    """Every attribute a Tensor class stores: the slots of it and its bases."""
    return [name for klass in cls.__mro__ for name in getattr(klass, "__slots__", ())]


def _densified(items):
    """``items`` with each Tensor (also inside lists, tuples and dicts) replaced by its
    dense value."""
    return trees.tree_map(
        lambda item: dense_value(item) if isinstance(item, Tensor) else item,
        items,
        is_leaf=lambda item: isinstance(item, Tensor),
    )


def _aligned(other: Tensor, like: Tensor) -> Tensor:
    """``other`` with its axes in the order of ``like``'s labels."""
    if set(other.indices) != set(like.indices):
        raise ShapeError(
            f"cannot add tensors labelled {like.indices} and {other.indices};"
            " relabel one so that both have the same labels"
        )
    if other.indices == like.indices:
        if other.shape != like.shape:
            raise ShapeError(f"cannot add tensors of shapes {like.shape} and {other.shape}")
        return other
    return other.transpose(like.indices)
