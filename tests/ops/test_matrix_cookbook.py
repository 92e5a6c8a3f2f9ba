"""The Matrix Cookbook, computed.

Each identity from Petersen & Pedersen, *The Matrix Cookbook* (edition of
2012-11-15; equation numbers of that edition) is checked against tensordiff on
non-square or non-symmetric inputs, so a lost transpose cannot pass. Matrices
that must be invertible are shifted by a multiple of the identity.
"""

import numpy as np
import pytest

import tensordiff as td

rng = np.random.default_rng(1129)
a, b, c, d = (rng.normal(size=n) for n in (3, 4, 4, 3))
A34, B43, C33 = rng.normal(size=(3, 4)), rng.normal(size=(4, 3)), rng.normal(size=(3, 3))
B44, D33, E43 = rng.normal(size=(4, 4)), rng.normal(size=(3, 3)), rng.normal(size=(4, 3))
X34 = rng.normal(size=(3, 4))  # a non-square matrix variable
X33 = rng.normal(size=(3, 3)) + 4 * np.eye(3)  # square, invertible, non-symmetric
inv, det, T, tr = np.linalg.inv, np.linalg.det, np.transpose, np.trace

# (equation, ∂f/∂X as f, the variable, the closed form as a function of the variable)
GRADIENTS = [
    ("49", lambda X: det(X), X33, lambda X: det(X) * inv(X).T),
    ("51", lambda X: det(C33 @ X @ D33), X33, lambda X: det(C33 @ X @ D33) * inv(X).T),
    ("56", lambda X: np.log(np.abs(det(X))), X33, lambda X: inv(X.T)),
    ("56-slogdet", lambda X: np.linalg.slogdet(X)[1], X33, lambda X: inv(X).T),
    ("57", lambda X: det(X @ X @ X), X33, lambda X: 3 * det(X @ X @ X) * inv(X).T),
    ("61", lambda X: d @ inv(X) @ a, X33, lambda X: -inv(X).T @ np.outer(d, a) @ inv(X).T),
    ("62", lambda X: det(inv(X)), X33, lambda X: -det(inv(X)) * inv(X).T),
    ("63", lambda X: tr(C33 @ inv(X) @ D33), X33, lambda X: -(inv(X) @ D33 @ C33 @ inv(X)).T),
    (
        "64",
        lambda X: tr(inv(X + C33 @ C33.T)),
        X33,
        lambda X: -(inv(X + C33 @ C33.T) @ inv(X + C33 @ C33.T)).T,
    ),
    ("69", lambda x: x @ c, b, lambda x: c),
    ("70", lambda X: a @ X @ b, X34, lambda X: np.outer(a, b)),
    ("71", lambda X: b @ X.T @ a, X34, lambda X: np.outer(a, b)),
    ("72", lambda X: d @ X @ d, X33, lambda X: np.outer(d, d)),
    ("77", lambda X: b @ X.T @ X @ c, X34, lambda X: X @ (np.outer(b, c) + np.outer(c, b))),
    (
        "79",
        lambda x: (A34 @ x + a) @ C33 @ (A34 @ x + d),
        b,
        lambda x: A34.T @ C33 @ (A34 @ x + d) + A34.T @ C33.T @ (A34 @ x + a),
    ),
    ("81", lambda x: x @ B44 @ x, b, lambda x: (B44 + B44.T) @ x),
    (
        "82",
        lambda X: b @ X.T @ C33 @ X @ c,
        X34,
        lambda X: C33.T @ X @ np.outer(b, c) + C33 @ X @ np.outer(c, b),
    ),
    (
        "84",
        lambda X: (X @ b + a) @ C33 @ (X @ b + a),
        X34,
        lambda X: np.outer((C33 + C33.T) @ (X @ b + a), b),
    ),
    ("100", lambda X: tr(X), X33, lambda X: np.eye(3)),
    ("101", lambda X: tr(X @ B43), X34, lambda X: B43.T),
    ("102", lambda X: tr(C33 @ X @ B43), X34, lambda X: C33.T @ B43.T),
    ("103", lambda X: tr(A34 @ X.T @ C33), X34, lambda X: C33 @ A34),
    ("104", lambda X: tr(X.T @ A34), X34, lambda X: A34),
    ("105", lambda X: tr(A34 @ X.T), X34, lambda X: A34),
    ("106", lambda X: tr(np.kron(C33, X)), X33, lambda X: tr(C33) * np.eye(3)),
    ("107", lambda X: tr(X @ X), X33, lambda X: 2 * X.T),
    ("108", lambda X: tr(X @ X @ D33), X33, lambda X: (X @ D33 + D33 @ X).T),
    ("109", lambda X: tr(X.T @ C33 @ X), X34, lambda X: C33 @ X + C33.T @ X),
    ("110", lambda X: tr(C33 @ X @ X.T), X34, lambda X: C33 @ X + C33.T @ X),
    ("111", lambda X: tr(X @ X.T @ C33), X34, lambda X: C33 @ X + C33.T @ X),
    ("112", lambda X: tr(X @ B44 @ X.T), X34, lambda X: X @ B44.T + X @ B44),
    ("113", lambda X: tr(B44 @ X.T @ X), X34, lambda X: X @ B44.T + X @ B44),
    ("114", lambda X: tr(X.T @ X @ B44), X34, lambda X: X @ B44.T + X @ B44),
    (
        "115",
        lambda X: tr(B43 @ X @ E43 @ X),
        X34,
        lambda X: B43.T @ X.T @ E43.T + E43.T @ X.T @ B43.T,
    ),
    ("116", lambda X: tr(X.T @ X), X34, lambda X: 2 * X),
    (
        "117",
        lambda X: tr(B43.T @ X.T @ C33 @ X @ B43),
        X34,
        lambda X: C33.T @ X @ B43 @ B43.T + C33 @ X @ B43 @ B43.T,
    ),
    ("118", lambda X: tr(X.T @ C33 @ X @ B44), X34, lambda X: C33 @ X @ B44 + C33.T @ X @ B44.T),
    (
        "119",
        lambda X: tr(C33 @ X @ B44 @ X.T @ D33),
        X34,
        lambda X: C33.T @ D33.T @ X @ B44.T + D33 @ C33 @ X @ B44,
    ),
    (
        "120",
        lambda X: tr((C33 @ X @ B44 + A34) @ (C33 @ X @ B44 + A34).T),
        X34,
        lambda X: 2 * C33.T @ (C33 @ X @ B44 + A34) @ B44.T,
    ),
    ("121", lambda X: tr(np.kron(X, X)), X33, lambda X: 2 * tr(X) * np.eye(3)),
    ("130", lambda X: np.linalg.norm(X) ** 2, X34, lambda X: 2 * X),
    (
        "131-vector-2-norm",
        lambda x: np.linalg.norm(x - c),
        b,
        lambda x: (x - c) / np.linalg.norm(x - c),
    ),
    ("logdet-spd", lambda X: np.log(det(X @ X.T)), X34, lambda X: 2 * inv(X @ X.T) @ X),
]


