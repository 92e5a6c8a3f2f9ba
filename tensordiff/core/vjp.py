"""Local Jacobians kept as numbers: all that backpropagating a gradient reads of them.

While a scalar's gradient is backpropagated (:mod:`tensordiff.chain_rule`), each local
Jacobian is only ever multiplied by a cotangent. A rule whose Jacobian has a simple
shape hands over one of these instead of a :class:`~tensordiff.core.term.Term`, so no
classes, deltas or names are built for it: ``vector_product(cotangent)`` is the
cotangent pulled back to the operand, shaped like the operand.
"""

import string
from dataclasses import dataclass

import numpy as np

from tensordiff.core import context, paths

__all__ = [
    "ElementwiseProduct",
    "EinsumProduct",
    "ScatterProduct",
    "IndexProduct",
    "MatmulProduct",
    "SpreadProduct",
    "SoftmaxProduct",
    "PRODUCTS",
    "numbers_wanted",
]


def numbers_wanted() -> bool:
    """Whether a rule may hand over a product instead of a term: a gradient is being
    backpropagated as numbers and no meter counts its contractions (the counted path
    keeps the terms, so predicted and measured costs stay one computation)."""
    state = context.current()
    return not state.named and not state.meters


@dataclass(slots=True)  # not frozen: its __init__ would set fields by object.__setattr__
class ElementwiseProduct:
    """``∂y/∂x = δ · derivative`` of an elementwise operation: ``derivative`` is None (δ
    alone), a scalar, or an array broadcastable to the output, and ``x`` (of
    ``in_shape``) was broadcast to the output.

    >>> local = ElementwiseProduct(np.array([2.0, 3.0]), (1,))
    >>> local.vector_product(np.array([1.0, 1.0]))
    array([5.])
    """

    derivative: object
    in_shape: tuple[int, ...]

    def vector_product(self, cotangent: np.ndarray) -> np.ndarray:
        """``cotangent · derivative``, summed along the axes ``x`` was broadcast over."""
        product = cotangent if self.derivative is None else cotangent * self.derivative
        if product.shape == self.in_shape:
            return product  # nothing was broadcast (most steps)
        return _unbroadcast(product, 0, self.in_shape)

    def vector_products(self, cotangents: np.ndarray) -> np.ndarray:
        product = cotangents if self.derivative is None else cotangents * self.derivative
        if product.shape[1:] == self.in_shape:
            return product
        return _unbroadcast(product, 1, self.in_shape)


def _unbroadcast(product: np.ndarray, batch: int, in_shape) -> np.ndarray:
    """``product`` (after ``batch`` leading axes) summed back to ``in_shape``: over the axes
    the operand lacked and those it had as size 1."""
    extra = product.ndim - batch - len(in_shape)
    stretched = tuple(
        batch + extra + n
        for n, size in enumerate(in_shape)
        if size == 1 and product.shape[batch + extra + n] != 1
    )
    if extra or stretched:
        product = product.sum(axis=tuple(range(batch, batch + extra)) + stretched)
    return product.reshape(product.shape[:batch] + tuple(in_shape))


def _array(value):
    """A constant operand as an array: it may be a list (``np.convolve(x, [1.0, 0.5])``),
    which a planned product reshapes."""
    return value if hasattr(value, "reshape") else np.asarray(value)


def _each(local, cotangents: np.ndarray) -> np.ndarray:
    """``local.vector_product`` of each cotangent along the first axis, stacked: for the
    products whose indexing has no batched form as simple as the single one."""
    return np.stack([local.vector_product(cotangent) for cotangent in cotangents])


