"""Linear algebra: inv, det, slogdet, solve, norm, kron, cholesky, eigh.

Each local Jacobian is written in index notation with
:func:`tensordiff.ops.jacobians.index_term` and built from traced values, so
second derivatives work. Conventions follow JAX:

* ``cholesky`` and ``eigh`` read a symmetric matrix, and their derivatives are
  taken along symmetric perturbations (``(dA + dAᵀ)/2``). NumPy itself reads
  only one triangle, so finite differences of NumPy's functions along a
  non-symmetric direction differ; along symmetric ones they agree.
* Eigenvector derivatives need distinct eigenvalues; with a repeated
  eigenvalue their entries are infinite or NaN, as in JAX.
"""

import numpy as np

from tensordiff.core.templates import grouped
from tensordiff.errors import ShapeError, UnsupportedOperationError
from tensordiff.ops import jacobians
from tensordiff.ops.arguments import letters
from tensordiff.trace.registry import implements
from tensordiff.trace.traced import expressions, raw, record

__all__: list[str] = []


def _square(name: str, a) -> tuple[int, ...]:
    shape = np.shape(raw(a))
    if len(shape) < 2 or shape[-1] != shape[-2]:
        raise ShapeError(f"numpy.linalg.{name} needs square matrices (..., n, n), got {shape}")
    return shape


def _batch(shape) -> str:
    """Letters for the batch axes of a stack of matrices (``...`` in the formulas)."""
    return letters(len(shape) - 2, "ijklmnpqrstabcd")


def _only_matrices(name: str, shape) -> None:
    if len(shape) != 2:
        raise UnsupportedOperationError.for_function(
            f"linalg.{name}", f"stacks of matrices (shape {shape}) are not supported yet"
        )


@implements(np.linalg.inv)
def inv(a):
    shape = _square("inv", a)
    Y = np.linalg.inv(raw(a))
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

    def jacobian(_):  # ∂det A/∂A[i,j] = det A · A⁻¹[j,i]
        scaled = np.expand_dims(value, (-1, -2)) * np.linalg.inv(A)
        return jacobians.index_term(
            B, B + "ij", [(B + "ji", scaled, f"det({a_name}) {a_name}⁻¹")], np.shape(value), shape
        )

    return record("det", value, [a], jacobian, "det {g0}")


@implements(np.linalg.slogdet)
def slogdet(a):
    shape = _square("slogdet", a)
    A = raw(a)
    sign, logabsdet = np.linalg.slogdet(A)
    B = _batch(shape)
    inverse = grouped(expressions([a])[0]) + "⁻¹"

    def jacobian(_):  # ∂log|det A|/∂A[i,j] = A⁻¹[j,i]
        return jacobians.index_term(
            B, B + "ij", [(B + "ji", np.linalg.inv(A), inverse)], np.shape(logabsdet), shape
        )

    result = type(np.linalg.slogdet(np.eye(1)))  # NumPy's named tuple (or tuple on 1.26)
    traced_log = record("slogdet", logabsdet, [a], jacobian, "log|det {g0}|")
    return result(sign, traced_log) if result is not tuple else (sign, traced_log)


@implements(np.linalg.solve)
def solve(a, b):
    a_shape, b_shape = np.shape(raw(a)), np.shape(raw(b))
    _square("solve", a)
    _only_matrices("solve", a_shape)
    if len(b_shape) not in (1, 2) or b_shape[0] != a_shape[0]:
        raise ShapeError(f"numpy.linalg.solve: shapes {a_shape} and {b_shape} do not fit")
    A = raw(a)
    x = np.linalg.solve(A, raw(b))
    cols = "m" if len(b_shape) == 2 else ""
    a_name, b_name = (grouped(e) for e in expressions([a, b]))
    x_name = f"({a_name}⁻¹ {b_name})"

    def jacobian(position):
        Ainv = np.linalg.inv(A)
        if position == 0:  # ∂x[k,m]/∂A[i,j] = −A⁻¹[k,i] x[j,m]
            factors = [("ki", -Ainv, f"−{a_name}⁻¹"), ("j" + cols, x, x_name)]
            return jacobians.index_term("k" + cols, "ij", factors, b_shape, a_shape)
        # ∂x[k,m]/∂b[j,m] = A⁻¹[k,j]
        return jacobians.index_term(
            "k" + cols, "j" + cols, [("kj", Ainv, f"{a_name}⁻¹")], b_shape, b_shape
        )

    return record("solve", x, [a, b], jacobian, "{g0}⁻¹ {g1}")


