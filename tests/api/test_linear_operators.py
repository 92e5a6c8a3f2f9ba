"""Jacobians as linear maps: J v, Jᵀ u, SciPy operators and sparse matrices, all read off
the structure. Checked against JAX's jvp / vjp, the dense array, and SciPy's solvers."""

import numpy as np
import pytest

import tensordiff as td

scipy_sparse = pytest.importorskip("scipy.sparse")
from scipy.sparse import linalg as splinalg  # noqa: E402

CASES = {
    "W x (a delta)": (lambda W: W @ np.linspace(-1, 1, 5), (4, 5)),
    "tanh, reshape, transpose": (lambda x: np.tanh(x.reshape(3, 2).T) * np.arange(3.0), (2, 3)),
    "two paths": (lambda x: x * np.sin(x) + np.outer(x, x)[:, 1], (5,)),
    "sum and broadcast": (lambda X: X - np.sum(X**2, axis=1, keepdims=True), (3, 4)),
    "scalar output": (lambda x: np.sum(np.exp(x)), (2, 3)),
}


@pytest.fixture(params=list(CASES), ids=list(CASES))
def case(request, rng):
    f, shape = CASES[request.param]
    x = rng.normal(size=shape)
    return f, x, td.jacobian(f)(x)


def _with_numpy(f, module):
    """f for JAX: the same code, with ``module`` (jax.numpy) standing in for np."""
    import types

    return types.FunctionType(f.__code__, {**f.__globals__, "np": module}, closure=f.__closure__)


def test_matvec_and_rmatvec_match_jax_jvp_and_vjp(case, jax, rng):
    f, x, J = case
    jf = _with_numpy(f, jax.numpy)
    v = rng.normal(size=x.shape)
    out, tangent = jax.jvp(jf, (x,), (v,))
    np.testing.assert_allclose(J.matvec(v), tangent, rtol=1e-10, atol=1e-12)
    u = rng.normal(size=np.shape(out))
    _, vjp = jax.vjp(jf, x)
    np.testing.assert_allclose(J.rmatvec(u), vjp(u)[0], rtol=1e-10, atol=1e-12)


def test_matvec_is_batched_over_leading_axes(case, rng):
    _, x, J = case
    dense = np.asarray(J).reshape(-1, x.size)
    V = rng.normal(size=(3, 2, *x.shape))
    expected = (V.reshape(6, -1) @ dense.T).reshape(3, 2, *J.shape[: len(J.out_indices)])
    np.testing.assert_allclose(J.matvec(V), expected, rtol=1e-10, atol=1e-12)
    U = rng.normal(size=(4, *J.shape[: len(J.out_indices)]))
    expected = (U.reshape(4, -1) @ dense).reshape(4, *x.shape)
    np.testing.assert_allclose(J.rmatvec(U), expected, rtol=1e-10, atol=1e-12)
    with pytest.raises(td.ShapeError, match="J.matvec takes a vector of shape"):
        J.matvec(np.ones(x.size + 1))


def test_sparse_matrix_and_nnz_equal_the_dense_array(case):
    _, x, J = case
    dense = np.asarray(J).reshape(-1, x.size)
    for format in ("csr", "csc", "coo"):
        S = J.to_scipy_sparse(format=format)
        assert S.format == format and S.shape == dense.shape
        np.testing.assert_allclose(S.toarray(), dense, rtol=1e-12, atol=1e-14)
    assert J.nnz == J.to_scipy_sparse().nnz
    assert np.count_nonzero(dense) <= J.nnz <= dense.size


