"""Printed formulas are executable: parse J.formula back and evaluate it with einsum.

For every case of the operations table (non-square shapes, every label its own
size) the text of ``J.formula`` is parsed — deltas, named factors with their
labels, Σ over summed letters, coefficients, sums of terms — and evaluated on
the arrays behind the named factors. The result must equal the Jacobian, so a
formula that mislabels an index or drops a transpose cannot pass.
"""

import re

import numpy as np
import pytest

import tensordiff as td
from cases import cases
from tensordiff.render import factor_table, number

CASES = cases()
_SUBSCRIPT_DIGITS = "₀₁₂₃₄₅₆₇₈₉"


def split_top(text: str, separators: tuple[str, ...]) -> list[str]:
    """Split at separators that are not inside brackets, keeping the separator's sign."""
    parts, depth, start, n = [], 0, 0, 0
    while n < len(text):
        ch = text[n]
        depth += ch in "([" and 1 or 0
        depth -= ch in ")]" and 1 or 0
        hit = next((s for s in separators if depth == 0 and text.startswith(s, n)), None)
        if hit:
            parts.append(text[start:n])
            start = n + len(hit) if hit.strip() != "−" else n + len(hit) - 2
            n += len(hit)
            if hit.strip() == "−":
                start = n
                parts.append("−")
            continue
        n += 1
    parts.append(text[start:])
    merged = []
    for part in parts:
        if merged and merged[-1] == "−":
            merged[-1] = "−" + part
        else:
            merged.append(part)
    return merged


def evaluate(J) -> np.ndarray:
    _, rhs = J.formula.split(" = ", 1)
    term_texts = split_top(rhs, (" + ", " − "))
    tables = factor_table(J)
    assert len(term_texts) == len(tables) == len(J.terms), (rhs, len(J.terms))
    total = np.zeros(J.shape)
    for text, table in zip(term_texts, tables, strict=True):
        total += evaluate_term(text.strip(), table, J)
    return total


def evaluate_term(text: str, table: dict, J) -> np.ndarray:
    coefficient = 1.0
    if text.startswith("−"):
        coefficient, text = -1.0, text[1:].lstrip()
    tokens = split_top(text, (" ",))
    operands = []  # (array, labels)
    deltas = []
    for token in tokens:
        if not token:
            continue
        if token.startswith("Σ_"):
            continue  # summed letters are simply absent from the output
        if token.startswith("δ["):
            deltas.append(token[2:-1].split(","))
        elif token in table:
            operands.append(table[token])
        else:
            coefficient *= number(token.strip("()"))
    sizes = infer_sizes(J, operands, deltas)
    for group in deltas:
        n = sizes[group[0]]
        delta = np.zeros((n,) * len(group))
        delta[(np.arange(n),) * len(group)] = 1.0
        operands.append((delta, group))
    output, final = [], []
    for label, size in zip(J.indices, J.shape, strict=True):
        pieces = sorted(
            p for p in sizes if re.fullmatch(re.escape(label) + f"[{_SUBSCRIPT_DIGITS}]+", p)
        )
        output += pieces or [label]
    for label in output:
        sizes.setdefault(label, 1)
    present = [label for label in output if any(label in labels for _, labels in operands)]
    letters = dict.fromkeys([label for _, labels in operands for label in labels] + output)
    symbols = {label: chr(ord("A") + n) for n, label in enumerate(letters)}
    spec = ",".join("".join(symbols[lb] for lb in labels) for _, labels in operands)
    spec += "->" + "".join(symbols[lb] for lb in present)
    arrays = [np.asarray(a, dtype=float) for a, _ in operands]
    value = np.einsum(spec, *arrays) if operands else np.ones(())
    value = value.reshape([sizes[lb] if lb in present else 1 for lb in output])
    value = np.broadcast_to(value, [sizes[lb] for lb in output])
    return coefficient * value.reshape(J.shape)


def infer_sizes(J, operands, deltas) -> dict[str, int]:
    sizes = dict(zip(J.indices, J.shape, strict=True))
    for array, labels in operands:
        sizes.update(zip(labels, np.shape(array), strict=True))
    for _ in range(4):
        for group in deltas:
            known = [sizes[l] for l in group if l in sizes]
            if known:
                sizes.update({l: known[0] for l in group})
        for label, size in zip(J.indices, J.shape, strict=True):
            pieces = [
                p
                for p in {l for g in deltas for l in g} | set(sizes)
                if re.fullmatch(re.escape(label) + f"[{_SUBSCRIPT_DIGITS}]+", p)
            ]
            unknown = [p for p in pieces if p not in sizes]
            if len(unknown) == 1:
                sizes[unknown[0]] = size // int(np.prod([sizes[p] for p in pieces if p in sizes]))
    return sizes


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_printed_formula_evaluates_to_the_jacobian(case, rng):
    args = [rng.uniform(case["low"], case["high"], size=shape) for shape in case["shapes"]]
    for argnum in range(len(args)):
        J = td.jacobian(case["f"], argnums=argnum)(*args)
        np.testing.assert_allclose(
            evaluate(J), np.asarray(J), rtol=1e-10, atol=1e-12, err_msg=J.formula
        )


@pytest.mark.parametrize(
    "f, expected",
    [
        (lambda W: W @ np.arange(4.0), "∂f[i]/∂W[j,k] = δ[i,j] K1[k]"),
        (lambda x: np.tanh(x), "∂f[i]/∂x[j] = δ[i,j] (1 − tanh²(x))[i]"),
        (lambda x: np.sum(x * x), "∂f/∂x[i] = (2 x[i])"),
        (lambda x: x.T, "∂f[i,j]/∂x[k,l] = δ[i,l] δ[j,k]"),
        (lambda x: np.mean(x, axis=0), "∂f[i]/∂x[j,k] = (1/3) δ[i,k]"),
    ],
)
def test_golden_formulas(f, expected):
    assert (
        td.jacobian(f)(
            np.ones((3, 4))
            if "W" in expected or "k,l" in expected or "j,k" in expected
            else np.ones(3)
        ).formula
        == expected
    )


def test_named_jacobians_and_closures_read_like_the_source():
    x = np.arange(1.0, 5.0)
    b = np.ones(3)

    def layer(W):
        return np.tanh(W @ x + b)

    J = td.jacobian(layer)(np.ones((3, 4)))
    assert J.formula == "∂layer[i]/∂W[j,k] = δ[i,j] (1 − tanh²(W x + b))[i] x[k]"
    assert J.named("V", "W").formula.startswith("∂V[i]/∂W[j,k] = ")
