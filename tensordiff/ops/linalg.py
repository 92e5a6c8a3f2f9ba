"""Linear algebra: inv, det, slogdet, solve, norm, kron, cholesky, eigh, eigvalsh, eig and
eigvals (real spectra), svd (singular values), pinv, matrix_power.

Each local Jacobian is written in index notation with
:func:`tensordiff.ops.jacobians.index_term` and built from traced values, so
second derivatives work. Conventions follow JAX:

* ``cholesky`` and ``eigh`` read a symmetric matrix, and their derivatives are
  taken along symmetric perturbations (``(dA + dAᵀ)/2``). NumPy itself reads
  only one triangle, so finite differences of NumPy's functions along a
  non-symmetric direction differ; along symmetric ones they agree.
* Eigenvector derivatives need distinct eigenvalues; with a repeated
  eigenvalue their entries are infinite or NaN, as in JAX.
* ``eig`` and ``eigvals`` of a general real matrix are differentiated where its spectrum
  is real (NumPy then returns real arrays): ``∂λ[k]/∂A[i,j] = V⁻¹[k,i] V[j,k]``, and the
  unit eigenvectors' derivative keeps their norm; a complex spectrum is refused (eagerly,
  and by a ``td.jit`` replay, whose step checks the dtype it recorded).
* ``det`` is differentiable everywhere: its derivative is the cofactor matrix
  (the transposed adjugate), computed from an SVD, so a singular matrix is no
  special case. ``slogdet``'s is the cofactor matrix over ``det``: infinite or
  NaN at a singular matrix, as in JAX.
* Singular vectors (``svd(A)``, thin) follow JAX's rule, which needs distinct singular
  values (nonzero ones for a non-square matrix); the full ``U`` or ``V`` of a
  non-square matrix is refused (its completion is arbitrary).
* Singular values (``svd(A, compute_uv=False)``, ``svdvals``, ``norm(A, 2)``,
  ``norm(A, 'nuc')``) have ``∂s[k]/∂A = u_k v_kᵀ``; at a repeated singular
  value that pair is one choice among many (the derivative of a sum over the
  repeated values, such as the nuclear norm, does not depend on it). Their
  second derivatives need distinct, nonzero singular values.
* ``pinv`` is differentiated at constant rank (the Golub–Pereyra formula).
* A singular matrix given to ``inv`` or ``solve`` raises
  :class:`SingularMatrixError`, a ``numpy.linalg.LinAlgError``.
"""

import numpy as np

from tensordiff.core.templates import defined, grouped, quantity
from tensordiff.errors import ShapeError, TensorDiffError, UnsupportedOperationError
from tensordiff.ops import jacobians
from tensordiff.ops.arguments import letters, normalize_axes
from tensordiff.trace.registry import implements
from tensordiff.trace.tape import Tape
from tensordiff.trace.traced import (
    Traced,
    define_constant,
    expressions,
    keep_call,
    named,
    numbers_of,
    raw,
    record,
    valued,
)

__all__ = ["SingularMatrixError"]

# A matrix at most this size has its cofactors written as determinants of minors when
# they must be differentiated again (n² minors of size (n−1)²: fine for small n).
_MINORS_UP_TO = 8
# A matrix whose condition number is below this has its cofactors written as det(A) A⁻ᵀ
# when they are differentiated again (relative error about cond · 2⁻⁵² ≈ 2e-10 at most);
# one closer to singular keeps the minors, exact at a singular matrix.
_INVERTIBLE_BELOW = 1e6


class SingularMatrixError(TensorDiffError, np.linalg.LinAlgError):
    """A singular matrix given to ``inv`` or ``solve`` (a ``numpy.linalg.LinAlgError``)."""


def _numpy(name: str, function, *args, **kwargs):
    """``function(*args)``, NumPy's LinAlgError raised as ours: one that names the call and
    that the trace does not mistake for a shape error."""
    try:
        return function(*args, **kwargs)
    except np.linalg.LinAlgError as error:
        raise SingularMatrixError(f"numpy.linalg.{name}: {error}") from error


def _differentiated_again(A) -> bool:
    """Whether ``A`` is traced by an enclosing derivative (not by td.jit's tape, which
    records any NumPy call): then factors must be built from rules, not from NumPy."""
    return type(A) is Traced and not isinstance(A._trace, Tape)


def _square(name: str, a) -> tuple[int, ...]:
    shape = np.shape(raw(a))
    if len(shape) < 2 or shape[-1] != shape[-2]:
        raise ShapeError(f"numpy.linalg.{name} needs square matrices (..., n, n), got {shape}")
    return shape


def _batch(shape) -> str:
    """Letters for the batch axes of a stack of matrices (``...`` in the formulas)."""
    return letters(len(shape) - 2, "ijklmnpqrstabcd")


@implements(np.linalg.inv)
def inv(a):
    shape = _square("inv", a)
    Y = _numpy("inv", np.linalg.inv, raw(a))
    B = _batch(shape)
    y = grouped(expressions([a])[0]) + "⁻¹"

    def jacobian(_):  # ∂Y[k,l]/∂A[i,j] = −Y[k,i] Y[j,l]
        return jacobians.index_term(
            B + "kl", B + "ij", [(B + "ki", -Y, f"−{y}"), (B + "jl", Y, y)], shape, shape
        )

    return record("inv", Y, [a], jacobian, "{g0}⁻¹")


