"""NumPy's public callables, each with its place: supported (with a sample call the sweep
checks against JAX or finite differences), refused (the registry's error, with its
reason if deliberate), or not routed to tensordiff at all (NumPy never hands it a traced
value: sizes, dtypes, files, settings).

tests/ops/test_numpy_coverage.py sweeps this table; docs/numpy-coverage.md is written
from it. Regenerate the page after a change:

    PYTHONPATH=$PWD python tests/numpy_surface.py > docs/numpy-coverage.md
"""

import numpy as np

import tensordiff as td
from tensordiff.trace import registry

RNG = np.random.default_rng(12)
X = RNG.uniform(0.1, 0.9, size=(3, 4))  # distinct entries: no ties
PAIR = RNG.uniform(0.1, 0.9, size=(2, 3, 4))  # x[0], x[1]: both arguments of a binary call
SQUARE = RNG.uniform(-1.0, 1.0, size=(3, 3)) + 3.0 * np.eye(3)  # well conditioned
STACK = RNG.uniform(-1.0, 1.0, size=(2, 3, 3)) + 3.0 * np.eye(3)
VECTOR = RNG.uniform(0.1, 0.9, size=(5,))
SORTED = np.sort(VECTOR)
NANS = np.where(RNG.uniform(size=(3, 4)) < 0.3, np.nan, 0.0)  # added: some entries NaN
NONFINITE = np.array([np.inf, -np.inf, np.nan, 0.0])  # added to rows: some entries replaced

NAMESPACES = {"": np, "linalg.": np.linalg, "fft.": np.fft}

# Ufuncs whose sample needs a point in their domain (default: entries in (0.1, 0.9)).
UFUNC_POINTS = {"arccosh": 1.0 + PAIR, "acosh": 1.0 + PAIR}


def sample(build, point, by_differences=False):
    """``build(n)`` gives the call written with module ``n`` (numpy or jax.numpy)."""
    return {"build": build, "point": point, "by_differences": by_differences}


def _writing(write):
    """A sample of a NumPy function that writes into its first argument: ``write(n, y, x)``
    into ``y = sin(x)`` (a traced array), checked by finite differences of the NumPy
    program itself (JAX's arrays are immutable)."""

    def build(n):
        def f(x):
            y = n.sin(x)
            write(n, y, x)
            return y * x

        return f

    return sample(build, X, by_differences=True)


