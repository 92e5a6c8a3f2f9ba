"""scipy.linalg (and cdist) on a traced value: refused by the function's own name, with the
NumPy expression to write instead — and that expression is right: scipy's numbers on plain
input, and JAX's derivative of scipy's function (jax.scipy) on traced input."""

import numpy as np
import pytest

import tensordiff as td

linalg = pytest.importorskip("scipy.linalg")
distance = pytest.importorskip("scipy.spatial.distance")

rng = np.random.default_rng(7)
A = rng.normal(size=(3, 3)) + 3 * np.eye(3)
S = A @ A.T
B = np.arange(1.0, 4.0)
POINTS = rng.normal(size=(2, 3))


def _expm_series(a, squarings=6, terms=18):
    """What the refusal describes: the series of a / 2**s, squared s times."""
    x = a / 2**squarings
    term = total = np.eye(len(a))
    for k in range(1, terms):
        term = term @ x / k
        total = total + term
    for _ in range(squarings):
        total = total @ total
    return total


def _euclidean(a, b):
    import jax.numpy as jnp

    return jnp.sqrt(jnp.sum((a[:, None, :] - b[None, :, :]) ** 2, axis=-1))


# name -> (scipy's call, the NumPy that the refusal suggests, JAX's twin of scipy's call)
CASES = {
    "solve": (
        lambda a: linalg.solve(a, B),
        lambda a: np.linalg.solve(a, B),
        lambda jsl, a: jsl.solve(a, B),
    ),
    "inv": (linalg.inv, np.linalg.inv, lambda jsl, a: jsl.inv(a)),
    "det": (linalg.det, np.linalg.det, lambda jsl, a: jsl.det(a)),
    "cholesky": (
        lambda a: linalg.cholesky(a @ a.T),
        lambda a: np.linalg.cholesky(a @ a.T).T,
        lambda jsl, a: jsl.cholesky(a @ a.T),
    ),
    "cho_factor": (
        lambda a: linalg.cho_solve(linalg.cho_factor(a @ a.T), B),
        lambda a: np.linalg.solve(a @ a.T, B),
        lambda jsl, a: jsl.cho_solve(jsl.cho_factor(a @ a.T), B),
    ),
    "solve_triangular": (
        lambda a: linalg.solve_triangular(a, B),
        lambda a: np.linalg.solve(np.triu(a), B),
        lambda jsl, a: jsl.solve_triangular(a, B),
    ),
    "eigvalsh": (
        lambda a: linalg.eigvalsh(a + a.T),
        lambda a: np.linalg.eigvalsh(a + a.T),
        lambda jsl, a: jsl.eigh(a + a.T, eigvals_only=True),
    ),
    "svdvals": (
        linalg.svdvals,
        lambda a: np.linalg.svd(a, compute_uv=False),
        lambda jsl, a: jsl.svd(a, compute_uv=False),
    ),
    "expm": (
        linalg.expm,
        _expm_series,
        lambda jsl, a: jsl.expm(a),
    ),
    "cdist": (
        lambda a: distance.cdist(a, POINTS),
        lambda a: np.sqrt(np.sum((a[:, None, :] - POINTS[None, :, :]) ** 2, axis=-1)),
        lambda jsl, a: _euclidean(a, POINTS),
    ),
}


@pytest.mark.parametrize("name", list(CASES))
def test_scipy_is_refused_by_its_name_with_the_numpy_to_write(name):
    scipy_call, _, _ = CASES[name]
    module = "scipy.spatial.distance" if name == "cdist" else "scipy.linalg"
    with pytest.raises(td.TraceLeakError, match=rf"{module}\.{name} received a traced value"):
        td.jacobian(scipy_call)(A)


@pytest.mark.parametrize("name", list(CASES))
def test_the_suggested_numpy_computes_scipys_numbers_and_jaxs_derivative(name, jax):
    scipy_call, numpy_twin, jax_twin = CASES[name]
    np.testing.assert_allclose(numpy_twin(A), scipy_call(A), rtol=1e-10, atol=1e-12)
    import jax.scipy.linalg as jsl

    expected = jax.jacobian(lambda a: jax_twin(jsl, a))(A)
    np.testing.assert_allclose(
        np.asarray(td.jacobian(numpy_twin)(A)), expected, rtol=1e-8, atol=1e-10
    )
