"""Derivatives computed in many threads and asyncio tasks at once equal the serial ones."""

import asyncio
import re
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np

import tensordiff as td


def problems(rng, count):
    out = []
    for n in range(count):
        W, x = rng.normal(size=(3 + n % 3, 4)), rng.normal(size=4)
        out.append((W, x))
    return out


def derivatives(W, x):
    """A Jacobian, a gradient and a Hessian (a derivative inside a derivative) of W."""
    J = td.jacobian(lambda W: np.tanh(W @ x))(W)
    g = td.grad(lambda W: np.sum(np.tanh(W @ x) ** 2))(W)
    H = td.hessian(lambda W: np.sum(np.sin(W @ x)))(W)
    return np.asarray(J), np.asarray(g), np.asarray(H)


def test_threads_computing_derivatives_at_once_agree_with_serial(rng):
    # Switch threads every few bytecodes (default: 5 ms), so their traces interleave.
    previous = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        _run_threads(rng)
    finally:
        sys.setswitchinterval(previous)


def _run_threads(rng):
    cases = problems(rng, 16)
    expected = [derivatives(W, x) for W, x in cases]
    barrier = threading.Barrier(8)

    def run(case):
        barrier.wait(timeout=30)  # start together, so the traces really interleave
        return [derivatives(*case) for _ in range(3)]

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(run, cases[:8])) + list(pool.map(run, cases[8:]))
    for want, got in zip(expected, results, strict=True):
        for repeat in got:
            for a, b in zip(want, repeat, strict=True):
                np.testing.assert_array_equal(a, b)


def test_asyncio_tasks_running_derivatives_in_worker_threads_agree(rng):
    """Tasks interleave between calls and run their calls in the loop's worker threads;
    every result equals the serial one."""
    cases = problems(rng, 6)
    expected = [np.asarray(td.jacobian(lambda W, x=x: np.tanh(W @ x))(W)) for W, x in cases]

    async def one(W, x):
        loop = asyncio.get_running_loop()
        await asyncio.sleep(0)
        J = await loop.run_in_executor(None, lambda: td.jacobian(lambda W: np.tanh(W @ x))(W))
        await asyncio.sleep(0)
        return np.asarray(J)

    async def main():
        return await asyncio.gather(*(one(W, x) for W, x in cases))

    for want, got in zip(expected, asyncio.run(main()), strict=True):
        np.testing.assert_array_equal(want, got)


def test_a_memory_limit_in_one_thread_does_not_refuse_work_in_another(rng):
    W, x = rng.normal(size=(20, 20)), rng.normal(size=20)
    inside, outside = threading.Event(), threading.Event()
    errors = []

    def limited():
        with td.memory_limit(64):  # too small for the 20×20×20 dense Jacobian
            inside.set()
            outside.wait(timeout=30)
            try:
                np.asarray(td.jacobian(lambda W: W @ x)(W))
            except td.JacobianTooLarge:
                errors.append("limited")

    def free():
        inside.wait(timeout=30)
        try:
            np.asarray(td.jacobian(lambda W: W @ x)(W))  # while the other block is open
        except td.JacobianTooLarge:
            errors.append("free")
        outside.set()

    threads = [threading.Thread(target=limited), threading.Thread(target=free)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == ["limited"]


def _residual(W, x, layers=12):
    """A residual chain long enough that its formula names intermediates (z, P₁[i,j])."""
    h = x
    for k in range(layers):
        h = h + np.tanh((W + k) @ h / (k + 3))
    return h


def test_a_pool_mixing_shapes_modes_hessians_and_jit_agrees_with_one_thread(rng):
    """Every kind of call at once, in random order, with threads switched every few
    bytecodes: eager Jacobians in each mode, gradients, Hessians, jitted functions shared
    by all threads (recorded while others replay) and formulas of a residual chain, whose
    intermediates go into the process-wide table concurrently. Each result, numbers and
    formula, equals the single-threaded one."""
    shapes = [(3, 3), (4, 4), (2, 2)]
    cases = [(rng.normal(size=s), rng.normal(size=s[1])) for s in shapes]
    jitted_jacobian = td.jit(td.jacobian(lambda W, x: np.tanh(W @ x)))
    jitted_hessian = td.jit(td.hessian(lambda W, x: np.sum(np.sin(W @ x))))

    def task(kind, mode, W, x):
        if kind == "jacobian":
            J = td.jacobian(lambda W: np.tanh(W @ x) * np.sum(W), mode=mode)(W)
            return np.asarray(J), J.formula
        if kind == "grad":
            return np.asarray(td.grad(lambda W: np.sum(np.tanh(W @ x) ** 2))(W)), None
        if kind == "hessian":
            return np.asarray(td.hessian(lambda x: np.sum(np.exp(W @ x)))(x)), None
        if kind == "jit":
            return np.asarray(jitted_jacobian(W, x)), np.asarray(jitted_hessian(W, x))
        J = td.jacobian(lambda x: _residual(W, x), mode=mode)(x)
        return np.asarray(J), J.formula

    tasks = [
        (kind, mode, n)
        for kind in ("jacobian", "grad", "hessian", "jit", "residual")
        for mode in ("auto", "forward", "reverse")
        for n in range(len(cases))
    ] * 2
    rng.shuffle(tasks)
    expected = {t: task(t[0], t[1], *cases[t[2]]) for t in set(tasks)}
    jitted_jacobian.clear()
    jitted_hessian.clear()

    previous = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        with ThreadPoolExecutor(8) as pool:
            results = list(pool.map(lambda t: task(t[0], t[1], *cases[t[2]]), tasks))
    finally:
        sys.setswitchinterval(previous)
    for t, (numbers, extra) in zip(tasks, results, strict=True):
        want_numbers, want_extra = expected[t]
        np.testing.assert_array_equal(numbers, want_numbers, err_msg=str(t))
        if isinstance(extra, str):
            assert extra == want_extra, t
        elif extra is not None:
            np.testing.assert_array_equal(extra, want_extra, err_msg=str(t))
    assert jitted_jacobian.cache_info().entries == len(shapes)
    assert all(
        re.search(r"where .*z₁ = .*P₁\[i,j\] = ", expected[t][1])
        for t in tasks
        if t[0] == "residual"
    )
