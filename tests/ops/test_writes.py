"""Writes in place (``y[i] = v``, ``y += v``, ``y.sort()``, ``np.fill_diagonal``,
``np.add.at``, ``out=``) with NumPy's semantics: every name for the array written sees the
write, and a view of it taken before the write is refused on use rather than read with the
old numbers. Checked against JAX's functional twins (``.at[].set``), central differences
of the NumPy program itself, and closed forms."""

import numpy as np
import pytest
from differences import central_differences

import tensordiff as td


def _jacobian(f, x):
    return np.asarray(td.jacobian(f)(x))


# ---- the wrong number this fixes: another name for an array written with += -------------
def test_an_in_place_add_is_seen_through_another_name():
    def f(x):
        y = x * 2
        z = y  # the same array: NumPy's += changes what z shows
        y += 1
        return z * x

    x = np.array([0.5, 1.0, 2.0])
    np.testing.assert_allclose(_jacobian(f, x), np.diag(4 * x + 1))  # d((2x + 1) x)/dx
    np.testing.assert_allclose(_jacobian(f, x), central_differences(f, x), atol=1e-7)


@pytest.mark.parametrize(
    "view",
    [lambda y: y[0:2], lambda y: y.T, lambda y: y.reshape(3, 1), lambda y: np.real(y)],
    ids=["slice", "T", "reshape", "real"],
)
def test_a_view_taken_before_a_write_is_refused_on_use(view):
    def f(x):
        y = x * 2
        v = view(y)
        y += 1  # NumPy's v shows this write; tensordiff's would not
        return v

    with pytest.raises(td.UnsupportedOperationError, match="written in place"):
        td.jacobian(f)(np.ones(3))


def test_a_write_into_a_view_leaves_the_base_stale():
    def f(x):
        y = x.copy()
        y.reshape(2, 2)[0, 1] = 7.0  # NumPy writes y[1]
        return y

    with pytest.raises(td.UnsupportedOperationError, match="written in place"):
        td.jacobian(f)(np.ones(4))


def test_a_copy_is_not_a_view():
    def f(x):
        y = np.array(x)  # a copy, as x.copy() and np.copy(x)
        z = x.copy()
        y[0] = 0.0
        z[1] *= 3.0
        return x + y + z

    x = np.array([1.0, 2.0, 3.0])
    np.testing.assert_allclose(_jacobian(f, x), central_differences(f, x), atol=1e-7)


def test_asarray_is_the_array_itself():
    def f(x):
        y = x * 1.0
        z = np.asarray(y)
        z[0] = 5.0  # NumPy: y[0] is 5 too
        return y * x

    x = np.array([1.0, 2.0, 3.0])
    np.testing.assert_allclose(_jacobian(f, x), central_differences(f, x), atol=1e-7)


# ---- item assignment, against JAX's x.at[...].set ---------------------------------------
@pytest.mark.parametrize(
    "index, value",
    [
        (0, lambda np, x: x[1] ** 2),
        (slice(1, 3), lambda np, x: np.sin(x[:2])),
        ((Ellipsis, 1), lambda np, x: 2.0),
        (np.array([0, 2]), lambda np, x: x[1] * x[2]),
        (np.array([True, False, True, False]), lambda np, x: np.exp(x[1:3])),
    ],
    ids=["int", "slice", "ellipsis", "integers", "mask"],
)
def test_item_assignment_matches_jax(index, value, jax):
    jnp = jax.numpy

    def ours(x):
        y = x * 3.0
        y[index] = value(np, x)
        return y * x

    def theirs(x):
        y = x * 3.0
        return y.at[index].set(value(jnp, x)) * x

    x = np.array([0.3, -1.2, 0.8, 2.0])
    np.testing.assert_allclose(_jacobian(ours, x), jax.jacobian(theirs)(jnp.asarray(x)))
    np.testing.assert_allclose(
        np.asarray(td.hessian(lambda x: np.sum(ours(x) ** 2))(x)),
        jax.hessian(lambda x: jnp.sum(theirs(x) ** 2))(jnp.asarray(x)),
        atol=1e-12,
    )


def test_repeated_positions_keep_the_last_write_as_numpy():
    def f(x):
        y = x * 2
        y[[1, 1]] = [x[0], x[2] ** 2]
        return y

    x = np.array([1.0, 2.0, 3.0])
    np.testing.assert_allclose(td.jacobian(f)(x).__array__(), central_differences(f, x), atol=1e-7)


def test_row_normalisation_in_a_loop_matches_jax(rng, jax):
    def ours(X):
        X = X.copy()
        for i in range(X.shape[0]):
            X[i] = X[i] / np.linalg.norm(X[i])
        return X

    def theirs(X):
        return X / jax.numpy.linalg.norm(X, axis=1, keepdims=True)

    X = rng.normal(size=(3, 4))
    np.testing.assert_allclose(_jacobian(ours, X), jax.jacobian(theirs)(X), atol=1e-12)


