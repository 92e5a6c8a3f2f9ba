"""Streaming a tensor to storage chunk by chunk: Zarr arrays and .npy files.

Peak memory is a chunk or two, never the tensor. A chunk in which every term of
the tensor vanishes is not computed and not written: Zarr's fill value (and the
sparse zeros of a new .npy file) already hold it.
"""

import sys
import warnings

import numpy as np

from tensordiff.core import memory
from tensordiff.io.chunks import optional_extra, regions, regular_chunks
from tensordiff.io.progress import Progress

__all__ = ["to_zarr", "to_npy"]


def to_zarr(tensor, store, chunks=None, progress=None, name="J", overwrite=False):
    """Write the tensor as the array ``name`` of a new Zarr (v3) group at ``store`` and
    return that array: ``zarr.open_group(store)[name]``, or ``xarray.open_zarr(store)[name]``
    as a labelled DataArray.

    ``chunks`` as :func:`tensordiff.io.chunks.regular_chunks`. The labels are the
    array's dimension names and, with the formula, its ``tensordiff`` attribute.
    ``progress`` None shows a progress line on a terminal; True or False force it.
    When a ``dask.distributed`` Client is active, its workers compute and write the
    chunks (the tensor is sent to them once).
    """
    zarr = optional_extra("zarr", "J.to_zarr")
    chunk = regular_chunks(tensor.shape, tensor.indices, tensor.dtype, chunks)
    memory.check_dense(chunk, tensor.dtype)
    group = zarr.open_group(store, mode="w" if overwrite else "w-")
    array = group.create_array(
        name,
        shape=tensor.shape,
        chunks=chunk,
        dtype=tensor.dtype,
        fill_value=0,
        dimension_names=tensor.indices,
        attributes={"tensordiff": {"labels": list(tensor.indices), "formula": tensor.formula}},
        config={"write_empty_chunks": False},
    )
    with Progress("J → zarr", tensor.dense_nbytes, progress) as bar:
        client = _active_client()
        if client is None:
            for region in regions(tensor.shape, chunk):
                bar.advance(_write_region(region, tensor, array))
        else:
            _write_on_cluster(client, tensor, array, chunk, bar)
    with warnings.catch_warnings():
        # Zarr notes that consolidated metadata is not in the v3 spec yet; xarray reads it
        # (and warns on every open without it), and other readers ignore it.
        warnings.simplefilter("ignore", zarr.errors.ZarrUserWarning)
        zarr.consolidate_metadata(group.store)
    return array


def to_npy(tensor, path, chunks=None, progress=None) -> None:
    """Write the tensor into a ``.npy`` file at ``path`` (read it with ``np.load(path,
    mmap_mode="r")``), one chunk at a time through a NumPy memmap."""
    chunk = regular_chunks(tensor.shape, tensor.indices, tensor.dtype, chunks)
    memory.check_dense(chunk, tensor.dtype)
    created = np.lib.format.open_memmap(path, mode="w+", dtype=tensor.dtype, shape=tensor.shape)
    del created  # a new file reads as zeros; only the chunks with terms are written
    with Progress("J → npy", tensor.dense_nbytes, progress) as bar:
        for region in regions(tensor.shape, chunk):
            block = tensor[region]
            if block.terms:
                # Mapped afresh per chunk: written pages leave the process with the map,
                # so resident memory stays at a chunk instead of growing to the file.
                target = np.lib.format.open_memmap(path, mode="r+")
                block.to_numpy(out=target[region])
                target.flush()
                del target
            bar.advance(block.dense_nbytes)


def _write_region(region, tensor, array) -> int:
    """Compute and store one chunk unless every term vanishes there; its dense bytes."""
    block = tensor[region]
    if block.terms:
        array[region] = block.to_numpy()
    return block.dense_nbytes


def _active_client():
    """The current ``dask.distributed`` Client, or None (also without the extra)."""
    if "distributed" not in sys.modules:  # no Client without it; importing it takes seconds
        return None
    from distributed import default_client  # lazy: optional extra

    try:
        return default_client()
    except ValueError:  # no client was started
        return None


def _write_on_cluster(client, tensor, array, chunk, bar) -> None:
    from distributed import as_completed  # lazy: optional extra

    shared = client.scatter(tensor, broadcast=True)
    futures = client.map(
        _write_region, list(regions(tensor.shape, chunk)), tensor=shared, array=array, pure=False
    )
    for future in as_completed(futures):
        bar.advance(future.result())
