"""Time versus depth: trace, chain rule and dense write of an elementwise chain (issue 13).

    python benchmarks/depth.py [--depths 125,250,500,1000] [--repeats 3]

f(x) = g(g(...g(x))) with g(v) = 0.9 sin(v) + 0.1 on a 16-vector, for each depth L.
The optimal order keeps all 2L local factors of the chain's one term apart and
contracts them at the end, in pieces under NumPy's einsum operand limit. Rows:

* trace — running f on traced arguments (recording the graph);
* jacobian (auto / reverse / forward) — td.jacobian(f, mode)(x): trace + chain rule;
* dense write — np.asarray of the auto-mode Jacobian (the product of the 2L factors);
* jit replay — a td.jit(td.jacobian(f)) call after the recording.

Every Jacobian is checked against the closed form, the product over layers of
0.9 cos(v_l), before timing. Prints medians and the time per layer: it stays
flat when the time grows linearly with depth.
"""

import argparse
import time

import numpy as np
from jacobian_layer import median_seconds

import tensordiff as td
from tensordiff.differentiate import trace_call


def chain(depth: int):
    def f(x):
        for _ in range(depth):
            x = np.sin(x) * 0.9 + 0.1
        return x

    return f


def closed_form(depth: int, x: np.ndarray) -> np.ndarray:
    slope = np.ones_like(x)
    for _ in range(depth):
        slope *= 0.9 * np.cos(x)
        x = np.sin(x) * 0.9 + 0.1
    return np.diag(slope)


def rows(depth: int, x: np.ndarray) -> dict:
    f = chain(depth)
    J = td.jacobian(f)(x)
    jitted = td.jit(td.jacobian(f))
    want = closed_form(depth, x)
    for got in (J, td.jacobian(f, mode="reverse")(x), jitted(x), jitted(x)):
        np.testing.assert_allclose(np.asarray(got), want, rtol=1e-9, atol=1e-300)
    return {
        "trace": lambda: trace_call(f, (0,), (x,), {}),
        "jacobian (auto)": lambda: td.jacobian(f)(x),
        "jacobian (reverse)": lambda: td.jacobian(f, mode="reverse")(x),
        "jacobian (forward)": lambda: td.jacobian(f, mode="forward")(x),
        "dense write": lambda: np.asarray(J),
        "jit replay": lambda: np.asarray(jitted(x)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--depths", default="125,250,500,1000")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    x = np.linspace(-1.0, 1.0, 16)
    print(f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, median of {args.repeats}")
    print("| depth | step | median (ms) | µs per layer |")
    print("|---:|---|---:|---:|")
    for depth in (int(d) for d in args.depths.split(",")):
        for name, run in rows(depth, x).items():
            seconds = median_seconds(run, args.repeats)
            print(f"| {depth} | {name} | {seconds * 1e3:.1f} | {seconds * 1e6 / depth:.0f} |")


if __name__ == "__main__":
    main()
