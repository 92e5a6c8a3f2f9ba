"""scipy.linalg and cdist on traced values (tensordiff/ops/scipy_linalg.py): scipy's own
numbers, and derivatives equal to central differences of scipy's own function — which
reads one triangle where LAPACK does — and to JAX's jax.scipy where JAX means the same.
What is not routed is refused by scipy's name, with NumPy to write instead, and that
suggestion is right."""

import inspect
import re

import numpy as np
import pytest
from differences import central_differences

import tensordiff as td

linalg = pytest.importorskip("scipy.linalg")
distance = pytest.importorskip("scipy.spatial.distance")

rng = np.random.default_rng(7)
A = rng.normal(size=(3, 3)) + 3 * np.eye(3)
B = np.arange(1.0, 4.0)
RHS = rng.normal(size=(3, 2))
POINTS = rng.normal(size=(2, 3))

# scipy calls of a 3×3 matrix, some reading one triangle of it only; each looks its
# function up when called, as a name bound before the first trace keeps scipy's own
ROUTED = {
    "solve": lambda a: linalg.solve(a, B),
    "solve, a matrix right-hand side": lambda a: linalg.solve(a, RHS),
    "solve, transposed": lambda a: linalg.solve(a, B, transposed=True),
    "solve, assume_a='pos' (upper)": lambda a: linalg.solve(a @ a.T + a, B, assume_a="pos"),
    "solve, assume_a='sym', lower": lambda a: linalg.solve(a, B, assume_a="sym", lower=True),
    "inv": lambda a: linalg.inv(a),
    "det": lambda a: linalg.det(a),
    "cholesky (upper)": lambda a: linalg.cholesky(a @ a.T + np.triu(a)),
    "cholesky, lower": lambda a: linalg.cholesky(a @ a.T + np.tril(a), lower=True),
    "cho_factor and cho_solve": lambda a: linalg.cho_solve(linalg.cho_factor(a @ a.T), B),
    "cho_factor, lower": lambda a: linalg.cho_factor(a @ a.T + a, lower=True)[0],
    "cho_factor's other triangle": lambda a: linalg.cho_factor(a @ a.T + a)[0],
    "solve_triangular": lambda a: linalg.solve_triangular(a, B),
    "solve_triangular, lower, transposed": lambda a: linalg.solve_triangular(
        a, RHS, trans="T", lower=True
    ),
    "solve_triangular, unit diagonal": lambda a: linalg.solve_triangular(a, B, unit_diagonal=True),
    "eigh's values": lambda a: linalg.eigh(a)[0],
    "eigh's vectors, squared (their sign is scipy's choice)": lambda a: linalg.eigh(a)[1] ** 2,
    "eigh, upper, values only": lambda a: linalg.eigh(a, lower=False, eigvals_only=True),
    "eigvalsh": lambda a: linalg.eigvalsh(a),
    "svd's values": lambda a: linalg.svd(a)[1],
    "svdvals": lambda a: linalg.svdvals(a),
    "norm": lambda a: linalg.norm(a),
    "norm, ord=1, axis=0": lambda a: linalg.norm(a, 1, axis=0),
    "pinv": lambda a: linalg.pinv(a[:, :2]),
    "expm": lambda a: linalg.expm(a / 4),
    "expm of a skew-symmetric matrix, a rotation": lambda a: linalg.expm(a - a.T) @ B,
    "cdist": lambda a: distance.cdist(a, POINTS),
    "cdist, sqeuclidean": lambda a: distance.cdist(a, POINTS, "sqeuclidean"),
    "cdist, cityblock": lambda a: distance.cdist(a, POINTS, metric="cityblock"),
    "cdist, chebyshev": lambda a: distance.cdist(a, POINTS, metric="chebyshev"),
    "cdist, minkowski p=3": lambda a: distance.cdist(a, POINTS, metric="minkowski", p=3),
    "cdist, cosine": lambda a: distance.cdist(a, POINTS, metric="cosine"),
}


