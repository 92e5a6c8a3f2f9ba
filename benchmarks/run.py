"""The benchmark suite of issue #4: tensordiff against a NumPy floor and its peers.

    python benchmarks/run.py [--quick] [--json out.json] [--repeats 7]

Every case is first checked for agreement across all tools, then timed in this
one process: median and min of the repeats after one warm-up call (JAX's
compile time is reported apart). Peak memory is measured with tracemalloc for
the NumPy-based rows (JAX allocates outside it: "–"). Ratios are to the
closed-form NumPy floor and to the fastest peer. For the chain cases the
FLOPs of forward, reverse and the chosen order come from ``td.plan``.
Peers are used when installed: JAX (``jax.jit`` of ``jacfwd``/``jacrev``),
PyTorch (``torch.func.jacrev``/``jacfwd``, ``torch.autograd.functional.jacobian``
vectorized and looping), HIPS autograd (``jacobian``). Here:
``pip install jax torch==2.13.0 autograd`` (torch 2.13.0 is a local CPU wheel).
"""

import argparse
import json
import statistics
import time
import tracemalloc

import numpy as np

import tensordiff as td

# jacfwd pushes one tangent per input element; skip it when that basis is huge.
BASIS_LIMIT = 2 * 2**30


def timed(fn, repeats: int) -> dict:
    start = time.perf_counter()
    fn()  # warm-up: plans, caches, JIT compilation
    first = time.perf_counter() - start
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return {"median": statistics.median(times), "min": min(times), "first": first}


def peak_bytes(fn) -> int:
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


# ---- cases: f (NumPy), its argument, the closed form, and twin(namespace, asarray) --------
# The twin builds the same function for another library: its NumPy-like namespace and a
# converter for the constants (jnp.asarray, torch.as_tensor, ...).
def matvec_case(m, n, rng):
    W, x = rng.normal(size=(m, n)), rng.normal(size=n)

    def floor():
        J = np.zeros((m, m, n))
        np.einsum("iik->ik", J)[...] = x
        return J

    return f"dV/dW, V = W x, {m}x{n}", (lambda W: W @ x), W, floor, lambda ns, c: lambda W: W @ c(x)


def layer_case(m, n, rng):
    W, x, b = rng.normal(size=(m, n)), rng.normal(size=n), rng.normal(size=m)

    def floor():
        V = np.tanh(W @ x + b)
        J = np.zeros((m, m, n))
        np.einsum("iik->ik", J)[...] = (1 - V * V)[:, None] * x
        return J

    return (
        f"dV/dW, V = tanh(W x + b), {m}x{n}",
        lambda W: np.tanh(W @ x + b),
        W,
        floor,
        lambda ns, c: lambda W: ns.tanh(W @ c(x) + c(b)),
    )


def mlp_case(rng):
    X, W2 = rng.normal(size=(32, 64)), rng.normal(size=(10, 128)) / 10
    W1 = rng.normal(size=(128, 64)) / 8

    def floor():  # dY[b,o]/dW1[h,i] = W2[o,h] (1 − H²)[b,h] X[b,i]
        H = np.tanh(X @ W1.T)
        return np.einsum("oh,bh,bi->bohi", W2, 1 - H * H, X)

    return (
        "dY/dW1, MLP 64-128(tanh)-10, batch 32",
        lambda W1: np.tanh(X @ W1.T) @ W2.T,
        W1,
        floor,
        lambda ns, c: lambda W1: ns.tanh(c(X) @ W1.T) @ c(W2).T,
    )


def loss_case(rng):
    X, W2 = rng.normal(size=(32, 64)), rng.normal(size=(10, 128)) / 10
    W1 = rng.normal(size=(128, 64)) / 8
    labels = np.eye(10)[rng.integers(0, 10, size=32)]

    def loss(W1, n=np, c=np.asarray):
        logits = n.tanh(c(X) @ W1.T) @ c(W2).T
        shifted = logits - n.max(logits, axis=1, keepdims=True)
        log_p = shifted - n.log(n.sum(n.exp(shifted), axis=1, keepdims=True))
        return -n.sum(c(labels) * log_p) / 32

    def floor():  # backprop by hand
        H = np.tanh(X @ W1.T)
        logits = H @ W2.T
        P = np.exp(logits - logits.max(axis=1, keepdims=True))
        P /= P.sum(axis=1, keepdims=True)
        return (((P - labels) / 32 @ W2) * (1 - H * H)).T @ X

    return (
        "dL/dW1, softmax cross-entropy of that MLP",
        loss,
        W1,
        floor,
        lambda ns, c: lambda W1: loss(W1, ns, c),
    )


