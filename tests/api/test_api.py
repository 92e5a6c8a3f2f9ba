"""The public API of design.md: jacobian, grad, chain, check_grads, and their errors."""

import numpy as np
import pytest

import tensordiff as td


def test_design_example_matvec(rng):
    W, x = rng.normal(size=(3, 4)), rng.normal(size=4)
    J = td.jacobian(lambda W: W @ x, out="i", wrt="jk")(W)
    assert J.indices == ("i", "j", "k") and J.out_indices == ("i",) and J.in_indices == ("j", "k")
    np.testing.assert_allclose(np.asarray(J), np.einsum("ij,k->ijk", np.eye(3), x))


def test_default_labels_are_textbook_letters(rng):
    J = td.jacobian(lambda W: W @ np.ones(4))(rng.normal(size=(3, 4)))
    assert J.out_indices == ("i",) and J.in_indices == ("j", "k")


def test_named_labels(rng):
    J = td.jacobian(lambda W: W @ np.ones(4), out=("out",), wrt=("row", "col"))(np.ones((3, 4)))
    assert J.indices == ("out", "row", "col")


def test_argnums_tuple_returns_one_jacobian_per_argument(rng):
    W, x = rng.normal(size=(3, 4)), rng.normal(size=4)
    JW, Jx = td.jacobian(lambda W, x: W @ x, argnums=(0, 1), wrt=("jk", "k"))(W, x)
    assert JW.shape == (3, 3, 4) and Jx.shape == (3, 4)
    assert Jx.in_indices == ("k",)
    np.testing.assert_allclose(np.asarray(Jx), W)


def test_argnums_negative_and_out_of_range(rng):
    J = td.jacobian(lambda a, b: a * b, argnums=-1)(2.0, np.ones(3))
    np.testing.assert_allclose(np.asarray(J), 2 * np.eye(3))
    with pytest.raises(td.ShapeError, match="argnums 2"):
        td.jacobian(lambda a, b: a * b, argnums=2)(2.0, np.ones(3))


def test_wrt_must_match_argnums():
    with pytest.raises(td.ShapeError, match="one per argument"):
        td.jacobian(lambda a, b: a * b, argnums=(0, 1), wrt="i")(np.ones(2), np.ones(2))


def test_clashing_labels_are_refused():
    with pytest.raises(td.ShapeError, match="both the output"):
        td.jacobian(lambda x: 2 * x, out="i", wrt="i")(np.ones(2))


def test_wrong_number_of_labels():
    with pytest.raises(td.ShapeError, match="2 axes but 1 labels"):
        td.jacobian(lambda W: W, wrt="j")(np.ones((2, 2)))


def test_grad_of_squared_error_is_the_cookbook_formula(rng):
    W, x, y = rng.normal(size=(3, 4)), rng.normal(size=4), rng.normal(size=3)
    g = td.grad(lambda W: np.sum((W @ x - y) ** 2))(W)
    assert np.asarray(g).shape == W.shape
    np.testing.assert_allclose(np.asarray(g), 2 * np.outer(W @ x - y, x))


def test_grad_needs_a_scalar():
    with pytest.raises(td.ShapeError, match=r"scalar.*shape \(3,\)"):
        td.grad(lambda x: 2 * x)(np.ones(3))


def test_grad_argnums_tuple(rng):
    a, b = rng.normal(size=3), rng.normal(size=3)
    ga, gb = td.grad(lambda a, b: a @ b, argnums=(0, 1))(a, b)
    np.testing.assert_allclose(np.asarray(ga), b)
    np.testing.assert_allclose(np.asarray(gb), a)


def test_chain_contracts_the_intermediate(rng):
    W, x, y = rng.normal(size=(3, 4)), rng.normal(size=4), rng.normal(size=3)
    dV_dW = td.jacobian(lambda W: W @ x, out="i", wrt="jk")(W)
    dE_dV = td.jacobian(lambda V: np.sum((V - y) ** 2), wrt="i")(W @ x)
    dE_dW = td.chain(dE_dV, dV_dW)
    assert dE_dW.out_indices == () and dE_dW.in_indices == ("j", "k")
    np.testing.assert_allclose(np.asarray(dE_dW), 2 * np.outer(W @ x - y, x))


