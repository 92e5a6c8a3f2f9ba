"""Jacobians larger than memory (issue #14): Zarr writes, a 64 TB Dask array, a cluster.

    python benchmarks/out_of_core.py [--quick] [--size M] [--json out.json]

J = dV/dW for V = tanh(W x + b) with W of shape M×M has shape (M, M, M): 8 GB of
float64 at M = 1000 (the default; ``--quick`` uses M = 400, 512 MB). Every row runs
in a fresh Python process, so its peak RSS (``VmHWM``: imports included; not
``ru_maxrss``, which on Linux keeps the parent's peak across exec) is its own; the
time is of the write only (J is built before the clock starts, in ~1 ms).

Rows:

* **floor: zeros → zarr** — the same Zarr array (same chunks, codecs and
  ``write_empty_chunks=False``) written with a zero chunk per chunk: the least a
  chunked write of this shape costs.
* **J.to_zarr** — tensordiff, one process: chunks in which every term vanishes
  (off the δ) are neither computed nor written.
* **peer: dask to_zarr(J.to_dask())** — Dask's own writer on the threaded
  scheduler (2 threads): every chunk computed and handed to Zarr.
* **J.to_zarr on LocalCluster(2 workers)** — the same call with a
  ``distributed`` Client active; RSS is the largest of the client and workers.
* **64 TB J: to_dask + 3 chunks** — M = 20000: building the Dask array, then
  computing three of its 128 MiB chunks (two on the δ, one off it), selected by
  slicing (``lazy[a:b, c:d, e:f]``); peak RSS is taken before the chunks are checked.
* **the same, chunks by lazy.blocks[...]** — Dask's ``.blocks`` lists the key of
  every chunk (493,039 here) to select three.

Each written store is checked against the closed form δ[i,j] (1 − V²)[i] x[k] on
the blocks along the diagonal before its row is reported.
"""

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np

import tensordiff as td

ROWS = ["floor", "tensordiff", "peer-dask", "cluster", "dask-64TB", "dask-64TB-blocks"]
TITLES = {
    "floor": "floor: zeros → zarr",
    "tensordiff": "J.to_zarr",
    "peer-dask": "peer: dask to_zarr(J.to_dask())",
    "cluster": "J.to_zarr on LocalCluster(2 workers)",
    "dask-64TB": "64 TB J: to_dask + 3 chunks",
    "dask-64TB-blocks": "the same, chunks by lazy.blocks[...]",
}
# the three chunks computed of the 64 TB J, by their position in the chunk grid
CHUNKS_64TB = [(0, 0, 0), (1, 1, 5), (0, 1, 0)]


def layer(m: int, seed: int = 0):
    """J of V = tanh(W x + b) with respect to W (M×M), and its closed-form pieces."""
    rng = np.random.default_rng(seed)
    # zeros are free until written (calloc): W costs no RAM even at M = 20000; b varies
    w, x, b = np.zeros((m, m)), rng.normal(size=m), rng.normal(size=m)
    J = td.jacobian(lambda w: np.tanh(w @ x + b))(w)
    return J, 1 - np.tanh(b) ** 2, x


