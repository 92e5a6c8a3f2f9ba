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
from formula_reader import read_back

import tensordiff as td

rng = np.random.default_rng(7)
A = rng.normal(size=(3, 4))
M = rng.normal(size=(3, 3)) + 3.0 * np.eye(3)
W = rng.normal(size=(2, 3))
u = rng.normal(size=3)
c = rng.normal(size=4)
d = rng.uniform(0.5, 2.0, size=3)
USER = {"A": A, "M": M, "W": W, "u": u, "c": c, "d": d}

# points: a vector with a tie at 0.5 and a 0, a positive vector, a matrix
x3 = np.array([0.5, -1.25, 0.0])
p3 = np.array([0.7, 1.3, 2.1])
X = rng.normal(size=(3, 4))
S3 = rng.normal(size=(3, 3)) + 3.0 * np.eye(3)

ELEMENTWISE = [
    "np.exp(x)", "np.log(x)", "np.sqrt(x)", "np.tanh(x)", "np.sin(x)", "np.cos(x)",
    "np.sinh(x)", "np.cosh(x)", "np.square(x)", "x ** 3", "x ** 0.5", "1 / x", "2.0 ** x",
    "np.log1p(x)", "np.expm1(x)", "np.arctan(x)", "np.reciprocal(x)", "-x", "x * x",
    "x / d", "d / x", "x * d", "x - d", "d - x", "np.hypot(x, d)", "np.logaddexp(x, d)",
    "x ** d", "d ** x", "np.exp(np.sin(x))", "np.tanh(W.T @ np.tanh(W @ x))",
    "1 / (1 + np.exp(-x))", "np.log(np.sum(np.exp(x)))", "np.sqrt(x * x + 1)",
    "np.abs(x) * x", "np.log2(x)", "np.log10(x)", "np.cbrt(x)",
]  # fmt: skip
MASKS = [
    "np.where(x > 1, x, 0.1 * x)", "np.where(x > 1, x * x, -x)", "x * (x > 1)",
    "np.maximum(x, 1.3)", "np.minimum(x, 1.3)", "np.maximum(x, 0.7) * x",
    "np.clip(x, 0.8, 2.0)", "np.fmax(x, 1.3)", "np.fmin(x, 1.3)", "np.maximum(x, d)",
    "np.where(np.sum(x) > 0, x, -x)", "np.abs(x - 1.3)", "np.where(x < d, d, x)",
    "np.maximum(x - 1.3, 0.0) ** 2", "np.sum(np.maximum(x, 1.3))", "np.max(x) * x",
    "np.min(x) * x", "np.max(x * x)", "np.sum(np.abs(x - d))",
]  # fmt: skip
LINEAR = [
    "W @ x", "x @ M", "M @ x", "M.T @ x", "x @ M.T", "np.flip(u) * x", "x * u[::-1]",
    "np.sum(x * np.flip(u))", "x @ u[::-1]", "np.dot(u, x)", "np.outer(x, u)",
    "np.outer(u, x)",  "np.einsum('ij,j->i', M, x)",
    "np.einsum('i,i->', x, u)", "np.einsum('ji,j->i', M, x)", "x @ M @ x",
    "W @ (x * x)", "np.sum((W @ x - 1.0) ** 2)", "np.sum(x) * u", "np.mean(x) * x",
    "np.cumsum(x)", "np.diff(x)", "np.flip(x)", "x[::-1]", "x[1:]", "x[::2]", "x[[2, 0]]",
    "np.concatenate([x, u])", "np.stack([x, u])", "np.roll(x, 1)", "np.tile(x, 2)",
    "np.repeat(x, 2)", "x[0] * x", "x[2] * u", "np.linalg.norm(x)",
    "np.linalg.norm(x) ** 2", "np.sum(x ** 2) / 2",
    "np.trace(np.outer(x, x))", "np.diag(np.outer(x, u))",
    "np.tensordot(M, x, axes=1)", "np.inner(M, x)", "np.matmul(x, M.T)",
    "np.exp(x) / np.sum(np.exp(x))", "np.exp(x - np.max(x)) / np.sum(np.exp(x - np.max(x)))",
    "x / np.linalg.norm(x)", "np.log(np.exp(x) / np.sum(np.exp(x)))",
]  # fmt: skip
MATRIX = [
    "X @ c", "np.tanh(X @ c)", "X.T @ u", "u @ X", "A * X", "X * X", "X.T", "np.transpose(X)",
    "X[::-1]", "X[:, ::-1]", "np.flip(X)", "X.ravel()", "X.reshape(4, 3)", "np.sum(X, axis=0)",
    "np.sum(X, axis=1)", "np.mean(X, axis=0)", "np.max(X, axis=1)", "np.sum(X * A)",
    "np.sum(X ** 2)", "np.trace(X @ A.T)", "np.trace(X.T @ A)", "A.T @ X", "X @ A.T",
    "np.sum(np.tanh(X) * A)", "np.exp(X) / np.sum(np.exp(X), axis=1, keepdims=True)",
    "np.linalg.norm(X)", "np.where(X > 0, X, 0.01 * X)", "np.maximum(X, 0.0)",
    "np.einsum('ij,ij->i', X, A)", "np.einsum('ij->j', X)", "np.einsum('ij,kj->ik', X, A)",
    "X - np.mean(X, axis=1, keepdims=True)", "np.sum(np.abs(X))", "X[1]", "X[:, 2]",
    "np.diagonal(X)", "X[:2, 1:3]", "np.swapaxes(X, 0, 1)", "np.sum(X @ X.T)",
    "u @ X @ c", "np.sin(X.ravel())", "np.sin(X.reshape(2, 6))", "np.cos(X.reshape(6, 2)).T",
]  # fmt: skip
SQUARE = [
    "np.linalg.inv(x)", "np.linalg.det(x)", "np.log(np.linalg.det(x))", "x @ x",
    "x.T @ x", "x @ M", "M @ x @ M", "np.trace(x)", "np.trace(x @ x)", "np.trace(M @ x)",
    "u @ x @ u", "np.linalg.solve(x, u)", "np.linalg.inv(x) @ u", "x + x.T",
    "np.sum(np.linalg.inv(x))", "np.linalg.slogdet(x)[1]", "np.trace(x.T @ x)",
    "np.linalg.matrix_power(x, 4)", "np.logaddexp.reduce(x, axis=1)",
]  # fmt: skip
HESSIANS = [
    "np.sum(x ** 3)", "np.sum(np.exp(x))", "x @ M @ x", "np.sum(np.sin(x)) * np.sum(x)",
    "np.log(np.sum(np.exp(x)))", "np.sum(x * u) ** 2", "np.linalg.norm(x)",
    "np.sum((W @ x) ** 2)", "np.sum(np.tanh(x) ** 2)",
]  # fmt: skip

