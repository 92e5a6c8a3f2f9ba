"""td.jit shared by threads: one recording per signature, no torn entries, results equal
to serial calls; signatures tell apart numbers that == confuses (-0.0 and 0.0, NaNs)."""

import sys
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

import tensordiff as td

MODES = ("auto", "optimal", "reverse", "forward")

SHAPES = [(2, 3), (3, 3), (4, 2)]


def layer(W, x):
    return np.tanh(W @ x) * np.sum(W**2)


def cases(rng):
    shapes = [shape for shape in SHAPES for _ in range(3)]
    return [(rng.normal(size=shape), rng.normal(size=shape[1])) for shape in shapes]


@pytest.fixture
def fast_switching():
    previous = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads every few bytecodes
    yield
    sys.setswitchinterval(previous)


@pytest.mark.parametrize("derivative", ["jacobian", "grad", "hessian"])
def test_one_jitted_function_shared_by_threads(rng, fast_switching, derivative):
    f = {
        "jacobian": td.jacobian(layer),
        "grad": td.grad(lambda W, x: np.sum(layer(W, x))),
        "hessian": td.hessian(lambda W, x: np.sum(layer(W, x))),
    }[derivative]
    problems = cases(rng)
    # Single-threaded results of the same jitted computation (an eager gradient takes
    # another path, backpropagation of numbers, equal only to rounding).
    single = td.jit(f)
    expected = [np.asarray(single(W, x)) for W, x in problems]
    jf = td.jit(f)
    barrier = threading.Barrier(8)
    rounds = 4

    def run(worker):
        barrier.wait(timeout=30)  # start together: the first calls race to record
        out = []
        for n in range(rounds):
            index = (worker + n) % len(problems)
            out.append((index, np.asarray(jf(*problems[index]))))
        return out

    with ThreadPoolExecutor(8) as pool:
        results = [item for chunk in pool.map(run, range(8)) for item in chunk]
    for index, got in results:
        np.testing.assert_array_equal(got, expected[index])
    info = jf.cache_info()
    assert info.misses == len(SHAPES)  # one recording per signature, however many raced
    assert info.entries == len(SHAPES)
    assert info.hits + info.misses + info.fallbacks == 8 * rounds


def test_threads_with_mixed_modes_and_a_small_cache(rng, fast_switching):
    """Eviction while other threads replay: max_entries=2 for 3 signatures per mode."""
    problems = cases(rng)
    jitted = {mode: td.jit(td.jacobian(layer, mode=mode), max_entries=2) for mode in MODES}
    expected = {
        mode: [np.asarray(td.jacobian(layer, mode=mode)(W, x)) for W, x in problems]
        for mode in MODES
    }

    def run(worker):
        mode = MODES[worker % len(MODES)]
        return [
            (mode, n, np.asarray(jitted[mode](*problems[n])))
            for n in range(worker % 3, len(problems))
        ]

    with ThreadPoolExecutor(8) as pool:
        results = [item for chunk in pool.map(run, range(8)) for item in chunk]
    for mode, n, got in results:
        np.testing.assert_allclose(got, expected[mode][n], rtol=1e-12, atol=1e-15)
    assert all(jf.cache_info().entries <= 2 for jf in jitted.values())


def test_negative_zero_and_nan_are_their_own_signatures():
    jf = td.jit(td.jacobian(lambda x, s: x * np.copysign(1.0, s)))
    x = np.ones(2)
    for s in (0.0, -0.0, np.float64(0.0), np.float64(-0.0), 0.0, -0.0):
        np.testing.assert_array_equal(np.asarray(jf(x, s)), np.copysign(1.0, s) * np.eye(2))
    assert jf.cache_info().misses == 4  # float and np.float64, each of either sign
    nan = float("nan")
    jf(x, nan), jf(x, float("nan"))  # equal bits: one recording, then a replay
    assert jf.cache_info().misses == 5


@pytest.mark.parametrize("bad", [True, 0, -3, 2.0, "8"])
def test_max_entries_must_be_a_positive_integer(bad):
    with pytest.raises(td.OptionError, match="max_entries"):
        td.jit(np.sin, max_entries=bad)


def test_max_entries_takes_any_integral():
    jf = td.jit(td.jacobian(np.sin), max_entries=np.int64(1))
    jf(np.ones(2)), jf(np.ones(3))
    assert jf.cache_info().entries == 1
