"""Random programs mixing ndarray methods, NumPy functions and linear algebra, against JAX.

Each step is written once over a module ``n`` (numpy or jax.numpy), so the same program
runs traced by tensordiff and under jax.jacobian; the Jacobians must agree.
"""

import numpy as np
from differences import central_differences
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tensordiff as td

RNG = np.random.default_rng(1212)
SMOOTH = {
    "tanh": lambda n, v: n.tanh(v),
    "sin": lambda n, v: n.sin(v),
    "exp": lambda n, v: n.exp(0.3 * v),
    "softplus": lambda n, v: n.logaddexp(0.0, v),
    "arctan": lambda n, v: n.arctan(v),
    "hypot": lambda n, v: n.hypot(v, 1.0),
    "sinc": lambda n, v: n.sinc(v),
    "square-method": lambda n, v: (v * v).copy() - v.conj(),
    "max-cos": lambda n, v: n.maximum(v, n.cos(v) + 0.01),
    "interp": lambda n, v: n.interp(v, n.array([-2.0, -0.4, 0.3, 2.0]), n.array([1.0, 0, 2, 3])),
    "copysign": lambda n, v: n.copysign(v, -1.0) + n.ldexp(v, 1),
    "modf": lambda n, v: n.modf(2.0 * v)[0] + n.divmod(v, 0.6)[1],
}


def _step(data, shape):
    """Draw one operation applicable to a value of ``shape``: (function of n and v, shape)."""
    kinds = ["smooth", "scale"]
    if len(shape) >= 1:
        kinds += ["reduce", "cumulative", "sort", "flip-roll", "concat", "repeat", "where"]
        kinds += ["quantile", "gradient", "insert", "delete"]
    if len(shape) == 2:
        kinds += ["transpose", "matmul", "linalg", "svd", "diagonal", "tile", "qr", "lstsq"]
    if len(shape) == 1:
        kinds += ["outer", "vector-norm"]
    if not shape:
        kinds += ["broadcast"]
    kind = data.draw(st.sampled_from(kinds), label="kind")
    if kind == "smooth":
        name = data.draw(st.sampled_from(sorted(SMOOTH)), label="smooth")
        return SMOOTH[name], shape
    if kind == "scale":
        c = data.draw(st.floats(0.3, 2.0), label="c")
        return (lambda n, v: v * c - v / 3.0), shape
    if kind == "broadcast":
        constant = RNG.uniform(0.5, 1.5, size=(2, 3))
        return (lambda n, v: v * constant + constant), (2, 3)
    axis = data.draw(st.integers(0, len(shape) - 1), label="axis") if shape else None
    if kind == "reduce":
        method = data.draw(st.sampled_from(["sum", "mean", "max", "min", "prod", "var", "std"]))
        keep = data.draw(st.booleans(), label="keepdims")
        new = tuple(1 if k == axis else s for k, s in enumerate(shape) if keep or k != axis)
        if method == "std":  # √var is not differentiable where all entries are equal
            return (lambda n, v: (v + 0.1 * v * v).std(axis=axis, keepdims=keep)), new
        return (lambda n, v: getattr(v, method)(axis=axis, keepdims=keep)), new
    if kind == "cumulative":
        method = data.draw(st.sampled_from(["cumsum", "cumprod"]), label="cumulative")
        return (lambda n, v: getattr(v, method)(axis=axis)), shape
    if kind == "sort":
        return (lambda n, v: n.sort(v, axis=axis)), shape
    if kind == "flip-roll":
        shift = data.draw(st.integers(-2, 2), label="shift")
        return (lambda n, v: n.roll(n.flip(v, axis), shift, axis=axis)), shape
    if kind == "concat":
        new = tuple(2 * s if k == axis else s for k, s in enumerate(shape))
        return (lambda n, v: n.concatenate([v, n.tanh(v)], axis=axis)), new
    if kind == "repeat":
        new = tuple(2 * s if k == axis else s for k, s in enumerate(shape))
        return (lambda n, v: v.repeat(2, axis=axis)), new
    if kind == "where":
        mask = RNG.uniform(size=shape) > 0.5
        return (lambda n, v: n.where(mask, v, -0.5 * v * v)), shape
    if kind == "quantile":
        q = data.draw(st.sampled_from([0.1, 0.5, 0.75]), label="q")
        new = tuple(s for k, s in enumerate(shape) if k != axis)
        return (lambda n, v: n.quantile(v, q, axis=axis)), new
    if kind == "gradient":  # NumPy needs two entries along the axis (edge_order + 1)
        if shape[axis] < 2:
            return (lambda n, v: v), shape
        return (lambda n, v: n.gradient(v, 0.5, axis=axis)), shape
    if kind == "insert":
        new = tuple(s + 1 if k == axis else s for k, s in enumerate(shape))
        return (lambda n, v: n.insert(v, 1, n.take(n.sin(v), 0, axis=axis), axis=axis)), new
    if kind == "delete":
        new = tuple(s - 1 if k == axis else s for k, s in enumerate(shape))
        return (lambda n, v: n.delete(v, 0, axis=axis) if shape[axis] > 1 else v), (
            new if shape[axis] > 1 else shape
        )
    if kind == "qr":

        def r_factor(n, v):
            tall = v if shape[0] >= shape[1] else v.T
            return n.linalg.qr(tall + 2.0 * n.eye(*tall.shape))[1]  # full rank

        return r_factor, (min(shape), min(shape))
    if kind == "lstsq":
        rows = shape[0]
        return (lambda n, v: n.linalg.lstsq(v @ v.T + n.eye(rows), v, rcond=None)[0]), shape
    if kind == "transpose":
        return (lambda n, v: v.T), shape[::-1]
    if kind == "matmul":
        k = data.draw(st.integers(1, 3), label="k")
        constant = RNG.normal(size=(shape[1], k))
        return (lambda n, v: v.dot(constant)), (shape[0], k)
    if kind == "linalg":
        op = data.draw(st.sampled_from(["inv", "solve", "det", "slogdet", "cholesky", "eigvalsh"]))
        rows = shape[0]
        return _linalg(op, rows), _linalg_shape(op, shape)
    if kind == "svd":
        return (lambda n, v: n.linalg.svd(v, compute_uv=False)), (min(shape),)
    if kind == "diagonal":
        return (lambda n, v: v.diagonal()), (min(shape),)
    if kind == "tile":
        return (lambda n, v: n.tile(v, (1, 2))), (shape[0], 2 * shape[1])
    if kind == "outer":
        return (lambda n, v: n.outer(v, n.cos(v))), (shape[0], shape[0])
    return (lambda n, v: n.linalg.norm(v + 1.0)), ()


