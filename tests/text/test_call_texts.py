"""A value made by a NumPy call prints as that call with the arguments that made it.

``flip(X)`` reverses every axis, ``cumsum(X)`` runs over the flattened array and
``prod(X)`` multiplies every entry: a value made along one axis printed under the bare
name would be another array. Each formula is read back by :mod:`formula_reader`, which
evaluates the printed call with NumPy on the user's array, so a dropped axis, shift or
shape changes the numbers (or leaves the call unreadable) and fails the test.
"""

import re

import numpy as np
import pytest
from formula_reader import meaning_value, read_back, read_matrix_form

import tensordiff as td
from tensordiff.text.matrix_form import matrix_form

X = np.arange(1.0, 7.0).reshape(2, 3) / 4
x = np.array([0.7, 1.3, 2.1])

CALLS = [
    ("np.flip(X, axis=1)", "flip(X, axis=1)"),
    ("np.flip(X, 0)", "flip(X, axis=0)"),
    ("np.rot90(X)", "flip(X, axis=1)ᵀ"),
    ("np.roll(X, 2, axis=1)", "roll(X, 2, axis=1)"),
    ("np.roll(X, 1)", "reshape(roll(reshape(X, (6,)), 1), (2, 3))"),
    ("np.fft.fftshift(X)", "roll(X, [1, 1], axis=(0, 1))"),
    ("np.take(X, [0, -1], axis=1)", "X[:, [0, 2]]"),
    ("np.repeat(X, 2, axis=0)", "X[[0, 0, 1, 1]]"),
    ("np.take(X, [0, 4])", "take(X, [0, 4])"),
    ("np.cumsum(X, axis=1)", "cumsum(X, axis=1)"),
    ("np.hstack([X, X ** 2])", "concatenate(X, X², axis=1)"),
    ("np.stack([X, 2 * X], axis=2)", "stack(X, 2 X, axis=2)"),
    ("np.moveaxis(np.stack([X, X ** 2]), 0, 2)", "transpose(stack(X, X²), (1, 2, 0))"),
    ("np.broadcast_to(X, (2, 2, 3))", "broadcast_to(X, (2, 2, 3))"),
    ("np.diagonal(X, 1)", "diagonal(X, 1)"),
    ("np.diag(X.T, -1)", "diagonal(Xᵀ, −1)"),
]


# their derivatives are defined in words (Π = the product of the other entries …,
# P = 1 where the entry is the one taken along axis 0), which the reader cannot evaluate
IN_WORDS = [
    ("np.prod(X, axis=1)", "prod(X, axis=1)"),
    ("np.prod(X, axis=0, keepdims=True)", "prod(X, axis=0, keepdims=True)"),
    ("np.sort(X)", "sort(X)"),
    ("np.sort(X, axis=0)", "sort(X, axis=0)"),
    ("np.partition(X, 1)", "partition(X, 1)"),
    ("np.take_along_axis(X, np.argsort(X, axis=0), axis=0)",
     "take_along_axis(X, argsort(X, axis=0), axis=0)"),
]  # fmt: skip


@pytest.mark.parametrize("source, printed", CALLS + IN_WORDS, ids=[s for s, _ in CALLS + IN_WORDS])
def test_a_call_prints_with_its_arguments(source, printed):
    """The call as printed, evaluated by the reader, is the value the user's call made."""
    J = td.jacobian(eval(f"lambda X: np.sin({source})", {"np": np}))(X)
    assert f"cos({printed})" in J.formula, J.formula
    value = meaning_value(printed, {"X": X}, {})
    np.testing.assert_allclose(value, eval(source, {"np": np, "X": X}), err_msg=printed)


@pytest.mark.parametrize("source, printed", CALLS, ids=[s for s, _ in CALLS])
def test_the_formula_reads_back(source, printed):
    J = td.jacobian(eval(f"lambda X: np.sin({source})", {"np": np}))(X)
    np.testing.assert_allclose(
        read_back(J.formula, {"X": X}, J), np.asarray(J), rtol=2e-6, atol=1e-9, err_msg=J.formula
    )


def test_a_moveaxis_that_moves_nothing_is_the_array_itself():
    J = td.jacobian(lambda X: np.sin(np.moveaxis(X, [0, 1], [0, 1])))(X)
    assert "cos(X)" in J.formula and "moveaxis" not in J.formula, J.formula


def test_a_padded_array_prints_its_widths_and_mode():
    for source, printed in [
        ("np.pad(X, 1)", "pad(X, 1)"),
        ("np.pad(X, ((0, 1), (2, 0)), mode='edge')", "pad(X, ((0, 1), (2, 0)), mode='edge')"),
        ("np.pad(X, 1, constant_values=2.5)", "pad(X, 1, constant_values=2.5)"),
    ]:
        J = td.jacobian(eval(f"lambda X: np.sin({source})", {"np": np}))(X)
        assert f"cos({printed})" in J.formula, J.formula


