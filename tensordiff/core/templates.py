"""Symbolic names of factors, kept beside the numbers so formulas cannot drift.

A factor's name is a *template*: text in which every index is a class
placeholder ``⟨17⟩``. ``x[⟨3⟩]`` is the vector x over class 3; a product of
factors with a summed class is ``Σ_⟨9⟩ W[⟨5⟩,⟨9⟩] x[⟨9⟩]``. When contraction
renames, unifies or splits classes, the placeholders are rewritten the same
way, and rendering finally replaces each class with the label it carries.
"""

import functools
import re
from collections.abc import Iterable, Mapping, Sequence

import numpy as np

__all__ = [
    "grouped",
    "leaf",
    "product",
    "sum_of",
    "substitute",
    "classes_in",
    "render",
    "defined",
    "meaning_of",
    "flattened",
    "definitions_in",
    "replace_defined",
]

# A negated factor: a minus sign directly on a name or a bracket (not "− 1", not "−1").
_NEGATED = re.compile(r"[−-](?=[A-Za-z_(\u0370-\u03ff])")
_PLACEHOLDER = re.compile(r"⟨(\d+)⟩")
# A symbol defined in the formula's legend: ⦃g|[x > 0]⦄ prints as g (see :func:`defined`).
_DEFINED = re.compile(r"⦃([^|⦃⦄]*)\|([^⦃⦄]*)⦄")


def _slot(c: int) -> str:
    return f"⟨{c}⟩"


@functools.lru_cache(maxsize=4096)
def grouped(expr: str) -> str:
    """``expr`` in parentheses if it is compound, so it can stand as one operand.

    >>> grouped("W x"), grouped("tanh(W x)"), grouped("(a + b)"), grouped("x")
    ('(W x)', 'tanh(W x)', '(a + b)', 'x')
    """
    if " " not in expr or _one_bracket(expr) or _DEFINED.fullmatch(expr):
        return expr
    return f"({expr})"


def _one_bracket(expr: str) -> bool:
    """True for ``(…)`` or ``name(…)`` whose first parenthesis closes at the very end.

    >>> _one_bracket("f(a) (b)"), _one_bracket("f(g(a) b)")
    (False, True)
    """
    start = expr.find("(")
    if start < 0 or not expr.endswith(")"):
        return False
    head = expr[:start]
    if head and not head.replace(".", "").replace("_", "").isalnum():
        return False
    # The nesting depth after each character, counted in C: expressions grow with the
    # depth of the traced function, and a loop here made tracing quadratic in Python.
    # (In UTF-8 no byte of another character equals "(" or ")".)
    text = np.frombuffer(expr[start:].encode(), dtype=np.uint8)
    depth = np.cumsum((text == ord("(")).astype(np.int64) - (text == ord(")")))
    return bool(depth[-1] == 0 and depth[:-1].min(initial=1) > 0)


def leaf(name: str, classes: Sequence[int]) -> str:
    """``name[⟨c1⟩,⟨c2⟩]``, or just ``name`` for a scalar.

    >>> leaf("x", [3])
    'x[⟨3⟩]'
    """
    name = grouped(name)  # a compound name stands as one factor
    if not classes:
        return name
    return f"{name}[{','.join(_slot(c) for c in classes)}]"


def product(templates: Iterable[str], summed: Iterable[int] = ()) -> str:
    """The product of factor templates, with a Σ over ``summed`` classes in front; the
    signs of negated factors are gathered in front, so ``a −b`` reads ``−a b``.

    >>> product(["e[⟨1⟩]", "−K[⟨2⟩]"]), product(["−a", "−b"]), product(["x", "−1"])
    ('−e[⟨1⟩] K[⟨2⟩]', 'a b', '−x')
    """
    negative, factors = False, []
    for template in templates:
        if not template:
            continue
        if template in ("−1", "-1"):  # a unit sign: folded into the product's own
            negative = not negative
            continue
        if _NEGATED.match(template):
            negative, template = not negative, template[1:]
        factors.append(template)
    body = " ".join(factors) or "1"
    if negative:
        body = "−" + body
    summed = list(dict.fromkeys(summed))
    if summed:
        body = "Σ_" + ",".join(_slot(c) for c in summed) + " " + body
    return body


def sum_of(templates: Iterable[str]) -> str:
    """``(a + b)``, written so that ``a + −b`` reads ``a − b``."""
    parts = list(templates)
    if len(set(parts)) == 1:
        return f"({len(parts)} {parts[0]})"
    text = parts[0]
    for part in parts[1:]:
        text += " − " + part[1:] if part.startswith(("-", "−")) else " + " + part
    return f"({text})"


