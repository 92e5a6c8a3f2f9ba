"""Degenerate inputs and non-smooth points: singular matrices, empty arrays and pieces,
ties, repeated singular values, ``x ** 0`` — against JAX and closed forms."""

import warnings

import numpy as np
import pytest

import tensordiff as td

RANK_TWO = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0], [7.0, 8.0, 10.0]])
RANK_TWO[2] = RANK_TWO[0] + RANK_TWO[1]  # exactly singular: row 3 = row 1 + row 2
RANK_ONE = np.outer([1.0, 2.0, -1.0], [3.0, 0.5, 2.0])


def _cofactor_matrix(A):
    """Closed form: (−1)^(i+j) times the determinant of A without row i and column j."""
    n = len(A)
    return np.array(
        [
            [(-1) ** (i + j) * np.linalg.det(np.delete(np.delete(A, i, 0), j, 1)) for j in range(n)]
            for i in range(n)
        ]
    )


@pytest.mark.parametrize("A", [RANK_TWO, RANK_ONE, np.diag([1.0, 1.0, 0.0])], ids=str)
def test_det_gradient_at_a_singular_matrix_is_the_cofactor_matrix(A, jax):
    g = np.asarray(td.grad(np.linalg.det)(A))
    np.testing.assert_allclose(g, _cofactor_matrix(A), atol=1e-12)
    np.testing.assert_allclose(g, jax.grad(jax.numpy.linalg.det)(A), atol=1e-12)


def test_det_hessian_at_a_singular_matrix_matches_jax(jax):
    ours = np.asarray(td.hessian(np.linalg.det)(RANK_TWO))
    np.testing.assert_allclose(ours, jax.hessian(jax.numpy.linalg.det)(RANK_TWO), atol=1e-10)


def test_det_gradient_of_a_stack_with_a_singular_matrix(rng, jax):
    A = np.stack([RANK_TWO, rng.normal(size=(3, 3))])
    ours = np.asarray(td.jacobian(np.linalg.det)(A))
    np.testing.assert_allclose(ours, jax.jacobian(jax.numpy.linalg.det)(A), atol=1e-10)


def test_slogdet_gradient_at_a_singular_matrix_is_infinite_like_jax(jax):
    A = np.diag([1.0, 1.0, 0.0])
    ours = np.asarray(td.grad(lambda A: np.linalg.slogdet(A)[1])(A))
    theirs = np.asarray(jax.grad(lambda A: jax.numpy.linalg.slogdet(A)[1])(A))
    np.testing.assert_array_equal(np.isnan(ours), np.isnan(theirs))
    np.testing.assert_array_equal(ours[~np.isnan(ours)], theirs[~np.isnan(theirs)])


@pytest.mark.parametrize(
    "f",
    [
        lambda A: np.linalg.inv(A),
        lambda A: np.linalg.solve(A, np.ones(3)),
        lambda A: np.linalg.matrix_power(A, -1),
    ],
    ids=["inv", "solve", "matrix_power"],
)
def test_singular_inv_and_solve_raise_linalg_error(f):
    with pytest.raises(np.linalg.LinAlgError, match="numpy.linalg") as error:
        td.jacobian(f)(np.diag([1.0, 1.0, 0.0]))
    assert isinstance(error.value, td.TensorDiffError)


@pytest.mark.parametrize(
    "f",
    [lambda x: np.mean(x), lambda x: np.sum(x * x), lambda x: np.reshape(x, (2, 0)).T, np.std],
    ids=["mean", "sum-of-squares", "reshape", "std"],
)
def test_size_zero_arrays_have_empty_jacobians_and_hessians(f):
    x = np.zeros(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # NumPy warns about the mean of nothing
        expected = np.shape(f(x))
    J = td.jacobian(f)(x)
    assert J.shape == expected + (0,) and np.asarray(J).shape == J.shape
    if expected == ():
        assert np.asarray(td.hessian(f)(x)).shape == (0, 0)


@pytest.mark.parametrize("indices", [[0], [0, 2, 2], [4], [5, 1]])
def test_split_with_empty_pieces(indices, rng):
    x = rng.normal(size=4)
    pieces = np.split(x, indices)
    for n, piece in enumerate(pieces):
        J = np.asarray(td.jacobian(lambda x, n=n: np.split(x, indices)[n])(x))
        assert J.shape == piece.shape + x.shape
        np.testing.assert_array_equal(J @ x, piece)  # a selection: J x picks the piece


def test_array_split_with_more_sections_than_entries(rng):
    x = rng.normal(size=2)
    last = td.jacobian(lambda x: np.array_split(x, 3)[2])(x)
    assert last.shape == (0, 2)


def test_second_derivative_of_x_to_the_zero_is_zero_at_zero():
    for x in (np.zeros(3), np.array([0.0, 1.0, -2.0])):
        np.testing.assert_array_equal(np.asarray(td.hessian(lambda x: np.sum(x**0.0))(x)), 0.0)
    # a varying exponent that is 0 somewhere: d²/dx² x^y = y (y − 1) x^(y−2), 0 where y = 0
    y = np.array([0.0, 2.0])
    H = np.asarray(td.hessian(lambda x: np.sum(x**y))(np.zeros(2)))
    np.testing.assert_array_equal(H, np.diag([0.0, 2.0]))


def test_sort_ties_give_each_output_one_input_like_jax(jax):
    x = np.array([1.0, 2.0, 1.0, 2.0])
    ours = np.asarray(td.jacobian(np.sort)(x))
    np.testing.assert_array_equal(ours, jax.jacobian(jax.numpy.sort)(x))
    np.testing.assert_array_equal(ours.sum(axis=0), 1.0)  # a permutation matrix


def test_repeated_singular_values(jax):
    identity = np.eye(3)
    # the nuclear norm's gradient U Vᵀ does not depend on the choice of singular vectors
    nuclear = np.asarray(td.grad(lambda A: np.linalg.norm(A, "nuc"))(identity))
    np.testing.assert_allclose(nuclear, identity, atol=1e-14)
    # the spectral norm shares its derivative among tied singular values, as JAX does
    spectral = np.asarray(td.grad(lambda A: np.linalg.norm(A, 2))(identity))
    np.testing.assert_allclose(spectral, jax.grad(lambda A: jax.numpy.linalg.norm(A, 2))(identity))


def test_roll_along_a_repeated_axis_adds_the_shifts(rng):
    x = rng.normal(size=(2, 5))
    J = np.asarray(td.jacobian(lambda x: np.roll(x, (1, 2), axis=(1, 1)))(x))
    np.testing.assert_array_equal(np.einsum("abij,ij->ab", J, x), np.roll(x, 3, axis=1))


@pytest.mark.parametrize(
    "f, named",
    [
        (lambda A: np.linalg.svd(A)[0], "linalg.svd.*full_matrices=False"),
        (lambda x: np.linalg.norm(x, 0), "linalg.norm"),
        (lambda x: np.repeat(x, np.sum(x)), "repeat"),
    ],
    ids=["svd-full-vectors-of-non-square", "norm-0", "traced-repeats"],
)
def test_what_has_no_derivative_here_is_refused_by_name(f, named, rng):
    with pytest.raises(td.UnsupportedOperationError, match=named):
        td.jacobian(f)(rng.normal(size=(4, 3)) if "svd" in named else rng.normal(size=3))