def test_a_product_of_entries_has_a_hadamard_matrix_form():
    """∂(m·m)/∂x for m = max(x, 0.9) is 2 m ⊙ g: the factor ``(2 m[i] g[i])`` printed a
    placeholder of the library's own, ``2 max(x, 0.9)[⟨2⟩] g``."""
    g = td.grad(lambda x: np.dot(np.maximum(x, 0.9), np.maximum(x, 0.9)))(x)
    form = matrix_form(g)
    assert form is not None and "⟨" not in form and "⊙" in form, form
    readings = read_matrix_form(form, {"x": x}, g)
    assert any(np.allclose(r.ravel(), np.asarray(g)) for r in readings), form


M = np.array([[2.0, -0.5, 0.3], [0.4, 1.5, -1.0], [0.1, 0.7, 3.0]])

# (function of x, the printed matrix form): every vector a column, as in the Matrix Cookbook
MATRIX_FORMS = [
    (lambda x: np.sum((x @ M) ** 2), "∂f/∂x = 2 M (Mᵀ x)"),
    (lambda x: np.tanh(M @ x), "∂f/∂x = diag(1 − tanh²(M x)) M"),
    (lambda x: np.tanh(x @ M), "∂f/∂x = diag(1 − tanh²(Mᵀ x)) Mᵀ"),
    (lambda x: np.sin(np.dot(M, x)), "∂f/∂x = diag(cos(M x)) M"),
    (lambda x: M @ np.sin(x), "∂f/∂x = M diag(cos(x))"),
    (lambda x: np.tanh(M @ np.tanh(x)), "∂f/∂x = diag(1 − tanh²(M tanh(x))) M diag(1 − tanh²(x))"),
]


@pytest.mark.parametrize("f, printed", MATRIX_FORMS, ids=[p for _, p in MATRIX_FORMS])
def test_a_row_vector_product_reads_as_columns_in_the_matrix_form(f, printed):
    """``x @ M`` of a vector is written ``Mᵀ x``: the matrix form writes vectors as columns,
    where ``x M`` is no product (``2 M (x M)`` was printed); and a matrix scaled by rows
    or columns is ``diag(…) M`` (there was no matrix form)."""
    J = td.jacobian(f)(x)
    form = matrix_form(J)
    assert form == printed
    target = np.asarray(J).reshape(len(x), -1) if J.out_indices else np.asarray(J)[:, None]
    readings = read_matrix_form(form, {"x": x, "M": M}, J)
    assert any(r.shape == target.shape and np.allclose(r, target) for r in readings), form


@pytest.mark.parametrize("name, k", [("tril", 0), ("tril", -1), ("triu", 1), ("triu", 0)])
def test_a_triangle_s_mask_is_defined_by_its_diagonal(name, k):
    """``np.tril(X, k)`` keeps entries with column ≤ row + k: the legend says so (it printed
    an undefined-looking ``K1``, "a constant array"); the mask read from the legend's words
    rebuilds the Jacobian."""
    J = td.jacobian(lambda X: np.sin(getattr(np, name)(X, k)))(X)
    symbol = "L" if name == "tril" else "U"
    found = re.search(rf"{symbol} = \[column ([≤≥]) row(?: ([+−]) (\d+))?\]", J.formula)
    assert found, J.formula
    relation, sign, size = found.groups()
    offset = 0 if sign is None else int(size) * (1 if sign == "+" else -1)
    rows, columns = np.indices(X.shape)
    mask = columns <= rows + offset if relation == "≤" else columns >= rows + offset
    expected = np.einsum(
        "ik,jl,ij->ijkl", np.eye(2), np.eye(3), np.cos(getattr(np, name)(X, k)) * mask
    )
    np.testing.assert_allclose(np.asarray(J), expected)


def test_a_factor_that_cancelled_to_zero_gives_no_matrix_form_rather_than_an_error():
    """(Σ u x − Σ u x) x + x: the cancelled contribution's factor prints as the number 0
    over an index; the matrix form has no operand to name it by, so there is none (it
    raised ValueError), and the formula still reads back."""
    u = np.array([0.3, -1.2, 0.5])
    J = td.jacobian(lambda x: (np.sum(u * x) - np.sum(u * x)) * x + x)(x)
    form = matrix_form(J)
    if form is not None:
        target = np.asarray(J)
        assert any(np.allclose(r, target) for r in read_matrix_form(form, {"x": x, "u": u}, J))
    np.testing.assert_allclose(read_back(J.formula, {"x": x, "u": u}, J), np.eye(3))