def test_writing_into_the_argument_differentiates_by_the_argument():
    def f(x):
        x += 1.0
        x[0] = x[1] ** 2
        return x * 3

    x = np.array([0.0, 1.0, 2.0])
    np.testing.assert_allclose(_jacobian(f, x), central_differences(f, x), atol=1e-6)


def test_a_recursion_written_in_place_matchescentral_differences():
    A = np.array([[4.0, 1.0, 0.0], [1.0, 3.0, 1.0], [0.0, 1.0, 2.0]])

    def gauss_seidel(b):
        x = b * 0.0
        for _ in range(4):
            for i in range(3):
                x[i] = (b[i] - A[i] @ x + A[i, i] * x[i]) / A[i, i]
        return x

    b = np.array([1.0, -2.0, 0.5])
    np.testing.assert_allclose(
        _jacobian(gauss_seidel, b), central_differences(gauss_seidel, b), atol=1e-7
    )


def test_jit_replays_writes_at_positions_from_the_values():
    def f(x):
        y = x.copy()
        y[y > 1.5] = 0.0
        y[0] += x[2]
        return y * x

    jitted = td.jit(td.jacobian(f))
    for x in (np.array([1.0, 2.0, 1.0]), np.array([2.0, 1.0, 3.0])):
        np.testing.assert_allclose(np.asarray(jitted(x)), central_differences(f, x), atol=1e-7)


# ---- in-place methods and NumPy's writing functions ------------------------------------
def test_sort_in_place_matches_jax_sort(jax):
    def ours(x):
        y = x.copy()
        y.sort()
        return y[-2:]

    x = np.array([0.3, -1.0, 2.0, 0.7])
    expected = jax.jacobian(lambda x: jax.numpy.sort(x)[-2:])(x)
    np.testing.assert_allclose(_jacobian(ours, x), expected)


@pytest.mark.parametrize(
    "write",
    [
        lambda y, x: np.fill_diagonal(y, x[0, 1]),
        lambda y, x: np.put(y, [0, 5, 0], x[1] * 2),
        lambda y, x: np.putmask(y, np.eye(3, dtype=bool), x[0]),
        lambda y, x: np.place(y, np.eye(3, dtype=bool), [x[2, 2], 1.0]),
        lambda y, x: np.copyto(y, x**2, where=np.tri(3, dtype=bool)),
        lambda y, x: np.put_along_axis(y, np.array([[0], [2], [1]]), x[:, :1] ** 3, axis=1),
        lambda y, x: np.add.at(y, ([0, 0, 2], [1, 1, 0]), x[2]),
        lambda y, x: np.subtract.at(y, [1, 1], x[0, 0]),
        lambda y, x: np.multiply(x, 3.0, out=y),
        lambda y, x: y.fill(x[1, 1]),
        lambda y, x: y.put([2, 2], x[0, :2]),
    ],
    ids=[
        "fill_diagonal",
        "put",
        "putmask",
        "place",
        "copyto",
        "put_along_axis",
        "add.at",
        "subtract.at",
        "out",
        "fill",
        "method put",
    ],  # fmt: skip
)
def test_numpy_writing_functions_matchcentral_differences(write):
    def f(x):
        y = np.sin(x)
        write(y, x)
        return y * x

    x = np.array([[0.3, -1.0, 0.5], [1.5, 0.2, -0.4], [0.9, -0.6, 1.1]])
    np.testing.assert_allclose(_jacobian(f, x), central_differences(f, x), atol=1e-7)


def test_scatter_add_matches_jax(jax):
    def ours(x):
        y = x[:3] * 1.0
        np.add.at(y, [0, 1, 1, 2, 2], x)
        return y

    def theirs(x):
        return (x[:3] * 1.0).at[jax.numpy.array([0, 1, 1, 2, 2])].add(x)

    x = np.array([0.3, -1.0, 0.5, 2.0, 1.0])
    np.testing.assert_allclose(_jacobian(ours, x), jax.jacobian(theirs)(x))


@pytest.mark.parametrize(
    "f",
    [
        lambda x: np.add.at(np.zeros(3), [0, 1, 1], x),
        lambda x: np.fill_diagonal(np.zeros((3, 3)), x[0]),
        lambda x: np.multiply(x, 2.0, out=np.empty(3)),
    ],
    ids=["add.at", "fill_diagonal", "out"],
)
def test_writing_a_traced_value_into_a_numpy_array_is_refused(f):
    # NumPy hands np.fill_diagonal to tensordiff only for a traced target; its own code
    # then converts the value, which raises TraceLeakError
    with pytest.raises((td.UnsupportedOperationError, td.TraceLeakError)):
        td.jacobian(f)(np.ones(3))


