"""``td.contract``: the chain rule's one operation, a sum over shared labels."""

import itertools
from collections.abc import Sequence

import numpy as np

from tensordiff.errors import ShapeError
from tensordiff.labels import parse_labels
from tensordiff.sums import add_terms
from tensordiff.tensor import Tensor
from tensordiff.term import contract as contract_terms

__all__ = ["contract"]


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
