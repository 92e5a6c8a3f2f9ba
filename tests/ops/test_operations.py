"""Every supported operation: against central finite differences, and against jax.jacobian."""

import numpy as np
import pytest
from cases import cases

import tensordiff as td

CASES = cases()


def _args(case, rng):
    return [rng.uniform(case["low"], case["high"], size=shape) for shape in case["shapes"]]


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_matches_central_differences(case, rng):
    args = _args(case, rng)
    td.check_grads(case["f"], args, argnums=tuple(range(len(args))))


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_shape_and_labels_follow_the_jax_convention(case, rng):
    args = _args(case, rng)
    out_shape = np.shape(case["f"](*args))
    for argnum, arg in enumerate(args):
        J = td.jacobian(case["f"], argnums=argnum)(*args)
        assert J.shape == out_shape + arg.shape
        assert np.asarray(J).shape == J.shape
        assert len(J.out_indices) == len(out_shape) and len(J.in_indices) == arg.ndim
        assert J.indices == J.out_indices + J.in_indices
        assert len(set(J.indices)) == len(J.indices)


@pytest.mark.parametrize("index", range(len(CASES)), ids=[c["id"] for c in CASES])
def test_matches_jax_jacobian(index, rng, jax):
    case, twin = CASES[index], cases(jax.numpy)[index]
    args = _args(case, rng)
    for argnum in range(len(args)):
        ours = np.asarray(td.jacobian(case["f"], argnums=argnum)(*args))
        theirs = np.asarray(jax.jacobian(twin["jf"], argnums=argnum)(*args))
        np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-13)


def test_maximum_splits_ties_evenly_like_jax():
    x = np.array([1.0, 2.0, 3.0])
    J = np.asarray(td.jacobian(lambda x: np.maximum(x, 2.0))(x))
    np.testing.assert_array_equal(np.diag(J), [0.0, 0.5, 1.0])


def test_float32_stays_float32(rng):
    W = rng.normal(size=(3, 4)).astype(np.float32)
    x = rng.normal(size=4).astype(np.float32)
    J = td.jacobian(lambda W: np.tanh(W @ x))(W)
    assert J.dtype == np.float32 and np.asarray(J).dtype == np.float32


def test_integer_arguments_are_promoted():
    J = td.jacobian(lambda x: x * x)(np.array([1, 2, 3]))
    assert J.dtype == np.float64
    np.testing.assert_array_equal(np.asarray(J), np.diag([2.0, 4.0, 6.0]))


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_forward_order_gives_the_same_tensor_as_reverse(case, rng):
    args = _args(case, rng)
    for argnum in range(len(args)):
        forward = td.jacobian(case["f"], argnums=argnum, mode="forward")(*args)
        reverse = td.jacobian(case["f"], argnums=argnum, mode="reverse")(*args)
        assert forward.indices == reverse.indices
        np.testing.assert_allclose(np.asarray(forward), np.asarray(reverse), rtol=1e-12, atol=1e-14)


def test_unknown_mode_lists_the_valid_ones():
    with pytest.raises(td.OptionError, match="forward"):
        td.jacobian(np.sin, mode="sideways")


def test_i0_to_the_second_derivative(jax):
    """np.i0's derivative I₁ (a series: NumPy has no i1) agrees with JAX up to |x| = 200;
    at 0 the second derivative is I₀''(0) = ½ (I₀ = 1 + x²/4 + …), where JAX gives 0."""
    x = np.array([0.0, 0.3, -1.5, 4.0, -9.0, 30.0, -60.0, 200.0])
    theirs = jax.jacobian(jax.numpy.i0)(x)
    np.testing.assert_allclose(np.asarray(td.jacobian(np.i0)(x)), theirs, rtol=1e-13)
    ours = np.diag(np.asarray(td.hessian(lambda v: np.sum(np.i0(v)))(x)))
    theirs = np.diag(jax.hessian(lambda v: jax.numpy.sum(jax.numpy.i0(v)))(x))
    assert ours[0] == 0.5
    np.testing.assert_allclose(ours[1:], theirs[1:], rtol=1e-13)
