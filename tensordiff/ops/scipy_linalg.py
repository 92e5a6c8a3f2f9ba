"""``scipy.linalg`` and ``scipy.spatial.distance.cdist`` on traced values, as the NumPy
calls that compute the same numbers.

scipy's functions convert their arguments to plain arrays and call LAPACK, so a traced
value reaching them would lose its derivative (they are refused by name, with the NumPy to
write instead: :func:`tensordiff.ops.scipy_special.numpy_instead`). Once the user's code
has imported them, the first trace replaces these names of ``scipy.linalg`` (and
``cdist`` of ``scipy.spatial.distance``) by wrappers: a call holding a traced value runs
its NumPy twin below — every step a rule, so its derivatives of every order, its
formula and ``td.jit`` come with it — and every other call is scipy's own, unchanged.
``expm`` has no such twin: it is recorded as scipy's own call, with a rule of its own.

Each twin computes what scipy computes, option by option, including which triangle of
the matrix it reads (``solve(assume_a="pos")``, ``cholesky``, ``cho_factor``,
``solve_triangular`` read one triangle only, so the other has derivative zero).
``cho_factor``'s other triangle holds the matrix's own entries, as LAPACK leaves them.
An option a twin does not model (a batched ``solve``, ``eigh`` of a pair, a metric of
``cdist`` other than the Minkowski family and cosine) is left to scipy, which refuses the
traced value by name. A name bound before the first trace (``from scipy.linalg import
solve``) keeps scipy's function and is refused the same way; importing tensordiff never
imports scipy.

>>> import numpy as np, scipy.linalg, tensordiff as td
>>> a = np.array([[4.0, 1.0], [1.0, 3.0]])
>>> g = td.grad(lambda a: scipy.linalg.solve(a, np.ones(2)).sum())(a)
>>> x, y = np.linalg.solve(a, np.ones(2)), np.linalg.solve(a.T, np.ones(2))
>>> bool(np.allclose(g, -np.outer(y, x)))
True
"""

import functools
import inspect
import sys

import numpy as np

from tensordiff.core.templates import defined, grouped
from tensordiff.errors import ShapeError
from tensordiff.ops import jacobians
from tensordiff.ops.arguments import letters
from tensordiff.trace.registry import before_tracing, implements
from tensordiff.trace.traced import Traced, apply, expressions, numbers_of, raw, record, top_trace

__all__ = ["routing_note"]

_LINALG = "scipy.linalg"
_DISTANCE = "scipy.spatial.distance"


def _symmetric(a, lower: bool):
    """The symmetric matrix LAPACK reads from ``a``'s lower or upper triangle alone."""
    triangle = np.tril(a) if lower else np.triu(a)
    beyond = np.tril(a, -1) if lower else np.triu(a, 1)
    return triangle + np.transpose(beyond)


def _square(a) -> bool:
    return np.ndim(a) == 2 and np.shape(a)[0] == np.shape(a)[1]


def solve(
    a,
    b,
    lower=False,
    overwrite_a=False,
    overwrite_b=False,
    check_finite=True,
    assume_a=None,
    transposed=False,
):
    if not _square(a) or np.ndim(b) not in (1, 2):
        return NotImplemented  # scipy's batched solve
    if assume_a in (None, "gen", "general"):
        matrix = a
    elif assume_a in ("sym", "her", "pos", "symmetric", "hermitian", "positive definite"):
        matrix = _symmetric(a, lower)
    else:
        return NotImplemented
    return np.linalg.solve(np.transpose(matrix) if transposed else matrix, b)


def inv(a, overwrite_a=False, check_finite=True):
    return np.linalg.inv(a) if _square(a) else NotImplemented


def det(a, overwrite_a=False, check_finite=True):
    return np.linalg.det(a) if _square(a) else NotImplemented


def cholesky(a, lower=False, overwrite_a=False, check_finite=True):
    if not _square(a):
        return NotImplemented
    factor = np.linalg.cholesky(_symmetric(a, lower))
    return factor if lower else np.transpose(factor)


def cho_factor(a, lower=False, overwrite_a=False, check_finite=True):
    if not _square(a):
        return NotImplemented
    factor = cholesky(a, lower)
    # LAPACK's potrf writes one triangle; the other keeps the matrix's own entries
    rest = np.triu(a, 1) if lower else np.tril(a, -1)
    return factor + rest, lower


def cho_solve(c_and_lower, b, overwrite_b=False, check_finite=True):
    c, lower = c_and_lower
    if not _square(c) or np.ndim(b) not in (1, 2):
        return NotImplemented
    factor = np.tril(c) if lower else np.triu(c)  # c = L (lower) or U (upper)
    first, second = (factor, np.transpose(factor)) if lower else (np.transpose(factor), factor)
    return np.linalg.solve(second, np.linalg.solve(first, b))