def check(stored, derivative, x, chunk) -> None:
    """The blocks of a stored J along the diagonal equal the closed form."""
    m = len(x)
    for start in range(0, m, max(m // 3, 1)):
        rows = slice(start, min(start + chunk[0], m))
        block = stored[rows, rows, :]
        n = block.shape[0]
        expected = np.zeros(block.shape)
        expected[np.arange(n), np.arange(n)] = derivative[rows, None] * x
        np.testing.assert_allclose(block, expected, rtol=1e-13)


def peak_rss_mb() -> float:
    """This process's peak resident memory: VmHWM on Linux (ru_maxrss there also counts
    the parent's peak before exec), ru_maxrss elsewhere."""
    try:
        with open("/proc/self/status") as status:
            line = next(line for line in status if line.startswith("VmHWM:"))
        return int(line.split()[1]) / 1024
    except OSError:
        maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return maxrss / 2**20 if sys.platform == "darwin" else maxrss / 1024  # bytes / kB


def big_chunks(J, derivative, x, by_blocks: bool) -> dict:
    """Build ``J.to_dask()`` of the 64 TB J and compute three chunks in one call."""
    import dask  # lazy: optional extra
    import dask.array  # noqa: F401 (imported before the clock starts, as a user would have)

    start = time.perf_counter()
    lazy = J.to_dask()
    built = time.perf_counter() - start
    if by_blocks:
        selected = [lazy.blocks[key] for key in CHUNKS_64TB]
    else:
        edges = [np.cumsum((0, *sizes)) for sizes in lazy.chunks]
        selected = [
            lazy[tuple(slice(e[n], e[n + 1]) for e, n in zip(edges, key, strict=True))]
            for key in CHUNKS_64TB
        ]
    chunks = dask.compute(*selected, scheduler="synchronous")
    seconds = time.perf_counter() - start
    rss_mb = peak_rss_mb()  # before the check allocates its own arrays
    size = lazy.chunks[0][0]
    expected = np.zeros(chunks[0].shape)
    expected[np.arange(size), np.arange(size)] = derivative[:size, None] * x[:size]
    np.testing.assert_allclose(chunks[0], expected, rtol=1e-13)
    assert not np.any(chunks[2])
    return {
        "seconds": seconds,
        "build_seconds": built,
        "chunks": lazy.npartitions,
        "chunk_mb": chunks[0].nbytes / 2**20,
        "rss_mb": rss_mb,
    }


def run_row(row: str, m: int, directory: str) -> dict:
    """One row in this process: seconds and peak RSS."""
    import zarr  # lazy: optional extra

    from tensordiff.io.chunks import regions, regular_chunks

    path = os.path.join(directory, f"{row}.zarr")
    if row.startswith("dask-64TB"):
        J, derivative, x = layer(20000)
        return big_chunks(J, derivative, x, by_blocks=row.endswith("blocks"))
    J, derivative, x = layer(m)
    chunk = regular_chunks(J.shape, J.indices, J.dtype, None)
    extra: dict = {}
    if row == "floor":
        group = zarr.open_group(path, mode="w")
        array = group.create_array(
            "J", shape=J.shape, chunks=chunk, dtype=J.dtype, fill_value=0,
            dimension_names=J.indices, config={"write_empty_chunks": False},
        )  # fmt: skip
        start = time.perf_counter()
        for region in regions(J.shape, chunk):
            array[region] = np.zeros([r.stop - r.start for r in region])
        seconds = time.perf_counter() - start
    elif row == "tensordiff":
        start = time.perf_counter()
        array = J.to_zarr(path, progress=False)
        seconds = time.perf_counter() - start
    elif row == "peer-dask":
        start = time.perf_counter()
        J.to_dask(chunks=chunk).to_zarr(path, component="J")
        seconds = time.perf_counter() - start
        array = zarr.open_group(path)["J"]
    elif row == "cluster":
        import distributed  # lazy: optional extra

        cluster = distributed.LocalCluster(
            n_workers=2, processes=True, threads_per_worker=1, dashboard_address=None
        )
        client = distributed.Client(cluster)
        try:
            client.run(lambda: None)  # workers up before the clock starts
            start = time.perf_counter()
            array = J.to_zarr(path, progress=False)
            seconds = time.perf_counter() - start
            workers = client.run(peak_rss_mb)
            extra["worker_rss_mb"] = max(workers.values())
        finally:
            client.close()
            cluster.close()
    rss_mb = max(peak_rss_mb(), extra.get("worker_rss_mb", 0.0))  # before the check reads
    if row != "floor":
        check(zarr.open_group(path)["J"], derivative, x, chunk)
    stored = sum(len(files) for _, _, files in os.walk(path))
    return {
        "seconds": seconds,
        "rss_mb": rss_mb,
        "chunk": chunk,
        "files": stored,
        **extra,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--quick", action="store_true", help="M = 400 (512 MB J)")
    parser.add_argument("--size", type=int, help="M (default 1000: an 8 GB J)")
    parser.add_argument("--json", help="write the results here")
    parser.add_argument("--row", choices=ROWS, help=argparse.SUPPRESS)  # one row (internal)
    parser.add_argument("--dir", help=argparse.SUPPRESS)
    args = parser.parse_args()
    m = args.size or (400 if args.quick else 1000)
    if args.row:
        print(json.dumps(run_row(args.row, m, args.dir)))
        return
    directory = tempfile.mkdtemp(prefix="tensordiff-out-of-core-")
    results = {}
    try:
        for row in ROWS:
            command = [sys.executable, __file__, "--row", row, "--size", str(m), "--dir", directory]
            done = subprocess.run(command, capture_output=True, text=True, check=True)
            results[row] = json.loads(done.stdout.strip().splitlines()[-1])
            shutil.rmtree(os.path.join(directory, f"{row}.zarr"), ignore_errors=True)
    finally:
        shutil.rmtree(directory, ignore_errors=True)
    gigabytes = m**3 * 8 / 1e9
    floor = results["floor"]["seconds"]
    print(f"J of shape ({m}, {m}, {m}) float64 = {gigabytes:.2f} GB dense;"
          f" zarr chunks {results['floor']['chunk']}")  # fmt: skip
    print("| row | time (s) | ratio to floor | peak RSS (MB) | files stored |")
    print("|---|---:|---:|---:|---:|")
    for row in ROWS[:4]:
        r = results[row]
        print(
            f"| {TITLES[row]} | {r['seconds']:.2f} | {r['seconds'] / floor:.2f}x"
            f" | {r['rss_mb']:.0f} | {r['files']} |"
        )
    for row in ROWS[4:]:
        big = results[row]
        print(
            f"| {TITLES[row]} | {big['seconds']:.2f} (build {big['build_seconds']:.3f})"
            f" | – | {big['rss_mb']:.0f} | {big['chunks']:,} chunks of {big['chunk_mb']:.0f} MiB |"
        )
    if args.json:
        with open(args.json, "w") as out:
            json.dump({"size": m, "results": results}, out, indent=2)


if __name__ == "__main__":
    main()
