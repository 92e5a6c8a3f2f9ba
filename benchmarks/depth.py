"""Time versus depth: tracing, planning and the chain rule of deep functions (issue 13).

    python benchmarks/depth.py [--depths 50,100,200,500] [--hessian-depths 10,20,40]

Three functions of an 8-vector h, each L layers deep:

* **tanh chain** — ``h ← tanh(W_k h)`` with a different 8×8 ``W_k`` per layer;
* **residual chain** — ``h ← h + tanh(W_k h)``: each value is used twice per layer
  (once copied, its expression text doubled per layer: tracing was exponential);
* **L-term sum** — ``Σ_k tanh(h (k + 1) / L)``.

Rows, per depth: the NumPy floor (the closed-form Jacobian, written by hand);
``td.jacobian`` in each mode (auto, reverse, forward); ``td.grad`` of the sum of
the outputs; a ``td.jit(td.jacobian)`` call after its recording; and the peer,
``jax.jacrev`` (eager, as tensordiff's calls are: no compilation). Hessians
(``td.hessian`` of the sum of outputs, a Jacobian of a Jacobian) are timed at
the smaller ``--hessian-depths``. Every tensordiff result is checked against
the floor (the Hessians against JAX) before timing.

Each tensordiff call is timed *cold*: the contraction-plan caches are emptied
before it, so the time includes planning, which is what grows with depth
(the chain's shapes repeat, so a warm cache would hide it). One timed run per
row after one warm-up: the machine is shared, read the per-layer column for
the trend (flat = linear in depth), not single numbers. Peak memory
(tracemalloc) of the auto-mode Jacobian is printed per depth. A last table gives, per
row, the time per layer at the deepest depth over that at the shallowest: about 1 when
the time grows linearly with depth (2 would be quadratic between 50 and 200 layers...).
The auto-mode Jacobian's ``J.formula`` is written once per depth too (its length, which
grows linearly: intermediates used twice are named in its legend).
"""

import argparse
import time
import tracemalloc

import numpy as np

import tensordiff as td
from tensordiff.core import paths

WIDTH = 8


def tanh_chain(depth: int, rng):
    matrices = [rng.normal(size=(WIDTH, WIDTH)) / np.sqrt(WIDTH) for _ in range(depth)]

    def f(h, xp=np):
        for W in matrices:
            h = xp.tanh(W @ h)
        return h

    def closed_form(h):
        J = np.eye(WIDTH)
        for W in matrices:
            h = np.tanh(W @ h)
            J = (1 - h**2)[:, None] * (W @ J)
        return J

    return f, closed_form


def residual_chain(depth: int, rng):
    matrices = [rng.normal(size=(WIDTH, WIDTH)) / (2 * WIDTH) for _ in range(depth)]

    def f(h, xp=np):
        for W in matrices:
            h = h + xp.tanh(W @ h)
        return h

    def closed_form(h):
        J = np.eye(WIDTH)
        for W in matrices:
            t = np.tanh(W @ h)
            J = J + (1 - t**2)[:, None] * (W @ J)
            h = h + t
        return J

    return f, closed_form


def tanh_sum(depth: int, rng):
    del rng  # no parameters

    def f(h, xp=np):
        total = 0.0
        for k in range(depth):
            total = total + xp.tanh(h * (k + 1) / depth)
        return total

    def closed_form(h):
        scales = np.arange(1, depth + 1)[:, None] / depth
        return np.diag(np.sum(scales * (1 - np.tanh(scales * h) ** 2), axis=0))

    return f, closed_form


FUNCTIONS = {"tanh chain": tanh_chain, "residual chain": residual_chain, "L-term sum": tanh_sum}


def cold_seconds(run) -> float:
    """One call after a warm-up, with the contraction plans forgotten first."""
    run()
    paths._compiled.cache_clear()
    paths._path_info.cache_clear()
    start = time.perf_counter()
    result = run()
    np.asarray(result)
    return time.perf_counter() - start


