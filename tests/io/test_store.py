"""J.to_zarr and J.to_npy: what is read back equals the dense array, with labels; all-zero
chunks are not stored; memory stays at a few chunks."""

import os
import subprocess
import sys
import tracemalloc

import numpy as np
import pytest

import tensordiff as td

zarr = pytest.importorskip("zarr")
xr = pytest.importorskip("xarray")


def nonzero_chunks(dense: np.ndarray, chunk) -> int:
    """How many chunks of a regular grid hold a nonzero entry (counted on the dense array)."""
    grid = [range(0, size, step) for size, step in zip(dense.shape, chunk, strict=True)]
    count = 0
    for corner in np.ndindex(*[len(g) for g in grid]):
        region = tuple(
            slice(g[n], g[n] + step) for g, n, step in zip(grid, corner, chunk, strict=True)
        )
        count += bool(np.any(dense[region]))
    return count


def test_zarr_reads_back_with_its_labels(jacobian, tmp_path):
    path = tmp_path / "J.zarr"
    written = jacobian.to_zarr(path, chunks=2)
    dense = np.asarray(jacobian)
    stored = zarr.open_group(path, mode="r")["J"]
    assert stored.metadata.dimension_names == jacobian.indices
    assert stored.attrs["tensordiff"]["labels"] == list(jacobian.indices)
    assert stored.attrs["tensordiff"]["formula"] == jacobian.formula
    np.testing.assert_allclose(stored[...], dense, rtol=1e-13, atol=1e-15)
    np.testing.assert_array_equal(written[...], stored[...])
    labelled = xr.open_zarr(path)["J"]
    assert labelled.dims == jacobian.indices
    np.testing.assert_allclose(labelled.values, dense, rtol=1e-13, atol=1e-15)


def test_all_zero_chunks_are_not_stored(tmp_path):
    J = td.jacobian(lambda w: np.tanh(w @ np.arange(1.0, 9.0)))(np.full((8, 8), 0.01))  # δ[i,j]
    chunk = (2, 2, 4)
    array = J.to_zarr(tmp_path / "J.zarr", chunks=chunk)
    dense = np.asarray(J)
    assert array.nchunks_initialized == nonzero_chunks(dense, chunk) == 8  # of 32
    np.testing.assert_array_equal(array[...], dense)


def test_an_existing_store_is_kept_unless_overwrite(tmp_path):
    J = td.jacobian(np.tanh)(np.ones(3))
    J.to_zarr(tmp_path / "J.zarr")
    with pytest.raises(Exception, match="(?i)exist|contains"):
        J.to_zarr(tmp_path / "J.zarr")
    (2 * J).to_zarr(tmp_path / "J.zarr", overwrite=True)
    np.testing.assert_allclose(zarr.open_group(tmp_path / "J.zarr")["J"][...], 2 * np.asarray(J))


def test_progress_is_shown_when_asked_and_not_on_a_pipe(tmp_path, capsys):
    J = td.jacobian(np.tanh)(np.ones(6))
    J.to_zarr(tmp_path / "a.zarr", chunks=2, progress=True)
    assert "J → zarr: 100%" in capsys.readouterr().err
    J.to_zarr(tmp_path / "b.zarr", chunks=2)  # stderr here is not a terminal
    J.to_npy(tmp_path / "b.npy", chunks=2)
    assert capsys.readouterr().err == ""


@pytest.mark.skipif(sys.platform == "win32", reason="needs a pseudo-terminal (pty)")
def test_progress_is_shown_on_a_terminal_unless_turned_off(tmp_path):
    import pty  # POSIX only

    code = (
        "import numpy as np, tensordiff as td\n"
        "J = td.jacobian(np.tanh)(np.ones(6))\n"
        f"J.to_zarr({str(tmp_path / 'J.zarr')!r}, chunks=2)\n"
        f"J.to_npy({str(tmp_path / 'J.npy')!r}, chunks=2)\n"
        f"J.to_npy({str(tmp_path / 'quiet.npy')!r}, chunks=2, progress=False)\n"
    )
    controller, terminal = pty.openpty()
    try:
        done = subprocess.run(
            [sys.executable, "-c", code], stderr=terminal, stdout=subprocess.PIPE, timeout=120
        )
        os.close(terminal)
        terminal = None
        shown = b""
        while True:
            try:
                piece = os.read(controller, 4096)
            except OSError:  # the terminal's other end is closed: all is read
                break
            if not piece:
                break
            shown += piece
    finally:
        os.close(controller)
        if terminal is not None:
            os.close(terminal)
    assert done.returncode == 0, shown.decode(errors="replace")
    text = shown.decode()
    assert "J → zarr: 100%" in text and text.count("J → npy: 100%") == 1  # not when False


def test_npy_reads_back(jacobian, tmp_path):
    path = tmp_path / "J.npy"
    jacobian.to_npy(path, chunks=(2,) * jacobian.ndim)
    np.testing.assert_allclose(np.load(path), np.asarray(jacobian), rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("writer", ["npy", "zarr"])
def test_writing_holds_a_few_chunks_not_the_tensor(writer, tmp_path):
    n = 160
    rng = np.random.default_rng(3)
    x = rng.normal(size=n)
    J = td.jacobian(lambda w: np.tanh(w @ x))(rng.normal(size=(n, n)))  # 32.8 MB dense
    chunk = (40, 40, 40)  # 512 kB
    tracemalloc.start()
    try:
        with td.memory_limit(4 * 2**20):  # the dense J would be refused
            if writer == "npy":
                J.to_npy(tmp_path / "J.npy", chunks=chunk)
            else:
                J.to_zarr(tmp_path / "J.zarr", chunks=chunk)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 8 * 512 * 2**10
    stored = (
        np.load(tmp_path / "J.npy")
        if writer == "npy"
        else zarr.open_group(tmp_path / "J.zarr")["J"][...]
    )
    np.testing.assert_allclose(stored, np.asarray(J), rtol=1e-13)