# name -> sample call of a supported function (ufuncs get one made from their arity)
SAMPLES = {
    "multiply.reduce": sample(lambda n: lambda x: n.multiply.reduce(x, axis=1), X),
    "add.at": _writing(lambda n, y, x: n.add.at(y, ([0, 0, 2], [1, 1, 3]), x[1, :3])),
    "subtract.at": _writing(lambda n, y, x: n.subtract.at(y, [1, 1], x[0])),
    "copyto": _writing(lambda n, y, x: n.copyto(y, x**2, where=X > 0.5)),
    "fill_diagonal": _writing(lambda n, y, x: n.fill_diagonal(y, x[2, :2])),
    "put": _writing(lambda n, y, x: n.put(y, [0, 7, 0], x[1, :2])),
    "place": _writing(lambda n, y, x: n.place(y, X > 0.5, x[0])),
    "putmask": _writing(lambda n, y, x: n.putmask(y, X < 0.5, x[::-1])),
    "put_along_axis": _writing(
        lambda n, y, x: n.put_along_axis(y, np.array([[1], [0], [3]]), x[:, :1] ** 3, axis=1)
    ),
    "add.reduce": sample(lambda n: lambda x: n.add.reduce(x, axis=1), X),
    "logaddexp.reduce": sample(lambda n: lambda x: n.logaddexp.reduce(x, axis=0), X),
    "maximum.reduce": sample(lambda n: lambda x: n.maximum.reduce(x, axis=1), X),
    "minimum.reduce": sample(lambda n: lambda x: n.minimum.reduce(x), X),
    "add.accumulate": sample(lambda n: lambda x: n.add.accumulate(x, axis=1), X),
    "multiply.accumulate": sample(lambda n: lambda x: n.multiply.accumulate(x), X),
    "maximum.accumulate": sample(lambda n: lambda x: n.maximum.accumulate(x, axis=1), X),
    "minimum.accumulate": sample(lambda n: lambda x: n.minimum.accumulate(x), X),
    "logaddexp.accumulate": sample(lambda n: lambda x: n.logaddexp.accumulate(x, axis=1), X),
    "bincount": sample(
        lambda n: lambda x: n.bincount(np.array([0, 3, 3, 1, 0, 3]), weights=x.ravel()[:6]),
        X,
        by_differences=True,  # JAX's bincount needs its length= to be traced
    ),
    "i0": sample(lambda n: lambda x: n.i0(6.0 * x - 3.0), X),
    "amax": sample(lambda n: lambda x: n.amax(x, axis=0), X),
    "amin": sample(lambda n: lambda x: n.amin(x, axis=1, keepdims=True), X),
    "max": sample(lambda n: lambda x: n.max(x, axis=0), X),
    "min": sample(lambda n: lambda x: n.min(x), X),
    "append": sample(lambda n: lambda x: n.append(x, x[:1] * 2.0, axis=0), X),
    "argmax": sample(lambda n: lambda x: x * n.argmax(x, axis=0), X),
    "argmin": sample(lambda n: lambda x: x * n.argmin(x), X),
    "argsort": sample(lambda n: lambda x: n.take(x, n.argsort(x.ravel())), X),
    "array_split": sample(lambda n: lambda x: n.array_split(x, 3, axis=1)[1], X),
    "atleast_1d": sample(lambda n: lambda x: n.atleast_1d(x[0, 0]) * 2.0, X),
    "atleast_2d": sample(lambda n: lambda x: n.atleast_2d(x[0]), X),
    "atleast_3d": sample(lambda n: lambda x: n.atleast_3d(x), X),
    "broadcast_to": sample(lambda n: lambda x: n.broadcast_to(x[0], (2, 4)), X),
    "clip": sample(lambda n: lambda x: n.clip(x, 0.3, 0.7), X),
    "column_stack": sample(lambda n: lambda x: n.column_stack([x[0], x[1] * x[2]]), X),
    "concatenate": sample(lambda n: lambda x: n.concatenate([x, x[::-1] ** 2], axis=1), X),
    "cross": sample(lambda n: lambda x: n.cross(x[:, :3], x[::-1, 1:]), X),
    "cumprod": sample(lambda n: lambda x: n.cumprod(x, axis=1), X),
    "cumsum": sample(lambda n: lambda x: n.cumsum(x, axis=0), X),
    "diag": sample(lambda n: lambda x: n.diag(x, 1), X),
    "diagonal": sample(lambda n: lambda x: n.diagonal(x, -1), X),
    "diff": sample(lambda n: lambda x: n.diff(x, n=2, axis=1), X),
    "dot": sample(lambda n: lambda x: n.dot(x, x.T), X),
    "dsplit": sample(lambda n: lambda x: n.dsplit(x.reshape(3, 2, 2), 2)[1], X),
    "dstack": sample(lambda n: lambda x: n.dstack([x, x * x]), X),
    "einsum": sample(lambda n: lambda x: n.einsum("ij,kj->ik", x, x * x), X),
    "expand_dims": sample(lambda n: lambda x: n.expand_dims(x, 1), X),
    "flip": sample(lambda n: lambda x: n.flip(x, 1), X),
    "fliplr": sample(lambda n: lambda x: n.fliplr(x), X),
    "flipud": sample(lambda n: lambda x: n.flipud(x), X),
    "hsplit": sample(lambda n: lambda x: n.hsplit(x, [1])[1], X),
    "hstack": sample(lambda n: lambda x: n.hstack([x, x[:, :1]]), X),
    "inner": sample(lambda n: lambda x: n.inner(x, x[::-1]), X),
    "kron": sample(lambda n: lambda x: n.kron(x[:2, :2], x[1:, 2:]), X),
    "matmul": sample(lambda n: lambda x: n.matmul(x, x.T), X),
    "mean": sample(lambda n: lambda x: n.mean(x, axis=1), X),
    "moveaxis": sample(lambda n: lambda x: n.moveaxis(x.reshape(3, 2, 2), 0, -1), X),
    "ndim": sample(lambda n: lambda x: x * n.ndim(x), X),
    "ones_like": sample(lambda n: lambda x: x + n.ones_like(x), X),
    "outer": sample(lambda n: lambda x: n.outer(x[0], x[1]), X),
    "pad": sample(lambda n: lambda x: n.pad(x, ((1, 0), (0, 2))), X),
    "prod": sample(lambda n: lambda x: n.prod(x, axis=0), X),
    "ravel": sample(lambda n: lambda x: n.ravel(x), X),
    "repeat": sample(lambda n: lambda x: n.repeat(x, 2, axis=1), X),
    "reshape": sample(lambda n: lambda x: n.reshape(x, (2, 6)), X),
    "result_type": sample(lambda n: lambda x: x.astype(n.result_type(x, 1.0)), X),
    "roll": sample(lambda n: lambda x: n.roll(x, 1, axis=1), X),
    "fft.fftshift": sample(lambda n: lambda x: n.fft.fftshift(x) * n.fft.fftshift(x, axes=0), X),
    "fft.ifftshift": sample(lambda n: lambda x: n.fft.ifftshift(x, axes=(1, -1)), X),
    "rollaxis": sample(lambda n: lambda x: n.rollaxis(x.reshape(3, 2, 2), 2), X),
    "rot90": sample(lambda n: lambda x: n.rot90(x), X),
    "shape": sample(lambda n: lambda x: n.reshape(x, n.shape(x)[::-1]), X),
    "size": sample(lambda n: lambda x: x / n.size(x), X),
    "sort": sample(lambda n: lambda x: n.sort(x, axis=0), X),
    "split": sample(lambda n: lambda x: n.split(x, [1, 3], axis=1)[1], X),
    "squeeze": sample(lambda n: lambda x: n.squeeze(x[:, :1]), X),
    "stack": sample(lambda n: lambda x: n.stack([x, x * x], axis=1), X),
    "std": sample(lambda n: lambda x: n.std(x, axis=1), X),
    "sum": sample(lambda n: lambda x: n.sum(x, axis=0), X),
    "swapaxes": sample(lambda n: lambda x: n.swapaxes(x, 0, 1), X),
    "take": sample(lambda n: lambda x: n.take(x, n.array([2, 0, 2]), axis=1), X),
    "take_along_axis": sample(
        lambda n: lambda x: n.take_along_axis(x, n.array([[0, 2], [1, 1], [3, 0]]), axis=1), X
    ),
    "tensordot": sample(lambda n: lambda x: n.tensordot(x, x * x, axes=([0], [0])), X),
    "tile": sample(lambda n: lambda x: n.tile(x, (2, 1)), X),
    "trace": sample(lambda n: lambda x: n.trace(x, 1), X),
    "transpose": sample(lambda n: lambda x: n.transpose(x), X),
    "tril": sample(lambda n: lambda x: n.tril(x, 1), X),
    "triu": sample(lambda n: lambda x: n.triu(x), X),
    "var": sample(lambda n: lambda x: n.var(x, axis=0, ddof=1), X),
    "vsplit": sample(lambda n: lambda x: n.vsplit(x, [2])[0], X),
    "vstack": sample(lambda n: lambda x: n.vstack([x, x[0]]), X),
    "where": sample(lambda n: lambda x: n.where(X > 0.5, x, x * x), X),
    "zeros_like": sample(lambda n: lambda x: x + n.zeros_like(x), X),
    "select": sample(lambda n: lambda x: n.select([X > 0.6, X < 0.3], [x * x, -x], 2.0), X),
    "copy": sample(lambda n: lambda x: n.copy(x) * x, X),
    "real": sample(lambda n: lambda x: n.real(x) * x, X),
    "imag": sample(lambda n: lambda x: n.imag(x) + x, X),
    "sinc": sample(lambda n: lambda x: n.sinc(x - 0.5), X),  # 0 is among the entries
    "nan_to_num": sample(lambda n: lambda x: n.nan_to_num(x + NONFINITE, posinf=5.0), X),
    "full_like": sample(lambda n: lambda x: x * n.full_like(x, 2.0), X),
    "vdot": sample(lambda n: lambda x: n.vdot(x, x[::-1]), X),
    "matvec": sample(lambda n: lambda x: n.matvec(x, x[0] * x[1]), X),
    "vecmat": sample(lambda n: lambda x: n.vecmat(x[:, 0], x * x), X),
    "vecdot": sample(lambda n: lambda x: n.vecdot(x, x[::-1]), X),
    "matrix_transpose": sample(lambda n: lambda x: n.matrix_transpose(x.reshape(3, 2, 2)), X),
    "polyval": sample(lambda n: lambda x: n.polyval(x[0], x[1]), X),
    "convolve": sample(lambda n: lambda x: n.convolve(x[0], x[1, :2] * x[2, :2], "same"), X),
    "correlate": sample(lambda n: lambda x: n.correlate(x[0, :3], x[1] * x[2], "full"), X),
    "cumulative_sum": sample(
        lambda n: lambda x: n.cumulative_sum(x, axis=1, include_initial=True), X
    ),
    "cumulative_prod": sample(lambda n: lambda x: n.cumulative_prod(x[0]), X),
    "ptp": sample(lambda n: lambda x: n.ptp(x, axis=0), X),
    "average": sample(lambda n: lambda x: n.average(x, axis=1, weights=x[0]), X),
    "nansum": sample(lambda n: lambda x: n.nansum(x + NANS, axis=0), X),
    "nanprod": sample(lambda n: lambda x: n.nanprod(x + NANS, axis=1), X),
    "nanmax": sample(lambda n: lambda x: n.nanmax(x + NANS, axis=0), X),
    "nanmin": sample(lambda n: lambda x: n.nanmin(x + NANS), X),
    "nancumsum": sample(lambda n: lambda x: n.nancumsum(x + NANS, axis=1), X),
    "nancumprod": sample(lambda n: lambda x: n.nancumprod(x + NANS, axis=0), X),
    "nanmean": sample(lambda n: lambda x: n.nanmean(x + NANS, axis=1), X),
    "nanvar": sample(lambda n: lambda x: n.nanvar(x + NANS, axis=0), X),
    "nanstd": sample(lambda n: lambda x: n.nanstd(x + NANS), X),
    "median": sample(lambda n: lambda x: n.median(x, axis=1), X),
    "trapezoid": sample(lambda n: lambda x: n.trapezoid(x[1:], x[0], axis=1), X),
    "cov": sample(lambda n: lambda x: n.cov(x), X),
    "corrcoef": sample(lambda n: lambda x: n.corrcoef(x[0], x[1]), X),
    "linspace": sample(lambda n: lambda x: n.linspace(x[0], x[1], 5, axis=1), X),
    "meshgrid": sample(lambda n: lambda x: n.meshgrid(x[0], x[1, :2] * 2.0)[1], X),
    "broadcast_arrays": sample(lambda n: lambda x: n.broadcast_arrays(x, x[0])[1], X),
    "unstack": sample(lambda n: lambda x: n.unstack(x, axis=1)[2], X),
    "block": sample(lambda n: lambda x: n.block([[x, x[:, :1]], [x[:1], x[:1, :1] * 2.0]]), X),
    "diagflat": sample(lambda n: lambda x: n.diagflat(x[:2], 1), X),
    "ediff1d": sample(lambda n: lambda x: n.ediff1d(x, to_begin=x[0, :2]), X),
    "vander": sample(lambda n: lambda x: n.vander(x[0], 3), X),
    "quantile": sample(lambda n: lambda x: n.quantile(x, n.array([0.3, 0.9]), axis=1), X),
    "percentile": sample(lambda n: lambda x: n.percentile(x, 35.0, axis=0, keepdims=True), X),
    "nanquantile": sample(lambda n: lambda x: n.nanquantile(x + NANS, 0.4, axis=1), X),
    "nanpercentile": sample(lambda n: lambda x: n.nanpercentile(x + NANS, 70.0), X),
    "nanmedian": sample(lambda n: lambda x: n.nanmedian(x + NANS, axis=0), X),
    "interp": sample(lambda n: lambda x: n.interp(x[1:], n.cumsum(x[0]), x[0] ** 2), X),
    "gradient": sample(lambda n: lambda x: n.stack(n.gradient(x, 0.5, 2.0)), X),
    "delete": sample(lambda n: lambda x: n.delete(x, n.array([0, 2]), axis=1), X),
    "insert": sample(lambda n: lambda x: n.insert(x, 2, x[:, 0] ** 2, axis=1), X),
    "compress": sample(lambda n: lambda x: n.compress(n.array([True, False, True]), x, 0), X),
    "extract": sample(lambda n: lambda x: n.extract(X > 0.5, x), X, by_differences=True),
    "resize": sample(lambda n: lambda x: n.resize(x, (5, 3)), X),
    "choose": sample(lambda n: lambda x: n.choose(n.array([0, 1, 0, 1]), [x[0], x[1], x[2]]), X),
    "partition": sample(lambda n: lambda x: n.sort(n.partition(x, 1, axis=1)[:, :2], axis=1), X),
    "modf": sample(lambda n: lambda x: n.modf(3.0 * x)[0] * n.modf(3.0 * x)[1], X),
    "divmod": sample(lambda n: lambda x: n.divmod(x, x[::-1] * 0.3)[1], X),
    "ldexp": sample(lambda n: lambda x: n.ldexp(x, n.array([1, -2, 3, 0])), X),
    "astype": sample(lambda n: lambda x: n.astype(x * x, n.float32) * 1.0, X),
    "logspace": sample(lambda n: lambda x: n.logspace(x[0], x[1], 3, base=2.0, axis=1), X),
    "geomspace": sample(lambda n: lambda x: n.geomspace(-x[0], -5.0 * x[1], 3, axis=1), X),
    "unwrap": sample(lambda n: lambda x: n.unwrap(n.cumsum(3.0 * x, axis=1), axis=1), X),
    "polyadd": sample(lambda n: lambda x: n.polyadd(x[0], x[1, :2] ** 2), X),
    "polysub": sample(lambda n: lambda x: n.polysub(x[0, :2], x[1] ** 2), X),
    "polymul": sample(lambda n: lambda x: n.polymul(x[0], x[1, :2] ** 2), X),
    "polyder": sample(lambda n: lambda x: n.polyder(x[0] ** 2, 2), X),
    "polyint": sample(lambda n: lambda x: n.polyint(x[0] ** 2, 2, k=x[1, :2]), X),
    "polydiv": sample(lambda n: lambda x: n.polydiv(x[0], x[1, :2])[0], X),
    "polyfit": sample(lambda n: lambda x: n.polyfit(x[0], x[1:].T ** 2, 2, w=x[2]), X),
    "poly": sample(lambda n: lambda x: n.poly(x[0]), X),
    # ---- piecewise constants: zero derivative ------------------------------------------
    "all": sample(lambda n: lambda x: x * n.all(x > 0.3, axis=0), X),
    "any": sample(lambda n: lambda x: x * n.any(x > 0.8, axis=1, keepdims=True), X),
    "round": sample(lambda n: lambda x: x * n.round(3.0 * x, 1), X),
    "around": sample(lambda n: lambda x: x * n.around(3.0 * x), X),
    "fix": sample(lambda n: lambda x: x * n.fix(3.0 * x - 1.0), X, by_differences=True),
    "isclose": sample(lambda n: lambda x: x * n.isclose(x, 0.5, atol=0.1), X),
    "allclose": sample(lambda n: lambda x: x * n.allclose(x, x + 1e-12), X),
    "array_equal": sample(lambda n: lambda x: x * n.array_equal(x, x), X),
    "array_equiv": sample(lambda n: lambda x: x * n.array_equiv(x, x[0]), X),
    "isposinf": sample(lambda n: lambda x: x * n.isposinf(1.0 / (x - X[0, 0])), X),
    "isneginf": sample(lambda n: lambda x: x * n.isneginf(-1.0 / (x - X[0, 0])), X),
    "iscomplex": sample(lambda n: lambda x: x + n.iscomplex(x), X),
    "isreal": sample(lambda n: lambda x: x * n.isreal(x), X),
    "iscomplexobj": sample(lambda n: lambda x: x * n.iscomplexobj(x), X),
    "isrealobj": sample(lambda n: lambda x: x * n.isrealobj(x), X),
    "nonzero": sample(lambda n: lambda x: x[n.nonzero(X > 0.5)], X, by_differences=True),
    "argwhere": sample(lambda n: lambda x: x * len(n.argwhere(X > 0.5)), X),
    "flatnonzero": sample(lambda n: lambda x: x.ravel()[n.flatnonzero(X > 0.5)], X, True),
    "count_nonzero": sample(lambda n: lambda x: x * n.count_nonzero(x > 0.5), X),
    "searchsorted": sample(lambda n: lambda x: x * n.searchsorted(x, 0.42), SORTED),
    "argpartition": sample(lambda n: lambda x: x[n.argpartition(x, 2)[:2]], VECTOR),
    "digitize": sample(lambda n: lambda x: x * n.digitize(x, n.array([0.3, 0.6])), X),
    "nanargmax": sample(lambda n: lambda x: x * n.nanargmax(x + NANS, axis=0), X),
    "nanargmin": sample(lambda n: lambda x: x * n.nanargmin(x + NANS), X),
    "lexsort": sample(lambda n: lambda x: x[:, n.lexsort((x[0], x[1]))], X),
    "isin": sample(lambda n: lambda x: x * n.isin(x, x[0]), X),
    "diag_indices_from": sample(lambda n: lambda x: x[:, :3][n.diag_indices_from(x[:, :3])], X),
    "tril_indices_from": sample(lambda n: lambda x: x[n.tril_indices_from(x, 1)], X),
    "triu_indices_from": sample(lambda n: lambda x: x[n.triu_indices_from(x)], X),
    "einsum_path": sample(
        lambda n: lambda x: x * len(n.einsum_path("ij,jk", x, x.T)[0]), X, by_differences=True
    ),  # JAX's path is written differently
    "empty_like": sample(lambda n: lambda x: x + 0.0 * n.empty_like(x).shape[0], X),
    # ---- linear algebra ----------------------------------------------------------------
    "linalg.cholesky": sample(lambda n: lambda a: n.linalg.cholesky(a @ a.T), SQUARE),
    "linalg.det": sample(lambda n: lambda a: n.linalg.det(a), STACK),
    "linalg.eigh": sample(lambda n: lambda a: n.linalg.eigh(a + a.T)[1], SQUARE),
    "linalg.eigvalsh": sample(lambda n: lambda a: n.linalg.eigvalsh(a + a.T), SQUARE),
    # (JAX's eig is complex: checked by differences of NumPy's, on a real spectrum)
    "linalg.eig": sample(lambda n: lambda a: n.linalg.eig(a @ a.T)[0], SQUARE, True),
    "linalg.eigvals": sample(lambda n: lambda a: n.linalg.eigvals(a + a.T), SQUARE, True),
    "linalg.inv": sample(lambda n: lambda a: n.linalg.inv(a), STACK),
    "linalg.matrix_power": sample(lambda n: lambda a: n.linalg.matrix_power(a, 3), SQUARE),
    "linalg.norm": sample(lambda n: lambda a: n.linalg.norm(a, "nuc"), SQUARE),
    "linalg.pinv": sample(lambda n: lambda x: n.linalg.pinv(x), X),
    "linalg.slogdet": sample(lambda n: lambda a: n.linalg.slogdet(a)[1], SQUARE),
    "linalg.solve": sample(lambda n: lambda a: n.linalg.solve(a, a[..., :2] * a[0, 0, 0]), STACK),
    "linalg.svd": sample(
        lambda n: lambda x: n.concatenate([n.ravel(m) for m in n.linalg.svd(x, False)]), X
    ),
    "linalg.svdvals": sample(lambda n: lambda x: n.linalg.svdvals(x), X),
    "linalg.qr": sample(lambda n: lambda a: n.concatenate(n.linalg.qr(a[:, :3])), X.T),
    "linalg.lstsq": sample(lambda n: lambda a: n.linalg.lstsq(a, a[:, 0] ** 2, rcond=None)[0], X.T),
    "linalg.cond": sample(lambda n: lambda a: n.linalg.cond(a, "fro") + n.linalg.cond(a), SQUARE),
    "linalg.tensorinv": sample(
        lambda n: lambda a: n.linalg.tensorinv(n.kron(a, a).reshape(9, 3, 3), ind=1), SQUARE
    ),
    "linalg.tensorsolve": sample(
        lambda n: lambda a: n.linalg.tensorsolve(n.kron(a, a).reshape(3, 3, 3, 3), a), SQUARE
    ),
    "linalg.matmul": sample(lambda n: lambda x: n.linalg.matmul(x, x.T), X),
    "linalg.outer": sample(lambda n: lambda x: n.linalg.outer(x[0], x[1]), X),
    "linalg.tensordot": sample(lambda n: lambda x: n.linalg.tensordot(x, x, axes=1 + 1), X),
    "linalg.vecdot": sample(lambda n: lambda x: n.linalg.vecdot(x, x[::-1], axis=0), X),
    "linalg.cross": sample(lambda n: lambda x: n.linalg.cross(x[:, :3], x[:, 1:]), X),
    "linalg.trace": sample(lambda n: lambda x: n.linalg.trace(x, offset=1), X),
    "linalg.diagonal": sample(lambda n: lambda x: n.linalg.diagonal(x), X),
    "linalg.matrix_transpose": sample(lambda n: lambda x: n.linalg.matrix_transpose(x), X),
    "linalg.matrix_norm": sample(lambda n: lambda x: n.linalg.matrix_norm(x, ord=1), X),
    "linalg.vector_norm": sample(
        lambda n: lambda x: n.linalg.vector_norm(x.reshape(3, 2, 2), axis=(0, 2), ord=3), X
    ),
    "linalg.multi_dot": sample(lambda n: lambda x: n.linalg.multi_dot([x[0], x.T, x]), X),
}

