"""A constant prints under a user's name only if it *is* that array.

Every view NumPy can make of a named array (transposes, axis moves, reversed and
strided slices, reshapes, broadcasts, diagonals, ``.real`` of a complex array,
sliding windows) is used inside a differentiated function. The printed formula is
then evaluated with the *user's* arrays only: a factor named ``A`` is read as the
user's ``A``, ``Aᵀ`` as its transpose, ``flip(y)`` as ``y[::-1]``,
``transpose(B, p)`` as ``np.transpose(B, p)``; any other name must be a fresh
symbol that no user variable has. Before, ``A.T @ x`` printed ``A[i,j]``.
"""

import re

import numpy as np
import pytest
from formula_reader import read_number
from test_formulas import evaluate_term, signed_terms

import tensordiff as td
from tensordiff.text.notation import factor_table

rng = np.random.default_rng(11)
A = rng.normal(size=(3, 4))
B = rng.normal(size=(2, 3, 4))
y = rng.normal(size=5)
Z = A + 1j * rng.normal(size=(3, 4))
USER = {"A": A, "B": B, "y": y, "Z": Z}

VIEWS = [
    "A.T",
    "np.transpose(A)",
    "A.swapaxes(0, 1)",
    "np.swapaxes(B, 0, 2)",
    "np.moveaxis(B, 0, -1)",
    "B.transpose(1, 2, 0)",
    "y[::-1]",
    "np.flip(y)",
    "y[::2]",
    "y[::-2]",
    "y[1:]",
    "y[:-1]",
    "A[::-1]",
    "A[:, ::-2]",
    "np.flip(A)",
    "np.rot90(A)",
    "A[1]",
    "A[:, 0]",
    "A.reshape(4, 3)",
    "A.reshape(2, 6)",
    "A.ravel()",
    "B.reshape(6, 4)",
    "B[0]",
    "np.broadcast_to(y, (2, 5))",
    "y[None, :]",
    "np.expand_dims(A, 0)",
    "np.diagonal(A)",
    "B.diagonal(0, 1, 2)",
    "Z.real",
    "Z.imag",
    "np.lib.stride_tricks.sliding_window_view(y, 3)",
    "A.view()",
    "A[...]",
    "A[:]",
    "A.reshape(3, 4)",
]
# views that are the very array they come from keep its name
SAME = {"A.view()": "A", "A[...]": "A", "A[:]": "A", "A.reshape(3, 4)": "A"}


def resolve(name: str):
    """The user's array a printed name denotes, or None for a fresh symbol."""
    if name in USER:
        return USER[name]
    if name.endswith("ᵀ") and name[:-1] in USER:
        return USER[name[:-1]].T
    flipped = re.fullmatch(r"flip\((\w+)\)", name)
    if flipped and flipped.group(1) in USER:
        return np.flip(USER[flipped.group(1)])
    reshaped = re.fullmatch(r"reshape\((\w+), (\(.*\))\)", name)
    if reshaped and reshaped.group(1) in USER:
        return np.reshape(USER[reshaped.group(1)], eval(reshaped.group(2)))
    raveled = re.fullmatch(r"ravel\((\w+)\)", name)
    if raveled and raveled.group(1) in USER:
        return np.ravel(USER[raveled.group(1)])
    moved = re.fullmatch(r"transpose\((\w+), (\(.*\))\)", name)
    if moved and moved.group(1) in USER:
        return np.transpose(USER[moved.group(1)], eval(moved.group(2)))
    sliced = re.fullmatch(r"(\w+)(\[[\d:,−]*\])", name)  # A[1], A[:,0], y[::−2]
    if sliced and sliced.group(1) in USER:
        return eval(f"USER[{sliced.group(1)!r}]" + sliced.group(2).replace("−", "-"))
    return None


def evaluate_with_user_arrays(J) -> np.ndarray:
    """The printed formula evaluated on the user's arrays (fresh symbols on their own)."""
    formula, _, legend = J.formula.partition(", where ")
    _, rhs = formula.split(" = ", 1)
    defined = set(re.findall(r"(?:^|, )(\S+) = ", legend))
    total = np.zeros(J.shape)
    for text, table in zip(signed_terms(rhs), factor_table(J), strict=True):
        user_table = {}
        for token, (array, labels) in table.items():
            name = token[: token.rindex("[")] if "[" in token else token
            user_array = resolve(name)
            if user_array is None:
                assert name in defined, f"{name!r} is neither a user name nor in the legend"
                user_array = array
            user_table[token] = (user_array, labels)
        total += evaluate_term(text.strip(), user_table, J)
    return total


def user_function(source: str):
    """``lambda x: <source>`` written as a user would, reading A, B, y, Z as globals."""
    return eval(f"lambda x: {source}", {"np": np, **USER})


