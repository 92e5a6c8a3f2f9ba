"""Symbolic names of factors, kept beside the numbers so formulas cannot drift.

A factor's name is a *template*: text in which every index is a class
placeholder ``⟨17⟩``. ``x[⟨3⟩]`` is the vector x over class 3; a product of
factors with a summed class is ``Σ_⟨9⟩ W[⟨5⟩,⟨9⟩] x[⟨9⟩]``. When contraction
renames, unifies or splits classes, the placeholders are rewritten the same
way, and rendering finally replaces each class with the label it carries.

A long template is kept *deferred*: a :class:`Deferred` holds the parts a
product or sum is made of (and renamings of classes) and is written out only
when a formula is asked for. The names of a deep function's terms hold every
layer's expression; writing them at each step of the chain rule made it
quadratic (and cubic in reverse order) in the depth, while a deferred step
costs the number of its parts. Every function here takes either kind; use
:func:`text` where a ``str`` is needed.

A long *expression* (how a traced value reads: ``h + tanh(W h)``) stands in the
expressions built from it as a reference ``⟪5⟫`` (see :func:`intermediate`), printed as
a symbol (``z₁``) that the formula's legend defines. Copying it instead doubled the
text per layer wherever a value is used twice (a residual ``h + tanh(W h)``), which
made tracing exponential in the depth.
"""

import functools
import math
import re
import threading
from collections.abc import Iterable, Mapping, Sequence
from fractions import Fraction

import numpy as np

__all__ = [
    "slot",
    "Deferred",
    "grouped",
    "juxtaposed",
    "leaf",
    "product",
    "sum_of",
    "collected",
    "substitute",
    "reindexed",
    "classes_in",
    "render",
    "text",
    "number",
    "number_value",
    "superscript",
    "defined",
    "intermediate",
    "expression_of",
    "quantity",
    "is_reference",
    "exported",
    "imported",
    "readable",
    "symbol_of",
    "free_count",
    "bound_apart",
    "meaning_of",
    "flattened",
    "definitions_in",
    "replace_defined",
]

# A negated factor: a minus sign directly on a name or a bracket (not "− 1", not "−1").
_NEGATED = re.compile(r"[−-](?=[A-Za-z_(\u0370-\u03ff⟪])")
_PLACEHOLDER = re.compile(r"⟨(\d+)⟩")
# The transpose of a named matrix (or of its inverse): Aᵀ, X⁻¹ᵀ.
_TRANSPOSED = re.compile(r"([^\W\d_][\w₀-₉]*(?:⁻¹)?)ᵀ")
# A plain number as a factor, as :func:`number` writes it (2, −0.5, 10⁻⁵, 2.5·10⁻¹², √2),
# or a fraction (1/6, 1/√2)
_NUMBER = re.compile(
    r"[−-]?(?:√\d+|(?:\d+(?:\.\d*)?·)?10⁻?[⁰¹²³⁴⁵⁶⁷⁸⁹]+|\d+(?:\.\d*)?(?:e[−+-]?\d+)?)"
    r"(?:/√?\d+)?"
)
# Products and sums whose parts are longer than this in all are deferred.
EAGER_CHARACTERS = 1000
# A symbol defined in the formula's legend: ⦃g|[x > 0]⦄ prints as g (see :func:`defined`).
_DEFINED = re.compile(r"⦃([^|⦃⦄]*)\|([^⦃⦄]*)⦄")
# A reference to a long intermediate expression (see :func:`intermediate`).
_REFERENCE = re.compile(r"⟪(\d+)⟫")
_SYMBOL_OR_REFERENCE = re.compile(f"{_DEFINED.pattern}|{_REFERENCE.pattern}")
# Expressions longer than this are referred to by name in the expressions built on them.
INTERMEDIATE_CHARACTERS = 160
# The symbol an intermediate prints as (numbered when there are several: z₁, z₂), and
# that of a part of a formula used more than once (P₁[i,a], defined in the legend).
INTERMEDIATE_SYMBOL = "z"
SHARED_SYMBOL = "P"


def slot(c: int) -> str:
    """The placeholder of class ``c`` in a template: ``⟨17⟩``."""
    return f"⟨{c}⟩"


@functools.lru_cache(maxsize=4096)
def grouped(expr: str) -> str:
    """``expr`` in parentheses if it is compound, so it can stand as one operand.

    >>> grouped("W x"), grouped("tanh(W x)"), grouped("(a + b)"), grouped("x")
    ('(W x)', 'tanh(W x)', '(a + b)', 'x')
    >>> grouped("(X + I₃)⁻¹"), grouped("(a + b)²"), grouped("(a) (b)²")
    ('(X + I₃)⁻¹', '(a + b)²', '((a) (b)²)')
    >>> grouped("‖(X − W)‖_F"), grouped("‖(a)‖ ‖(b)‖"), grouped("2/3"), grouped("1/√2")
    ('‖(X − W)‖_F', '(‖(a)‖ ‖(b)‖)', '(2/3)', '(1/√2)')
    """
    if _FRACTION_NUMBER.fullmatch(expr):
        return f"({expr})"  # (1/3) x, not 1/3 x, which reads as 1 / (3 x)
    if " " not in expr or _DEFINED.fullmatch(expr.rstrip(_POWER_MARKS)) or _NORM.fullmatch(expr):
        return expr  # a defined symbol stands as one operand, transposed too: K1ᵀ
    # a bracket raised to a power or inverted, (X + I₃)⁻¹, is one operand too
    if _one_bracket(expr) or _one_bracket(expr.rstrip(_POWER_MARKS)):
        return expr
    return f"({expr})"


def juxtaposed(*operands: str) -> str:
    """The matrix product of ``operands`` written side by side, each one operand: a
    negated one in brackets, since ``W −x`` reads as a difference.

    >>> juxtaposed("W", "−x"), juxtaposed("Mᵀ", "x + u"), juxtaposed("2", "x")
    ('W (−x)', 'Mᵀ (x + u)', '2 x')
    """
    return " ".join(
        f"({e})" if e.startswith(("−", "-")) and not _NUMBER.fullmatch(e) else grouped(e)
        for e in operands
    )


