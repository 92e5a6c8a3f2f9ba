"""``td.hessian``: the second derivative, a Jacobian of a Jacobian, exactly symmetric."""

import functools
from collections.abc import Callable

import numpy as np

from tensordiff.core import memory
from tensordiff.core.dense import write_dense
from tensordiff.core.labels import default_labels, labels_for
from tensordiff.core.term import Term
from tensordiff.derivatives import LabelSpec, jacobian
from tensordiff.errors import OptionError
from tensordiff.tensor import Jacobian
from tensordiff.text import notation

__all__ = ["hessian", "Hessian"]


class Hessian(Jacobian):
    """∂²f/∂x∂x′: output labels, then the argument's labels twice.

    The stored terms are the nested Jacobian as computed; the dense array is the
    average of it and its transpose in the two argument groups, so it is exactly
    symmetric (the two computations differ only by rounding).
    """

    __slots__ = ()

    def to_numpy(self) -> np.ndarray:
        symmetric = self._symmetrized_terms()
        if symmetric is not None:
            memory.check_dense(self.shape, self.dtype)
            return write_dense(symmetric, self.shape, self.dtype)
        dense = super().to_numpy()
        swapped = np.moveaxis(dense, self._first + self._second, self._second + self._first)
        dense += swapped
        dense *= np.asarray(0.5, dtype=dense.dtype)
        return dense

    @property
    def formula(self) -> str:
        """``∂²f/∂W[i,j]∂W[k,l] = 2 δ[i,k] x[j] x[l]``: the argument's labels twice."""
        top = notation.derivative(
            self.numerator, self.out_indices, self.denominator, self.in_indices, order=2
        )
        symbols = notation.symbols_of([self])
        return notation.with_legend(f"{top} = {notation.index_notation(self, symbols)}", symbols)

    @property
    def _first(self) -> list[int]:
        n_out, n_in = len(self.out_indices), len(self.in_indices) // 2
        return list(range(n_out, n_out + n_in))

    @property
    def _second(self) -> list[int]:
        n_out, n_in = len(self.out_indices), len(self.in_indices) // 2
        return list(range(n_out + n_in, n_out + 2 * n_in))

    def _symmetrized_terms(self) -> list[Term] | None:
        """Each term averaged with its own transpose, on its core only.

        Works when every term's delta pattern is symmetric under swapping the two
        argument groups (the usual case); the average then costs the core's size,
        not the dense size. None otherwise.
        """
        permutation = list(range(self.ndim))
        for a, b in zip(self._first, self._second, strict=True):
            permutation[a], permutation[b] = b, a
        terms = []
        for term in self.terms:
            swap: dict[int, int] = {}
            for axis, partner in zip(term.axes, (term.axes[p] for p in permutation), strict=True):
                if len(axis) != len(partner):
                    return None
                for c, d in zip(axis, partner, strict=True):
                    if swap.setdefault(c, d) != d:
                        return None
            keep = list(term.core_classes())
            if {swap[c] for c in keep} != set(keep):
                return None
            core = term.core(keep)
            # x + xᵀ is exactly symmetric: floating-point addition commutes.
            average = (core + np.transpose(core, [keep.index(swap[c]) for c in keep])) * 0.5
            name = term.product_name(keep)
            terms.append(Term(((average, tuple(keep)),), term.axes, term.sizes, (name,)))
        return terms


def hessian(
    f: Callable,
    argnums: int = 0,
    out: LabelSpec = None,
    wrt: LabelSpec = None,
    mode: str = "auto",
) -> Callable:
    """The Hessian of ``f`` with respect to one argument, as ``jax.hessian`` shapes it.

    The result has shape ``f(x).shape + x.shape + x.shape``; its labels are the
    output's (``out``), the argument's (``wrt``) and a second copy of the
    argument's (fresh letters).

    >>> H = hessian(lambda x: np.sum(x ** 3))(np.array([1.0, 2.0]))
    >>> H.indices, np.asarray(H)
    (('i', 'j'), array([[ 6.,  0.],
           [ 0., 12.]]))
    """
    if not isinstance(argnums, (int, np.integer)):
        raise OptionError(
            f"td.hessian differentiates with respect to one argument; got argnums={argnums!r}."
            " Nest td.jacobian for mixed second derivatives"
        )
    twice = jacobian(jacobian(f, argnums, mode=mode), argnums, mode=mode)

    @functools.wraps(f)
    def hessian_of_f(*args, **kwargs):
        nested = twice(*args, **kwargs)
        n_in = np.ndim(args[argnums])
        n_out = nested.ndim - 2 * n_in
        out_labels = labels_for(out, n_out, "the output")
        wrt_labels = labels_for(wrt, n_in, f"argument {argnums}", avoid=out_labels)
        second = default_labels(n_in, avoid=out_labels + wrt_labels)
        labelled = nested.relabel(out_labels + wrt_labels + second)
        result = Hessian._from_tensor(labelled, n_out, nested.numerator, nested.denominator)
        result.in_indices = wrt_labels + second
        return result

    return hessian_of_f