def solve_triangular(
    a, b, trans=0, lower=False, unit_diagonal=False, overwrite_b=False, check_finite=True
):
    if not _square(a) or np.ndim(b) not in (1, 2) or trans not in (0, 1, 2, "N", "T", "C"):
        return NotImplemented
    triangle = (
        np.tril(a, -1 if unit_diagonal else 0) if lower else np.triu(a, 1 if unit_diagonal else 0)
    )
    if unit_diagonal:
        triangle = triangle + np.eye(np.shape(a)[0])
    return np.linalg.solve(triangle if trans in (0, "N") else np.transpose(triangle), b)


def eigh(
    a,
    b=None,
    *,
    lower=True,
    eigvals_only=False,
    overwrite_a=False,
    overwrite_b=False,
    type=1,
    check_finite=True,
    subset_by_index=None,
    subset_by_value=None,
    driver=None,
):
    if b is not None or subset_by_index is not None or subset_by_value is not None:
        return NotImplemented  # the generalised problem, or a subset of the spectrum
    if not _square(a):
        return NotImplemented
    # the triangle LAPACK reads, made symmetric: np.linalg.eigh's rule shares the
    # derivative between the triangles (as JAX's), scipy's numbers depend on one alone
    symmetric = _symmetric(a, lower)
    if eigvals_only:
        return np.linalg.eigvalsh(symmetric)
    values, vectors = np.linalg.eigh(symmetric)
    # each vector's sign as scipy's LAPACK driver gives it (NumPy's may differ): a constant
    theirs = _SCIPY["eigh"](numbers_of(symmetric), lower=lower)[1]
    return values, vectors * np.sign(np.sum(theirs * numbers_of(vectors), axis=0))


def eigvalsh(a, b=None, **options):
    return eigh(a, b, eigvals_only=True, **options)


# scipy's parameters: eigh's but eigvals_only (the routing binds a call to it first)
eigvalsh.__signature__ = inspect.signature(eigh).replace(
    parameters=[p for p in inspect.signature(eigh).parameters.values() if p.name != "eigvals_only"]
)


def svd(
    a,
    full_matrices=True,
    compute_uv=True,
    overwrite_a=False,
    check_finite=True,
    lapack_driver="gesdd",
):
    if np.ndim(a) != 2:
        return NotImplemented
    result = np.linalg.svd(a, full_matrices=full_matrices, compute_uv=compute_uv)
    return tuple(result) if compute_uv else result


def svdvals(a, overwrite_a=False, check_finite=True):
    return np.linalg.svd(a, compute_uv=False) if np.ndim(a) == 2 else NotImplemented


def norm(a, ord=None, axis=None, keepdims=False, check_finite=True):
    return np.linalg.norm(a, ord=ord, axis=axis, keepdims=keepdims)


def pinv(a, *, atol=None, rtol=None, return_rank=False, check_finite=True):
    if return_rank or atol is not None or rtol is not None or np.ndim(a) != 2:
        return NotImplemented
    return np.linalg.pinv(a)


def expm(A):
    """scipy's own numbers, recorded with :func:`_exponential`'s rule (scipy's expm has no
    NumPy twin: its Padé approximant would be recorded term by term)."""
    shape = np.shape(A)
    if len(shape) < 2 or shape[-1] != shape[-2]:
        raise ShapeError(f"scipy.linalg.expm needs square matrices (..., n, n), got {shape}")
    return apply(_SCIPY["expm"], (A,), {})


def _exponential(a):
    """The rule of ``scipy.linalg.expm``: its Fréchet derivative, itself a matrix exponential
    (Van Loan 1978), so derivatives of every order come from this rule again.

    ∂exp(A)[i,j]/∂A[k,l] = ∫₀¹ exp(sA)[i,k] exp((1 − s)A)[l,j] ds: as an (n², n²) matrix,
    rows (i,j) and columns (k,l), it is the upper-right block of the exponential of
    [[I ⊗ Aᵀ, I], [0, A ⊗ I]] — a (2n², 2n²) matrix, so its cost grows as n⁶: this rule is
    for the small matrices of a course or a model's rotation, not for n in the hundreds.
    """
    A = raw(a)
    value = _matrix_exponential(A)
    shape = np.shape(A)
    n, batch = shape[-1], letters(len(shape) - 2, skip="ijkl")
    (e,) = expressions([a])
    name = defined(
        "L",
        f"∂expm({e})/∂{grouped(e)}: L[p,q,r,t] = ∫₀¹ expm(s {grouped(e)})[p,r]"
        f" expm((1 − s) {grouped(e)})[t,q] ds",
    )

    def jacobian(_):
        identity = np.eye(n)
        # (I ⊗ Aᵀ)[(i,j),(k,l)] = δ[i,k] A[l,j] and (A ⊗ I)[(i,j),(k,l)] = A[i,k] δ[j,l]
        left = np.einsum(f"ik,{batch}lj->{batch}ijkl", identity, A)
        right = np.einsum(f"{batch}ik,jl->{batch}ijkl", A, identity)
        square = (*shape[:-2], n * n, n * n)
        zero = np.zeros(square)
        block = np.concatenate(
            [
                np.concatenate(
                    [np.reshape(left, square), np.broadcast_to(np.eye(n * n), square)], -1
                ),
                np.concatenate([zero, np.reshape(right, square)], -1),
            ],
            -2,
        )
        exponential = _matrix_exponential(block)
        derivative = np.reshape(exponential[..., : n * n, n * n :], (*shape, n, n))
        return jacobians.index_term(
            batch + "ij", batch + "kl", [(batch + "ijkl", derivative, name)], shape, shape
        )

    return record("expm", value, [a], jacobian, "expm({0})")