@pytest.mark.parametrize("eq, f, X, closed", GRADIENTS, ids=[g[0] for g in GRADIENTS])
def test_gradient_identity(eq, f, X, closed):
    g = td.grad(f)(X)
    assert g.shape == np.shape(X)
    np.testing.assert_allclose(np.asarray(g), closed(X), rtol=1e-9, atol=1e-10)


def test_eq60_derivative_of_the_inverse_is_an_order_4_tensor():
    # ∂(X⁻¹)[k,l]/∂X[i,j] = −X⁻¹[k,i] X⁻¹[j,l]
    J = td.jacobian(inv, out="kl", wrt="ij")(X33)
    Y = inv(X33)
    np.testing.assert_allclose(np.asarray(J), -np.einsum("ki,jl->klij", Y, Y), rtol=1e-12)


def test_eq74_75_derivatives_of_products_keep_the_delta():
    # (74) ∂(XA)[i,j]/∂X[m,n] = δ[i,m] A[n,j];  (75) ∂(XᵀA)[i,j]/∂X[m,n] = δ[i,n] A[m,j]
    J74 = td.jacobian(lambda X: X @ B43)(X34)
    np.testing.assert_allclose(np.asarray(J74), np.einsum("im,nj->ijmn", np.eye(3), B43))
    assert J74.stored_nbytes <= B43.nbytes
    J75 = td.jacobian(lambda X: X.T @ A34)(X34)
    np.testing.assert_allclose(np.asarray(J75), np.einsum("in,mj->ijmn", np.eye(4), A34))


