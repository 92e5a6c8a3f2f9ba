"""The NumPy override pitfalls (style study §9): each one either works or fails loudly."""

import numpy as np
import pytest

import tensordiff as td


def jac(f, *args):
    return np.asarray(td.jacobian(f)(*args))


@pytest.mark.parametrize(
    "call, name",
    [
        (lambda x: np.histogram(x)[0], "numpy.histogram"),
        (lambda x: np.linalg.matrix_rank(x[None]), "numpy.linalg.matrix_rank"),
        (lambda x: np.roots(x), "numpy.roots"),
        (lambda x: np.add.reduceat(x, [0, 1]), "numpy.add.reduceat"),
        (lambda x: np.subtract.accumulate(x), "numpy.subtract.accumulate"),
        (lambda x: np.unique(x), "numpy.unique"),
        (lambda x: np.interp(x, [0.0, 5.0], [1.0, 2.0], period=3.0), "numpy.interp"),
        (lambda x: np.maximum.reduceat(x, [0, 2]), "numpy.maximum.reduceat"),
    ],
)
def test_unsupported_functions_name_themselves(call, name):
    with pytest.raises(td.UnsupportedOperationError, match=name.replace(".", r"\.")):
        td.jacobian(call)(np.arange(1.0, 4.0))


def test_unsupported_is_a_type_error_and_a_tensordiff_error():
    with pytest.raises(TypeError):
        td.jacobian(np.spacing)(np.ones(3))
    assert issubclass(td.UnsupportedOperationError, td.TensorDiffError)


def test_ndarray_on_the_left_is_traced():
    a = np.array([1.0, 2.0, 3.0])
    np.testing.assert_allclose(jac(lambda x: a * x, np.ones(3)), np.diag(a))
    np.testing.assert_allclose(jac(lambda x: a - x, np.ones(3)), -np.eye(3))
    np.testing.assert_allclose(jac(lambda x: np.float64(2.0) * x, np.ones(3)), 2 * np.eye(3))


def test_inplace_update_of_an_ndarray_is_refused():
    def f(x):
        a = np.zeros(3)
        a += x
        return a

    with pytest.raises(td.UnsupportedOperationError, match="a = a \\+ t"):
        td.jacobian(f)(np.ones(3))


def test_inplace_operators_on_a_traced_value_rebind():
    def f(x):
        x += 1.0
        x *= x
        return x

    x = np.array([1.0, 2.0])
    np.testing.assert_allclose(jac(f, x), np.diag(2 * (x + 1)))


def test_out_and_where_keywords_are_refused():
    with pytest.raises(td.UnsupportedOperationError, match="out="):
        td.jacobian(lambda x: np.exp(x, out=np.empty(3)))(np.ones(3))
    with pytest.raises(td.UnsupportedOperationError, match="where"):
        td.jacobian(lambda x: np.exp(x, where=np.array([True, False, True])))(np.ones(3))
    with pytest.raises(td.UnsupportedOperationError, match="initial"):
        td.jacobian(lambda x: np.nanprod(x, initial=2.0))(np.ones(3))


def test_conversions_to_plain_numbers_inside_a_trace_are_refused():
    # np.asarray(x) and np.array([x, x]) build traced arrays (tests/ops/test_array_building.py)
    with pytest.raises(td.TraceLeakError, match="drop its derivative"):
        td.jacobian(lambda x: np.exp([x[0], x[1]]))(np.ones(3))
    with pytest.raises(td.TraceLeakError):
        td.jacobian(lambda x: float(np.sum(x)))(np.ones(3))


def test_a_traced_value_as_a_truth_value_is_refused():
    def f(x):
        return x if np.sum(x) else -x

    with pytest.raises(td.TraceLeakError, match="truth value"):
        td.jacobian(f)(np.ones(3))


