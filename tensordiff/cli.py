"""The ``tensordiff`` command line."""

import argparse
import os
import sys

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
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
    args = parser.parse_args(argv)
    if args.command == "demo":
        if min(args.m, args.n) < 1 or max(args.m, args.n) > 12:
            parser.error("--m and --n must be between 1 and 12 for a readable demo")
        from tensordiff.demo import demo_text  # imported late: --help stays fast

        try:
            print(demo_text(args.m, args.n, args.seed))
        except BrokenPipeError:  # `tensordiff demo | head`: stop quietly, as cat would
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 0


if __name__ == "__main__":
    sys.exit(main())
