"""Dense writing of sums of terms (write_dense, dense_writer), against entries built by hand."""

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tensordiff as td
from tensordiff.core.dense import dense_writer, write_dense
from tensordiff.core.term import Term, fresh_class


def classes(*sizes):
    ids = tuple(fresh_class() for _ in sizes)
    return ids, dict(zip(ids, sizes, strict=True))


def reference(term: Term) -> np.ndarray:
    """The dense array of ``term`` entry by entry from its definition (no library code)."""
    shape = tuple(math.prod(term.sizes[c] for c in axis) for axis in term.axes)
    factor_sizes = {}
    for array, cl in term.factors:
        factor_sizes.update(zip(cl, np.shape(array), strict=True))
    on_axes = {c for axis in term.axes for c in axis}
    summed = [c for c in dict.fromkeys(c for _, cl in term.factors for c in cl) if c not in on_axes]
    out = np.zeros(shape)
    for index in np.ndindex(*shape):
        value: dict[int, int] = {}
        consistent = True
        for axis, i in zip(term.axes, index, strict=True):
            pieces = np.unravel_index(i, [term.sizes[c] for c in axis]) if axis else ()
            for c, piece in zip(axis, pieces, strict=True):
                consistent &= value.setdefault(c, int(piece)) == int(piece)
        if not consistent:
            continue
        total = 0.0
        for choice in itertools.product(*(range(factor_sizes[c]) for c in summed)):
            value.update(zip(summed, choice, strict=True))
            entry = 1.0
            for array, cl in term.factors:
                entry *= np.asarray(array)[tuple(value[c] for c in cl)]
            total += entry
        out[index] = total
    return out


def with_values(term: Term, rng) -> Term:
    """The same structure as ``term`` with new random factor values."""
    factors = tuple(
        (rng.normal(size=np.shape(array)).astype(np.asarray(array).dtype), cl)
        for array, cl in term.factors
    )
    return Term(factors, term.axes, term.sizes)


def test_a_delta_between_two_axes_is_a_diagonal(rng):
    v = rng.normal(size=4)
    (a,), sizes = classes(4)
    out = write_dense([Term(((v, (a,)),), ((a,), (a,)), sizes)], (4, 4), np.float64)
    np.testing.assert_array_equal(out, np.diag(v))


def test_a_delta_between_the_first_and_last_of_three_axes(rng):
    A = rng.normal(size=(3, 2))
    (a, b), sizes = classes(3, 2)
    out = write_dense([Term(((A, (a, b)),), ((a,), (b,), (a,)), sizes)], (3, 2, 3), np.float64)
    expected = np.zeros((3, 2, 3))
    for i, j in itertools.product(range(3), range(2)):
        expected[i, j, i] = A[i, j]
    np.testing.assert_array_equal(out, expected)


def test_a_delta_between_three_axes(rng):
    v = rng.normal(size=3)
    (a,), sizes = classes(3)
    out = write_dense([Term(((v, (a,)),), ((a,), (a,), (a,)), sizes)], (3, 3, 3), np.float64)
    expected = np.zeros((3, 3, 3))
    for i in range(3):
        expected[i, i, i] = v[i]
    np.testing.assert_array_equal(out, expected)


def test_a_pure_delta_without_factors_is_an_identity():
    (a,), sizes = classes(5)
    np.testing.assert_array_equal(
        write_dense([Term((), ((a,), (a,)), sizes)], (5, 5), np.float64), np.eye(5)
    )


def test_a_flattening_delta_over_composite_axes():
    (a, b), sizes = classes(2, 3)
    flat = Term((), ((a, b), (a,), (b,)), sizes)  # ∂x.reshape(6)/∂x for x of shape (2, 3)
    out = write_dense([flat], (6, 2, 3), np.float64)
    np.testing.assert_array_equal(out, np.eye(6).reshape(6, 2, 3))