# name -> why NumPy never hands a traced value to tensordiff, and, for the functions that
# take an array, the error a traced value meets (None: they take no array at all)
_CONVERTS = "converts its argument to a plain ndarray, which would drop the derivative"
_BUILDS = (
    "converts without asking tensordiff, which replaces it at the first trace: a traced"
    " value, or a list holding traced values, becomes a traced array (a np.stack of the entries)"
)
_SIZES = "builds a constant from sizes and numbers; nothing to differentiate"
_FILES = "reads files or buffers; nothing to differentiate"
_SETTINGS = "settings, dtypes and information about NumPy; nothing to differentiate"
NOT_ROUTED = {
    "array": _BUILDS,
    "asarray": _BUILDS,
    "asanyarray": _BUILDS,
    "ascontiguousarray": _BUILDS,
    "asfortranarray": _BUILDS,
    "asarray_chkfinite": _CONVERTS,
    "asmatrix": _CONVERTS,
    "bmat": _CONVERTS,
    "require": _CONVERTS,
    "from_dlpack": _CONVERTS,
    "frombuffer": _CONVERTS,
    "fromstring": _CONVERTS,
    "arange": _SIZES,
    "empty": _SIZES,
    "zeros": _SIZES,
    "ones": _SIZES,
    "full": _SIZES,
    "eye": _SIZES,
    "identity": _SIZES,
    "tri": _SIZES,
    "tril_indices": _SIZES,
    "triu_indices": _SIZES,
    "indices": _SIZES,
    "diag_indices": _SIZES,
    "mask_indices": _SIZES,
    "fromfunction": _SIZES,
    "fromiter": _SIZES,
    "bartlett": _SIZES,
    "blackman": _SIZES,
    "hamming": _SIZES,
    "hanning": _SIZES,
    "kaiser": _SIZES,
    "fromfile": _FILES,
    "fromregex": _FILES,
    "genfromtxt": _FILES,
    "load": _FILES,
    "loadtxt": _FILES,
    "get_include": _SETTINGS,
    "get_printoptions": _SETTINGS,
    "set_printoptions": _SETTINGS,
    "printoptions": _SETTINGS,
    "getbufsize": _SETTINGS,
    "setbufsize": _SETTINGS,
    "geterr": _SETTINGS,
    "seterr": _SETTINGS,
    "geterrcall": _SETTINGS,
    "seterrcall": _SETTINGS,
    "show_config": _SETTINGS,
    "show_runtime": _SETTINGS,
    "info": _SETTINGS,
    "test": _SETTINGS,
    "linalg.test": _SETTINGS,
    "fft.test": _SETTINGS,
    "fft.fftfreq": _SIZES,
    "fft.rfftfreq": _SIZES,
    "datetime_data": _SETTINGS,
    "promote_types": _SETTINGS,
    "isdtype": _SETTINGS,
    "issubdtype": _SETTINGS,
    "mintypecode": _SETTINGS,
    "typename": _SETTINGS,
    "base_repr": _SETTINGS,
    "binary_repr": _SETTINGS,
    "format_float_positional": _SETTINGS,
    "format_float_scientific": _SETTINGS,
    "broadcast_shapes": _SETTINGS,
    "frompyfunc": _SETTINGS,
    "nested_iters": _SETTINGS,
    "isfortran": "asks about memory layout, which a traced value does not have",
    "isscalar": "answers about the Python object: False for a traced array, as for an ndarray",
    "iterable": "answers about the Python object: True for a traced array, as for an ndarray",
    "row_stack": "a deprecated alias that calls numpy.vstack, which is supported",
}
CONVERTING = sorted(name for name, reason in NOT_ROUTED.items() if reason == _CONVERTS)
BUILDING = sorted(name for name, reason in NOT_ROUTED.items() if reason == _BUILDS)


