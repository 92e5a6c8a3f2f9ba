"""Index notation for labelled tensors, read off their structure.

The text is built from the same terms that produce the numbers: a δ is a
class shared by several labels, each factor prints its name template (see
:mod:`tensordiff.core.templates`) with classes replaced by labels, and classes summed
inside the term get fresh letters under a Σ. :func:`factor_table` returns the
arrays behind the printed factors, so the printed formula can be evaluated on
its own and compared with the tensor (the tests do exactly that).
"""

import functools
import itertools
import operator
import re
from collections import Counter
from collections.abc import Iterator
from fractions import Fraction

import numpy as np

from tensordiff.core import templates
from tensordiff.core.term import Term

__all__ = [
    "subscript",
    "signature",
    "derivative",
    "network",
    "entity",
    "index_notation",
    "symbols_of",
    "legend",
    "used_in",
    "with_legend",
    "factor_table",
    "number",
    "is_number",
    "is_zero",
    "coefficient_text",
    "scaled",
    "tidy",
    "has_top_level_sum",
    "without_sign",
    "reciprocal",
    "reciprocal_scale",
    "factored",
    "simplified_sum",
    "multiplied_out",
    "unbracketed",
    "quotient",
    "summands",
    "top_level_tokens",
    "is_bracketed_sum",
    "difference",
    "negated_difference",
    "cancels",
]

_SUBSCRIPTS = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")
_FRESH = "abcdefghpqrstuvwxyzmn"


def subscript(number: int) -> str:
    """``12`` as ``₁₂``: sizes of identities (``I₃``) and pieces of a split label.

    >>> "I" + subscript(12)
    'I₁₂'
    """
    return str(number).translate(_SUBSCRIPTS)


def _fresh_letters(taken, first: str = "") -> Iterator[str]:
    """Index letters none of ``taken``: ``first``, then a, b, …, then a₁, b₁, …, a₂, …
    (a term or a definition may sum over more indices than there are letters).

    >>> letters = _fresh_letters(set(_FRESH) - {"n"})
    >>> next(letters), next(letters), next(letters)
    ('n', 'a₁', 'b₁')
    """
    for n in itertools.count():
        for ch in (first if n == 0 else "") + _FRESH:
            name = ch + (subscript(n) if n else "")
            if name not in taken:
                yield name


def signature(name: str, labels) -> str:
    """``V[i]``, ``W[j,k]``, ``(W x)[i]``, or ``E`` for no labels."""
    name = templates.grouped(name)
    return f"{name}[{','.join(labels)}]" if labels else name


def derivative(numerator: str, out, denominator: str, wrt, order: int = 1) -> str:
    """``∂f[i]/∂W[j,k]``; for a second derivative the argument's labels split in two.

    >>> derivative("f", "", "W", "ijkl", order=2)
    '∂²f/∂W[i,j]∂W[k,l]'
    >>> derivative("g", "i", "x", "jk", order=2)
    '∂²g[i]/∂x[j]∂x[k]'
    """
    if order == 1:
        return f"∂{signature(numerator, out)}/∂{signature(denominator, wrt)}"
    n = len(wrt) // order
    bottom = "".join(f"∂{signature(denominator, wrt[k * n : (k + 1) * n])}" for k in range(order))
    power = {2: "²", 3: "³"}.get(order, f"^{order}")
    return f"∂{power}{signature(numerator, out)}/{bottom}"


def entity(tensor, n_out: int, numerator: str, denominator: str) -> str:
    """What a Jacobian is: its order, shape and labels.

    >>> import numpy as np, tensordiff as td
    >>> J = td.jacobian(lambda W: W @ np.ones(4))(np.ones((3, 4)))
    >>> entity(J, 1, "V", "W")
    'order-3 tensor, shape (3, 3, 4), labels V[i] / W[j,k]'
    """
    order = tensor.ndim
    kind = {0: "scalar", 1: "order-1 tensor (a vector)", 2: "order-2 tensor (a matrix)"}
    kind = kind.get(order, f"order-{order} tensor")
    out, wrt = tensor.indices[:n_out], tensor.indices[n_out:]
    return (
        f"{kind}, shape {tensor.shape}, labels"
        f" {signature(numerator, out)} / {signature(denominator, wrt)}"
    )


def index_notation(tensor, symbols: dict | None = None) -> str:
    """The entries of ``tensor`` in index notation, e.g. ``δ[i,j] x[k]``.

    Quantities that are no array of the user's (masks, tie weights, selection
    matrices) print as the symbols ``symbols`` gives their meanings (by default
    :func:`symbols_of` the tensor), defined by :func:`legend`.

    >>> import numpy as np, tensordiff as td
    >>> x = np.arange(1.0, 5.0)
    >>> index_notation(td.jacobian(lambda W: W @ x)(np.ones((3, 4))))
    'δ[i,j] x[k]'
    """
    terms = tensor.structured_terms()
    if not terms:
        return "0"
    symbols = symbols_of([tensor]) if symbols is None else symbols
    parts = [_term_text(term, tensor.indices, symbols)[0] for term in terms]
    parts = [multiplied_out(part) or part for part in parts]
    parts = [part for part in parts if not is_zero(part)] or ["0"]  # 0 δ[i,j] + …
    if len(parts) == 1 and is_bracketed_sum(parts[0]):
        return parts[0][1:-1]  # s[i] Σ_a y[a] − y[i]: a whole side needs no bracket
    return factored(parts) or _joined(parts)


def _joined(parts: list[str]) -> str:
    """Signed terms as one sum: ``a − b + c``."""
    text = parts[0]
    for part in parts[1:]:
        text += " − " + part[1:].lstrip() if part.startswith("−") else " + " + part
    return text


