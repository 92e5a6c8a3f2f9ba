"""No silent wrong numbers: repeated argnums, and traced values that outlive their call."""

import numpy as np
import pytest

import tensordiff as td

X = np.array([0.3, -1.2, 2.0])
Y = np.array([1.5, 0.4, -0.7])


def f(x, y):
    return np.sin(x) * y + x**2


@pytest.mark.parametrize("argnums", [(0, 0), (0, -2, 1), (1, 0, 1)])
def test_repeated_argnums_give_the_derivative_each_time(argnums, jax):
    # (the installed JAX itself fails on a repeated argnums: each is checked on its own)
    ours = td.jacobian(f, argnums=argnums)(X, Y)
    assert len(ours) == len(argnums)
    for a, position in zip(ours, argnums, strict=True):
        theirs = jax.jacobian(lambda x, y: jax.numpy.sin(x) * y + x**2, argnums=position % 2)
        np.testing.assert_allclose(np.asarray(a), np.asarray(theirs(X, Y)), rtol=1e-13)


def test_repeated_argnums_keep_their_own_labels():
    first, second = td.jacobian(f, argnums=(0, 0), out="i", wrt=("a", "b"))(X, Y)
    assert first.indices == ("i", "a") and second.indices == ("i", "b")
    np.testing.assert_array_equal(np.asarray(first), np.asarray(second))


def test_repeated_argnums_of_grad(jax):
    g = td.grad(lambda x, y: np.sum(f(x, y)), argnums=(1, 1))(X, Y)
    expected = jax.grad(lambda x, y: jax.numpy.sum(jax.numpy.sin(x) * y + x**2), 1)(X, Y)
    assert len(g) == 2
    for each in g:
        np.testing.assert_allclose(np.asarray(each), np.asarray(expected), rtol=1e-13)


# ---- traced values that leak out of their call -----------------------------------------
def _leaked(derivative=td.grad):
    kept = []

    def h(x):
        kept.append(np.tanh(x))
        return np.sum(x**2)

    derivative(h)(X)
    return kept[0]


@pytest.mark.parametrize(
    "use",
    [
        lambda t: t + 1.0,
        lambda t: 2.0 * t,
        lambda t: X @ t,
        lambda t: np.exp(t),
        lambda t: np.sum(t),
        lambda t: t[0],
        lambda t: t.sum(),
        lambda t: t.reshape(3, 1),
        lambda t: t.T,
        lambda t: float(t[0]),
        lambda t: np.asarray(t),
        lambda t: bool(t),
        lambda t: t.tolist(),
        lambda t: [v for v in t],
    ],
)
def test_a_leaked_value_raises_on_any_use(use):
    with pytest.raises(td.TraceLeakError, match="after the differentiated call"):
        use(_leaked())


@pytest.mark.parametrize("derivative", [td.grad, td.jacobian, td.hessian])
def test_a_leaked_value_raises_inside_a_later_derivative(derivative):
    leaked = _leaked(derivative)
    with pytest.raises(td.TraceLeakError, match="after the differentiated call"):
        td.jacobian(lambda x: x * leaked)(X)
    with pytest.raises(td.TraceLeakError, match="after the differentiated call"):
        td.jacobian(lambda x: leaked + x)(X)


def test_a_value_leaked_from_a_jitted_derivative_raises():
    kept = []

    def h(x):
        kept.append(np.tanh(x))
        return np.sum(x**2)

    jitted = td.jit(td.grad(h))
    jitted(X)
    jitted(X + 1.0)  # replayed: h does not run, nothing new is kept
    assert len(kept) == 1
    with pytest.raises(td.TraceLeakError, match="after the differentiated call"):
        np.sin(kept[0])


def test_values_returned_through_a_derivative_stay_usable():
    # the Hessian's inner gradient is traced by the outer call: not a leak
    np.testing.assert_allclose(
        np.asarray(td.hessian(lambda x: np.sum(np.sin(x)))(X)), np.diag(-np.sin(X))
    )
    np.testing.assert_allclose(
        np.asarray(td.jacobian(td.grad(lambda x: np.sum(x**3)))(X)), np.diag(6 * X)
    )
