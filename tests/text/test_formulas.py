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
from cases import cases

import tensordiff as td
from tensordiff.text.matrix_form import matrix_form
from tensordiff.text.notation import factor_table, number

CASES = cases()
_SUBSCRIPT_DIGITS = "₀₁₂₃₄₅₆₇₈₉"


def split_top(text: str, separator: str) -> list[str]:
    """Split ``text`` at ``separator`` where it is not inside brackets."""
    parts, depth, start = [], 0, 0
    for n, ch in enumerate(text):
        depth += (ch in "([") - (ch in ")]")
        if depth == 0 and text.startswith(separator, n) and n >= start:
            parts.append(text[start:n])
            start = n + len(separator)
    return parts + [text[start:]]


def signed_terms(rhs: str) -> list[str]:
    """The terms of a sum, a subtracted term keeping its "−" in front."""
    terms = []
    for chunk in split_top(rhs, " + "):
        pieces = split_top(chunk, " − ")
        terms += [pieces[0]] + ["−" + piece for piece in pieces[1:]]
    return terms


def evaluate(J) -> np.ndarray:
    _, rhs = J.formula.split(", where ", 1)[0].split(" = ", 1)
    term_texts = signed_terms(rhs)
    tables = factor_table(J)
    assert len(tables) == len(J.terms), (rhs, len(J.terms))
    if len(tables) == 1 and f"({rhs})" in tables[0]:
        term_texts = [f"({rhs})"]  # one term that is one sum prints without its bracket
    if len(term_texts) != len(tables):  # factors common to the terms taken out: s[i] (δ − …)
        table = {text: entry for table in tables for text, entry in table.items()}
        return evaluate_sum(rhs, table, J)
    total = np.zeros(J.shape)
    for text, table in zip(term_texts, tables, strict=True):
        total += evaluate_term(text.strip(), table, J)
    return total


def evaluate_sum(text: str, table: dict, J) -> np.ndarray:
    """A sum of terms over the Jacobian's labels, each term's factors found in ``table``."""
    return sum(evaluate_term(term.strip(), table, J) for term in signed_terms(text))


def evaluate_term(text: str, table: dict, J) -> np.ndarray:
    coefficient = 1.0
    if text.startswith("−"):
        coefficient, text = -1.0, text[1:].lstrip()
    operands, deltas = [], []  # operands: (array, labels)
    tokens = []
    for token in split_top(text, " "):  # (Σ_a y[a]) s[i]: a bracketed Σ of a product
        inner = token[1:-1]
        bracketed_product = token.startswith("(Σ_") and len(signed_terms(inner)) == 1
        tokens += split_top(inner, " ") if bracketed_product else [token]
    for token in _table_factors(tokens, table):
        if not token or token.startswith("Σ_"):
            continue  # summed letters are simply absent from the output
        if token == "/":
            continue  # a divisor's table entry holds its reciprocal already
        if token.startswith("δ["):
            deltas.append(token[2:-1].split(","))
        elif token in table:
            operands.append(table[token])
        elif token.startswith("(") and len(signed_terms(token[1:-1])) > 1:
            operands.append((evaluate_sum(token[1:-1], table, J), list(J.indices)))
        else:
            coefficient *= number(token.strip("()"))
    sizes = infer_sizes(J, operands, deltas)
    for group in deltas:
        n = sizes[group[0]]
        delta = np.zeros((n,) * len(group))
        delta[(np.arange(n),) * len(group)] = 1.0
        operands.append((delta, group))
    output = []
    for label in J.indices:
        output += sorted(p for p in sizes if is_piece(p, label)) or [label]
    present = [name for name in output if any(name in labels for _, labels in operands)]
    letters = dict.fromkeys([name for _, labels in operands for name in labels] + output)
    symbols = {name: chr(ord("A") + n) for n, name in enumerate(letters)}
    spec = ",".join("".join(symbols[name] for name in labels) for _, labels in operands)
    spec += "->" + "".join(symbols[name] for name in present)
    arrays = [np.asarray(array, dtype=float) for array, _ in operands]
    value = np.einsum(spec, *arrays) if operands else np.ones(())
    value = value.reshape([sizes[name] if name in present else 1 for name in output])
    value = np.broadcast_to(value, [sizes[name] for name in output])
    return coefficient * value.reshape(J.shape)


def _table_factors(tokens: list[str], table: dict) -> list[str]:
    """``tokens`` with each run that prints one factor joined (a sum's common factors
    taken out print one factor as several tokens: ``s[i,j] (K[j,l] − Σ_a …)``)."""
    joined, n = [], 0
    while n < len(tokens):
        ends = [m for m in range(len(tokens), n + 1, -1) if " ".join(tokens[n:m]) in table]
        end = ends[0] if ends else n + 1
        joined.append(" ".join(tokens[n:end]))
        n = end
    return joined