def chain_case(name, widths, rng):
    matrices = [
        rng.normal(size=(widths[k + 1], widths[k])) / np.sqrt(widths[k])
        for k in range(len(widths) - 1)
    ]
    x = rng.normal(size=widths[0])

    def f(x, n=np, c=np.asarray):
        for A in matrices[:-1]:
            x = n.tanh(c(A) @ x)
        return c(matrices[-1]) @ x

    def floor():  # A_L D_{L-1} A_{L-1} ... D_1 A_1 in the best bracketing (multi_dot)
        factors, h = [], x
        for A in matrices[:-1]:
            h = np.tanh(A @ h)
            factors.append((1 - h * h)[:, None] * A)
        factors.append(matrices[-1])
        return np.linalg.multi_dot(factors[::-1])

    label = f"chain {name} {'-'.join(map(str, widths))}"
    return label, f, x, floor, lambda ns, c: lambda x: f(x, ns, c)


CHAINS = {
    "hourglass": [10, 500, 20, 500, 10],
    "bottleneck": [500, 10, 500, 10, 500],
    "fan-out": [10, 200, 200, 200, 2000],
    "fan-in": [2000, 200, 200, 200, 10],
    "wide": [2000, 50, 2000, 50, 2000],
}
CHAINS_9 = {
    "hourglass-9": [10, 500, 20, 500, 20, 500, 20, 500, 20, 10],
    "bottleneck-9": [2000, 50, 2000, 50, 2000, 50, 2000, 50, 2000, 50],
}


def cases(quick: bool, rng):
    sizes = [(64, 64), (256, 256)] if quick else [(64, 64), (256, 256), (512, 1024)]
    out = [matvec_case(m, n, rng) for m, n in sizes]
    out += [layer_case(m, n, rng) for m, n in sizes]
    out += [mlp_case(rng), loss_case(rng)]
    chains = dict(CHAINS) if quick else {**CHAINS, **CHAINS_9}
    out += [chain_case(name, widths, rng) for name, widths in chains.items()]
    return out


# ---- tools ----------------------------------------------------------------------------------
class TorchAsNumPy:
    """The few NumPy-style calls the cases make, on torch tensors."""

    def __init__(self, torch):
        self.torch = torch
        self.tanh, self.exp, self.log = torch.tanh, torch.exp, torch.log

    def sum(self, x, axis=None, keepdims=False):
        return x.sum() if axis is None else x.sum(dim=axis, keepdim=keepdims)

    def max(self, x, axis=None, keepdims=False):
        return x.amax(dim=axis, keepdim=keepdims)


def peers(twin, point):
    """The peer rows available here: name -> callable returning an array."""
    rows, notes = {}, []
    try:
        import jax
        import jax.numpy as jnp
    except ImportError:
        notes.append("JAX not installed: jax rows skipped")
    else:
        jax.config.update("jax_enable_x64", True)
        f, jpoint = twin(jnp, jnp.asarray), jnp.asarray(point)
        for name, transform in (("jax.jacrev", jax.jacrev), ("jax.jacfwd", jax.jacfwd)):
            if name == "jax.jacfwd" and np.size(point) ** 2 * 8 > BASIS_LIMIT:
                notes.append(
                    f"{name} skipped: its tangent basis would be"
                    f" {np.size(point) ** 2 * 8 / 2**30:.0f} GiB"
                )
                continue
            compiled = jax.jit(transform(f))
            rows[f"jax.jit({name})"] = lambda c=compiled, p=jpoint: c(p).block_until_ready()
    try:
        import torch
    except ImportError:
        notes.append("PyTorch not installed: torch rows skipped")
    else:
        torch.set_num_threads(2)
        f = twin(TorchAsNumPy(torch), torch.as_tensor)
        tpoint = torch.as_tensor(point)
        rows["torch.func.jacrev"] = lambda: torch.func.jacrev(f)(tpoint).numpy()
        if np.size(point) ** 2 * 8 <= BASIS_LIMIT:
            rows["torch.func.jacfwd"] = lambda: torch.func.jacfwd(f)(tpoint).numpy()
        jacobian = torch.autograd.functional.jacobian
        rows["torch.autograd...jacobian (vectorize)"] = lambda: jacobian(
            f, tpoint, vectorize=True
        ).numpy()
        if np.size(f(tpoint).detach().numpy()) <= 600:  # one backward pass per output entry
            rows["torch.autograd...jacobian (loop)"] = lambda: jacobian(
                f, tpoint, vectorize=False
            ).numpy()
        else:
            notes.append("torch.autograd.functional.jacobian (loop) skipped above 600 outputs")
    try:
        import autograd
        import autograd.numpy as anp
    except ImportError:
        notes.append("HIPS autograd not installed: autograd rows skipped")
    else:
        rows["autograd.jacobian"] = lambda: autograd.jacobian(twin(anp, np.asarray))(point)
    return rows, notes