_POWER_MARKS = "ᵀ⁻⁰¹²³⁴⁵⁶⁷⁸⁹"
# a number written as a fraction (see :func:`number`): 2/3, −1/√2
_FRACTION_NUMBER = re.compile(r"[−-]?\d+/√?\d+")
# a norm of one operand, ‖x‖, ‖(X − W)‖_F, perhaps squared
_NORM = re.compile(r"‖(?:[^\s‖()]+|\([^‖]*\))‖(?:_F)?[²³]?")


def transposed(expr: str) -> str:
    """``exprᵀ``, as a textbook writes it: a transpose of a transpose cancelled, an
    inverse's written ``X⁻ᵀ``, a product of names as the reversed product of transposes.

    >>> transposed("A"), transposed("Aᵀ"), transposed("W x"), transposed("X⁻¹")
    ('Aᵀ', 'A', 'xᵀ Wᵀ', 'X⁻ᵀ')
    >>> transposed("(X + I₃)⁻¹"), transposed("tanh(W)")
    ('(X + I₃)⁻ᵀ', 'tanh(W)ᵀ')
    """
    tokens = expr.split(" ")
    if len(tokens) > 1 and all(_MATRIX_NAME.fullmatch(token) for token in tokens):
        return " ".join(transposed(token) for token in reversed(tokens))
    group = grouped(expr)
    if group.endswith("⁻¹"):
        return group[:-2] + "⁻ᵀ"
    if group.endswith("⁻ᵀ"):
        return group[:-2] + "⁻¹"
    return group[:-1] if group.endswith("ᵀ") else group + "ᵀ"


# A named matrix or vector, possibly transposed or inverted: A, W2ᵀ, X⁻¹, X⁻ᵀ.
_MATRIX_NAME = re.compile(r"[^\W\d_][\w₀-₉]*(?:ᵀ|⁻¹|⁻ᵀ)?")


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


def number(value) -> str:
    """A real constant as formulas write it: short when the short form reads back as the
    same float64, else as the fraction p/q whose division gives that float64 (1/3), else
    with every digit that needs (a formula never shows a rounded number);
    a power of ten as a textbook writes it, ``10⁻⁵`` or ``2.5·10⁻¹²``, never ``1e-05``.

    >>> number(0.5), number(2.0), number(1e-5), number(1 / 3), number(2**64)
    ('0.5', '2', '10⁻⁵', '1/3', '1.8446744073709552·10¹⁹')
    >>> number(0.1 + 0.2)
    '0.30000000000000004'
    >>> number(-2.5e-12), number(1e20), number_value("−2.5·10⁻¹²")
    ('-2.5·10⁻¹²', '10²⁰', -2.5e-12)
    """
    value = float(value)
    root = _root(value)
    if root is not None:
        return root
    short = f"{value:g}"
    if float(short) == value:
        text = short
    else:
        text = _fraction(value) or repr(value)
    mantissa, e, exponent = text.partition("e")
    if not e:
        return text
    scale = "10" + superscript(int(exponent))
    if mantissa in ("1", "-1"):
        return mantissa[:-1] + scale
    return f"{mantissa}·{scale}"


# p/q is recognised for the denominators q up to this (the 1/n of a mean, the 2/n of a var)
_DENOMINATORS_UP_TO = 1000


def _fraction(value: float) -> str | None:
    """``p/q`` when ``value`` is the float64 nearest p/q (what ``p / q`` computes, IEEE
    division being correctly rounded) for a small denominator ``q``; else None. Only asked
    for a value whose short decimal is not that float, so 0.5 stays 0.5.

    >>> _fraction(1 / 3), _fraction(-2 / 3), _fraction(0.1 + 0.2), _fraction(1 / 997)
    ('1/3', '-2/3', None, '1/997')
    """
    if not math.isfinite(value):
        return None
    nearest = Fraction(value).limit_denominator(_DENOMINATORS_UP_TO)
    if nearest.denominator == 1 or nearest.numerator / nearest.denominator != value:
        return None
    return f"{nearest.numerator}/{nearest.denominator}"


# √n is recognised for the integers n up to this (np.sqrt(d) of a head size, √2, √3, ...)
_ROOTS_UP_TO = 10_000


def _root(value: float) -> str | None:
    """``√n`` (``1/√n``) when ``value`` is the float64 nearest √n (1/√n) for an integer
    ``n`` that is no square, as ``np.sqrt(n)`` computes it (IEEE square roots are correctly
    rounded, so that float is the one nearest √n); else None. A square root of a square is
    an integer, and any other float keeps its digits.

    >>> _root(2**0.5), _root(-3**0.5), _root(1 / 2**0.5), _root(1.41421356), _root(2.0)
    ('√2', '-√3', '1/√2', None, None)
    """
    magnitude = abs(value)
    if not 1 / _ROOTS_UP_TO < magnitude < _ROOTS_UP_TO:
        return None
    sign = "-" if value < 0 else ""
    for candidate, form in ((magnitude, "√{}"), (1 / magnitude, "1/√{}")):
        n = round(candidate * candidate)
        if 2 <= n <= _ROOTS_UP_TO and math.isqrt(n) ** 2 != n:
            root = math.sqrt(n)
            if (root if form == "√{}" else 1 / root) == magnitude:
                return sign + form.format(n)
    return None


_SUPERSCRIPT_DIGITS = str.maketrans("-−0123456789", "⁻⁻⁰¹²³⁴⁵⁶⁷⁸⁹")
_SUPERSCRIPT_VALUES = str.maketrans("⁻⁰¹²³⁴⁵⁶⁷⁸⁹", "-0123456789")
_ROOT = re.compile(r"([−-]?)√(\d+)")
_POWER_OF_TEN = re.compile(r"(?:([−-]?\d+(?:\.\d+)?)·|([−-]?))10([⁻]?[⁰¹²³⁴⁵⁶⁷⁸⁹]+)")


