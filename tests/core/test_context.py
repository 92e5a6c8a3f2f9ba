"""Context-local state: memory limits and cost meters per thread and asyncio task."""

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

import tensordiff as td
from tensordiff.core import context, memory, paths

TIMEOUT = 10


def in_two_threads(first, second):
    """Run ``first(barrier)`` and ``second(barrier)`` concurrently; their results."""
    barrier = threading.Barrier(2, timeout=TIMEOUT)
    with ThreadPoolExecutor(2) as pool:
        futures = [pool.submit(first, barrier), pool.submit(second, barrier)]
        return [future.result(timeout=TIMEOUT) for future in futures]


def contract_once():
    """One contraction (a matrix times a vector) through the planned executor."""
    return paths.einsum_classes([(np.ones((2, 3)), (1, 2)), (np.ones(3), (2,))], (1,))


@pytest.fixture
def process_limit():
    """The process-wide limit, restored after the test whatever it does."""
    original = td.get_memory_limit()
    yield original
    td.set_memory_limit(original)


def test_a_threads_memory_limit_is_not_seen_by_a_concurrent_thread(process_limit):
    def limited(barrier):
        with td.memory_limit(12345):
            barrier.wait()  # both threads are now running, this one inside its block
            barrier.wait()  # the other has looked
            return td.get_memory_limit()

    def other(barrier):
        barrier.wait()
        seen = td.get_memory_limit()
        with td.memory_limit(777):
            own = td.get_memory_limit()
        barrier.wait()
        return seen, own

    mine, (seen, own) = in_two_threads(limited, other)
    assert mine == 12345
    assert seen == process_limit and own == 777
    assert td.get_memory_limit() == process_limit


def test_a_threads_memory_limit_does_not_refuse_work_in_another(process_limit):
    def limited(barrier):
        with td.memory_limit(100):
            barrier.wait()
            with pytest.raises(td.JacobianTooLarge):
                memory.check_dense((1000,), np.dtype(np.float64))
            barrier.wait()

    def other(barrier):
        barrier.wait()
        memory.check_dense((1000,), np.dtype(np.float64))  # 8000 bytes: fine here
        barrier.wait()

    in_two_threads(limited, other)


def test_a_new_thread_starts_from_the_defaults(process_limit):
    with td.memory_limit(4321), paths.metered() as meter:
        with ThreadPoolExecutor(1) as pool:
            seen = pool.submit(td.get_memory_limit).result(timeout=TIMEOUT)
            pool.submit(contract_once).result(timeout=TIMEOUT)
    assert seen == process_limit
    assert meter["contractions"] == 0


def test_a_tasks_memory_limit_is_not_seen_by_a_concurrent_task(process_limit):
    async def main():
        entered, looked = asyncio.Event(), asyncio.Event()

        async def limited():
            with td.memory_limit(2222):
                entered.set()
                await looked.wait()
                return td.get_memory_limit()

        async def other():
            await entered.wait()
            seen = td.get_memory_limit()
            looked.set()
            return seen

        return await asyncio.gather(limited(), other())

    mine, seen = asyncio.run(main())
    assert mine == 2222 and seen == process_limit


def test_a_task_starts_from_a_copy_of_its_creators_state(process_limit):
    async def main():
        with td.memory_limit(3333):
            task = asyncio.create_task(_limit_after_yield())
        # the creator's block has ended; the task keeps the copy it started with
        return await task, td.get_memory_limit()

    in_task, after = asyncio.run(main())
    assert in_task == 3333 and after == process_limit


async def _limit_after_yield():
    await asyncio.sleep(0)
    return td.get_memory_limit()


def test_set_memory_limit_is_process_wide(process_limit):
    new = process_limit // 2 + 1

    def setter(barrier):
        td.set_memory_limit(new)
        barrier.wait()

    def reader(barrier):
        barrier.wait()
        return td.get_memory_limit()

    _, seen = in_two_threads(setter, reader)
    assert seen == new and td.get_memory_limit() == new


def test_set_memory_limit_inside_a_block_takes_effect_at_once(process_limit):
    new = process_limit // 3 + 1
    with td.memory_limit(1000):
        td.set_memory_limit(new)
        assert td.get_memory_limit() == new
    assert td.get_memory_limit() == new


def test_the_state_is_restored_after_an_exception(process_limit):
    with pytest.raises(RuntimeError), td.memory_limit(999):
        assert td.get_memory_limit() == 999
        raise RuntimeError("inside the block")
    assert td.get_memory_limit() == process_limit
    with pytest.raises(RuntimeError), context.changed(serving_level=5):
        raise RuntimeError
    assert context.current().serving_level == 0
    with pytest.raises(RuntimeError), paths.metered():
        raise RuntimeError
    assert context.current().meters == ()


def test_nested_limits_unwind_in_order(process_limit):
    with td.memory_limit(500):
        with td.memory_limit(50):
            assert td.get_memory_limit() == 50
        assert td.get_memory_limit() == 500
    assert td.get_memory_limit() == process_limit


@pytest.mark.parametrize("bad", [0, -1, 1.5, "1000", None])
def test_bad_limits_are_refused_and_change_nothing(process_limit, bad):
    with pytest.raises(td.OptionError):
        with td.memory_limit(bad):
            pass
    with pytest.raises(td.OptionError):
        td.set_memory_limit(bad)
    assert td.get_memory_limit() == process_limit


def test_changed_replaces_fields_for_the_block_only():
    before = context.current()
    with context.changed(serving_level=2, traces=("t",)):
        assert context.current().serving_level == 2 and context.current().traces == ("t",)
        with context.changed(serving_level=3):
            assert context.current() == before._replace(serving_level=3, traces=("t",))
        assert context.current().serving_level == 2
    assert context.current() == before


def test_a_meter_counts_the_contractions_run_inside():
    with paths.metered() as meter:
        contract_once()
        contract_once()
    assert meter["contractions"] == 2 and meter["flops"] > 0
    contract_once()
    assert meter["contractions"] == 2  # nothing counted after the block


def test_nested_meters_both_count():
    with paths.metered() as outer:
        contract_once()
        with paths.metered() as inner:
            contract_once()
    assert inner["contractions"] == 1 and outer["contractions"] == 2
    assert outer["flops"] == 2 * inner["flops"]


def test_a_meter_does_not_count_another_threads_contractions():
    def metering(barrier):
        with paths.metered() as meter:
            barrier.wait()  # the other thread now contracts
            barrier.wait()
        return dict(meter)

    def contracting(barrier):
        barrier.wait()
        with paths.metered() as meter:
            contract_once()
        barrier.wait()
        return dict(meter)

    idle, busy = in_two_threads(metering, contracting)
    assert idle == {"flops": 0, "largest_intermediate": 0, "contractions": 0}
    assert busy["contractions"] == 1 and busy["flops"] > 0


def test_a_meter_does_not_count_a_concurrent_tasks_contractions():
    async def main():
        entered, done = asyncio.Event(), asyncio.Event()

        async def metering():
            with paths.metered() as meter:
                entered.set()
                await done.wait()
            return dict(meter)

        async def contracting():
            await entered.wait()
            contract_once()
            done.set()

        idle, _ = await asyncio.gather(metering(), contracting())
        return idle

    assert asyncio.run(main())["contractions"] == 0