def is_piece(name: str, label: str) -> bool:
    """``i₀`` is a piece of the composite axis ``i`` (a structured reshape)."""
    return re.fullmatch(re.escape(label) + f"[{_SUBSCRIPT_DIGITS}]+", name) is not None


def all_pieces(label: str, seen: list[str]) -> list[str]:
    """Pieces are numbered from the major end: ``k₁`` seen alone (a tile's copies are ``k₀``,
    constant along the Jacobian) means ``k₀`` and ``k₁``; ``k₀`` alone means a minor ``k₁``."""
    if not seen:
        return []
    last = max(int("".join(str(_SUBSCRIPT_DIGITS.index(d)) for d in p[len(label) :])) for p in seen)
    count = max(last + 1, 2)
    return [label + "".join(_SUBSCRIPT_DIGITS[int(d)] for d in str(n)) for n in range(count)]


def infer_sizes(J, operands, deltas) -> dict[str, int]:
    sizes = dict(zip(J.indices, J.shape, strict=True))
    for array, labels in operands:
        sizes.update(zip(labels, np.shape(array), strict=True))
    mentioned = {name for group in deltas for name in group}
    for _ in range(4):
        for group in deltas:
            known = [sizes[name] for name in group if name in sizes]
            if known:
                sizes.update(dict.fromkeys(group, known[0]))
        for label, size in zip(J.indices, J.shape, strict=True):
            pieces = all_pieces(label, [p for p in mentioned | set(sizes) if is_piece(p, label)])
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
        (
            lambda W: W @ np.arange(4.0),
            "∂f[i]/∂W[j,k] = δ[i,j] K1[k], where K1 = a constant array, none of the arguments",
        ),
        (lambda x: np.tanh(x), "∂f[i]/∂x[j] = δ[i,j] (1 − tanh²(x))[i]"),
        (lambda x: np.sum(x * x), "∂f/∂x[i] = 2 x[i]"),
        (lambda x: x.T, "∂f[i,j]/∂x[k,l] = δ[i,l] δ[j,k]"),
        (lambda x: np.mean(x, axis=0), "∂f[i]/∂x[j,k] = (1/3) δ[i,k]"),
        (lambda x: np.cos(x), "∂f[i]/∂x[j] = −δ[i,j] sin(x)[i]"),
        (lambda x: 1 / x, "∂f[i]/∂x[j] = −δ[i,j] / x²[i]"),
        (lambda x: np.mean(x), "∂f/∂x[i] = 1/3"),
        (lambda x: np.sum(2 * x), "∂f/∂x[i] = 2"),
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


def test_hessian_formula_is_the_textbook_one():
    x, y = np.arange(1.0, 5.0), np.zeros(3)
    H = td.hessian(lambda W: np.sum((W @ x - y) ** 2))(np.ones((3, 4)))
    assert H.formula == "∂²f/∂W[i,j]∂W[k,l] = 2 δ[i,k] x[j] x[l]"


@pytest.mark.parametrize(
    "f, shape",
    [
        (lambda W: np.sum((W @ np.arange(1.0, 5.0)) ** 2), (3, 4)),
        (lambda x: np.sum(np.tanh(x) ** 3), (4,)),
        (lambda x: np.sum(np.outer(x, x) ** 2), (3,)),
    ],
)
def test_printed_hessian_formula_evaluates_to_the_hessian(f, shape, rng):
    H = td.hessian(f)(rng.normal(size=shape))
    assert H.formula.startswith("∂²f/")
    np.testing.assert_allclose(
        evaluate(H), np.asarray(H), rtol=1e-10, atol=1e-12, err_msg=H.formula
    )


LEFTOVERS = {
    "an ASCII minus": r"-(?!>)",
    "a unit factor": r"(^|[ (])−?1 [A-Za-z(δΣ√]",
    "a product with 1": r"\d 1($|[ )\]])",
    "a double sign": r"[+−] −",
    "a sign inside a factor after another factor": r"[\]\w)] −[\w(]+\[",
}


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_signs_and_units_are_folded(case, rng):
    args = [rng.uniform(case["low"], case["high"], size=shape) for shape in case["shapes"]]
    for argnum in range(len(args)):
        J = td.jacobian(case["f"], argnums=argnum)(*args)
        rhs = J.formula.partition(", where ")[0].split(" = ", 1)[1]
        for what, pattern in LEFTOVERS.items():
            assert not re.search(pattern, rhs), f"{what} in {J.formula}"
        # no internal index placeholder leaks into either form
        assert "⟨" not in J.formula + (matrix_form(J) or ""), (J.formula, matrix_form(J))
