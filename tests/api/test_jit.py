"""td.jit: a replay equals a fresh computation; anything a replay could get wrong records again
or runs without the cache."""

import numpy as np
import pytest
from cases import cases

import tensordiff as td

CASES = cases()


def _args(case, rng):
    return [rng.uniform(case["low"], case["high"], size=shape) for shape in case["shapes"]]


def _structured_nbytes(tensor) -> int:
    return sum(term.stored_nbytes for term in tensor.structured_terms())


def _assert_same_tensor(replayed, fresh):
    assert type(replayed) is type(fresh)
    assert replayed.indices == fresh.indices and replayed.shape == fresh.shape
    assert replayed.dtype == fresh.dtype
    # the same structure, no densifying (an eager gradient of a scalar is computed as
    # numbers and recomputes its structure when asked, as a recording keeps it)
    assert _structured_nbytes(replayed) == _structured_nbytes(fresh)
    np.testing.assert_allclose(np.asarray(replayed), np.asarray(fresh), rtol=1e-13, atol=1e-14)


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_replay_equals_a_fresh_jacobian_on_new_values(case, rng):
    argnums = tuple(range(len(case["shapes"])))
    jitted = td.jit(td.jacobian(case["f"], argnums=argnums))
    jitted(*_args(case, rng))  # records
    new = _args(case, rng)
    replayed, fresh = jitted(*new), td.jacobian(case["f"], argnums=argnums)(*new)
    for r, f in zip(replayed, fresh, strict=True):
        _assert_same_tensor(r, f)
        assert r.formula == f.formula
    info = jitted.cache_info()
    assert (info.hits, info.misses) == (1, 1) or info.fallbacks == 2, info


def test_most_operations_are_replayed(rng):
    """Only the operations whose rules branch on values run without the cache."""
    fallbacks = []
    for case in CASES:
        jitted = td.jit(td.jacobian(case["f"], argnums=tuple(range(len(case["shapes"])))))
        jitted(*_args(case, rng))
        if jitted.cache_info().fallbacks:
            fallbacks.append(case["id"])
    assert len(fallbacks) <= len(CASES) // 10, fallbacks


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_replayed_hessian_equals_a_fresh_one(case, rng):
    f = case["f"]
    n_args = len(case["shapes"])

    def scalar(*args):
        return np.sum(np.sin(f(*args)))

    jitted = td.jit(td.hessian(scalar, argnums=n_args - 1))
    jitted(*_args(case, rng))
    new = _args(case, rng)
    _assert_same_tensor(jitted(*new), td.hessian(scalar, argnums=n_args - 1)(*new))


def test_grad_and_dense_results_replay(rng):
    X = rng.normal(size=(6, 3))

    def loss(w, y):
        return np.sum(np.log1p(np.exp(X @ w)) - y * (X @ w))

    grad = td.jit(td.grad(loss))
    dense = td.jit(lambda w, y: np.asarray(td.grad(loss)(w, y)) * 2.0)
    for _ in range(3):
        w, y = rng.normal(size=3), rng.normal(size=6)
        _assert_same_tensor(grad(w, y), td.grad(loss)(w, y))
        np.testing.assert_allclose(dense(w, y), 2.0 * np.asarray(td.grad(loss)(w, y)))
    assert grad.cache_info().hits == 2


def test_non_differentiated_array_arguments_are_inputs_too(rng):
    jitted = td.jit(td.jacobian(lambda W, x: np.tanh(W @ x)))
    W = rng.normal(size=(2, 3))
    jitted(W, rng.normal(size=3))
    x = rng.normal(size=3)
    _assert_same_tensor(jitted(W, x), td.jacobian(lambda W, x: np.tanh(W @ x))(W, x))
    assert jitted.cache_info().hits == 1


def test_a_new_shape_dtype_or_static_argument_records_again(rng):
    jitted = td.jit(td.jacobian(lambda x, p: x**p))
    jitted(rng.normal(size=3), 2)
    jitted(rng.normal(size=4), 2)
    jitted(rng.normal(size=4).astype(np.float32), 2)
    x = rng.uniform(0.5, 1.0, size=4)
    _assert_same_tensor(jitted(x, 3), td.jacobian(lambda x, p: x**p)(x, 3))
    assert jitted.cache_info().misses == 4 and jitted.cache_info().entries == 4


def test_rebinding_a_global_records_again(rng):
    global _SCALE
    _SCALE = np.ones(3)
    jitted = td.jit(td.jacobian(_scaled))
    x = rng.normal(size=3)
    jitted(x)
    _SCALE = np.full(3, 2.0)
    np.testing.assert_allclose(np.diag(np.asarray(jitted(x))), 2.0)
    assert jitted.cache_info().misses == 2


_SCALE = np.ones(3)


def _scaled(x):
    return _SCALE * x


