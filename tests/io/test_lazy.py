"""J.to_dask and J.to_xarray agree with the dense array and compose with their ecosystems."""

import pickle
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import tensordiff as td

da = pytest.importorskip("dask.array")
xr = pytest.importorskip("xarray")


@pytest.mark.parametrize("chunks", ["auto", 2, (3, -1, 2), {"i": 1}, {0: 4}])
def test_to_dask_is_the_dense_array(jacobian, chunks):
    if isinstance(chunks, tuple):
        chunks = chunks[: jacobian.ndim] + (-1,) * (jacobian.ndim - len(chunks))
    if isinstance(chunks, dict) and "i" not in jacobian.indices:
        chunks = {jacobian.indices[0]: 1}
    lazy = jacobian.to_dask(chunks=chunks)
    assert isinstance(lazy, da.Array)
    assert (lazy.shape, lazy.dtype) == (jacobian.shape, jacobian.dtype)
    np.testing.assert_allclose(
        lazy.compute(scheduler="synchronous"), np.asarray(jacobian), rtol=1e-13, atol=1e-15
    )


def test_dask_operations_agree_with_numpy(jacobian):
    lazy, dense = jacobian.to_dask(chunks=3), np.asarray(jacobian)
    np.testing.assert_allclose(lazy.sum(axis=0).compute(), dense.sum(axis=0), atol=1e-12)
    np.testing.assert_allclose((lazy[1:, ..., ::-1] ** 2).compute(), dense[1:, ..., ::-1] ** 2)


def test_the_graph_and_its_tasks_hold_the_structure_not_the_dense_array():
    rng = np.random.default_rng(0)
    n = 120
    x = rng.normal(size=n)
    J = td.jacobian(lambda w: np.tanh(w @ x))(rng.normal(size=(n, n)))  # 13.8 MB dense
    lazy = J.to_dask(chunks=(30, 30, 30))
    graph = pickle.dumps(dict(lazy.__dask_graph__()))  # every task, materialised
    assert len(graph) < J.dense_nbytes / 20
    assert len(pickle.dumps(J)) < 4 * J.stored_nbytes + 10_000


def test_each_chunk_is_guarded_by_the_memory_limit():
    J = td.jacobian(lambda w: np.tanh(w @ np.ones(50)))(np.ones((50, 50)))  # 1 MB dense
    with td.memory_limit(100_000):
        with pytest.raises(td.JacobianTooLarge):
            np.asarray(J)
        with pytest.raises(td.JacobianTooLarge):
            J.to_dask(chunks=(50, 50, 50))
        lazy = J.to_dask(chunks=(10, 10, 50))  # 40 kB chunks fit
        block = lazy[:10].compute(scheduler="synchronous")
    np.testing.assert_array_equal(block, np.asarray(J)[:10])


def test_the_64_terabyte_jacobian_builds_and_computes_three_chunks():
    n = 20000
    rng = np.random.default_rng(1)
    # zeros cost no memory until written (calloc), so W takes no RAM here; b varies
    w, x, b = np.zeros((n, n)), rng.normal(size=n), rng.normal(size=n)
    J = td.jacobian(lambda w: np.tanh(w @ x + b))(w)
    assert J.dense_nbytes == 64 * 10**12
    lazy = J.to_dask()
    assert lazy.shape == (n, n, n) and lazy.npartitions > 100_000
    keys = [(0, 0, 0), (3, 3, 7), (0, 1, 0)]
    chunks = da.compute(*(lazy.blocks[key] for key in keys), scheduler="synchronous")
    derivative = 1 - np.tanh(b) ** 2
    for key, chunk in zip(keys, chunks, strict=True):
        rows, cols, deep = (
            slice(sum(sizes[:k]), sum(sizes[: k + 1]))
            for sizes, k in zip(lazy.chunks, key, strict=True)
        )
        expected = np.zeros(chunk.shape)
        if rows == cols:
            diagonal = np.arange(chunk.shape[0])
            expected[diagonal, diagonal] = derivative[rows, None] * x[deep]
        np.testing.assert_allclose(chunk, expected, rtol=1e-14)
    assert np.any(chunks[0]) and not np.any(chunks[2])