def substitute(template: str, mapping: Mapping[int, Sequence[int]]) -> str:
    """Replace each class placeholder by the classes ``mapping`` gives (comma-joined).

    >>> substitute("x[⟨1⟩] y[⟨12⟩,⟨1⟩]", {1: (12,), 12: (1, 2)})
    'x[⟨12⟩] y[⟨1⟩,⟨2⟩,⟨12⟩]'
    """
    moved = {c: to for c, to in mapping.items() if tuple(to) != (c,)}
    if not any(d in moved for to in moved.values() for d in to):
        # No replacement is replaced again: one str.replace per moved class, in C. A
        # name repeats a class once per layer of a deep function; a Python callback per
        # occurrence made each contraction linear in the depth in Python.
        for c, to in moved.items():
            template = template.replace(_slot(c), ",".join(_slot(d) for d in to))
        return template

    def replace(match: re.Match) -> str:
        c = int(match.group(1))
        return ",".join(_slot(d) for d in mapping.get(c, (c,)))

    return _PLACEHOLDER.sub(replace, template)


def classes_in(template: str) -> list[int]:
    """The classes a template mentions, in order of first appearance."""
    return list(_classes_in(template))


@functools.lru_cache(maxsize=65536)
def _classes_in(template: str) -> tuple[int, ...]:
    return tuple(dict.fromkeys(int(c) for c in _PLACEHOLDER.findall(template)))


def render(template: str, labels: Mapping[int, str]) -> str:
    """The template with each class replaced by its label.

    >>> render("Σ_⟨9⟩ W[⟨5⟩,⟨9⟩] x[⟨9⟩]", {5: "i", 9: "a"})
    'Σ_a W[i,a] x[a]'
    """
    return _PLACEHOLDER.sub(lambda m: labels[int(m.group(1))], template)


def defined(symbol: str, meaning: str) -> str:
    """A quantity with no name of the user's, printed as ``symbol`` and defined in the
    formula's "where" legend as ``symbol = meaning``. Distinct meanings never share a
    printed symbol: the printer numbers them (``g₁``, ``g₂``).

    >>> defined("g", "[x > 0]")
    '⦃g|[x > 0]⦄'
    >>> grouped(defined("w", "[v = max(v)] / #ties"))
    '⦃w|[v = max(v)] / #ties⦄'
    """
    return f"⦃{symbol}|{meaning_of(meaning)}⦄"


def meaning_of(text: str) -> str:
    """``text`` with each defined symbol written out as its meaning (a meaning may use
    another quantity, as in ``[|x| > 1]``; the legend then needs no second symbol).

    >>> meaning_of("2 ⦃g|[x > 0]⦄")
    '2 [x > 0]'
    """
    return _DEFINED.sub(lambda m: m.group(2), text)


def definitions_in(text: str) -> list[tuple[str, str]]:
    """The (symbol, meaning) pairs of the defined symbols in ``text``, in order.

    >>> definitions_in("⦃g|[x > 0]⦄[⟨1⟩] + ⦃g|[y > 0]⦄[⟨1⟩]")
    [('g', '[x > 0]'), ('g', '[y > 0]')]
    """
    return _DEFINED.findall(text)


def replace_defined(text: str, symbols: Mapping[tuple[str, str], str]) -> str:
    """``text`` with each defined symbol printed as ``symbols[(symbol, meaning)]``.

    >>> replace_defined("⦃g|[x > 0]⦄[⟨1⟩]", {("g", "[x > 0]"): "g₁"})
    'g₁[⟨1⟩]'
    """
    return _DEFINED.sub(lambda m: symbols[m.group(1), m.group(2)], text)


def flattened(text: str) -> str:
    """``text`` with every defined symbol inside another one's meaning written out, so
    each meaning reads in the user's names only.

    >>> flattened("⦃s|[⦃g|[x > 0]⦄ ≥ 0] − [⦃g|[x > 0]⦄ < 0]⦄ y")
    '⦃s|[[x > 0] ≥ 0] − [[x > 0] < 0]⦄ y'
    """
    out, depth = [], 0
    for ch in text:
        if ch == "⦃":
            depth += 1
            if depth > 1:
                out.append("\0")  # an inner symbol starts: its meaning follows the "|"
                continue
        elif ch == "⦄":
            depth -= 1
            if depth > 0:
                continue
        out.append(ch)
    # drop each inner "symbol|" prefix, marked by \0 above
    return re.sub(r"\x00[^|⦃⦄]*\|", "", "".join(out))
