"""Labelled tensors and td.contract: einsum semantics, structure kept, errors that explain."""

import numpy as np
import pytest

import tensordiff as td


def test_labels_from_a_string_or_names():
    assert td.Tensor(np.ones((3, 4)), "ij").indices == ("i", "j")
    assert td.Tensor(np.ones((3, 4)), ("row", "col")).indices == ("row", "col")
    assert td.Tensor(np.ones((3, 4)), "ij").shape == (3, 4)


@pytest.mark.parametrize("labels", ["i", "ijk", "ii", ("a", "a"), 7, ("a", "")])
def test_bad_labels_raise_shape_error(labels):
    with pytest.raises(td.ShapeError):
        td.Tensor(np.ones((3, 4)), labels)


def test_complex_data_is_refused():
    with pytest.raises(td.UnsupportedDTypeError, match="complex"):
        td.Tensor(np.ones(2, dtype=complex), "i")


def test_asarray_round_trips(rng):
    A = rng.normal(size=(2, 3, 4))
    np.testing.assert_array_equal(np.asarray(td.Tensor(A, "ijk")), A)


@pytest.mark.parametrize(
    "equation",
    [
        "ij,jk->ik",
        "ij,jk->ki",
        "ij,ij->ij",
        "ij->",
        "i,j->ij",
        "ijk,kj->i",
        "ij,jk,kl->il",
        "ij->ji",
    ],
)
def test_contract_matches_einsum(equation, rng):
    inputs, out = equation.split("->")
    sizes = {"i": 2, "j": 3, "k": 4, "l": 5}
    arrays = [rng.normal(size=[sizes[c] for c in term]) for term in inputs.split(",")]
    tensors = [td.Tensor(a, term) for a, term in zip(arrays, inputs.split(","), strict=True)]
    result = td.contract(*tensors, out=out)
    assert result.indices == tuple(out)
    np.testing.assert_allclose(np.asarray(result), np.einsum(equation, *arrays))


def test_contract_out_none_keeps_labels_that_occur_once(rng):
    A, B = rng.normal(size=(2, 3)), rng.normal(size=(3, 4))
    result = td.contract(td.Tensor(A, "ij"), td.Tensor(B, "jk"))
    assert result.indices == ("i", "k")
    np.testing.assert_allclose(np.asarray(result), A @ B)


def test_contract_label_size_mismatch_names_the_label():
    with pytest.raises(td.ShapeError, match="label 'j' has size 3 .* size 4"):
        td.contract(td.Tensor(np.ones((2, 3)), "ij"), td.Tensor(np.ones((4, 5)), "jk"))


def test_contract_unknown_output_label():
    with pytest.raises(td.ShapeError, match="'z'"):
        td.contract(td.Tensor(np.ones(2), "i"), out="iz")


def test_contract_refuses_plain_arrays():
    with pytest.raises(td.ShapeError, match="td.Tensor"):
        td.contract(np.ones(2))


def test_jacobian_of_matvec_keeps_the_delta_symbolic():
    W, x = np.ones((5, 7)), np.arange(7.0)
    J = td.jacobian(lambda W: W @ x, out="i", wrt="jk")(W)
    assert J.stored_nbytes <= x.nbytes  # only x is stored; δ[i,j] is a relabelling
    dense = np.asarray(J)
    np.testing.assert_array_equal(dense, np.einsum("ij,k->ijk", np.eye(5), x))


def test_huge_structured_jacobian_contracts_without_materialising(rng):
    n = 4000
    W, x, v = np.zeros((n, n)), rng.normal(size=n), rng.normal(size=n)
    J = td.jacobian(lambda W: W @ x)(W)
    assert J.shape == (n, n, n) and J.dense_nbytes == 8 * n**3
    with pytest.raises(td.JacobianTooLarge, match=r"\(4000, 4000, 4000\)"):
        np.asarray(J)
    vjp = td.contract(td.Tensor(v, J.out_indices), J)
    assert vjp.indices == J.in_indices
    np.testing.assert_allclose(np.asarray(vjp), np.outer(v, x))


def test_memory_limit_is_settable_and_is_a_memory_error():
    J = td.jacobian(lambda x: np.sin(x))(np.ones(100))
    with td.memory_limit(1000):
        with pytest.raises(MemoryError, match="80000 bytes"):
            np.asarray(J)
    assert np.asarray(J).shape == (100, 100)
    with pytest.raises(td.OptionError, match="positive"):
        td.set_memory_limit(-1)


def test_sum_of_terms_with_different_delta_patterns():
    # ∂(W W)/∂W = δ[i,a] W[b,k] + W[i,a] δ[k,b]: two terms, no common structure
    W = np.arange(9.0).reshape(3, 3)
    J = td.jacobian(lambda W: W @ W)(W)
    expected = np.einsum("ia,bk->ikab", np.eye(3), W) + np.einsum("ia,kb->ikab", W, np.eye(3))
    np.testing.assert_allclose(np.asarray(J), expected)


def test_tensor_arithmetic_aligns_labels(rng):
    A = rng.normal(size=(2, 3))
    S = td.Tensor(A, "ij") + td.Tensor(A.T, "ji")
    np.testing.assert_allclose(np.asarray(S), 2 * A)
    np.testing.assert_allclose(np.asarray(td.Tensor(A, "ij") - 0.5 * td.Tensor(A, "ij")), 0.5 * A)
    with pytest.raises(td.ShapeError):
        td.Tensor(A, "ij") + td.Tensor(A, "ik")


def test_reshape_jacobian_stays_structured():
    J = td.jacobian(lambda x: x.reshape(6, 4).sum(axis=0))(np.ones((2, 3, 4)))
    assert J.stored_nbytes < 64
    np.testing.assert_allclose(
        np.asarray(J), np.broadcast_to(np.eye(4), (2, 3, 4, 4)).transpose(2, 0, 1, 3)
    )


def test_tensors_and_jacobians_pickle_without_their_caches():
    import pickle

    x = np.arange(3.0)
    for J in (
        td.jacobian(lambda W: np.tanh(W @ x))(np.ones((2, 3))),  # holds its cost-report source
        td.jit(td.jacobian(lambda W: np.tanh(W @ x)))(np.ones((2, 3))),  # and a dense writer
        td.hessian(lambda v: np.sum(v**3))(x),
    ):
        copy = pickle.loads(pickle.dumps(J))
        assert type(copy) is type(J) and copy.indices == J.indices
        np.testing.assert_array_equal(np.asarray(copy), np.asarray(J))
