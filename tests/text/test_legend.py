"""Every symbol a formula prints is the user's own name or defined in its legend.

A mask, a tie weight, a sign with +1 at 0, a selection matrix or an unnamed
constant prints as a symbol (``g``, ``w``, ``s``, ``S``, ``K1``) that the formula's
``where`` legend defines; distinct quantities get distinct symbols. Each legend
meaning written with comparisons is evaluated here with NumPy on the user's
arrays and compared with the numbers behind the printed symbol, at ties too.
"""

import re

import numpy as np
import pytest

import tensordiff as td
from tensordiff.text.latex import to_latex
from tensordiff.text.notation import factor_table

x = np.array([[1.0, -2.0], [0.0, -0.5]])
v = np.array([1.0, 1.5, -2.0, 1.5])  # a tie with 1.5, and two maxima
y = np.array([0.3, -1.0, 0.0, 2.0, -0.5])  # 0 for abs, −0.5 at the clip's bound
USER = {"x": x, "v": v, "y": y}

CASES = {
    "where": (lambda x: np.where(x > 0, x, 0.1 * x), "x"),
    "mask": (lambda y: y * (y > 0), "y"),
    "maximum at a tie": (lambda v: np.sum(np.maximum(v, 1.5)), "v"),
    "minimum at a tie": (lambda v: np.minimum(v, 1.5) * v, "v"),
    "relu times relu": (lambda y: np.maximum(y, 0) * np.maximum(-y, 0.2), "y"),
    "abs at 0": (lambda y: np.abs(y) * y, "y"),
    "clip at its bound": (lambda y: np.clip(y, -0.5, 1.0), "y"),
    "max with two maxima": (lambda v: np.max(v), "v"),
    "min": (lambda y: np.min(y) * y, "y"),
    "fmax": (lambda y: np.fmax(y, 0.0), "y"),
}


def value_of(text: str, legend: dict[str, str] | None = None) -> np.ndarray:
    """An elementwise formula text (labels dropped) evaluated with NumPy on the user's
    arrays, each legend symbol read as its meaning: Iverson brackets, |·|, ½, juxtaposition."""
    for symbol, meaning in (legend or {}).items():
        text = re.sub(rf"(?<![\w₀-₉]){re.escape(symbol)}(?![\w₀-₉])", f"({meaning})", text)
    text = re.sub(r"\|([^|]+)\|", r"abs(\1)", text).replace("Σ ", "sum")
    text = re.sub(r"(?<=[\w)\]])\s+(?=[\w(\[½])", " * ", text)  # juxtaposition multiplies
    text = text.replace("½", "0.5").replace("−", "-")
    text = text.replace("≥", ">=").replace("≤", "<=").replace("≠", "!=")
    text = re.sub(r"(?<![<>!=])=(?!=)", "==", text)
    text = text.replace(" ∨ ", " | ").replace("[", "((").replace("]", ") * 1.0)")
    functions = {"np": np, "max": _max, "min": _min, "sum": np.sum, "isnan": np.isnan, "abs": abs}
    return np.asarray(eval(text, functions, dict(USER)), dtype=float)


def _max(a, b=None):
    return np.max(a) if b is None else np.maximum(a, b)


def _min(a, b=None):
    return np.min(a) if b is None else np.minimum(a, b)


def legend_of(formula: str) -> dict[str, str]:
    _, _, legend = formula.partition(", where ")
    entries = re.split(r", (?=[^\W\d_][\w₀-₉]* = )", legend) if legend else []
    return dict(entry.split(" = ", 1) for entry in entries)


@pytest.mark.parametrize("name", CASES)
def test_each_printed_symbol_is_defined_and_its_meaning_is_its_numbers(name):
    f, argument = CASES[name]
    J = td.jacobian(f)(USER[argument])
    legend = legend_of(J.formula)
    assert legend, J.formula
    rhs = J.formula.partition(", where ")[0].split(" = ", 1)[1]
    unlabelled = re.sub(r"\[[\w₀-₉,]*\]|Σ_[\w₀-₉,]+", "", rhs)
    names = set(re.findall(r"(?<![\w₀-₉])([^\W\d_][\w₀-₉]*)(?![\w₀-₉(])", unlabelled)) - {"δ"}
    assert names <= set(USER) | set(legend), (names, J.formula)
    assert set(legend) <= names, J.formula  # nothing defined that is not printed
    checked = 0
    for table in factor_table(J):
        for token, (array, _) in table.items():
            elementwise = re.sub(r"\[[\w₀-₉,]*\]", "", token)
            if "Σ" in token or not set(re.findall(r"[^\W\d_][\w₀-₉]*", elementwise)) & set(legend):
                continue
            expected = np.broadcast_to(value_of(elementwise, legend), np.shape(array))
            np.testing.assert_allclose(array, expected, err_msg=f"{token}: {J.formula}")
            checked += 1
    assert checked, J.formula


