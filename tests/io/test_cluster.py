"""The same calls on a dask.distributed cluster of two worker processes."""

import pickle

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


def test_a_cluster_computes_and_writes_the_jacobian(client, tmp_path, capsys):
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
        J.to_zarr(tmp_path / "J.zarr", chunks=(5, 5, 6), progress=True)
    assert any("_write_region" in str(task["key"]) for task in written.data)
    assert "J → zarr: 100%" in capsys.readouterr().err  # advanced as the workers finish
    stored = zarr.open_group(tmp_path / "J.zarr")["J"]
    assert stored.metadata.dimension_names == J.indices
    np.testing.assert_allclose(stored[...], dense, rtol=1e-13)


def _task_specs(dask_scheduler):
    """Each task the scheduler holds: its pickled size and the keys it depends on."""
    return {
        str(key): (len(pickle.dumps(task.run_spec)), {str(d.key) for d in task.dependencies})
        for key, task in dask_scheduler.tasks.items()
    }


def test_the_scheduler_holds_the_structure_once_and_small_tasks(client):
    rng = np.random.default_rng(6)
    n = 60
    x, b = rng.normal(size=n), rng.normal(size=n)
    J = td.jacobian(lambda w: np.tanh(w @ x + b))(rng.normal(size=(n, n)))  # 1.7 MB dense
    lazy = J.to_dask(chunks=(20, 20, 60)).persist()
    distributed.wait(lazy)
    specs = client.run_on_scheduler(_task_specs)
    structure = [key for key in specs if key.startswith("structure-")]
    chunks = [key for key in specs if key.startswith("(")]
    assert len(structure) == 1 and len(chunks) == 9
    assert specs[structure[0]][0] < 2 * len(pickle.dumps(J))  # J's factors, not its array
    for key in chunks:
        size, dependencies = specs[key]
        assert size < 1000 and dependencies == set(structure)
    np.testing.assert_allclose(lazy.compute(), np.asarray(J), rtol=1e-13)
    del lazy