def public_callables() -> dict[str, object]:
    """Every public callable of ``numpy``, ``numpy.linalg`` and ``numpy.fft`` (not classes),
    by name."""
    found = {}
    for prefix, module in NAMESPACES.items():
        for name in dir(module):
            value = getattr(module, name)
            if not name.startswith("_") and callable(value) and not isinstance(value, type):
                found[prefix + name] = value
    return found


def routed(function) -> bool:
    """Whether NumPy hands a call of ``function`` with a traced argument to tensordiff."""
    return isinstance(function, np.ufunc) or hasattr(function, "_implementation")


def binary_ufuncs() -> dict[str, np.ufunc]:
    """The two-argument scalar ufuncs, whose methods (reduce, accumulate, ...) are routed
    too (NumPy has no methods for the generalized ones such as matmul)."""
    return {
        name: f
        for name, f in public_callables().items()
        if isinstance(f, np.ufunc) and f.nin == 2 and f.nout == 1 and f.signature is None
    }


UFUNC_METHODS = ("reduce", "accumulate", "reduceat", "outer", "at")


def sample_for(name: str, function):
    """The sample call of a supported function: from SAMPLES (an alias such as
    ``concat`` shares the sample of ``concatenate``), or made for a ufunc."""
    prefix = name[: name.rfind(".") + 1]
    for known in (name, prefix + function.__name__, function.__name__):
        if known in SAMPLES and _function(known) == function:
            return SAMPLES[known]
    if not isinstance(function, np.ufunc):
        raise KeyError(f"numpy.{name} has a rule but no sample in SAMPLES")
    ufunc_name = function.__name__
    point = UFUNC_POINTS.get(name, PAIR)
    constant = function in _constant_ufuncs()

    def build(n):
        f = getattr(n, ufunc_name)
        if function.nin == 1:
            return (lambda x: x[0] * f(x[0])) if constant else (lambda x: f(x[0]))
        return (lambda x: x[0] * f(x[0], x[1])) if constant else (lambda x: f(x[0], x[1]))

    return sample(build, point)