def factored(parts: list[str]) -> str | None:
    """The sum of the signed terms ``parts`` with the factors every one of them has taken
    out (a bracketed sum inside a term multiplied out first), or None if they share none.
    Equal printed factors are equal quantities, so this holds whatever the terms are; a
    term with a Σ is left alone (its factors are not all of one product).

    >>> factored(["δ[i,j] / σ", "(−1/4 (1 / σ) − 1/4 (1 / σ) x̂[i] x̂[j])"])
    '(δ[i,j] − 1/4 − (1/4) x̂[i] x̂[j]) / σ'
    >>> factored(["δ[i,j] s[i]", "−s[i] s[j]"]), factored(["a[i]", "b[i]"])
    ('s[i] (δ[i,j] − s[j])', None)
    """
    if len(parts) < 2:
        return None  # one term prints as its factors are: each is one array of the term
    # a bracketed sum is multiplied out only when the terms share no factor as they stand
    return _factored(parts, expand=False) or _factored(parts, expand=True)


def multiplied_out(term: str, take_out: bool = True) -> str | None:
    """A signed term with one bracketed sum multiplied out when that cancels factors
    against divisors (``(a / (1 − σ) − b / σ) σ (1 − σ)`` is ``a σ − b (1 − σ)``), the
    factors its products share taken out again (with ``take_out``); None when nothing
    cancels.

    >>> multiplied_out("(a[i] (1 / (1 − σ))[i] − b[i] (1 / σ)[i]) σ[i] (1 − σ)[i]")
    'a[i] σ[i] − b[i] (1 − σ)[i]'
    >>> multiplied_out("(a[i] − b[i]) σ[i]") is None
    True
    """
    monomials = _expanded(term, expand=True)
    if monomials is None or monomials == _expanded(term, expand=True, cancel=False):
        return None
    parts = [_product_text(monomial) for monomial in _like_terms_added(monomials)]
    if not parts:
        return "0"
    return (factored(parts) if take_out else None) or _joined(parts)


def simplified_sum(text: str, take_out: bool = True) -> str | None:
    """The bracketed sum ``text`` (a factor) simplified, or None if nothing simplifies: in
    each product a factor and a divisor that are powers of one base cancel (see
    :func:`quotient`) and, with ``take_out``, the factors every product has stand in front.

    >>> simplified_sum("(K[i] (1 / (1 − σ))[i] σ[i] (1 − σ)[i] − y[i] (1 / σ)[i] σ[i])")
    '(K[i] σ[i] − y[i])'
    >>> simplified_sum("((1/√2) s[i,j] k[j] − (1/√2) s[i,j] Σ_a s[i,a] k[a])")
    '(1/√2) s[i,j] (k[j] − Σ_a s[i,a] k[a])'
    """
    if not is_bracketed_sum(text):
        return None
    parts = summands(text[1:-1])
    shared = factored(parts) if take_out else None
    if shared is not None:
        return shared
    monomials = [monomial for part in parts for monomial in _expanded(part, expand=False)]
    added = _like_terms_added(monomials)
    if len(added) < len(monomials):  # Σ_a w[a] x[a] − Σ_b w[b] x[b] is 0
        rewritten = [_product_text(monomial) for monomial in added] or ["0"]
    else:
        rewritten = [_cancelled_product(part) for part in parts]
    single = len(rewritten) == 1 and _is_bracketed_product(f"({rewritten[0]})", alone=True)
    simpler = rewritten[0] if single else f"({_joined(rewritten)})"
    return simpler if simpler != text else None


def _cancelled_product(part: str) -> str:
    """A signed product with its factors and divisors cancelled (see :func:`_monomial`),
    spelt as it was when nothing cancels."""
    sign = -1 if part.startswith("−") else 1
    tokens = top_level_tokens(part[1:] if sign < 0 else part)
    [monomial] = _monomial(sign, tokens)
    if monomial == _monomial(sign, tokens, cancel=False)[0]:
        return part
    return _product_text(monomial)


def _product_text(monomial: dict) -> str:
    """A product :func:`_monomial` made, written as a signed term."""
    numeric = monomial["numeric"]
    factors = " ".join(monomial["factors"])
    return _signed(factors, monomial["sign"], float(_exact(numeric)), numeric, monomial["divisors"])


def _factored(parts: list[str], expand: bool) -> str | None:
    monomials = []
    for part in parts:
        expanded = _expanded(part, expand)
        if expanded is None:
            return None
        monomials += expanded
    monomials = _like_terms_added(monomials)
    if len(monomials) < 2:
        return None
    common = {
        kind: functools.reduce(operator.and_, (Counter(m[kind]) for m in monomials))
        for kind in ("factors", "divisors")
    }
    for factor in [f for f in common["factors"] if f.startswith("Σ_")]:
        # a Σ runs to the end of its product: taken out, it would run over the bracket too
        del common["factors"][factor]
    if not any(common.values()):
        return None  # a number alone is not worth a bracket: 2 + 2 δ[i,j] x[i]
    # a number (and a sign) every product has stands in front too: 4 s[i] (s[j] − δ[i,j])
    sizes = {_exact(m["numeric"]) for m in monomials}
    size = sizes.pop() if len(sizes) == 1 else 1
    sign = -1 if all(m["sign"] < 0 for m in monomials) else 1
    inner = []
    for monomial in monomials:
        rest = {kind: list((Counter(monomial[kind]) - common[kind]).elements()) for kind in common}
        numeric = [] if size != 1 else monomial["numeric"]
        inner.append(
            _signed(
                " ".join(rest["factors"]),
                monomial["sign"] * sign,
                float(_exact(numeric)),
                numeric,
                rest["divisors"],
            )
        )
    # a positive product first: 4 s[i] (s[j] − δ[i,j]), not (−δ[i,j] + s[j])
    inner.sort(key=lambda text: text.startswith("−"))
    body = " ".join([*common["factors"].elements(), f"({_joined(inner)})"])
    return _signed(body, sign, float(size), [_exact_text(size)], common["divisors"].elements())