def test_an_in_place_operation_cannot_change_the_shape():
    def f(x):
        y = x * 1.0
        y += np.ones((2, 3))
        return y

    with pytest.raises(td.ShapeError, match="in-place"):
        td.jacobian(f)(np.ones(3))


# ---- arrays shaped like a traced one: accumulators and buffers (as jax.numpy's) ----------
def _accumulated(np, x):
    total = np.zeros_like(x)
    for k in range(1, 4):
        total += x**k / k
    return total


def test_an_accumulator_from_zeros_like_matches_jax(jax):
    x = np.array([0.3, -1.2, 2.0])
    expected = jax.jacobian(lambda x: _accumulated(jax.numpy, x))(x)
    np.testing.assert_allclose(_jacobian(lambda x: _accumulated(np, x), x), expected)
    H = td.hessian(lambda x: np.sum(_accumulated(np, x)))(x)
    np.testing.assert_allclose(np.asarray(H), np.diag(1 + 2 * x))  # d²Σ(x + x²/2 + x³/3)
    replay = td.jit(td.jacobian(lambda x: _accumulated(np, x)))
    replay(x)
    np.testing.assert_allclose(
        np.asarray(replay(2 * x)), jax.jacobian(lambda x: _accumulated(jax.numpy, x))(2 * x)
    )


@pytest.mark.parametrize(
    "make", [np.zeros_like, np.empty_like, np.ones_like, lambda x: np.full_like(x, 2.5)]
)
def test_a_buffer_shaped_like_the_argument_is_filled_by_writes(make):
    def f(x):
        out = make(x)
        out[0] = x[0] ** 2
        out[1:] = x[1:] * x[0]
        return out

    x = np.array([0.3, -1.2, 2.0])
    np.testing.assert_allclose(_jacobian(f, x), central_differences(f, x), atol=1e-7)
    np.testing.assert_array_equal(x, [0.3, -1.2, 2.0])  # the argument is not written


def test_shaped_like_constants_have_no_derivative_but_numpys_values():
    x = np.array([0.3, -1.2])
    for make in (np.zeros_like, np.ones_like, lambda x: np.full_like(x, 2.5)):
        value, J = td.value_and_jacobian(make)(x)
        np.testing.assert_array_equal(np.asarray(value), make(x))
        np.testing.assert_array_equal(np.asarray(J), np.zeros((2, 2)))


def test_full_like_with_a_traced_fill_value_matches_jax(jax):
    x = np.array([0.3, -1.2, 2.0])
    expected = jax.jacobian(lambda x: jax.numpy.full_like(x, x[0] * x[1]) * x)(x)
    np.testing.assert_allclose(_jacobian(lambda x: np.full_like(x, x[0] * x[1]) * x, x), expected)


def test_integer_and_boolean_arrays_shaped_like_a_traced_one_stay_numpy_arrays():
    def f(x):
        mask = np.zeros_like(x, dtype=bool)
        mask[1:] = True  # a plain mask: NumPy writes it, and x[mask] indexes with it
        counts = np.ones_like(x, dtype=np.int64)
        assert type(mask) is np.ndarray and type(counts) is np.ndarray
        return x[mask] * counts[mask]

    x = np.array([0.3, -1.2, 2.0])
    np.testing.assert_allclose(_jacobian(f, x), np.eye(3)[1:])
    with pytest.raises(td.UnsupportedOperationError, match=r"full_like.*int64.*float dtype"):
        td.jacobian(lambda x: np.full_like(x, x[0], dtype=np.int64))(x)


def test_an_array_created_like_a_traced_one_is_a_buffer_writes_are_recorded_into(jax):
    def ours(x):
        buf = np.zeros(4, like=x)  # NumPy hands the call over without like=
        buf[1:] = x[:3] ** 2
        return buf + np.eye(4, like=x) @ x + np.full(4, 0.5, like=x) * x

    def theirs(x):
        jnp = jax.numpy
        return jnp.zeros(4).at[1:].set(x[:3] ** 2) + jnp.eye(4) @ x + jnp.full(4, 0.5) * x

    x = np.array([0.3, -1.2, 2.0, 0.7])
    np.testing.assert_allclose(_jacobian(ours, x), jax.jacobian(theirs)(x))
    replay = td.jit(td.jacobian(ours))
    replay(x)
    np.testing.assert_allclose(np.asarray(replay(2 * x)), jax.jacobian(theirs)(2 * x))
    assert replay.cache_info().hits == 1
    positions = td.jacobian(lambda x: x[np.arange(4, like=x)])(x)  # integers stay plain
    np.testing.assert_array_equal(np.asarray(positions), np.eye(4))
