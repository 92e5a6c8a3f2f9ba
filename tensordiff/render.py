"""Index notation for labelled tensors, read off their delta structure.

The text is built from the same terms that produce the numbers: deltas are
the classes shared by several labels, and each dense factor is named by
matching it against arrays the caller names (``{"x": x}``), so a formula can
never claim a structure the tensor does not have.
"""

from collections.abc import Mapping

import numpy as np

from tensordiff.tensor import Tensor
from tensordiff.term import Term

__all__ = ["signature", "entity", "index_formula"]


def signature(name: str, labels) -> str:
    """``V[i]``, ``W[j,k]``, or ``E`` for no labels."""
    return f"{name}[{','.join(labels)}]" if labels else name


def entity(tensor: Tensor, n_out: int, numerator: str, denominator: str) -> str:
    """What a Jacobian is: its order, shape and labels.

    >>> import tensordiff as td
    >>> J = td.jacobian(lambda W: W @ np.ones(4))(np.ones((3, 4)))
    >>> entity(J, 1, "V", "W")
    'order-3 tensor, shape (3, 3, 4), labels V[i] / W[j,k]'
    """
    order = tensor.ndim
    kind = {0: "scalar", 1: "order-1 tensor (a vector)", 2: "order-2 tensor (a matrix)"}
    kind = kind.get(order, f"order-{order} tensor")
    out, wrt = tensor.indices[:n_out], tensor.indices[n_out:]
    return (
        f"{kind}, shape {tensor.shape}, labels"
        f" {signature(numerator, out)} / {signature(denominator, wrt)}"
    )


def index_formula(tensor: Tensor, names: Mapping[str, np.ndarray]) -> str:
    """The entries of ``tensor`` in index notation, e.g. ``δ[i,j] x[k]``.

    >>> import tensordiff as td
    >>> x = np.arange(1.0, 5.0)
    >>> J = td.jacobian(lambda W: W @ x)(np.ones((3, 4)))
    >>> index_formula(J, {"x": x})
    'δ[i,j] x[k]'
    """
    if not tensor.terms:
        return "0"
    return " + ".join(_term_formula(term, tensor.indices, names) for term in tensor.terms)


def _term_formula(term: Term, labels, names: Mapping[str, np.ndarray]) -> str:
    label_of: dict[int, list[str]] = {}
    for label, axis in zip(labels, term.axes, strict=True):
        for c in axis:
            label_of.setdefault(c, []).append(label)
    parts = [f"δ[{','.join(group)}]" for group in label_of.values() if len(group) > 1]
    coefficient = 1.0
    for array, classes in term.factors:
        if not classes:
            coefficient *= float(array)
            continue
        factor_labels = [label_of.get(c, ["?"])[0] for c in classes]
        parts.append(_name_of(array, names) + f"[{','.join(factor_labels)}]")
    if coefficient != 1.0 or not parts:
        parts.insert(0, f"{coefficient:g}")
    return " ".join(parts)


def _name_of(array: np.ndarray, names: Mapping[str, np.ndarray]) -> str:
    for name, value in names.items():
        if np.shape(value) == array.shape and np.allclose(value, array, rtol=1e-12, atol=1e-14):
            return name
    return "F"
