"""Issue 17's suite: every case where tensordiff lost, at two sizes, against all peers.

    python benchmarks/speed.py [--quick] [--json out.json] [--only NAME] [--before TREE]

Cases: the gradient of a softmax-cross-entropy MLP loss; a one-off small Jacobian
(tanh(W x + b)); chains with narrow ends (hourglass, fan-in, fan-out); small
Hessians (xᵀAx, logistic regression); attention and layer norm Jacobians; the
Hessian of an MLP's mean squared error; and a tiny function whose NumPy work is
negligible, so that ``td.jit`` minus the floor is the replay's own overhead.

Rows per case: the hand-written NumPy floor; tensordiff eager (``td.jacobian``/
``td.grad``/``td.hessian`` traced every call) and ``td.jit`` of it (recorded in the
warm-up, replayed after); ``jax.jit`` of JAX's transform, compiled ahead of time
(``.lower(...).compile()``); ``torch.func`` (and, for gradients, PyTorch's eager
``backward``); HIPS ``autograd``. Every row is checked against the floor (to 1e-8)
before it is timed.

Timing: CPU time of this process (``time.process_time``), which a second busy core
disturbs far less than wall time; every library runs on one thread (OpenBLAS, XLA,
PyTorch), so CPU time is the work done. A row's time is the median over batches
of calls, each batch at least 20 ms. Peak memory (tracemalloc) for the NumPy-based
rows. Ratios are within this one run. ``--before TREE`` times every case with the
tensordiff of another source tree (a ``git worktree`` of an earlier commit) and with
this one, alternating case by case, and prints both.
"""

import os

if __name__ == "__main__":  # (imported by the tests, it leaves the process alone)
    # One thread per library, set before any of them is imported (see the docstring).
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    os.environ.setdefault(
        "XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
    )

import argparse  # noqa: E402
import importlib.metadata  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
from dataclasses import dataclass  # noqa: E402

import numpy as np  # noqa: E402
import run  # noqa: E402

import tensordiff as td  # noqa: E402

BATCH_SECONDS = 0.02
BASIS_LIMIT = 2**28  # bytes of jacfwd's tangent basis above which it is skipped


@dataclass
class Case:
    """One problem: ``f(*args)`` in NumPy, its floor, and ``twin(ns, c)`` — the same
    function written against another library's namespace ``ns`` with ``c`` converting
    the constants."""

    name: str
    size: str
    kind: str  # "jacobian", "grad" or "hessian" (with respect to every argument)
    f: object
    args: tuple
    floor: object
    twin: object


# ---- the cases ------------------------------------------------------------------------------
def one_argument(name: str, size: str, kind: str, f, argument, floor) -> Case:
    """A case of ``f(x, ns=np, c=np.asarray)``: its twin is ``f`` with another namespace."""
    return Case(name, size, kind, f, (argument,), floor, lambda ns, c: lambda x: f(x, ns, c))


def mlp_loss(B, D, H, C, rng) -> Case:
    X = rng.normal(size=(B, D))
    labels = rng.integers(0, C, size=B)
    rows = np.arange(B)
    W1, W2 = rng.normal(size=(D, H)) / np.sqrt(D), rng.normal(size=(H, C)) / np.sqrt(H)

    def loss(W1, W2, n=np, c=np.asarray):
        hidden = n.tanh(c(X) @ W1)
        logits = hidden @ W2
        shifted = logits - n.max(logits, axis=1, keepdims=True)
        log_p = shifted - n.log(n.sum(n.exp(shifted), axis=1, keepdims=True))
        return -n.mean(log_p[c(rows), c(labels)])

    def floor():
        hidden = np.tanh(X @ W1)
        logits = hidden @ W2
        p = np.exp(logits - logits.max(axis=1, keepdims=True))
        p /= p.sum(axis=1, keepdims=True)
        p[rows, labels] -= 1.0
        p /= B
        return X.T @ ((p @ W2.T) * (1.0 - hidden * hidden)), hidden.T @ p

    twin = lambda ns, c: lambda W1, W2: loss(W1, W2, ns, c)  # noqa: E731
    return Case(
        "gradient, softmax-CE MLP", f"B{B} {D}-{H}-{C}", "grad", loss, (W1, W2), floor, twin
    )


def layer(m, n, rng) -> Case:
    _, f, W, floor, twin = run.layer_case(m, n, rng)
    return Case("Jacobian, tanh(W x + b)", f"W {m}x{n}", "jacobian", f, (W,), floor, twin)