@pytest.mark.parametrize("case", list(ROUTED))
def test_scipy_on_a_traced_value_has_scipys_derivative(case):
    f = ROUTED[case]
    J = td.jacobian(f)(A)
    np.testing.assert_allclose(np.asarray(J), central_differences(f, A), rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("case", list(ROUTED))
def test_scipy_on_plain_values_is_scipys_own(case):
    f = ROUTED[case]
    td.jacobian(f)(A)  # a trace ran: the module's names are routed
    value = f(A)
    assert not any(type(v).__name__ == "Traced" for v in np.atleast_1d(value).ravel()[:1])
    np.testing.assert_array_equal(f(A), value)


def test_eigenvectors_have_the_signs_scipy_gives_them():
    value, _ = td.value_and_jacobian(lambda a: linalg.eigh(a)[1])(A)
    np.testing.assert_allclose(np.asarray(value), linalg.eigh(A)[1], rtol=1e-12, atol=1e-12)


def test_second_derivatives_agree_with_jax(jax):
    import jax.scipy.linalg as jsl

    def ours(a):
        return linalg.solve(a, B) @ linalg.cho_solve(linalg.cho_factor(a @ a.T), B)

    def theirs(a):
        return jsl.solve(a, B) @ jsl.cho_solve(jsl.cho_factor(a @ a.T), B)

    np.testing.assert_allclose(
        np.asarray(td.hessian(ours)(A)), jax.hessian(theirs)(A), rtol=1e-8, atol=1e-10
    )


def test_an_option_scipy_alone_handles_is_refused_by_scipys_name():
    with pytest.raises(td.TraceLeakError, match=r"scipy\.linalg\.eigh received a traced value"):
        td.jacobian(lambda a: linalg.eigh(a, np.eye(3))[0])(A)
    with pytest.raises(td.TraceLeakError, match=r"scipy\.spatial\.distance\.cdist"):
        td.jacobian(lambda a: distance.cdist(a, POINTS, "hamming"))(A)


def test_a_name_bound_to_scipys_own_function_is_refused_saying_how_to_call_it():
    scipys_cdist = inspect.unwrap(distance.cdist)  # as `from ... import cdist` before a trace
    with pytest.raises(td.TraceLeakError, match=r"looked up on its module") as error:
        td.jacobian(lambda a: scipys_cdist(a, POINTS))(A)
    assert "scipy.spatial.distance.cdist(...)" in str(error.value)


def test_expm_has_scipys_frechet_derivative():
    """∂expm(A)/∂A along E is scipy's own Fréchet derivative (a separate algorithm)."""
    E = rng.normal(size=(3, 3))
    J = td.jacobian(linalg.expm)(A / 4)
    along = np.einsum("ijkl,kl->ij", np.asarray(J), E)
    np.testing.assert_allclose(along, linalg.expm_frechet(A / 4, E)[1], rtol=1e-10, atol=1e-12)


def test_expm_of_a_batch_and_its_hessian_agree_with_jax(jax):
    import jax.numpy as jnp
    import jax.scipy.linalg as jsl

    stack = np.stack([A / 4, -A.T / 3])
    np.testing.assert_allclose(
        np.asarray(td.jacobian(linalg.expm)(stack)), jax.jacobian(jsl.expm)(stack), atol=1e-11
    )
    H = td.hessian(lambda a: np.sum(linalg.expm(a) ** 2))(A / 4)
    np.testing.assert_allclose(
        np.asarray(H), jax.hessian(lambda a: jnp.sum(jsl.expm(a) ** 2))(A / 4), rtol=1e-9
    )


def test_expm_replayed_by_jit_is_scipys_at_new_numbers():
    gradient = td.jit(td.grad(lambda a: np.sum(linalg.expm(a) @ B)))
    for a in (A / 4, A.T / 2):
        np.testing.assert_allclose(
            np.asarray(gradient(a)),
            central_differences(lambda a: np.sum(linalg.expm(a) @ B), a),
            rtol=1e-7,
        )


def test_expm_formula_names_the_matrix_exponential_and_defines_its_derivative():
    formula = td.jacobian(lambda a: linalg.expm(a))(A).formula
    assert "L[i,j,k,l]" in formula and "where L = ∂expm(a)/∂a" in formula
    assert "exp(a)" not in formula  # the elementwise exponential is another function


@pytest.mark.parametrize("shape", [(2, 3), (3,)])
def test_expm_of_a_matrix_that_is_not_square_is_a_shape_error_naming_it(shape):
    with pytest.raises(
        td.ShapeError, match=r"scipy\.linalg\.expm needs square .*" + re.escape(str(shape))
    ):
        td.jacobian(linalg.expm)(np.ones(shape))


def _expm_series(a, squarings=6, terms=18):
    """What a refusal of an unrouted expm suggests: the series of a / 2**s, squared s times."""
    x = a / 2**squarings
    term = total = np.eye(len(a))
    for k in range(1, terms):
        term = term @ x / k
        total = total + term
    for _ in range(squarings):
        total = total @ total
    return total


def test_expm_bound_before_the_first_trace_is_refused_and_the_suggested_series_is_right(jax):
    scipys_expm = inspect.unwrap(linalg.expm)
    with pytest.raises(td.TraceLeakError, match=r"scipy\.linalg\.expm .*the series") as error:
        td.jacobian(scipys_expm)(A / 4)
    assert "looked up on its module" in str(error.value)
    import jax.scipy.linalg as jsl

    np.testing.assert_allclose(_expm_series(A / 4), linalg.expm(A / 4), rtol=1e-12)
    np.testing.assert_allclose(
        np.asarray(td.jacobian(_expm_series)(A / 4)),
        jax.jacobian(jsl.expm)(A / 4),
        rtol=1e-8,
        atol=1e-10,
    )
