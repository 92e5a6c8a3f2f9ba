"""The same calls on a dask.distributed cluster of two worker processes."""

import numpy as np
import pytest

import tensordiff as td

distributed = pytest.importorskip("distributed")
zarr = pytest.importorskip("zarr")


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(
        n_workers=2, processes=True, threads_per_worker=1, dashboard_address=None
    )
    client = distributed.Client(cluster)
    try:
        yield client
    finally:
        client.close()
        cluster.close()


def test_a_cluster_computes_and_writes_the_jacobian(client, tmp_path):
    rng = np.random.default_rng(5)
    x, b = rng.normal(size=12), rng.normal(size=10)
    J = td.jacobian(lambda w: np.tanh(w @ x + b))(rng.normal(size=(10, 12)))
    dense = np.asarray(J)

    with distributed.get_task_stream(client) as computed:
        lazy = J.to_dask(chunks=(5, 5, 6))
        np.testing.assert_allclose(lazy.compute(), dense, rtol=1e-13)
        np.testing.assert_allclose(lazy.sum(axis=2).compute(), dense.sum(axis=2), rtol=1e-12)
    workers = {task["worker"] for task in computed.data}
    assert len(workers) == 2  # both worker processes took chunks

    with distributed.get_task_stream(client) as written:
        J.to_zarr(tmp_path / "J.zarr", chunks=(5, 5, 6))
    assert any("_write_region" in str(task["key"]) for task in written.data)
    stored = zarr.open_group(tmp_path / "J.zarr")["J"]
    assert stored.metadata.dimension_names == J.indices
    np.testing.assert_allclose(stored[...], dense, rtol=1e-13)
