"""Reductions with ``initial=`` and ``where=`` (np.max/min/prod and ufunc.reduce): the
initial value is one more entry (ties with it share the derivative, as np.maximum and
JAX do), and entries ``where`` leaves out get no derivative — against JAX, first and
second derivatives."""

import numpy as np
import pytest

import tensordiff as td

X = np.array([[0.3, -1.0, 0.5], [0.2, 0.5, -2.0]])

# name -> (the call on NumPy or jax.numpy, its twin on jax.numpy where JAX lacks the ufunc
# method)
CALLS = {
    "max axis initial": (lambda np, x: np.max(x, axis=1, initial=0.4), None),
    "max tie with initial": (lambda np, x: np.max(x, axis=0, initial=0.5, keepdims=True), None),
    "min initial": (lambda np, x: np.min(x, initial=-1.0), None),
    "amax where": (lambda np, x: np.amax(x, axis=1, initial=-5.0, where=X < 0.4), None),
    "prod initial": (lambda np, x: np.prod(x, axis=0, initial=3.0), None),
    "prod where": (lambda np, x: np.prod(x, where=X > 0), None),
    "maximum.reduce": (
        lambda np, x: np.maximum.reduce(x, axis=1, initial=0.4),
        lambda jnp, x: jnp.max(x, axis=1, initial=0.4),
    ),
    "minimum.reduce": (
        lambda np, x: np.minimum.reduce(x, axis=0, initial=0.0),
        lambda jnp, x: jnp.min(x, axis=0, initial=0.0),
    ),
    "multiply.reduce": (
        lambda np, x: np.multiply.reduce(x, initial=2.0),
        lambda jnp, x: jnp.prod(x, axis=0, initial=2.0),
    ),
    "add.reduce": (
        lambda np, x: np.add.reduce(x, axis=1, initial=1.0, where=X > 0),
        lambda jnp, x: jnp.sum(x, axis=1, initial=1.0, where=X > 0),
    ),
}


@pytest.mark.parametrize("name", sorted(CALLS))
def test_reduction_with_initial_matches_jax(name, jax):
    jnp = jax.numpy
    call, twin = CALLS[name]

    def theirs(x):
        return (twin or call)(jnp, x)

    ours = np.asarray(td.jacobian(lambda x: call(np, x))(X))
    np.testing.assert_allclose(ours, jax.jacobian(theirs)(jnp.asarray(X)), atol=1e-12)
    ours2 = np.asarray(td.hessian(lambda x: np.sum(call(np, x) ** 2))(X))
    theirs2 = jax.hessian(lambda x: jnp.sum(theirs(x) ** 2))(jnp.asarray(X))
    np.testing.assert_allclose(ours2, theirs2, atol=1e-12)


def test_max_with_where_needs_initial_as_in_numpy():
    with pytest.raises(ValueError, match="initial"):
        td.jacobian(lambda x: np.max(x, where=X > 0))(X)
