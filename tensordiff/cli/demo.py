"""``tensordiff demo``: what ∂V/∂W and ∂E/∂W are, for V = W x and E = ‖W x − y‖².

Every formula printed here is read off the structure of the computed tensors
(see :mod:`tensordiff.text.notation`), and every claim is checked against the
numbers before it is printed.
"""

import numpy as np

from tensordiff.derivatives import chain, grad, jacobian
from tensordiff.explain import explain
from tensordiff.tensor import contract
from tensordiff.text.notation import entity, index_notation

__all__ = ["demo_text"]


def _matrix(array: np.ndarray, indent: str = "      ") -> str:
    text = np.array2string(np.asarray(array), precision=3, suppress_small=True, floatmode="fixed")
    return "\n".join(indent + line for line in text.splitlines())


def _check(label: str, ours, theirs) -> str:
    error = float(np.max(np.abs(np.asarray(ours) - np.asarray(theirs)), initial=0.0))
    if error > 1e-12:
        raise AssertionError(f"demo check failed: {label} (max error {error:.3g})")
    return f"   check: {label} — max |difference| = {error:.1e}"


def demo_text(m: int = 3, n: int = 4, seed: int = 0) -> str:
    """The demo's text for a random W (m×n), x (n) and y (m)."""
    rng = np.random.default_rng(seed)
    W, x, y = (
        rng.normal(size=(m, n)).round(2),
        rng.normal(size=n).round(2),
        rng.normal(size=m).round(2),
    )
    V = W @ x
    dV_dW = jacobian(lambda W: W @ x, out="i", wrt="jk")(W).named("V", "W")
    dE_dV = jacobian(lambda V: np.sum((V - y) ** 2), out=(), wrt="i")(V).named("E", "V")
    dE_dW = chain(dE_dV, dV_dW)

    def E(W):
        return np.sum((W @ x - y) ** 2)

    explanation = explain(E, wrt="jk")(W)
    delta_form = np.einsum("ij,k->ijk", np.eye(m), x)

    lines = [
        "tensordiff demo — what is ∂E/∂W when W is a matrix?",
        "",
        f"A random point (seed {seed}):  W ∈ ℝ^{m}×{n},  x ∈ ℝ^{n},  y ∈ ℝ^{m}",
        "   V = W x                  a vector, shape " + str(V.shape),
        "   E = ‖W x − y‖² = Σ_i (V − y)[i]²    a scalar",
        "W =",
        _matrix(W),
        f"x = {np.array2string(x, precision=3)}    y = {np.array2string(y, precision=3)}",
        "",
        "1. ∂V/∂W is an " + entity(dV_dW, 1, "V", "W"),
        f"   entries:  {dV_dW.formula}",
        "   (V[i] = Σ_k W[i,k] x[k] depends on W[j,k] only when j = i: that is the δ)",
        f"   stored: {dV_dW.stored_nbytes} bytes (x and one δ) for a dense array of"
        f" {dV_dW.size} entries",
        "   slice i = 0, the matrix ∂V[0]/∂W[j,k]:",
        _matrix(np.asarray(dV_dW)[0]),
        _check("equals δ[i,j] x[k] built densely with np.einsum", dV_dW, delta_form),
        "",
        "2. ∂E/∂V is an " + entity(dE_dV, 0, "E", "V"),
        f"   entries:  {dE_dV.formula}",
        f"   values: {np.array2string(np.asarray(dE_dV), precision=3)}",
        "",
        "3. ∂E/∂W is an " + entity(dE_dW, 0, "E", "W") + " — W's own shape",
        "   The chain rule is a contraction over V's label i:",
        "      ∂E/∂W[j,k] = Σ_i ∂E/∂V[i] ∂V[i]/∂W[j,k]",
        f"                 = Σ_i {index_notation(dE_dV)} {index_notation(dV_dW)}",
        f"                 = {index_notation(dE_dW)}",
        "   as an einsum: 'i,ijk->jk'. The δ[i,j] is eliminated by relabelling i → j,",
        f"   so the {dV_dW.shape} array is never formed.",
        f"   In matrix form:  ∂E/∂W = 2 (W x − y) xᵀ   (an outer product, shape {W.shape})",
        "   values:",
        _matrix(np.asarray(dE_dW)),
        _check("td.chain(∂E/∂V, ∂V/∂W) equals 2 (W x − y) xᵀ", dE_dW, 2 * np.outer(V - y, x)),
        _check(
            "equals td.grad(E)(W) computed directly",
            dE_dW,
            grad(lambda W: np.sum((W @ x - y) ** 2))(W),
        ),
        _check(
            "equals the dense contraction np.einsum('i,ijk->jk', ∂E/∂V, ∂V/∂W)",
            contract(dE_dV, dV_dW),
            np.einsum("i,ijk->jk", np.asarray(dE_dV), np.asarray(dV_dW)),
        ),
        _check("td.explain(E) gives the same tensor", explanation.jacobian, dE_dW),
        "   Every step of this chain, one contraction per intermediate:",
        f'     tensordiff explain "sum((W @ x - y)**2)" --wrt W --shape W={m},{n}'
        f" --shape x={n} --shape y={m}",
        "",
        "So: ∂V/∂W is an order-3 array; ∂E/∂W has W's shape; and the operation linking",
        "them in the chain is a contraction (an einsum) over the intermediate's labels —",
        "a matrix product only when each side has exactly one shared index.",
    ]
    return "\n".join(lines)
