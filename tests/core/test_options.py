"""Counts and sizes: bools refused, any numbers.Integral accepted."""

import numpy as np
import pytest

import tensordiff as td


@pytest.fixture
def restore_limit():
    previous = td.get_memory_limit()
    yield
    td.set_memory_limit(previous)


@pytest.mark.parametrize("bad", [True, False, np.bool_(True), 0, -1, 2.0**30, "1GB", None])
def test_memory_limits_refuse_what_is_not_a_positive_integer(restore_limit, bad):
    with pytest.raises(td.OptionError, match="memory limit"):
        td.set_memory_limit(bad)
    with pytest.raises(td.OptionError, match="memory limit"), td.memory_limit(bad):
        pass


@pytest.mark.parametrize("integral", [np.int64(2**30), np.uint32(2**30), 2**30])
def test_memory_limits_take_any_integral(restore_limit, integral):
    td.set_memory_limit(integral)
    assert td.get_memory_limit() == 2**30 and type(td.get_memory_limit()) is int
    with td.memory_limit(integral // 2):
        assert td.get_memory_limit() == 2**29


def test_an_integral_limit_refuses_a_dense_array_over_it(restore_limit):
    td.set_memory_limit(np.int64(1000))  # 125 float64 entries
    J = td.jacobian(np.sin)(np.ones(12))  # 144 entries dense
    with pytest.raises(td.JacobianTooLarge):
        np.asarray(J)
    np.testing.assert_allclose(
        np.asarray(td.jacobian(np.sin)(np.ones(11))), np.diag(np.cos(np.ones(11)))
    )


BOOLS = [True, False, np.bool_(True)]


def _sum_of_squares(x, y):
    return np.sum(x**2) + np.sum(x * y)


@pytest.fixture
def args():
    return np.array([1.0, 2.0]), np.array([3.0, 4.0])


@pytest.mark.parametrize("bad", BOOLS + [1.0, "1"])
@pytest.mark.parametrize(
    "api",
    [
        lambda argnums: td.jacobian(_sum_of_squares, argnums=argnums),
        lambda argnums: td.jacobian(_sum_of_squares, argnums=(0, argnums)),
        lambda argnums: td.grad(_sum_of_squares, argnums=argnums),
        lambda argnums: td.hessian(_sum_of_squares, argnums=argnums),
        lambda argnums: td.plan(_sum_of_squares, argnums=argnums),
        lambda argnums: td.explain(_sum_of_squares, argnums=argnums),
    ],
    ids=["jacobian", "jacobian-tuple", "grad", "hessian", "plan", "explain"],
)
def test_argnums_refuse_bools_and_non_integers(args, api, bad):
    with pytest.raises(td.OptionError, match="argnums"):
        api(bad)(*args)


@pytest.mark.parametrize("position", [np.int64(1), np.int32(-1), np.uint8(1)])
def test_argnums_take_any_integral(args, position):
    """∂f/∂y = x, whatever integral type names the position of y."""
    x, y = args
    np.testing.assert_allclose(np.asarray(td.grad(_sum_of_squares, argnums=position)(x, y)), x)
    (J,) = td.jacobian(_sum_of_squares, argnums=(position,))(x, y)
    np.testing.assert_allclose(np.asarray(J), x)
    np.testing.assert_allclose(
        np.asarray(td.hessian(_sum_of_squares, argnums=position)(x, y)), np.zeros((2, 2))
    )


# NumPy itself reads True as 1 in each of these (np.moveaxis(x, True, 0) moves axis 1)
TAKES_A_BOOL = {
    "moveaxis": lambda x, b: np.moveaxis(x, b, 0),
    "expand_dims": lambda x, b: np.expand_dims(x, b),
    "roll": lambda x, b: np.roll(x, 1, axis=b),
    "flip": lambda x, b: np.flip(x, axis=b),
    "cumsum": lambda x, b: np.cumsum(x, axis=b),
    "swapaxes": lambda x, b: np.swapaxes(x, b, 0),
    "stack": lambda x, b: np.stack([x, x], axis=b),
    "diagonal": lambda x, b: np.diagonal(x, offset=b),
    "repeat": lambda x, b: np.repeat(x, b),
    "tile": lambda x, b: np.tile(x, b),
    "tensordot": lambda x, b: np.tensordot(x, np.ones((3, 2)), axes=b),
}


@pytest.mark.parametrize("name", TAKES_A_BOOL)
@pytest.mark.parametrize("bad", [True, False])
def test_a_count_or_axis_given_as_a_bool_is_refused_inside_a_traced_function(name, bad):
    with pytest.raises(td.OptionError, match=f"numpy.{name}.*bool"):
        td.jacobian(lambda x: TAKES_A_BOOL[name](x, bad))(np.ones((2, 3)))


def test_an_axis_of_any_integral_type_is_taken():
    x = np.arange(6.0).reshape(2, 3)
    J = td.jacobian(lambda v: np.sum(v**2, axis=np.int64(1)))(x)
    want = np.zeros((2, 2, 3))
    for i in range(2):
        want[i, i] = 2 * x[i]
    np.testing.assert_allclose(np.asarray(J), want)


@pytest.mark.parametrize("bad", BOOLS + [0, 2.0])
def test_jit_cache_size_refuses_bools(bad):
    with pytest.raises(td.OptionError, match="max_entries"):
        td.jit(np.sin, max_entries=bad)