# Run in a fresh process: the growth of resident memory while one 7.6 MiB chunk of the
# 64 TB J cut into 8,000,000 chunks is computed. Dask lists the keys of every chunk when
# the graph holds a non-task value (about 1.1 GB here); the structure is held as data, so
# it does not. The peak is VmHWM, reset just before (ru_maxrss survives exec on Linux and
# would report the parent pytest process).
ONE_CHUNK_OF_MANY = textwrap.dedent(
    """
    import numpy as np, tensordiff as td

    def status_mib(field):
        with open("/proc/self/status") as status:
            line = next(line for line in status if line.startswith(field + ":"))
        return int(line.split()[1]) / 2**10

    n = 20000
    rng = np.random.default_rng(2)
    x, b = rng.normal(size=n), rng.normal(size=n)
    J = td.jacobian(lambda w: np.tanh(w @ x + b))(np.zeros((n, n)))  # zeros: no RAM (calloc)
    lazy = J.to_dask(chunks=100)
    assert lazy.npartitions == 8_000_000
    td.Tensor(np.ones(2), "i").to_dask().compute()  # Dask's lazy imports, before measuring
    try:
        with open("/proc/self/clear_refs", "w") as clear:
            clear.write("5")  # the peak (VmHWM) starts again from the resident memory now
    except OSError:
        pass  # not allowed here: the peak since start only overstates the growth
    before = status_mib("VmRSS")
    chunk = lazy[100:200, 100:200, :100].compute(scheduler="synchronous")
    grown = status_mib("VmHWM") - before
    expected = np.zeros((100, 100, 100))
    diagonal = np.arange(100)
    expected[diagonal, diagonal] = (1 - np.tanh(b[100:200]) ** 2)[:, None] * x[:100]
    np.testing.assert_allclose(chunk, expected, rtol=1e-14)
    print(grown)
    """
)


@pytest.mark.skipif(sys.platform != "linux", reason="reads the peak memory from /proc/self")
def test_computing_one_chunk_costs_the_chunk_not_the_number_of_chunks():
    result = subprocess.run(
        [sys.executable, "-c", ONE_CHUNK_OF_MANY], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr
    grown_mib = float(result.stdout)
    chunk_mib = 100**3 * 8 / 2**20
    # the chunk and Dask's copy of it as the result, with room to spare
    assert grown_mib < 4 * chunk_mib + 32, f"{grown_mib:.0f} MiB for one {chunk_mib:.1f} MiB chunk"


def test_a_block_of_the_64_terabyte_jacobian_is_a_small_dask_graph():
    n = 20000
    rng = np.random.default_rng(4)
    x, b = rng.normal(size=n), rng.normal(size=n)
    J = td.jacobian(lambda w: np.tanh(w @ x + b), out="i", wrt="jk")(np.zeros((n, n)))
    block = J[:300, 100:400, :300].to_xarray(chunks=100)
    assert block.data.npartitions == 27 and block.dims == ("i", "j", "k")
    # Σ_k J[i, j, k] = δ[i,j] (1 − tanh²(b))[i] Σ_k x[k], here on the diagonal shifted by 100
    summed = block.sum("k").values
    expected = np.zeros((300, 300))
    rows = np.arange(100, 300)
    expected[rows, rows - 100] = (1 - np.tanh(b[rows]) ** 2) * x[:300].sum()
    np.testing.assert_allclose(summed, expected, rtol=1e-12, atol=1e-15)


def test_to_xarray_has_the_labels_and_composes(jacobian):
    dense = np.asarray(jacobian)
    first, last = jacobian.indices[0], jacobian.indices[-1]
    for chunks in (None, 2):
        array = jacobian.to_xarray(chunks=chunks)
        assert array.dims == jacobian.indices
        assert isinstance(array.data, np.ndarray) == (chunks is None)
        assert array.attrs["formula"] == jacobian.formula
        np.testing.assert_allclose(array.sum(first).values, dense.sum(0), atol=1e-12)
        np.testing.assert_allclose(array.isel({last: 1}).values, dense[..., 1])
        vector = xr.DataArray(np.arange(1.0, dense.shape[-1] + 1), dims=last)
        np.testing.assert_allclose(
            xr.dot(array, vector, dim=last).values,
            np.tensordot(dense, vector.values, axes=(-1, 0)),
            atol=1e-12,
        )
