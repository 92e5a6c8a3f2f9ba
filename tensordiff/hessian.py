"""``td.hessian``: the second derivative, a Jacobian of a Jacobian, exactly symmetric."""

import functools
from collections.abc import Callable, Sequence

import numpy as np

from tensordiff.core import memory, trees
from tensordiff.core.dense import write_dense
from tensordiff.core.labels import default_labels, labels_for
from tensordiff.core.options import integer
from tensordiff.core.term import Term
from tensordiff.derivatives import LabelSpec, jacobian, structured_jacobian
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

    def to_numpy(self, out: np.ndarray | None = None) -> np.ndarray:
        self._check_out(out)
        symmetric = self._symmetrized_terms()
        if symmetric is not None:
            memory.check_dense(self.shape, self.dtype)
            return write_dense(symmetric, self.shape, self.dtype, out)
        if out is not None:  # the sum below needs the whole array on its own
            np.copyto(out, self.to_numpy())
            return out
        dense = super().to_numpy()
        swapped = np.moveaxis(dense, self._first + self._second, self._second + self._first)
        dense += swapped
        dense *= np.asarray(0.5, dtype=dense.dtype)
        return dense

    def _block_source(self) -> list[Term]:
        """Half of each term plus half of it with the two argument groups swapped: the
        symmetric tensor that the dense array is, with every term still structured (so a
        block costs the block, where averaging the cores would cost the cores)."""
        permutation = list(range(self.ndim))
        for a, b in zip(self._first, self._second, strict=True):
            permutation[a], permutation[b] = b, a
        half = (np.asarray(0.5, dtype=self.dtype), ())
        terms = []
        for term in self.terms:
            names = term.factor_names() + ("1/2",)
            for axes in (term.axes, tuple(term.axes[p] for p in permutation)):
                terms.append(Term(term.factors + (half,), axes, term.sizes, names))
        return terms

    @property
    def formula(self) -> str:
        """``∂²f/∂W[i,j]∂W[k,l] = 2 δ[i,k] x[j] x[l]``: the argument's labels twice."""
        top = notation.derivative(
            self.numerator, self.out_indices, self.denominator, self.in_indices, order=2
        )
        symbols = notation.symbols_of([self])
        return notation.with_legend(f"{top} = {notation.index_notation(self, symbols)}", symbols)

    # As a linear map (H v, J.as_linear_operator()), H takes v shaped like the argument to
    # the output's shape plus the argument's: the derivative of the gradient along v.
    @property
    def _rows(self) -> tuple[str, ...]:
        return self.out_indices + self.in_indices[: len(self.in_indices) // 2]

    @property
    def _columns(self) -> tuple[str, ...]:
        return self.in_indices[len(self.in_indices) // 2 :]

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
            # (no name: these terms are only written densely, and naming a product
            # took half the time of writing a 64 × 64 Hessian)
            terms.append(Term(((average, tuple(keep)),), term.axes, term.sizes))
        return terms


def hessian(
    f: Callable,
    argnums: int = 0,
    out: LabelSpec = None,
    wrt: LabelSpec = None,
    mode: str = "auto",
    has_aux: bool = False,
) -> Callable:
    """The Hessian of ``f`` with respect to one argument, as ``jax.hessian`` shapes it.

    The result has shape ``f(x).shape + x.shape + x.shape``; its labels are the
    output's (``out``), the argument's (``wrt``) and a second copy of the
    argument's (fresh letters). With ``has_aux=True``, ``f`` returns
    ``(output, aux)`` and the call returns ``(hessian, aux)``.

    >>> H = hessian(lambda x: np.sum(x ** 3))(np.array([1.0, 2.0]))
    >>> H.indices, np.asarray(H)
    (('i', 'j'), array([[ 6.,  0.],
           [ 0., 12.]]))
    """
    if isinstance(argnums, (Sequence, np.ndarray)):
        raise OptionError(
            f"td.hessian differentiates with respect to one argument; got argnums={argnums!r}."
            " Nest td.jacobian for mixed second derivatives"
        )
    argnums = integer(argnums, "argnums")
    once = jacobian(f, argnums, mode=mode, has_aux=has_aux)
    twice = structured_jacobian(once, argnums, mode, has_aux)  # (its terms are read)

    @functools.wraps(f)
    def hessian_of_f(*args, **kwargs):
        if argnums < len(args) and not trees.is_leaf_node(args[argnums]):
            raise OptionError(
                f"td.hessian takes one array argument, but argument {argnums} is a"
                f" {type(args[argnums]).__name__}; for nested arguments use"
                " td.jacobian(td.jacobian(f)), which nests as jax.hessian does"
            )
        nested, aux = twice(*args, **kwargs) if has_aux else (twice(*args, **kwargs), None)
        if not isinstance(nested, Jacobian):
            raise OptionError(
                "td.hessian needs f to return one array; for nested outputs use"
                " td.jacobian(td.jacobian(f)), which nests as jax.hessian does"
            )
        n_in = np.ndim(args[argnums])
        n_out = nested.ndim - 2 * n_in
        out_labels = labels_for(out, n_out, "the output")
        wrt_labels = labels_for(wrt, n_in, f"argument {argnums}", avoid=out_labels)
        second = default_labels(n_in, avoid=out_labels + wrt_labels)
        labelled = nested.relabel(out_labels + wrt_labels + second)
        result = Hessian._from_tensor(labelled, n_out, nested.numerator, nested.denominator)
        result.in_indices = wrt_labels + second
        return (result, aux) if has_aux else result

    return hessian_of_f
