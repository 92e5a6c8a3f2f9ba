"""td.explain and `tensordiff explain`: what it shows is read off the computation."""

import json
import re

import numpy as np
import pytest

import tensordiff as td
from tensordiff.cli import main
from tensordiff.cli.expression import ExpressionError, parse_expression
from tensordiff.text.latex import to_latex

rng = np.random.default_rng(3)
W, x, y, b = rng.normal(size=(3, 4)), rng.normal(size=4), rng.normal(size=3), rng.normal(size=3)


def test_squared_error_explanation_answers_the_question():
    def E(W):
        return np.sum((W @ x - y) ** 2)

    e = td.explain(E)(W)
    assert e.entity == "order-2 tensor (a matrix), shape (3, 4), labels E / W[i,j]"
    assert "W's shape" in e.layout
    assert e.formula == "∂E/∂W[i,j] = 2 (W x − y)[i] x[j]"
    assert e.matrix == "∂E/∂W = 2 (W x − y) xᵀ"
    names = [item["name"] for item in e.intermediates]
    assert names[0] == "(W x)[k]" and names[-1] == "E"
    assert e.steps[-1]["einsum"] == "'k,kij->ij'"
    assert e.steps[-1]["deltas"] == ["δ[k,i] eliminated: k → i"]
    np.testing.assert_allclose(np.asarray(e.jacobian), 2 * np.outer(W @ x - y, x))


def test_layer_explanation_has_the_vec_kronecker_form():
    def layer(W):
        return np.tanh(W @ x + b)

    e = td.explain(layer)(W)
    assert e.entity == "order-3 tensor, shape (3, 3, 4), labels layer[i] / W[j,k]"
    assert "∂vec layer/∂vec W is 3×12" in e.layout
    assert e.matrix == "∂vec layer/∂vec W = diag(1 − tanh²(W x + b)) (xᵀ ⊗ I₃)"
    # the matrix form is true: (xᵀ ⊗ I) vec W with column stacking
    V = np.tanh(W @ x + b)
    kron = np.diag(1 - V**2) @ np.kron(x[None, :], np.eye(3))
    dense = np.asarray(e.jacobian).reshape(3, 12, order="F")
    np.testing.assert_allclose(dense, kron)


A = np.eye(3) + 0.1 * rng.normal(size=(3, 3))


@pytest.mark.parametrize(
    "f, arg, form, closed",
    [
        (lambda W: W @ x, W, "∂vec f/∂vec W = xᵀ ⊗ I₃", np.kron(x[None, :], np.eye(3))),
        (lambda v: W @ v, x, "∂f/∂v = W", W),
        (lambda v: np.tanh(v), y, "∂f/∂v = diag(1 − tanh²(v))", np.diag(1 - np.tanh(y) ** 2)),
        (lambda A: np.trace(A), A, "∂f/∂A = I₃", np.eye(3)),
        (lambda A: np.sum(A @ A), A, None, None),
    ],
)
def test_matrix_forms_hold_numerically(f, arg, form, closed):
    e = td.explain(f)(arg)
    assert e.matrix == form
    if closed is not None:
        dense = np.asarray(e.jacobian)
        # ∂vec f/∂vec W flattens W column by column (order "F")
        np.testing.assert_allclose(dense.reshape(closed.shape, order="F"), closed)


def test_outputs_are_json_latex_html():
    e = td.explain(lambda W: np.tanh(W @ x))(W)
    data = json.loads(json.dumps(e.to_dict()))
    assert data["formula"] == e.formula and data["shape"] == [3, 3, 4]
    assert e.latex().startswith("\\begin{align*}") and "\\delta_{ij}" in e.latex()
    assert e._repr_latex_().startswith("$$\\frac{\\partial f_{i}}{\\partial W_{jk}}")
    assert "<pre" not in e._repr_html_()  # typeset maths, not text (tests/web/test_export.py)
    assert "\\delta_{ij}" in e._repr_html_()


def test_expression_parser_whitelists_and_points():
    f, names = parse_expression("sum((W @ x - y)**2, axis=0) + W.T.sum() + np.tanh(W)[0, 1:]")
    assert names == ["W", "x", "y"]
    with pytest.raises(ExpressionError) as error:
        parse_expression("sum(__import__('os'))")
    assert error.value.column == 4
    for bad in ("x.__class__", "lambda: 1", "[i for i in x]", "x if y else z", "f(**k)"):
        with pytest.raises(ExpressionError):
            parse_expression(bad)


