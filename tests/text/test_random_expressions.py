"""Random nested NumPy expressions whose printed formulas are read back and compared.

Hypothesis builds expressions from the grammar below (unary, binary and scalar
templates nested up to four deep over the argument ``x`` and the user's arrays of
:mod:`expressions`). For each, the printed index formula of its Jacobian and its
matrix form, and the printed formula of the Hessian of its sum, are read back by
:mod:`formula_reader` with only the user's names and the formula's legend, and
compared with the numbers. A false formula fails; so does one the reader cannot
read, since a text nobody can evaluate is not checked at all.

The profile is derandomized (the same examples on every run) and small enough to run
in well under a minute.
"""

import re

import numpy as np
from expressions import USER, p3
from formula_reader import read_back, read_matrix_form
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tensordiff as td
from tensordiff.text.matrix_form import matrix_form

# numbers in a formula are printed to 6 significant digits
_PRINTED = 2e-6

UNARY = [
    "np.sin({})", "np.cos({})", "np.tanh({})", "np.exp(np.tanh({}))", "np.log(1 + {0} * {0})",
    "np.sqrt(1 + {0} * {0})", "1 / (1 + np.exp(-{}))", "({}) ** 2", "({}) ** 3", "-({})",
    "np.abs({})", "np.maximum({}, 0.9)", "np.where({0} > 1, {0}, 0.5 * {0})", "np.flip({})",
    "({})[::-1]", "np.roll({}, 1)", "np.cumsum({})", "M @ ({})", "M.T @ ({})", "({}) @ M",
    "W.T @ np.tanh(W @ ({}))", "np.sum({}) * u", "np.mean({0}) * {0}",
    "({0}) / np.linalg.norm({0})", "np.exp({0}) / np.sum(np.exp({0}))", "({0}) - np.mean({0})",
    "np.outer({0}, u) @ d", "2.5 * ({})", "({}) / 3", "({}) * d", "({}) + u", "d - ({})",
    "np.sort({})", "({})[[2, 0, 1]]", "np.concatenate([({})[:2], u[:1]])",
    "np.linalg.solve(M, {})", "np.einsum('ij,j->i', M, {})", "np.dot(M, {})",
    "np.clip({}, -1, 1.2)", "({0}) * np.sum(({0}) ** 2)",
    # not np.linalg.inv(M) @ (…): NumPy computes inv(M) of the constant M before tensordiff
    # sees it, so the formula can only call it K1, "a constant array" no reader can evaluate
]  # fmt: skip
BINARY = [
    "({}) + ({})", "({}) - ({})", "({}) * ({})", "({}) / (2 + ({}) ** 2)", "np.maximum({}, {})",
    "np.outer({}, {}) @ u", "np.cross({}, {})", "np.dot({}, {}) * u",
]  # fmt: skip
SCALAR = [
    "np.sum({})", "np.sum(({}) ** 2)", "np.linalg.norm({})", "np.max({})", "np.mean({})",
    "np.log(np.sum(np.exp({})))", "({}) @ M @ ({})", "np.dot({}, {})", "np.sum(u * {})",
    "np.var({})",
]  # fmt: skip


def _bracketed(template: str) -> str:
    """``template`` with each operand in brackets: Python's precedence must not fold part
    of it with a constant first (``u * 2.5 * x`` is ``(u * 2.5) * x``, whose constant the
    formula can only call K1; ``M @ x * M @ x`` is no square of M x)."""

    def operand(match: re.Match) -> str:
        start, end = match.span()
        opened = template[start - 1 : start] == "(" or template[start - 2 : start] == ", "
        inside = opened and template[end : end + 1] in (")", ",")  # an argument of a call
        return match.group(0) if inside else f"({match.group(0)})"

    return re.sub(r"\{\d?\}", operand, template)