def _like_terms_added(monomials: list[dict]) -> list[dict]:
    """The products with the same factors and divisors added into one (``a b + b a`` is
    ``2 a b``); those whose numbers cancel are left out."""
    added: dict[tuple, list[dict]] = {}
    for monomial in monomials:
        factors = sorted(_bound_letters_numbered(factor) for factor in monomial["factors"])
        key = (tuple(factors), tuple(sorted(monomial["divisors"])))
        added.setdefault(key, []).append(monomial)
    result = []
    for like in added.values():
        total = sum(m["sign"] * _exact(m["numeric"]) for m in like)
        if len(like) == 1:
            if _exact(like[0]["numeric"]) != 0:  # (0 + a[i]): a product times 0 is none
                result.append(like[0])
        elif total:
            sign = 1 if total > 0 else -1
            result.append({**like[0], "sign": sign, "numeric": [_exact_text(abs(total))]})
    return result


def _bound_letters_numbered(factor: str) -> str:
    """A Σ factor with its summation letters numbered in order, so that two sums that
    differ only in their letters compare equal (``Σ_a w[a]`` and ``Σ_b w[b]``).

    >>> _bound_letters_numbered("Σ_b,c w[b,i] x[c]"), _bound_letters_numbered("x[b]")
    ('Σ w[#0,i] x[#1]', 'x[b]')
    """
    if not factor.startswith("Σ_"):
        return factor
    head, body = factor.split(" ", 1)
    for n, letter in enumerate(head[2:].split(",")):
        body = re.sub(rf"(?<=[\[,]){re.escape(letter)}(?=[\],])", f"#{n}", body)
    return "Σ " + body


def _exact(numeric: list[str]) -> Fraction | float:
    """The product of printed numbers: a Fraction when they are integers and fractions
    (``1/3`` times ``2`` is ``2/3``), else a float.

    >>> _exact(["1/3", "2"]), _exact(["0.5", "2"])
    (Fraction(2, 3), 1.0)
    """
    exact = Fraction(1)
    for text in numeric:
        plain = text.replace("−", "-")
        plain = plain[1:-1] if _BRACKETED_FRACTION.fullmatch(plain) else plain  # (2/3)
        if not re.fullmatch(r"-?\d+(/\d+)?", plain):
            return float(np.prod([number(n) for n in numeric]))
        exact *= Fraction(plain)
    return exact


def _exact_text(value: Fraction | float) -> str:
    """A number :func:`_exact` gave, as the formulas print it: ``2/3``, ``0.1``."""
    return str(value) if isinstance(value, Fraction) else templates.number(value)


def _expanded(term: str, expand: bool, cancel: bool = True) -> list[dict] | None:
    """The products a signed term is a sum of (its one bracketed sum multiplied out if
    ``expand``), each as its sign, numbers, factors and divisors (see :func:`_monomial`)."""
    sign = -1 if term.startswith("−") else 1
    tokens = top_level_tokens(term[1:] if sign < 0 else term)
    sums = [n for n, token in enumerate(tokens) if is_bracketed_sum(token)]
    if len(sums) != 1 or not expand or any(token.startswith("Σ_") for token in tokens):
        return _monomial(sign, tokens, cancel)  # (a Σ's letters would run over the bracket)
    before, after = tokens[: sums[0]], tokens[sums[0] + 1 :]
    products = []
    for summand in summands(tokens[sums[0]][1:-1]):
        inner_sign = -1 if summand.startswith("−") else 1
        inner = top_level_tokens(summand[1:] if inner_sign < 0 else summand)
        monomial = _monomial(sign * inner_sign, before + inner + after, cancel)
        if monomial is None:
            return None
        products += monomial
    return products


def _monomial(sign: int, tokens: list[str], cancel: bool = True) -> list[dict] | None:
    """One product of ``tokens`` (``/`` before a divisor), a Σ and all that follows it one
    factor (the Σ runs to the end of the product), with a factor and a divisor that are
    powers of one base cancelled (``(1 / σ) σ`` is 1, ``‖x‖² / ‖x‖`` is ``‖x‖``).

    >>> _monomial(1, ["(1 / σ)[i]", "σ[i]", "u²", "/", "u", "Σ_a", "s[a]", "/", "u"])
    [{'sign': 1, 'numeric': [], 'factors': ['u', 'Σ_a s[a] / u'], 'divisors': []}]
    """
    monomial = {"sign": sign, "numeric": [], "factors": [], "divisors": []}
    divide = False
    for n, token in enumerate(tokens):
        if token.startswith("Σ_"):
            monomial["factors"].append(" ".join(tokens[n:]))
            break
        if token == "/":
            divide = True
            continue
        plain = token[1:-1] if _BRACKETED_FRACTION.fullmatch(token) else token
        divisor = token if divide else reciprocal(token)
        if plain.startswith("−") and is_number(plain[1:]):
            monomial["sign"], plain = -monomial["sign"], plain[1:]
        if is_number(plain):
            monomial["numeric"].append(f"1/{plain}" if divide else plain)
        elif divisor is not None and is_number(divisor):
            monomial["numeric"].append(f"1/{divisor}")
        elif divisor is not None:
            monomial["divisors"].append(divisor)
        else:
            monomial["factors"].append(token)
        divide = False
    for divisor in list(monomial["divisors"]) if cancel else []:
        for k, factor in enumerate(monomial["factors"]):
            left = quotient(factor, divisor)
            if left is not None:
                monomial["divisors"].remove(divisor)
                monomial["factors"][k : k + 1] = [left] if left else []
                break
    return [monomial]


_POWERS = "¹²³⁴⁵⁶⁷⁸⁹"


def quotient(top: str, bottom: str) -> str | None:
    """``top / bottom`` when both are powers of one printed base: ``""`` (1) for equal
    factors, ``b`` for ``b³ / b²``; None otherwise (a Σ or a sum is no base).

    >>> quotient("‖x‖²", "‖x‖"), quotient("(1 − σ)[i]", "(1 − σ)[i]"), quotient("x", "x²")
    ('‖x‖', '', None)
    """
    if top.startswith("Σ_") or has_top_level_sum(top) or has_top_level_sum(bottom):
        return None
    (base, n), (other, m) = _power(unbracketed(top)), _power(unbracketed(bottom))
    if unbracketed(base) != unbracketed(other) or n < m:
        return None
    return "" if n == m else base + (_POWERS[n - m - 1] if n - m > 1 else "")