def test_cli_explain_prints_the_explanation(capsys):
    code = main(
        [
            "explain",
            "sum((W @ x - y)**2)",
            "--wrt",
            "W",
            "--shape",
            "W=3,4",
            "--shape",
            "x=4",
            "--shape",
            "y=3",
        ]
    )
    out = capsys.readouterr().out
    assert code == 0
    assert "∂f/∂W[i,j] = 2 (W x − y)[i] x[j]" in out
    assert "matrix form: ∂f/∂W = 2 (W x − y) xᵀ" in out


@pytest.mark.parametrize("fmt, marker", [("latex", "\\begin{align*}"), ("json", '"formula"')])
def test_cli_explain_formats(capsys, fmt, marker):
    assert (
        main(["explain", "tanh(W @ x)", "--shape", "W=2,3", "--shape", "x=3", "--format", fmt]) == 0
    )
    assert marker in capsys.readouterr().out


def test_cli_explain_reads_values_from_npy(tmp_path, capsys):
    np.save(tmp_path / "W.npy", np.eye(2))
    assert (
        main(
            [
                "explain",
                "W @ x",
                "--wrt",
                "x",
                "--value",
                f"W={tmp_path / 'W.npy'}",
                "--shape",
                "x=2",
                "--format",
                "json",
            ]
        )
        == 0
    )
    assert json.loads(capsys.readouterr().out)["matrix_form"] == "∂f/∂x = W"


