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


def _built_jacobians(rng):
    """Jacobians not made by td.jacobian(f)(x) of one array: a Hessian, per-sample
    Jacobians, a leaf of a nested result, float32, one that is identically zero, one
    whose input axes are reshaped into the output's, and a sum of overlapping terms."""
    X, W = rng.normal(size=(4, 3)), rng.normal(size=(3, 2))
    params = {"W": W, "b": rng.normal(size=2)}
    return {
        "hessian of a matrix": td.hessian(lambda W: np.sum(np.tanh(X @ W) ** 2))(W),
        "per-sample, shared W": td.jacobian(
            lambda X, W: np.sin(X @ W), argnums=(0, 1), batch=(0, None)
        )(X, W)[1],
        "per-sample, batched X": td.jacobian(lambda X: np.sin(X @ W), batch=0)(X),
        "leaf of a tree": td.jacobian(lambda p: {"y": np.tanh(X @ p["W"] + p["b"])})(params)["y"][
            "W"
        ],
        "float32": td.jacobian(lambda x: np.exp(x) * x[::-1])(np.arange(3, dtype=np.float32)),
        "zero": td.jacobian(lambda x: np.ones(3) * 2.0)(np.ones(4)),
        "reshaped": td.jacobian(lambda W: W.reshape(6) * np.arange(6.0))(W),
        "overlapping terms": td.jacobian(lambda x: x * 2.0 - np.outer(x, x).diagonal())(
            rng.normal(size=3)
        ),
    }


def test_built_jacobians_as_operators_and_sparse_matrices_equal_the_dense_array(rng):
    for name, J in _built_jacobians(rng).items():
        A, S = J.as_linear_operator(), J.to_scipy_sparse("csr")
        dense = np.asarray(J).reshape(A.shape)
        assert A.dtype == S.dtype == J.dtype, name
        np.testing.assert_allclose(S.toarray(), dense, rtol=1e-6, atol=1e-12, err_msg=name)
        assert J.nnz == S.nnz >= np.count_nonzero(dense), name
        v, u = rng.normal(size=A.shape[1]), rng.normal(size=A.shape[0])
        np.testing.assert_allclose(A @ v, dense @ v, rtol=1e-5, atol=1e-10, err_msg=name)
        np.testing.assert_allclose(A.T @ u, dense.T @ u, rtol=1e-5, atol=1e-10, err_msg=name)
        assert (J.nnz == 0) == (name == "zero")


def test_hessian_and_jacobian_products_match_jax_linearize_and_hvp(jax, rng):
    jnp = jax.numpy
    X, W, v = rng.normal(size=(5, 3)), rng.normal(size=(3, 4)), rng.normal(size=(3, 4))
    H = td.hessian(lambda W: np.sum(np.log(np.cosh(X @ W))))(W)
    hvp = jax.jvp(jax.grad(lambda W: jnp.sum(jnp.log(jnp.cosh(X @ W)))), (W,), (v,))[1]
    np.testing.assert_allclose(H.matvec(v), hvp, rtol=1e-10)
    np.testing.assert_allclose(H.rmatvec(v), hvp, rtol=1e-10)  # symmetric
    J = td.jacobian(lambda W: np.tanh(X @ W) * W[0])(W)
    _, linear = jax.linearize(lambda W: jnp.tanh(X @ W) * W[0], W)
    np.testing.assert_allclose(J.matvec(v), linear(v), rtol=1e-10)
    V = rng.normal(size=(2, 3, 3, 4))  # a 2 x 3 batch of tangents
    np.testing.assert_allclose(J.matvec(V)[1, 2], linear(V[1, 2]), rtol=1e-10)


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


def test_newton_cg_step_where_the_dense_hessian_does_not_fit(rng):
    # f(W) = Σ log cosh(W x − y) + λ/2 |W|² for a 200 x 200 W: the Hessian is
    # 200⁴ entries (12.8 GB dense) but δ[i,k] d[i] x[j] x[l] + λ δδ as stored factors.
    # Each row i of W is a block d_i x xᵀ + λ I, so the Newton step H s = −g is known
    # in closed form (Sherman–Morrison): s_i = −(g_i − d_i x (x·g_i) / (λ + d_i |x|²)) / λ.
    n, lam = 200, 1.0
    W, x, y = rng.normal(size=(n, n)) / n, rng.normal(size=n), rng.normal(size=n)
    f = lambda W: np.sum(np.log(np.cosh(W @ x - y))) + 0.5 * lam * np.sum(W * W)  # noqa: E731
    with td.memory_limit(2**28):
        g, H = np.asarray(td.grad(f)(W)), td.hessian(f)(W)
        with pytest.raises(td.JacobianTooLarge):
            np.asarray(H)
        assert H.stored_nbytes < 2**20
        step, info = splinalg.cg(H.as_linear_operator(), -g.ravel(), rtol=1e-11)
    assert info == 0
    d = 1.0 / np.cosh(W @ x - y) ** 2
    expected = -(g - np.outer(d * (g @ x) / (lam + d * (x @ x)), x)) / lam
    np.testing.assert_allclose(step.reshape(n, n), expected, rtol=1e-8, atol=1e-10)


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