def test_chain_renames_clashing_labels_and_checks_shapes(rng):
    A = rng.normal(size=(2, 3))
    outer = td.jacobian(lambda b: A @ b)(np.ones(3))  # labels i / j
    inner = td.jacobian(lambda c: np.sin(c))(np.ones(3))  # labels i / j again
    result = td.chain(outer, inner)
    assert len(set(result.indices)) == 2
    np.testing.assert_allclose(np.asarray(result), A * np.cos(1.0))
    with pytest.raises(td.ShapeError, match=r"\(3,\).*\(4,\)"):
        td.chain(outer, td.jacobian(np.sin)(np.ones(4)))
    with pytest.raises(td.ShapeError, match="two Jacobians"):
        td.chain(outer, np.eye(3))


def test_values_used_twice_sum_over_paths(rng):
    x = rng.normal(size=3)
    J = td.jacobian(lambda x: x * np.sin(x) + np.outer(x, x).sum(axis=1))(x)
    expected = np.diag(np.sin(x) + x * np.cos(x) + x.sum()) + np.outer(x, np.ones(3))
    np.testing.assert_allclose(np.asarray(J), expected)


def test_constant_output_gives_zero_jacobian():
    J = td.jacobian(lambda x: np.ones(2))(np.ones(3))
    assert J.shape == (2, 3)
    np.testing.assert_array_equal(np.asarray(J), np.zeros((2, 3)))


def test_unused_argument_gives_zero_jacobian(rng):
    Jb = td.jacobian(lambda a, b: np.sin(a), argnums=1)(np.ones(2), np.ones(3))
    np.testing.assert_array_equal(np.asarray(Jb), np.zeros((2, 3)))


def test_scalar_python_argument():
    J = td.jacobian(lambda s: s * np.arange(3.0))(2.0)
    assert J.shape == (3,)
    np.testing.assert_allclose(np.asarray(J), np.arange(3.0))


def test_complex_arguments_are_refused():
    with pytest.raises(td.UnsupportedDTypeError, match="complex"):
        td.jacobian(lambda z: z * 2)(np.ones(2, dtype=complex))


def test_multiple_outputs_are_refused_by_explain():
    # td.jacobian takes nested outputs (tests/api/test_jax_habits.py); explain shows one
    with pytest.raises(td.ShapeError, match="single array output"):
        td.explain(lambda x: (x, x))(np.ones(2))


def test_check_grads_passes_on_correct_and_fails_on_wrong(monkeypatch):
    td.check_grads(lambda x: np.tanh(x) * x, (np.linspace(-1, 1, 5),))
    from tensordiff.ops import ufuncs

    wrong = ufuncs.row(None, (lambda x, out: np.sin(x), "sin({0})"))  # a deliberately wrong rule
    monkeypatch.setitem(ufuncs.UFUNCS, np.sin, wrong)
    with pytest.raises(AssertionError, match="finite differences"):
        td.check_grads(np.sin, (np.linspace(0.1, 1, 4),))


def test_check_grads_on_large_inputs_uses_directions(rng):
    W, x = rng.normal(size=(30, 40)), rng.normal(size=40)
    td.check_grads(lambda W: np.tanh(W @ x), (W,))


def test_errors_derive_from_the_builtin_they_resemble():
    assert issubclass(td.ShapeError, ValueError)
    assert issubclass(td.UnsupportedOperationError, TypeError)
    assert issubclass(td.JacobianTooLarge, MemoryError)
    for error in (td.ShapeError, td.UnsupportedOperationError, td.JacobianTooLarge):
        assert issubclass(error, td.TensorDiffError)


@pytest.mark.parametrize(
    "f, x",
    [
        (lambda x: np.sin(x) * 2, np.ones(0)),
        (lambda W: W @ np.ones(3), np.ones((0, 3))),
        (lambda W: np.ones(2) @ W, np.ones((2, 0))),
        (lambda W: np.sum(W, axis=0), np.ones((0, 3))),
        (lambda x: x * x, np.array(3.0)),
        (lambda x: np.tanh(x) @ np.ones((1, 1)), np.ones((1, 1))),
        (lambda x: np.sum(x, axis=()), np.ones((2, 3))),
        (lambda x: x.reshape(1, 6, 1).squeeze(), np.ones((2, 3))),
    ],
    ids=["empty", "empty-rows", "empty-cols", "sum-empty", "0-d", "unit", "no-axes", "unit-axes"],
)
def test_edge_shapes_match_finite_differences(f, x):
    J = td.jacobian(f)(x)
    np.testing.assert_allclose(np.asarray(J), td.numerical_jacobian(f, (x,)), atol=1e-8)
