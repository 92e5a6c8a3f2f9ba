"""Errors that name things: the call that escaped NumPy, what to write instead, and for
a shape mismatch the function and each operand's shape under the user's names."""

import math

import numpy as np
import pytest

import tensordiff as td

X = np.array([0.3, -1.2, 2.0])


def _message(f, *args, error=td.TensorDiffError):
    with pytest.raises(error) as caught:
        td.jacobian(f)(*args)
    return str(caught.value)


def test_math_function_names_the_line_and_the_numpy_function():
    def f(x):
        s = np.sum(x)
        return math.exp(s)

    message = _message(f, X, error=td.TraceLeakError)
    assert "`return math.exp(s)`" in message and "np.exp(t)" in message
    assert "test_error_messages.py" in message
    message = _message(lambda x: math.tanh(x[1]) * x, X, error=td.TraceLeakError)
    assert "math.tanh(x[1])" in message and "np.tanh(t)" in message


def test_float_and_int_and_index():
    assert "float(t)" in _message(lambda x: float(x[0]) * x, X, error=td.TraceLeakError)
    assert "int()" in _message(lambda x: int(x[0]) * x, X, error=td.TraceLeakError)
    message = _message(lambda x: x * len(range(x[0])), X, error=td.TraceLeakError)
    assert "as an integer" in message and "range(x[0])" in message


def test_tolist_and_item_name_themselves_and_the_alternative():
    message = _message(lambda x: np.sum(x.tolist()), X, error=td.TraceLeakError)
    assert "x.tolist()" in message and "x[i]" in message
    message = _message(lambda x: x[0].item() * x, X, error=td.TraceLeakError)
    assert "x.item()" in message and "x.reshape(())" in message


def test_assignment_into_a_numpy_buffer_names_the_line():
    def f(x):
        buf = np.zeros(3)
        buf[0] = x[0]
        return buf

    message = _message(f, X, error=td.TraceLeakError)
    assert "`buf[0] = x[0]`" in message and "np.stack" in message

    def g(x):
        buf = np.zeros(3)
        buf[:2] = x[:2]
        return buf

    message = _message(g, X, error=td.TraceLeakError)
    assert "`buf[:2] = x[:2]`" in message and "drop its derivative" in message


@pytest.mark.parametrize(
    "f, operand",
    [
        (lambda x: x * 1j, "1j"),
        (lambda x: 2j + x, "2j"),
        (lambda x: np.exp(1j * x), "1j"),
        (lambda x: x @ np.ones((3, 2), complex), "complex array of shape (3, 2)"),
        (lambda x: np.dot(x, np.ones(3, np.complex64)), "complex array of shape (3,)"),
        (lambda x: np.stack([x, np.zeros(3, complex)]), "complex array of shape (3,)"),
    ],
)
def test_complex_constants_are_refused_naming_the_function(f, operand):
    with pytest.raises(td.UnsupportedDTypeError) as caught:
        td.jacobian(f)(X)
    message = str(caught.value)
    assert message.startswith("numpy.") and operand in message and "real" in message
    assert isinstance(caught.value, TypeError)


def test_complex_of_a_traced_value():
    message = _message(lambda x: complex(x[0]) * x, X, error=td.TraceLeakError)
    assert "complex()" in message


def test_a_jax_function_is_named_with_its_numpy_alternative(jax):
    jnp = jax.numpy
    message = _message(lambda x: jnp.sum(x), X, error=td.TraceLeakError)
    assert "jax" in message and "numpy.sum" in message and "`" in message


# ---- shape mismatches -------------------------------------------------------------------
W = np.ones((3, 4))


def test_matmul_shape_error_names_the_operands():
    y = np.ones(3)
    message = _message(lambda W: W @ y, W, error=td.ShapeError)
    assert message.startswith("numpy.matmul: W has shape (3, 4), y has shape (3,): ")


def test_shape_error_names_an_intermediate_by_its_expression():
    b = np.ones(4)
    message = _message(lambda x: np.tanh(W @ x) + b, np.ones(4), error=td.ShapeError)
    assert message.startswith("numpy.add: tanh(W x) has shape (3,), b has shape (4,): ")


def test_shape_error_of_an_unnamed_constant_and_a_list_argument():
    message = _message(lambda x: np.concatenate([x[:, None], np.ones(3)]), X, error=ValueError)
    assert "numpy.concatenate" in message and "has shape (3, 1)" in message
    assert "a constant has shape (3,)" in message


def test_shape_errors_are_value_errors():
    with pytest.raises(ValueError, match=r"numpy\.matmul: W has shape \(3, 4\)"):
        td.jacobian(lambda W: W @ np.ones(5))(W)