def test_linear_operator_products_equal_the_dense_array(case, rng):
    _, x, J = case
    A, dense = J.as_linear_operator(), np.asarray(J).reshape(-1, x.size)
    v, u = rng.normal(size=A.shape[1]), rng.normal(size=A.shape[0])
    np.testing.assert_allclose(A @ v, dense @ v, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(A.T @ u, dense.T @ u, rtol=1e-10, atol=1e-12)
    V = rng.normal(size=(A.shape[1], 3))
    np.testing.assert_allclose(A @ V, dense @ V, rtol=1e-10, atol=1e-12)
    U = rng.normal(size=(A.shape[0], 2))
    np.testing.assert_allclose(A.H @ U, dense.T @ U, rtol=1e-10, atol=1e-12)


def test_cg_and_lsqr_on_the_operator_match_dense_solves(rng):
    x = rng.normal(size=30)
    A = rng.normal(size=(30, 30))
    spd = A @ A.T + 30 * np.eye(30)
    H = td.hessian(lambda x: 0.5 * x @ spd @ x + np.sum(np.cos(x)))(x)
    b = rng.normal(size=30)
    solution, info = splinalg.cg(H.as_linear_operator(), b, rtol=1e-12)
    assert info == 0
    np.testing.assert_allclose(solution, np.linalg.solve(np.asarray(H), b), rtol=1e-8)
    J = td.jacobian(lambda W: np.tanh(W @ x[:7]))(rng.normal(size=(5, 7)))
    r = rng.normal(size=5)
    least = splinalg.lsqr(J.as_linear_operator(), r, atol=1e-14, btol=1e-14)[0]
    expected = np.linalg.lstsq(np.asarray(J).reshape(5, -1), r, rcond=None)[0]
    np.testing.assert_allclose(least, expected, rtol=1e-8, atol=1e-10)


def test_gauss_newton_step_where_the_dense_jacobian_does_not_fit(rng):
    # r(W) = tanh(W x) - y for a 1500 x 1500 W: J is 1500 x 1500 x 1500 (27 GB dense),
    # but δ[i,j] (1 - tanh²)[i] x[k] is 3000 numbers. The minimum-norm Gauss–Newton step
    # solves J s = -r; here it is known in closed form: s[i,k] = -r[i] x[k] / (d[i] |x|²).
    n = 1500
    W, x, y = rng.normal(size=(n, n)) / n, rng.normal(size=n), rng.uniform(-0.5, 0.5, size=n)
    residual = lambda W: np.tanh(W @ x) - y  # noqa: E731
    with td.memory_limit(2**28):
        J = td.jacobian(residual)(W)
        with pytest.raises(td.JacobianTooLarge):
            np.asarray(J)
        r = residual(W)
        step = splinalg.lsqr(J.as_linear_operator(), -r, atol=1e-14, btol=1e-14)[0]
    d = 1.0 - np.tanh(W @ x) ** 2
    expected = np.outer(-r / (d * (x @ x)), x)
    np.testing.assert_allclose(step.reshape(n, n), expected, rtol=1e-7, atol=1e-12)
    assert J.nnz == n * n  # one per (i, k): the δ makes j = i


def test_import_tensordiff_does_not_import_scipy():
    import subprocess
    import sys

    code = "import sys, tensordiff; print('scipy' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout.strip() == "False", result.stderr


def test_a_missing_scipy_is_named(monkeypatch):
    J = td.jacobian(lambda x: 2.0 * x)(np.ones(2))
    monkeypatch.setitem(__import__("sys").modules, "scipy.sparse.linalg", None)
    monkeypatch.setitem(__import__("sys").modules, "scipy.sparse", None)
    with pytest.raises(ImportError, match=r"'scipy' extra: pip install 'tensordiff\[scipy\]'"):
        J.as_linear_operator()
    with pytest.raises(ImportError, match=r"'scipy' extra"):
        J.to_scipy_sparse()


def test_repr_summarises_the_sparsity(case):
    _, x, J = case
    text = repr(J)
    if len(J.terms) == 1:
        assert f"nnz={J.nnz} of {J.size}" in text
    else:
        bound = int(text.split("nnz≤")[1].split()[0])
        assert J.nnz <= bound <= J.size
