"""td.jit's tape: NumPy calls recorded once as a Program and replayed on new inputs."""

import numpy as np
import pytest

import tensordiff as td
from tensordiff.trace.tape import ShapeChanged, Tape
from tensordiff.trace.traced import running


def record(function, *arrays):
    """Record ``function`` on ``arrays``: the tape, the traced result and its Program."""
    tape = Tape(1)
    inputs = [tape.input(array, f"x{n}") for n, array in enumerate(arrays)]
    with running(tape):
        result = function(*inputs)
    results = result if isinstance(result, tuple) else (result,)
    program = tape.program([tape.slot_of(r) for r in results])
    return tape, result, program


def replay(program, *arrays):
    return program.run(list(arrays))


FUNCTIONS = {
    "elementwise": (lambda x: np.exp(x) * 2.0 - np.tanh(x), [(3, 4)]),
    "matmul": (lambda A, x: np.tanh(A @ x) + 1.0, [(3, 4), (4,)]),
    "reductions": (lambda x: np.sum(x, axis=0) / np.max(x), [(3, 4)]),
    "einsum": (lambda A, B: np.einsum("ij,jk->ki", A, B), [(2, 3), (3, 4)]),
    "reshape and transpose": (lambda x: np.reshape(x, (4, 3)).T * x, [(3, 4)]),
    "indexing": (lambda x: x[1:, ::2] + x[0, 1], [(3, 4)]),
    "a list result": (lambda x: np.split(x, 2)[0] * np.split(x, 2)[1], [(4,)]),
    "a named tuple result (eigh)": (lambda S: np.linalg.eigh(S)[0] * 2.0, [(3, 3)]),
    "concatenation": (lambda x, y: np.concatenate([x, y, x * y]), [(3,), (3,)]),
}


def symmetric(rng, shape):
    a = rng.normal(size=shape)
    return a + a.T if len(shape) == 2 and shape[0] == shape[1] else a


@pytest.mark.parametrize("case", list(FUNCTIONS))
def test_a_replay_on_new_inputs_equals_numpy(rng, case):
    function, shapes = FUNCTIONS[case]
    recorded = [symmetric(rng, shape) for shape in shapes]
    _, _, program = record(function, *recorded)
    for _ in range(2):  # each run starts afresh
        new = [symmetric(rng, shape) for shape in shapes]
        (out,) = replay(program, *new)
        np.testing.assert_allclose(out, function(*new), rtol=1e-12, atol=1e-12)


def test_several_outputs(rng):
    _, _, program = record(lambda x, y: (x + y, x * y, np.sin(y)), np.ones(3), np.ones(3))
    x, y = rng.normal(size=3), rng.normal(size=3)
    outs = replay(program, x, y)
    for out, expected in zip(outs, [x + y, x * y, np.sin(y)], strict=True):
        np.testing.assert_allclose(out, expected)
    assert program.n_inputs == 2


def test_an_output_that_is_an_input_is_returned(rng):
    _, _, program = record(lambda x: x, np.ones(3))
    x = rng.normal(size=3)
    (out,) = replay(program, x)
    assert len(program) == 0
    np.testing.assert_array_equal(out, x)


def test_a_step_whose_shape_changes_raises_shape_changed():
    _, _, program = record(lambda x: x[x > 0] * 2.0, np.array([1.0, -1.0, 2.0]))
    (out,) = replay(program, np.array([3.0, -1.0, 5.0]))  # two positives again: fine
    np.testing.assert_array_equal(out, [6.0, 10.0])
    with pytest.raises(ShapeChanged):
        replay(program, np.array([1.0, 2.0, 3.0]))


def test_an_input_of_another_shape_raises_shape_changed():
    _, _, program = record(lambda x: np.exp(x), np.ones(3))
    with pytest.raises(ShapeChanged):
        replay(program, np.ones(4))


def test_a_repeated_identical_call_is_recorded_once(rng):
    def f(x):
        return np.exp(x) + np.exp(x) * np.exp(x)

    tape, _, program = record(f, np.ones(3))
    assert len(program) == 3  # exp, multiply, add
    x = rng.normal(size=3)
    np.testing.assert_allclose(replay(program, x)[0], f(x))


def test_a_repeated_call_gets_the_same_slot():
    tape = Tape(1)
    x = tape.input(np.ones(2), "x")
    with running(tape):
        first, second, other = np.sin(x), np.sin(x), np.cos(x)
    assert tape.slot_of(first) == tape.slot_of(second) != tape.slot_of(other)


def test_calls_with_other_constants_are_separate_steps(rng):
    def f(x):
        return (x * 2.0 + x * 3.0) + (x + 0.0) * (x + -0.0)

    _, _, program = record(f, np.ones(3))
    assert len(program) == 7  # 4 calls with constants, 3 combining them
    x = rng.normal(size=3)
    np.testing.assert_allclose(replay(program, x)[0], f(x))


def test_constant_arrays_are_told_apart_by_identity(rng):
    def f(x):  # two temporary constants with different values, one used twice
        c = np.array([1.0, 2.0])
        return x * np.array([3.0, 4.0]) + x * c + x * c

    _, _, program = record(f, np.ones(2))
    assert len(program) == 4  # two products, two sums
    x = rng.normal(size=2)
    np.testing.assert_allclose(replay(program, x)[0], f(x))