@implements(np.linalg.norm)
def norm(x, ord=None, axis=None, keepdims=False):
    ndim = np.ndim(raw(x))
    vector = (axis is None and ndim == 1) or isinstance(axis, (int, np.integer))
    if ord is None or ord == "fro" and not vector or ord == 2 and vector:
        return np.sqrt(np.sum(x * x, axis=axis, keepdims=keepdims))
    if vector and ord == 1:
        return np.sum(np.abs(x), axis=axis, keepdims=keepdims)
    if vector and ord == np.inf:
        return np.max(np.abs(x), axis=axis, keepdims=keepdims)
    raise UnsupportedOperationError.for_function(
        "linalg.norm",
        f"ord={ord!r} on {'vectors' if vector else 'matrices'}; supported: the 2-norm and"
        " Frobenius norm (ord=None), and ord=1, 2, inf for vectors",
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

    With ``index_first`` the factors are ``M[i,p] M[j,q]`` instead.

    Cholesky and eigh read a symmetric matrix; as in JAX, their derivatives are
    taken along ``(dA + dAᵀ)/2``, which gives two terms with i and j swapped.
    """
    p, q = pair

    def axes(summed: str, index: str) -> str:
        return index + summed if index_first else summed + index

    return tuple(
        jacobians.index_term(
            out, "ij", shared + [(axes(p, i), M, name), (axes(q, j), M, name)], shape, shape, 0.5
        )
        for i, j in (("i", "j"), ("j", "i"))
    )


@implements(np.linalg.cholesky)
def cholesky(a, upper=False):
    shape = _square("cholesky", a)
    _only_matrices("cholesky", shape)
    if upper:
        return np.swapaxes(np.linalg.cholesky(a), -1, -2)
    L = np.linalg.cholesky(raw(a))
    n = shape[0]
    # Φ keeps the strict lower triangle and halves the diagonal.
    phi = np.tril(np.ones((n, n))) - 0.5 * np.eye(n)

    def jacobian(_):
        # ∂L[a,b]/∂A[i,j] = Σ_c L[a,c] Φ[c,b] ½(L⁻¹[c,i] L⁻¹[b,j] + L⁻¹[c,j] L⁻¹[b,i])
        Linv = np.linalg.inv(L)
        shared = [("ac", L, "L"), ("cb", phi, "Φ")]
        return _symmetric_perturbation("ab", shared, ("c", "b"), Linv, "L⁻¹", shape)

    return record("cholesky", L, [a], jacobian, "chol({0})")


@implements(np.linalg.eigh)
def eigh(a, UPLO="L"):
    shape = _square("eigh", a)
    _only_matrices("eigh", shape)
    w, V = np.linalg.eigh(raw(a), UPLO=UPLO)
    n = shape[0]

    def eigenvalues(_):  # ∂w[k]/∂A[i,j] = V[i,k] V[j,k]
        return jacobians.index_term("k", "ij", [("ik", V, "V"), ("jk", V, "V")], (n,), shape)

    def eigenvectors(_):
        # ∂V[a,l]/∂A[i,j] = Σ_k V[a,k] F[k,l] ½(V[i,k] V[j,l] + V[j,k] V[i,l]),
        # F[k,l] = 1/(w[l] − w[k]) off the diagonal, 0 on it (two wheres: no 0·∞)
        same = np.eye(n, dtype=bool)
        gaps = np.expand_dims(w, 0) - np.expand_dims(w, 1)
        F = np.where(same, 0.0, 1.0 / np.where(same, 1.0, gaps))
        shared = [("ak", V, "V"), ("kl", F, "F")]
        return _symmetric_perturbation("al", shared, ("k", "l"), V, "V", shape, index_first=True)

    result = type(np.linalg.eigh(np.eye(1)))
    values = record("eigh", w, [a], eigenvalues, "eigvals({0})")
    vectors = record("eigh", V, [a], eigenvectors, "eigvecs({0})")
    return result(values, vectors) if result is not tuple else (values, vectors)