def chain(shape_name, widths, rng) -> Case:
    _, f, x, floor, twin = run.chain_case(shape_name, widths, rng)
    size = "-".join(map(str, widths))
    return Case(f"chain, {shape_name}", size, "jacobian", f, (x,), floor, twin)


def quadratic(n, rng) -> Case:
    A, x = rng.normal(size=(n, n)), rng.normal(size=n)

    def f(x, ns=np, c=np.asarray):
        return x @ c(A) @ x

    return one_argument("Hessian, xᵀAx", f"n {n}", "hessian", f, x, lambda: A + A.T)


def logistic(d, rng) -> Case:
    X = rng.normal(size=(1000, d))
    y = (rng.random(1000) < 0.5).astype(float)
    w = 0.1 * rng.normal(size=d)

    def f(w, ns=np, c=np.asarray):
        z = c(X) @ w
        return ns.sum(ns.logaddexp(0.0, z) - c(y) * z)

    def floor():
        s = 1.0 / (1.0 + np.exp(-X @ w))
        return (X.T * (s * (1.0 - s))) @ X

    return one_argument("Hessian, logistic regression", f"X 1000x{d}", "hessian", f, w, floor)


def mlp_mse_hessian(B, D, H, C, rng) -> Case:
    X, Y = rng.normal(size=(B, D)), rng.normal(size=(B, C))
    W1, W2 = rng.normal(size=(D, H)) / np.sqrt(D), rng.normal(size=(H, C)) / np.sqrt(H)

    def f(W1, ns=np, c=np.asarray):
        residual = ns.tanh(c(X) @ W1) @ c(W2) - c(Y)
        return ns.sum(residual * residual) / B

    def floor():
        # L = Σ R²/B, R = tanh(X W1) W2 − Y; with T = 1 − tanh², E = R W2ᵀ:
        # ∂²L/∂W1[i,h]∂W1[j,k] = (2/B) Σ_b X[b,i] X[b,j] ((W2 W2ᵀ)[h,k] T[b,h] T[b,k]
        #                                                − 2 δ[h,k] E[b,h] tanh[b,h] T[b,h])
        hidden = np.tanh(X @ W1)
        T, E = 1.0 - hidden * hidden, (hidden @ W2 - Y) @ W2.T
        out = np.einsum("bi,bh,bj,bk->ihjk", X, T, X, T, optimize=True)
        out *= (W2 @ W2.T)[None, :, None, :]
        np.einsum("ihjh->ihj", out)[...] -= 2.0 * np.einsum(
            "bi,bj,bh->ihj", X, X, E * hidden * T, optimize=True
        )
        return (2.0 / B) * out

    return one_argument(
        "Hessian, MLP squared error (w.r.t. W1)", f"B{B} {D}-{H}-{C}", "hessian", f, W1, floor
    )


def attention(n, d, rng) -> Case:
    Q, K, V = rng.normal(size=(n, d)), rng.normal(size=(n, d)), rng.normal(size=(n, d))

    def f(Q, ns=np, c=np.asarray):
        scores = Q @ c(K).T / np.sqrt(d)
        weights = ns.exp(scores - ns.max(scores, axis=1, keepdims=True))
        weights = weights / ns.sum(weights, axis=1, keepdims=True)
        return weights @ c(V)

    def floor():  # ∂Y[i,a]/∂Q[i,b] = Σ_l P[i,l] (V[l,a] − Y[i,a]) K[l,b] / √d
        S = Q @ K.T / np.sqrt(d)
        P = np.exp(S - S.max(axis=1, keepdims=True))
        P /= P.sum(axis=1, keepdims=True)
        Y = P @ V
        block = np.einsum("il,la,lb->iab", P, V, K) - Y[:, :, None] * (P @ K)[:, None, :]
        J = np.zeros((n, d, n, d))
        np.einsum("iaib->iab", J)[...] = block / np.sqrt(d)
        return J

    return one_argument(
        "Jacobian, attention softmax(Q Kᵀ/√d) V", f"n {n}, d {d}", "jacobian", f, Q, floor
    )