EINSUMS_WITH_CONSTANTS = {
    # (equation, operands with None for the replayed one, the replayed one's shape)
    "a selection and a scale": (
        "abc,bd,->bd",
        [np.eye(6)[:, :, None] * np.ones(4), None, -1.0],
        (6, 5),
    ),
    "two constants": ("ab,bc,cd->ad", [np.ones((3, 5)), None, np.ones((4, 2))], (5, 4)),
    "a diagonal": ("aa,ab->ab", [np.diag(np.arange(1.0, 5.0)), None], (4, 3)),
    "an outer product stays": ("a,b,ab->ab", [np.arange(3.0), np.arange(4.0), None], (3, 4)),
    "a repeated letter": ("ab,bb->a", [np.ones((2, 3)), None], (3, 3)),
}


@pytest.mark.parametrize("case", list(EINSUMS_WITH_CONSTANTS))
def test_einsums_with_constants_replay_as_numpy_computes_them(rng, case):
    equation, operands, shape = EINSUMS_WITH_CONSTANTS[case]

    def f(x):
        return np.einsum(equation, *(x if y is None else y for y in operands))

    _, _, program = record(f, np.ones(shape))
    for _ in range(2):
        x = rng.normal(size=shape)
        np.testing.assert_allclose(replay(program, x)[0], f(x), rtol=1e-12, atol=1e-12)


def test_constants_of_a_recorded_einsum_are_contracted_once(rng):
    one_hot = np.eye(32)[:, :, None] * np.eye(10)[rng.integers(0, 10, size=32)][None]
    tape, _, program = record(
        lambda s: np.einsum("abc,bd,->bd", one_hot, s, -1.0), np.ones((32, 10))
    )
    (step,) = [s for s in tape.steps if s is not None]
    _, args, _ = step
    # the replay multiplies by the 32 row counts, not by the 32 × 32 × 10 one-hot
    assert max(np.size(a) for a in args if isinstance(a, np.ndarray)) == 32
    s = rng.normal(size=(32, 10))
    np.testing.assert_allclose(replay(program, s)[0], -one_hot.sum(axis=(0, 2))[:, None] * s)


def test_an_identity_reshape_is_not_a_step(rng):
    tape = Tape(1)
    x = tape.input(np.ones((2, 3)), "x")
    with running(tape):
        same = [np.reshape(x, (2, 3)), x.reshape(2, 3), np.transpose(x, (0, 1))]
        moved = np.reshape(x, (3, 2))
    for y in same:
        assert tape.slot_of(y) == tape.slot_of(x)
        assert len(tape.program([tape.slot_of(y)])) == 0
    program = tape.program([tape.slot_of(moved)])
    assert len(program) == 1
    new = rng.normal(size=(2, 3))
    np.testing.assert_array_equal(replay(program, new)[0], new.reshape(3, 2))


def test_shape_queries_are_not_steps():
    tape = Tape(1)
    x = tape.input(np.ones((2, 3)), "x")
    with running(tape):
        shape, ndim, size = np.shape(x), np.ndim(x), np.size(x)
        y = np.exp(x)
    assert (shape, ndim, size) == ((2, 3), 2, 6)
    assert type(shape) is tuple and type(ndim) is int
    assert len(tape.program([tape.slot_of(y)])) == 1


def test_a_program_holds_only_the_steps_its_outputs_need(rng):
    tape = Tape(1)
    x, y = tape.input(np.ones(3), "x"), tape.input(np.ones(3), "y")
    with running(tape):
        wanted = np.exp(x) + 1.0
        unwanted = np.sin(y) * np.cos(x)
    program = tape.program([tape.slot_of(wanted)])
    assert len(program) == 2
    assert len(tape.program([tape.slot_of(unwanted)])) == 3
    a, b = rng.normal(size=3), rng.normal(size=3)
    np.testing.assert_allclose(replay(program, a, b)[0], np.exp(a) + 1.0)


def test_out_argument_is_a_trace_leak():
    tape = Tape(1)
    x = tape.input(np.ones(3), "x")
    buffer = np.zeros(3)
    with running(tape), pytest.raises(td.TraceLeakError, match="out="):
        np.add(x, 1.0, out=buffer)


def test_writing_into_an_argument_is_a_trace_leak():
    tape = Tape(1)
    x = tape.input(np.ones(3), "x")
    with running(tape):
        with pytest.raises(td.TraceLeakError, match="writes into an argument"):
            np.copyto(np.zeros(3), x)
        with pytest.raises(td.TraceLeakError, match="writes into an argument"):
            np.add.at(x, [0], 1.0)


def test_python_values_of_traced_results_are_trace_leaks():
    tape = Tape(1)
    x = tape.input(np.ones(3), "x")
    with running(tape):
        positive = np.all(x > 0)
        with pytest.raises(td.TraceLeakError):
            bool(positive)
        with pytest.raises(td.TraceLeakError):
            float(np.sum(x))