def superscript(n: int) -> str:
    """An integer as a superscript: ``superscript(-12) == '⁻¹²'``."""
    return str(n).translate(_SUPERSCRIPT_DIGITS)


def number_value(text: str) -> float:
    """The value of a number as :func:`number` writes it (``2.5·10⁻¹²``, ``−0.5``, ``√2``)."""
    root = _ROOT.fullmatch(text)
    if root is not None:
        return (-1.0 if root.group(1) else 1.0) * math.sqrt(int(root.group(2)))
    scaled = _POWER_OF_TEN.fullmatch(text)
    if scaled is None:
        return float(text.replace("−", "-"))
    mantissa, sign, exponent = scaled.groups()
    base = mantissa.replace("−", "-") if mantissa else sign.replace("−", "-") + "1"
    return float(f"{base}e{exponent.translate(_SUPERSCRIPT_VALUES)}")


def leaf(name: str, classes: Sequence[int]) -> str:
    """``name[⟨c1⟩,⟨c2⟩]``, or just ``name`` for a scalar; the entry of a named matrix's
    transpose is written as the matrix's own entry, as a textbook does: ``A[j,i]``.

    >>> leaf("x", [3]), leaf("Aᵀ", [1, 2]), leaf("X⁻¹ᵀ", [1, 2])
    ('x[⟨3⟩]', 'A[⟨2⟩,⟨1⟩]', 'X⁻¹[⟨2⟩,⟨1⟩]')
    """
    transposed = _TRANSPOSED.fullmatch(name)
    if transposed and len(classes) == 2:
        name, classes = transposed.group(1), classes[::-1]
    name = grouped(name)  # a compound name stands as one factor
    if not classes:
        return name
    return f"{name}[{','.join(slot(c) for c in classes)}]"


def product(templates: Iterable, summed: Iterable[int] = ()):
    """The product of factor templates, with a Σ over ``summed`` classes in front; the
    signs of negated factors are gathered in front, so ``a −b`` reads ``−a b``.

    >>> product(["e[⟨1⟩]", "−K[⟨2⟩]"]), product(["−a", "−b"]), product(["x", "−1"])
    ('−e[⟨1⟩] K[⟨2⟩]', 'a b', '−x')
    """
    negative, factors = False, []
    for template in templates:
        if isinstance(template, Deferred):
            if template.negated:
                negative, template = not negative, template.without_sign()
            factors.append(template)
            continue
        if not template:
            continue
        if template in ("−1", "-1"):  # a unit sign: folded into the product's own
            negative = not negative
            continue
        if _NEGATED.match(template):
            negative, template = not negative, template[1:]
        factors.append(template)
    summed = tuple(dict.fromkeys(summed))
    if _deferring(factors):
        return Deferred("product", tuple(factors), summed=summed, negative=negative)
    return _product_text(factors, summed, negative)


def _product_text(factors: Sequence[str], summed: Sequence[int], negative: bool) -> str:
    """The product written as a textbook writes it, its numbers multiplied into one in
    front: ``0.1 g[i]``; ``0.5 (2 w)[i]`` is ``w[i]``.

    >>> _product_text(["x[⟨1⟩]", "10⁻⁵"], [], False), _product_text(["y", "2.5·10⁻³"], [], True)
    ('10⁻⁵ x[⟨1⟩]', '−2.5·10⁻³ y')
    >>> _product_text(["0.5", "(2 w)[⟨1⟩]"], [], False), _product_text(["1/3", "(6 a b)"], [], True)
    ('w[⟨1⟩]', '−2 a b')
    >>> _product_text(["s", "(1 / √2)", "K"], [], False), _product_text(["(1/3)", "(1 / 2)"], [], 0)
    ('(1/√2) s K', '1/6')
    """
    numbers, rest = [], []
    for factor in factors:
        size, operand = _scale_of(factor)
        numbers += size
        if operand:
            rest.append(operand)
    coefficient = _numbers_multiplied(numbers)
    if coefficient.startswith(("−", "-")):
        negative, coefficient = not negative, coefficient[1:]
    if "/" in coefficient and rest:  # (1/3) x, not 1/3 x
        coefficient = f"({coefficient})"
    factors = ([coefficient] if coefficient != "1" else []) + rest
    if summed:
        bound = set(summed)
        inside = [factor for factor in factors if bound & set(_classes_in(factor))]
        outside = [factor for factor in factors if factor not in inside]
        # the factors the Σ does not run over stand in front of it: s[i] Σ_a y[a], not
        # Σ_a y[a] s[i], which reads as if s[i] were summed too
        sigma = "Σ_" + ",".join(slot(c) for c in summed)
        factors = [*outside, f"{sigma} {' '.join(inside)}"] if inside else [sigma, *factors]
    body = " ".join(factors) or "1"
    return "−" + body if negative else body  # the sign outside the Σ: −Σ_a …


def _scale_of(factor: str) -> tuple[list[str], str]:
    """The numbers ``factor`` is scaled by and what they scale: ``(["2", "3"], "w[⟨1⟩]")``
    for ``(2 (3 w))[⟨1⟩]``, ``(["0.5"], "")`` for the number ``0.5``. A number times an
    operand, indexed or not, is the number times the indexed operand: (c v)[i] = c v[i].

    >>> _scale_of("(2 (W x − y))[⟨1⟩]"), _scale_of("(1 − x)[⟨1⟩]"), _scale_of("(2 / x)")
    ((['2'], '(W x − y)[⟨1⟩]'), ([], '(1 − x)[⟨1⟩]'), ([], '(2 / x)'))
    """
    numbers: list[str] = []
    while True:
        if _NUMBER.fullmatch(factor):
            return [*numbers, factor], ""
        bracketed = _BRACKETED_NUMBER.fullmatch(factor)
        if bracketed is not None:  # (1/3), or the reciprocal (1 / √2)
            top, divisor = bracketed.groups()
            return [*numbers, f"1/{divisor}" if divisor else top], ""
        scaled = _SCALED.fullmatch(factor)
        if scaled is None or not _one_bracket(factor[: len(factor) - len(scaled.group(3))]):
            return numbers, factor
        size, operand, indices = scaled.groups()
        if not _NUMBER.fullmatch(size) or _has_sum(f"{size} {operand}") or operand[0] in "/⊙⊗^·":
            return numbers, factor  # (1 − x), (2 / x): no number times one operand
        numbers.append(size)
        factor = (grouped(operand) if indices else operand) + indices


