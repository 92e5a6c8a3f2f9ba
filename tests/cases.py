"""The table of supported operations used by the tests, with a JAX twin for each.

Every label gets its own size (2, 3, 4, 5, ...) so a swapped axis cannot pass.
Each case is (id, numpy function, jax-numpy function or None, argument shapes, value range).
"""

import inspect

import numpy as np

MASK = np.array([[True, False, True, True], [False, False, True, False], [True, True, False, True]])


def _case(name, f, shapes, jf=None, low=-2.0, high=2.0):
    return {"id": name, "f": f, "jf": jf, "shapes": shapes, "low": low, "high": high}


def cases(jnp=None):
    """The cases; with ``jnp`` (jax.numpy) given, each case also builds its JAX twin."""
    n = jnp if jnp is not None else np
    table = [
        # ---- arithmetic, broadcasting, scalars and arrays on either side --------------
        _case("add", lambda x, y: x + y, [(3, 4), (4,)]),
        _case("add-scalar-left", lambda x: 2.5 + x, [(3, 4)]),
        _case("radd-ndarray-left", lambda x: np.arange(4.0) + x, [(3, 4)]),
        _case("subtract", lambda x, y: x - y, [(3, 1), (1, 4)]),
        _case("rsub-scalar", lambda x: 1.0 - x, [(3,)]),
        _case("rsub-ndarray", lambda x: np.linspace(0, 1, 4) - x, [(2, 4)]),
        _case("multiply", lambda x, y: x * y, [(2, 3, 4), (3, 1)]),
        _case("multiply-same", lambda x: x * x, [(3, 2)]),
        _case("divide", lambda x, y: x / y, [(3, 4), (4,)], low=0.5, high=2.0),
        _case("rdivide-scalar", lambda x: 3.0 / x, [(4,)], low=0.5, high=2.0),
        _case("power-scalar", lambda x: x**3, [(2, 3)]),
        _case("power-half", lambda x: x**0.5, [(3,)], low=0.5, high=2.0),
        _case("power-array", lambda x, y: x**y, [(3, 4), (4,)], low=0.5, high=2.0),
        _case("rpower", lambda x: 2.0**x, [(3,)]),
        _case("negative", lambda x: -x, [(2, 3)]),
        _case("reciprocal", lambda x: n.reciprocal(x), [(4,)], low=0.5, high=2.0),
        _case("np-power", lambda x, y: n.power(x, y), [(3,), (3,)], low=0.5, high=2.0),
        # ---- elementwise functions ------------------------------------------------------
        _case("exp", lambda x: n.exp(x), [(2, 3)]),
        _case("log", lambda x: n.log(x), [(2, 3)], low=0.5, high=3.0),
        _case("log1p", lambda x: n.log1p(x), [(4,)], low=0.0, high=3.0),
        _case("expm1", lambda x: n.expm1(x), [(4,)]),
        _case("sqrt", lambda x: n.sqrt(x), [(3, 2)], low=0.5, high=3.0),
        _case("square", lambda x: n.square(x), [(3, 2)]),
        _case("abs", lambda x: n.abs(x), [(5,)]),
        _case("sin", lambda x: n.sin(x), [(2, 3)]),
        _case("cos", lambda x: n.cos(x), [(2, 3)]),
        _case("tan", lambda x: n.tan(x), [(2, 3)], low=-1.0, high=1.0),
        _case("sinh", lambda x: n.sinh(x), [(4,)]),
        _case("cosh", lambda x: n.cosh(x), [(4,)]),
        _case("tanh", lambda x: n.tanh(x), [(2, 3, 4)]),
        _case("maximum", lambda x, y: n.maximum(x, y), [(3, 4), (4,)]),
        _case("minimum", lambda x, y: n.minimum(x, y), [(3, 4), (3, 1)]),
        _case("maximum-constant", lambda x: n.maximum(x, 0.0), [(5,)]),
        # ---- products ----------------------------------------------------------------------
        _case("matvec", lambda W, x: W @ x, [(3, 4), (4,)]),
        _case("vecmat", lambda x, W: x @ W, [(3,), (3, 4)]),
        _case("matmat", lambda A, B: A @ B, [(2, 3), (3, 4)]),
        _case("vecvec", lambda x, y: x @ y, [(4,), (4,)]),
        _case("batched-matmul", lambda A, B: n.matmul(A, B), [(5, 2, 3), (3, 4)]),
        _case("broadcast-batch", lambda A, B: A @ B, [(2, 1, 3, 4), (5, 4, 2)]),
        _case("dot-matvec", lambda A, x: n.dot(A, x), [(3, 4), (4,)]),
        _case("dot-nd", lambda A, B: n.dot(A, B), [(2, 3, 4), (5, 4, 2)]),
        _case("dot-scalar", lambda A: n.dot(A, 2.0), [(2, 3)]),
        _case("method-dot", lambda A: A.dot(np.linspace(-1, 1, 12).reshape(3, 4)), [(2, 3)]),
        _case("inner", lambda A, B: n.inner(A, B), [(2, 4), (3, 4)]),
        _case("outer", lambda x, y: n.outer(x, y), [(3,), (2, 2)]),
        _case("tensordot-int", lambda A, B: n.tensordot(A, B, axes=2), [(2, 3, 4), (3, 4, 5)]),
        _case(
            "tensordot-pairs",
            lambda A, B: n.tensordot(A, B, axes=([0, 2], [2, 0])),
            [(2, 3, 4), (4, 5, 2)],
        ),
        _case("einsum-matmul", lambda A, B: n.einsum("ij,jk->ik", A, B), [(2, 3), (3, 4)]),
        _case("einsum-trace", lambda A: n.einsum("ii->", A), [(3, 3)]),
        _case("einsum-diagonal", lambda A: n.einsum("ii->i", A), [(3, 3)]),
        _case("einsum-implicit", lambda A, B: n.einsum("ij,kj", A, B), [(2, 3), (4, 3)]),
        _case(
            "einsum-ellipsis",
            lambda A, B: n.einsum("...ij,...jk->...ik", A, B),
            [(5, 2, 3), (3, 4)],
        ),
        _case("einsum-three", lambda A, x, y: n.einsum("ij,j,i->", A, x, y), [(3, 4), (4,), (3,)]),
        _case("einsum-repeat-operand", lambda A: n.einsum("ij,ij->i", A, A), [(3, 4)]),
        _case(
            "einsum-interleaved",
            lambda A, B: n.einsum(A, [0, 1], B, [1, 2], [0, 2]),
            [(2, 3), (3, 4)],
        ),
        _case("einsum-outer-sum", lambda x: n.einsum("i,j->", x, x), [(3,)]),
        # ---- axis permutations ------------------------------------------------------------
        _case("transpose", lambda A: n.transpose(A), [(2, 3, 4)]),
        _case("transpose-axes", lambda A: n.transpose(A, (1, 2, 0)), [(2, 3, 4)]),
        _case("T", lambda A: A.T, [(2, 3)]),
        _case("method-transpose", lambda A: A.transpose(2, 0, 1), [(2, 3, 4)]),
        _case("swapaxes", lambda A: n.swapaxes(A, 0, 2), [(2, 3, 4)]),
        _case("moveaxis", lambda A: n.moveaxis(A, 0, -1), [(2, 3, 4)]),
        # ---- reductions -------------------------------------------------------------------
        _case("sum", lambda A: n.sum(A), [(2, 3)]),
        _case("sum-axis", lambda A: n.sum(A, axis=1), [(2, 3, 4)]),
        _case("sum-axes-keepdims", lambda A: n.sum(A, axis=(0, 2), keepdims=True), [(2, 3, 4)]),
        _case("sum-negative-axis", lambda A: A.sum(axis=-1), [(2, 3)]),
        _case("add-reduce", lambda A: np.add.reduce(A), [(2, 3)], jf=lambda A: A.sum(axis=0)),
        _case("mean", lambda A: n.mean(A), [(2, 3)]),
        _case("mean-axis-keepdims", lambda A: A.mean(axis=0, keepdims=True), [(2, 3)]),
        # ---- shapes -------------------------------------------------------------------------
        _case("reshape-flatten", lambda A: n.reshape(A, (6,)), [(2, 3)]),
        _case("reshape-split", lambda A: A.reshape(2, 2, 3), [(4, 3)]),
        _case("reshape-regroup", lambda A: A.reshape(4, 6), [(2, 12)]),
        _case("reshape-transposing", lambda A: A.reshape(3, 2), [(2, 3)]),
        _case("reshape-minus-one", lambda A: A.reshape(-1, 2), [(3, 4)]),
        _case("ravel", lambda A: n.ravel(A), [(2, 3, 4)]),
        _case("expand-dims", lambda A: n.expand_dims(A, 1), [(2, 3)]),
        _case("squeeze", lambda A: n.squeeze(A), [(2, 1, 3)]),
        _case("broadcast-to", lambda x: n.broadcast_to(x, (2, 3, 4)), [(3, 1)]),
        # ---- reductions beyond sums -------------------------------------------------------
        _case("max", lambda A: n.max(A), [(2, 3)]),
        _case("max-axis", lambda A: n.max(A, axis=1), [(2, 3, 4)]),
        _case("amin-keepdims", lambda A: n.amin(A, axis=0, keepdims=True), [(3, 2)]),
        _case("prod", lambda A: n.prod(A, axis=-1), [(2, 3)]),
        _case("prod-all", lambda A: n.prod(A), [(2, 2)]),
        _case("cumsum-axis", lambda A: n.cumsum(A, axis=1), [(2, 3)]),
        _case("cumsum-flat", lambda A: n.cumsum(A), [(2, 3)]),
        _case("clip", lambda A: n.clip(A, -0.5, 0.7), [(3, 4)]),
        _case("logaddexp", lambda x, y: n.logaddexp(x, y), [(3, 4), (4,)]),
        # ---- indexing and assembly ------------------------------------------------------------
        _case("index-int", lambda A: A[1], [(2, 3, 4)]),
        _case("index-slices", lambda A: A[:, 1:, ::-2], [(2, 3, 4)]),
        _case("index-newaxis-ellipsis", lambda A: A[None, ..., 2], [(2, 3, 4)]),
        _case("index-int-array", lambda A: A[n.array([2, 0, 2])], [(3, 4)]),
        _case("index-mixed", lambda A: A[:, n.array([2, 0]), 1:3], [(2, 3, 4)]),
        _case("index-mask", lambda A: A[MASK], [(3, 4)]),
        _case("iterate-rows", lambda A: sum(row * k for k, row in enumerate(A)), [(3, 4)]),
        _case("take-axis", lambda A: n.take(A, n.array([3, 1]), axis=1), [(2, 4)]),
        _case("take-flat", lambda A: n.take(A, n.array([[0, 5], [7, 2]])), [(2, 4)]),
        _case("concatenate", lambda A, B: n.concatenate([A, B], axis=1), [(2, 3), (2, 4)]),
        _case("concatenate-constant", lambda A: n.concatenate([n.ones((1, 4)), A]), [(2, 4)]),
        _case("stack", lambda A, B: n.stack([A, B * B], axis=1), [(2, 3), (2, 3)]),
        _case("split", lambda A: n.split(A, [1, 3], axis=1)[1] * 2.0, [(2, 5)]),
        _case("flip", lambda A: n.flip(A, axis=1), [(2, 3)]),
        _case("roll", lambda A: n.roll(A, 2, axis=1), [(2, 4)]),
        _case("roll-flat", lambda A: n.roll(A, 3), [(2, 4)]),
        _case("pad", lambda A: n.pad(A, ((1, 0), (2, 1))), [(2, 3)]),
        _case("where", lambda A, B: n.where(MASK, A, B), [(3, 4), (4,)]),
        _case("trace", lambda A: n.trace(A), [(3, 3)]),
        _case("trace-offset", lambda A: n.trace(A, offset=1), [(3, 4)]),
        _case("diagonal", lambda A: n.diagonal(A, 0, 1, 2), [(2, 3, 3)]),
        _case("diagonal-offset", lambda A: n.diagonal(A, -1), [(4, 3)]),
        _case("diag-vector", lambda v: n.diag(v), [(3,)]),
        _case("diag-vector-offset", lambda v: n.diag(v, 1), [(3,)]),
        _case("diag-matrix", lambda A: n.diag(A), [(3, 4)]),
        # ---- linear algebra (SPD inputs are A Aᵀ + c I; symmetric ones A + Aᵀ) ------------
        _case("inv", lambda A: n.linalg.inv(A + 3 * n.eye(3)), [(3, 3)]),
        _case("inv-batched", lambda A: n.linalg.inv(A + 3 * n.eye(3)), [(2, 3, 3)]),
        _case("det", lambda A: n.linalg.det(A), [(3, 3)]),
        _case("det-batched", lambda A: n.linalg.det(A), [(2, 3, 3)]),
        _case("slogdet", lambda A: n.linalg.slogdet(A + 3 * n.eye(3))[1], [(3, 3)]),
        _case("solve-vector", lambda A, b: n.linalg.solve(A + 3 * n.eye(3), b), [(3, 3), (3,)]),
        _case("solve-matrix", lambda A, B: n.linalg.solve(A + 3 * n.eye(3), B), [(3, 3), (3, 2)]),
        _case("norm", lambda A: n.linalg.norm(A), [(2, 3)]),
        _case("norm-axis", lambda A: n.linalg.norm(A, axis=0), [(2, 3)]),
        _case("norm-vector-1", lambda x: n.linalg.norm(x, 1), [(4,)]),
        _case("norm-vector-inf", lambda x: n.linalg.norm(x, n.inf), [(4,)]),
        _case("kron", lambda A, B: n.kron(A, B), [(2, 3), (3, 2)]),
        _case("cholesky", lambda A: n.linalg.cholesky(A @ A.T + 3 * n.eye(3)), [(3, 3)]),
        _case("eigh-values", lambda A: n.linalg.eigh(A + A.T)[0], [(3, 3)]),
        _case("eigh-vectors", lambda A: n.linalg.eigh(A + A.T)[1] ** 2, [(3, 3)]),
        _case("logdet-spd", lambda A: n.log(n.linalg.det(A @ A.T + n.eye(3))), [(3, 3)]),
        # ---- compositions ---------------------------------------------------------------------
        _case("layer", lambda W, x, b: n.tanh(W @ x + b), [(3, 4), (4,), (3,)]),
        _case("squared-error", lambda W, x, y: n.sum((W @ x - y) ** 2), [(3, 4), (4,), (3,)]),
        _case("W-times-W", lambda W: W @ W, [(3, 3)]),
        _case("gram", lambda W: W.T @ W, [(3, 2)]),
        _case("shared-intermediate", lambda x: (lambda h: h * n.sin(h) + h.sum())(x * 2.0), [(4,)]),
        _case("softmax", lambda z: n.exp(z) / n.sum(n.exp(z)), [(4,)]),
        _case("logsumexp", lambda z: n.log(n.sum(n.exp(z), axis=-1)), [(2, 3)]),
        _case("mlp", lambda W1, W2, X: n.mean(n.tanh(X @ W1) @ W2), [(4, 3), (3, 2), (5, 4)]),
    ]
    if "upper" in inspect.signature(np.linalg.cholesky).parameters:  # NumPy ≥ 2.0
        table.append(
            _case(
                "cholesky-upper",
                lambda A: n.linalg.cholesky(A @ A.T + n.eye(3), upper=True),
                [(3, 3)],
                jf=lambda A: n.linalg.cholesky(A @ A.T + n.eye(3)).T,
            )
        )
    for case in table:
        if case["jf"] is None:
            case["jf"] = case["f"]
    return table