@pytest.mark.parametrize(
    "f, comparison",
    [
        (lambda x: x * 3.0 if np.sum(x) > 0 else -x, "sum(x) > 0"),
        (lambda x: x * 3.0 if bool(x[0] < 0) else -x, "x[0] < 0"),
        (lambda x: x * 3.0 if (x >= 1).all() else -x, "x ≥ 1"),
        (lambda x: x * 3.0 if np.any(x != 0) and True else -x, "x ≠ 0"),
        (lambda x: x * float(np.floor(np.sum(x))), "floor(sum(x))"),
        (lambda x: x * int(np.sign(x[1])), "sign(x[1])"),
    ],
)
def test_a_branch_on_a_comparison_of_traced_values_is_refused(f, comparison):
    """The comparison is named, with what to write instead; no branch is taken silently."""
    for x in (np.ones(2), -np.ones(2)):
        with pytest.raises(td.TraceLeakError) as caught:
            td.jacobian(f)(x)
        message = str(caught.value)
        assert f"`{comparison}`" in message and "test_protocols.py" in message
        assert "np.where" in message


def test_the_branch_written_with_where_takes_each_side_s_derivative():
    def f(x):
        return np.where(np.sum(x) > 0, x * 3.0, -x)

    np.testing.assert_allclose(jac(f, np.ones(2)), 3 * np.eye(2))
    np.testing.assert_allclose(jac(f, -np.ones(2)), -np.eye(2))


def test_comparisons_of_traced_values_still_work_as_arrays():
    """Masks, logic and counting on a comparison are plain NumPy; only branches raise."""
    x = np.array([-1.0, 2.0, 3.0])

    def f(x):
        mask = (x > 0) & ~(x > 3.5)
        counted = np.where(mask, x, 0.0) * np.count_nonzero(mask) + x * mask.astype(float)
        return counted + np.sum(x[mask])

    # ∂/∂x[j] of (3 x[i] [mask i]) + Σ_{mask} x: 3 δ[i,j] mask[j] + mask[j]
    selected = np.array([0.0, 1.0, 1.0])
    np.testing.assert_allclose(jac(f, x), 3 * np.diag(selected) + selected[None, :])
    np.testing.assert_allclose(td.grad(lambda x: np.sum(x * (x > 0)))(x), [0.0, 1.0, 1.0])


def test_numpy_code_outside_a_trace_still_branches_on_comparisons():
    x = np.array([1.0, -2.0])
    jitted = td.jit(lambda x: x * 2.0 if np.sum(x) > 0 else x * 3.0)
    np.testing.assert_allclose(jitted(x), x * 3.0)
    np.testing.assert_allclose(jitted(-x), -x * 2.0)


def test_traced_indices_are_refused():
    with pytest.raises(td.UnsupportedOperationError, match="indices must be constants"):
        td.jacobian(lambda x: x[x])(np.ones(3))


def test_comparisons_and_sign_are_constants():
    x = np.array([-1.0, 2.0, 3.0])
    np.testing.assert_allclose(jac(lambda x: x * (x > 0), x), np.diag([0.0, 1.0, 1.0]))
    np.testing.assert_allclose(jac(lambda x: np.sign(x) * x, x), np.diag(np.sign(x)))


def test_shape_queries_and_like_constructors_return_plain_values():
    def f(x):
        assert np.shape(x) == (2, 3) and np.ndim(x) == 2 and np.size(x) == 6
        return x + np.ones_like(x) + np.zeros_like(x)

    np.testing.assert_allclose(jac(f, np.ones((2, 3))), np.eye(6).reshape(2, 3, 2, 3))


def test_other_duck_arrays_get_their_turn():
    class Other:
        def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
            return "other"

    seen = []

    def f(x):
        seen.append(np.add(x, Other()))
        return x

    td.jacobian(f)(np.ones(2))
    assert seen == ["other"]


def test_deep_chains_do_not_hit_the_recursion_limit():
    def f(x):
        for _ in range(3000):
            x = x * 1.0001
        return x

    np.testing.assert_allclose(jac(f, np.ones(2)), 1.0001**3000 * np.eye(2))