# a number in brackets, (1/3), or a reciprocal of one, (1 / √2)
_BRACKETED_NUMBER = re.compile(rf"\((?:({_NUMBER.pattern})|1 / ({_NUMBER.pattern}))\)")
# (number rest)[indices]: a scaled operand, possibly indexed
_SCALED = re.compile(r"\(([^ ()]+) (.+)\)((?:\[[^\[\]]*\])?)")


def _is_bracketed_sum(expr: str) -> bool:
    """Whether ``expr`` is one bracket around a sum: ``(a − b)``, not ``(a − b)[⟨1⟩]``."""
    return expr.startswith("(") and _one_bracket(expr) and _has_sum(expr[1:-1])


def _has_sum(expr: str) -> bool:
    """Whether ``expr`` is a sum or difference outside any bracket."""
    depth = 0
    for n, ch in enumerate(expr):
        depth += (ch in "([") - (ch in ")]")
        if depth == 0 and expr.startswith((" + ", " − ", " - "), n):
            return True
    return False


def _numbers_multiplied(numbers: Sequence[str]) -> str:
    """The product of printed numbers as one: exact when they are integers and fractions
    (``1/3`` times ``6`` is ``2``), else the float64 product as :func:`number` writes it;
    one number keeps its own spelling.

    >>> _numbers_multiplied(["0.5", "2"]), _numbers_multiplied(["1/3", "−2"])
    ('1', '−2/3')
    >>> _numbers_multiplied(["2", "1/0"])
    '2 1/0'
    """
    if len(numbers) == 1:
        return numbers[0]
    if any(_ZERO_DIVISOR.search(text) for text in numbers):
        return " ".join(numbers)  # the 1/0 of a mean over no entries: nothing to multiply
    exact = Fraction(1)
    for text in numbers:
        plain = text.replace("−", "-")
        if not _FRACTION.fullmatch(plain):
            value = float(np.prod([_number_or_fraction(n) for n in numbers]))
            return number(value).replace("-", "−")
        exact *= Fraction(plain)
    return str(exact).replace("-", "−")


_FRACTION = re.compile(r"-?\d+(?:/\d+)?")
_ZERO_DIVISOR = re.compile(r"/0(?:\.0*)?$")


def _number_or_fraction(text: str) -> float:
    top, _, bottom = text.partition("/")
    return number_value(top) / (number_value(bottom) if bottom else 1.0)


def sum_of(templates: Iterable):
    """``(a + b)``, written so that ``a + −b`` reads ``a − b``."""
    parts = list(templates)
    if _deferring(parts):
        return Deferred("sum", tuple(parts))
    return _sum_text(parts)


def _sum_text(parts: Sequence[str]) -> str:
    """The sum of ``parts`` in one bracket: a part that is a bracketed sum itself is
    spliced in, ``(a + b + c)``, not ``((a + b) + c)``; equal summands are added into one
    (equal texts are equal quantities): ``(2 x[⟨1⟩] + 2 w[⟨1⟩])``, not ``(… + w + w)``.

    >>> _sum_text(["(a + b)", "−c", "(d)"]), _sum_text(["x", "x"])
    ('(a + b − c + (d))', '(2 x)')
    >>> _sum_text(["2 x", "(w + 2 x)", "−w"]), _sum_text(["(1/3) y", "(1/3) y", "z"])
    ('(4 x)', '((2/3) y + z)')
    """
    summands = [
        summand
        for part in parts
        for summand in (_summands(part[1:-1]) if _is_bracketed_sum(part) else [part])
    ]
    counts, first = _counted(summands)
    written = [_counted_text(n, body, first[body]) for body, n in counts.items() if n]
    return f"({_signed_sum(written)})" if written else "0"


