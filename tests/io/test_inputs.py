"""Arrays that live elsewhere (Dask, xarray, Zarr) are refused as inputs, never loaded."""

import subprocess
import sys

import numpy as np
import pytest

import tensordiff as td

da = pytest.importorskip("dask.array")
xr = pytest.importorskip("xarray")
zarr = pytest.importorskip("zarr")


class Loaded(Exception):
    """Raised by a chunk function: the Dask array was computed."""


def untouchable(n=10):
    """A Dask array that raises if anything computes it."""

    def refuse(block_info=None):
        raise Loaded

    return da.map_blocks(refuse, chunks=((n,),), dtype=float)


@pytest.mark.parametrize(
    "call",
    [
        lambda x: td.jacobian(np.tanh)(x),
        lambda x: td.grad(lambda v: np.sum(v**2))(x),
        lambda x: td.hessian(lambda v: np.sum(v**3))(x),
        lambda x: td.jacobian(lambda w: w * x)(np.ones(10)),
        lambda x: td.jacobian(lambda w: np.ones((3, 10)) @ w + x)(np.ones(10)),
        lambda x: td.jacobian(lambda w: np.dot(w, x))(np.ones(10)),
        lambda x: td.Tensor(x, "i"),
    ],
    ids=[
        "jacobian",
        "grad",
        "hessian",
        "constant-multiply",
        "constant-add",
        "constant-dot",
        "Tensor",
    ],
)
def test_a_dask_array_is_refused_and_not_computed(call):
    with pytest.raises(td.UnsupportedOperationError, match="dask Array") as caught:
        call(untouchable())
    assert "np.asarray(x)" in str(caught.value) and "J.to_dask()" in str(caught.value)


def test_an_xarray_or_zarr_input_is_refused(tmp_path):
    labelled = xr.DataArray(np.ones(3), dims="i")
    with pytest.raises(td.UnsupportedOperationError, match="xarray DataArray"):
        td.jacobian(np.tanh)(labelled)
    stored = zarr.create_array(tmp_path / "x.zarr", shape=(3,), dtype=float)
    with pytest.raises(td.UnsupportedOperationError, match="zarr Array"):
        td.jacobian(np.tanh)(stored)
    # the way the message proposes works
    J = td.jacobian(np.tanh)(np.asarray(labelled))
    np.testing.assert_allclose(np.asarray(J), np.eye(3) * (1 - np.tanh(1.0) ** 2))


def test_import_tensordiff_imports_no_optional_extra():
    extras = ["dask", "distributed", "zarr", "xarray", "matplotlib", "scipy", "starlette"]
    code = f"import sys, tensordiff; print([m for m in {extras!r} if m in sys.modules])"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_a_missing_extra_names_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "dask.array", None)  # import dask.array now fails
    monkeypatch.setitem(sys.modules, "zarr", None)
    monkeypatch.setitem(sys.modules, "xarray", None)
    J = td.jacobian(np.tanh)(np.ones(3))
    for call in (J.to_dask, J.to_xarray, lambda: J.to_zarr("unused.zarr")):
        with pytest.raises(ImportError, match=r"pip install 'tensordiff\[dask\]'"):
            call()