def test_eq80_derivative_of_a_congruence():
    # ∂(XᵀBX)[k,l]/∂X[i,j] = δ[l,j] (XᵀB)[k,i] + δ[k,j] (BX)[i,l]
    J = td.jacobian(lambda X: X.T @ C33 @ X)(X34)
    I4 = np.eye(4)
    expected = np.einsum("lj,ki->klij", I4, X34.T @ C33) + np.einsum("kj,il->klij", I4, C33 @ X34)
    np.testing.assert_allclose(np.asarray(J), expected, rtol=1e-12)


# ---- second order ------------------------------------------------------------------------
def test_hessian_of_a_quadratic_form():
    # ∂²(xᵀBx)/∂x∂xᵀ = B + Bᵀ
    np.testing.assert_allclose(np.asarray(td.hessian(lambda x: x @ B44 @ x)(b)), B44 + B44.T)


def test_hessian_of_least_squares():
    # ∂²‖Ax − d‖²/∂x∂xᵀ = 2 AᵀA
    H = td.hessian(lambda x: np.sum((A34 @ x - d) ** 2))(b)
    np.testing.assert_allclose(np.asarray(H), 2 * A34.T @ A34, rtol=1e-12)


def test_hessian_of_trace_of_xtbx_with_respect_to_a_matrix():
    # ∂²Tr(XᵀCX)/∂X[i,j]∂X[k,l] = (C + Cᵀ)[i,k] δ[j,l]: an order-4 tensor
    H = td.hessian(lambda X: tr(X.T @ C33 @ X))(X34)
    np.testing.assert_allclose(np.asarray(H), np.einsum("ik,jl->ijkl", C33 + C33.T, np.eye(4)))


def test_hessian_of_log_det():
    # ∂² log det X / ∂X[i,j]∂X[k,l] = −X⁻¹[j,k] X⁻¹[l,i]
    H = td.hessian(lambda X: np.linalg.slogdet(X)[1])(X33)
    Y = inv(X33)
    expected = -np.einsum("jk,li->ijkl", Y, Y)
    np.testing.assert_allclose(np.asarray(H), (expected + expected.transpose(2, 3, 0, 1)) / 2)


def test_third_derivative_of_a_cubic_form():
    # ∂³ Σ_ijk T[i,j,k] x_i x_j x_k = the symmetrised T, times 6
    Tensor3 = rng.normal(size=(3, 3, 3))
    third = td.jacobian(td.hessian(lambda x: np.einsum("ijk,i,j,k->", Tensor3, x, x, x)))(a)
    perms = [(0, 1, 2), (0, 2, 1), (1, 0, 2), (1, 2, 0), (2, 0, 1), (2, 1, 0)]
    expected = sum(Tensor3.transpose(p) for p in perms)
    np.testing.assert_allclose(np.asarray(third), expected, rtol=1e-12)


# ---- softmax and cross-entropy ----------------------------------------------------------------
def softmax(z):
    e = np.exp(z - np.max(z))
    return e / np.sum(e)


def cross_entropy(z, label):
    return -np.log(softmax(z)[label])


def test_softmax_jacobian_is_diag_minus_outer():
    z = rng.normal(size=5)
    p = softmax(z)
    np.testing.assert_allclose(
        np.asarray(td.jacobian(softmax)(z)), np.diag(p) - np.outer(p, p), rtol=1e-12, atol=1e-15
    )


def test_cross_entropy_gradient_and_hessian():
    z, label = rng.normal(size=5), 2
    p = softmax(z)
    g = td.grad(cross_entropy)(z, label)
    np.testing.assert_allclose(np.asarray(g), p - np.eye(5)[label], rtol=1e-12, atol=1e-15)
    H = td.hessian(cross_entropy)(z, label)
    np.testing.assert_allclose(np.asarray(H), np.diag(p) - np.outer(p, p), rtol=1e-10, atol=1e-15)


def test_softmax_cross_entropy_gradient_with_respect_to_weights():
    # L = CE(softmax(W x), y): ∂L/∂W = (p − e_y) xᵀ
    W, x, label = rng.normal(size=(5, 4)), rng.normal(size=4), 3
    p = softmax(W @ x)
    g = td.grad(lambda W: cross_entropy(W @ x, label))(W)
    np.testing.assert_allclose(np.asarray(g), np.outer(p - np.eye(5)[label], x), rtol=1e-10)
