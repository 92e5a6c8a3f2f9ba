"""Per-sample Jacobians of a small MLP: td.jacobian(f, batch=0) against vmap(jacrev).

    python benchmarks/per_sample.py [--batch 256] [--sizes 32x64x16] [--repeats 5]

f(x) = tanh(tanh(x W1) W2) for one sample x of size d; the result is the
(B, out, d) array of every sample's Jacobian. Rows: the closed form in NumPy
(the floor: J_b = diag(1 − y_b²) W2ᵀ diag(1 − h_b²) W1ᵀ, one batched einsum),
``np.asarray(td.jacobian(f, batch=0)(X))`` (the diagonal of the full Jacobian,
free because the two sample axes are joined by a δ), the same under ``td.jit``,
``jax.jit(jax.vmap(jax.jacrev(f)))`` and ``torch.func.vmap(torch.func.jacrev(f))``
when installed (float64 everywhere; one warm-up call, so JAX's compile is out).
Every result is checked against the floor before it is timed. Prints medians,
ratios to the floor and to the best peer, and the peak memory of the NumPy rows
(tracemalloc; JAX and PyTorch allocate outside it).
"""

import argparse
import statistics
import time

import numpy as np
from run import peak_bytes

import tensordiff as td


def closed_form(X, W1, W2):
    h = np.tanh(X @ W1)
    y = np.tanh(h @ W2)
    scaled = (1.0 - h * h)[:, None, :] * W1  # (B, d, hidden): W1 diag(1 − h_b²)
    return np.swapaxes(scaled @ W2, 1, 2) * (1.0 - y * y)[:, :, None]  # one batched GEMM


def median_seconds(fn, repeats: int) -> float:
    fn()  # warm-up (JIT compile, plan caches)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def candidates(X, W1, W2) -> tuple[dict, set]:
    """The rows, and the names of the peers among them."""
    mlp = lambda x: np.tanh(np.tanh(x @ W1) @ W2)  # noqa: E731
    per_sample = td.jacobian(mlp, batch=0)
    jitted = td.jit(per_sample)
    rows = {
        "closed form (NumPy floor)": lambda: closed_form(X, W1, W2),
        "td.jacobian(f, batch=0), dense": lambda: np.asarray(per_sample(X)),
        "td.jit(td.jacobian(f, batch=0)), dense": lambda: np.asarray(jitted(X)),
    }
    peers = set()
    try:
        import jax
    except ImportError:
        print("  (JAX not installed: its row is skipped)")
    else:
        jax.config.update("jax_enable_x64", True)
        import jax.numpy as jnp

        jW1, jW2, jX = jnp.asarray(W1), jnp.asarray(W2), jnp.asarray(X)
        jmlp = lambda x: jnp.tanh(jnp.tanh(x @ jW1) @ jW2)  # noqa: E731
        jacobians = jax.jit(jax.vmap(jax.jacrev(jmlp)))
        rows["jax.jit(jax.vmap(jax.jacrev(f)))"] = lambda: jacobians(jX).block_until_ready()
        peers.add("jax.jit(jax.vmap(jax.jacrev(f)))")
    try:
        import torch
        import torch.func
    except ImportError:
        print("  (PyTorch not installed: its row is skipped)")
    else:
        tW1, tW2, tX = (torch.from_numpy(a) for a in (W1, W2, X))
        tmlp = lambda x: torch.tanh(torch.tanh(x @ tW1) @ tW2)  # noqa: E731
        tjacobians = torch.func.vmap(torch.func.jacrev(tmlp))
        rows["torch.func.vmap(torch.func.jacrev(f))"] = lambda: tjacobians(tX)
        peers.add("torch.func.vmap(torch.func.jacrev(f))")
    return rows, peers


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--sizes", nargs="+", default=["32x64x16"], help="d x hidden x out")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    table = []
    for spec in args.sizes:
        d, hidden, out = map(int, spec.split("x"))
        X = rng.normal(size=(args.batch, d))
        W1, W2 = rng.normal(size=(d, hidden)) / d**0.5, rng.normal(size=(hidden, out)) / hidden**0.5
        case = f"B={args.batch}, {spec}"
        expected = closed_form(X, W1, W2)
        rows, peers = candidates(X, W1, W2)
        for name, fn in rows.items():
            np.testing.assert_allclose(np.asarray(fn()), expected, rtol=1e-10, atol=1e-13)
            peak = None if name in peers else peak_bytes(fn)
            table.append((case, name, median_seconds(fn, args.repeats), peak, name in peers))
    print()
    print("| case | method | median (ms) | × floor | × best peer | peak MiB |")
    print("|---|---|---:|---:|---:|---:|")
    for case in dict.fromkeys(row[0] for row in table):
        rows = [row for row in table if row[0] == case]
        floor = rows[0][2]
        best_peer = min((row[2] for row in rows if row[4]), default=float("nan"))
        for _, name, seconds, peak, _ in rows:
            memory = "—" if peak is None else f"{peak / 2**20:.1f}"
            print(
                f"| {case} | {name} | {seconds * 1e3:.3f} | {seconds / floor:.2f}x"
                f" | {seconds / best_peer:.2f}x | {memory} |"
            )


if __name__ == "__main__":
    main()