def test_a_dense_factor_over_a_composite_axis(rng):
    B = rng.normal(size=(2, 3, 4))
    (a, b, c), sizes = classes(2, 3, 4)
    out = write_dense([Term(((B, (a, b, c)),), ((a, b), (c,)), sizes)], (6, 4), np.float64)
    np.testing.assert_array_equal(out, B.reshape(6, 4))


def test_a_composite_axis_with_a_delta_and_a_factor(rng):
    v = rng.normal(size=3)
    (a, b), sizes = classes(2, 3)
    term = Term(((v, (b,)),), ((a, b), (a,), (b,)), sizes)
    expected = np.eye(6).reshape(6, 2, 3) * v[None, None, :]
    np.testing.assert_allclose(write_dense([term], (6, 2, 3), np.float64), expected)


def test_a_scalar_factor_scales_the_deltas():
    (a,), sizes = classes(3)
    term = Term(((np.asarray(2.5), ()),), ((a,), (a,)), sizes)
    np.testing.assert_array_equal(write_dense([term], (3, 3), np.float64), 2.5 * np.eye(3))


def test_a_scalar_factor_times_a_dense_factor(rng):
    A = rng.normal(size=(2, 3))
    (a, b), sizes = classes(2, 3)
    term = Term(((np.asarray(-3.0), ()), (A, (a, b))), ((a,), (b,)), sizes)
    np.testing.assert_allclose(write_dense([term], (2, 3), np.float64), -3.0 * A)


def test_an_axis_on_no_factor_is_constant(rng):
    v = rng.normal(size=2)
    (a, b), sizes = classes(2, 3)
    term = Term(((v, (a,)),), ((a,), (b,)), sizes)
    np.testing.assert_array_equal(write_dense([term], (2, 3), np.float64), np.outer(v, np.ones(3)))


def test_a_factor_class_on_no_axis_is_summed(rng):
    A, B = rng.normal(size=(2, 5)), rng.normal(size=(5, 3))
    (a, k, b), sizes = classes(2, 5, 3)
    term = Term(((A, (a, k)), (B, (k, b))), ((a,), (b,)), sizes)
    np.testing.assert_allclose(write_dense([term], (2, 3), np.float64), A @ B)


def test_a_transposed_factor(rng):
    A = rng.normal(size=(2, 3))
    (a, b), sizes = classes(2, 3)
    term = Term(((A, (a, b)),), ((b,), (a,)), sizes)
    np.testing.assert_array_equal(write_dense([term], (3, 2), np.float64), A.T)


def test_several_terms_are_summed(rng):
    A, v, w = rng.normal(size=(3, 3)), rng.normal(size=3), rng.normal(size=3)
    (a, b), sizes = classes(3, 3)
    dense = Term(((A, (a, b)),), ((a,), (b,)), sizes)
    (c,), csizes = classes(3)
    diagonal = Term(((v, (c,)),), ((c,), (c,)), csizes)
    (d,), dsizes = classes(3)
    identity = Term((), ((d,), (d,)), dsizes)
    (e, f), esizes = classes(3, 3)
    outer = Term(((v, (e,)), (w, (f,))), ((e,), (f,)), esizes)
    for terms in itertools.permutations([dense, diagonal, identity, outer]):
        out = write_dense(list(terms), (3, 3), np.float64)
        np.testing.assert_allclose(out, A + np.diag(v) + np.eye(3) + np.outer(v, w))


def test_zero_size_shapes():
    (a, b), sizes = classes(0, 3)
    dense = Term(((np.zeros((0, 3)), (a, b)),), ((a,), (b,)), sizes)
    assert write_dense([dense], (0, 3), np.float64).shape == (0, 3)
    (c,), csizes = classes(0)
    identity = Term((), ((c,), (c,)), csizes)
    assert write_dense([identity], (0, 0), np.float64).shape == (0, 0)
    (d, e), dsizes = classes(0, 3)
    both = Term((), ((d,), (e,), (d,)), dsizes)
    out = write_dense([both, Term((), ((d,), (e,), (d,)), dsizes)], (0, 3, 0), np.float64)
    assert out.shape == (0, 3, 0)