@pytest.mark.parametrize(
    "argv, message, caret",
    [
        (["sum(foo(W))", "--shape", "W=3"], "unknown function 'foo'", "      ^^^"),
        (["sum(W @ x", "--shape", "W=3"], "syntax error", None),
        (["W @ x", "--shape", "W=3,4"], "no shape for 'x'", "      ^"),
        (["W @ x", "--wrt", "z", "--shape", "W=3,4", "--shape", "x=4"], "not a variable", None),
        (["frobnicate(W)", "--shape", "W=3"], "unknown function 'frobnicate'", "  ^^^^^^^^^^"),
        (["W @ x", "--shape", "W=3,4", "--shape", "x=5"], "matmul", None),
    ],
)
def test_cli_explain_errors_exit_2_without_a_traceback(capsys, argv, message, caret):
    assert main(["explain", *argv]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    if caret:
        assert caret in err.splitlines()


def test_cli_help_is_complete(capsys):
    for argv in (["--help"], ["explain", "--help"], ["demo", "--help"]):
        with pytest.raises(SystemExit) as exit_info:
            main(argv)
        assert exit_info.value.code == 0
    text = capsys.readouterr().out
    assert "--shape" in text and "--format" in text and "examples:" in text and "--seed" in text


def test_backprop_through_a_two_layer_mlp_reads_as_matrix_products():
    W1, W2 = rng.normal(size=(4, 3)), rng.normal(size=(2, 4))
    x3, y2 = rng.normal(size=3), rng.normal(size=2)

    def loss(W1):
        return np.sum((W2 @ np.tanh(W1 @ x3) - y2) ** 2)

    e = td.explain(loss)(W1)
    assert e.matrix == "∂loss/∂W1 = 2 ((1 − tanh²(W1 x3)) ⊙ (W2ᵀ (W2 tanh(W1 x3) − y2))) x3ᵀ"
    h = np.tanh(W1 @ x3)
    expected = np.outer((1 - h**2) * (W2.T @ (2 * (W2 @ h - y2))), x3)
    np.testing.assert_allclose(np.asarray(e.jacobian), expected)
    # backprop: the steps run from the loss back to W1, each contracting one intermediate
    assert [step["parent"] for step in e.steps][-1] == "W1"
    assert len(e.steps) == len(e.intermediates)


C24, D45, X34 = rng.normal(size=(2, 3)), rng.normal(size=(4, 5)), rng.normal(size=(3, 4))


def _vec_matrix(J) -> np.ndarray:
    """∂vec Y/∂vec X with column-stacked vec, from an order-4 Jacobian Y[i,j]/X[k,l]."""
    a, b, c, d = J.shape
    return np.asarray(J).transpose(1, 0, 3, 2).reshape(a * b, c * d)


@pytest.mark.parametrize(
    "f, form, closed",
    [
        (lambda X: C24 @ X, "∂vec f/∂vec X = I₄ ⊗ C24", lambda: np.kron(np.eye(4), C24)),
        (lambda X: X @ D45, "∂vec f/∂vec X = D45ᵀ ⊗ I₃", lambda: np.kron(D45.T, np.eye(3))),
        (lambda X: X.T, "∂vec f/∂vec X = K₃₄", None),
    ],
)
def test_matrix_by_matrix_forms(f, form, closed):
    e = td.explain(f)(X34)
    assert e.matrix == form
    M = _vec_matrix(e.jacobian)
    if closed is not None:
        np.testing.assert_allclose(M, closed())
    else:  # the commutation matrix maps vec X to vec Xᵀ
        np.testing.assert_allclose(M @ X34.flatten("F"), X34.T.flatten("F"))


def test_gradient_of_a_sum_is_a_vector_of_ones():
    assert td.explain(np.sum)(np.ones(3)).matrix == "∂sum/∂a = 𝟙"


def test_layout_sentence_states_the_gradient_convention_only_where_it_matters():
    def E(W):
        return np.sum((W @ x - y) ** 2)

    e = td.explain(E)(W)
    assert "denominator (gradient) layout" in e.layout and "like Wᵀ" in e.layout
    # denominator layout: entry [i, j] is ∂E/∂W[i,j], so the array has W's shape
    step = 1e-6
    bump = np.zeros_like(W)
    bump[1, 2] = step
    assert np.asarray(e.jacobian).shape == W.shape
    np.testing.assert_allclose(
        np.asarray(e.jacobian)[1, 2], (E(W + bump) - E(W - bump)) / (2 * step), rtol=1e-6
    )
    for arg in (x, 2.0):  # a vector or a number: no convention to choose
        e = td.explain(lambda v: np.sum(v**2))(arg)
        assert e.layout == "" and "layout" not in str(e)
    assert str(td.explain(lambda v: v**2)(2.0)).startswith("∂f/∂v is a scalar")


def test_hessians_print_the_argument_twice():
    H = td.hessian(lambda W: np.sum(np.tanh(W @ x) ** 2))(W)
    assert H.formula.startswith("∂²f/∂W[i,j]∂W[k,l] = ")
    h = td.hessian(lambda v: np.sum(np.exp(v)))(x)
    assert h.formula.startswith("∂²f/∂v[i]∂v[j] = ")
    assert to_latex(H.formula).startswith(
        r"\frac{\partial^{2}f}{\partial W_{ij}\,\partial W_{kl}} = "
    )


def test_an_input_used_twice_has_one_local_jacobian_the_sum_of_both():
    e = td.explain(lambda A: A * A)(A)
    (item,) = e.intermediates
    assert item["local_jacobians"] == ["∂f[i,j]/∂A[k,l] = 2 δ[i,k] δ[j,l] A[i,j]"]
    np.testing.assert_allclose(
        np.asarray(e.jacobian), np.einsum("ik,jl,ij->ijkl", *[np.eye(3)] * 2, 2 * A)
    )


def test_an_intermediate_is_called_as_the_legend_calls_it():
    """The trace names a long intermediate by the symbol the legend defines it as (z₁, not a
    second name z1), other long ones h₁, h₂ (subscripts, as the legend's), and no index is
    the legend's z."""
    weights = [rng.normal(size=(3, 3)) / 3 for _ in range(4)]

    def f(v):
        for M in weights:
            v = v + np.tanh(M @ v)
        return np.sum(v**2)

    e = td.explain(f)(y)
    entries = re.split(r", (?=\w+(?:\[[^\]]*\])? = )", e.formula.split(", where ")[1])
    legend = dict(entry.split(" = ", 1) for entry in entries)
    named = {item["expression"]: item["name"] for item in e.intermediates}
    intermediates = [symbol for symbol in legend if symbol[0] == "z"]
    assert intermediates and all(named[legend[z]].startswith(f"{z}[") for z in intermediates)
    short = [item["name"].split("[")[0] for item in e.intermediates if item["name"][0] == "h"]
    assert short and all(re.fullmatch(r"h[₀-₉]+", name) for name in short)
    labels = {label for item in e.intermediates for label in re.findall(r"\[(\w)\]", item["name"])}
    assert "z" not in labels and "h" not in labels
