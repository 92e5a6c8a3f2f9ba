"""J[key]: blocks by NumPy basic indexing equal the same slice of the dense array, and keep
the structure (a block of a δ-structured Jacobian stores about the block, not J)."""

import pickle

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from text.formula_reader import read_back

import tensordiff as td

RNG = np.random.default_rng(7)
W = RNG.normal(size=(4, 5))
B = RNG.normal(size=4)
X = RNG.normal(size=5)
M = RNG.normal(size=(2, 6))
T = RNG.normal(size=(3, 4))
# what the printed formulas call the arrays: the globals and the functions' arguments
NAMES = {"W": W, "B": B, "X": X, "M": M, "T": T, "x": X, "m": M}


def _jacobians():
    """Jacobians of several structures: δ, dense, chains, reshapes, sums, Hessians."""
    return {
        "delta-elementwise": td.jacobian(np.tanh)(X),
        "matvec-wrt-W": td.jacobian(lambda W: W @ X)(W),
        "chain-tanh-layer": td.jacobian(lambda W: np.tanh(W @ X + B))(W),
        "chain-wrt-x": td.jacobian(lambda x: np.sin(W @ x) * (W @ x))(X),
        "reshape": td.jacobian(lambda m: np.exp(m.reshape(3, 4)).T)(M),
        "reshape-matmul": td.jacobian(lambda m: m.reshape(4, 3) @ m.reshape(3, 4))(M),
        "sum-of-terms": td.jacobian(lambda x: x * x + np.outer(x, x).sum(0))(X),
        "transpose-delta": td.jacobian(lambda m: m.T * 2.0)(M),
        "hessian-W": td.hessian(lambda W: np.sum(np.tanh(W @ X) ** 2))(W),
        "hessian-vector": td.hessian(lambda x: np.tanh(W @ x) * np.sum(x**3))(X),
        "selections": td.jacobian(lambda x: np.cumsum(x)[[3, 0, 4]] * x[2])(X),
        "tensor": td.Tensor(T, "ab"),
    }


JACOBIANS = _jacobians()


@st.composite
def basic_keys(draw, shape):
    """A random NumPy basic index for an array of ``shape``: ints (also negative),
    slices with any start/stop and steps of either sign, an optional ``...`` and ``None``."""
    items = []
    n_indexed = draw(st.integers(0, len(shape)))
    for size in shape[:n_indexed]:
        if draw(st.booleans()) and size > 0:
            items.append(draw(st.integers(-size, size - 1)))
        else:
            bound = st.none() | st.integers(-size - 2, size + 2)
            step = draw(st.none() | st.sampled_from([1, 2, 3, -1, -2, -3]))
            items.append(slice(draw(bound), draw(bound), step))
    if n_indexed < len(shape) and draw(st.booleans()):
        items.append(Ellipsis)
    for _ in range(draw(st.integers(0, 1))):
        items.insert(draw(st.integers(0, len(items))), None)
    return tuple(items)