def layer_norm(B, D, rng) -> Case:
    x = rng.normal(size=(B, D))
    eps = 1e-5

    def f(x, ns=np, c=np.asarray):
        centred = x - ns.mean(x, axis=1, keepdims=True)
        variance = ns.mean(centred * centred, axis=1, keepdims=True)
        return centred / ns.sqrt(variance + eps)

    def floor():  # ∂y[b,i]/∂x[b,j] = (δ[i,j] − 1/D − y[b,i] y[b,j]/D) / σ[b]
        centred = x - x.mean(axis=1, keepdims=True)
        sigma = np.sqrt((centred * centred).mean(axis=1, keepdims=True) + eps)
        y = centred / sigma
        block = (np.eye(D) - 1.0 / D - y[:, :, None] * y[:, None, :] / D) / sigma[:, :, None]
        J = np.zeros((B, D, B, D))
        np.einsum("bibj->bij", J)[...] = block
        return J

    return one_argument("Jacobian, layer norm", f"{B}x{D}", "jacobian", f, x, floor)


def tiny(rng) -> Case:
    x = rng.normal(size=3)

    def f(x, ns=np, c=np.asarray):
        return ns.sin(x) * x

    def floor():
        return np.diag(np.cos(x) * x + np.sin(x))

    return one_argument("replay overhead: sin(x) x", "x of 3", "jacobian", f, x, floor)


def cases(quick: bool):
    rng = np.random.default_rng(0)
    found = [
        tiny(rng),
        mlp_loss(32, 64, 128, 10, rng),
        mlp_loss(256, 256, 512, 10, rng),
        layer(8, 8, rng),
        layer(64, 64, rng),
        chain("hourglass", [10, 500, 20, 500, 10], rng),
        chain("hourglass", [20, 1000, 40, 1000, 20], rng),
        chain("fan-in", [1000, 100, 100, 100, 5], rng),
        chain("fan-in", [2000, 200, 200, 200, 10], rng),
        chain("fan-out", [5, 100, 100, 100, 1000], rng),
        chain("fan-out", [10, 200, 200, 200, 2000], rng),
        quadratic(64, rng),
        quadratic(256, rng),
        logistic(50, rng),
        logistic(200, rng),
        mlp_mse_hessian(16, 8, 16, 4, rng),
        mlp_mse_hessian(64, 16, 32, 8, rng),
        attention(8, 8, rng),
        attention(32, 16, rng),
        layer_norm(8, 16, rng),
        layer_norm(32, 64, rng),
    ]
    if quick:  # the smaller size of each case
        seen, kept = set(), []
        for case in found:
            if case.name not in seen:
                seen.add(case.name)
                kept.append(case)
        return kept
    return found


# ---- the rows ---------------------------------------------------------------------------
OURS = ("floor", "td eager", "td.jit")


def tensordiff_rows(case: Case) -> dict:
    argnums = tuple(range(len(case.args)))
    transform = {"jacobian": td.jacobian, "grad": td.grad, "hessian": td.hessian}[case.kind]
    eager = transform(case.f, argnums=argnums if len(argnums) > 1 else 0)
    jitted = td.jit(eager)
    dense = lambda r: tuple(np.asarray(t) for t in r) if isinstance(r, tuple) else np.asarray(r)  # noqa: E731
    return {
        "floor": case.floor,
        "td eager": lambda: dense(eager(*case.args)),
        "td.jit": lambda: dense(jitted(*case.args)),
    }


class TorchAsNumPy(run.TorchAsNumPy):
    """The NumPy-style calls the cases make, on torch tensors."""

    def __init__(self, torch):
        super().__init__(torch)
        self.sqrt, self.sin = torch.sqrt, torch.sin
        self.logaddexp = lambda a, b: torch.logaddexp(torch.as_tensor(a, dtype=b.dtype), b)

    def mean(self, x, axis=None, keepdims=False):
        return x.mean() if axis is None else x.mean(dim=axis, keepdim=keepdims)


def jax_rows(case: Case, notes: list) -> dict:
    try:
        import jax
        import jax.numpy as jnp
    except ImportError:
        notes.append("JAX not installed")
        return {}
    jax.config.update("jax_enable_x64", True)
    f = case.twin(jnp, jnp.asarray)
    args = tuple(jnp.asarray(a) for a in case.args)
    argnums = tuple(range(len(args))) if len(args) > 1 else 0
    transforms = {
        "jacobian": [("jax.jit(jacrev)", jax.jacrev), ("jax.jit(jacfwd)", jax.jacfwd)],
        "grad": [("jax.jit(grad)", jax.grad)],
        "hessian": [("jax.jit(hessian)", jax.hessian)],
    }[case.kind]
    rows = {}
    for name, transform in transforms:
        if name.endswith("(jacfwd)") and sum(np.size(a) for a in args) ** 2 * 8 > BASIS_LIMIT:
            notes.append(f"{name} skipped where its tangent basis exceeds 256 MiB")
            continue
        compiled = jax.jit(transform(f, argnums=argnums)).lower(*args).compile()
        rows[name] = lambda c=compiled: jax.tree_util.tree_map(np.asarray, c(*args))
    return rows


