"""Sums of terms: add_terms merges terms of one delta pattern, against dense NumPy sums."""

import math

import numpy as np
import pytest

from tensordiff.core.dense import write_dense
from tensordiff.core.sums import add_terms
from tensordiff.core.term import Term, fresh_class


def classes(*sizes):
    """Fresh classes of these sizes: ``(ids, sizes dict)``."""
    ids = tuple(fresh_class() for _ in sizes)
    return ids, dict(zip(ids, sizes, strict=True))


def densely(terms, shape):
    return write_dense(list(terms), shape, np.float64)


def shape_of(term):
    return tuple(math.prod(term.sizes[c] for c in axis) for axis in term.axes)


def holds(term, array):
    """Whether ``array`` (that very object) is one of the term's factors."""
    return any(factor is array for factor, _ in term.factors)


def diag_times(v):
    """δ[i,j] v[i]."""
    (a,), sizes = classes(len(v))
    return Term(((v, (a,)),), ((a,), (a,)), sizes)


def matrix_times_vector(A, v):
    """T[i,j] = A[i,j] v[j] (no delta)."""
    (a, b), sizes = classes(*A.shape)
    return Term(((A, (a, b)), (v, (b,))), ((a,), (b,)), sizes)


def test_same_pattern_merges_into_one_term_with_the_summed_value(rng):
    v, w = rng.normal(size=3), rng.normal(size=3)
    (merged,) = add_terms([diag_times(v), diag_times(w)])
    np.testing.assert_allclose(densely([merged], (3, 3)), np.diag(v) + np.diag(w))


def test_a_shared_factor_array_stays_lazy(rng):
    A, u, w = rng.normal(size=(4, 5)), rng.normal(size=5), rng.normal(size=5)
    (merged,) = add_terms([matrix_times_vector(A, u), matrix_times_vector(A, w)])
    assert holds(merged, A)
    np.testing.assert_allclose(densely([merged], (4, 5)), A * u + A * w)


def test_the_two_paths_of_x_times_x_become_twice_one_term(rng):
    x = rng.normal(size=4)
    (merged,) = add_terms([diag_times(x), diag_times(x)])
    assert holds(merged, x)
    np.testing.assert_allclose(densely([merged], (4, 4)), 2 * np.diag(x))


def test_a_shared_factor_with_a_summed_class_stays_lazy(rng):
    A, B, C = rng.normal(size=(2, 3)), rng.normal(size=(3, 4)), rng.normal(size=(3, 4))

    def product(A, B):  # Σ_k A[i,k] B[k,j]
        (i, k, j), sizes = classes(2, 3, 4)
        return Term(((A, (i, k)), (B, (k, j))), ((i,), (j,)), sizes)

    (merged,) = add_terms([product(A, B), product(A, C)])
    assert holds(merged, A)
    np.testing.assert_allclose(densely([merged], (2, 4)), A @ B + A @ C)


def test_shared_factor_matched_across_differently_ordered_classes(rng):
    A, u, w = rng.normal(size=(3, 3)), rng.normal(size=3), rng.normal(size=3)
    (a, b), sizes = classes(3, 3)
    first = Term(((A, (a, b)), (u, (a,))), ((a,), (b,)), sizes)  # A[i,j] u[i]
    (c, d), sizes = classes(3, 3)
    second = Term(((w, (d,)), (A, (c, d))), ((c,), (d,)), sizes)  # w[j] A[i,j]
    (merged,) = add_terms([first, second])
    np.testing.assert_allclose(densely([merged], (3, 3)), A * u[:, None] + A * w[None, :])


def test_the_same_array_on_transposed_classes_is_not_a_common_factor(rng):
    A = rng.normal(size=(3, 3))
    (a, b), sizes = classes(3, 3)
    first = Term(((A, (a, b)),), ((a,), (b,)), sizes)  # A[i,j]
    (c, d), sizes = classes(3, 3)
    second = Term(((A, (d, c)),), ((c,), (d,)), sizes)  # A[j,i]
    (merged,) = add_terms([first, second])
    np.testing.assert_allclose(densely([merged], (3, 3)), A + A.T)