def test_distinct_masks_get_distinct_symbols():
    J = td.jacobian(lambda x: np.where(x > 0, x, 0.1 * x))(x)
    legend = legend_of(J.formula)
    assert len(legend) == 2 and len(set(legend.values())) == 2, J.formula
    assert set(legend.values()) == {"[x > 0]", "1 − [x > 0]"}


def test_the_indicator_at_a_tie_is_one_half_as_the_numbers():
    J = td.jacobian(lambda v: np.sum(np.maximum(v, 1.5)))(v)
    np.testing.assert_allclose(np.asarray(J), [0.0, 0.5, 0.0, 0.5])
    assert J.formula == "∂f/∂v[i] = g[i], where g = [v > 1.5] + ½ [v = 1.5]"


def test_unit_vectors_and_selections_are_defined():
    J = td.jacobian(lambda y: y[1] * y[::2])(y)
    legend = legend_of(J.formula)
    assert legend == {
        "e₁": "the unit vector with 1 at entry 1",
        "S": "one-hot rows picking entries (0, 2, 4)",
    }, J.formula
    dense = np.zeros((3, 5))
    dense[:, 1] = y[::2]
    dense[[0, 1, 2], [0, 2, 4]] += y[1]
    np.testing.assert_allclose(np.asarray(J), dense)


def test_a_user_name_is_never_taken_by_a_symbol():
    g = np.array([2.0, 3.0, 4.0, 5.0, 6.0])
    J = td.jacobian(lambda y: g * np.where(y > 0, y, 0.0))(y)
    legend = legend_of(J.formula)
    assert "g" not in legend and len(legend) == 1, J.formula
    np.testing.assert_allclose(np.asarray(J), np.diag(g * (y > 0)))


def test_the_legend_is_in_the_explanation_and_its_latex():
    e = td.explain(lambda x: np.where(x > 0, x, 0.1 * x))(x)
    assert "where g₁ = [x > 0], g₂ = 1 − [x > 0]" in str(e)
    latex = to_latex(e.formula)
    assert r"\text{where }g_{1} = [x > 0]" in latex and "⦃" not in latex


def test_a_branch_written_with_where_names_its_condition():
    J = td.jacobian(lambda y: np.where(np.sum(y) > 0, y, -2.0 * y))(y)
    assert J.formula.endswith(", where g₁ = [sum(y) > 0], g₂ = 1 − [sum(y) > 0]")
    np.testing.assert_allclose(np.asarray(J), np.eye(5))  # sum(y) = 0.8


@pytest.mark.parametrize("reduce", [np.fmin, np.fmax])
def test_fmin_and_fmax_give_the_derivative_to_the_number_beside_a_nan(reduce):
    """fmin(NaN, 2) = 2: the whole derivative goes to the second argument (as in JAX)."""
    first, second = np.array([np.nan, 1.0, 3.0]), np.array([2.0, 3.0, np.nan])
    taken_from_first = ~np.isnan(first) & ((reduce(first, second) == first) | np.isnan(second))
    d_first = np.asarray(td.jacobian(lambda a: reduce(a, second))(first))
    d_second = np.asarray(td.jacobian(lambda b: reduce(first, b))(second))
    np.testing.assert_allclose(np.diag(d_first), taken_from_first.astype(float))
    np.testing.assert_allclose(np.diag(d_second), (~taken_from_first).astype(float))


def test_the_determinants_hessian_at_a_singular_matrix_defines_its_minors_and_signs():
    """At a singular X the cofactors are signed determinants of minors: the signs printed
    as K1 ("a constant array, none of the arguments") and the minors as
    X[..., [[[[1], [2]]], …]]; each is now a legend entry a student can read."""
    singular = np.array([[1.0, 2.0, 3.0], [2.0, 4.0, 6.0], [1.0, 0.0, 1.0]])
    H = td.hessian(lambda X: np.linalg.det(X))(singular)
    formula, _, legend = H.formula.partition(", where ")
    assert formula == "∂²f/∂X[i,j]∂X[k,l] = sgn[i,j] Σ_a,b cof(M)[i,j,a,b] S[i,j,a,b,k,l]"
    assert "sgn = the signs of the cofactors, (−1)^(i+j) in row i, column j" in legend
    assert (
        "M = the minors of X: the one in row i, column j is X without row i and column j" in legend
    )
    assert "K1" not in H.formula and "..." not in H.formula