# The rows that are not peers: the floor and tensordiff itself (peak memory is measured
# for these; JAX and PyTorch allocate outside tracemalloc).
OURS = ("closed form (floor)", "tensordiff, td.jit", "tensordiff, no jit")


def run_case(label, f, point, floor, twin, repeats):
    expected = floor()
    jitted = td.jit(td.jacobian(f))
    tools = {
        "closed form (floor)": floor,
        "tensordiff, td.jit": lambda: np.asarray(jitted(point)),
        "tensordiff, no jit": lambda: np.asarray(td.jacobian(f)(point)),
    }
    peer_rows, notes = peers(twin, point)
    tools.update(peer_rows)
    results = {}
    for name, fn in tools.items():
        np.testing.assert_allclose(np.asarray(fn()), expected, rtol=1e-9, atol=1e-9)
        results[name] = timed(fn, repeats)
        if name in OURS:
            results[name]["peak_bytes"] = peak_bytes(fn)
    result_bytes = expected.nbytes
    del expected
    entry = {"case": label, "results": results, "notes": notes, "result_bytes": result_bytes}
    if label.startswith("chain"):
        costs = td.plan(f)(point).costs
        entry["flops"] = {order: cost["flops"] for order, cost in costs.items()}
    return entry


def report(entries) -> str:
    lines = [
        "| case | method | median ms | min ms | first call ms | peak MiB | × floor | × best peer |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for entry in entries:
        results = entry["results"]
        floor = results["closed form (floor)"]["median"]
        peer_times = [r["median"] for n, r in results.items() if n not in OURS]
        best_peer = min(peer_times) if peer_times else None
        for name, r in results.items():
            peak = r.get("peak_bytes")
            peak_text = f"{peak / 2**20:.1f}" if peak is not None else "–"
            vs_peer = f"{r['median'] / best_peer:.2f}" if best_peer else "–"
            lines.append(
                f"| {entry['case']} | {name} | {r['median'] * 1e3:.3f} | {r['min'] * 1e3:.3f}"
                f" | {r['first'] * 1e3:.1f} | {peak_text} | {r['median'] / floor:.2f}"
                f" | {vs_peer} |"
            )
    flops = [e for e in entries if "flops" in e]
    if flops:
        lines += [
            "",
            "| chain | forward FLOPs | reverse FLOPs | chosen FLOPs | best classic / chosen |",
            "|---|---:|---:|---:|---:|",
        ]
        for e in flops:
            fw, rv, ch = e["flops"]["forward"], e["flops"]["reverse"], e["flops"]["optimal"]
            lines.append(f"| {e['case']} | {fw:,} | {rv:,} | {ch:,} | {min(fw, rv) / ch:.2f} |")
    notes = sorted({note for e in entries for note in e["notes"]})
    if notes:
        lines += ["", *[f"* {note}" for note in notes]]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer and smaller cases")
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    entries = []
    for label, f, point, floor, twin in cases(args.quick, rng):
        print(f"running {label} ...", flush=True)
        entries.append(run_case(label, f, point, floor, twin, args.repeats))
    print()
    print(report(entries))
    if args.json:
        with open(args.json, "w") as out:
            json.dump(entries, out, indent=2)


if __name__ == "__main__":
    main()
