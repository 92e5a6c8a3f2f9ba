"""Time dense Hessians against closed forms and jax.hessian (issue #5).

    python benchmarks/hessian.py [--repeats 7]

Cases:

* logistic regression, L(w) = Σ log(1 + exp(X w)) − y·(X w), X of shape
  (1000, d), d ∈ {50, 200, 500}; closed form Xᵀ diag(s(1 − s)) X;
* ‖W x − y‖² w.r.t. a 64×64 W: the order-4 Hessian 2 δ[a,c] x[b] x[d]
  (128 MiB dense); tensordiff's structured result stores 2 vectors;
* xᵀ A x for a 500×500 A: closed form A + Aᵀ.

Every result is checked against its closed form before it is timed; JAX runs
under jit with one warm-up call (compile time excluded). Prints medians,
ratios to the closed form, and the bytes the structured result holds.
"""

import argparse

import numpy as np
from jacobian_layer import median_seconds

import tensordiff as td


def logistic_case(d: int, rng):
    X = rng.normal(size=(1000, d))
    y = (rng.random(1000) < 0.5).astype(float)
    w = 0.1 * rng.normal(size=d)

    def loss(w):
        z = X @ w
        return np.sum(np.logaddexp(0.0, z) - y * z)

    def closed():
        s = 1.0 / (1.0 + np.exp(-X @ w))
        return (X.T * (s * (1.0 - s))) @ X

    def jax_loss(jnp):
        return lambda w: jnp.sum(jnp.logaddexp(0.0, X @ w) - y * (X @ w))

    return f"logistic d={d}", loss, w, closed, jax_loss


def least_squares_case(n: int, rng):
    W, x, y = rng.normal(size=(n, n)), rng.normal(size=n), rng.normal(size=n)

    def closed():
        H = np.zeros((n, n, n, n))
        np.einsum("abad->abd", H)[...] = 2.0 * np.outer(x, x)
        return H

    def jax_loss(jnp):
        return lambda W: jnp.sum((W @ x - y) ** 2)

    return f"‖Wx − y‖², W {n}×{n}", lambda W: np.sum((W @ x - y) ** 2), W, closed, jax_loss


def quadratic_case(n: int, rng):
    A, x = rng.normal(size=(n, n)), rng.normal(size=n)

    def jax_loss(jnp):
        return lambda x: x @ A @ x

    return f"xᵀAx, n={n}", lambda x: x @ A @ x, x, lambda: A + A.T, jax_loss


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    cases = [logistic_case(d, rng) for d in (50, 200, 500)]
    cases += [least_squares_case(64, rng), quadratic_case(500, rng)]
    try:
        import jax
        import jax.numpy as jnp

        jax.config.update("jax_enable_x64", True)
    except ImportError:
        jax = None
        print("(JAX not installed: jax rows skipped)")
    rows = []
    for name, loss, point, closed, jax_loss in cases:
        expected = closed()
        hessian = td.hessian(loss)
        jitted = td.jit(hessian)
        structured = hessian(point)
        candidates = {
            "closed form": closed,
            "tensordiff, dense": lambda h=hessian, p=point: np.asarray(h(p)),
            "tensordiff, structured": lambda h=hessian, p=point: h(p),
            "td.jit(td.hessian), dense": lambda h=jitted, p=point: np.asarray(h(p)),
        }
        if jax is not None:
            compiled = jax.jit(jax.hessian(jax_loss(jnp)))
            jpoint = jnp.asarray(point)
            candidates["jax.jit(jax.hessian)"] = lambda c=compiled, p=jpoint: c(
                p
            ).block_until_ready()
        for method, fn in candidates.items():
            np.testing.assert_allclose(np.asarray(fn()), expected, rtol=1e-9, atol=1e-9)
            rows.append((name, method, median_seconds(fn, args.repeats)))
        print(
            f"{name}: dense {expected.nbytes / 2**20:.1f} MiB,"
            f" structured result holds {structured.stored_nbytes / 2**10:.1f} KiB"
        )
        del expected
    print()
    print("| case | method | median (ms) | ratio to closed form |")
    print("|---|---|---:|---:|")
    floors = {name: t for name, method, t in rows if method == "closed form"}
    for name, method, seconds in rows:
        print(f"| {name} | {method} | {seconds * 1e3:.3f} | {seconds / floors[name]:.2f}x |")


if __name__ == "__main__":
    main()