def test_changing_a_captured_array_in_place_records_again(rng):
    A = rng.normal(size=(3, 3))
    jitted = td.jit(td.jacobian(lambda x: np.tanh((A @ A) @ x)))  # A @ A is computed untraced
    x = rng.normal(size=3)
    jitted(x)
    A *= 2.0
    _assert_same_tensor(jitted(x), td.jacobian(lambda x: np.tanh((A @ A) @ x))(x))
    assert jitted.cache_info().misses == 2


def test_a_branch_on_an_argument_value_is_never_replayed():
    def f(x, s):
        return x * 2.0 if np.sum(s) > 0 else x * 3.0

    jitted = td.jit(td.jacobian(f))
    x = np.ones(2)
    np.testing.assert_allclose(np.diag(np.asarray(jitted(x, np.ones(2)))), 2.0)
    np.testing.assert_allclose(np.diag(np.asarray(jitted(x, -np.ones(2)))), 3.0)
    info = jitted.cache_info()
    assert info.hits == 0 and info.fallbacks == 2 and "TraceLeakError" in info.last_fallback


def test_a_branch_on_a_differentiated_value_is_refused_with_or_without_jit():
    def f(x):
        return x * 2.0 if np.sum(x) > 0 else x * 3.0

    jitted = td.jit(td.jacobian(f))
    for x in (np.ones(2), -np.ones(2), np.ones(2)):
        with pytest.raises(td.TraceLeakError, match="`sum\\(x\\) > 0`"):
            jitted(x)
    assert jitted.cache_info().hits == 0


def test_calls_the_tape_cannot_replay_run_without_the_cache(rng):
    def f(x, buffer):
        np.add(buffer, 1.0, out=buffer)  # writes into an argument
        return x * buffer

    jitted = td.jit(td.jacobian(f))
    buffer = np.zeros(2)
    jitted(np.ones(2), buffer)
    np.testing.assert_allclose(np.diag(np.asarray(jitted(np.ones(2), buffer))), 2.0)
    np.testing.assert_array_equal(buffer, 2.0)  # one write per call: the refused step never ran
    assert jitted.cache_info().hits == 0 and "out=" in jitted.cache_info().last_fallback


def test_writes_into_a_constant_are_never_replayed():
    def f(x, y):
        buffer = np.zeros(2)
        np.copyto(buffer, y)  # y is an input: the buffer's values change with it
        return x * buffer

    jitted = td.jit(td.jacobian(f))
    jitted(np.ones(2), np.ones(2))
    J = jitted(np.ones(2), np.full(2, 3.0))
    np.testing.assert_allclose(np.diag(np.asarray(J)), 3.0)
    assert jitted.cache_info().hits == 0 and "writes into" in jitted.cache_info().last_fallback


def test_integer_labels_index_on_the_tape(rng):
    """Cross-entropy with integer class labels: the labels are an input of the replay."""

    def loss(W, X, labels):
        logits = X @ W.T
        log_p = logits - np.log(np.sum(np.exp(logits), axis=1, keepdims=True))
        return -np.sum(log_p[np.arange(len(labels)), labels])

    jitted = td.jit(td.grad(loss))
    W, X = rng.normal(size=(5, 4)), rng.normal(size=(8, 4))
    for _ in range(3):
        labels = rng.integers(0, 5, size=8)
        _assert_same_tensor(jitted(W, X, labels), td.grad(loss)(W, X, labels))
    assert jitted.cache_info().hits == 2


def test_a_shape_that_follows_the_values_is_not_replayed(rng):
    def masked(x, mask):
        return np.sum(np.tanh(x[mask]))

    jitted = td.jit(td.grad(masked))
    x = rng.normal(size=6)
    masks = [[1, 0, 1, 0, 1, 0], [0, 1, 0, 1, 0, 1], [1, 1, 1, 1, 0, 0], [1, 0, 0, 0, 0, 1]]
    for mask in np.array(masks, dtype=bool):
        _assert_same_tensor(jitted(x, mask), td.grad(masked)(x, mask))
    info = jitted.cache_info()
    assert info.hits == 1 and info.fallbacks == 2 and "shape depends" in info.last_fallback


def test_arguments_that_are_not_plain_values_run_without_the_cache():
    class Model:  # hashable by identity, but its attributes may be rebound between calls
        W = np.ones((2, 2))

    model = Model()
    jitted = td.jit(td.jacobian(lambda x, m: m.W @ x))
    jitted(np.ones(2), model)
    model.W = np.full((2, 2), 3.0)
    np.testing.assert_allclose(np.asarray(jitted(np.ones(2), model)), model.W)
    assert jitted.cache_info().hits == 0
    assert "plain value" in jitted.cache_info().last_fallback