@dataclass(slots=True)  # not frozen: its __init__ would set fields by object.__setattr__
class EinsumProduct:
    """``∂y/∂x`` for ``y = scale · einsum(inputs -> output, ...)`` with respect to the
    operand over ``wrt`` letters: the product of the ``others`` (letters, array).
    ``output`` may hold None for a size-1 axis no operand has.

    >>> A = np.array([[1.0, 2.0], [3.0, 4.0]])
    >>> local = EinsumProduct("j", [("ij", A)], ["i"], 2.0, (2,))  # y = 2 A x, x over j
    >>> local.vector_product(np.array([1.0, 0.0]))  # 2 Aᵀ [1, 0]
    array([2., 4.])
    """

    wrt: str
    others: list
    output: list
    scale: object
    in_shape: tuple[int, ...]

    @staticmethod
    def of(inputs, output, values, wrt: int, scale) -> "EinsumProduct | None":
        """The product for operand ``wrt``, or None when the pull-back is not one plain
        einsum: a letter repeated on the operand (a diagonal) or sized differently in
        two places (broadcasting), which the term's deltas express."""
        letters = inputs[wrt]
        if len(set(letters)) != len(letters):
            return None
        sizes: dict[str, int] = {}
        for subscripts, value in zip(inputs, values, strict=True):
            for letter, size in zip(subscripts, np.shape(value), strict=True):
                if sizes.setdefault(letter, size) != size:
                    return None
        others = [(inputs[k], _array(values[k])) for k in range(len(inputs)) if k != wrt]
        return EinsumProduct(letters, others, list(output), scale, np.shape(values[wrt]))

    def vector_product(self, cotangent: np.ndarray) -> np.ndarray:
        """``Σ cotangent[output] · others`` over the operand's letters; a letter of the
        operand found nowhere else (summed by the operation) is broadcast back."""
        return self._pulled(cotangent, "")

    def vector_products(self, cotangents: np.ndarray) -> np.ndarray:
        used = set(self.wrt).union(
            *(letters for letters, _ in self.others), (x for x in self.output if x)
        )
        batch = next(letter for letter in string.ascii_letters if letter not in used)
        return self._pulled(cotangents, batch)

    def _pulled(self, cotangent: np.ndarray, batch: str) -> np.ndarray:
        """The pull-back, ``batch`` ("" or one free letter) the cotangent's leading axes."""
        lead = list(cotangent.shape[: len(batch)])
        out_letters = "".join(letter for letter in self.output if letter is not None)
        cotangent = cotangent.reshape(
            lead
            + [
                size
                for letter, size in zip(self.output, cotangent.shape[len(batch) :], strict=True)
                if letter is not None
            ]
        )
        seen = set(out_letters).union(*(letters for letters, _ in self.others))
        kept = "".join(letter for letter in self.wrt if letter in seen)
        equation = ",".join([batch + out_letters, *(letters for letters, _ in self.others)])
        arrays = [cotangent, *(array for _, array in self.others)]
        # planned once per equation and shapes (a gradient's steps repeat every call)
        plan = paths.compiled(f"{equation}->{batch}{kept}", tuple(np.shape(a) for a in arrays))
        product = plan(*arrays)
        if self.scale is not None:
            product = product * self.scale
        if len(kept) == len(self.wrt):
            return product
        shape = lead + [
            size if letter in seen else 1
            for letter, size in zip(self.wrt, self.in_shape, strict=True)
        ]
        return np.array(np.broadcast_to(product.reshape(shape), (*lead, *self.in_shape)))


@dataclass(slots=True)  # not frozen: its __init__ would set fields by object.__setattr__
class ScatterProduct:
    """``∂y/∂x`` of a gather ``y = x.flat[positions]`` (a position of -1 picks a constant):
    the cotangent is added back at the positions it was read from, repeats summed.

    >>> local = ScatterProduct(np.array([2, 0, 2, -1]), (3,))
    >>> local.vector_product(np.array([1.0, 2.0, 3.0, 4.0]))
    array([2., 0., 4.])
    """

    positions: np.ndarray
    in_shape: tuple[int, ...]

    def vector_product(self, cotangent: np.ndarray) -> np.ndarray:
        """``Σ_o cotangent[o] [positions[o] = i]``, shaped like ``x``: what the dense
        one-hot selection matrix would give, without building it."""
        positions = self.positions.reshape(-1)
        weights = cotangent.reshape(-1)
        if positions.size and positions.min() < 0:
            picked = positions >= 0
            positions, weights = positions[picked], weights[picked]
        size = int(np.prod(self.in_shape))
        summed = np.bincount(positions, weights=weights, minlength=size)
        return summed.astype(cotangent.dtype, copy=False).reshape(self.in_shape)

    vector_products = _each


@dataclass(slots=True)  # not frozen: its __init__ would set fields by object.__setattr__
class IndexProduct:
    """``∂y/∂x`` of ``y = x[index]``: the cotangent written back where it was read, repeated
    reads (an integer array index, ``repeats``) summed.

    >>> IndexProduct((np.array([2, 0, 2]),), (3,), True).vector_product(np.ones(3))
    array([1., 0., 2.])
    """

    index: object
    in_shape: tuple[int, ...]
    repeats: bool

    def vector_product(self, cotangent: np.ndarray) -> np.ndarray:
        pulled = np.zeros(self.in_shape, dtype=cotangent.dtype)
        if self.repeats:
            np.add.at(pulled, self.index, cotangent)
        else:
            pulled[self.index] = cotangent
        return pulled

    # (a batch axis in front would move where NumPy puts an advanced index's axes)
    vector_products = _each


