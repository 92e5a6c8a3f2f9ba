"""A tensor as a lazy Dask array or a labelled xarray.DataArray.

The Dask graph has one node holding the tensor (its structure: kilobytes where the
dense array may be terabytes) and a Blockwise layer of one task per chunk that
computes ``J[chunk]``; it runs on any Dask scheduler, a ``distributed`` cluster included.
"""

import itertools
import uuid

import numpy as np

from tensordiff.core import memory
from tensordiff.io.chunks import by_axis, optional_extra

__all__ = ["to_dask", "to_xarray"]


def to_dask(tensor, chunks="auto"):
    """A ``dask.array.Array`` of the tensor's shape and dtype, each chunk computed from the
    structure on demand. ``chunks`` is anything Dask takes ("auto", an int, a tuple, a
    dict by axis), and a dict may also name labels (``{"i": 100}``).

    Raises JacobianTooLarge at once if a chunk is over the memory limit. Computing a
    slice costs the chunks it touches, however many chunks there are.

    >>> import tensordiff as td
    >>> J = td.jacobian(np.tanh)(np.zeros(4))  # δ[i,j] (1 − tanh²(x))[i]
    >>> lazy = J.to_dask(chunks=2)
    >>> lazy.chunks
    ((2, 2), (2, 2))
    >>> lazy[2:, :2].compute()  # a chunk off the diagonal
    array([[0., 0.],
           [0., 0.]])
    """
    dask = optional_extra("dask", "J.to_dask")
    da = optional_extra("dask.array", "J.to_dask")
    dask_chunks = da.core.normalize_chunks(
        by_axis(chunks, tensor.indices), tensor.shape, dtype=tensor.dtype
    )
    memory.check_dense(tuple(max(sizes, default=0) for sizes in dask_chunks), tensor.dtype)
    name = f"tensordiff-{uuid.uuid4().hex}"  # Dask would otherwise hash the tensor for one
    # The structure enters the graph once, as data (not a legacy task): Dask then culls a
    # selection of chunks without listing the keys of every chunk (493,039 of them for
    # the 64 TB J of V = tanh(W x + b), W 20000×20000).
    structure = dask.delayed(tensor, name=f"structure-{name}", traverse=False)
    starts = [tuple(itertools.accumulate(sizes, initial=0)) for sizes in dask_chunks]
    return da.map_blocks(
        _chunk,
        structure,
        starts=starts,
        chunks=dask_chunks,
        dtype=tensor.dtype,
        meta=np.empty((0,) * tensor.ndim, dtype=tensor.dtype),
        name=name,
    )


def _chunk(tensor, starts, block_id=None) -> np.ndarray:
    """The dense chunk ``block_id`` of the grid whose chunks begin at ``starts`` per axis."""
    region = tuple(
        slice(edges[n], edges[n + 1]) for edges, n in zip(starts, block_id, strict=True)
    )
    return tensor[region].to_numpy()


def to_xarray(tensor, chunks=None):
    """An ``xarray.DataArray`` whose dimension names are the tensor's labels: NumPy-backed
    when ``chunks`` is None (the memory limit applies), Dask-backed otherwise."""
    xr = optional_extra("xarray", "J.to_xarray")
    data = tensor.to_numpy() if chunks is None else to_dask(tensor, chunks)
    return xr.DataArray(data, dims=tensor.indices, attrs={"formula": tensor.formula})
