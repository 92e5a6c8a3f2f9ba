"""Gradients of scalar outputs by vector–Jacobian products (the scalar shortcut of
mode "auto" and "reverse"): against jax.grad on every case of the op table, against
the structured orders, and with the formula still read off the structure."""

import numpy as np
import pytest
from cases import cases

import tensordiff as td
from tensordiff.core import paths

CASES = cases()


def _args(case, rng):
    return [rng.uniform(case["low"], case["high"], size=shape) for shape in case["shapes"]]


def _weighted(f, weights):
    """A scalar of f's output that weighs every entry differently (a random cotangent)."""
    return lambda *args: np.sum(f(*args) * weights)


@pytest.mark.parametrize("index", range(len(CASES)), ids=[c["id"] for c in CASES])
def test_gradient_of_every_case_matches_jax_grad(index, rng, jax):
    case, twin = CASES[index], cases(jax.numpy)[index]
    args = _args(case, rng)
    weights = rng.normal(size=np.shape(case["f"](*args)))
    argnums = tuple(range(len(args)))
    ours = td.grad(_weighted(case["f"], weights), argnums=argnums)(*args)
    theirs = jax.grad(_weighted(twin["jf"], weights), argnums=argnums)(*args)
    for g, expected, arg in zip(ours, theirs, args, strict=True):
        assert g.shape == arg.shape
        np.testing.assert_allclose(np.asarray(g), np.asarray(expected), rtol=1e-11, atol=1e-12)


@pytest.mark.parametrize("index", range(len(CASES)), ids=[c["id"] for c in CASES])
def test_backpropagation_equals_the_structured_orders(index, rng):
    case = CASES[index]
    args = _args(case, rng)
    loss = _weighted(case["f"], rng.normal(size=np.shape(case["f"](*args))))
    by_products = np.asarray(td.grad(loss, mode="reverse")(*args))
    for mode in ("optimal", "forward"):
        np.testing.assert_allclose(
            by_products, np.asarray(td.grad(loss, mode=mode)(*args)), rtol=1e-12, atol=1e-13
        )


def test_a_gradient_holds_one_dense_factor_and_still_prints_its_structure(rng):
    x, y = rng.normal(size=4), rng.normal(size=3)

    def loss(W):
        return np.sum((W @ x - y) ** 2)

    W = rng.normal(size=(3, 4))
    g = td.grad(loss)(W)
    assert len(g.terms) == 1 and len(g.terms[0].factors) == 1
    structured = td.grad(loss, mode="optimal")(W)
    assert g.formula == structured.formula == "∂loss/∂W[i,j] = 2 (W x − y)[i] x[j]"
    assert g.relabel("ab").formula == structured.relabel("ab").formula
    np.testing.assert_allclose(np.asarray(g), 2 * np.outer(W @ x - y, x))


def test_the_result_is_never_a_view_of_an_input(rng):
    A = rng.normal(size=(3, 3))
    g = np.asarray(td.grad(lambda X: np.sum(X * A))(rng.normal(size=(3, 3))))
    assert not np.shares_memory(g, A)
    np.testing.assert_array_equal(g, A)


def test_hessians_and_jit_recordings_take_the_structured_path(rng):
    # Inside another trace every step must be a recorded NumPy call on traced values.
    A = rng.normal(size=(4, 4))
    A = A + A.T
    x = rng.normal(size=4)

    def f(x):
        return x @ A @ x

    np.testing.assert_allclose(np.asarray(td.hessian(f)(x)), 2 * A, rtol=1e-12)
    jitted = td.jit(td.grad(f))
    for point in (x, x + 1.0):
        np.testing.assert_allclose(np.asarray(jitted(point)), 2 * A @ point, rtol=1e-12)
    info = jitted.cache_info()
    assert (info.hits, info.fallbacks) == (1, 0)


def test_plan_counts_backpropagation_as_the_reverse_order_auto_takes(rng):
    W, x = rng.normal(size=(5, 6)), rng.normal(size=6)

    def loss(W):
        return np.sum(np.tanh(W @ x) ** 2)

    report = td.plan(loss)(W)
    assert report.chosen == "reverse"
    with paths.metered() as meter:
        np.asarray(td.grad(loss)(W))
    assert meter["flops"] == report.costs["reverse"]["flops"]