@implements(np.linalg.det)
def det(a):
    shape = _square("det", a)
    A = raw(a)  # taken now: raw() depends on the call being served
    value = np.linalg.det(A)
    B = _batch(shape)
    a_name = grouped(expressions([a])[0])

    def jacobian(_):  # ∂det A/∂A[i,j] = cof(A)[i,j] (= det A · A⁻¹[j,i] when invertible)
        factors = [(B + "ij", _cofactors(A), f"cof({a_name})")]
        return jacobians.index_term(B, B + "ij", factors, np.shape(value), shape)

    return keep_call(record("det", value, [a], jacobian, "det {g0}"), [a])


@implements(np.linalg.slogdet)
def slogdet(a):
    sign, logabsdet = np.linalg.slogdet(raw(a))
    traced_log = log_det(a, logabsdet, "log|det {g0}|")
    result = type(np.linalg.slogdet(np.eye(1)))  # NumPy's named tuple (or tuple on 1.26)
    return result(sign, traced_log) if result is not tuple else (sign, traced_log)


def log_det(a, value, template: str):
    """``value``, the logarithm of ``det a`` (or of its absolute value), recorded with the
    derivative ``A⁻ᵀ`` (``slogdet``, and ``np.log(np.linalg.det(A))`` as a composite)."""
    shape = _square("slogdet", a)
    A = raw(a)
    B = _batch(shape)
    inverse = grouped(expressions([a])[0]) + "⁻¹"

    def jacobian(_):  # ∂log|det A|/∂A[i,j] = cof(A)[i,j] / det A = A⁻¹[j,i]
        if _differentiated_again(A) and _invertible(A):
            # A⁻ᵀ through inv's own rule: the second derivative reads as the textbook
            # −A⁻¹[j,k] A⁻¹[l,i], not as the cofactors' minors over the determinant
            factor = np.swapaxes(np.linalg.inv(A), -1, -2)
        else:
            with np.errstate(divide="ignore", invalid="ignore"):
                factor = _cofactors(A) / _per_matrix(np.linalg.det(A))
        return jacobians.index_term(
            B, B + "ij", [(B + "ij", factor, inverse + "ᵀ")], np.shape(value), shape
        )

    return record("slogdet", value, [a], jacobian, template)