def _function(name: str):
    """The callable ``numpy.<name>`` (``linalg.det``, ``add.reduce``)."""
    owner = np
    for part in name.split("."):
        owner = getattr(owner, part)
    return owner


def _constant_ufuncs():
    from tensordiff.ops import ufuncs  # the table of zero-derivative ufuncs

    return ufuncs.CONSTANT


def status(name: str, function) -> tuple[str, str]:
    """(status, detail) of one callable, as the coverage page shows it."""
    if name in NOT_ROUTED:
        return "not routed", NOT_ROUTED[name]
    if registry.is_registered(function):
        checked = sample_for(name, function)
        how = "finite differences" if checked["by_differences"] else "JAX"
        return "supported", f"checked against {how}"
    reason = registry.refusal_reason(function)
    return ("refused", reason) if reason else ("no rule yet", "")


def coverage_markdown() -> str:
    """docs/numpy-coverage.md: every public callable and ufunc method with its status."""
    rows = {name: status(name, f) for name, f in public_callables().items()}
    methods = {
        f"{name}.{method}": getattr(f, method)
        for name, f in binary_ufuncs().items()
        for method in UFUNC_METHODS
    }
    supported_methods = sorted(m for m, f in methods.items() if registry.is_registered(f))
    counts = {key: sum(1 for s, _ in rows.values() if s == key) for key in _ORDER}
    lines = [
        "# NumPy coverage",
        "",
        "Every public callable of `numpy`, `numpy.linalg` and `numpy.fft` (NumPy "
        f"{np.__version__}), and what tensordiff does when a traced value reaches it.",
        "Generated by `tests/numpy_surface.py` from the table that",
        "`tests/ops/test_numpy_coverage.py` sweeps: a *supported* function is",
        "differentiated on a sample call and checked against JAX (or finite differences);",
        "a *refused* one raises `td.UnsupportedOperationError` naming it and giving the",
        "reason; *no rule yet* ones raise the same error without a reason (a gap, not a",
        "choice); *not routed* ones are never handed a traced value by NumPy.",
        "",
        "Regenerate: `PYTHONPATH=$PWD python tests/numpy_surface.py > docs/numpy-coverage.md`",
        "",
        "| status | count |",
        "|---|---|",
        *(f"| {key} | {counts[key]} |" for key in _ORDER),
        "",
        "Ufunc methods (`reduce`, `accumulate`, `reduceat`, `outer`, `at`) of the binary",
        "ufuncs are refused naming `numpy.<ufunc>.<method>`, except these, which are",
        "supported: " + ", ".join(f"`{m}`" for m in supported_methods) + ".",
        "",
    ]
    for key in _ORDER:
        names = sorted(name for name, (s, _) in rows.items() if s == key)
        lines += [f"## {key.capitalize()} ({len(names)})", ""]
        if key == "no rule yet":
            lines += [", ".join(f"`{name}`" for name in names), ""]
            continue
        lines += ["| function | detail |", "|---|---|"]
        lines += [f"| `numpy.{name}` | {rows[name][1]} |" for name in names]
        lines.append("")
    return "\n".join(lines)


_ORDER = ("supported", "refused", "no rule yet", "not routed")

if __name__ == "__main__":
    assert td.supported_operations()  # every rule registered
    print(coverage_markdown(), end="")