@st.composite
def nested(draw, depth: int, unary=tuple(UNARY)) -> str:
    """An expression of ``x`` nested at most ``depth`` deep."""
    if depth == 0 or draw(st.integers(0, 4)) == 0:
        return "x"
    if draw(st.integers(0, 3)) < 3:
        return _bracketed(draw(st.sampled_from(unary))).format(draw(nested(depth - 1, unary)))
    template = _bracketed(draw(st.sampled_from(BINARY)))
    return template.format(draw(nested(depth - 1, unary)), draw(nested(depth - 1, unary)))


# Known gaps, left out of the Hessians. Each is an array that the first derivative's
# numbers make and no rule names, which the Hessian prints as K1, "a constant array"
# no reader can evaluate:
# - max's weights w = [z = max z] / #ties reaching the rule before it (x / ‖x‖) as a
#   cotangent (a Hessian of np.max of a plain expression names w: tested below);
# - where's two masks added into one derivative, g₁ + 0.5 g₂, by the chain rule.
HESSIAN_SCALAR = [template for template in SCALAR if template != "np.max({})"]
HESSIAN_UNARY = [template for template in UNARY if not template.startswith("np.where")]


@st.composite
def expression(draw, scalars=tuple(SCALAR), unary=tuple(UNARY)) -> str:
    """A vector expression of ``x`` built from ``unary`` and the binary templates,
    perhaps reduced to a scalar by one of ``scalars``."""
    source = draw(nested(draw(st.integers(1, 4)), unary))
    if "x" not in source:
        source = f"({source}) * x"
    if draw(st.booleans()) and draw(st.booleans()):
        scalar = _bracketed(draw(st.sampled_from(scalars)))
        source = scalar.format(source, source) if scalar.count("{}") == 2 else scalar.format(source)
    return source


_PROFILE = settings(
    max_examples=150,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


def _function(source: str):
    return eval(f"lambda x: {source}", {"np": np, **USER})


def _assert_reads_back(formula: str, J, source: str) -> None:
    got = read_back(formula, {**USER, "x": p3}, J)
    np.testing.assert_allclose(
        got, np.asarray(J), rtol=_PRINTED, atol=1e-9, err_msg=f"{source}\n{formula}"
    )


def _vec(J) -> np.ndarray:
    """J as its matrix form means it: ∂vec f/∂vec x with columns stacked (a gradient as a
    column, a scalar's derivative by a vector too)."""
    n_out = len(J.out_indices)
    in_shape = J.shape[n_out:]
    dense = np.asarray(J)
    if n_out:
        return dense.reshape(-1, int(np.prod(in_shape)), order="F")
    return dense.reshape(in_shape if len(in_shape) > 1 else (-1, 1))


@_PROFILE
@given(expression())
def test_a_random_expressions_jacobian_formula_and_matrix_form_read_back(source):
    J = td.jacobian(_function(source))(p3)
    _assert_reads_back(J.formula, J, source)
    form = matrix_form(J)
    if form is None:  # no matrix form: nothing printed to check
        return
    target = _vec(J)
    readings = read_matrix_form(form, {**USER, "x": p3}, J)
    # a printed 0 is the zero matrix, whatever its size
    assert any(
        np.allclose(np.broadcast_to(reading, target.shape), target, rtol=_PRINTED, atol=1e-9)
        for reading in readings
        if reading.shape == target.shape or reading.ndim == 0
    ), f"{source}\n{form}\nreadings {readings}\nJ {target}"


@settings(_PROFILE, max_examples=100)
@given(expression(tuple(HESSIAN_SCALAR), tuple(HESSIAN_UNARY)))
def test_a_random_expressions_hessian_formula_reads_back(source):
    source = source if source.startswith("np.sum") else f"np.sum({source})"
    H = td.hessian(_function(source))(p3)
    _assert_reads_back(H.formula, H, source)


def test_the_hessian_of_a_max_names_its_weights():
    """w, the max's weights, defined in the legend (it printed K1 before the rule defined
    its numbers path's weights to a tracing derivative)."""
    H = td.hessian(lambda x: np.max(np.sin(x)))(p3)
    assert "K1" not in H.formula and "where w = " in H.formula, H.formula
    _assert_reads_back(H.formula, H, "np.max(np.sin(x))")
