"""Derivatives computed in many threads and asyncio tasks at once equal the serial ones."""

import asyncio
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