def test_no_terms_is_zeros():
    np.testing.assert_array_equal(write_dense([], (2, 3), np.float64), np.zeros((2, 3)))


@pytest.mark.parametrize("layout", ["plain", "diagonal", "product", "sum"])
def test_float32_is_preserved(rng, layout):
    A = rng.normal(size=(3, 3)).astype(np.float32)
    v = rng.normal(size=3).astype(np.float32)
    (a, b), sizes = classes(3, 3)
    terms = {
        "plain": [Term(((A, (a, b)),), ((a,), (b,)), sizes)],
        "diagonal": [Term(((v, (a,)),), ((a,), (a,)), sizes)],
        "product": [Term(((A, (a, b)), (v, (b,))), ((a,), (b,)), sizes)],
        "sum": [Term(((A, (a, b)),), ((a,), (b,)), sizes), Term((), ((a,), (a,)), sizes)],
    }[layout]
    expected = {"plain": A, "diagonal": np.diag(v), "product": A * v, "sum": A + np.eye(3)}
    out = write_dense(terms, (3, 3), np.float32)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, expected[layout], rtol=1e-6)


def test_the_requested_dtype_wins_over_the_factors(rng):
    A = rng.normal(size=(2, 3))
    (a, b), sizes = classes(2, 3)
    out = write_dense([Term(((A, (a, b)),), ((b,), (a,)), sizes)], (3, 2), np.float32)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, A.T, rtol=1e-6)


@pytest.mark.parametrize("layout", ["plain", "transposed", "composite", "diagonal"])
def test_the_written_array_never_shares_memory_with_a_factor(rng, layout):
    # Writing into the dense result must not change the term's factors (a user's array).
    A = rng.normal(size=(2, 3))
    (a, b), sizes = classes(2, 3)
    term = {
        "plain": Term(((A, (a, b)),), ((a,), (b,)), sizes),
        "transposed": Term(((A, (a, b)),), ((b,), (a,)), sizes),
        "composite": Term(((A, (a, b)),), ((a, b),), sizes),
        "diagonal": Term(((A, (a, b)),), ((a,), (b,), (b,)), sizes),
    }[layout]
    shape = {"plain": (2, 3), "transposed": (3, 2), "composite": (6,), "diagonal": (2, 3, 3)}
    out = write_dense([term], shape[layout], np.float64)
    assert not np.shares_memory(out, A)


# ---- a planned writer reused on new values ------------------------------------------
def reuse_cases(rng):
    A, B = rng.normal(size=(2, 3)), rng.normal(size=(3, 4))
    v, w = rng.normal(size=3), rng.normal(size=2)
    (a, b, c), sizes = classes(2, 3, 4)
    return {
        "one plain factor": ([Term(((A, (a, b)),), ((a,), (b,)), sizes)], (2, 3)),
        "one transposed factor": ([Term(((A, (a, b)),), ((b,), (a,)), sizes)], (3, 2)),
        "a product of factors": ([Term(((A, (a, b)), (v, (b,))), ((a,), (b,)), sizes)], (2, 3)),
        "a summed class": ([Term(((A, (a, b)), (B, (b, c))), ((a,), (c,)), sizes)], (2, 4)),
        "a diagonal": ([Term(((v, (b,)),), ((b,), (b,)), sizes)], (3, 3)),
        "a composite axis": ([Term(((A, (a, b)), (w, (a,))), ((a, b), (a,)), sizes)], (6, 2)),
        "a sum of three": (
            [
                Term(((A, (a, b)),), ((a,), (b,)), sizes),
                Term(((w, (a,)), (v, (b,))), ((a,), (b,)), sizes),
                Term(((np.asarray(2.0), ()),), ((a,), (b,)), sizes),
            ],
            (2, 3),
        ),
    }