def _linalg(op, rows):
    """A linear-algebra step on the well-conditioned Gram matrix ``v vᵀ + I``."""

    def gram(n, v):
        return v @ v.T + n.eye(rows)

    steps = {
        "inv": lambda n, v: n.linalg.inv(gram(n, v)),
        "solve": lambda n, v: n.linalg.solve(gram(n, v), v),
        "det": lambda n, v: n.linalg.det(gram(n, v)),
        "slogdet": lambda n, v: n.linalg.slogdet(gram(n, v))[1],
        "cholesky": lambda n, v: n.linalg.cholesky(gram(n, v)),
        "eigvalsh": lambda n, v: n.linalg.eigvalsh(gram(n, v)),
    }
    return steps[op]


def _linalg_shape(op, shape):
    rows = shape[0]
    return {"solve": shape, "det": (), "slogdet": (), "eigvalsh": (rows,)}.get(op, (rows, rows))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_mixed_programs_match_jax(data, jax):
    shape = tuple(data.draw(st.lists(st.integers(2, 3), min_size=1, max_size=2), label="shape"))
    steps, current = [], shape
    for _ in range(data.draw(st.integers(1, 5), label="length")):
        step, current = _step(data, current)
        steps.append(step)

    def program(n):
        def run(x):
            for step in steps:
                x = step(n, x)
            return x

        return run

    x = RNG.uniform(-1.0, 1.0, size=shape)
    ours = np.asarray(td.jacobian(program(np))(x))
    theirs = np.asarray(jax.jacobian(program(jax.numpy))(jax.numpy.asarray(x)))
    assert ours.shape == theirs.shape
    if np.isnan(theirs).any() and not np.isnan(ours).any():
        # JAX's lstsq differentiates through an SVD, NaN at the repeated singular value 1 of
        # v vᵀ + I when v has one column; ours (constant rank) is finite: differences decide
        np.testing.assert_allclose(ours, central_differences(program(np), x), atol=1e-6)
        return
    np.testing.assert_allclose(ours, theirs, rtol=1e-8, atol=1e-10)
