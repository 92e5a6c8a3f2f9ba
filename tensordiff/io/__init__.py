"""Jacobians beyond memory: blocks as lazy Dask arrays, labelled xarray, Zarr and .npy.

Every chunk is computed on its own from the structure (``J[chunk]``, see
:mod:`tensordiff.core.blocks`), so a chunk costs the chunk and a chunk in which
every term vanishes (most chunks of a δ-structured Jacobian) costs nothing.
Dask, distributed, Zarr and xarray are the optional extra ``tensordiff[dask]``,
imported only when one of these functions runs.
"""
