"""A tensor whose factors are traced, written out densely as a recorded operation.

When ``f`` of an outer derivative returns a Jacobian (a derivative of a
derivative), the outer trace needs that Jacobian as an array. Writing a term
densely is linear in its core, and its local Jacobian is the term's own delta
pattern, so the structure survives into the second derivative.
"""

from tensordiff.core.dense import write_dense
from tensordiff.core.term import Term
from tensordiff.trace.traced import Traced, record

__all__ = ["dense_value"]


def dense_value(tensor):
    """``np.asarray(tensor)`` for a :class:`~tensordiff.Tensor`, recorded on every trace
    its factors belong to."""
    traced = any(type(array) is Traced for term in tensor.terms for array, _ in term.factors)
    if not traced:
        return tensor.to_numpy()
    total = None
    for term in tensor.terms:
        keep = term.core_classes()
        part = _embed(term.core(keep), keep, term, tensor.shape, tensor.dtype)
        total = part if total is None else total + part
    return total


def _embed(core, keep: tuple[int, ...], term: Term, shape, dtype):
    """The dense array of ``term`` with its factors replaced by ``core`` over ``keep``."""
    if type(core) is not Traced:
        return write_dense([Term(((core, keep),), term.axes, term.sizes)], shape, dtype)
    value = _embed(core.value, keep, term, shape, dtype)  # may be traced at a lower level
    pattern = Term((), term.axes + tuple((c,) for c in keep), term.sizes)
    return record("embed", value, [core], lambda _: pattern)
