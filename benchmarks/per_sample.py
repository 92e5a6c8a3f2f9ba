"""Per-sample Jacobians and gradients of a small MLP: td's batch= against vmap in JAX and torch.

    python benchmarks/per_sample.py [--batch 256] [--sizes 32x64x16] [--repeats 7]
    python benchmarks/per_sample.py --blas-threads both   # the two tables of the README

f(x) = tanh(tanh(x W1) W2) for one sample x of size d. Two cases:

* **Jacobians**: the (B, out, d) array of every sample's ∂f/∂x. Rows: the closed
  form in NumPy (the floor: J_b = diag(1 − y_b²) W2ᵀ diag(1 − h_b²) W1ᵀ, one batched
  GEMM), ``np.asarray(td.jacobian(f, batch=0)(X))`` (the diagonal of the full
  Jacobian, free because the two sample axes are joined by a δ), the same under
  ``td.jit``, ``jax.jit(jax.vmap(jax.jacrev(f)))`` and
  ``torch.func.vmap(torch.func.jacrev(f))``.
* **gradients**: every sample's gradient of ‖f(x) − y‖² with respect to the shared
  parameters {W1, W2}: ``td.grad(losses, batch=(None, 0, 0))`` (with and without
  ``td.jit``) against ``jax.jit(jax.vmap(jax.grad(loss), in_axes=(None, 0, 0)))`` and
  ``torch.func.vmap(torch.func.grad(loss), in_dims=(None, 0, 0))``; the floor is the
  backpropagation written out per sample with einsum.

float64 everywhere; one warm-up call (JAX's compile is out of the timings). Every
result is checked against the floor before it is timed. Prints the median and the
minimum, the medians' ratios to the floor and to the best peer, and the peak memory of
the NumPy rows (tracemalloc; JAX and PyTorch allocate outside it). ``--blas-threads
both`` runs the script twice, with OpenBLAS's default threads and with
``OPENBLAS_NUM_THREADS=1``, one after the other.
"""

import argparse
import os
import statistics
import subprocess
import sys
import time

import numpy as np
from run import peak_bytes

import tensordiff as td


def jacobians_floor(X, W1, W2):
    h = np.tanh(X @ W1)
    y = np.tanh(h @ W2)
    scaled = (1.0 - h * h)[:, None, :] * W1  # (B, d, hidden): W1 diag(1 − h_b²)
    return np.swapaxes(scaled @ W2, 1, 2) * (1.0 - y * y)[:, :, None]  # one batched GEMM


def gradients_floor(params, X, Y):
    """Backpropagation of Σ (y_b − t_b)² for each sample b, kept per sample."""
    h = np.tanh(X @ params["W1"])
    y = np.tanh(h @ params["W2"])
    dz2 = 2.0 * (y - Y) * (1.0 - y * y)  # (B, out)
    dz1 = (dz2 @ params["W2"].T) * (1.0 - h * h)  # (B, hidden)
    return {"W1": np.einsum("bi,bj->bij", X, dz1), "W2": np.einsum("bi,bj->bij", h, dz2)}


def seconds(fn, repeats: int) -> tuple[float, float]:
    """Median and min of ``repeats`` calls after a warm-up (JIT compile, plan caches)."""
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), min(times)


def jacobian_rows(X, W1, W2) -> tuple[dict, set]:
    """The rows of the Jacobians case, and the names of the peers among them."""
    mlp = lambda x: np.tanh(np.tanh(x @ W1) @ W2)  # noqa: E731
    per_sample = td.jacobian(mlp, batch=0)
    jitted = td.jit(per_sample)
    rows = {
        "closed form (NumPy floor)": lambda: jacobians_floor(X, W1, W2),
        "td.jacobian(f, batch=0), dense": lambda: np.asarray(per_sample(X)),
        "td.jit(td.jacobian(f, batch=0)), dense": lambda: np.asarray(jitted(X)),
    }
    peers = set()
    jax = _jax()
    if jax is not None:
        jnp = jax.numpy
        jW1, jW2, jX = jnp.asarray(W1), jnp.asarray(W2), jnp.asarray(X)
        jmlp = lambda x: jnp.tanh(jnp.tanh(x @ jW1) @ jW2)  # noqa: E731
        jacobians = jax.jit(jax.vmap(jax.jacrev(jmlp)))
        name = "jax.jit(jax.vmap(jax.jacrev(f)))"
        rows[name] = lambda: jacobians(jX).block_until_ready()
        peers.add(name)
    torch = _torch()
    if torch is not None:
        tW1, tW2, tX = (torch.from_numpy(a) for a in (W1, W2, X))
        tmlp = lambda x: torch.tanh(torch.tanh(x @ tW1) @ tW2)  # noqa: E731
        tjacobians = torch.func.vmap(torch.func.jacrev(tmlp))
        name = "torch.func.vmap(torch.func.jacrev(f))"
        rows[name] = lambda: tjacobians(tX)
        peers.add(name)
    return rows, peers


