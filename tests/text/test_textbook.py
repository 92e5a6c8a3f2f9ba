"""Matrix forms as the Matrix Cookbook writes them, each checked against its closed form.

The vec convention stacks columns, so vec(A X B) = (Bᵀ ⊗ A) vec X; a gradient of a
scalar has its argument's shape.
"""

import numpy as np
import pytest

import tensordiff as td

rng = np.random.default_rng(11)
A, B = rng.normal(size=(3, 3)), rng.normal(size=(3, 3))
X = rng.normal(size=(3, 3)) + 3.0 * np.eye(3)
W, x, u = rng.normal(size=(3, 4)), rng.normal(size=4), rng.normal(size=2)


def _vec(J) -> np.ndarray:
    n_out = len(J.out_indices)
    if n_out == 0:
        return np.asarray(J)
    return np.asarray(J).reshape(-1, int(np.prod(J.shape[n_out:])), order="F")


@pytest.mark.parametrize(
    "f, arg, form, closed",
    [
        (lambda X: A @ X @ B, X, "∂vec f/∂vec X = Bᵀ ⊗ A", lambda: np.kron(B.T, A)),
        (lambda X: np.trace(A @ X @ B), X, "∂f/∂X = Aᵀ Bᵀ", lambda: A.T @ B.T),
        (
            lambda X: np.linalg.inv(X),
            X,
            "∂vec f/∂vec X = −X⁻ᵀ ⊗ X⁻¹",
            lambda: -np.kron(np.linalg.inv(X).T, np.linalg.inv(X)),
        ),
        (lambda X: np.trace(X.T @ X), X, "∂f/∂X = 2 X", lambda: 2 * X),
        (lambda X: np.linalg.slogdet(X)[1], X, "∂f/∂X = X⁻ᵀ", lambda: np.linalg.inv(X).T),
        (lambda v: np.outer(v, u), x, "∂vec f/∂v = u ⊗ I₄", lambda: np.kron(u[:, None], np.eye(4))),
        (
            lambda W: np.sum(np.tanh(W @ x)),
            W,
            "∂f/∂W = (1 − tanh²(W x)) xᵀ",
            lambda: np.outer(1 - np.tanh(W @ x) ** 2, x),
        ),
    ],
)
def test_cookbook_matrix_forms(f, arg, form, closed):
    e = td.explain(f)(arg)
    assert e.matrix == form
    np.testing.assert_allclose(_vec(e.jacobian), closed(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize(
    "f, arg, formula",
    [
        (lambda X: np.trace(X.T @ X), X, "∂f/∂X[i,j] = 2 X[i,j]"),
        (lambda v: A.T @ v, x[:3], "∂f[i]/∂v[j] = A[j,i]"),
        (lambda v: np.sum(np.where(v > 0, v, 0.1 * v)), x, "∂f/∂v[i] = (g₁[i] + 0.1 g₂[i])"),
        (lambda W: np.sum((W @ x - 1.0) ** 2), W, "∂f/∂W[i,j] = 2 (W x − 1)[i] x[j]"),
    ],
)
def test_numbers_stand_in_front_and_transposes_are_entries(f, arg, formula):
    printed = td.jacobian(f)(arg).formula.partition(", where ")[0]
    assert printed == formula
