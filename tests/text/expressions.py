"""The expressions whose printed formulas and explanations the text tests check.

Each is NumPy source over one argument (``x`` or ``X``) and the user's arrays in
:data:`USER`; :data:`CORPUS` pairs each with its argument's name and a point.
"""

import numpy as np

rng = np.random.default_rng(7)
A = rng.normal(size=(3, 4))
M = rng.normal(size=(3, 3)) + 3.0 * np.eye(3)
W = rng.normal(size=(2, 3))
u = rng.normal(size=3)
c = rng.normal(size=4)
d = rng.uniform(0.5, 2.0, size=3)
USER = {"A": A, "M": M, "W": W, "u": u, "c": c, "d": d}

# points: a vector with a tie at 0.5 and a 0, a positive vector, a matrix
x3 = np.array([0.5, -1.25, 0.0])
p3 = np.array([0.7, 1.3, 2.1])
X = rng.normal(size=(3, 4))
S3 = rng.normal(size=(3, 3)) + 3.0 * np.eye(3)
SINGULAR = np.array([[1.0, 2.0, 3.0], [2.0, 4.0, 6.0], [1.0, 0.0, 1.0]])  # rank 2

ELEMENTWISE = [
    "np.exp(x)", "np.log(x)", "np.sqrt(x)", "np.tanh(x)", "np.sin(x)", "np.cos(x)",
    "np.sinh(x)", "np.cosh(x)", "np.square(x)", "x ** 3", "x ** 0.5", "1 / x", "2.0 ** x",
    "np.log1p(x)", "np.expm1(x)", "np.arctan(x)", "np.reciprocal(x)", "-x", "x * x",
    "x / d", "d / x", "x * d", "x - d", "d - x", "np.hypot(x, d)", "np.logaddexp(x, d)",
    "x ** d", "d ** x", "np.exp(np.sin(x))", "np.tanh(W.T @ np.tanh(W @ x))",
    "1 / (1 + np.exp(-x))", "np.reciprocal(np.exp(-1 * x) + 1)", "1 / (1 + np.exp(x))",
    "2 / (1 + np.exp(-x))", "np.sum((1 / (1 + np.exp(-x)) - d) ** 2)",
    "np.log(np.sum(np.exp(x)))", "np.sqrt(x * x + 1)",
    "np.abs(x) * x", "np.log2(x)", "np.log10(x)", "np.cbrt(x)",
    "x * 2.5e-12", "x * -3e-8", "x * 1e20", "np.sqrt(x + 1e-5)", "x ** -2", "x ** 2.5",
]  # fmt: skip
MASKS = [
    "np.where(x > 1, x, 0.1 * x)", "np.where(x > 1, x * x, -x)", "x * (x > 1)",
    "np.maximum(x, 1.3)", "np.minimum(x, 1.3)", "np.maximum(x, 0.7) * x",
    "np.clip(x, 0.8, 2.0)", "np.fmax(x, 1.3)", "np.fmin(x, 1.3)", "np.maximum(x, d)",
    "np.where(np.sum(x) > 0, x, -x)", "np.abs(x - 1.3)", "np.where(x < d, d, x)",
    "np.maximum(x - 1.3, 0.0) ** 2", "np.sum(np.maximum(x, 1.3))", "np.max(x) * x",
    "np.min(x) * x", "np.max(x * x)", "np.sum(np.abs(x - d))",
]  # fmt: skip
LINEAR = [
    "W @ x", "x @ M", "M @ x", "M.T @ x", "x @ M.T", "np.flip(u) * x", "x * u[::-1]",
    "np.sum(x * np.flip(u))", "x @ u[::-1]", "np.dot(u, x)", "np.outer(x, u)",
    "np.outer(u, x)",  "np.einsum('ij,j->i', M, x)",
    "np.einsum('i,i->', x, u)", "np.einsum('ji,j->i', M, x)", "x @ M @ x",
    "W @ (x * x)", "np.sum((W @ x - 1.0) ** 2)", "np.sum(x) * u", "np.mean(x) * x",
    "np.cumsum(x)", "np.diff(x)", "np.flip(x)", "x[::-1]", "x[1:]", "x[::2]", "x[[2, 0]]",
    "np.concatenate([x, u])", "np.stack([x, u])", "np.roll(x, 1)", "np.tile(x, 2)",
    "np.repeat(x, 2)", "x[0] * x", "x[2] * u", "np.linalg.norm(x)",
    "np.linalg.norm(x) ** 2", "np.sum(x ** 2) / 2",
    "np.trace(np.outer(x, x))", "np.diag(np.outer(x, u))",
    "np.tensordot(M, x, axes=1)", "np.inner(M, x)", "np.matmul(x, M.T)",
    "np.exp(x) / np.sum(np.exp(x))", "np.exp(x - np.max(x)) / np.sum(np.exp(x - np.max(x)))",
    "np.exp(x - np.max(x)) / np.sum(np.exp(x - np.min(x)))", "np.exp(x) / np.sum(np.exp(2 * x))",
    "-np.sum(d * np.log(np.exp(x) / np.sum(np.exp(x))))", "x - np.log(np.sum(np.exp(x)))",
    "np.max(x) + np.log(np.sum(np.exp(x - np.max(x))))",
    "np.min(x) + np.log(np.sum(np.exp(x - np.max(x))))",
    "-np.sum(d * (x - np.max(x) - np.log(np.sum(np.exp(x - np.max(x))))))",
    "x / np.linalg.norm(x)", "np.log(np.exp(x) / np.sum(np.exp(x)))",
    "np.cross(x, u)", "np.cross(u, x)", "np.cross(x, np.sin(x))", "np.var(x)", "np.std(x)",
    "(x - np.mean(x)) / np.std(x)", "(x - np.mean(x)) / np.sqrt(np.var(x) + 1e-5)",
    "np.var(x, ddof=1)",
    "np.array([x[1], x[0]])", "np.array([[x[0], 0], [0, x[1]]])", "np.asarray(x) * u",
    "np.array([x, u]) * 2", "np.r_[x, 0, u]", "np.sin(x[np.array([[0, 1], [1, 2]])])",
    "x[np.array([[0, 1], [1, 2]])] * x[0]", "np.mean((W @ x - 1.0) ** 2)",
    "np.mean(np.sin(x)) * 3",
    # issue 11's last cases: a layer norm whose mean is computed twice, cross-entropy
    # written with log-sum-exp, a norm's 2 (1 / (2 √…)) folded, squares and cubes
    "(x - x.mean()) / np.sqrt(((x - np.mean(x)) ** 2).mean() + 1e-5)",
    "-np.sum(d * (x - np.log(np.sum(np.exp(x)))))", "np.sum(x ** 2) / 2 * np.linalg.norm(x)",
    "x / np.linalg.norm(x)", "x ** 3 - np.sum(x) ** 2", "np.sqrt(x) * np.sqrt(np.sum(x))",
    # rows, columns and ranges of the user's arrays print as the slice (they printed K1)
    "x * W[1]", "x * A[:, 1]", "x @ A[:, 1:]", "x * c[1:]", "x * c[::-1][:3]", "A[1:, ::2] @ x[:2]",
    # sums of contributions: numbers folded (0.5 (2 x)[i] is x[i]), matrix forms added
    "np.sum((A.T @ x - c) ** 2) + 0.5 * np.sum(x ** 2)",
    "np.sum(np.sin(x)) + u @ (M @ x) + 0.25 * np.sum((2 * x) ** 2)",
    # a power applies to the operand it follows: a / s² is no square of a / s (the matrix
    # form of this cross-entropy cancelled the two and printed p exp(x) for exp(x) / s)
    "-np.log(np.exp(x[1]) / np.sum(np.exp(x)))",
    "np.sum((A.T @ x - c) ** 2) - 3 * np.sum(np.log(x))", "0.5 * (x @ M @ x) - u @ x",
    "np.sum(x ** 2 + x)", "np.sum(-3 * np.log(x) + x)",
    # np.sqrt of an integer prints as √n
    "x / np.sqrt(2)", "np.sqrt(3) * x", "x * (1 / np.sqrt(3))", "A.T @ x / np.sqrt(x.shape[0])",
    "np.exp(x / np.sqrt(2)) / np.sum(np.exp(x / np.sqrt(2)))",
    # norms: ‖x‖ and the unit vector x̂ = x / ‖x‖
    "np.sqrt(np.sum(x ** 2))", "x / np.sqrt(np.sum(np.square(x)))", "np.linalg.norm(np.sin(x))",
    "np.linalg.norm(A.T @ x) * x", "np.sqrt(np.sum(x * x, axis=0))", "np.linalg.norm(x[::-1]) * x",
    "np.linalg.norm(x - u) ** 3", "(x - u) / np.linalg.norm(x - u)",
    # a layer between two others reads W diag(g) M; equal summands added (x + x is 2 x)
    "W @ np.tanh(M @ x)", "np.tanh(M @ x) @ A", "x @ x + 2 * (x @ u)",
    # a negated sum, negated part by part
    "-(np.sum(np.cos(x)) - np.sum(x * u))", "-(np.sum(M @ np.cos(x)) - np.sum(np.exp(M @ x)))",
    # a sum inside a term: reciprocals cancel (binary cross-entropy), powers divide, a
    # product in one bracket stands as it is
    "-np.sum(d * np.log(1 / (1 + np.exp(-x))) + np.log(1 - 1 / (1 + np.exp(-x))) * u)",
    "np.linalg.norm(x - u) ** 4", "np.sum(np.maximum(x, 0.9) * np.maximum(x, 0.9))",
    "np.maximum(x, 0.9) * np.maximum(x, 0.9)", "np.sum(np.exp(np.where(x > 1, x, 0.5 * x)))",
    "np.sum((np.mean(x - x) * x - x) ** 2)", "np.sum((np.mean(x - u) * x - u) ** 2)",
    "np.tanh(x) + x - x", "np.sum(np.tanh(x)) + np.sum(x - x)",
    # a negated operand of a matrix product in brackets (W −x read as a difference); a ⊙
    # product beside a matrix in brackets; user einsums as the products they are
    "np.tanh(W @ (-x))", "np.log(1 + (M @ x) * M @ x)", "np.einsum('i,ij->j', x, M)",
    "np.einsum('ij,j->ij', M, x)", "np.einsum('i,ij,j->', x, M, u)", "np.sort(x) * u",
    # a sum reads with equal summands added (2 (x − u), 3 x); a reshape that only puts
    # size-1 axes in front reads as what it reshapes (broadcasting puts them there)
    "np.tanh(x - u + x - u)", "np.sin(x + x + x)", "np.sin(x + np.reshape(np.sum(x), (1,)))",
    "x * np.expand_dims(np.sum(x), 0)", "np.sin(x - np.sum(x) + x - np.sum(x))",
]  # fmt: skip
MATRIX = [
    "X @ c", "np.tanh(X @ c)", "X.T @ u", "u @ X", "A * X", "X * X", "X.T", "np.transpose(X)",
    "X[::-1]", "X[:, ::-1]", "np.flip(X)", "X.ravel()", "X.reshape(4, 3)", "np.sum(X, axis=0)",
    "np.sum(X, axis=1)", "np.mean(X, axis=0)", "np.var(X, axis=1)", "np.std(X, axis=0)",
    "np.var(X, axis=(0, 1), keepdims=True)", "np.var(X)",
    "(X - np.mean(X, axis=1, keepdims=True)) / np.std(X, axis=1, keepdims=True)",
    "(X - np.mean(X, axis=1, keepdims=True)) / np.sqrt("
    "np.mean((X - np.mean(X, axis=1, keepdims=True)) ** 2, axis=1, keepdims=True) + 1e-5)",
    "(X - np.mean(X, axis=0)) / np.std(X, axis=0, ddof=1)",
    "(X - np.mean(X, axis=1, keepdims=True)) / np.std(X, axis=0, keepdims=True)",
    "np.max(X, axis=1)", "np.sum(X * A)",
    "np.sum(X ** 2)", "np.trace(X @ A.T)", "np.trace(X.T @ A)", "A.T @ X", "X @ A.T",
    "np.sum(np.tanh(X) * A)", "np.exp(X) / np.sum(np.exp(X), axis=1, keepdims=True)",
    "np.linalg.norm(X)", "X / np.linalg.norm(X)", "np.linalg.norm(X.T @ X)",
    "np.linalg.norm(X - A)", "np.where(X > 0, X, 0.01 * X)", "np.maximum(X, 0.0)",
    "np.einsum('ij,ij->i', X, A)", "np.einsum('ij->j', X)", "np.einsum('ij,kj->ik', X, A)",
    "X - np.mean(X, axis=1, keepdims=True)", "np.sum(np.abs(X))", "X[1]", "X[:, 2]",
    "np.diagonal(X)", "X[:2, 1:3]", "np.swapaxes(X, 0, 1)", "np.sum(X @ X.T)",
    "u @ X @ c", "np.sum(np.tanh(X @ c))", "u @ np.tanh(X @ c)", "np.outer(X @ c, u)",
    "np.sin(X.ravel())", "np.sin(X.reshape(2, 6))", "np.cos(X.reshape(6, 2)).T",
    "np.exp(X) / np.sum(np.exp(X), axis=0)", "np.exp(X) / np.sum(np.exp(X))",
    "np.log(np.sum(np.exp(X), axis=1))", "np.log(np.sum(np.exp(X), axis=0, keepdims=True))",
    "np.exp(X - np.max(X, axis=1, keepdims=True))"
    " / np.sum(np.exp(X - np.max(X, axis=1, keepdims=True)), axis=1, keepdims=True)",
    "np.exp(X - np.max(X, axis=0, keepdims=True))"
    " / np.sum(np.exp(X - np.max(X, axis=0, keepdims=True)), axis=1, keepdims=True)",
    "np.exp(X - np.max(X, axis=1, keepdims=True))"
    " / np.sum(np.exp(X - np.max(X, axis=0, keepdims=True)), axis=1, keepdims=True)",
    "np.exp(X / np.sqrt(X.shape[0]))"
    " / np.sum(np.exp(X / np.sqrt(X.shape[0])), axis=1, keepdims=True)",
    # attention: s[i,j] taken out of the sum inside its one term
    "np.exp(X @ A.T / np.sqrt(2)) / np.sum(np.exp(X @ A.T / np.sqrt(2)), axis=1, keepdims=True)",
    # a reshape that adds an axis at the end is no broadcast: it stays
    "np.sin(X + np.reshape(np.sum(X, axis=1), (3, 1)))",
]  # fmt: skip
SQUARE = [
    "np.linalg.inv(x)", "np.linalg.det(x)", "np.log(np.linalg.det(x))", "x @ x",
    "x.T @ x", "x @ M", "M @ x @ M", "np.trace(x)", "np.trace(x @ x)", "np.trace(M @ x)",
    "u @ x @ u", "np.linalg.solve(x, u)", "np.linalg.inv(x) @ u", "x + x.T",
    "np.sum(np.linalg.inv(x))", "np.linalg.slogdet(x)[1]", "np.trace(x.T @ x)",
    "np.linalg.matrix_power(x, 4)", "np.logaddexp.reduce(x, axis=1)",
    "np.trace(M @ x @ M.T)", "M @ x.T @ M", "np.linalg.inv(x) @ M", "np.outer(x @ u, u)",
    "np.exp(x) / np.sum(np.exp(x), axis=1)", "np.exp(x) / np.sum(np.exp(x), axis=0)",
    "np.linalg.inv(x + np.eye(3))", "np.log(np.linalg.det(x @ x.T + np.eye(3)))",
    "np.linalg.inv(x + np.eye(3)).T @ u", "np.linalg.norm(x) * x",
]  # fmt: skip
HESSIANS = [
    "np.sum(x ** 3)", "np.sum(np.exp(x))", "x @ M @ x", "np.sum(np.sin(x)) * np.sum(x)",
    "np.log(np.sum(np.exp(x)))", "np.sum(x * u) ** 2", "np.linalg.norm(x)",
    "np.sum(u * np.exp(x) / np.sum(np.exp(x)))", "np.sum(u / (1 + np.exp(-x)))",
    "np.max(x) + np.log(np.sum(np.exp(x - np.max(x))))",
    "np.sum(u * (x - np.log(np.sum(np.exp(x)))))",
    "np.sum((W @ x) ** 2)", "np.sum(np.tanh(x) ** 2)", "np.sum(np.cross(x, np.sin(x)))",
    "-np.sum(u * (x - np.log(np.sum(np.exp(x)))))", "np.sum((x - np.mean(x)) ** 4)",
    # second derivatives trace the rules' own numbers: their einsums read as products
    # (−(s · s) s, (1/3) sum(v)), 1/3 as a fraction, the rules' constants by their names
    # (S, L, M⁻¹, g, w), never K1
    "np.var(np.sin(x))", "np.linalg.norm(np.exp(x) / np.sum(np.exp(x)))",
    "np.sum(np.flip(x) ** 3)", "np.sum(np.cumsum(x) ** 2)", "np.sum(np.cumsum(np.sin(x)))",
    "np.log(np.sum(np.exp(np.sort(x))))", "np.sum(np.linalg.solve(M, x) ** 2)",
    "np.sum(np.maximum(x, 0.9) ** 2)", "np.max(np.sin(x))", "np.sum(np.tanh(np.mean(x) * x))",
    "np.sum(np.outer(x * d, np.outer(x, x) @ u) @ u)", "np.sum(np.log(1 + np.cumsum(x) ** 2))",
    "np.sum(np.sin(W.T @ np.tanh(W @ x)))", "np.sum(np.flip(np.mean(np.mean(x) * x) * x))",
    # equal summands added, numbers of one product multiplied, a number factor in front
    "np.sum(np.tanh(x - u + x - u))", "np.var(np.exp(x))", "np.trace(np.outer(x, x) @ M)",
]  # fmt: skip

# at a singular matrix the determinant's cofactors are minors' determinants (no inverse)
SINGULAR_HESSIANS = ["np.linalg.det(x)", "np.linalg.det(x) * np.sum(x)", "np.linalg.det(2 * x)"]
MATRIX_HESSIANS = [
    "np.log(np.linalg.det(x))", "np.linalg.slogdet(x)[1]", "np.sum(x ** 3)",
    "np.trace(x @ x)", "np.trace(M @ x @ x)", "np.sum(np.linalg.inv(x))",
    "np.trace(np.linalg.inv(x))", "np.linalg.norm(x)", "np.linalg.det(x)",
]  # fmt: skip

CORPUS = (
    [(source, "x", p3) for source in ELEMENTWISE]
    + [(source, "x", p3) for source in MASKS]
    + [(source, "x", x3) for source in MASKS[:6]]  # ties at the points x3 holds
    + [(source, "x", p3) for source in LINEAR]
    + [(source, "X", X) for source in MATRIX]
    + [(source, "x", S3) for source in SQUARE]
)


def function(source: str, argument: str):
    """The function ``lambda argument: source`` over the user's arrays."""
    return eval(f"lambda {argument}: {source}", {"np": np, **USER})