def _power(text: str) -> tuple[str, int]:
    """``("b", 2)`` for ``b²`` (a power written as a superscript digit after one operand),
    else ``(text, 1)``; ``X⁻¹`` and ``b²³`` are no such power, nor is ``a / s²``, whose
    power is ``s``'s alone.

    >>> _power("‖x − u‖²"), _power("(a / s)²"), _power("a / s²")
    (('‖x − u‖', 2), ('(a / s)', 2), ('a / s²', 1))
    """
    if len(text) > 1 and text[-1] in _POWERS[1:] and text[-2] not in _POWERS + "⁻⁰":
        base = text[:-1]
        one_operand = len(top_level_tokens(base)) == 1 or (
            base.startswith("‖") and base.endswith("‖") and base.count("‖") == 2
        )
        if one_operand:
            return base, _POWERS.index(text[-1]) + 1
    return text, 1


def top_level_tokens(text: str) -> list[str]:
    """``text`` cut at the spaces outside brackets."""
    tokens, depth, start = [], 0, 0
    for n, ch in enumerate(text):
        depth += (ch in "([") - (ch in ")]")
        if depth == 0 and ch == " ":
            tokens.append(text[start:n])
            start = n + 1
    return [token for token in [*tokens, text[start:]] if token]


def summands(text: str) -> list[str]:
    """The signed summands of a sum outside brackets: ``a − b + c`` → ``a``, ``−b``, ``c``."""
    pieces, depth, start, sign = [], 0, 0, ""
    for n, ch in enumerate(text):
        depth += (ch in "([") - (ch in ")]")
        if depth == 0 and text.startswith((" + ", " − "), n):
            pieces.append(sign + text[start:n])
            sign, start = ("−" if text[n + 1] == "−" else ""), n + 3
    return [*pieces, sign + text[start:]]


def is_bracketed_sum(token: str) -> bool:
    """Whether ``token`` is one bracket around a sum, ``(a − b)`` (not ``(a − b)[i]``)."""
    return (
        token.startswith("(")
        and _closing(token, 0) == len(token) - 1
        and has_top_level_sum(token[1:-1])
    )


def symbols_of(tensors, texts=()) -> dict[tuple[str, str], str]:
    """The printed symbol of each defined quantity (a ``(symbol, meaning)`` pair) in
    ``tensors`` and in ``texts`` (such as intermediates' expressions): its own symbol if
    no other meaning and no name in sight uses it, else the symbol numbered (``g₁``).

    >>> symbols_of([], ["⦃g|[x > 0]⦄ + ⦃g|[x ≤ 0]⦄ + ⦃w|[x = max(x)]⦄"])
    {('g', '[x > 0]'): 'g₁', ('g', '[x ≤ 0]'): 'g₂', ('w', '[x = max(x)]'): 'w'}
    """
    texts = [
        *texts,
        *(
            templates.text(name)
            for tensor in tensors
            for term in tensor.structured_terms()
            for name in term.factor_names()
        ),
    ]
    # in order of first appearance, each after the quantities its meaning uses
    pairs = list(dict.fromkeys(p for text in texts for p in templates.definitions_in(text)))
    by_symbol: dict[str, list[tuple[str, str]]] = {}
    for pair in pairs:
        by_symbol.setdefault(pair[0], []).append(pair)
    # names the reader sees elsewhere (the user's arrays, functions; in the legend, in the
    # intermediates' texts) are not reused
    shown = [*texts, *(templates.expression_of(m) for _, m in pairs if templates.is_reference(m))]
    seen = {
        word
        for text in shown
        for word in re.findall(r"[^\W\d_]\w*", templates.replace_defined(text, _BLANK))
    }
    symbols = {}
    for symbol, quantities in by_symbol.items():
        if len(quantities) == 1 and symbol not in seen:
            symbols[quantities[0]] = symbol
            continue
        numbered = (f"{symbol}{subscript(n)}" for n in range(1, len(quantities) + len(seen) + 2))
        free = (name for name in numbered if name not in seen)
        symbols.update(zip(quantities, free, strict=False))  # free never runs out
    return {pair: symbols[pair] for pair in pairs}


class _Blank(dict):
    """Every defined quantity printed as nothing (to list the names around them)."""

    def __missing__(self, key):
        return ""


_BLANK = _Blank()


def legend(symbols: dict[tuple[str, str], str]) -> str:
    """``where g₁ = [x > 0], g₂ = [x ≤ 0]``: each printed symbol with its meaning.

    >>> legend({("g", "[x > 0]"): "g"})
    'where g = [x > 0]'
    >>> legend({})
    ''
    """
    if not symbols:
        return ""
    entries = (_entry(pair, printed, symbols) for pair, printed in symbols.items())
    # only a number's ASCII minus is made −: a meaning may be words ("one-hot rows")
    return "where " + ", ".join(re.sub(r"(?<!\w)-(?=[\d.])", "−", e) for e in entries)


def _entry(pair: tuple[str, str], printed: str, symbols: dict) -> str:
    """``printed = meaning``, with the intermediates (and, in an intermediate's text, the
    defined symbols) in the meaning printed as their symbols; a shared template is
    defined with indices, ``P₁[i,j] = …``."""
    _, meaning = pair
    if not templates.is_reference(meaning):
        return f"{printed} = {templates.replace_defined(meaning, symbols)}"
    body = templates.replace_defined(
        templates.bound_apart(templates.expression_of(meaning)), symbols
    )
    free = templates.free_count(meaning)
    # indices: free ones first (i, j, …), then the summed ones, none a name the body prints
    taken = set(re.findall(r"[^\W\d_]\w*", templates.render(body, _BLANK)))
    letters = _fresh_letters(taken, first="ijkl")
    mapping = {c: next(letters) for c in templates.classes_in(body)}
    indices = ",".join(mapping[c] for c in range(free))
    lhs = f"{printed}[{indices}]" if free else printed
    return f"{lhs} = {tidy(templates.render(body, mapping))}"