def _matrix_exponential(matrix):
    """scipy's expm of ``matrix``: recorded by an enclosing trace if it holds its value."""
    return expm(matrix) if type(matrix) is Traced else _SCIPY["expm"](matrix)


def cdist(XA, XB, metric="euclidean", *, out=None, **kwargs):  # noqa: N803 (scipy's names)
    """The metrics of the Minkowski family (``euclidean``, ``sqeuclidean``, ``cityblock``,
    ``chebyshev``, ``minkowski`` with ``p``) and ``cosine``, between rows."""
    if out is not None or np.ndim(XA) != 2 or np.ndim(XB) != 2 or set(kwargs) - {"p"}:
        return NotImplemented
    difference = XA[:, None, :] - XB[None, :, :]
    if metric == "euclidean":
        return np.sqrt(np.sum(difference * difference, axis=-1))
    if metric == "sqeuclidean":
        return np.sum(difference * difference, axis=-1)
    if metric == "cityblock":
        return np.sum(np.abs(difference), axis=-1)
    if metric == "chebyshev":
        return np.max(np.abs(difference), axis=-1)
    if metric == "minkowski":
        p = kwargs.get("p", 2.0)
        return np.sum(np.abs(difference) ** p, axis=-1) ** (1.0 / p)
    if metric == "cosine":
        norms = np.sqrt(np.sum(XA * XA, axis=1))[:, None] * np.sqrt(np.sum(XB * XB, axis=1))
        return 1.0 - (XA @ np.transpose(XB)) / norms
    return NotImplemented


_TWINS = {
    _LINALG: (
        solve,
        inv,
        det,
        cholesky,
        cho_factor,
        cho_solve,
        solve_triangular,
        eigh,
        eigvalsh,
        svd,
        svdvals,
        norm,
        pinv,
        expm,
    ),
    _DISTANCE: (cdist,),
}


_SCIPY: dict = {}  # name -> scipy's own function, once routed
# scipy's functions that are recorded as they are (their numbers scipy's), with these rules
_OWN_RULES = {"expm": _exponential}


def routing_note(public_name: str) -> str:
    """Why a call of ``public_name``, a function this module routes, reached scipy's own
    (for the refusal scipy's conversion meets); empty for any other function."""
    module, _, name = public_name.rpartition(".")
    if name not in {twin.__name__ for twin in _TWINS.get(module, ())}:
        return ""
    return (
        f" (tensordiff computes {name} on traced values when it is looked up on its module,"
        f" `{module}.{name}(...)`, with the options its NumPy twin models; a name imported"
        f" before the first trace, `from {module} import {name}`, or another option reaches"
        " scipy's own)"
    )


@before_tracing
def _route_traced_values() -> None:
    """Wrap the imported modules' functions once (a later trace costs a lookup each)."""
    for module_name, twins in _TWINS.items():
        module = sys.modules.get(module_name)  # only once the user's code imported it
        if module is None or getattr(module, "_routes_traced_values", False):
            continue
        for twin in twins:
            function = getattr(module, twin.__name__, None)
            if callable(function):
                _SCIPY[twin.__name__] = function
                setattr(module, twin.__name__, _routing(function, twin))
                if twin.__name__ in _OWN_RULES:  # recorded as scipy's call, by our rule
                    implements(function)(_OWN_RULES[twin.__name__])
        module._routes_traced_values = True


def _routing(function, twin):
    """scipy's ``function``; its NumPy ``twin`` when an argument holds a traced value."""

    signature = inspect.signature(twin)

    @functools.wraps(function)
    def routed(*args, **kwargs):
        if top_trace(args, kwargs) is not None:
            try:
                signature.bind(*args, **kwargs)
            except TypeError:  # an argument of a newer scipy: scipy's own decides
                return function(*args, **kwargs)
            result = twin(*args, **kwargs)
            if result is not NotImplemented:
                return result
        return function(*args, **kwargs)  # plain values, or options scipy alone handles

    return routed
