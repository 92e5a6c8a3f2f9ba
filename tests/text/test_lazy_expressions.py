"""Expressions written when first read (a gradient of numbers never reads them) read as
they would have been written at once: each value by its inputs as they were when it was
computed, however deep the function."""

import sys

import numpy as np

import tensordiff as td


def _body(formula: str) -> str:
    """The formula after its left-hand side (which names the function)."""
    return formula.split(" = ", 1)[1]


def test_a_value_reads_its_inputs_as_they_were_before_a_later_write(jax):
    def written_in_place(x):
        y = np.tanh(x)
        x += 1.0  # x is now another value; y was computed from the first
        return y * x

    def written_apart(x):
        y = np.tanh(x)
        x1 = x + 1.0
        return y * x1

    point = np.array([0.3, -0.7, 1.1])
    J = td.jacobian(written_in_place)(point.copy())
    assert _body(J.formula) == _body(td.jacobian(written_apart)(point.copy()).formula)
    assert "tanh(x + 1)" not in J.formula
    jnp = jax.numpy
    expected = jax.jacobian(lambda x: jnp.tanh(x) * (x + 1.0))(point)
    np.testing.assert_allclose(np.asarray(J), expected, rtol=1e-12)


def test_the_formula_of_a_chain_deeper_than_the_recursion_limit_is_written():
    depth = sys.getrecursionlimit() + 100

    def chain(x):
        for _ in range(depth):
            x = np.tanh(x)
        return np.sum(x)

    point = np.array([0.5, -0.25])
    g = td.grad(chain)(point)
    assert g.formula.startswith("∂chain/∂x[i] = ")  # written iteratively: no RecursionError
    value, derivative = point, np.ones_like(point)
    for _ in range(depth):  # the closed form: the product of 1 − tanh² along the chain
        value = np.tanh(value)
        derivative = derivative * (1 - value**2)
    np.testing.assert_allclose(np.asarray(g), derivative, rtol=1e-10)