def used_in(text: str, symbols: dict[tuple[str, str], str]) -> dict[tuple[str, str], str]:
    """The entries of ``symbols`` that ``text`` prints, with those their meanings print.

    >>> used_in("2 g₂", {("g", "[x > 0]"): "g₁", ("g", "[x ≤ 0]"): "g₂"})
    {('g', '[x ≤ 0]'): 'g₂'}
    >>> hat = "x\u0302"  # x̂, a word of its own
    >>> used_in(f"I − {hat} {hat}ᵀ", {(hat, "x / ‖x‖"): hat}) == {(hat, "x / ‖x‖"): hat}
    True
    """
    # wᵀ uses w; x̂ (x and a combining hat) is a word of its own
    words = set(re.findall(r"[^\W\d_][\w\u0302]*", text.replace("ᵀ", " ")))
    needed = {
        pair
        for pair, symbol in symbols.items()
        if symbol in words or (symbol in text and not symbol.isidentifier())
    }
    for pair, _ in reversed(list(symbols.items())):  # a meaning uses only earlier entries
        if pair in needed:
            needed.update(templates.definitions_in(_defined_form(pair)))
    return {pair: symbol for pair, symbol in symbols.items() if pair in needed}


def _defined_form(pair: tuple[str, str]) -> str:
    """The pair as it stands in a template, for :func:`templates.definitions_in`."""
    symbol, meaning = pair
    return meaning if templates.is_reference(meaning) else f"⦃{symbol}|{meaning}⦄"


def with_legend(formula: str, symbols: dict[tuple[str, str], str]) -> str:
    """``formula`` followed by ``, where …`` when it prints defined symbols.

    >>> with_legend("∂f/∂x[i] = g[i]", {("g", "[x > 0]"): "g"})
    '∂f/∂x[i] = g[i], where g = [x > 0]'
    """
    text = legend(symbols)
    return f"{formula}, {text}" if text else formula


def factor_table(tensor) -> list[dict]:
    """For each term, the arrays behind its printed factors.

    Each entry maps a factor's printed text (``x[k]`` or a parenthesised sum)
    to ``(array, labels)``: what the formula's einsum runs on.
    """
    symbols = symbols_of([tensor])
    return [_term_text(term, tensor.indices, symbols)[1] for term in tensor.structured_terms()]


def network(tensor) -> list[dict]:
    """For each term, its tensor network: the printed factors with their labels, the
    labels each δ joins, and every open label (a piece of a composite axis is ``i₀``).

    >>> import numpy as np, tensordiff as td
    >>> x = np.arange(1.0, 5.0)
    >>> [term] = network(td.jacobian(lambda W: W @ x)(np.ones((3, 4))))
    >>> term["factors"], term["deltas"], term["legs"]
    ([('x[k]', ['k'])], [['i', 'j']], ['i', 'j', 'k'])
    """
    symbols = symbols_of([tensor])
    networks = []
    for term in tensor.structured_terms():
        label_of = _labels_of(term, tensor.indices)
        text, table = _term_text(term, tensor.indices, symbols)
        networks.append(
            {
                "text": text,
                "factors": [(name, labels) for name, (_, labels) in table.items()],
                "deltas": [pieces for pieces in label_of.values() if len(pieces) > 1],
                "legs": [piece for pieces in label_of.values() for piece in pieces],
            }
        )
    return networks


def _labels_of(term: Term, labels) -> dict[int, list[str]]:
    """The labels each class carries; a piece of a composite axis is ``i₀``, ``i₁``."""
    label_of: dict[int, list[str]] = {}
    for label, axis in zip(labels, term.axes, strict=True):
        for n, c in enumerate(axis):
            piece = label if len(axis) == 1 else f"{label}{subscript(n)}"
            label_of.setdefault(c, []).append(piece)
    return label_of