def test_parts_larger_than_their_factors_are_added_densely(rng):
    # x[i] (u[j] p[k] + w[j] q[k]): the differing parts would span j×k, larger than
    # any of their factors, so the cores are added instead; the value is the same.
    x, u, p, w, q = (rng.normal(size=n) for n in (2, 3, 4, 3, 4))

    def term(x, u, p):
        (i, j, k), sizes = classes(2, 3, 4)
        return Term(((x, (i,)), (u, (j,)), (p, (k,))), ((i,), (j,), (k,)), sizes)

    (merged,) = add_terms([term(x, u, p), term(x, w, q)])
    expected = np.einsum("i,j,k->ijk", x, u, p) + np.einsum("i,j,k->ijk", x, w, q)
    np.testing.assert_allclose(densely([merged], (2, 3, 4)), expected)


def test_pure_deltas_of_one_pattern_add_up(rng):
    def identity(n):
        (a,), sizes = classes(n)
        return Term((), ((a,), (a,)), sizes)

    (merged,) = add_terms([identity(3), identity(3), identity(3)])
    np.testing.assert_allclose(densely([merged], (3, 3)), 3 * np.eye(3))


def test_composite_axes_of_one_pattern_merge(rng):
    # δ between a flattened axis (a, b) and the axes a and b, times a factor over a or b
    v, w = rng.normal(size=2), rng.normal(size=3)

    def flattening_times(array, which):
        (a, b), sizes = classes(2, 3)
        return Term(((array, ((a, b)[which],)),), ((a, b), (a,), (b,)), sizes)

    first, second = flattening_times(v, 0), flattening_times(w, 1)
    assert first.structure_key() == second.structure_key()
    (merged,) = add_terms([first, second])
    delta = np.eye(6).reshape(6, 2, 3)
    expected = delta * v[None, :, None] + delta * w[None, None, :]
    np.testing.assert_allclose(densely([merged], (6, 2, 3)), expected)


def test_different_patterns_stay_apart(rng):
    A, v = rng.normal(size=(3, 3)), rng.normal(size=3)
    (a, b), sizes = classes(3, 3)
    dense = Term(((A, (a, b)),), ((a,), (b,)), sizes)
    result = add_terms([dense, diag_times(v)])
    assert len(result) == 2
    np.testing.assert_allclose(densely(result, (3, 3)), A + np.diag(v))


def test_sizes_make_patterns_differ(rng):
    v, w = rng.normal(size=2), rng.normal(size=3)
    first, second = diag_times(v), diag_times(w)
    assert len(add_terms([first, second])) == 2


@pytest.mark.parametrize("count", [3, 4, 6])
def test_sums_of_many_terms_of_one_pattern(rng, count):
    A = rng.normal(size=(4, 5))
    vectors = [rng.normal(size=5) for _ in range(count)]
    # every other term shares A; the rest bring their own matrix
    matrices = [A if n % 2 == 0 else rng.normal(size=(4, 5)) for n in range(count)]
    terms = [matrix_times_vector(M, v) for M, v in zip(matrices, vectors, strict=True)]
    (merged,) = add_terms(terms)
    expected = sum(M * v for M, v in zip(matrices, vectors, strict=True))
    np.testing.assert_allclose(densely([merged], (4, 5)), expected)


def test_many_terms_of_two_patterns_merge_per_pattern(rng):
    vectors = [rng.normal(size=3) for _ in range(3)]
    matrices = [rng.normal(size=(3, 3)) for _ in range(2)]
    terms = []
    for v, M in zip(vectors, [*matrices, None], strict=True):  # interleaved patterns
        terms.append(diag_times(v))
        if M is not None:
            terms.append(matrix_times_vector(M, np.ones(3)))
    result = add_terms(terms)
    assert len(result) == 2
    expected = sum(np.diag(v) for v in vectors) + sum(matrices)
    np.testing.assert_allclose(densely(result, (3, 3)), expected)


def test_a_single_term_and_no_terms_pass_through(rng):
    term = diag_times(rng.normal(size=3))
    assert add_terms([term]) == (term,)
    assert add_terms([]) == ()


def test_merged_term_keeps_the_first_terms_axes(rng):
    first, second = diag_times(rng.normal(size=3)), diag_times(rng.normal(size=3))
    (merged,) = add_terms([first, second])
    assert merged.axes == first.axes and shape_of(merged) == (3, 3)