def peak_mib(run) -> float:
    tracemalloc.start()
    try:
        np.asarray(run())
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


def rows(f, closed_form, h, jax):
    """``{row: call}``, each result checked against the closed form first."""
    want = closed_form(h)
    jitted = td.jit(td.jacobian(f))
    jitted(h)  # the recording; the timed calls replay it
    candidates = {
        "NumPy floor (closed form)": lambda: closed_form(h),
        "jacobian auto": lambda: td.jacobian(f)(h),
        "jacobian reverse": lambda: td.jacobian(f, mode="reverse")(h),
        "jacobian forward": lambda: td.jacobian(f, mode="forward")(h),
        "jit replay": lambda: jitted(h),
    }
    for name, run in candidates.items():
        np.testing.assert_allclose(np.asarray(run()), want, rtol=1e-9, atol=1e-12, err_msg=name)
    grad = lambda: td.grad(lambda v: np.sum(f(v)))(h)  # noqa: E731
    np.testing.assert_allclose(np.asarray(grad()), want.sum(axis=0), rtol=1e-9, atol=1e-12)
    candidates["grad"] = grad
    if jax is not None:
        peer = jax.jacrev(lambda v: f(v, jax.numpy))
        np.testing.assert_allclose(np.asarray(peer(h)), want, rtol=1e-9, atol=1e-12)
        candidates["jax.jacrev (eager)"] = lambda: peer(h).block_until_ready()
    return candidates


def hessian_rows(f, h, jax):
    hessian = lambda: td.hessian(lambda v: np.sum(f(v)))(h)  # noqa: E731
    if jax is not None:
        want = jax.hessian(lambda v: jax.numpy.sum(f(v, jax.numpy)))(h)
        np.testing.assert_allclose(np.asarray(hessian()), want, rtol=1e-8, atol=1e-10)
    return {"hessian": hessian}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--depths", default="50,100,200,500")
    parser.add_argument("--hessian-depths", default="10,20,40")
    args = parser.parse_args()
    try:
        import jax  # a peer when installed

        jax.config.update("jax_enable_x64", True)
    except ImportError:
        jax = None
    rng = np.random.default_rng(0)
    h = rng.normal(size=WIDTH)
    print(f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, one cold run per row")
    print("| function | depth | row | ms | µs per layer | × floor |")
    print("|---|---:|---|---:|---:|---:|")
    plans = [(d, rows) for d in map(int, args.depths.split(","))]
    plans += [(d, None) for d in map(int, args.hessian_depths.split(","))]
    per_layer: dict[tuple[str, str], dict[int, float]] = {}
    for name, build in FUNCTIONS.items():
        for depth, kind in plans:
            f, closed_form = build(depth, rng)
            if kind is None:
                table = hessian_rows(f, h, jax)
                floor = None
            else:
                table = rows(f, closed_form, h, jax)
                floor = cold_seconds(table["NumPy floor (closed form)"])
            for row, run in table.items():
                seconds = cold_seconds(run)
                per_layer.setdefault((name, row), {})[depth] = seconds / depth
                ratio = f"{seconds / floor:.0f}×" if floor else "—"
                print(
                    f"| {name} | {depth} | {row} | {seconds * 1e3:.1f}"
                    f" | {seconds * 1e6 / depth:.0f} | {ratio} |",
                    flush=True,
                )
            if kind is not None:
                peak = peak_mib(lambda f=f: td.jacobian(f)(h))
                print(f"| {name} | {depth} | peak memory, jacobian auto | {peak:.1f} MiB | | |")
                length = len(td.jacobian(f)(h).formula)
                print(f"| {name} | {depth} | J.formula, characters | {length} | | |")
    print("\n| function | row | depths | per-layer time, deepest ÷ shallowest |")
    print("|---|---|---|---:|")
    for (name, row), times in per_layer.items():
        low, high = min(times), max(times)
        if low != high:
            print(f"| {name} | {row} | {low} → {high} | {times[high] / times[low]:.2f} |")


if __name__ == "__main__":
    main()
