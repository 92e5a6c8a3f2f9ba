"""np.linalg.eig and eigvals of real matrices with real spectra (symmetric, triangular,
similar to diagonal): NumPy's numbers, derivatives against central differences of NumPy's
own eig and JAX's, closed forms (Σλ = tr A, Πλ = det A, Σλ² = tr A²) to second order; a
complex spectrum refused, eagerly and when a td.jit replay meets one."""

import numpy as np
import pytest
from differences import central_differences

import tensordiff as td

rng = np.random.default_rng(11)
# real spectra that are not symmetric: similar to a diagonal matrix, and triangular
P = rng.normal(size=(4, 4)) + 3 * np.eye(4)
SIMILAR = P @ np.diag([3.0, -1.0, 0.5, 2.0]) @ np.linalg.inv(P)
TRIANGULAR = np.triu(rng.normal(size=(3, 3))) + np.diag([1.0, 2.0, 4.0])
SYMMETRIC = SIMILAR + SIMILAR.T
ROTATION = np.array([[0.0, -1.0], [1.0, 0.0]])  # eigenvalues ±i


# (a triangular matrix's eigenvalues swap places in LAPACK's order under some perturbations,
# so central differences of its unsorted eigenvalues mean nothing; it is replayed below)
MATRICES = {"similar to diagonal": SIMILAR, "symmetric": SYMMETRIC}
PARTS = {
    "eigvals": np.linalg.eigvals,
    "eig's values": lambda a: np.linalg.eig(a).eigenvalues,
    "eig's vectors": lambda a: np.linalg.eig(a)[1],
}


@pytest.mark.parametrize("matrix", list(MATRICES))
@pytest.mark.parametrize("part", list(PARTS))
def test_first_derivatives_are_numpys(matrix, part):
    f, a = PARTS[part], MATRICES[matrix]
    value, J = td.value_and_jacobian(f)(a)
    np.testing.assert_array_equal(np.asarray(value), f(a))
    np.testing.assert_allclose(np.asarray(J), central_differences(f, a), rtol=1e-6, atol=1e-7)


def test_a_stack_of_matrices():
    stack = np.stack([SIMILAR, SYMMETRIC])
    J = np.asarray(td.jacobian(np.linalg.eigvals)(stack))
    np.testing.assert_allclose(J, central_differences(np.linalg.eigvals, stack), atol=1e-7)


def test_eigenvalue_derivatives_agree_with_jax(jax):
    expected = jax.jacfwd(lambda a: jax.numpy.linalg.eigvals(a).real)(SIMILAR)
    np.testing.assert_allclose(
        np.asarray(td.jacobian(np.linalg.eigvals)(SIMILAR)), expected, rtol=1e-9, atol=1e-10
    )


def test_closed_forms_to_second_order():
    a = SIMILAR
    np.testing.assert_allclose(
        np.asarray(td.grad(lambda a: np.sum(np.linalg.eigvals(a)))(a)), np.eye(4), atol=1e-12
    )
    np.testing.assert_allclose(
        np.asarray(td.grad(lambda a: np.prod(np.linalg.eigvals(a)))(a)),
        np.linalg.det(a) * np.linalg.inv(a).T,
        rtol=1e-10,
    )
    # ∂²(tr A²)/∂A[i,j]∂A[k,l] = 2 δ[j,k] δ[i,l]
    H = np.asarray(td.hessian(lambda a: np.sum(np.linalg.eigvals(a) ** 2))(a))
    np.testing.assert_allclose(H, 2 * np.einsum("jk,il->ijkl", np.eye(4), np.eye(4)), atol=1e-9)


def test_a_complex_spectrum_is_refused():
    with pytest.raises(td.UnsupportedOperationError, match="complex eigenvalues"):
        td.jacobian(np.linalg.eigvals)(ROTATION)


def test_a_replay_meeting_a_complex_spectrum_runs_eagerly_and_refuses():
    jitted = td.jit(td.jacobian(np.linalg.eigvals))
    for _ in range(2):
        np.testing.assert_allclose(
            np.asarray(jitted(TRIANGULAR)), np.asarray(td.jacobian(np.linalg.eigvals)(TRIANGULAR))
        )
    with pytest.raises(td.UnsupportedOperationError, match="complex eigenvalues"):
        jitted(ROTATION + 0.1 * np.eye(2))
