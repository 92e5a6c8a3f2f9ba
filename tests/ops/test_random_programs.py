"""Random compositions of the supported operations on random shapes, against finite differences."""

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tensordiff as td

UNARY = [
    np.sin,
    np.cos,
    np.tanh,
    np.square,
    lambda v: np.exp(0.3 * v),
    lambda v: np.sqrt(1.0 + v * v),
]


def _step(data, value_shapes, constants):
    """Draw one operation applicable to the current value; return (function, new shape)."""
    shape = value_shapes[-1]
    choices = [
        "unary",
        "scale",
        "broadcast-constant",
        "combine",
        "transpose",
        "sum",
        "mean",
        "reshape",
    ]
    if shape:
        choices += ["matmul", "einsum-constant", "expand"]
    kind = data.draw(st.sampled_from(choices), label="op")
    rng = np.random.default_rng(len(constants))
    if kind == "unary":
        g = data.draw(st.sampled_from(UNARY))
        return (lambda vals: g(vals[-1])), shape
    if kind == "scale":
        c = data.draw(st.floats(-2, 2, allow_nan=False))
        return (lambda vals: c * vals[-1] - vals[-1] / 3.0), shape
    if kind == "broadcast-constant":
        tail = shape[data.draw(st.integers(0, len(shape))) :]
        constants.append(rng.uniform(0.5, 1.5, size=tail))
        c = constants[-1]
        op = data.draw(st.sampled_from(["*", "+", "/", "-r"]))
        table = {
            "*": lambda v: v * c,
            "+": lambda v: c + v,
            "/": lambda v: v / c,
            "-r": lambda v: c - v,
        }
        return (lambda vals: table[op](vals[-1])), shape
    if kind == "combine":
        same = [n for n, s in enumerate(value_shapes) if s == shape]
        other = data.draw(st.sampled_from(same))
        op = data.draw(st.sampled_from(["*", "+", "max"]))
        table = {"*": np.multiply, "+": np.add, "max": np.maximum}
        return (lambda vals: table[op](vals[-1], vals[other])), shape
    if kind == "transpose":
        perm = data.draw(st.permutations(range(len(shape))))
        return (lambda vals: np.transpose(vals[-1], perm)), tuple(shape[p] for p in perm)
    if kind in ("sum", "mean"):
        if not shape:
            return (lambda vals: vals[-1] * 2.0), shape
        axis = data.draw(st.integers(0, len(shape) - 1))
        keep = data.draw(st.booleans())
        reduce = np.sum if kind == "sum" else np.mean
        new = tuple(1 if n == axis else s for n, s in enumerate(shape) if keep or n != axis)
        return (lambda vals: reduce(vals[-1], axis=axis, keepdims=keep)), new
    if kind == "reshape":
        return (lambda vals: np.reshape(vals[-1], (-1,))), (int(np.prod(shape)),)
    if kind == "matmul":
        k = data.draw(st.integers(2, 4))
        constants.append(rng.normal(size=(shape[-1], k)))
        c = constants[-1]
        return (lambda vals: vals[-1] @ c), shape[:-1] + (k,)
    if kind == "einsum-constant":
        constants.append(rng.normal(size=(shape[0],)))
        c = constants[-1]
        return (lambda vals: np.einsum("i...,i->...", vals[-1], c)), shape[1:]
    axis = data.draw(st.integers(0, len(shape)))
    return (lambda vals: np.expand_dims(vals[-1], axis)), shape[:axis] + (1,) + shape[axis:]


def _structured_nbytes(tensor) -> int:
    return sum(term.stored_nbytes for term in tensor.structured_terms())


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_random_programs_match_finite_differences(data):
    shape = tuple(data.draw(st.lists(st.integers(2, 4), min_size=0, max_size=3), label="shape"))
    steps, shapes, constants = [], [shape], []
    for _ in range(data.draw(st.integers(1, 6), label="length")):
        step, new_shape = _step(data, shapes, constants)
        steps.append(step)
        shapes.append(new_shape)

    def program(x):
        values = [x]
        for step in steps:
            values.append(step(values))
        return values[-1]

    x = np.random.default_rng(7).uniform(-1, 1, size=shape)
    J = td.jacobian(program)(x)
    assert J.shape == np.shape(program(x)) + shape
    np.testing.assert_allclose(
        np.asarray(J), td.numerical_jacobian(program, (x,)), rtol=1e-5, atol=1e-7
    )
    forward = td.jacobian(program, mode="forward")(x)
    np.testing.assert_allclose(np.asarray(forward), np.asarray(J), rtol=1e-12, atol=1e-14)
    # A td.jit replay on new values is the same Jacobian as a fresh computation.
    jitted = td.jit(td.jacobian(program))
    jitted(x)
    x2 = np.random.default_rng(8).uniform(-1, 1, size=shape)
    replayed, fresh = jitted(x2), td.jacobian(program)(x2)
    # the same structure (a scalar's eager Jacobian is numbers until asked for its structure)
    assert _structured_nbytes(replayed) == _structured_nbytes(fresh)
    np.testing.assert_allclose(np.asarray(replayed), np.asarray(fresh), rtol=1e-12, atol=1e-14)
    assert jitted.cache_info().hits == 1