def gradient_rows(params, X, Y) -> tuple[dict, set]:
    """The rows of the per-sample gradients case, and the names of the peers."""

    def losses(params, X, Y):
        return np.sum((np.tanh(np.tanh(X @ params["W1"]) @ params["W2"]) - Y) ** 2, axis=-1)

    per_sample = td.grad(losses, batch=(None, 0, 0))
    jitted = td.jit(per_sample)
    rows = {
        "closed form (NumPy floor)": lambda: gradients_floor(params, X, Y),
        "td.grad(losses, batch=(None, 0, 0)), dense": lambda: _dense(per_sample(params, X, Y)),
        "td.jit(td.grad(losses, batch=(None, 0, 0))), dense": lambda: _dense(jitted(params, X, Y)),
    }
    peers = set()
    jax = _jax()
    if jax is not None:
        jnp = jax.numpy

        def loss(params, x, y):
            return jnp.sum((jnp.tanh(jnp.tanh(x @ params["W1"]) @ params["W2"]) - y) ** 2)

        gradients = jax.jit(jax.vmap(jax.grad(loss), in_axes=(None, 0, 0)))
        jparams = {key: jnp.asarray(value) for key, value in params.items()}
        jX, jY = jnp.asarray(X), jnp.asarray(Y)
        name = "jax.jit(jax.vmap(jax.grad(loss), in_axes=(None, 0, 0)))"
        rows[name] = lambda: jax.block_until_ready(gradients(jparams, jX, jY))
        peers.add(name)
    torch = _torch()
    if torch is not None:

        def tloss(params, x, y):
            return torch.sum((torch.tanh(torch.tanh(x @ params["W1"]) @ params["W2"]) - y) ** 2)

        tgradients = torch.func.vmap(torch.func.grad(tloss), in_dims=(None, 0, 0))
        tparams = {key: torch.from_numpy(value) for key, value in params.items()}
        tX, tY = torch.from_numpy(X), torch.from_numpy(Y)
        name = "torch.func.vmap(torch.func.grad(loss), in_dims=(None, 0, 0))"
        rows[name] = lambda: tgradients(tparams, tX, tY)
        peers.add(name)
    return rows, peers


def _dense(gradients: dict) -> dict:
    return {key: np.asarray(value) for key, value in gradients.items()}


def _jax():
    try:
        import jax
    except ImportError:
        print("  (JAX not installed: its rows are skipped)")
        return None
    jax.config.update("jax_enable_x64", True)
    return jax


def _torch():
    try:
        import torch
        import torch.func
    except ImportError:
        print("  (PyTorch not installed: its rows are skipped)")
        return None
    return torch


def _agree(result, expected) -> None:
    if isinstance(expected, dict):
        for key in expected:
            np.testing.assert_allclose(np.asarray(result[key]), expected[key], rtol=1e-10)
    else:
        np.testing.assert_allclose(np.asarray(result), expected, rtol=1e-10, atol=1e-13)


def run(args) -> None:
    rng = np.random.default_rng(0)
    table = []
    for spec in args.sizes:
        d, hidden, out = map(int, spec.split("x"))
        X, Y = rng.normal(size=(args.batch, d)), rng.normal(size=(args.batch, out))
        W1, W2 = rng.normal(size=(d, hidden)) / d**0.5, rng.normal(size=(hidden, out)) / hidden**0.5
        params = {"W1": W1, "W2": W2}
        cases = [
            (f"Jacobians, B={args.batch}, {spec}", jacobian_rows(X, W1, W2)),
            (f"gradients, B={args.batch}, {spec}", gradient_rows(params, X, Y)),
        ]
        for case, (rows, peers) in cases:
            floor = next(iter(rows.values()))
            expected = floor()
            for name, fn in rows.items():
                _agree(fn(), expected)
                peak = None if name in peers else peak_bytes(fn)
                table.append((case, name, *seconds(fn, args.repeats), peak, name in peers))
    threads = os.environ.get("OPENBLAS_NUM_THREADS", "default")
    print(f"\nOPENBLAS_NUM_THREADS={threads}, load average {os.getloadavg()[0]:.1f}:\n")
    print("| case | method | median (ms) | min (ms) | × floor | × best peer | peak MiB |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for case in dict.fromkeys(row[0] for row in table):
        rows = [row for row in table if row[0] == case]
        floor = rows[0][2]
        best_peer = min((row[2] for row in rows if row[5]), default=float("nan"))
        for _, name, median, least, peak, _ in rows:
            memory = "—" if peak is None else f"{peak / 2**20:.1f}"
            print(
                f"| {case} | {name} | {median * 1e3:.3f} | {least * 1e3:.3f}"
                f" | {median / floor:.2f}x | {median / best_peer:.2f}x | {memory} |"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--sizes", nargs="+", default=["32x64x16"], help="d x hidden x out")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument(
        "--blas-threads",
        choices=["as-set", "both"],
        default="as-set",
        help="both: run once with OpenBLAS's default threads and once with one thread",
    )
    args = parser.parse_args()
    if args.blas_threads == "as-set":
        run(args)
        return
    command = [sys.executable, __file__, "--batch", str(args.batch), "--repeats", str(args.repeats)]
    command += ["--sizes", *args.sizes]
    default = {key: value for key, value in os.environ.items() if key != "OPENBLAS_NUM_THREADS"}
    for environment in (default, {**default, "OPENBLAS_NUM_THREADS": "1"}):
        subprocess.run(command, env=environment, check=True)


if __name__ == "__main__":
    main()