@pytest.mark.parametrize("case", list(reuse_cases(np.random.default_rng(0))))
def test_a_planned_writer_is_reused_on_new_values(rng, case):
    terms, shape = reuse_cases(rng)[case]
    writer = dense_writer(terms, shape, np.float64)
    first = writer(terms)
    np.testing.assert_allclose(first, sum(reference(t) for t in terms), atol=1e-12)
    others = [with_values(t, rng) for t in terms]
    np.testing.assert_allclose(writer(others), sum(reference(t) for t in others), atol=1e-12)
    # the first result is its own array, not overwritten by the second run
    np.testing.assert_allclose(first, sum(reference(t) for t in terms), atol=1e-12)


# ---- random sums of terms ----------------------------------------------------------
LAYOUTS = {0: [(0,)], 1: [()], 2: [(2,)], 3: [(3,)], 4: [(4,), (2, 2)], 6: [(6,), (2, 3)]}


@st.composite
def term_of_shape(draw, shape):
    """A random term of ``shape``: composite axes, deltas, constant axes, a summed class."""
    axes, sizes = [], {}
    for size in shape:
        layout = draw(st.sampled_from(LAYOUTS[size]))
        twins = [axis for axis in axes if [sizes[c] for c in axis] == list(layout)]
        if twins and layout and draw(st.booleans()):
            axes.append(draw(st.sampled_from(twins)))
            continue
        axis = tuple(fresh_class() for _ in layout)
        sizes.update(zip(axis, layout, strict=True))
        axes.append(axis)
    in_factors = [c for c in sizes if draw(st.booleans())]
    all_sizes = dict(sizes)
    if draw(st.booleans()):
        extra = fresh_class()
        all_sizes[extra] = draw(st.integers(2, 3))
        in_factors.append(extra)
    n_factors = draw(st.integers(1 if in_factors else 0, 2))
    members = [[] for _ in range(n_factors)]
    for c in in_factors:
        for n in draw(st.sets(st.integers(0, n_factors - 1), min_size=1)):
            members[n].append(c)
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    factors = tuple((rng.normal(size=[all_sizes[c] for c in cl]), tuple(cl)) for cl in members)
    return Term(factors, tuple(axes), all_sizes)


@st.composite
def sums(draw):
    shape = tuple(draw(st.lists(st.sampled_from([1, 2, 3, 4, 6]), max_size=3)))
    if draw(st.integers(0, 9)) == 0:
        shape = (*shape, 0)
    terms = draw(st.lists(term_of_shape(shape), min_size=1, max_size=3))
    return terms, shape, draw(st.integers(0, 2**32 - 1))


@settings(max_examples=150, deadline=None)
@given(sums())
def test_random_sums_are_written_and_rewritten_exactly(case):
    terms, shape, seed = case
    expected = sum(reference(term) for term in terms)
    writer = dense_writer(terms, shape, np.float64)
    np.testing.assert_allclose(writer(terms), expected, atol=1e-12)
    np.testing.assert_allclose(write_dense(terms, shape, np.float64), expected, atol=1e-12)
    rng = np.random.default_rng(seed)
    others = [with_values(term, rng) for term in terms]
    np.testing.assert_allclose(writer(others), sum(reference(term) for term in others), atol=1e-12)
    # write_dense keeps writers by structure: the same structure with new values
    expected_now = sum(reference(term) for term in others)
    np.testing.assert_allclose(write_dense(others, shape, np.float64), expected_now, atol=1e-12)


def test_a_writer_kept_by_structure_is_not_used_under_another_memory_limit(rng):
    # ab,bc,cd->ad: every order needs an intermediate of at least 1000 x 3 entries
    (a, b, c, d), sizes = classes(1000, 2, 1000, 3)
    factors = ((rng.normal(size=(1000, 2)), (a, b)), (rng.normal(size=(2, 1000)), (b, c)))
    term = Term((*factors, (rng.normal(size=(1000, 3)), (c, d))), ((a,), (d,)), sizes)
    write_dense([term], (1000, 3), np.float64)  # planned and kept without a limit
    with td.memory_limit(8 * 100), pytest.raises(td.JacobianTooLarge, match="every order"):
        write_dense([term], (1000, 3), np.float64)
