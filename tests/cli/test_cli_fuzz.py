"""The command line never crashes: every input ends with exit 0, or exit 2 and a one-line
`tensordiff explain: ...` message, never a traceback; hostile inputs are refused quickly."""

import contextlib
import io

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tensordiff as td
from tensordiff.cli import main
from tensordiff.cli.expression import MAX_DEPTH, MAX_LENGTH, ExpressionError, parse_expression

SHAPES = ["--shape", "x=3", "--shape", "W=3,3"]


def run(argv):
    """``(exit code, stdout, stderr)`` of the command line, in this process."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(argv)
        except SystemExit as exit_:  # argparse's own usage errors
            code = exit_.code
    return code, out.getvalue(), err.getvalue()


def assert_clean(code, err):
    assert code in (0, 2), (code, err)
    assert "Traceback" not in err
    if code == 2:
        first = err.splitlines()[0] if err else ""
        assert first.startswith(("tensordiff explain: ", "usage: ")), err


def explain(expression, *options):
    # "--" so that an expression starting with "-" is not taken for an option
    code, out, err = run(["explain", *SHAPES, *options, "--", expression])
    assert_clean(code, err)
    return code, out, err


HOSTILE = {
    "5000 nested unary minuses": "-" * 5000 + "x",
    "a 40 KB sum": "x" + "+x" * 20000,
    "nested just over the limit": "-" * (MAX_DEPTH + 1) + "x",
    "index out of range": "x[10]",
    "take out of range": "take(x, 10)",
    "a huge ones": "ones((100000, 100000)) @ x",
    "a huge eye": "eye(10**6) @ x",
    "a huge kron": "kron(ones(100000), ones(100000)) * x[0]",
    "a huge outer": "outer(ones(100000), ones(100000)) * x[0]",
    "a huge tile": "tile(x, 10**9)",
    "a huge pad": "pad(x, 10**9)",
    "a huge repeat": "repeat(x, 10**9)",
    "a huge broadcast_to": "broadcast_to(x[0], (100000, 100000))",
    "a huge broadcast product": "ones((100000, 1)) * ones((1, 100000)) * x[0]",
    "a huge matrix product": "ones((100000, 1)) @ ones((1, 100000)) * x[0]",
    "a negative shape": "zeros(-1) + x",
    "a tower of powers": "x ** 10**10**10",
    "an inexact integer": "x * (2**64 + 1)",
    "a division by zero": "x * (1 / 0)",
    "a complex constant": "x * (-8) ** 0.5",
    "a dunder": "x.__class__",
    "a lambda": "(lambda: 1)()",
    "no variable": "ones(3)",
    "a string": "'abc'",
    "a shape mismatch": "W @ ones(4)",
    "a bad keyword": "sum(x, axis=7)",
}


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_expressions_exit_2_with_one_line(name):
    code, out, err = explain(HOSTILE[name])
    assert code == 2 and out == ""


@pytest.mark.parametrize(
    "template",
    [
        "__import__('os').system('touch {path}')",
        "x.__class__.__base__.__subclasses__()",
        "open('{path}', 'w')",
        "sum(x, axis=__import__('os').system('touch {path}'))",
        "(lambda: __import__('os').system('touch {path}'))()",
    ],
)
def test_code_execution_attempts_are_refused(tmp_path, template):
    marker = tmp_path / "owned"
    code, _, _ = explain(template.format(path=marker))
    assert code == 2 and not marker.exists()


@pytest.mark.parametrize(
    "options",
    [
        ["--shape", "y=100000,100000"],
        ["--shape", "y=-3"],
        ["--shape", "y=" + "9" * 5000],
        ["--value", "y=/nonexistent/missing.npy"],
        ["--value", "y=/dev/null"],
        ["--seed", "-1"],
    ],
)
def test_hostile_options_exit_2_before_allocating(options):
    code, _, err = explain("x + y", *options)
    assert code == 2, err


GROWING = {  # the case's name -> the call the message names
    "kron": "kron",
    "outer": "outer",
    "tile": "tile",
    "pad": "pad",
    "repeat": "repeat",
    "broadcast_to": "broadcast_to",
    "broadcast product": "*",
    "matrix product": "@",
}


@pytest.mark.parametrize("name", GROWING)
def test_a_growing_function_is_refused_from_its_operands_shapes(name):
    """Refused by the memory limit, naming the call, not by a MemoryError after trying."""
    code, _, err = explain(HOSTILE[f"a huge {name}"])
    assert code == 2 and "over the limit" in err
    assert err.startswith(f"tensordiff explain: {GROWING[name]}: "), err


# Results larger than each operand: each operand fits in 10 KB, the result does not.
JOINING = {
    "einsum": "einsum('i,j->ij', ones(100), ones(100)) * x[0]",
    "stack": "stack([ones(1000), ones(1000)]) * x[0]",
    "concatenate": "concatenate([ones(1000), ones(1000)]) * x[0]",
    "hstack": "hstack([ones(1000), ones(1000)]) * x[0]",
    "vstack": "vstack([ones(1000), ones(1000)]) * x[0]",
    "block": "block([ones(1000), ones(1000)]) * x[0]",
    "append": "append(ones(1000), ones(1000)) * x[0]",
    "dot": "dot(ones((100, 1)), ones((1, 100))) * x[0]",
    "tensordot": "tensordot(ones(100), ones(100), 0) * x[0]",
    "diag": "diag(ones(100)) * x[0]",
    "cov": "cov(ones((100, 2))) * x[0]",
    "linspace": "linspace(0, 1, 2000) * x[0]",
    "meshgrid": "meshgrid(ones(100), ones(100))[0] * x[0]",
    "svd": "linalg.svd(ones((100, 2)))[0] * x[0]",
    "maximum": "maximum(ones((100, 1)), ones((1, 100))) * x[0]",
    "where": "where(greater(x[0], 0), ones((100, 1)), ones((1, 100)))",
    "clip": "clip(ones((100, 1)), ones((1, 100)), 2) * x[0]",
}


@pytest.mark.parametrize("name", JOINING)
def test_a_result_larger_than_its_operands_is_refused_before_it_is_built(name):
    """Checked from the operands' shapes (the einsum's largest intermediate included),
    naming the call, with the limit set low so that nothing large is ever allocated."""
    with td.memory_limit(10_000):
        code, out, err = explain(JOINING[name])
    call = name.split()[0]
    assert code == 2 and out == "" and "over the limit" in err, err
    assert err.startswith(f"tensordiff explain: {call}: "), err


@pytest.mark.parametrize(
    "expression, gradient",
    [
        ("sum(einsum('i,j->ij', x, ones(2)))", lambda x: np.full(3, 2.0)),
        (
            "sum(maximum(x, -5.0)) + sum(where(greater(x, 0), x, 2 * x))",
            lambda x: 1 + (x > 0) + 2 * (x <= 0),
        ),
        ("sum(stack([x, x]) ** 2) + sum(concatenate([x, 2 * x]))", lambda x: 4 * x + 3),
        ("sum(kron(x, ones(2)))", lambda x: np.full(3, 2.0)),
        ("sum(outer(x, ones(2)) ** 2)", lambda x: 4 * x),
        ("sum(tile(x, 2)) + sum(pad(x, 1) ** 2)", lambda x: 2 + 2 * x),
        ("sum(repeat(x, 2) ** 2)", lambda x: 4 * x),
    ],
)
def test_growing_functions_under_the_limit_still_work(expression, gradient):
    f, _ = parse_expression(expression)
    x = np.array([0.5, -1.0, 2.0])
    np.testing.assert_allclose(np.asarray(td.grad(f)(x)), gradient(x), rtol=1e-12)
    assert explain(expression)[0] == 0


def test_numpy_warnings_are_one_line_notes_not_raw_warnings():
    code, out, err = explain("exp(x * 100000)")  # overflows to inf
    assert code == 0 and "f[i] = exp(100000 x)" in out
    notes = err.splitlines()
    assert notes and all(
        line.startswith("tensordiff explain: note: NumPy warned") for line in notes
    )
    assert "RuntimeWarning" in err and ".py:" not in err  # no source line of a raw warning


def test_a_value_file_over_the_memory_limit_is_refused_from_its_header(tmp_path):
    # A .npy header claiming a 80 GB array, with no data behind it: refused before reading.
    path = tmp_path / "huge.npy"
    with open(path, "wb") as file:
        np.lib.format.write_array_header_1_0(
            file, {"descr": "<f8", "fortran_order": False, "shape": (100000, 100000)}
        )
    code, _, err = explain("x + y", "--value", f"y={path}")
    assert code == 2 and "over the limit" in err


def test_integer_constants_are_exact_not_wrapped():
    f, _ = parse_expression("x * 2**64 + x * 10**20 - x * -(2**63)")
    np.testing.assert_array_equal(f(np.ones(2)), np.full(2, 2.0**64 + 1e20 + 2.0**63))
    code, out, _ = explain("x * 2**64")
    # 2**64 shown with every digit (it reads back as 2**64 exactly), not a wrapped 0
    assert code == 0 and "1.8446744073709552·10¹⁹ δ[i,j]" in out  # as a textbook writes it
    assert float("1.8446744073709552e19") == 2**64
    with pytest.raises(ExpressionError, match="too large"):
        parse_expression("x ** 10**10**10")
    with pytest.raises(ExpressionError, match="at most"):
        parse_expression("x" + "+x" * MAX_LENGTH)


# Expressions built from the whitelist's pieces, most of them valid, many not.
ATOMS = st.sampled_from(["x", "W", "W.T", "1", "2.5", "-3", "2**70", "10**20", "0", "ones(3)"])
FUNCTIONS = st.sampled_from(["tanh", "exp", "sum", "log", "sqrt", "abs", "max", "diag", "take"])


def combine(children):
    binary = st.tuples(children, st.sampled_from(["+", "-", "*", "/", "**", "@"]), children).map(
        lambda t: f"({t[0]} {t[1]} {t[2]})"
    )
    call = st.tuples(FUNCTIONS, children).map(lambda t: f"{t[0]}({t[1]})")
    index = st.tuples(children, st.integers(-5, 5)).map(lambda t: f"{t[0]}[{t[1]}]")
    unary = children.map(lambda c: f"-{c}")
    return binary | call | index | unary


EXPRESSIONS = st.recursive(ATOMS, combine, max_leaves=12)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(EXPRESSIONS)
def test_random_expressions_never_crash(expression):
    explain(expression)


@settings(max_examples=120, deadline=None)
@given(st.binary(max_size=60))
def test_random_bytes_never_crash(data):
    explain(data.decode("utf-8", errors="surrogateescape"))


@settings(max_examples=80, deadline=None)
@given(st.text(alphabet="xW()[]+-*/@.,:0123456789 Tsumonesy_=\"'", max_size=40))
def test_random_text_never_crashes(text):
    explain(text)
