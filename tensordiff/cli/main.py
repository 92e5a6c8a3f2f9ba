"""The ``tensordiff`` command line: argument parsing and the ``demo`` and ``explain`` commands."""

import argparse
import json
import os
import re
import sys
import warnings

import numpy as np

from tensordiff.cli.demo import demo_text
from tensordiff.cli.expression import ExpressionError, parse_expression
from tensordiff.core import memory
from tensordiff.errors import TensorDiffError
from tensordiff.explain import explain

__all__ = ["main"]

EXPLAIN_EXAMPLES = """examples:
  tensordiff explain "W @ x" --wrt W --shape W=3,4 --shape x=4
  tensordiff explain "sum((W @ x - y)**2)" --wrt W --shape W=3,4 --shape x=4 --shape y=3
  tensordiff explain "tanh(W @ x + b)" --wrt W --shape W=2,3 --shape x=3 --shape b=2 --format latex
  tensordiff explain "einsum('ij,j->i', W, x)" --wrt x --shape W=3,4 --shape x=4

Expressions are NumPy syntax (np. is optional): + - * / ** @, .T, indexing,
functions such as tanh, exp, log, sum(X, axis=0), einsum, linalg.inv. They are
parsed with Python's ast against a whitelist, never eval'd; at most 2000
characters and 100 levels of nesting. Every array the command makes (--shape,
--value, ones, zeros, eye) is checked against the memory limit first.
"""


def main(argv: list[str] | None = None) -> int:
    """Run a command; 0 on success, 2 with a one-line message on stderr for any failure."""
    parser = _parser()
    args = parser.parse_args(argv)
    # NumPy's warnings (overflow, division by zero, invalid value) become one line each
    # after the output instead of raw warnings with a source line.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        code = _run(parser, args)
    for message in dict.fromkeys(f"{w.category.__name__}: {w.message}" for w in caught):
        print(
            f"tensordiff {args.command}: note: NumPy warned {message}; the inf and nan"
            " values it made are shown as they are",
            file=sys.stderr,
        )
    return code


def _run(parser: argparse.ArgumentParser, args) -> int:
    try:
        if args.command == "demo":
            if min(args.m, args.n) < 1 or max(args.m, args.n) > 12:
                parser.error("--m and --n must be between 1 and 12 for a readable demo")
            print(demo_text(args.m, args.n, args.seed))
            return 0
        return _explain(args)
    except BrokenPipeError:  # `tensordiff demo | head`: stop quietly, as cat would
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except Exception as error:  # noqa: BLE001  (a command line never shows a traceback)
        print(f"tensordiff {args.command}: {_one_line(error)}", file=sys.stderr)
        return 2


def _one_line(error: BaseException) -> str:
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


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tensordiff",
        description="Derivatives of NumPy functions as explicit, labelled tensors.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    demo = commands.add_parser(
        "demo",
        help="what ∂V/∂W and ∂E/∂W are, for V = W x and E = ‖W x − y‖²",
        description="Answer the motivating question on a small random example:"
        " what each derivative is (order, shape, labels), its entries in index"
        " notation, its values, and the chain rule as a contraction.",
    )
    demo.add_argument("--seed", type=int, default=0, help="random seed for W, x, y (default 0)")
    demo.add_argument("--m", type=int, default=3, help="rows of W (default 3)")
    demo.add_argument("--n", type=int, default=4, help="columns of W (default 4)")
    explain = commands.add_parser(
        "explain",
        help="explain the derivative of a NumPy expression",
        description="Explain ∂EXPR/∂WRT: what it is (order, shape, labels), each"
        " intermediate with its local Jacobian, the chain rule as performed, the"
        " result in index and matrix notation, and its cost.",
        epilog=EXPLAIN_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    explain.add_argument("expression", help='a NumPy expression, e.g. "sum((W @ x - y)**2)"')
    explain.add_argument("--wrt", help="the variable to differentiate by (default: the first)")
    explain.add_argument(
        "--shape",
        action="append",
        default=[],
        metavar="NAME=D1,D2",
        help="the shape of a variable, e.g. W=3,4 (x= for a scalar); one per variable",
    )
    explain.add_argument(
        "--value",
        action="append",
        default=[],
        metavar="NAME=FILE.npy",
        help="take a variable's value from a .npy file instead of random numbers",
    )
    explain.add_argument(
        "--format", choices=("text", "latex", "json"), default="text", help="output format"
    )
    explain.add_argument("--seed", type=int, default=0, help="random seed for the values")
    return parser


def _explain(args) -> int:
    try:
        f, variables = parse_expression(args.expression)
        values = _values(args, variables)
        if not variables:
            raise ExpressionError("the expression has no variable to differentiate by")
        wrt = args.wrt or variables[0]
        if wrt not in variables:
            raise ExpressionError(
                f"--wrt {wrt!r} is not a variable of the expression (it has {variables})"
            )
        explanation = explain(f, argnums=variables.index(wrt))(*values)
    except ExpressionError as error:
        _point(args.expression, error)
        return 2
    if args.format == "latex":
        print(explanation.latex())
    elif args.format == "json":
        print(json.dumps(explanation.to_dict(), indent=2, ensure_ascii=False))
    else:
        print(explanation)
    return 0


def _values(args, variables: list[str]) -> list:
    shapes, files = {}, {}
    for spec in args.shape:
        name, _, dims = spec.partition("=")
        try:
            shape = tuple(int(d) for d in dims.split(",") if d.strip())
        except ValueError:
            shape = (-1,)
        if any(size < 0 for size in shape):
            raise ExpressionError(f"--shape {spec!r}: write NAME=D1,D2 with sizes ≥ 0")
        memory.check_dense(shape, np.dtype(np.float64))  # before allocating anything
        shapes[name.strip()] = shape
    for spec in args.value:
        name, _, path = spec.partition("=")
        files[name.strip()] = path
    rng = np.random.default_rng(args.seed)
    values = []
    for name in variables:
        if name in files:
            values.append(_load(name, files[name]))
        elif name in shapes:
            values.append(rng.normal(size=shapes[name]).round(2))
        else:
            column = _column_of(args.expression, name)
            raise ExpressionError(
                f"no shape for {name!r}: add --shape {name}=D1,D2 (or --value {name}=FILE.npy)",
                column,
                len(name),
            )
    return values


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


def _point(expression: str, error) -> None:
    """The message, the expression, and a caret under the part it is about (the message
    alone for an expression too long to show)."""
    print(f"tensordiff explain: {error}", file=sys.stderr)
    if len(expression) > 200 or "\n" in expression:
        return
    print(f"  {expression}", file=sys.stderr)
    print("  " + " " * error.column + "^" * error.width, file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