def _term_text(term: Term, labels, symbols: dict) -> tuple[str, dict]:
    label_of = _labels_of(term, labels)
    factor_names = [templates.bound_apart(templates.text(name)) for name in term.factor_names()]
    # a summation letter is none of the free labels, symbols or names the term prints
    names = re.findall(r"[^\W\d_]\w*", templates.replace_defined(" ".join(factor_names), _BLANK))
    taken = {piece for pieces in label_of.values() for piece in pieces}
    taken |= set(symbols.values()) | set(names)
    letters = _fresh_letters(taken)
    mapping = {c: pieces[0] for c, pieces in label_of.items()}
    inner = [c for t in factor_names for c in templates.classes_in(t) if c not in mapping]
    for c in dict.fromkeys(inner):
        mapping[c] = next(letters)
    summed = [c for _, classes in term.factors for c in classes if c not in label_of]
    parts = [f"δ[{','.join(p)}]" for p in label_of.values() if len(p) > 1]
    under_sum = [False] * len(parts)  # whether each part has a summed index
    coefficient, sign, numeric, divisors = 1.0, 1, [], []
    table, labelled = {}, []
    for (array, classes), template in zip(term.factors, factor_names, strict=True):
        if not classes and is_number(templates.text(template)):
            coefficient *= number(templates.text(template))
            numeric.append(templates.text(template))
            continue
        text = tidy(templates.render(templates.replace_defined(template, symbols), mapping))
        # a sum's cancelled parts and common factors: (1/√2) s[i,j] (K[j,l] − Σ_a …)
        text = _simplified_factor(text)
        if _is_bracketed_product(text):  # (2 max(x, 0.9)[i] g[i]): the term is a product too
            text = text[1:-1]
        positive = without_sign(text)
        if positive is not None:  # −sin(x)[i] is written −… in front of the whole term
            text, sign, array = positive, -sign, np.negative(array)
        size = unbracketed(text)
        if " " not in size and is_number(size) and not any(c in summed for c in classes):
            # a factor simplified to a number, (−2/3 − 0) or (1 + 1), joins the term's: (2/9)
            # a[i] b[j], not (1/3) a[i] (2/3) b[j] (each entry is that number; under a Σ it
            # would count the summed entries). A reciprocal, (1 / 2), is folded below.
            coefficient *= number(size)
            numeric.append(size)
            continue
        for size in _leading_numbers(text):  # (1/√2) s[i,j] (…): the number joins the term's
            coefficient *= number(size)
            numeric.append(size)
            array = array / number(size)
            text = text[len(size) + 1 :]
        taken_out = scaled(text)
        if taken_out is not None:  # (2 (W x − y))[i] is written 2 (W x − y)[i]
            size, text = taken_out
            coefficient *= number(size)
            numeric.append(size)
            array = array / number(size)
        printed = templates.classes_in(template)
        if sorted(printed) == sorted(classes) and len(set(classes)) == len(classes) > 1:
            # the entry of Aᵀ prints as A[j,i]: the table's array is laid out as printed
            array = np.transpose(array, [list(classes).index(c) for c in printed])
            classes = printed
        labelled.append((text, array, [mapping[c] for c in classes], classes))
    # 2 (1 / (2 √s)) is written / √s: a number inside a reciprocal cancels against the
    # term's own numbers (not when that makes a fraction: 1 / (2 √x) stays as it is)
    for text, array, factor_labels, classes in labelled:
        folded = reciprocal_scale(text)
        if folded is not None and (folded[1] is None or cancels(coefficient, folded[0])):
            size, text = folded
            coefficient /= number(size)
            numeric.append(f"1/{size}")
            array = array * number(size)
            if text is None:
                continue  # (1 / 3): a number only
        divisor = reciprocal(text)
        bound = any(c in summed for c in classes)
        if divisor is not None and not bound:  # (1 / σ) is written / σ, after the rest
            text = divisor  # its table entry holds the reciprocal: what the term multiplies by
            # E / E, E² / E: a factor and a divisor, powers of one base, cancel
            for n, part in enumerate(parts):
                left = quotient(part, divisor)
                if left is None or part in divisors or under_sum[n]:
                    continue
                if left and table[part][1] != factor_labels:
                    continue  # x[i]² / x[j]: entries of different indices
                part_array = table.pop(part)[0]
                if left:
                    parts[n] = left
                    table[left] = (part_array * array, factor_labels)
                else:
                    del parts[n], under_sum[n]
                break
            else:
                divisors.append(divisor)
                table[text] = (array, factor_labels)
            continue
        elif not bound and any(quotient(text, d) is not None for d in divisors):
            divisor = next(d for d in divisors if quotient(text, d) is not None)
            left = quotient(text, divisor)
            if not left or table[divisor][1] == factor_labels:
                divisors.remove(divisor)
                divisor_array = table.pop(divisor)[0]
                if left:
                    parts.append(left)
                    under_sum.append(False)
                    table[left] = (array * divisor_array, factor_labels)
                continue
            parts.append(text)
            under_sum.append(bound)
        else:
            parts.append(text)
            under_sum.append(bound)
        table[text] = (array, factor_labels)
    if summed:
        inside = [part for part, bound in zip(parts, under_sum, strict=True) if bound]
        outside = [part for part, bound in zip(parts, under_sum, strict=True) if not bound]
        total = "Σ_" + ",".join(mapping[c] for c in dict.fromkeys(summed)) + " " + " ".join(inside)
        # the parts the Σ does not run over stand in front of it: s[i] Σ_a y[a], not
        # Σ_a y[a] s[i], which reads as if s[i] were summed too
        parts = [*outside, total] if inside else [total + " ".join(outside)]
    body = " ".join(parts)
    return _signed(body, sign, coefficient, numeric, divisors), table


def _simplified_factor(text: str) -> str:
    """A factor that is a sum, simplified by :func:`simplified_sum`; its common factors are
    taken out only when no divisor is (a divisor ends a term: the term's own sum, multiplied
    out, shares it with the other terms, ``(δ[i,j] − 1/4 − …) / σ``)."""
    shared = simplified_sum(text)
    if shared is not None and "/" in top_level_tokens(shared):
        shared = simplified_sum(text, take_out=False)
    return shared or text


def _is_bracketed_product(text: str, alone: bool = False) -> bool:
    """Whether ``text`` is one bracket around a product of several factors that can stand
    in a term as they are: no sum, no Σ (it would run over the term's later factors) and
    no divisor (a divisor ends a term); with ``alone``, one factor in a bracket too.

    >>> _is_bracketed_product("(2 a[i] b[i])"), _is_bracketed_product("(a[i] / b)")
    (True, False)
    """
    if not text.startswith("(") or _closing(text, 0) != len(text) - 1:
        return False
    tokens = top_level_tokens(text[1:-1])
    return (
        len(tokens) > 1 - alone
        and not has_top_level_sum(text[1:-1])
        and not any(token == "/" or token.startswith(("Σ_", "−")) for token in tokens)
    )


def _leading_numbers(text: str) -> list[str]:
    """The numbers a product of several factors starts with: ``["2"]`` for ``2 s[i] (a − b)``."""
    tokens = top_level_tokens(text)
    numbers = list(itertools.takewhile(is_number, tokens[:-1]))
    return numbers if _has_top_level_space(text) else []


def unbracketed(text: str) -> str:
    """``text`` without one bracket around all of it: ``(√s)`` and ``√s`` are one factor.

    >>> unbracketed("(a ⊙ (b + c))"), unbracketed("(a) (b)"), unbracketed("(a)[i]")
    ('a ⊙ (b + c)', '(a) (b)', '(a)[i]')
    """
    whole = text.startswith("(") and _closing(text, 0) == len(text) - 1
    return text[1:-1] if whole else text


def cancels(coefficient: float, size: str) -> bool:
    """Whether dividing ``coefficient`` by the integer ``size`` makes no fraction it had
    not: ``2 / 2`` and ``4 / 2`` do, ``1 / 2`` and ``(1/3) / 2`` do not."""
    exact = Fraction(coefficient).limit_denominator(10**6)
    return (exact / int(size)).denominator <= exact.denominator