@pytest.mark.parametrize("source", VIEWS)
def test_a_view_never_borrows_its_base_name(source):
    V = eval(source, {"np": np, **USER})
    J = td.jacobian(user_function(f"x * {source}"))(rng.normal(size=V.shape))
    np.testing.assert_allclose(evaluate_with_user_arrays(J), np.asarray(J), err_msg=J.formula)
    if source in SAME:
        assert f" {SAME[source]}[" in J.formula
    if V.ndim == 2:  # the view as a matrix applied to the argument
        J = td.jacobian(user_function(f"{source} @ x"))(rng.normal(size=V.shape[1]))
        np.testing.assert_allclose(evaluate_with_user_arrays(J), np.asarray(J), err_msg=J.formula)
    np.testing.assert_allclose(evaluate_with_user_arrays(J), np.asarray(J), err_msg=J.formula)
    if source in SAME:
        assert f" {SAME[source]}[" in J.formula


@pytest.mark.parametrize(
    "f, x, formula, matrix",
    [
        (lambda x: A.T @ x, rng.normal(size=3), "∂f[i]/∂x[j] = A[j,i]", "∂f/∂x = Aᵀ"),
        (lambda x: x @ A.T, rng.normal(size=4), "∂f[i]/∂x[j] = A[i,j]", "∂f/∂x = A"),
        (lambda x: np.sum(x * np.flip(y)), y, "∂f/∂x[i] = flip(y)[i]", "∂f/∂x = flip(y)"),
        (
            lambda x: np.sum(x * A.ravel()),
            y.repeat(3)[:12],
            "∂f/∂x[i] = ravel(A)[i]",
            "∂f/∂x = ravel(A)",
        ),
        (
            lambda x: A.reshape(6, 2) @ x,
            rng.normal(size=2),
            "∂f[i]/∂x[j] = reshape(A, (6, 2))[i,j]",
            "∂f/∂x = reshape(A, (6, 2))",
        ),
    ],
)
def test_views_print_as_the_operation_that_made_them(f, x, formula, matrix):
    e = td.explain(f)(x)
    assert (e.formula, e.matrix) == (formula, matrix)


def test_fresh_symbols_skip_user_names():
    K1 = rng.normal(size=(4, 3))
    J = td.jacobian(lambda x: K1 @ x + A[:, ::-1].reshape(4, 3) @ x)(rng.normal(size=3))
    names = set(re.findall(r"(K\d+)\[", J.formula))
    assert names == {"K1", "K2"}
    dense = np.asarray(J)
    np.testing.assert_allclose(dense, K1 + A[:, ::-1].reshape(4, 3))


@pytest.mark.parametrize("constant", [1 / 3, 0.1 + 0.2, 2.0**64, 1e-300, 123456.789])
def test_a_constant_is_printed_so_that_it_reads_back_exactly(constant):
    """The printed factor is the float used: parsing it back gives the same float64."""
    formula = td.jacobian(lambda x: x * constant)(np.ones(2)).formula
    printed = formula.split("= ")[1].split(" δ")[0]
    assert read_number(printed) == constant, formula


def test_an_identity_made_in_the_function_reads_as_the_identity():
    """np.eye(3) inside f has no name of the user's: it prints I₃, not K1 ("a constant
    array, none of the arguments"), a symbol no reader could evaluate."""
    J = td.jacobian(lambda X: np.linalg.inv(X + np.eye(3)))(np.diag([1.0, 2.0, 3.0]))
    assert J.formula == "∂f[i,j]/∂X[k,l] = −(X + I₃)⁻¹[i,k] (X + I₃)⁻¹[l,j]"
    assert td.explain(lambda X: np.linalg.inv(X + np.eye(3)))(np.eye(3)).matrix == (
        "∂vec f/∂vec X = −(X + I₃)⁻ᵀ ⊗ (X + I₃)⁻¹"  # it printed −((X + I₃)⁻¹)ᵀ ⊗ ((X + I₃)⁻¹)
    )
    inverse = np.diag([1 / 2, 1 / 3, 1 / 4])
    np.testing.assert_allclose(np.asarray(J), -np.einsum("ik,lj->ijkl", inverse, inverse))
    assert "K1" in td.jacobian(lambda x: np.eye(3)[0] * x)(np.ones(3)).formula  # no identity


@pytest.mark.parametrize(
    "source, printed",
    [
        ("A[1]", "A[1][i]"),
        ("A[:, 0]", "A[:,0][i]"),
        ("y[1:4]", "y[1:4][i]"),
        ("y[::-2]", "y[::−2][i]"),
    ],
)
def test_a_basic_slice_of_a_named_array_prints_as_the_slice(source, printed):
    """A row, a column or a range of the user's array is that slice, not a fresh K1 ("a
    constant array, none of the arguments"), which no reader could evaluate."""
    V = eval(source, {"np": np, **USER})
    J = td.jacobian(user_function(f"x * {source}"))(rng.normal(size=V.shape))
    assert J.formula == f"∂f[i]/∂x[j] = δ[i,j] {printed}"
    np.testing.assert_array_equal(np.asarray(J), np.diag(V))
