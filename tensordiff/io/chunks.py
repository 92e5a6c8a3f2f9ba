"""Chunk grids over a tensor's shape, and the optional extra's imports.

>>> regular_chunks((1000, 1000, 1000), ("i", "j", "k"), np.dtype(float), None)
(125, 125, 125)
>>> regular_chunks((10, 20), ("i", "j"), np.dtype(float), {"j": 5})
(10, 5)
>>> [region for region in regions((3, 4), (2, 4))]
[(slice(0, 2, None), slice(0, 4, None)), (slice(2, 3, None), slice(0, 4, None))]
"""

import importlib
import itertools
import math
import numbers
from collections.abc import Iterator, Mapping, Sequence

import numpy as np

from tensordiff.errors import OptionError

__all__ = ["optional_extra", "regular_chunks", "by_axis", "regions"]

# Automatic chunks hold about this much: large enough that the per-chunk work (slicing
# the structure, one write) is small beside the chunk's bytes, small enough that a few
# chunks in flight stay far below memory.
AUTO_CHUNK_BYTES = 16 * 2**20


def optional_extra(module: str, call: str):
    """``module``, imported now; an ImportError naming the extra if it is not installed."""
    try:
        return importlib.import_module(module)  # lazy: optional extra
    except ImportError as error:
        raise ImportError(
            f"{call} needs the 'dask' extra: pip install 'tensordiff[dask]' ({error})"
        ) from error


def by_axis(chunks, labels: Sequence[str]):
    """``chunks`` with a dict keyed by labels turned into one keyed by axis numbers (the
    form Dask takes); anything else unchanged."""
    if not isinstance(chunks, Mapping):
        return chunks
    unknown = [key for key in chunks if key not in labels and not isinstance(key, int)]
    if unknown:
        raise OptionError(f"chunks names labels {unknown} that the tensor {labels} does not have")
    return {labels.index(key) if key in labels else key: size for key, size in chunks.items()}


def regular_chunks(shape: Sequence[int], labels: Sequence[str], dtype: np.dtype, chunks):
    """One chunk shape for every chunk (what Zarr stores): None for about
    :data:`AUTO_CHUNK_BYTES` in a chunk as near a cube as the shape allows; an int for
    every axis; a tuple or a dict (by label or axis number) per axis, where None or -1
    (and an axis a dict leaves out) means the whole axis."""
    if chunks is None:
        chunk = [max(size, 1) for size in shape]
        while math.prod(chunk) * dtype.itemsize > AUTO_CHUNK_BYTES:
            largest = chunk.index(max(chunk))
            chunk[largest] = -(-chunk[largest] // 2)
        return tuple(chunk)
    if isinstance(chunks, numbers.Integral):
        chunks = (chunks,) * len(shape)
    if isinstance(chunks, Mapping):
        chunks = by_axis(chunks, labels)
        chunks = tuple(chunks.get(axis) for axis in range(len(shape)))
    if not isinstance(chunks, Sequence) or len(chunks) != len(shape):
        raise OptionError(
            f"chunks must be None, an int, a dict or a tuple of {len(shape)} sizes, got {chunks!r}"
        )
    chunk = []
    for size, wanted in zip(shape, chunks, strict=True):
        if wanted is None or wanted == -1:
            chunk.append(max(size, 1))
        elif isinstance(wanted, numbers.Integral) and wanted > 0:
            chunk.append(min(int(wanted), max(size, 1)))
        else:
            raise OptionError(f"a chunk size must be a positive int, -1 or None, got {wanted!r}")
    return tuple(chunk)


def regions(shape: Sequence[int], chunk: Sequence[int]) -> Iterator[tuple[slice, ...]]:
    """The chunks of a regular grid over ``shape``, in C order, as tuples of slices."""
    starts = [range(0, size, step) for size, step in zip(shape, chunk, strict=True)]
    for corner in itertools.product(*starts):
        yield tuple(
            slice(start, min(start + step, size))
            for start, step, size in zip(corner, chunk, shape, strict=True)
        )

