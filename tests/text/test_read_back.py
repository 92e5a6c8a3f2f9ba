"""A corpus of expressions whose printed formulas are read back with the user's own names.

Each printed ``J.formula`` is parsed by :mod:`formula_reader` using only the
arrays the user named (the argument and the globals the function reads) and the
formula's own ``where`` legend, evaluated with NumPy, and compared with the
Jacobian's numbers. An undefined symbol, a view printed under its base's name, a
lost transpose or a wrong sign makes the case fail.
"""

import re

import numpy as np
import pytest
from expressions import (
    CORPUS,
    HESSIANS,
    MATRIX_HESSIANS,
    S3,
    SINGULAR,
    SINGULAR_HESSIANS,
    USER,
    function,
    p3,
)
from formula_reader import read_back, read_matrix_form

import tensordiff as td
from tensordiff.text.matrix_form import matrix_form

# numbers in a formula are printed to 6 significant digits
_PRINTED = 2e-6
rng = np.random.default_rng(7)  # the weights of the residual chains below


@pytest.mark.parametrize(
    "source, argument, point", CORPUS, ids=[f"{s} @{p.shape}" for s, _, p in CORPUS]
)
def test_the_printed_formula_reads_back_to_the_jacobian(source, argument, point):
    J = td.jacobian(function(source, argument))(point)
    names = {**USER, argument: point}
    np.testing.assert_allclose(
        read_back(J.formula, names, J), np.asarray(J), rtol=_PRINTED, atol=1e-9, err_msg=J.formula
    )


_HESSIANS = (
    [(source, p3) for source in HESSIANS]
    + [(source, S3) for source in MATRIX_HESSIANS]
    + [(source, SINGULAR) for source in SINGULAR_HESSIANS]
)


@pytest.mark.parametrize("source, point", _HESSIANS, ids=[s for s, _ in _HESSIANS])
def test_the_printed_hessian_reads_back(source, point):
    H = td.hessian(function(source, "x"))(point)
    np.testing.assert_allclose(
        read_back(H.formula, {**USER, "x": point}, H),
        np.asarray(H),
        rtol=_PRINTED,
        atol=1e-9,
        err_msg=H.formula,
    )


def _vec_matrix(J) -> np.ndarray:
    """J as its matrix form means it: ∂vec f/∂vec W with columns stacked (order "F"); a
    gradient in its argument's shape, a vector's as a column."""
    n_out = len(J.out_indices)
    in_shape = J.shape[n_out:]
    if n_out:
        return np.asarray(J).reshape(-1, int(np.prod(in_shape)), order="F")
    return np.asarray(J).reshape(in_shape if len(in_shape) > 1 else (-1, 1))


@pytest.mark.parametrize(
    "source, argument, point", CORPUS, ids=[f"{s} @{p.shape}" for s, _, p in CORPUS]
)
def test_the_printed_matrix_form_reads_back_to_the_jacobian(source, argument, point):
    J = td.jacobian(function(source, argument))(point)
    form = matrix_form(J)
    if form is None:  # counted in test_most_of_the_corpus_has_a_matrix_form
        return
    target = _vec_matrix(J)
    readings = read_matrix_form(form, {**USER, argument: point}, J)
    assert any(
        reading.shape == target.shape and np.allclose(reading, target, rtol=_PRINTED, atol=1e-9)
        for reading in readings
    ), (form, [reading.shape for reading in readings], target.shape)


def test_most_of_the_corpus_has_a_matrix_form():
    forms = [matrix_form(td.jacobian(function(s, a))(p)) for s, a, p in CORPUS]
    assert sum(form is not None for form in forms) >= 115


def test_the_corpus_is_large():
    assert len(CORPUS) + len(HESSIANS) + len(MATRIX_HESSIANS) >= 150


def _bound_letters(formula: str) -> list[list[str]]:
    return [group.split(",") for group in re.findall(r"Σ_([\w₀-₉,]+)", formula)]


