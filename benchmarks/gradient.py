"""Gradients of a scalar loss (issue 17): tensordiff eager and jitted against peers.

    python benchmarks/gradient.py [--repeats 30]

The loss is softmax cross-entropy of a tanh MLP (batch 32, 64-128-10) with integer
labels, differentiated with respect to both weight matrices. Rows: the hand-written
backward pass (the floor), ``td.grad`` (eager: traced and backpropagated every call),
``td.jit(td.grad)``, ``jax.jit(jax.grad)``, PyTorch's eager ``backward`` and HIPS
``autograd.grad``, each when installed. Every row is first checked against the floor.
Times are CPU time of this process (``time.process_time``: steadier than wall time on
a shared machine), median of the repeats after warm-up calls; peak memory by
tracemalloc for the NumPy-based rows. A second table times one traced NumPy call:
200 chained ``np.tanh`` on a 3-vector, per operation.
"""

import argparse
import statistics
import time

import numpy as np
from run import peak_bytes

import tensordiff as td

B, D, H, C = 32, 64, 128, 10


def problem(rng):
    X = rng.normal(size=(B, D))
    labels = rng.integers(0, C, size=B)
    W1, W2 = rng.normal(size=(D, H)) / 8, rng.normal(size=(H, C)) / 10
    return X, labels, W1, W2


def loss_in(n, X, labels):
    """The loss written against the NumPy-like namespace ``n``."""

    def loss(W1, W2):
        hidden = n.tanh(X @ W1)
        logits = hidden @ W2
        shifted = logits - n.max(logits, axis=1, keepdims=True)
        log_p = shifted - n.log(n.sum(n.exp(shifted), axis=1, keepdims=True))
        return -n.mean(log_p[np.arange(B), labels])

    return loss


def floor(X, labels, W1, W2):
    """Backpropagation written by hand."""
    hidden = np.tanh(X @ W1)
    logits = hidden @ W2
    p = np.exp(logits - logits.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    p[np.arange(B), labels] -= 1.0
    p /= B
    return X.T @ ((p @ W2.T) * (1.0 - hidden * hidden)), hidden.T @ p


def rows(X, labels, W1, W2) -> dict:
    loss = loss_in(np, X, labels)
    grad = td.grad(loss, argnums=(0, 1))
    jitted = td.jit(grad)
    found = {
        "hand-written backward (floor)": lambda: floor(X, labels, W1, W2),
        "td.grad, eager": lambda: tuple(np.asarray(g) for g in grad(W1, W2)),
        "td.jit(td.grad)": lambda: tuple(np.asarray(g) for g in jitted(W1, W2)),
    }
    try:
        import autograd
        import autograd.numpy as anp
    except ImportError:
        pass
    else:
        autograd_grad = autograd.grad(loss_in(anp, X, labels), argnum=[0, 1])
        found["autograd.grad"] = lambda: autograd_grad(W1, W2)
    try:
        import jax
        import jax.numpy as jnp
    except ImportError:
        pass
    else:
        jax.config.update("jax_enable_x64", True)
        compiled = jax.jit(jax.grad(loss_in(jnp, X, labels), argnums=(0, 1)))
        found["jax.jit(jax.grad)"] = lambda: tuple(
            np.asarray(g) for g in compiled(jnp.asarray(W1), jnp.asarray(W2))
        )
    try:
        import torch
    except ImportError:
        pass
    else:
        torch.set_num_threads(1)
        tX, tlabels = torch.as_tensor(X), torch.as_tensor(labels)

        def backward():
            w1 = torch.tensor(W1, requires_grad=True)
            w2 = torch.tensor(W2, requires_grad=True)
            log_p = torch.log_softmax(torch.tanh(tX @ w1) @ w2, dim=1)
            (-log_p[torch.arange(B), tlabels].mean()).backward()
            return w1.grad.numpy(), w2.grad.numpy()

        found["torch backward, eager"] = backward
    return found


def cpu_median(fn, repeats: int) -> float:
    for _ in range(3):
        fn()  # warm-up: plans, recordings, compilation
    times = []
    for _ in range(repeats):
        start = time.process_time()
        fn()
        times.append(time.process_time() - start)
    return statistics.median(times)


def per_operation(repeats: int) -> dict:
    """CPU time per traced NumPy call: 200 chained tanh, then a sum."""

    def chain(n):
        def f(x):
            for _ in range(200):
                x = n.tanh(x)
            return n.sum(x)

        return f

    x = np.full(3, 0.5)
    found = {"td.grad": lambda: td.grad(chain(np))(x)}
    try:
        import autograd
        import autograd.numpy as anp
    except ImportError:
        pass
    else:
        autograd_grad = autograd.grad(chain(anp))
        found["autograd.grad"] = lambda: autograd_grad(x)
    return {name: cpu_median(fn, repeats) / 200 for name, fn in found.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=30)
    args = parser.parse_args()
    X, labels, W1, W2 = problem(np.random.default_rng(0))
    found = rows(X, labels, W1, W2)
    expected = floor(X, labels, W1, W2)
    for name, fn in found.items():
        for got, want in zip(fn(), expected, strict=True):  # every row agrees first
            assert np.shape(got) == np.shape(want), name
            np.testing.assert_allclose(np.asarray(got), want, rtol=1e-9, atol=1e-12)
    times = {name: cpu_median(fn, args.repeats) for name, fn in found.items()}
    base = times["hand-written backward (floor)"]
    fastest_peer = min(
        (t for name, t in times.items() if not name.startswith(("td", "hand"))), default=None
    )
    print("| method | CPU ms (median) | × floor | × fastest peer | peak KiB |")
    print("|---|---:|---:|---:|---:|")
    for name, seconds in times.items():
        peer = f"{seconds / fastest_peer:.2f}" if fastest_peer else "–"
        numpy_based = name.startswith(("td", "hand", "autograd"))
        peak = f"{peak_bytes(found[name]) / 1024:.0f}" if numpy_based else "–"
        print(f"| {name} | {seconds * 1e3:.3f} | {seconds / base:.2f} | {peer} | {peak} |")
    print()
    print("| per traced call (200 × tanh) | CPU µs |")
    print("|---|---:|")
    for name, seconds in per_operation(max(5, args.repeats // 3)).items():
        print(f"| {name} | {seconds * 1e6:.1f} |")


if __name__ == "__main__":
    main()