def torch_rows(case: Case, notes: list) -> dict:
    try:
        import torch
    except ImportError:
        notes.append("PyTorch not installed")
        return {}
    torch.set_num_threads(1)
    f = case.twin(TorchAsNumPy(torch), torch.as_tensor)
    args = tuple(torch.as_tensor(a) for a in case.args)
    argnums = tuple(range(len(args))) if len(args) > 1 else 0
    as_numpy = lambda r: tuple(t.numpy() for t in r) if isinstance(r, tuple) else r.numpy()  # noqa: E731
    rows = {}
    if case.kind == "jacobian":
        rows["torch.func.jacrev"] = lambda: as_numpy(torch.func.jacrev(f, argnums)(*args))
        if sum(a.numel() for a in args) ** 2 * 8 <= BASIS_LIMIT:
            rows["torch.func.jacfwd"] = lambda: as_numpy(torch.func.jacfwd(f, argnums)(*args))
    elif case.kind == "grad":
        rows["torch.func.grad"] = lambda: as_numpy(torch.func.grad(f, argnums)(*args))

        def backward():
            leaves = [a.clone().requires_grad_(True) for a in args]
            f(*leaves).backward()
            return tuple(leaf.grad.numpy() for leaf in leaves)

        rows["torch backward"] = backward
    else:
        rows["torch.func.hessian"] = lambda: as_numpy(torch.func.hessian(f, argnums)(*args))
    return rows


def autograd_rows(case: Case, notes: list) -> dict:
    try:
        import autograd
        import autograd.numpy as anp
    except ImportError:
        notes.append("HIPS autograd not installed")
        return {}
    f = case.twin(anp, np.asarray)
    argnum = list(range(len(case.args))) if len(case.args) > 1 else 0
    transform = {"jacobian": autograd.jacobian, "grad": autograd.grad, "hessian": autograd.hessian}[
        case.kind
    ]
    derivative = transform(f, argnum)
    return {"autograd": lambda: derivative(*case.args)}


# ---- timing -----------------------------------------------------------------------------
def cpu_time(fn, batches: int) -> dict:
    start = time.process_time()
    fn()  # warm-up: td.jit records, caches fill
    first = time.process_time() - start
    start, calls = time.process_time(), 0
    while time.process_time() - start < BATCH_SECONDS / 2:
        fn()
        calls += 1
    per_batch = max(1, int(calls * BATCH_SECONDS / max(time.process_time() - start, 1e-9)))
    times = []
    for _ in range(batches):
        start = time.process_time()
        for _ in range(per_batch):
            fn()
        times.append((time.process_time() - start) / per_batch)
    return {"seconds": statistics.median(times), "first": first, "calls": per_batch}


def agree(got, want, name) -> None:
    if isinstance(want, tuple):
        for g, w in zip(got, want, strict=True):
            agree(g, w, name)
        return
    got = np.asarray(got)
    assert got.shape == want.shape, f"{name}: shape {got.shape}, expected {want.shape}"
    scale = max(1.0, float(np.abs(want).max(initial=0.0)))
    np.testing.assert_allclose(got, want, rtol=1e-8, atol=1e-10 * scale, err_msg=name)


def run_case(case: Case, batches: int) -> dict:
    notes: list[str] = []
    rows = tensordiff_rows(case)
    for source in (jax_rows, torch_rows, autograd_rows):
        rows.update(source(case, notes))
    expected = case.floor()
    results = {}
    for name, fn in rows.items():
        agree(fn(), expected, name)
        results[name] = cpu_time(fn, batches)
        if name in OURS:
            results[name]["peak_bytes"] = run.peak_bytes(fn)
    return {
        "case": case.name,
        "size": case.size,
        "kind": case.kind,
        "results": results,
        "notes": notes,
    }


LIBRARIES = {"JAX": "jax.", "PyTorch": "torch", "autograd": "autograd"}


def fastest(results: dict, prefix: str):
    """The fastest row whose name starts with ``prefix``: (name, seconds) or None."""
    rows = [(r["seconds"], name) for name, r in results.items() if name.startswith(prefix)]
    return min(rows)[::-1] if rows else None


