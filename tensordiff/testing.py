"""Check derivatives against central finite differences (shipped so users can test too)."""

from collections.abc import Callable, Sequence

import numpy as np

from tensordiff.core.dtypes import as_real_array
from tensordiff.core.options import integer
from tensordiff.derivatives import jacobian
from tensordiff.tensor import Tensor, contract

__all__ = ["numerical_jacobian", "check_grads"]

# Above this many input elements, check_grads compares random directional
# derivatives instead of every column of the Jacobian.
FULL_CHECK_LIMIT = 400


def _call(f: Callable, args: list, argnum: int, value: np.ndarray) -> np.ndarray:
    trial = list(args)
    trial[argnum] = value
    return np.asarray(f(*trial), dtype=np.float64)


def numerical_jacobian(
    f: Callable, args: Sequence, argnum: int = 0, eps: float = 1e-6
) -> np.ndarray:
    """The Jacobian of ``f`` w.r.t. ``args[argnum]`` by central differences, in float64.

    Shape ``f(*args).shape + args[argnum].shape``, as ``td.jacobian``.

    >>> numerical_jacobian(lambda x: x ** 2, (np.array([1.0, 3.0]),)).round(6)
    array([[2., 0.],
           [0., 6.]])
    """
    args = list(args)
    x = as_real_array(args[argnum], f"argument {argnum}").astype(np.float64)
    out_shape = np.shape(_call(f, args, argnum, x))
    columns = np.empty((x.size, *out_shape))
    for n in range(x.size):
        step = np.zeros(x.size)
        step[n] = eps
        step = step.reshape(x.shape)
        columns[n] = (_call(f, args, argnum, x + step) - _call(f, args, argnum, x - step)) / (
            2 * eps
        )
    return np.moveaxis(columns.reshape(x.shape + out_shape), range(x.ndim), range(-x.ndim, 0))


def check_grads(
    f: Callable,
    args: Sequence,
    argnums: int | Sequence[int] = 0,
    *,
    rtol: float = 1e-5,
    atol: float = 1e-6,
    eps: float = 1e-6,
    seed: int = 0,
) -> None:
    """Raise AssertionError unless ``td.jacobian(f)`` matches central differences.

    Small inputs are checked column by column; inputs with more than
    ``FULL_CHECK_LIMIT`` elements along three random directions, so that
    the Jacobian is never made dense.

    >>> check_grads(np.sin, (np.array([0.5, 1.0]),))
    """
    if not isinstance(args, (tuple, list)):
        args = (args,)
    args = [as_real_array(a, f"argument {n}") for n, a in enumerate(args)]
    positions = (argnums,) if not isinstance(argnums, (Sequence, np.ndarray)) else tuple(argnums)
    for position in positions:
        exact = jacobian(f, argnums=integer(position, "argnums"))(*args)
        x = args[position]
        if x.size <= FULL_CHECK_LIMIT:
            approx = numerical_jacobian(f, args, int(position), eps)
            _assert_close(np.asarray(exact, dtype=np.float64), approx, rtol, atol, position)
            continue
        rng = np.random.default_rng(seed)
        for _ in range(3):
            direction = rng.standard_normal(x.shape)
            along = contract(exact, Tensor(direction, exact.in_indices), out=exact.out_indices)
            forward = _call(f, args, position, x + eps * direction)
            backward = _call(f, args, position, x - eps * direction)
            _assert_close(
                np.asarray(along, dtype=np.float64),
                (forward - backward) / (2 * eps),
                rtol,
                atol,
                position,
            )


def _assert_close(exact: np.ndarray, approx: np.ndarray, rtol, atol, position) -> None:
    if exact.shape != approx.shape:
        raise AssertionError(
            f"Jacobian w.r.t. argument {position} has shape {exact.shape}, finite differences"
            f" give {approx.shape}"
        )
    error = np.abs(exact - approx)
    bound = atol + rtol * np.abs(approx)
    if not np.all(error <= bound):
        worst = np.unravel_index(np.argmax(error - bound), error.shape)
        raise AssertionError(
            f"Jacobian w.r.t. argument {position} differs from central finite differences:"
            f" at index {tuple(int(i) for i in worst)} tensordiff gives {exact[worst]!r},"
            f" finite differences {approx[worst]!r} (max abs error {error.max():.3g})"
        )