def _signed(body: str, sign: int, coefficient: float, numeric: list[str], divisors=()) -> str:
    """``body`` with its coefficient in front: ``−body``, ``2 body``, ``(1/3) body``, ``2``;
    then ``/ d`` for each of ``divisors`` (``2 / √s``, ``δ[i,j] / x[i]``)."""
    if divisors:
        head = _signed(body, sign, coefficient, numeric)
        return head + "".join(f" / {divisor}" for divisor in divisors)
    minus = "−" if sign * coefficient < 0 else ""
    swapped = negated_difference(body) if minus else None
    if swapped is not None:  # −(a − b) x[j] is written (b − a) x[j]
        minus, body = "", swapped
    if abs(coefficient) == 1.0:
        return minus + (body or "1")
    size = coefficient_text(numeric, abs(coefficient))
    if body and "/" in size:
        size = f"({size})"
    return f"{minus}{size} {body}" if body else f"{minus}{size}"


def coefficient_text(numeric: list[str], coefficient: float) -> str:
    """The number ``coefficient``, the product of the printed numbers ``numeric``, as a
    fraction when they are integers and fractions (``1/3`` times ``2`` is ``2/3``, not
    ``0.6666666666666666``), else as :func:`templates.number` writes it.

    >>> coefficient_text(["1/3", "2"], 2 / 3), coefficient_text(["3", "1/4"], 0.75)
    ('2/3', '3/4')
    >>> coefficient_text(["0.5", "2"], 1.0), coefficient_text(["0.1"], 0.1)
    ('1', '0.1')
    """
    exact = _exact(numeric)
    if not isinstance(exact, Fraction) or float(abs(exact)) != coefficient:
        return templates.number(coefficient)  # not all integers and fractions, or not all
    return str(abs(exact))


def negated_difference(body: str) -> str | None:
    """``body`` times −1 written without the sign, when it starts with a bracketed
    difference: ``(b − a) x[j]`` for ``(a − b) x[j]``; else None.

    >>> negated_difference("(y[i] − s[i]) x[j]"), negated_difference("x[j] (a − b)")
    ('(s[i] − y[i]) x[j]', None)

    A bracketed sum with any subtracted part is negated part by part, the parts that turn
    positive first: ``−(−a + b − c)`` is ``(a + c − b)``; ``−(a + b)`` stays as it is.

    >>> negated_difference("(−Σ_a u[a] W[a,i] + Σ_b v[b] W[b,i])")
    '(Σ_a u[a] W[a,i] − Σ_b v[b] W[b,i])'
    >>> negated_difference("(a + b) x"), negated_difference("(−a + b − c)")
    (None, '(a + c − b)')
    """
    tokens = top_level_tokens(body)
    pair = difference(tokens[0]) if tokens else None
    if pair is not None:
        return " ".join(["({1} − {0})".format(*pair), *tokens[1:]])
    if not tokens or not is_bracketed_sum(tokens[0]):
        return None
    parts = summands(tokens[0][1:-1])
    negated = [part[1:] if part.startswith("−") else "−" + part for part in parts]
    if all(part.startswith("−") for part in negated):
        return None  # −(a + b): nothing is subtracted that the sign would turn round
    negated.sort(key=lambda part: part.startswith("−"))
    return " ".join([f"({_joined(negated)})", *tokens[1:]])


def difference(body: str) -> tuple[str, str] | None:
    """``("a", "b")`` for the bracketed difference ``(a − b)``, else None.

    >>> difference("(y[i] − Σ_a y[a] s[i])"), difference("(a − b + c)"), difference("(a) (b)")
    (('y[i]', 'Σ_a y[a] s[i]'), None, None)
    """
    if not body.startswith("(") or _closing(body, 0) != len(body) - 1:
        return None
    inner, depth, cuts = body[1:-1], 0, []
    for n, ch in enumerate(inner):
        depth += (ch in "([") - (ch in ")]")
        if depth == 0 and inner.startswith((" + ", " − "), n):
            cuts.append(n)
    if len(cuts) != 1 or not inner.startswith(" − ", cuts[0]) or inner.startswith("−"):
        return None
    return inner[: cuts[0]], inner[cuts[0] + 3 :]


def scaled(text: str) -> tuple[str, str] | None:
    """``("2", "tanh(W x)[i]")`` for ``(2 tanh(W x))[i]``: a factor that is a number times
    one operand, the number taken out to stand in front of the term; None for others.

    >>> scaled("(2 (W x − y))[i]"), scaled("(2 X[i,j])"), scaled("(1 − x)[i]")
    (('2', '(W x − y)[i]'), ('2', 'X[i,j]'), None)
    """
    match = re.fullmatch(r"\((\d+(?:\.\d+)?) (.+)\)((?:\[[^\[\]]*\])?)", text)
    if match is None or _closing(text, 0) != len(text) - 1 - len(match.group(3)):
        return None
    size, rest, labels = match.groups()
    if float(size) == 0:
        return None  # (0 x)[i]: nothing to take out
    if rest[0] in "/⊙^" or has_top_level_sum(f"{size} {rest}"):
        return None  # (1 / 3), (1 − x): not a number times an operand
    if not labels and _has_top_level_space(rest):
        return None  # (2 a[i] b[j]): a product of several factors stays one factor
    if labels and rest.endswith("]"):
        return None
    return size, (templates.grouped(rest) if labels else rest) + labels


_RECIPROCAL = re.compile(r"\(1 / (.+)\)((?:\[[^\[\]]*\])?)")


def reciprocal(text: str) -> str | None:
    """``x[i]`` for the factor ``(1 / x)[i]``, ``(1 + x)[i]`` for ``(1 / (1 + x))[i]``: what
    the term is divided by (written ``/ x[i]``); None for any other factor.

    >>> reciprocal("(1 / σ)"), reciprocal("(1 / (1 + x))[i]"), reciprocal("(1 / x) (1 / y)")
    ('σ', '(1 + x)[i]', None)
    >>> reciprocal("(1 / (√sum(x ⊙ x)))"), reciprocal("(1 / (√(a) b))")
    ('√sum(x ⊙ x)', '(√(a) b)')
    """
    match = _RECIPROCAL.fullmatch(text)
    if match is None or _closing(text, 0) != len(text) - 1 - len(match.group(2)):
        return None
    divisor, labels = match.groups()
    if has_top_level_sum(divisor) or (labels and divisor.endswith("]")):
        return None  # (1 / a + b) is no quotient; (1 / x[j])[i] would read x[j][i]
    if _has_top_level_space(divisor):
        # (1 / x y)[i]: the whole product is indexed; / (‖Aᵀ x‖): divides by all of it
        divisor = f"({divisor})"
    root = re.fullmatch(r"\(([√∛]\w*)(\(.*\))\)", divisor)
    if not labels and root and _closing(root.group(2), 0) == len(root.group(2)) - 1:
        divisor = divisor[1:-1]  # / √sum(x ⊙ x): nothing follows that the root could take
    return divisor + labels