CORPUS = (
    [(source, "x", p3) for source in ELEMENTWISE]
    + [(source, "x", p3) for source in MASKS]
    + [(source, "x", x3) for source in MASKS[:6]]  # ties at the points x3 holds
    + [(source, "x", p3) for source in LINEAR]
    + [(source, "X", X) for source in MATRIX]
    + [(source, "x", S3) for source in SQUARE]
)


# numbers in a formula are printed to 6 significant digits
_PRINTED = 2e-6


def _function(source: str, argument: str):
    return eval(f"lambda {argument}: {source}", {"np": np, **USER})


@pytest.mark.parametrize(
    "source, argument, point", CORPUS, ids=[f"{s} @{p.shape}" for s, _, p in CORPUS]
)
def test_the_printed_formula_reads_back_to_the_jacobian(source, argument, point):
    J = td.jacobian(_function(source, argument))(point)
    names = {**USER, argument: point}
    np.testing.assert_allclose(
        read_back(J.formula, names, J), np.asarray(J), rtol=_PRINTED, atol=1e-9, err_msg=J.formula
    )


@pytest.mark.parametrize("source", HESSIANS)
def test_the_printed_hessian_reads_back(source):
    H = td.hessian(_function(source, "x"))(p3)
    np.testing.assert_allclose(
        read_back(H.formula, {**USER, "x": p3}, H),
        np.asarray(H),
        rtol=_PRINTED,
        atol=1e-9,
        err_msg=H.formula,
    )


def test_the_corpus_is_large():
    assert len(CORPUS) + len(HESSIANS) >= 150


def _bound_letters(formula: str) -> list[list[str]]:
    return [group.split(",") for group in re.findall(r"Σ_([\w₀-₉,]+)", formula)]


@pytest.mark.parametrize(
    "source, argument, point", CORPUS, ids=[f"{s} @{p.shape}" for s, _, p in CORPUS]
)
def test_a_bound_index_is_never_a_free_index_or_a_name(source, argument, point):
    J = td.jacobian(_function(source, argument))(point)
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