@pytest.mark.parametrize("name", list(JACOBIANS))
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_a_block_is_the_slice_of_the_dense_array(name, data):
    J = JACOBIANS[name]
    key = data.draw(basic_keys(J.shape), label="key")
    expected = np.asarray(J)[key]
    block = J[key]
    assert block.shape == expected.shape
    np.testing.assert_allclose(np.asarray(block), expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name", list(JACOBIANS))
@settings(max_examples=20, deadline=None)
@given(data=st.data())
def test_a_block_of_a_block_is_the_slice_of_the_slice(name, data):
    J = JACOBIANS[name]
    first = data.draw(basic_keys(J.shape), label="first")
    inner = J[first]
    second = data.draw(basic_keys(inner.shape), label="second")
    np.testing.assert_allclose(
        np.asarray(inner[second]), np.asarray(J)[first][second], rtol=1e-12, atol=1e-12
    )


@pytest.mark.parametrize("name", list(JACOBIANS))
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_the_printed_formula_of_a_block_reads_back_to_its_numbers(name, data):
    """Shifted and partial diagonals (δ[i+1,j], δ[j,3−i]), strided and reversed reads
    (x[2k], W[3−i,j]), digits of reshaped axes (⌊(j+3)/7⌋) and fixed indices, parsed with
    only the user's arrays and the legend (tests/text/formula_reader.py)."""
    J = JACOBIANS[name]
    block = J[data.draw(basic_keys(J.shape), label="key")]
    np.testing.assert_allclose(
        read_back(block.formula, NAMES, block),
        np.asarray(block),
        rtol=2e-6,  # numbers in formulas are printed to 6 significant digits
        atol=1e-9,
        err_msg=block.formula,
    )


def test_an_empty_block_is_zero_and_says_so():
    J = td.jacobian(lambda W: np.tanh(W @ X + B))(W)
    empty = J[2:2, 1:]
    assert empty.shape == (0, 3, 5) and empty.terms == ()
    assert empty.formula == "T[i,j,k] = 0"
    assert np.asarray(empty).shape == (0, 3, 5)


def test_labels_follow_numpy_an_int_drops_its_axis():
    J = td.jacobian(lambda W: W @ X, out="i", wrt="jk")(W)
    assert J[0:2, 3, :].indices == ("i", "k")
    assert J[..., 1].indices == ("i", "j")
    assert J[None, 1].indices[1:] == ("j", "k")
    assert J[None, 1].shape == (1, 4, 5)


def test_a_shifted_delta_is_the_shifted_diagonal():
    J = td.jacobian(np.sin)(np.linspace(0, 1, 50))  # δ[i,j] cos(x[j])
    dense = np.asarray(J)
    for key in [
        (slice(0, 10), slice(3, 13)),  # shifted
        (slice(0, 20, 2), slice(0, 20, 3)),  # meets every sixth
        (slice(None, None, -1), slice(None)),  # anti-diagonal
        (slice(0, 10), slice(20, 30)),  # never meets: vanishes
        (slice(5, 5), slice(None)),  # empty
        (7, slice(None)),
    ]:
        np.testing.assert_array_equal(np.asarray(J[key]), dense[key])
    assert J[0:10, 20:30].terms == ()
    assert J[0:10, 20:30].formula == "T[i,j] = 0"


def test_a_block_of_a_huge_structured_jacobian_costs_the_block():
    n = 20000
    rng = np.random.default_rng(0)
    # zeros cost no memory until written (calloc), so W takes no RAM here; b varies
    w, x, b = np.zeros((n, n)), rng.normal(size=n), rng.normal(size=n)
    J = td.jacobian(lambda w: np.tanh(w @ x + b))(w)  # (n, n, n): 64 TB dense
    block = J[100:200, 150:250, :300]
    assert block.stored_nbytes < 1_000_000
    dense = np.asarray(block)
    derivative = 1 - np.tanh(w @ x + b) ** 2
    expected = np.zeros((100, 100, 300))
    for i in range(100, 200):
        if 150 <= i < 250:
            expected[i - 100, i - 150] = derivative[i] * x[:300]
    np.testing.assert_allclose(dense, expected, rtol=1e-12)


def test_refused_keys_name_what_to_do():
    J = td.jacobian(np.tanh)(X)
    with pytest.raises(td.UnsupportedOperationError, match="basic indices"):
        J[[0, 1]]
    with pytest.raises(td.UnsupportedOperationError, match="basic indices"):
        J[True]
    with pytest.raises(IndexError, match="out of bounds"):
        J[5]
    with pytest.raises(IndexError, match="too many indices"):
        J[0, 0, 0]


def test_a_block_pickles_small():
    J = td.jacobian(lambda W: np.tanh(W @ X + B))(W)
    block = pickle.loads(pickle.dumps(J[1:3]))
    np.testing.assert_array_equal(np.asarray(block), np.asarray(J)[1:3])
