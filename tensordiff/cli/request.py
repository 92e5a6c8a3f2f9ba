"""An explanation asked for in the expression language: what ``tensordiff explain`` and
the page both take (an expression, the variable to differentiate by, shapes), turned
into an :class:`~tensordiff.explain.Explanation`, and any failure said in one line.
"""

import re
from collections.abc import Sequence

import numpy as np

from tensordiff.cli.expression import ExpressionError, parse_expression
from tensordiff.core import memory
from tensordiff.errors import TensorDiffError
from tensordiff.explain import Explanation, explain

__all__ = ["explain_expression", "one_line"]


def explain_expression(
    expression: str,
    wrt: str | None = None,
    shapes: Sequence[str] = (),
    values: Sequence[str] = (),
    seed: int = 0,
) -> Explanation:
    """The explanation of ``∂expression/∂wrt`` at random values of the shapes given
    (``"W=3,4"``) or values read from .npy files (``"W=w.npy"``).

    An :class:`ExpressionError` (with the column it is about) for input that does not
    parse or names no variable it can use; the library's own errors otherwise.

    >>> print(explain_expression("W @ x", "W", ["W=3,4", "x=4"]).formula)
    ∂f[i]/∂W[j,k] = δ[i,j] x[k]
    """
    f, variables = parse_expression(expression)
    arguments = _values(expression, variables, shapes, values, seed)
    if not variables:
        raise ExpressionError("the expression has no variable to differentiate by")
    wrt = wrt or variables[0]
    if wrt not in variables:
        raise ExpressionError(
            f"--wrt {wrt!r} is not a variable of the expression (it has {variables})"
        )
    return explain(f, argnums=variables.index(wrt))(*arguments)


def one_line(error: BaseException) -> str:
    """What went wrong, in one line: the library's own message, or the kind of failure."""
    lines = str(error).strip().splitlines()
    message = lines[0] if lines else ""
    if isinstance(error, TensorDiffError):  # (JacobianTooLarge is also a MemoryError)
        return message
    if isinstance(error, RecursionError):
        return "the expression is too deeply nested to evaluate (Python's recursion limit)"
    if isinstance(error, MemoryError):
        return "out of memory: an array the expression needs does not fit"
    return f"{type(error).__name__}: {message}" if message else type(error).__name__


def _values(expression, variables: list[str], shapes, values, seed: int) -> list:
    sizes, files = {}, {}
    for spec in shapes:
        name, _, dims = spec.partition("=")
        try:
            shape = tuple(int(d) for d in dims.split(",") if d.strip())
        except ValueError:
            shape = (-1,)
        if any(size < 0 for size in shape):
            raise ExpressionError(f"--shape {spec!r}: write NAME=D1,D2 with sizes ≥ 0")
        memory.check_dense(shape, np.dtype(np.float64))  # before allocating anything
        sizes[name.strip()] = shape
    for spec in values:
        name, _, path = spec.partition("=")
        files[name.strip()] = path
    rng = np.random.default_rng(seed)
    arguments = []
    for name in variables:
        if name in files:
            arguments.append(_load(name, files[name]))
        elif name in sizes:
            arguments.append(rng.normal(size=sizes[name]).round(2))
        else:
            raise ExpressionError(
                f"no shape for {name!r}: add --shape {name}=D1,D2 (or --value {name}=FILE.npy)",
                _column_of(expression, name),
                len(name),
            )
    return arguments


def _load(name: str, path: str) -> np.ndarray:
    """The array in a .npy file, its size checked against the memory limit from the
    header before the data is read (never unpickled)."""
    try:
        with open(path, "rb") as file:
            version = np.lib.format.read_magic(file)
            if version == (1, 0):
                shape, _, dtype = np.lib.format.read_array_header_1_0(file)
            else:
                shape, _, dtype = np.lib.format.read_array_header_2_0(file)
            memory.check_dense(shape, dtype)
            return np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError) as error:
        reason = getattr(error, "strerror", None) or str(error).splitlines()[0]
        message = f"--value {name}={path}: cannot read a .npy array ({reason})"
        raise ExpressionError(message) from None


def _column_of(expression: str, name: str) -> int:
    match = re.search(rf"\b{re.escape(name)}\b", expression)
    return match.start() if match else 0