@pytest.mark.parametrize(
    "source, argument, point", CORPUS, ids=[f"{s} @{p.shape}" for s, _, p in CORPUS]
)
def test_a_bound_index_is_never_a_free_index_or_a_name(source, argument, point):
    J = td.jacobian(function(source, argument))(point)
    formula = J.formula.partition(", where ")[0]
    rhs = formula.split(" = ", 1)[1]
    names = set(re.findall(r"[^\W\d_][\w₀-₉]*", re.sub(r"Σ_[\w₀-₉,]+|\[[^\[\]]*\]", "", rhs)))
    for group in _bound_letters(rhs):
        assert not set(group) & set(J.indices), formula
        assert not set(group) & names, formula


def _residual_chain(layers: int):
    """``h ← h + tanh(Wk h)`` for k = 1 … layers, each Wk a global the formula names."""
    weights = {f"W{k}": rng.normal(size=(3, 3)) / 3 for k in range(1, layers + 1)}
    body = "".join(f"    h = h + np.tanh(W{k} @ h)\n" for k in range(1, layers + 1))
    namespace = {"np": np, **weights}
    exec(f"def f(h):\n{body}    return h\n", namespace)
    exec(f"def loss(h):\n{body}    return np.sum(h**2)\n", namespace)
    return namespace, weights


@pytest.mark.parametrize("mode", ["auto", "reverse", "forward"])
def test_a_deep_residual_chain_reads_back(mode):
    """Each layer uses its input twice: the formula names long intermediates (z) and the
    parts it uses more than once (P₁[i,j], defined with their own indices), and the legend
    defines each before it is used."""
    functions, weights = _residual_chain(100)
    J = td.jacobian(functions["f"], mode=mode)(p3)
    formula = J.formula
    assert re.search(r"where .*\bz[₀-₉]* = .*\bP[₀-₉]*\[i,j\] = ", formula), formula[:500]
    np.testing.assert_allclose(
        read_back(formula, {**weights, "h": p3}, J), np.asarray(J), rtol=1e-9, atol=1e-12
    )


def test_the_gradient_of_a_residual_chain_reads_back():
    functions, weights = _residual_chain(40)
    g = td.grad(functions["loss"])(p3)
    np.testing.assert_allclose(
        read_back(g.formula, {**weights, "h": p3}, g), np.asarray(g), rtol=1e-9, atol=1e-12
    )


@pytest.mark.parametrize("layers", [2, 25])
def test_a_leaky_relu_residual_chain_reads_back(layers):
    """Masks (g₁ = [W1 h > 0.1 (W1 h)] + ½ […]) whose meanings hold ' + ' inside a Σ:
    the Σ's scope runs past them (once it ended inside the meaning, and the bound index
    printed as another letter, or as j)."""
    weights = {f"W{k}": rng.normal(size=(3, 3)) / 3 for k in range(1, layers + 1)}
    body = "".join(
        f"    h = h + np.maximum(W{k} @ h, 0.1 * (W{k} @ h))\n" for k in range(1, layers + 1)
    )
    namespace = {"np": np, **weights}
    exec(f"def f(h):\n{body}    return h\n", namespace)
    point = np.array([0.7, 1.3, -2.1])
    for mode in ("auto", "forward"):
        J = td.jacobian(namespace["f"], mode=mode)(point)
        np.testing.assert_allclose(
            read_back(J.formula, {**weights, "h": point}, J), np.asarray(J), rtol=1e-9, atol=1e-12
        )


@pytest.mark.parametrize("mode", ["forward", "reverse"])
def test_a_term_summing_over_more_indices_than_letters_names_each_by_a_letter(mode):
    """X³¹ sums over up to 30 indices in one term, more than there are plain letters: the next
    ones are a₁, b₁, … (they were printed as s1000000021), each summed once."""
    X = np.array([[0.6, 0.1], [0.2, 0.5]])

    def power(X):
        Y = X
        for _ in range(30):
            Y = Y @ X
        return Y

    formula = td.jacobian(power, mode=mode)(X).formula
    assert not re.search(r"\bs\d", formula), formula
    longest = max(formula.split(" = ", 1)[1].split(" + "), key=lambda t: t.count("Σ"))
    summed = re.findall(r"Σ_(\w+)", longest)
    assert len(summed) > 21 and len(set(summed)) == len(summed), longest  # 21 plain letters
    assert all(re.fullmatch(r"[a-z][₀-₉]?", label) for label in summed), summed
