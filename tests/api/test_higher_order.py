"""Hessians and nested derivatives: against jax.hessian, jax.jacfwd(jax.jacrev), closed forms."""

import numpy as np
import pytest
from cases import cases

import tensordiff as td

CASES = cases()


def _args(case, rng):
    return [rng.uniform(case["low"], case["high"], size=shape) for shape in case["shapes"]]


def _scalarised(f, weights):
    """sum(f(...) * weights): a scalar whose Hessian involves every output entry."""
    return lambda *args: (f(*args) * weights).sum()


@pytest.mark.parametrize("index", range(len(CASES)), ids=[c["id"] for c in CASES])
def test_hessian_matches_jax(index, rng, jax):
    case, twin = CASES[index], cases(jax.numpy)[index]
    args = _args(case, rng)
    weights = rng.normal(size=np.shape(case["f"](*args)))
    for argnum in range(len(args)):
        ours = td.hessian(_scalarised(case["f"], weights), argnums=argnum)(*args)
        theirs = jax.hessian(_scalarised(twin["jf"], weights), argnums=argnum)(*args)
        dense = np.asarray(ours)
        assert dense.shape == args[argnum].shape * 2
        np.testing.assert_allclose(dense, np.asarray(theirs), rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("index", range(len(CASES)), ids=[c["id"] for c in CASES])
def test_jacobian_of_jacobian_matches_jax(index, rng, jax):
    case, twin = CASES[index], cases(jax.numpy)[index]
    args = _args(case, rng)
    ours = td.jacobian(td.jacobian(case["f"]))(*args)
    theirs = jax.jacfwd(jax.jacrev(twin["jf"]))(*args)
    np.testing.assert_allclose(np.asarray(ours), np.asarray(theirs), rtol=1e-10, atol=1e-12)


def test_jacobian_of_grad_and_third_derivative(rng, jax):
    x = rng.uniform(-1, 1, size=3)

    def f(x):
        return np.sum(np.sin(x) * np.exp(np.expand_dims(x, 0) * np.ones((2, 1))).sum(axis=0) ** 2)

    def jf(x):
        jnp = jax.numpy
        return jnp.sum(
            jnp.sin(x) * jnp.exp(jnp.expand_dims(x, 0) * jnp.ones((2, 1))).sum(axis=0) ** 2
        )

    np.testing.assert_allclose(
        np.asarray(td.jacobian(td.grad(f))(x)), jax.hessian(jf)(x), rtol=1e-10
    )
    third = td.jacobian(td.jacobian(td.grad(f)))(x)
    assert third.shape == (3, 3, 3)
    np.testing.assert_allclose(
        np.asarray(third), jax.jacfwd(jax.jacfwd(jax.grad(jf)))(x), rtol=1e-9, atol=1e-10
    )


def test_hessian_of_squared_error_is_exactly_symmetric_and_structured(rng):
    W, x, y = rng.normal(size=(64, 64)), rng.normal(size=64), rng.normal(size=64)
    H = td.hessian(lambda W: np.sum((W @ x - y) ** 2))(W)
    assert H.shape == (64, 64, 64, 64)
    assert H.stored_nbytes < 64 * 64 * 8  # δ[a,c] 2 x[b] x[d]: nothing near the 128 MiB result
    dense = np.asarray(H)
    np.testing.assert_array_equal(dense, dense.transpose(2, 3, 0, 1))
    np.testing.assert_allclose(dense, 2 * np.einsum("ac,b,d->abcd", np.eye(64), x, x))


def test_hessian_of_a_quadratic_form_is_a_plus_a_transpose(rng):
    A, x = rng.normal(size=(4, 4)), rng.normal(size=4)
    H = td.hessian(lambda x: x @ A @ x)(x)  # Matrix Cookbook (81): ∂²(xᵀAx)/∂x² = A + Aᵀ
    assert H.indices == ("i", "j")
    np.testing.assert_allclose(np.asarray(H), A + A.T, rtol=1e-12)


def test_hessian_of_a_vector_function_puts_the_output_first(rng):
    x = rng.normal(size=3)
    H = td.hessian(lambda x: np.tanh(x) * x.sum())(x)
    assert H.shape == (3, 3, 3) and H.out_indices == ("i",) and len(H.in_indices) == 2
    td.check_grads(lambda x: td.jacobian(lambda y: np.tanh(y) * y.sum())(x), (x,))
    with pytest.raises(td.TraceLeakError, match="inside another derivative"):
        td.jacobian(lambda x: np.asarray(td.jacobian(np.tanh)(x)))(x)


def test_hessian_needs_one_argument():
    with pytest.raises(td.OptionError, match="one argument"):
        td.hessian(lambda a, b: a * b, argnums=(0, 1))


def test_inner_derivative_closing_over_an_outer_value(rng):
    x = rng.normal(size=3)

    def f(x):
        return np.sum(td.jacobian(lambda y: y * x)(x))  # Σ_i x_i, so the gradient is ones

    np.testing.assert_allclose(np.asarray(td.grad(f)(x)), np.ones(3))
