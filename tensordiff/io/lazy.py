"""A tensor as a lazy Dask array or a labelled xarray.DataArray.

The Dask graph has one node holding the tensor (its structure: kilobytes where the
dense array may be terabytes) and one cheap task per chunk that computes ``J[chunk]``;
it runs on any Dask scheduler, a ``distributed`` cluster included.
"""

import uuid

import numpy as np

from tensordiff.core import memory
from tensordiff.io.chunks import BlockSource, by_axis, optional_extra

__all__ = ["to_dask", "to_xarray"]


def to_dask(tensor, chunks="auto"):
    """A ``dask.array.Array`` of the tensor's shape and dtype, each chunk computed from the
    structure on demand. ``chunks`` is anything Dask takes ("auto", an int, a tuple, a
    dict by axis), and a dict may also name labels (``{"i": 100}``).

    Raises JacobianTooLarge at once if a chunk is over the memory limit.
    """
    da = optional_extra("dask.array", "J.to_dask")
    dask_chunks = da.core.normalize_chunks(
        by_axis(chunks, tensor.indices), tensor.shape, dtype=tensor.dtype
    )
    memory.check_dense(tuple(max(sizes, default=0) for sizes in dask_chunks), tensor.dtype)
    return da.from_array(
        BlockSource(tensor),
        chunks=dask_chunks,
        # a name of our own: Dask would otherwise hash the tensor to make one
        name=f"tensordiff-{uuid.uuid4().hex}",
        asarray=False,
        fancy=False,
        lock=False,
        inline_array=False,  # one node holds the tensor; tasks refer to it
        meta=np.empty((0,) * tensor.ndim, dtype=tensor.dtype),
    )


def to_xarray(tensor, chunks=None):
    """An ``xarray.DataArray`` whose dimension names are the tensor's labels: NumPy-backed
    when ``chunks`` is None (the memory limit applies), Dask-backed otherwise."""
    xr = optional_extra("xarray", "J.to_xarray")
    data = tensor.to_numpy() if chunks is None else to_dask(tensor, chunks)
    return xr.DataArray(data, dims=tensor.indices, attrs={"formula": tensor.formula})