def collected(expr: str) -> str:
    """The expression ``expr`` (how a traced sum reads, ``a − b + a − b``) with equal
    summands added into one (an integer in front counted: ``2 x + x`` is ``3 x``) and a
    count every summand has taken out: ``2 (a − b)``. Spelt as it is when nothing repeats,
    or when summands cancel (``x + c − c`` is not ``x``: the dropped ``c`` may be what
    broadcasts ``x`` to the sum's shape), or when a ``|…|`` or ``‖…‖`` is cut by the split
    (their bars pair no brackets).

    >>> collected("a − b + a − b"), collected("−a + b − a"), collected("2 x + x")
    ('2 (a − b)', '−2 a + b', '3 x')
    >>> collected("a − b + c"), collected("x + c − c"), collected("‖a − b‖ + ‖a − b‖")
    ('a − b + c', 'x + c − c', '‖a − b‖ + ‖a − b‖')
    """
    summands = _summands(expr)
    if any(summand.count(bar) % 2 for summand in summands for bar in "|‖"):
        return expr  # a pair of bars cut apart: ‖x − u‖ is no sum
    counts: dict[str, int] = {}
    for summand in summands:
        count, body = _counted_summand(summand)
        counts[body] = counts.get(body, 0) + count
    if len(counts) == len(summands) or not all(counts.values()):
        return expr
    common = functools.reduce(math.gcd, counts.values())
    if len(counts) == 1 or common == 1:
        return _signed_sum([_times(n, body) for body, n in counts.items()])
    common = -common if all(n < 0 for n in counts.values()) else common
    inner = _signed_sum([_times(n // common, body) for body, n in counts.items()])
    return f"{'−' if common < 0 else ''}{abs(common)} ({inner})"


def _counted_summand(summand: str) -> tuple[int, str]:
    """A summand as an integer count times a body: ``(−2, "x")`` for ``−2 x``, ``(1, "x / d")``
    for ``x / d`` (``2 / x`` is no count: the number is divided).

    >>> _counted_summand("−2 x"), _counted_summand("2 / x"), _counted_summand("2 W x")
    ((-2, 'x'), (1, '2 / x'), (2, 'W x'))
    """
    sign = -1 if summand.startswith(("-", "−")) else 1
    body = summand[1:] if sign < 0 else summand
    while body.startswith(("-", "−")):  # a − −b
        sign, body = -sign, body[1:]
    size, _, rest = body.partition(" ")
    if _DIGITS.fullmatch(size) and rest and rest[0] not in "/⊙^·+−-":
        return sign * int(size), rest
    return sign, body


_DIGITS = re.compile(r"[0-9]+")


def _counted(summands: Sequence[str]) -> tuple[dict[str, int], dict[str, str]]:
    """How many times each summand's body (its text without a sign) is added, and each
    summand as first written (its sign as it was)."""
    counts: dict[str, int] = {}
    first: dict[str, str] = {}
    for summand in summands:
        negative = summand.startswith(("-", "−"))
        body = summand[1:] if negative else summand
        counts[body] = counts.get(body, 0) + (-1 if negative else 1)
        first.setdefault(body, summand)
    return counts, first


def _counted_text(count: int, body: str, first: str) -> str:
    """``count`` times ``body``, spelt as first written when that is what it is."""
    if abs(count) == 1 and (count < 0) == (first != body):
        return first
    return _times(count, body)


def _signed_sum(written: Sequence[str]) -> str:
    """Signed summands as one sum: ``a − b + c``."""
    text = written[0]
    for part in written[1:]:
        text += " − " + part[1:] if part.startswith(("-", "−")) else " + " + part
    return text


def _summands(expr: str) -> list[str]:
    """The signed summands of a sum outside brackets (and outside a defined symbol's
    meaning): ``a − b + c`` → ``a``, ``−b``, ``c``."""
    pieces, depth, start, sign = [], 0, 0, ""
    for n, ch in enumerate(expr):
        depth += (ch in "([⦃") - (ch in ")]⦄")
        if depth == 0 and expr.startswith((" + ", " − ", " - "), n):
            pieces.append(sign + expr[start:n])
            sign, start = ("" if expr[n + 1] == "+" else "−"), n + 3
    return [*pieces, sign + expr[start:]]


def _times(count: int, body: str) -> str:
    """``count`` times the summand ``body``, a leading number multiplied in: ``2 (3 x)`` is
    ``6 x``; a negative count is written with its sign, ``−2 x``."""
    sign = "−" if count < 0 else ""
    if abs(count) == 1:
        return sign + body
    head, _, rest = body.partition(" ")
    numbers, operand = _scale_of(head)
    if numbers and not operand:  # 2 x, or a number alone
        size = _numbers_multiplied([str(abs(count)), *numbers])
        if size.startswith("−"):
            sign, size = ("" if sign else "−"), size[1:]
        if not rest:
            return sign + size
        size = f"({size})" if "/" in size else size
        return f"{sign}{size} {rest}" if size != "1" else sign + rest
    return f"{sign}{abs(count)} {body}"


def _deferring(parts: Sequence) -> bool:
    """Whether a product or sum of ``parts`` is kept deferred rather than written now."""
    length = 0
    for part in parts:
        if isinstance(part, Deferred):
            return True
        length += _width(part)
    return length > EAGER_CHARACTERS


def _width(template: str) -> int:
    """``template``'s length with each class placeholder counted as one index letter, as it
    prints: choices made by length must not depend on how many classes the process has
    numbered before (``⟨7⟩`` against ``⟨1234567⟩``)."""
    if "⟨" not in template:
        return len(template)
    return len(_PLACEHOLDER.sub("i", template))


class Deferred:
    """A template not written out yet: a product or a sum of parts (templates of either
    kind), or a template with classes renamed. Immutable; :func:`text` writes it.

    >>> long = "L" * EAGER_CHARACTERS
    >>> name = product([f"{long}[⟨1⟩]", "−x[⟨2⟩]"], summed=[2])
    >>> isinstance(name, Deferred), classes_in(substitute(name, {1: (5, 6)}))
    (True, [2, 5, 6])
    >>> text(substitute(name, {1: (5, 6)})) == f"−{long}[⟨5⟩,⟨6⟩] Σ_⟨2⟩ x[⟨2⟩]"
    True
    """

    __slots__ = ("kind", "parts", "summed", "negative", "mapping", "classes", "_text")

    def __init__(self, kind: str, parts: tuple, summed=(), negative=False, mapping=None):
        self.kind = kind  # "product", "sum" or "renamed" (of its one part)
        self.parts, self.summed, self.negative = parts, tuple(summed), negative
        self.mapping = mapping or {}
        if kind == "renamed":
            inner = classes_in(parts[0])
            moved = (self.mapping.get(c, (c,)) for c in inner)
            self.classes = tuple(dict.fromkeys(d for to in moved for d in to))
        else:
            # in order of first appearance in the text, which writes the Σ first
            found = (c for part in parts for c in classes_in(part))
            self.classes = tuple(dict.fromkeys([*self.summed, *found]))
        self._text: str | None = None

    @property
    def negated(self) -> bool:
        """Whether the text starts with a minus sign on the whole (``−a b``, ``−Σ_a …``)."""
        if self.kind == "renamed":
            inner = self.parts[0]
            return inner.negated if isinstance(inner, Deferred) else bool(_NEGATED.match(inner))
        return self.kind == "product" and self.negative

    def without_sign(self) -> "Deferred":
        """The same template without the minus sign that :attr:`negated` reports."""
        if self.kind == "renamed":
            inner = self.parts[0]
            inner = inner.without_sign() if isinstance(inner, Deferred) else inner[1:]
            return Deferred("renamed", (inner,), mapping=self.mapping)
        return Deferred(self.kind, self.parts, self.summed, False)

    def __repr__(self) -> str:
        return f"Deferred({text(self)!r})"


def text(template) -> str:
    """The template written out (a ``str`` is returned as it is). A part of a long
    deferred template that it uses more than once (the running product of a deep residual
    chain's Jacobian is used twice per layer) is written once, as a shared template
    ``⟪n⟫[⟨c⟩,…]`` that the formula's legend defines: copied, the text would double
    with each use."""
    if isinstance(template, str):
        return template
    if template._text is None:
        references: dict[Deferred, tuple[str, tuple[int, ...]]] = {}
        for node in _shared_parts(template):
            written = node._text if node._text is not None else _write(node, references)
            node._text = written
            references[node] = _shared(written)
        template._text = _write(template, references)
    return template._text


def _shared_parts(root: "Deferred") -> list["Deferred"]:
    """The parts of ``root`` used more than once within it whose text is long, each after
    the parts it contains."""
    uses: dict[Deferred, int] = {}
    order: list[Deferred] = []  # every part, each after those it contains
    expanded: set[Deferred] = set()
    stack: list = [(root, False)]
    while stack:
        node, ready = stack.pop()
        if ready:
            order.append(node)
            continue
        if node in expanded:
            continue
        expanded.add(node)
        stack.append((node, True))
        for part in node.parts:
            if isinstance(part, Deferred):
                uses[part] = uses.get(part, 0) + 1
                stack.append((part, False))
    length: dict[Deferred, int] = {}
    for node in order:
        length[node] = sum(
            length[part] if isinstance(part, Deferred) else _width(part) for part in node.parts
        ) + 3 * len(node.parts)
    return [
        node
        for node in order
        if uses.get(node, 0) > 1 and length[node] > INTERMEDIATE_CHARACTERS and node is not root
    ]


def _shared(written: str) -> tuple[str, tuple[int, ...]]:
    """The reference to a shared template of text ``written``, and its free classes (the
    order its symbol is indexed in)."""
    free = [c for c in classes_in(bound_apart(written)) if c < _BOUND_CLASSES]
    renumbered = {c: n for n, c in enumerate(dict.fromkeys([*free, *classes_in(written)]))}
    canonical = _PLACEHOLDER.sub(lambda m: slot(renumbered[int(m.group(1))]), written)
    return _INTERMEDIATES.reference(SHARED_SYMBOL, canonical, len(free)), tuple(free)


def _write(root: Deferred, references: Mapping) -> str:
    """The text of ``root``, built with a stack of its own: the tree of a deep function's
    name is as deep as the function, beyond Python's recursion limit. A renaming is
    composed into the mapping handed down and applied to the plain-text parts; a part in
    ``references`` is written as its reference (see :func:`text`)."""
    results: list[str] = []
    stack: list = [(root, {}, False)]
    while stack:
        node, mapping, ready = stack.pop()
        if isinstance(node, str):
            results.append(substitute(node, mapping) if mapping else node)
        elif node is not root and node in references and _one_to_one(references[node], mapping):
            reference, free = references[node]
            indices = ",".join(slot(mapping.get(c, (c,))[0]) for c in free)
            results.append(f"{reference}[{indices}]" if free else reference)
        elif not mapping and node._text is not None:
            results.append(node._text)
        elif node.kind == "renamed":
            stack.append((node.parts[0], _composed(mapping, node.mapping), False))
        elif not ready:
            stack.append((node, mapping, True))
            stack.extend((part, mapping, False) for part in reversed(node.parts))
        else:
            parts = results[len(results) - len(node.parts) :]
            del results[len(results) - len(node.parts) :]
            if node.kind == "sum":
                written = _sum_text(parts)
            else:
                summed = [d for c in node.summed for d in mapping.get(c, (c,))]
                written = _product_text(parts, summed, node.negative)
            if not mapping and node is not root:
                node._text = written
            results.append(written)
    return results[0]


def _one_to_one(reference: tuple, mapping: Mapping) -> bool:
    """Whether ``mapping`` takes each free class of a shared template to one class (a
    class split in several has no place among the symbol's indices: it is written out)."""
    return all(len(mapping.get(c, (c,))) == 1 for c in reference[1])


_BOUND = re.compile(r"Σ_((?:⟨\d+⟩,?)+)")
_BOUND_CLASSES = 10**9  # bound_apart's fresh classes start here


def bound_apart(template: str) -> str:
    """``template`` with each class a Σ inside it sums over renamed to a class of its own
    within the Σ's scope, so a bound index never prints as a free index or as the index
    of an enclosing Σ.

    >>> bound_apart("(1 + Σ_⟨3⟩ a[⟨3⟩]) w[⟨3⟩]")
    '(1 + Σ_⟨1000000000⟩ a[⟨1000000000⟩]) w[⟨3⟩]'
    """
    fresh = iter(range(_BOUND_CLASSES, _BOUND_CLASSES + 10**6))
    match = _BOUND.search(template)
    while match:
        end = _scope_end(template, match.start())
        renamed = {c: next(fresh) for c in re.findall(r"⟨(\d+)⟩", match.group(1))}
        scope = template[match.start() : end]
        for c, new in renamed.items():
            scope = scope.replace(f"⟨{c}⟩", f"⟨{new}⟩")
        template = template[: match.start()] + scope + template[end:]
        match = _BOUND.search(template, match.start() + len(match.group(0)))
    return template


def _scope_end(text: str, start: int) -> int:
    """Where the summand of the Σ at ``start`` ends: the close of its enclosing bracket, or
    a sum at its own depth (not one inside a defined symbol's meaning, ``⦃g|[a] + ½ [b]⦄``).

    >>> _scope_end("(Σ_⟨1⟩ ⦃g|[a] + ½ [b]⦄[⟨1⟩] w[⟨1⟩]) + v", 1)
    34
    """
    depth = 0
    for n in range(start, len(text)):
        depth += (text[n] in "([⦃") - (text[n] in ")]⦄")
        if depth < 0 or (depth == 0 and text.startswith((" + ", " − "), n)):
            return n
    return len(text)


def _composed(outer: Mapping[int, Sequence[int]], inner: Mapping[int, Sequence[int]]) -> dict:
    """The renaming ``inner`` then ``outer``, as one mapping."""
    both = {c: tuple(e for d in to for e in outer.get(d, (d,))) for c, to in inner.items()}
    both.update((c, to) for c, to in outer.items() if c not in inner)
    return both


def substitute(template, mapping: Mapping[int, Sequence[int]]):
    """Replace each class placeholder by the classes ``mapping`` gives (comma-joined).

    >>> substitute("x[⟨1⟩] y[⟨12⟩,⟨1⟩]", {1: (12,), 12: (1, 2)})
    'x[⟨12⟩] y[⟨1⟩,⟨2⟩,⟨12⟩]'
    """
    if isinstance(template, Deferred):
        mentioned = set(template.classes)
        moved = {c: tuple(to) for c, to in mapping.items() if c in mentioned and tuple(to) != (c,)}
        return Deferred("renamed", (template,), mapping=moved) if moved else template
    moved = {c: to for c, to in mapping.items() if tuple(to) != (c,)}
    if not any(d in moved for to in moved.values() for d in to):
        # No replacement is replaced again: one str.replace per moved class, in C. A
        # name repeats a class once per layer of a deep function; a Python callback per
        # occurrence made each contraction linear in the depth in Python.
        for c, to in moved.items():
            template = template.replace(slot(c), ",".join(slot(d) for d in to))
        return template

    def replace(match: re.Match) -> str:
        c = int(match.group(1))
        return ",".join(slot(d) for d in mapping.get(c, (c,)))

    return _PLACEHOLDER.sub(replace, template)


def reindexed(template, indices: Mapping[int, str]) -> str:
    """Replace each class placeholder by an index expression (a template itself), as a
    block of a tensor reads its factors: at a fixed index, or shifted and strided.

    >>> reindexed("W[⟨1⟩,⟨2⟩]", {1: "⟨3⟩+5", 2: "0"})
    'W[⟨3⟩+5,0]'
    """
    return _PLACEHOLDER.sub(lambda m: indices.get(int(m.group(1)), m.group(0)), text(template))


def classes_in(template) -> list[int]:
    """The classes a template mentions, in order of first appearance."""
    if isinstance(template, Deferred):
        return list(template.classes)
    return list(_classes_in(template))


@functools.lru_cache(maxsize=65536)
def _classes_in(template: str) -> tuple[int, ...]:
    return tuple(dict.fromkeys(int(c) for c in _PLACEHOLDER.findall(template)))


def render(template, labels: Mapping[int, str]) -> str:
    """The template with each class replaced by its label.

    >>> render("Σ_⟨9⟩ W[⟨5⟩,⟨9⟩] x[⟨9⟩]", {5: "i", 9: "a"})
    'Σ_a W[i,a] x[a]'
    """
    return _PLACEHOLDER.sub(lambda m: labels[int(m.group(1))], text(template))


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


class _Intermediates:
    """The text of every long intermediate: an expression (:func:`intermediate`) or a part
    of a formula used more than once (a *shared* template, see :func:`text`), once per
    distinct text.

    Interned: the same function traced again finds its references again (a shared
    template's classes are numbered afresh from 0 before it is looked up), so the table
    grows with the distinct long intermediates a process meets (each at most a few times
    :data:`INTERMEDIATE_CHARACTERS` long, since its own parts are references), not with
    the number of calls. Shared by threads; an entry is never changed or removed, so a
    formula can be printed whenever its Jacobian is kept.
    """

    def __init__(self):
        self._number: dict[tuple, int] = {}
        self._entries: list[tuple[str, str, int]] = []  # (symbol, text, free classes)
        self._lock = threading.Lock()

    def reference(self, symbol: str, text: str, free: int = 0) -> str:
        key = (symbol, text, free)
        with self._lock:
            n = self._number.get(key)
            if n is None:
                n = self._number[key] = len(self._entries)
                self._entries.append(key)
        return f"⟪{n}⟫"

    def entry(self, reference: str) -> tuple[str, str, int]:
        return self._entries[int(_REFERENCE.fullmatch(reference).group(1))]


_INTERMEDIATES = _Intermediates()


def intermediate(expression: str) -> str:
    """How an expression stands in the expressions built on it: itself if short, else a
    reference ``⟪n⟫`` to it, printed as a symbol the legend defines (:func:`expression_of`).

    >>> intermediate("h + tanh(W h)")
    'h + tanh(W h)'
    >>> long = "h" + " + h" * INTERMEDIATE_CHARACTERS
    >>> ref = intermediate(long)
    >>> ref == intermediate(long) != long, expression_of(ref) == long
    (True, True)
    """
    if len(expression) <= INTERMEDIATE_CHARACTERS or _REFERENCE.fullmatch(expression):
        return expression
    return _INTERMEDIATES.reference(INTERMEDIATE_SYMBOL, expression)


def quantity(symbol: str, meaning: str) -> str:
    """A quantity printed as ``symbol`` and defined in the formula's legend, whose meaning
    may print other defined quantities: ``σ = √(mean((x − μ)²) + 10⁻⁵)`` with μ its own
    entry, listed before it (:func:`defined` writes a symbol's meaning out in full). A
    reference ``⟪n⟫`` as a long intermediate is, under its own symbol.

    >>> mu = quantity("μ", "mean(x)")
    >>> sigma = quantity("σ", f"√(mean((x − {mu})²) + 10⁻⁵)")
    >>> [symbol for symbol, _ in definitions_in(f"2 {sigma}")]
    ['μ', 'σ']
    >>> replace_defined(expression_of(sigma), {("μ", mu): "μ"})
    '√(mean((x − μ)²) + 10⁻⁵)'
    """
    return _INTERMEDIATES.reference(symbol, meaning)


def expression_of(reference: str) -> str:
    """The text a reference ``⟪n⟫`` stands for (which may hold references itself); a
    shared template's free classes are ``⟨0⟩``, ``⟨1⟩``, … in the order it is indexed."""
    return _INTERMEDIATES.entry(reference)[1]


def exported(templates) -> tuple[list[str], list[tuple[str, str, str, int]]]:
    """``templates`` written out, with the intermediates they use (each after those it
    uses): what another process needs to print them (see :func:`imported`), since a
    reference only means something in the process that made it."""
    texts = [text(t) for t in templates]
    pairs = dict.fromkeys(p for t in texts for p in definitions_in(t))
    return texts, [(m, *_INTERMEDIATES.entry(m)) for _, m in pairs if is_reference(m)]


def imported(texts, entries) -> list[str]:
    """The templates :func:`exported` gave, in this process: each intermediate entered in
    this process's table, the references renumbered to match."""
    moved: dict[str, str] = {}

    def renumbered(template: str) -> str:
        return _REFERENCE.sub(lambda m: moved[m.group(0)], template)

    for reference, symbol, body, free in entries:
        moved[reference] = _INTERMEDIATES.reference(symbol, renumbered(body), free)
    return [renumbered(t) for t in texts]


def readable(expression: str) -> str:
    """``expression`` for a message, each reference to a long intermediate as ``…``.

    >>> readable(intermediate("h" + " + h" * INTERMEDIATE_CHARACTERS) + " > 0")
    '… > 0'
    """
    return _REFERENCE.sub("…", expression)


def is_reference(template: str) -> bool:
    """Whether ``template`` is one reference ``⟪n⟫`` (see :func:`intermediate`)."""
    return bool(_REFERENCE.fullmatch(template))


def symbol_of(reference: str) -> str:
    """The symbol a reference prints as: z for an expression, P for a shared template."""
    return _INTERMEDIATES.entry(reference)[0]


def free_count(reference: str) -> int:
    """How many indices a shared template's symbol carries (0 for an expression)."""
    return _INTERMEDIATES.entry(reference)[2]


def meaning_of(template) -> str:
    """``template`` with each defined symbol written out as its meaning (a meaning may use
    another quantity, as in ``[|x| > 1]``; the legend then needs no second symbol).

    >>> meaning_of("2 ⦃g|[x > 0]⦄")
    '2 [x > 0]'
    """
    return _DEFINED.sub(lambda m: m.group(2), text(template))


def definitions_in(template) -> list[tuple[str, str]]:
    """The (symbol, meaning) pairs of the defined symbols in ``template``, in order; an
    intermediate is the pair ``("z", "⟪n⟫")`` (``("P", "⟪n⟫")`` for a shared template), after
    the pairs its text needs.

    >>> definitions_in("⦃g|[x > 0]⦄[⟨1⟩] + ⦃g|[y > 0]⦄[⟨1⟩]")
    [('g', '[x > 0]'), ('g', '[y > 0]')]
    >>> inner = intermediate("h" + " + h" * INTERMEDIATE_CHARACTERS)
    >>> outer = intermediate(f"{inner} + tanh({inner})" + " " * INTERMEDIATE_CHARACTERS)
    >>> definitions_in(f"2 {outer}") == [("z", inner), ("z", outer)]
    True
    """
    written = text(template)
    if "⦃" not in written and "⟪" not in written:  # (most names: every local Jacobian's)
        return []
    found: dict[tuple[str, str], None] = {}
    expanded: set[str] = set()
    # Depth-first with a stack of its own (intermediates nest as deep as the function);
    # a reference is listed after everything its text uses.
    stack: list[tuple[str, object]] = [("scan", written)]
    while stack:
        task, value = stack.pop()
        if task == "list":
            found.setdefault(value)
        elif task == "reference":
            if value not in expanded:
                expanded.add(value)
                stack += [("list", (symbol_of(value), value)), ("scan", expression_of(value))]
        else:
            tasks = []
            for match in _SYMBOL_OR_REFERENCE.finditer(value):
                if match.group(1) is not None:  # a defined symbol; its meaning may use others
                    pair = (match.group(1), match.group(2))
                    tasks += [("scan", match.group(2)), ("list", pair)]
                else:
                    tasks.append(("reference", match.group(0)))
            stack.extend(reversed(tasks))
    return list(found)


def replace_defined(template, symbols: Mapping[tuple[str, str], str]) -> str:
    """``template`` with each defined symbol printed as ``symbols[(symbol, meaning)]``,
    and each intermediate as ``symbols[(symbol, "⟪n⟫")]`` (see :func:`definitions_in`).

    >>> replace_defined("⦃g|[x > 0]⦄[⟨1⟩]", {("g", "[x > 0]"): "g₁"})
    'g₁[⟨1⟩]'
    """
    written = _DEFINED.sub(lambda m: symbols[m.group(1), m.group(2)], text(template))
    return _REFERENCE.sub(lambda m: symbols[symbol_of(m.group(0)), m.group(0)], written)


def flattened(template) -> str:
    """``template`` with every defined symbol inside another one's meaning written out, so
    each meaning reads in the user's names only.

    >>> flattened("⦃s|[⦃g|[x > 0]⦄ ≥ 0] − [⦃g|[x > 0]⦄ < 0]⦄ y")
    '⦃s|[[x > 0] ≥ 0] − [[x > 0] < 0]⦄ y'
    """
    out, depth = [], 0
    for ch in text(template):
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
