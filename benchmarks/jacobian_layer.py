"""Time the dense Jacobian dV/dW of V = tanh(W x + b) against the closed form and JAX.

    python benchmarks/jacobian_layer.py [--repeats 7] [--sizes 64x64 256x256 512x1024]

Rows: the closed-form NumPy floor (zeros plus a write of (1 − V²)[i] x[k] on the
diagonal i = j), ``np.asarray(td.jacobian(f)(W))`` (trace, chain rule, dense
write), ``td.jacobian`` alone (the structured result, no dense array), and, when
JAX is installed, ``jax.jit(jax.jacrev(f))`` and ``jax.jit(jax.jacfwd(f))``
(compile excluded: one warm-up call). Every result is checked against the
floor before it is timed. Prints medians and ratios to the floor.
"""

import argparse
import statistics
import time

import numpy as np

import tensordiff as td

# jacfwd pushes one tangent per input element; skip it when that basis is huge.
JACFWD_BASIS_LIMIT = 2 * 2**30


def closed_form(W, x, b):
    V = np.tanh(W @ x + b)
    m, n = W.shape
    J = np.zeros((m, m, n))
    np.einsum("iik->ik", J)[...] = (1.0 - V * V)[:, None] * x
    return J


def median_seconds(fn, repeats: int) -> float:
    fn()  # warm-up (JIT compile, plan caches)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()  # JAX rows block until their result is ready
        times.append(time.perf_counter() - start)
        del result
    return statistics.median(times)


def candidates(W, x, b):
    layer = lambda W: np.tanh(W @ x + b)  # noqa: E731
    jitted = td.jit(td.jacobian(layer))
    rows = {
        "closed form (NumPy floor)": lambda: closed_form(W, x, b),
        "tensordiff, dense": lambda: np.asarray(td.jacobian(layer)(W)),
        "tensordiff, structured": lambda: td.jacobian(layer)(W),
        "td.jit(td.jacobian), dense": lambda: np.asarray(jitted(W)),
    }
    try:
        import jax
    except ImportError:
        print("  (JAX not installed: jax rows skipped)")
        return rows
    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp

    jW, jx, jb = jnp.asarray(W), jnp.asarray(x), jnp.asarray(b)
    jlayer = lambda W: jnp.tanh(W @ jx + jb)  # noqa: E731
    jacrev = jax.jit(jax.jacrev(jlayer))
    rows["jax.jit(jax.jacrev)"] = lambda: jacrev(jW).block_until_ready()
    if W.size**2 * 8 <= JACFWD_BASIS_LIMIT:
        jacfwd = jax.jit(jax.jacfwd(jlayer))
        rows["jax.jit(jax.jacfwd)"] = lambda: jacfwd(jW).block_until_ready()
    else:
        print(f"  (jax.jacfwd skipped: its tangent basis would be {W.size**2 * 8 / 2**30:.0f} GiB)")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--sizes", nargs="+", default=["64x64", "256x256", "512x1024"])
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    table = []
    for spec in args.sizes:
        m, n = map(int, spec.split("x"))
        W, x, b = rng.normal(size=(m, n)), rng.normal(size=n), rng.normal(size=m)
        print(f"(m, n) = ({m}, {n}): dense Jacobian {m * m * n * 8 / 2**20:.1f} MiB")
        expected = closed_form(W, x, b)
        for name, fn in candidates(W, x, b).items():
            np.testing.assert_allclose(np.asarray(fn()), expected, rtol=1e-12, atol=1e-14)
            table.append((f"{m}x{n}", name, median_seconds(fn, args.repeats)))
        del expected
    print()
    print("| size | method | median (ms) | ratio to floor |")
    print("|---|---|---:|---:|")
    floors = {size: t for size, name, t in table if name.startswith("closed form")}
    for size, name, seconds in table:
        print(f"| {size} | {name} | {seconds * 1e3:.3f} | {seconds / floors[size]:.2f}x |")


if __name__ == "__main__":
    main()
