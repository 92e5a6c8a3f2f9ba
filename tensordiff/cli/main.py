"""The ``tensordiff`` command line: argument parsing and the ``demo``, ``explain`` and
``serve`` commands."""

import argparse
import json
import os
import sys
import warnings

from tensordiff.cli.demo import demo_text
from tensordiff.cli.expression import ExpressionError
from tensordiff.cli.request import explain_expression, one_line
from tensordiff.web.app import create_app, run

__all__ = ["main"]

EXPLAIN_EXAMPLES = """examples:
  tensordiff explain "W @ x" --wrt W --shape W=3,4 --shape x=4
  tensordiff explain "sum((W @ x - y)**2)" --wrt W --shape W=3,4 --shape x=4 --shape y=3
  tensordiff explain "tanh(W @ x + b)" --wrt W --shape W=2,3 --shape x=3 --shape b=2 --format latex
  tensordiff explain "einsum('ij,j->i', W, x)" --wrt x --shape W=3,4 --shape x=4
  tensordiff explain "W @ x" --wrt W --shape W=3,4 --shape x=4 --format html -o page.html

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
        if args.command == "serve":
            return _serve(args)
        return _explain(args)
    except BrokenPipeError:  # `tensordiff demo | head`: stop quietly, as cat would
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except Exception as error:  # noqa: BLE001  (a command line never shows a traceback)
        print(f"tensordiff {args.command}: {one_line(error)}", file=sys.stderr)
        return 2


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
        "--format",
        choices=("text", "latex", "json", "html"),
        default="text",
        help="output format; html is one self-contained page (KaTeX and pictures inlined)",
    )
    explain.add_argument(
        "-o", "--output", metavar="FILE", help="write to FILE instead of standard output"
    )
    explain.add_argument("--seed", type=int, default=0, help="random seed for the values")
    serve = commands.add_parser(
        "serve",
        help="the teaching page: explanations typeset in the browser, with pictures",
        description="Serve a local page where an expression and shapes (the language of"
        " `tensordiff explain`) are explained, typeset with KaTeX, with pictures; the"
        " address /?expr=...&wrt=W&shape=W=3,4&shape=x=4 opens one explanation."
        " Needs the 'web' extra.",
    )
    serve.add_argument("--host", default="127.0.0.1", help="where to listen (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    return parser


def _serve(args) -> int:
    run(create_app(explain_expression, one_line), args.host, args.port)
    return 0


def _explain(args) -> int:
    try:
        explanation = explain_expression(
            args.expression, args.wrt, args.shape, args.value, args.seed
        )
    except ExpressionError as error:
        _point(args.expression, error)
        return 2
    if args.format == "latex":
        text = explanation.latex()
    elif args.format == "json":
        text = json.dumps(explanation.to_dict(), indent=2, ensure_ascii=False)
    elif args.format == "html":
        text = explanation.html(title=f"tensordiff explain {args.expression}")
    else:
        text = str(explanation)
    if args.output:
        with open(args.output, "w", encoding="utf-8") as file:
            file.write(text + "\n")
    else:
        print(text)
    return 0


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
