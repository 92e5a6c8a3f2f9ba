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
