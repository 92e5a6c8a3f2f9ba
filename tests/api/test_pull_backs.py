"""td.grad's numbers-only trace: the pull-back rules (ufuncs, 2-d matmul, sum / mean /
max / min along axes, x[index]) give JAX's gradient, the formula of the structured path,
and fall back to the full rules on anything else in the same graph."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import tensordiff as td

jax.config.update("jax_enable_x64", True)

A = np.random.default_rng(7).normal(size=(3, 4))
INDEX = np.array([0, 2, 2])
COLUMNS = np.array([1, 1, 0])

# each written once against a NumPy-like namespace n, differentiated with respect to Z (3×4)
LOSSES = {
    "ufunc chain": lambda n: lambda Z: n.sum(n.tanh(Z) ** 2 * 3.0 - n.sqrt(n.abs(Z) + 1) / 2.0),
    "broadcast constant": lambda n: lambda Z: n.sum(n.exp(Z - A[0]) * A),
    "matmul both sides": lambda n: lambda Z: n.sum(n.tanh(Z @ A.T) @ Z),
    "matrix times vector, vector times matrix": lambda n: (
        lambda Z: n.sum(n.tanh(Z @ A[0]) @ Z) + n.sum(Z[0] @ A.T)
    ),
    "quadratic form through a vector product": lambda n: lambda Z: Z[0] @ (A.T @ A) @ Z[0],
    "sum and mean along axes": lambda n: (
        lambda Z: n.sum(n.mean(Z**2, axis=0) * n.sum(Z, axis=-1, keepdims=True))
    ),
    "max with ties": lambda n: lambda Z: n.sum(n.max(n.round(Z), axis=1) * n.min(Z, axis=0)[:3]),
    "basic index": lambda n: lambda Z: n.sum(Z[1:, ::2] ** 2) + Z[0, 1] * Z[None, 2].sum(),
    "gather with repeats": lambda n: lambda Z: n.sum(Z[INDEX, COLUMNS] ** 3) + n.sum(Z[INDEX]),
    "softmax cross-entropy": lambda n: (
        lambda Z: (
            -n.mean(
                (
                    (Z - n.max(Z, axis=1, keepdims=True))
                    - n.log(
                        n.sum(n.exp(Z - n.max(Z, axis=1, keepdims=True)), axis=1, keepdims=True)
                    )
                )[np.arange(3), COLUMNS]
            )
        )
    ),
    "falls back (dot, where, concatenate)": lambda n: (
        lambda Z: n.sum(
            n.where(Z[:, :3] > 0, n.dot(Z, A.T), 1.0)
            * n.concatenate([Z[:, :3], Z[:, 1:]], axis=1)[:, :3]
        )
    ),
}


@pytest.mark.parametrize("name", LOSSES)
def test_numbers_only_gradient_is_jaxs_and_reads_as_the_structured_one(name, rng):
    Z = rng.normal(size=(3, 4))
    Z[0, :2] = 0.75  # ties for max and round
    loss = LOSSES[name]
    g = td.grad(loss(np))(Z)
    expected = jax.grad(loss(jnp))(Z)
    np.testing.assert_allclose(np.asarray(g), expected, rtol=1e-12, atol=1e-14)
    structured = td.grad(loss(np), mode="optimal")(Z)
    np.testing.assert_allclose(np.asarray(structured), expected, rtol=1e-12, atol=1e-14)
    assert g.formula == structured.formula
    # its formula read, the gradient's terms are the structured ones: the same numbers
    np.testing.assert_allclose(np.asarray(g), expected, rtol=1e-12, atol=1e-14)


def test_a_saturated_sigmoid_is_still_recognised_while_only_numbers_are_wanted():
    # exp(800) overflows: primitive by primitive the chain rule meets inf / inf² (NaN);
    # the recognised composite's σ (1 − σ) is 0, as JAX's sigmoid gives
    z = np.array([-800.0, 0.0, 3.0])
    g = np.asarray(td.grad(lambda z: np.sum(1.0 / (1.0 + np.exp(-z))))(z))
    np.testing.assert_allclose(g, jax.grad(lambda z: jnp.sum(jax.nn.sigmoid(z)))(z), atol=1e-15)


@pytest.mark.parametrize(
    ("operand", "named"),
    [
        (np.tanh, "tanh(W) has shape (3, 4), B has shape (3, 2)"),
        # an index's text is written only when read: here, for the message
        (lambda W: W[INDEX, 1:][:, ::2], "(W[[0, 2, 2], 1:])[:, ::2] has shape (3, 2), B has"),
    ],
)
def test_a_refused_shape_names_the_operands_as_the_structured_path_does(operand, named, rng):
    W, B = rng.normal(size=(3, 4)), rng.normal(size=(3, 2))

    def loss(W):
        return np.sum(operand(W) @ B)

    messages = []
    for mode in ("auto", "optimal"):
        with pytest.raises(td.ShapeError) as refused:
            td.grad(loss, mode=mode)(W)
        messages.append(str(refused.value))
    assert messages[0] == messages[1]
    assert named in messages[0]


def test_a_gradient_written_into_is_the_callers_copy(rng):
    x = rng.normal(size=4)
    g = td.grad(lambda x: np.sum(x * 2.0))(x)
    first = np.asarray(g)
    first[:] = 0.0
    np.testing.assert_array_equal(np.asarray(g), np.full(4, 2.0))