def test_nested_arguments_are_keyed_by_their_structure(rng):
    def loss(params, x):
        return np.sum(np.tanh(x @ params["W"] + params["b"][0]) * params["b"][1])

    jitted = td.jit(td.grad(loss))
    for params in (
        {"W": rng.normal(size=(3, 2)), "b": [rng.normal(size=2), rng.normal(size=2)]},
        {"W": rng.normal(size=(3, 2)), "b": [rng.normal(size=2), rng.normal(size=2)]},
        {"W": rng.normal(size=(3, 4)), "b": [rng.normal(size=4), rng.normal(size=4)]},
        {"W": rng.normal(size=(3, 4)), "b": (rng.normal(size=4), rng.normal(size=4))},
    ):
        x = rng.normal(size=(5, 3))
        ours, reference = jitted(params, x), td.grad(loss)(params, x)
        assert type(ours["b"]) is type(params["b"])
        for key, index in (("W", None), ("b", 0), ("b", 1)):
            mine = ours[key] if index is None else ours[key][index]
            theirs = reference[key] if index is None else reference[key][index]
            _assert_same_tensor(mine, theirs)
    info = jitted.cache_info()
    # the second call replays the first; a new shape and a tuple for a list record again
    assert (info.hits, info.misses, info.fallbacks) == (1, 3, 0), info


def test_errors_are_the_functions_own():
    jitted = td.jit(td.jacobian(lambda x: np.linalg.eigvals(x)))
    with pytest.raises(td.UnsupportedOperationError, match="linalg.eigvals"):
        jitted(np.array([[0.0, -1.0], [1.0, 0.0]]))  # eigenvalues ±i


def test_inside_a_derivative_it_is_the_plain_function(rng):
    inner = td.jit(td.grad(lambda x: np.sum(x**3)))
    H = td.jacobian(inner)(np.array([1.0, 2.0]))
    np.testing.assert_allclose(np.asarray(H), np.diag([6.0, 12.0]))
    assert inner.cache_info().misses == 0


def test_returned_arrays_are_fresh_on_every_call():
    jitted = td.jit(lambda x: np.ones(2))  # a constant result
    first = jitted(np.zeros(2))
    first[0] = 5.0
    np.testing.assert_array_equal(jitted(np.zeros(2)), np.ones(2))


def test_clear_forgets_recordings(rng):
    jitted = td.jit(td.jacobian(np.tanh))
    jitted(rng.normal(size=2))
    jitted.clear()
    jitted(rng.normal(size=2))
    assert jitted.cache_info().misses == 2 and jitted.cache_info().entries == 1


def test_keyword_array_arguments_are_inputs(rng):
    def f(W, *, x):
        return np.tanh(W @ x)

    jitted = td.jit(td.jacobian(f))
    W = rng.normal(size=(2, 3))
    jitted(W, x=rng.normal(size=3))
    x = rng.normal(size=3)
    _assert_same_tensor(jitted(W, x=x), td.jacobian(f)(W, x=x))
    assert jitted.cache_info().hits == 1
    assert repr(jitted) == "Jitted(f, 1 recorded signatures)"


def test_a_new_memory_limit_plans_again(rng):
    jitted = td.jit(td.jacobian(np.tanh))
    x = rng.normal(size=3)
    jitted(x)
    with td.memory_limit(2**20):
        jitted(x)
    jitted(x)
    assert jitted.cache_info().misses == 2 and jitted.cache_info().hits == 1


def test_replayed_reductions_equal_numpys_own(rng):
    # a replay calls np.add.reduce / np.maximum.reduce for np.sum / np.max: same values,
    # dtypes and shapes as NumPy, whatever the axis (none, int, tuple) and keepdims
    def f(x):
        return (
            np.sum(x),
            np.sum(x, axis=1),
            np.sum(x > 0, axis=(0, 2)),
            np.max(x, axis=1, keepdims=True),
            np.amin(x, axis=-1),
            np.prod(x, axis=0),
            np.min(np.abs(x)),
        )

    jitted = td.jit(f)
    jitted(rng.normal(size=(2, 3, 4)))
    x = rng.normal(size=(2, 3, 4))
    replayed = jitted(x)
    assert jitted.cache_info().hits == 1
    for got, expected in zip(replayed, f(x), strict=True):
        assert np.shape(got) == np.shape(expected)
        assert np.result_type(got) == np.result_type(expected)
        np.testing.assert_array_equal(got, expected)


def test_arrays_passed_in_containers_replay_exactly(rng):
    # plain tuples, lists and dicts are written into the generated straight line of
    # calls; a named tuple holding traced values is filled step by step
    from collections import namedtuple

    Pair = namedtuple("Pair", "first second")

    def f(x):
        pair = [np.sin(x), np.cos(x)]
        return np.concatenate(pair, axis=0), np.stack(Pair(x, 2 * x))

    jitted = td.jit(f)
    jitted(rng.normal(size=3))
    x = rng.normal(size=3)
    for got, expected in zip(jitted(x), f(x), strict=True):
        np.testing.assert_array_equal(got, expected)
    assert jitted.cache_info().hits == 1
