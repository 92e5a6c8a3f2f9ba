"""Index-notation text as LaTeX: ``∂V[i]/∂W[j,k] = δ[i,j] x[k]`` → ``\\frac{∂V_{i}}{...}``."""

import re

__all__ = ["to_latex"]

_SYMBOLS = [
    ("∂", r"\partial "),
    ("δ", r"\delta"),
    ("Σ_", r"\sum_"),
    ("⊙", r"\odot"),
    ("⊗", r"\otimes"),
    ("−", "-"),
    ("·", r"\cdot"),
    ("ᵀ", r"^{\top}"),
    ("⁻¹", "^{-1}"),
    ("²", "^{2}"),
    ("√", r"\sqrt"),
    ("tanh", r"\tanh"),
    ("exp", r"\exp"),
    ("log", r"\log"),
    ("sin", r"\sin"),
    ("cos", r"\cos"),
    ("det", r"\det"),
    ("vec ", r"\operatorname{vec} "),
]
_SUBSCRIPT_DIGITS = str.maketrans("₀₁₂₃₄₅₆₇₈₉", "0123456789")


def to_latex(text: str) -> str:
    r"""The LaTeX of a formula printed by tensordiff.

    >>> to_latex("∂V[i]/∂W[j,k] = δ[i,j] x[k]")
    '\\frac{\\partial V_{i}}{\\partial W_{jk}} = \\delta_{ij}\\,x_{k}'
    """
    text = re.sub(r"\[([^\[\]]*)\]", lambda m: "_{" + _indices(m.group(1)) + "}", text)
    text = " = ".join(_fraction(side) for side in text.split(" = "))
    for symbol, replacement in _SYMBOLS:
        text = text.replace(symbol, replacement)
    text = re.sub(r"(\}) (?=[A-Za-z\\(])", r"\1\\,", text)
    return text.translate(_SUBSCRIPT_DIGITS)


def _fraction(side: str) -> str:
    """``∂A/∂B`` (with A, B possibly parenthesised) as ``\\frac{∂A}{∂B}``."""
    if not side.startswith("∂"):
        return side
    depth = 0
    for n, ch in enumerate(side):
        depth += (ch in "({") - (ch in ")}")
        if depth == 0 and side.startswith("/∂", n):
            rest = side[n + 1 :]
            end = _token_end(rest)
            return r"\frac{" + side[:n] + "}{" + rest[:end] + "}" + rest[end:]
    return side


def _token_end(text: str) -> int:
    """Where the first token (brackets balanced) of ``text`` ends."""
    depth = 0
    for n, ch in enumerate(text):
        depth += (ch in "({") - (ch in ")}")
        if depth == 0 and ch == " ":
            return n
    return len(text)


def _indices(inside: str) -> str:
    labels = [label.strip() for label in inside.split(",")]
    joiner = "" if all(len(label) == 1 for label in labels) else ","
    return joiner.join(labels)