@dataclass(slots=True)  # not frozen: its __init__ would set fields by object.__setattr__
class MatmulProduct:
    """``∂y/∂x`` of a product of two matrices ``y = x B`` (``left``) or ``y = A x``: the
    cotangent times the other matrix transposed, on its side.

    >>> A = np.array([[1.0, 2.0], [3.0, 4.0]])
    >>> MatmulProduct(A, False).vector_product(np.array([[1.0], [0.0]]))  # Aᵀ [1, 0]ᵀ
    array([[1.],
           [2.]])
    """

    other: np.ndarray
    left: bool  # whether x is the left factor

    def vector_product(self, cotangent: np.ndarray) -> np.ndarray:
        if self.left:
            return cotangent @ self.other.T
        return self.other.T @ cotangent

    vector_products = vector_product  # (matmul broadcasts over a batch in front)


@dataclass(slots=True)  # not frozen: its __init__ would set fields by object.__setattr__
class SpreadProduct:
    """``∂y/∂x`` of ``y = scale · Σ x`` over the axes of ``x`` (of ``in_shape``) that
    ``kept_shape`` has as size 1: the cotangent spread back over them, times ``scale``
    (None: 1; an array of ``in_shape``: the weights of a max).

    >>> SpreadProduct(0.5, (2, 1), (2, 2)).vector_product(np.array([2.0, 4.0]))
    array([[1., 1.],
           [2., 2.]])
    """

    scale: object
    kept_shape: tuple[int, ...]  # the output's shape with the summed axes kept as size 1
    in_shape: tuple[int, ...]

    def vector_product(self, cotangent: np.ndarray) -> np.ndarray:
        return self._spread(cotangent, ())

    def vector_products(self, cotangents: np.ndarray) -> np.ndarray:
        return self._spread(cotangents, cotangents.shape[:1])

    def _spread(self, cotangent: np.ndarray, lead: tuple) -> np.ndarray:
        cotangent = cotangent.reshape(lead + self.kept_shape)
        if self.scale is not None:
            cotangent = cotangent * self.scale
        if cotangent.shape == lead + self.in_shape:
            return cotangent  # weights over every entry: spread already
        spread = np.empty(lead + self.in_shape, dtype=cotangent.dtype)
        spread[...] = cotangent
        return spread


@dataclass(slots=True)  # not frozen: its __init__ would set fields by object.__setattr__
class SoftmaxProduct:
    """``∂y/∂z`` of a softmax ``s`` of ``z`` along ``axes`` and its relatives: ``y = s``
    (``s ⊙ (g − Σ g s)``), ``y = log s`` (``g − s Σ g``), and ``y = log Σ exp z`` (``s g``,
    with ``g`` over the output, the summed ``axes`` kept as size 1 if ``keepdims``).

    >>> s = np.array([0.25, 0.75])
    >>> SoftmaxProduct("log_softmax", s, (0,), True).vector_product(np.array([1.0, 0.0]))
    array([ 0.75, -0.75])
    """

    of: str  # "softmax", "log_softmax" or "logsumexp"
    softmax: np.ndarray
    axes: tuple[int, ...]
    keepdims: bool

    def vector_product(self, cotangent: np.ndarray) -> np.ndarray:
        """The cotangent pulled back to ``z``, shaped like ``z``."""
        return self._pulled(cotangent, self.axes)

    def vector_products(self, cotangents: np.ndarray) -> np.ndarray:
        return self._pulled(cotangents, tuple(axis + 1 for axis in self._axes_from_0()))

    def _axes_from_0(self) -> tuple[int, ...]:
        return tuple(axis % self.softmax.ndim for axis in self.axes)

    def _pulled(self, cotangent: np.ndarray, axes: tuple[int, ...]) -> np.ndarray:
        """The pull-back, ``axes`` the softmax's axes counted on the cotangent's."""
        s = self.softmax
        if self.of == "logsumexp":
            kept = cotangent if self.keepdims else np.expand_dims(cotangent, axes)
            return s * kept
        if self.of == "log_softmax":
            return cotangent - s * np.sum(cotangent, axis=axes, keepdims=True)
        weighted = cotangent * s
        return weighted - s * np.sum(weighted, axis=axes, keepdims=True)


# What a rule may hand over instead of a term while numbers are wanted.
PRODUCTS = (
    ElementwiseProduct,
    EinsumProduct,
    ScatterProduct,
    IndexProduct,
    MatmulProduct,
    SpreadProduct,
    SoftmaxProduct,
)