def _invertible(A) -> bool:
    """Whether every matrix of the stack ``A`` is far enough from singular to be inverted
    without losing the cofactors to rounding (its numbers, at any level)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return bool(np.all(np.linalg.cond(numbers_of(A)) < _INVERTIBLE_BELOW))


def _per_matrix(scalars):
    """One number per matrix of a stack, shaped to broadcast against the stack's matrices
    (a single matrix's number as it is: a traced one prints without a reshape)."""
    return scalars if np.ndim(scalars) == 0 else np.expand_dims(scalars, (-1, -2))


def _cofactors(A):
    """The cofactor matrix ``cof(A)[i,j] = (−1)^(i+j) det(A without row i and column j)``.

    From an SVD ``A = U diag(s) Vᵀ``: ``cof(A) = det U det V · U diag(Π_(j≠k) s_j) Vᵀ``,
    which needs no inverse, so it holds at singular matrices too. When ``A`` is to be
    differentiated again the same matrix is written with traceable rules: ``det(A) A⁻ᵀ``
    (whose derivatives print as the textbook's), or at a small singular matrix the
    determinants of the minors.
    """
    n = np.shape(A)[-1]
    if n == 1:
        return np.ones(np.shape(A))
    if _differentiated_again(A):
        if n <= _MINORS_UP_TO and not _invertible(A):
            return _cofactors_from_minors(A, n)  # no inverse to write them with
        return _per_matrix(np.linalg.det(A)) * np.swapaxes(np.linalg.inv(A), -1, -2)
    U, s, Vh = np.linalg.svd(A)
    others = np.prod(np.where(np.eye(n, dtype=bool), 1.0, np.expand_dims(s, -2)), axis=-1)
    orientation = np.linalg.det(U) * np.linalg.det(Vh)
    return np.expand_dims(orientation, (-1, -2)) * ((U * np.expand_dims(others, -2)) @ Vh)


def _cofactors_from_minors(A, n: int):
    keep = np.array([[r for r in range(n) if r != i] for i in range(n)])  # (n, n − 1)
    picked = A[..., keep[:, None, :, None], keep[None, :, None, :]]  # (..., n, n, n−1, n−1)
    # the same values under a name a student can read: the indexing printed as
    # x[..., [[[[1], [2]]], …]], which nobody can
    # (recorded here, outside any rule: the value at its own trace's level is its .value)
    (a_name,) = expressions([A])
    shape = numbers_of(picked).shape
    minors = record(
        "minors",
        picked.value,
        [picked],
        lambda _: jacobians.elementwise(None, shape, shape),
        expr=quantity("M", _MINORS_MEANING.format(grouped(a_name))),
    )
    signs = (-1.0) ** np.add.outer(np.arange(n), np.arange(n))
    define_constant(signs, "sgn", _SIGNS_MEANING)  # a symbol no legend defined was K1
    return signs * np.linalg.det(minors)


_SIGNS_MEANING = "the signs of the cofactors, (−1)^(i+j) in row i, column j"
_MINORS_MEANING = "the minors of {0}: the one in row i, column j is {0} without row i and column j"


@implements(np.linalg.solve)
def solve(a, b):
    """``x = A⁻¹ b`` for stacks of matrices too. As in NumPy 2, ``b`` is one vector if it
    has one dimension, else a stack of matrices (``(..., n, k)``); batch axes broadcast."""
    a_shape, b_shape = np.shape(raw(a)), np.shape(raw(b))
    _square("solve", a)
    vector = len(b_shape) == 1
    rows = b_shape[-1] if vector else b_shape[-2] if len(b_shape) > 1 else None
    if rows != a_shape[-1]:
        raise ShapeError(
            f"numpy.linalg.solve: A has shape {a_shape} and b has shape {b_shape}; b needs"
            f" {a_shape[-1]} rows"
        )
    A = raw(a)
    x = _numpy("solve", np.linalg.solve, A, raw(b))
    x_shape = np.shape(x)
    cols = "" if vector else "m"
    batch = _batch(x_shape + (1,) if vector else x_shape)
    a_batch = batch[len(batch) - (len(a_shape) - 2) :]
    b_batch = "" if vector else batch[len(batch) - (len(b_shape) - 2) :]
    a_name, b_name = (grouped(e) for e in expressions([a, b]))
    x_name = f"({a_name}⁻¹ {b_name})"
    out = batch + "k" + cols

    def jacobian(position):
        Ainv = np.linalg.inv(A)
        if position == 0:  # ∂x[k,m]/∂A[i,j] = −A⁻¹[k,i] x[j,m]
            factors = [(a_batch + "ki", -Ainv, f"−{a_name}⁻¹"), (batch + "j" + cols, x, x_name)]
            return jacobians.index_term(out, a_batch + "ij", factors, x_shape, a_shape)
        # ∂x[k,m]/∂b[j,m] = A⁻¹[k,j]
        factors = [(a_batch + "kj", Ainv, f"{a_name}⁻¹")]
        return jacobians.index_term(out, b_batch + "j" + cols, factors, x_shape, b_shape)

    return record("solve", x, [a, b], jacobian, "{g0}⁻¹ {g1}")


@implements(np.linalg.norm)
def norm(x, ord=None, axis=None, keepdims=False):
    ndim = np.ndim(raw(x))
    vector = (axis is None and ndim == 1) or isinstance(axis, (int, np.integer))
    if axis is not None and not vector and len(axis) == 1:
        vector, axis = True, axis[0]
    if ord is None or ord == "fro" and not vector or ord == 2 and vector:
        return np.sqrt(np.sum(x * x, axis=axis, keepdims=keepdims))
    if vector:
        return _vector_norm(x, ord, axis, keepdims)
    if axis is None and ndim != 2:
        raise ShapeError(f"numpy.linalg.norm: ord={ord!r} needs a matrix, got {ndim} dimensions")
    rows, cols = normalize_axes((0, 1) if axis is None else axis, ndim, "linalg.norm")
    result = _matrix_norm(np.moveaxis(x, (rows, cols), (-2, -1)), ord)
    return np.expand_dims(result, (rows, cols)) if keepdims else result


def _vector_norm(x, ord, axis, keepdims):
    if ord == np.inf:
        return np.max(np.abs(x), axis=axis, keepdims=keepdims)
    if ord == -np.inf:
        return np.min(np.abs(x), axis=axis, keepdims=keepdims)
    if ord == 1:
        return np.sum(np.abs(x), axis=axis, keepdims=keepdims)
    if isinstance(ord, str) or ord == 0:
        raise UnsupportedOperationError.for_function(
            "linalg.norm", f"ord={ord!r} on vectors (the count of nonzeros has no derivative)"
        )
    return np.sum(np.abs(x) ** ord, axis=axis, keepdims=keepdims) ** (1.0 / ord)


def _matrix_norm(m, ord):
    """A norm of the matrices on the last two axes of ``m``."""
    if ord in (2, -2):
        singular = svdvals(m)
        # max/min rather than the first/last entry: tied singular values share the
        # derivative equally, as in JAX
        return np.max(singular, axis=-1) if ord == 2 else np.min(singular, axis=-1)
    if ord == "nuc":
        return np.sum(svdvals(m), axis=-1)
    if ord in (1, -1, np.inf, -np.inf):
        sums = np.sum(np.abs(m), axis=-2 if ord in (1, -1) else -1)
        return np.max(sums, axis=-1) if ord > 0 else np.min(sums, axis=-1)
    raise UnsupportedOperationError.for_function(
        "linalg.norm", f"ord={ord!r} on matrices; supported: None, 'fro', 'nuc', ±1, ±2, ±inf"
    )


@implements(np.kron)
def kron(a, b):
    a_shape, b_shape = np.shape(raw(a)), np.shape(raw(b))
    ndim = max(len(a_shape), len(b_shape))
    a_full = (1,) * (ndim - len(a_shape)) + a_shape
    b_full = (1,) * (ndim - len(b_shape)) + b_shape
    left, right = letters(ndim), letters(ndim, letters(ndim))
    spec = f"{left},{right}->" + "".join(p + q for p, q in zip(left, right, strict=True))
    blocks = np.einsum(spec, np.reshape(a, a_full), np.reshape(b, b_full))
    return np.reshape(blocks, [p * q for p, q in zip(a_full, b_full, strict=True)])


def _symmetric_perturbation(
    out: str, shared: list, pair: tuple[str, str], M, name: str, shape, index_first=False
):
    """``Π shared · ½(M[p,i] M[q,j] + M[p,j] M[q,i])``: a rule for a symmetric argument.

    With ``index_first`` the factors are ``M[i,p] M[j,q]`` instead. A stack of
    matrices has its batch letters (:func:`_batch`) in front of every index.

    Cholesky and eigh read a symmetric matrix; as in JAX, their derivatives are
    taken along ``(dA + dAᵀ)/2``, which gives two terms with i and j swapped.
    """
    p, q = pair
    B = _batch(shape)

    def axes(summed: str, index: str) -> str:
        return B + (index + summed if index_first else summed + index)

    return tuple(
        jacobians.index_term(
            B + out,
            B + "ij",
            shared + [(axes(p, i), M, name), (axes(q, j), M, name)],
            shape,
            shape,
            0.5,
        )
        for i, j in (("i", "j"), ("j", "i"))
    )


_PHI = defined("Φ", "the lower triangle of ones, ½ on the diagonal")


@implements(np.linalg.cholesky)
def cholesky(a, upper=False):
    shape = _square("cholesky", a)
    if upper:
        return np.swapaxes(np.linalg.cholesky(a), -1, -2)
    L = np.linalg.cholesky(raw(a))
    n, B = shape[-1], _batch(shape)
    # Φ keeps the strict lower triangle and halves the diagonal.
    phi = np.tril(np.ones((n, n))) - 0.5 * np.eye(n)
    (e,) = expressions([a])

    def jacobian(_):
        # ∂L[a,b]/∂A[i,j] = Σ_c L[a,c] Φ[c,b] ½(L⁻¹[c,i] L⁻¹[b,j] + L⁻¹[c,j] L⁻¹[b,i])
        Linv = np.linalg.inv(L)
        shared = [(B + "ac", L, defined("L", f"cholesky({e})")), ("cb", phi, _PHI)]
        inverse = defined("L⁻¹", f"cholesky({e})⁻¹")
        return _symmetric_perturbation("ab", shared, ("c", "b"), Linv, inverse, shape)

    return record("cholesky", L, [a], jacobian, "chol({0})")


@implements(np.linalg.eigh)
def eigh(a, UPLO="L"):
    shape = _square("eigh", a)
    w, V = np.linalg.eigh(raw(a), UPLO=UPLO)
    n, B = shape[-1], _batch(shape)
    (e,) = expressions([a])
    vectors_name = defined("V", f"eigvecs({e})")
    gaps_name = defined("F", f"1 / (λ[l] − λ[k]) off the diagonal, 0 on it, λ = eigvals({e})")

    def eigenvalues(_):  # ∂w[k]/∂A[i,j] = V[i,k] V[j,k]
        factors = [(B + "ik", V, vectors_name), (B + "jk", V, vectors_name)]
        return jacobians.index_term(B + "k", B + "ij", factors, np.shape(w), shape)

    def eigenvectors(_):
        # ∂V[a,l]/∂A[i,j] = Σ_k V[a,k] F[k,l] ½(V[i,k] V[j,l] + V[j,k] V[i,l]),
        # F[k,l] = 1/(w[l] − w[k]) off the diagonal, 0 on it (two wheres: no 0·∞)
        same = np.eye(n, dtype=bool)
        gaps = np.expand_dims(w, -2) - np.expand_dims(w, -1)
        F = np.where(same, 0.0, 1.0 / np.where(same, 1.0, gaps))
        shared = [(B + "ak", V, vectors_name), (B + "kl", F, gaps_name)]
        return _symmetric_perturbation(
            "al", shared, ("k", "l"), V, vectors_name, shape, index_first=True
        )

    result = type(np.linalg.eigh(np.eye(1)))
    values = record("eigh", w, [a], eigenvalues, "eigvals({0})")
    vectors = record("eigh", V, [a], eigenvectors, "eigvecs({0})")
    return result(values, vectors) if result is not tuple else (values, vectors)


@implements(np.linalg.eigvalsh)
def eigvalsh(a, UPLO="L"):
    return np.linalg.eigh(a, UPLO=UPLO)[0]


@implements(np.linalg.eig)
def eig(a, name="eig"):
    """Eigenvalues and unit eigenvectors of real matrices whose spectra are real (NumPy
    returns real arrays then: symmetric matrices, triangular ones, …); a complex spectrum
    is refused, as tensordiff differentiates real arrays."""
    shape = _square(name, a)
    w, V = np.linalg.eig(raw(a))
    if w.dtype.kind == "c":
        raise UnsupportedOperationError.for_function(
            f"linalg.{name}",
            "this matrix has complex eigenvalues, and tensordiff differentiates real arrays"
            " (a symmetric matrix: use eigh)",
        )
    n, B = shape[-1], _batch(shape)
    (e,) = expressions([a])
    vectors_name = defined("V", f"eigvecs({e})")
    inverse_name = defined("V⁻¹", f"eigvecs({e})⁻¹")

    def eigenvalues(_):  # ∂w[k]/∂A[i,j] = V⁻¹[k,i] V[j,k]
        factors = [(B + "ki", np.linalg.inv(V), inverse_name), (B + "jk", V, vectors_name)]
        return jacobians.index_term(B + "k", B + "ij", factors, np.shape(w), shape)

    def eigenvectors(_):
        # ∂V[a,k]/∂A[i,j] = Σ_m R[a,m,k] V⁻¹[m,i] V[j,k]: the eigenvector's change along the
        # others, R[a,m,k] = (V[a,m] − V[a,k] (VᵀV)[k,m]) F[m,k], F[m,k] = 1/(w[k] − w[m])
        # off the diagonal and 0 on it, with its component along itself taken out (unit norm)
        same = np.eye(n, dtype=bool)
        gaps = np.expand_dims(w, -2) - np.expand_dims(w, -1)  # [m,k] = w[k] − w[m]
        F = np.where(same, 0.0, 1.0 / np.where(same, 1.0, gaps))
        overlaps = np.matmul(np.swapaxes(V, -1, -2), V)  # (VᵀV)[k,m]
        along = np.expand_dims(V, -1) * np.expand_dims(overlaps, -3)  # V[a,k] (VᵀV)[k,m]
        R = (np.expand_dims(V, -1) - np.swapaxes(along, -1, -2)) * np.expand_dims(F, -3)
        name = defined(
            "R", f"(V[a,m] − V[a,k] (VᵀV)[k,m]) / (λ[k] − λ[m]), 0 at m = k, V = {vectors_name}"
        )
        factors = [
            (B + "amk", R, name),
            (B + "mi", np.linalg.inv(V), inverse_name),
            (B + "jk", V, vectors_name),
        ]
        return jacobians.index_term(B + "ak", B + "ij", factors, np.shape(V), shape)

    result = type(np.linalg.eig(np.eye(1)))
    values = record("eig", w, [a], eigenvalues, "eigvals({0})")
    vectors = record("eig", V, [a], eigenvectors, "eigvecs({0})")
    return result(values, vectors) if result is not tuple else (values, vectors)


@implements(np.linalg.eigvals)
def eigvals(a):
    """``eig``'s eigenvalues (NumPy's eigvals gives the same numbers, by the same LAPACK
    reduction)."""
    return eig(a, "eigvals")[0]


@implements(np.linalg.svd)
def svd(a, full_matrices=True, compute_uv=True, hermitian=False):
    """The singular values, or ``U, S, Vh`` (thin; full only for square matrices, where
    they are the same, as JAX differentiates them)."""
    if hermitian:
        raise UnsupportedOperationError.for_function("linalg.svd", "hermitian=True")
    if not compute_uv:
        return svdvals(a)
    shape = np.shape(raw(a))
    if len(shape) < 2:
        raise ShapeError(f"numpy.linalg.svd needs matrices (..., m, n), got shape {shape}")
    if full_matrices and shape[-1] != shape[-2]:
        raise UnsupportedOperationError.for_function(
            "linalg.svd",
            "the full U or V of a non-square matrix is not determined by it (its extra"
            " columns are any orthonormal completion); write full_matrices=False",
        )
    return _svd_with_vectors(a, shape)


def _svd_with_vectors(a, shape):
    """``A = U diag(s) Vh`` with distinct singular values (as JAX):
    with ``dS = Uᵀ dA V`` and ``F[c,q] = 1/(s_q² − s_c²)`` (0 on the diagonal),
    ``dU = U (F ⊙ (dS diag s + diag s dSᵀ)) + (I − U Uᵀ) dA V diag(1/s)`` and
    ``dV = V (F ⊙ (diag s dS + dSᵀ diag s)) + (I − V Vᵀ) dAᵀ U diag(1/s)``
    (the last terms only for tall, resp. wide, matrices)."""
    A = raw(a)
    U, s, Vh = np.linalg.svd(A, full_matrices=False)
    m, n = shape[-2:]
    B = _batch(shape)
    a_name = grouped(expressions([a])[0])

    def values(_):  # ∂s[k]/∂A[i,j] = U[i,k] V[j,k]
        V = np.swapaxes(Vh, -1, -2)
        factors = [(B + "ik", U, "U"), (B + "jk", V, "V")]
        return jacobians.index_term(B + "k", B + "ij", factors, np.shape(s), shape)

    def gaps():
        same = np.eye(np.shape(s)[-1], dtype=bool)
        squares = s * s
        differences = np.expand_dims(squares, -2) - np.expand_dims(squares, -1)  # [c, q]
        return np.where(same, 0.0, 1.0 / np.where(same, 1.0, differences))

    def left(_):
        V = np.swapaxes(Vh, -1, -2)
        F = gaps()
        terms = [
            [
                (B + "pc", U, "U"),
                (B + "cq", F * np.expand_dims(s, -2), "F diag(s)"),
                (B + "ic", U, "U"),
                (B + "jq", V, "V"),
            ],
            [
                (B + "pc", U, "U"),
                (B + "cq", F * np.expand_dims(s, -1), "diag(s) F"),
                (B + "iq", U, "U"),
                (B + "jc", V, "V"),
            ],
        ]
        if m > n:
            rest = np.eye(m) - U @ np.swapaxes(U, -1, -2)
            terms.append(
                [(B + "pi", rest, "(I − U Uᵀ)"), (B + "jq", V / np.expand_dims(s, -2), "V / s")]
            )
        return tuple(
            jacobians.index_term(B + "pq", B + "ij", factors, np.shape(U), shape)
            for factors in terms
        )

    def right(_):  # ∂Vh[q,p]/∂A[i,j], Vh = Vᵀ
        V = np.swapaxes(Vh, -1, -2)
        F = gaps()
        terms = [
            [
                (B + "pc", V, "V"),
                (B + "cq", F * np.expand_dims(s, -1), "diag(s) F"),
                (B + "ic", U, "U"),
                (B + "jq", V, "V"),
            ],
            [
                (B + "pc", V, "V"),
                (B + "cq", F * np.expand_dims(s, -2), "F diag(s)"),
                (B + "iq", U, "U"),
                (B + "jc", V, "V"),
            ],
        ]
        if n > m:
            rest = np.eye(n) - V @ Vh
            terms.append(
                [(B + "pj", rest, "(I − V Vᵀ)"), (B + "iq", U / np.expand_dims(s, -2), "U / s")]
            )
        return tuple(
            jacobians.index_term(B + "qp", B + "ij", factors, np.shape(Vh), shape)
            for factors in terms
        )

    result = type(np.linalg.svd(np.eye(1)))
    outputs = (
        record("svd", U, [a], left, f"U({a_name})"),
        record("svd", s, [a], values, "σ({0})"),
        record("svd", Vh, [a], right, f"Vᵀ({a_name})"),
    )
    return result(*outputs) if result is not tuple else outputs


def svdvals(a):
    """``s`` in descending order, with ``∂s[k]/∂A[i,j] = U[i,k] V[j,k]``."""
    shape = np.shape(raw(a))
    if len(shape) < 2:
        raise ShapeError(f"numpy.linalg.svd needs matrices (..., m, n), got shape {shape}")
    A = raw(a)
    value = np.linalg.svd(A, compute_uv=False)
    B = _batch(shape)
    (e,) = expressions([a])

    def jacobian(_):
        U, V = _singular_vectors(A, value)
        factors = [
            (B + "ik", U, defined("U", f"the left singular vectors of {e}")),
            (B + "jk", V, defined("V", f"the right singular vectors of {e}")),
        ]
        return jacobians.index_term(B + "k", B + "ij", factors, np.shape(value), shape)

    return record("svd", value, [a], jacobian, "σ({0})")


if hasattr(np.linalg, "svdvals"):  # NumPy ≥ 2.0
    implements(np.linalg.svdvals)(svdvals)


def _singular_vectors(A, s):
    """``U`` (m, k) and ``V`` (n, k) of the thin SVD, paired as ``A v_k = s_k u_k``.

    To be differentiated again they come from ``eigh`` of the smaller Gram matrix
    (``AᵀA = V diag(s²) Vᵀ``, then ``U = A V / s``), whose rule is traceable.
    """
    if not _differentiated_again(A):
        U, _, Vh = np.linalg.svd(A, full_matrices=False)
        return U, np.swapaxes(Vh, -1, -2)
    m, n = np.shape(A)[-2:]
    At = np.swapaxes(A, -1, -2)
    wide = m < n
    _, vectors = np.linalg.eigh(A @ At if wide else At @ A)
    first = np.flip(vectors, axis=-1)  # eigh sorts ascending, svd descending
    other = ((At if wide else A) @ first) / np.expand_dims(s, -2)
    return (first, other) if wide else (other, first)


@implements(np.linalg.pinv)
def pinv(a, rcond=None, hermitian=False, *, rtol=None):
    """``P = A⁺`` at constant rank (Golub–Pereyra):
    ``∂P[k,l]/∂A[i,j] = −P[k,i] P[j,l] + (P Pᵀ)[k,j] (I − A P)[i,l] + (I − P A)[k,j] (Pᵀ P)[i,l]``.
    """
    shape = np.shape(raw(a))
    if len(shape) < 2:
        raise ShapeError(f"numpy.linalg.pinv needs matrices (..., m, n), got shape {shape}")
    options = {"hermitian": hermitian}
    if rcond is not None:
        options["rcond"] = rcond
    if rtol is not None:
        options["rtol"] = rtol
    A = raw(a)
    P = np.linalg.pinv(A, **options)
    B = _batch(shape)
    name = grouped(expressions([a])[0]) + "⁺"

    def jacobian(_):
        Pt = np.swapaxes(P, -1, -2)
        left = np.eye(shape[-2]) - A @ P  # (m, m): I − A P
        right = np.eye(shape[-1]) - P @ A  # (n, n): I − P A
        terms = [
            [(B + "ki", -P, f"−{name}"), (B + "jl", P, name)],
            [(B + "kj", P @ Pt, f"{name}{name}ᵀ"), (B + "il", left, f"(I − A{name})")],
            [(B + "kj", right, f"(I − {name}A)"), (B + "il", Pt @ P, f"{name}ᵀ{name}")],
        ]
        return tuple(
            jacobians.index_term(B + "kl", B + "ij", factors, np.shape(P), shape)
            for factors in terms
        )

    return record("pinv", P, [a], jacobian, "{g0}⁺")


@implements(np.linalg.matrix_power)
def matrix_power(a, n):
    """``A^n`` by repeated squaring (``inv`` first for ``n < 0``; the identity for 0)."""
    shape = _square("matrix_power", a)
    if n == 0:
        return np.zeros(shape) + np.eye(shape[-1])  # a constant
    if n < 0:
        a, n = np.linalg.inv(a), -n
    result, square = None, a
    while n:
        if n & 1:
            result = square if result is None else result @ square
        n >>= 1
        if n:
            square = square @ square
    return result


# ---- numpy.linalg's array-API names: the same rules under their own signatures -----------
@implements(np.linalg.matmul)
def linalg_matmul(x1, x2, /):
    return np.matmul(x1, x2)


@implements(np.linalg.outer)
def linalg_outer(x1, x2, /):
    if np.ndim(raw(x1)) != 1 or np.ndim(raw(x2)) != 1:
        raise ShapeError("numpy.linalg.outer needs two 1-dimensional arrays")
    return np.outer(x1, x2)


@implements(np.linalg.tensordot)
def linalg_tensordot(x1, x2, /, *, axes=2):
    return np.tensordot(x1, x2, axes=axes)


@implements(np.linalg.vecdot)
def linalg_vecdot(x1, x2, /, *, axis=-1):
    return np.sum(x1 * x2, axis=axis)  # real arrays: no conjugate


@implements(np.linalg.cross)
def linalg_cross(x1, x2, /, *, axis=-1):
    return np.cross(x1, x2, axis=axis)


@implements(np.linalg.trace)
def linalg_trace(x, /, *, offset=0, dtype=None):
    if dtype is not None:
        raise UnsupportedOperationError.for_function("linalg.trace", "dtype= on a traced value")
    return np.trace(x, offset, axis1=-2, axis2=-1)


@implements(np.linalg.diagonal)
def linalg_diagonal(x, /, *, offset=0):
    return np.diagonal(x, offset, axis1=-2, axis2=-1)


@implements(np.linalg.matrix_transpose)
def linalg_matrix_transpose(x, /):
    return np.matrix_transpose(x)


@implements(np.linalg.matrix_norm)
def matrix_norm(x, /, *, keepdims=False, ord="fro"):
    return np.linalg.norm(x, ord, axis=(-2, -1), keepdims=keepdims)


@implements(np.linalg.vector_norm)
def vector_norm(x, /, *, axis=None, keepdims=False, ord=2):
    if axis is None:
        result = np.linalg.norm(np.ravel(x), ord)
        return np.reshape(result, (1,) * np.ndim(raw(x))) if keepdims else result
    if isinstance(axis, tuple) and len(axis) > 1:  # several axes: one vector of them all
        ndim = np.ndim(raw(x))
        axes = normalize_axes(axis, ndim, "linalg.vector_norm")
        moved = np.moveaxis(x, axes, range(ndim - len(axes), ndim))
        flat = np.reshape(moved, np.shape(raw(moved))[: ndim - len(axes)] + (-1,))
        result = np.linalg.norm(flat, ord, axis=-1)
        return np.expand_dims(result, axes) if keepdims else result
    return np.linalg.norm(x, ord, axis=axis, keepdims=keepdims)


@implements(np.linalg.multi_dot)
def multi_dot(arrays, *, out=None):
    """``A @ B @ C ...`` left to right (a 1-d first or last array is a row, a column)."""
    if out is not None:
        raise UnsupportedOperationError.for_function("linalg.multi_dot", "out= on traced values")
    result = arrays[0]
    for array in arrays[1:]:
        result = np.dot(result, array)
    return result


# ---- factorisations and solutions whose derivative is that of a formula --------------------
_SIGNS = defined("D", "the signs of the diagonal of R as LAPACK gives it")


@implements(np.linalg.qr)
def qr(a, mode="reduced"):
    """``A = Q R`` with ``R`` upper triangular, for ``A`` of full rank. The derivative is
    that of ``R = D cholesky(AᵀA)ᵀ``, ``Q = A R⁻¹`` (``D``: the signs of LAPACK's diagonal
    of ``R``, constants), the unique factorisation with that sign convention; the
    numbers are NumPy's."""
    shape = np.shape(raw(a))
    if len(shape) < 2:
        raise ShapeError(f"numpy.linalg.qr needs matrices (..., m, n), got shape {shape}")
    m, n = shape[-2:]
    if mode not in ("reduced", "r", "complete") or (mode == "complete" and m > n):
        raise UnsupportedOperationError.for_function(
            "linalg.qr",
            f"mode={mode!r} is not supported on traced values (the extra columns of a complete"
            " Q are not unique); use mode='reduced' or 'r'",
        )
    Q0, R0 = _numpy("qr", np.linalg.qr, raw(a))
    diagonal = np.diagonal(R0, axis1=-2, axis2=-1)
    signs = np.sign(diagonal)[..., :, np.newaxis]  # a column
    magnitudes = np.abs(numbers_of(diagonal))
    largest = magnitudes.max(axis=-1, keepdims=True, initial=0.0)  # per matrix
    tolerance = np.finfo(magnitudes.dtype).eps * max(m, n) * largest
    if np.any(magnitudes <= tolerance):
        raise SingularMatrixError(
            "numpy.linalg.qr: the matrix does not have full rank, so its Q and R are not"
            " differentiable (not unique)"
        )
    square = a[..., :, :m] if n > m else a  # a wide A: Q and R₁ from its first m columns
    gram = np.swapaxes(square, -1, -2) @ square
    R1 = np.swapaxes(np.linalg.cholesky(gram), -1, -2) * named(signs, _SIGNS)
    Q = np.swapaxes(np.linalg.solve(np.swapaxes(R1, -1, -2), np.swapaxes(square, -1, -2)), -1, -2)
    R = R1 if n <= m else np.concatenate([R1, np.swapaxes(Q, -1, -2) @ a[..., :, m:]], axis=-1)
    R = valued(R, R0)
    return R if mode == "r" else (valued(Q, Q0), R)


@implements(np.linalg.lstsq)
def lstsq(a, b, rcond=None):
    """``x = A⁺ b`` (the least-squares solution of least norm), differentiated at constant
    rank as ``pinv``; the residuals ``Σ (b − A x)²`` (when NumPy gives them), the rank (a
    constant) and the singular values follow."""
    shape = np.shape(raw(a))
    if len(shape) != 2:
        raise ShapeError(f"numpy.linalg.lstsq needs a matrix a, got shape {shape}")
    m, n = shape
    solution, residuals, rank, _ = _numpy("lstsq", np.linalg.lstsq, raw(a), raw(b), rcond=rcond)
    cutoff = np.finfo(float).eps * max(m, n) if rcond is None or rcond < 0 else rcond
    x = valued(np.linalg.pinv(a, rcond=cutoff) @ b, solution)
    if np.shape(residuals) != (0,):
        squares = np.sum((b - a @ x) ** 2, axis=0)
        residuals = valued(np.reshape(squares, (-1,)), residuals)
    return x, residuals, rank, np.linalg.svd(a, compute_uv=False)


@implements(np.linalg.cond)
def cond(x, p=None):
    """``σ_max / σ_min`` (``p`` None, 2 or −2 inverts it); other norms ``‖A‖ ‖A⁻¹‖``."""
    if p in (None, 2, -2):
        s = np.linalg.svd(x, compute_uv=False)
        largest, smallest = s[..., 0], s[..., -1]
        return smallest / largest if p == -2 else largest / smallest
    _square("cond", x)
    axes = (-2, -1)
    return np.linalg.norm(x, p, axis=axes) * np.linalg.norm(np.linalg.inv(x), p, axis=axes)


@implements(np.linalg.tensorinv)
def tensorinv(a, ind=2):
    """The inverse of ``a`` read as a matrix (its first ``ind`` axes against the rest)."""
    shape = np.shape(raw(a))
    if ind <= 0:
        raise ValueError("numpy.linalg.tensorinv: ind must be a positive integer")
    rows = int(np.prod(shape[:ind]))
    inverse = np.linalg.inv(np.reshape(a, (rows, -1)))
    return np.reshape(inverse, shape[ind:] + shape[:ind])


@implements(np.linalg.tensorsolve)
def tensorsolve(a, b, axes=None):
    """``x`` with ``tensordot(a, x, x.ndim) == b``: ``solve`` of ``a`` read as a matrix."""
    ndim = np.ndim(raw(a))
    if axes is not None:
        order = [k for k in range(ndim) if k not in normalize_axes(axes, ndim, "tensorsolve")]
        a = np.transpose(a, order + list(normalize_axes(axes, ndim, "tensorsolve")))
    shape = np.shape(raw(a))[ndim - (ndim - np.ndim(raw(b))) :]
    size = int(np.prod(shape))
    if int(np.prod(np.shape(raw(a)))) != size * size:
        raise ShapeError(
            f"numpy.linalg.tensorsolve: a of shape {np.shape(raw(a))} is not square for b of"
            f" shape {np.shape(raw(b))}"
        )
    return np.reshape(np.linalg.solve(np.reshape(a, (size, size)), np.ravel(b)), shape)