def reciprocal_scale(text: str) -> tuple[str, str | None] | None:
    """``("2", "(1 / √s)")`` for ``(1 / (2 √s))``: an integer inside a reciprocal taken out
    (to cancel against the term's own numbers), with what is left (None for ``(1 / 3)``).

    >>> reciprocal_scale("(1 / (2 √s))"), reciprocal_scale("(1 / 3)"), reciprocal_scale("(1 / x)")
    (('2', '(1 / √s)'), ('3', None), None)
    """
    divisor = reciprocal(text)
    if divisor is None:
        return None
    if re.fullmatch(r"\d+", divisor):
        return (divisor, None) if int(divisor) else None
    match = re.fullmatch(r"\((\d+) (.+)\)((?:\[[^\[\]]*\])?)", divisor)
    if match is None or _closing(divisor, 0) != len(divisor) - 1 - len(match.group(3)):
        return None
    size, rest, labels = match.groups()
    if int(size) == 0 or rest[0] in "/⊙^" or has_top_level_sum(rest) or _has_top_level_space(rest):
        return None  # (1 / (2 a b)) keeps its product together
    return size, f"(1 / {rest}){labels}"


def without_sign(text: str) -> str | None:
    """``sin(x)[i]`` for ``−sin(x)[i]``, ``(x / y²)[i]`` for ``(−x / y²)[i]``; None if the
    factor has no sign of its own in front (or is a sum, whose sign cannot move out).

    >>> without_sign("−sin(x)[i]"), without_sign("(−a[i] b[i] + c[i])")
    ('sin(x)[i]', None)
    """
    start = text.rfind("[") if text.endswith("]") else -1
    name, bracket, labels = (text[:start], "[", text[start + 1 :]) if start > 0 else (text, "", "")
    if name.startswith("(") and _closing(name, 0) == len(name) - 1:
        inner = without_sign(name[1:-1])
        return None if inner is None else f"{templates.grouped(inner)}{bracket}{labels}"
    if not name.startswith("−") or has_top_level_sum(name[1:]):
        return None
    return name[1:] + bracket + labels


def _closing(text: str, start: int) -> int | None:
    depth = 0
    for n in range(start, len(text)):
        depth += (text[n] in "([") - (text[n] in ")]")
        if depth == 0:
            return n
    return None


def _has_top_level_space(text: str) -> bool:
    depth = 0
    for ch in text:
        depth += (ch in "([") - (ch in ")]")
        if depth == 0 and ch == " ":
            return True
    return False


def has_top_level_sum(text: str) -> bool:
    """Whether ``text`` is a sum or difference outside any bracket: ``a + f(b − c)``."""
    depth = 0
    for n, ch in enumerate(text):
        depth += (ch in "([") - (ch in ")]")
        if depth == 0 and (text.startswith(" + ", n) or text.startswith(" − ", n)):
            return True
    return False


def tidy(text: str) -> str:
    """Signs and unit factors folded: ``a + −b`` → ``a − b``, ``1 exp(x)`` → ``exp(x)``,
    ``−1 x`` → ``−x``, and the ASCII ``-`` of a number written ``−``.

    >>> tidy("(1 + -1 exp(x))"), tidy("2 1"), tidy("max(A, -0.5)"), tidy("a − −b")
    ('(1 − exp(x))', '2', 'max(A, −0.5)', 'a + b')
    >>> tidy("1 𝟙 + 2 x"), tidy("(−−c / ‖c‖)[a]")
    ('𝟙 + 2 x', '(c / ‖c‖)[a]')
    """
    text = re.sub(r"-(?=[\d.(A-Za-z])", "−", text)
    text = text.replace(" + −", " − ").replace(" − −", " + ")
    text = re.sub(r"(?<![\w)\]²³¹ᵀ⁻])−−", "", text)  # a negated negation: (−−c / ‖c‖)
    text = re.sub(r"(?<![\w.)\]²³¹ᵀ⁻])(−?)1 (?=[A-Za-z(√δΣ‖𝟙])", r"\1", text)
    return re.sub(r"(?<=\d) 1(?=$|[)\]])", "", text)


def is_zero(term: str) -> bool:
    """Whether a printed term is 0 times its factors: ``0``, ``0 δ[i,j]``, ``0 I``.

    >>> is_zero("0 δ[i,j]"), is_zero("0.5 x[i]"), is_zero("(0 + a)")
    (True, False, False)
    """
    first = top_level_tokens(term.removeprefix("−"))[:1]
    return bool(first) and is_number(first[0]) and number(first[0]) == 0


def is_number(text: str) -> bool:
    """Whether a factor name is a plain number: ``2``, ``−1``, ``1/6``, ``10⁻⁵``, ``√2``, or
    a fraction in brackets as a coefficient stands, ``(2/3)``."""
    if _BRACKETED_FRACTION.fullmatch(text):
        text = text[1:-1]
    try:
        templates.number_value(text)
    except ValueError:
        return "/" in text and all(is_number(part) for part in text.split("/", 1))
    return True


def number(text: str) -> float:
    """The value of a numeric factor name such as ``−1``, ``0.5``, ``1/6``, ``(1/√2)`` or
    ``10⁻⁵``."""
    if _BRACKETED_FRACTION.fullmatch(text):
        text = text[1:-1]
    if "/" in text:
        top, bottom = text.split("/", 1)
        return number(top) / number(bottom)
    return templates.number_value(text)


# a fraction in brackets, as a coefficient is written before other factors: (2/3), (1/√2)
_BRACKETED_FRACTION = re.compile(r"\([^()\s]+/[^()\s]+\)")