def report(entries) -> str:
    head = [
        "case",
        "size",
        "floor µs",
        "td eager",
        "td.jit",
        *LIBRARIES,
        "td.jit / fastest peer",
        "td eager / autograd",
        "peak KiB: floor, eager, jit",
    ]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * 2 + "---:|" * (len(head) - 2)]
    for e in entries:
        results = e["results"]
        floor = results["floor"]["seconds"]
        cells = [e["case"], e["size"], f"{floor * 1e6:.1f}"]
        cells += [f"{results[name]['seconds'] / floor:.2f}" for name in ("td eager", "td.jit")]
        peers = []
        for prefix in LIBRARIES.values():
            best = fastest(results, prefix)
            cells.append(f"{best[1] / floor:.2f} ({best[0]})" if best else "–")
            peers += [best[1]] if best else []
        cells.append(f"{results['td.jit']['seconds'] / min(peers):.2f}" if peers else "–")
        autograd = results.get("autograd")
        cells.append(
            f"{results['td eager']['seconds'] / autograd['seconds']:.2f}" if autograd else "–"
        )
        cells.append(", ".join(f"{results[n]['peak_bytes'] / 1024:.0f}" for n in OURS))
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    lines.append(
        "After `floor µs`: CPU time as a multiple of the floor's; for each peer library its"
        " fastest transform (named)."
    )
    notes = sorted({n for e in entries for n in e["notes"]})
    return "\n".join(lines + [f"* {n}" for n in notes])


def versions() -> str:
    found = [f"Python {platform.python_version()}", f"NumPy {np.__version__}"]
    for package in ("jax", "torch", "autograd", "opt_einsum"):
        try:
            found.append(f"{package} {importlib.metadata.version(package)}")
        except importlib.metadata.PackageNotFoundError:
            pass
    return f"{platform.processor() or platform.machine()}, " + ", ".join(found)


def compare(before: str, quick: bool, batches: int) -> str:
    """Each case timed with the tensordiff of the source tree ``before`` and with this
    one, in fresh processes that alternate case by case (so a change in the machine's
    load falls on both alike); a table of both, ratios to each run's own floor."""
    import subprocess
    import sys
    import tempfile

    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    names = list(dict.fromkeys(case.name for case in cases(quick)))
    found = {"before": [], "after": []}
    with tempfile.TemporaryDirectory() as scratch:
        for name in names:
            for side, tree in (("before", before), ("after", here)):
                path = os.path.join(scratch, "out.json")
                command = [sys.executable, __file__, "--only", name, "--json", path]
                command += ["--batches", str(batches)] + (["--quick"] if quick else [])
                print(f"{side}: {name} ...", flush=True)
                env = {**os.environ, "PYTHONPATH": tree}
                subprocess.run(command, env=env, check=True, capture_output=True)
                with open(path) as results:
                    found[side] += json.load(results)
    lines = [
        "| case | size | floor µs | td eager × floor (before → after) | td.jit × floor"
        " (before → after) | fastest peer × floor | td.jit / fastest peer | td eager / autograd |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for old, new in zip(found["before"], found["after"], strict=True):
        was, now = old["results"], new["results"]
        floor_was, floor_now = was["floor"]["seconds"], now["floor"]["seconds"]
        peers = [p for p in (fastest(now, prefix) for prefix in LIBRARIES.values()) if p]
        peer, seconds = min(peers, key=lambda p: p[1])
        changes = [
            f"{was[name]['seconds'] / floor_was:.2f} → {now[name]['seconds'] / floor_now:.2f}"
            for name in ("td eager", "td.jit")
        ]
        eager = now["td eager"]["seconds"]
        cells = [
            new["case"], new["size"], f"{floor_now * 1e6:.1f}", *changes,
            f"{seconds / floor_now:.2f} ({peer})",
            f"{now['td.jit']['seconds'] / seconds:.2f}",
            f"{eager / now['autograd']['seconds']:.2f}" if "autograd" in now else "–",
        ]  # fmt: skip
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="the smaller size of each case")
    parser.add_argument("--batches", type=int, default=7)
    parser.add_argument("--only", help="run the cases whose name contains this text")
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    parser.add_argument(
        "--before", metavar="TREE", help="compare with the tensordiff of another source tree"
    )
    args = parser.parse_args()
    if args.before:
        print(versions())
        print(compare(args.before, args.quick, args.batches))
        return
    entries = []
    for case in cases(args.quick):
        if args.only and args.only not in case.name:
            continue
        print(f"running {case.name} ({case.size}) ...", flush=True)
        entries.append(run_case(case, args.batches))
    print()
    print(versions())
    print(report(entries))
    if args.json:
        with open(args.json, "w") as out:
            json.dump(entries, out, indent=2)


if __name__ == "__main__":
    main()
