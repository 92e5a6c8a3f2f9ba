"""Index-notation text as LaTeX that KaTeX renders: ``∂V[i]/∂W[j,k] = δ[i,j] x[k]`` →
``\\frac{\\partial V_{i}}{\\partial W_{jk}} = \\delta_{ij}\\,x_{k}``.

The text is read token by token: labels in brackets become subscripts, a
derivative ``∂A/∂B`` (with ``vec`` or a second derivative ``∂²f/∂W[i,j]∂W[k,l]``)
becomes one fraction, functions are upright (``\\tanh``, ``\\operatorname{diag}``),
names of several letters are ``\\mathrm{…}`` and single letters with digits are
subscripted (``K1`` → ``K_{1}``, ``I₃`` → ``I_{3}``).
"""

import itertools
import re

__all__ = ["to_latex"]

# functions LaTeX itself sets upright
_BUILTIN = {
    "tanh", "exp", "log", "sin", "cos", "tan", "sinh", "cosh", "det", "max", "min",
    "arcsin", "arccos", "arctan", "ln",
}  # fmt: skip
# words that act as operators even without parentheses: ``vec f``, ``diag s``
_OPERATORS = {"vec", "diag", "sum", "tr", "softmax", "flip", "sign", "mean", "prod", "abs"}
_SYMBOLS = {
    "∂": r"\partial",
    "δ": r"\delta",
    "⊙": r"\odot",
    "⊗": r"\otimes",
    "−": "-",
    "·": r"\cdot",
    "×": r"\times",
    "ᵀ": r"^{\top}",
    "⁺": "^{+}",
    "≥": r"\geq",
    "≤": r"\leq",
    "≠": r"\neq",
    "∨": r"\lor",
    "∧": r"\land",
    "¬": r"\lnot",
    "→": r"\to",
    "𝟙": r"\mathbb{1}",
    "ℝ": r"\mathbb{R}",
    "‖": r"\|",
    "⟨": r"\langle",
    "⟩": r"\rangle",
    "#": r"\#",
    "%": r"\%",
    "&": r"\&",
    "~": r"\sim",
    "_": r"\_",
}
_ROOTS = {"√": r"\sqrt", "∛": r"\sqrt[3]"}
_STACKED_POWER = re.compile(r"(\^\{[^{}]*\})\^")
_POWERS = {"⁻ᵀ": "^{-\\top}", "⁻½": "^{-1/2}", "½": r"\tfrac{1}{2}"}
_SUPERSCRIPT_VALUES = str.maketrans("⁻⁰¹²³⁴⁵⁶⁷⁸⁹", "-0123456789")
# an exponent written after ^ (x^−3, x^0.5): one group, so that all of it is raised
_EXPONENT = re.compile(r"\^([−-]?\d+(?:\.\d+)?)")
_GREEK = dict(
    zip(
        "αβγεζηθκλμνξπρστυφχψωΓΘΛΞΠΣΦΨΩ",
        r"alpha beta gamma epsilon zeta eta theta kappa lambda mu nu xi pi rho sigma tau"
        r" upsilon phi chi psi omega Gamma Theta Lambda Xi Pi Sigma Phi Psi Omega".split(),
        strict=True,
    )
)
_DIGITS = str.maketrans("₀₁₂₃₄₅₆₇₈₉", "0123456789")
_TOKEN = re.compile(
    r"(?P<sum>Σ_(?P<summed>[\w₀-₉,]+))"
    r"|(?P<hat>[A-Za-z]\u0302)"  # x̂, a standardised x
    r"|(?P<frobenius>‖_F)"  # the close of a Frobenius norm, ‖X‖_F
    r"|(?P<name>[A-Za-z][A-Za-z0-9_]*)"
    r"|(?P<digits>[₀-₉]+)"
    r"|(?P<quoted>'[^']*')"
    r"|(?P<power>⁻ᵀ|⁻½|½|⁻?[⁰¹²³⁴⁵⁶⁷⁸⁹]+)"
    r"|(?P<other>.)",
    re.S,
)
_LABELS = re.compile(r"[A-Za-z][₀-₉]*(,\s*[A-Za-z][₀-₉]*)*")


def to_latex(text: str, align: bool = False) -> str:
    r"""The LaTeX of a formula printed by tensordiff; ``align`` puts ``&`` before the first ``=``.

    >>> to_latex("∂V[i]/∂W[j,k] = δ[i,j] x[k]")
    '\\frac{\\partial V_{i}}{\\partial W_{jk}} = \\delta_{ij}\\,x_{k}'
    >>> print(to_latex("∂vec f/∂vec W = xᵀ ⊗ I₃", align=True))
    \frac{\partial \operatorname{vec} f}{\partial \operatorname{vec} W} &= x^{\top} \otimes I_{3}
    >>> print(to_latex("∂²loss/∂W[i,j]∂W[k,l] = 2 δ[i,k]"))
    \frac{\partial^{2}\mathrm{loss}}{\partial W_{ij}\,\partial W_{kl}} = 2 \delta_{ik}
    """
    text, _, legend = text.partition(", where ")
    if legend:
        definitions = ", ".join(_definition(d) for d in _LEGEND_ENTRY.split(legend))
        return to_latex(text, align) + r",\quad\text{where }" + definitions
    sides = [_side(side) for side in _split_top(text, " = ")]
    if align and len(sides) > 1:
        return sides[0] + " &= " + " = ".join(sides[1:])
    return " = ".join(sides)


# where one entry of a legend ends: a comma before the next "symbol = " (a meaning may
# hold commas of its own: "a constant array, none of the arguments")
_LEGEND_ENTRY = re.compile(r", (?=[^\W\d_]\u0302?[\w₀-₉]*(?:\[[^\]]*\])? = )")


def _definition(text: str) -> str:
    r"""One entry of a legend: ``g = [x > 0]``; the words of a meaning are set as text, its
    mathematics as mathematics (words set as names lost their spaces: theunitvector…).

    >>> print(_definition("g = [x > 0]"), _definition("K1 = a constant array"), sep="; ")
    g = [x > 0]; K_{1} = \text{a constant array}
    >>> print(_definition("e₀ = the unit vector with 1 at entry 0"))
    e_{0} = \text{the unit vector with }1\text{ at entry }0
    >>> print(_definition("M = the minors of X: the one at row i is X without row i"))
    M = \text{the minors of }X:\text{ the one at row }i\text{ is }X\text{ without row }i
    """
    symbol, _, meaning = text.partition(" = ")
    tokens = meaning.split(" ")
    runs = [(word, list(run)) for word, run in itertools.groupby(tokens, _is_word)]
    pieces = []
    for n, (word, run) in enumerate(runs):
        if word:  # the spaces around a run of words are part of its text
            before, after = " " if n > 0 else "", " " if n < len(runs) - 1 else ""
            pieces.append(f"\\text{{{before}{' '.join(run)}{after}}}")
        else:
            pieces.append(_convert(" ".join(run)))
    return f"{_convert(symbol)} = " + "".join(pieces)


def _is_word(token: str) -> bool:
    """Whether a token of a legend's meaning is a word (``the``, ``one-hot``, ``entries,``)
    rather than mathematics (``X``, ``(1,``, ``max(x)]``)."""
    return re.fullmatch(r"(?:[a-z][a-z-]+|a)[,:;]?", token) is not None


def _side(side: str) -> str:
    """One side of an equation: a derivative as a fraction, anything else as it reads."""
    if side.startswith("∂"):
        cut = _top_index(side, "/∂")
        if cut is not None:
            rest = side[cut + 1 :]
            end = _denominator_end(rest)
            denominator = rest[:end].replace("]∂", "] ∂")
            fraction = rf"\frac{{{_convert(side[:cut])}}}{{{_convert(denominator)}}}"
            return fraction + _convert(rest[end:])
    return _convert(side)


def _denominator_end(text: str) -> int:
    """Where ``∂W[j,k]``, ``∂vec W`` or ``∂W[i,j]∂W[k,l]`` ends in ``text``."""
    start = len("∂vec ") if text.startswith("∂vec ") else 0
    end = _top_index(text, " ", start)
    return len(text) if end is None else end


def _convert(text: str) -> str:
    """LaTeX for text without a derivative fraction, one token (or bracket, or √) at a time."""
    pieces: list[str] = []
    n = 0
    while n < len(text):
        if text[n] == "[":
            close = text.find("]", n)
            inside = text[n + 1 : close] if close > 0 else ""
            if close > 0 and _LABELS.fullmatch(inside):
                # a second subscript (``A[0][l]``, ``K1[i]``) hangs off an empty group
                subscripted = bool(pieces) and re.search(r"_\{[^{}]*\}$", pieces[-1])
                pieces.append(("{}" if subscripted else "") + _subscript(inside))
                n = close + 1
                continue
        exponent = _EXPONENT.match(text, n)
        if exponent:
            pieces.append("^{" + exponent.group(1).replace("−", "-") + "}")
            n = exponent.end()
            continue
        if text[n] == "^" and _root_end(text, n + 1) > n + 1:
            # an exponent that is a call or a bracket (2^moveaxis(...)) is one group
            end = _root_end(text, n + 1)
            pieces.append("^{" + _convert(text[n + 1 : end]) + "}")
            n = end
            continue
        if text[n] in _ROOTS:
            end = _root_end(text, n + 1)
            operand = _convert(_unwrapped(text[n + 1 : end]))
            pieces.append(_ROOTS[text[n]] + "{" + operand + "}")
            n = end
            continue
        match = _TOKEN.match(text, n)
        if text[n] == " " and _between_factors(pieces, text[n + 1 : n + 2]):
            pieces.append(r"\,")
        else:
            pieces.append(_token(match, text, match.end()))
        n = match.end()
    # a superscript right after another (``A⁻¹ᵀ``, ``A⁺ᵀ``) hangs off an empty group
    return _STACKED_POWER.sub(r"\1{}^", "".join(_glue(pieces)))


def _between_factors(pieces: list[str], following: str) -> bool:
    """A space after a subscripted or bracketed factor, before another: ``x_{k}\\,y_{l}``."""
    factor_end = bool(pieces) and re.search(r"(^(\{\})?[_^]\{.*\}|\))$", pieces[-1]) is not None
    return factor_end and re.match(r"[A-Za-z(δ∂√αβγεζηθκλμνξπρστυφχψω]", following) is not None


def _root_end(text: str, start: int) -> int:
    """Where the operand of a √ starting at ``start`` ends: a bracket, or a name with its
    call and labels (``√sum(A ⊙ A)``, ``√x[i]``), or an integer (``√2``)."""
    name = re.compile(r"[A-Za-z][A-Za-z0-9_]*|\d+").match(text, start)
    end = name.end() if name else start
    while end < len(text) and text[end] in "([":
        close = _top_index(text, "]" if text[end] == "[" else ")", end + 1)
        end = len(text) if close is None else close + 1
    return end


def _unwrapped(text: str) -> str:
    return (
        text[1:-1] if text.startswith("(") and _top_index(text, ")", 1) == len(text) - 1 else text
    )


def _token(match: re.Match, text: str, end: int) -> str:
    kind = match.lastgroup
    token = match.group(kind)
    if kind == "sum":
        return r"\sum_{" + _labels(match.group("summed")) + "}"
    if kind == "hat":
        return r"\hat{" + token[0] + "}"
    if kind == "frobenius":
        return r"\|_{F}"
    if kind == "name":
        return _name(token, text[end : end + 1] == "(", text[end : end + 1] in ("[", "/", ""))
    if kind == "digits":
        return "_{" + token.translate(_DIGITS) + "}"
    if kind == "quoted":
        return r"\text{" + token.replace("_", r"\_") + "}"
    if kind == "power":  # 10⁻⁵, X⁻¹, tanh²: a run of superscripts is one exponent
        return _POWERS.get(token) or "^{" + token.translate(_SUPERSCRIPT_VALUES) + "}"
    if token in _GREEK:
        return "\\" + _GREEK[token]
    if token == "√":
        return r"\sqrt"
    return _SYMBOLS.get(token, token)


def _name(word: str, called: bool, indexed: bool = False) -> str:
    """``tanh`` → ``\\tanh``, ``diag`` → ``\\operatorname{diag}``, ``loss`` → ``\\mathrm{loss}``;
    a function's own name that is also an operator's is a name: ``∂ln[i]`` → ``\\mathrm{ln}_{i}``.

    >>> print(_name("ln", False, indexed=True), _name("ln", True), _name("log", False))
    \\mathrm{ln} \\ln \\log
    """
    letters, digits = re.fullmatch(r"(.*?)(\d*)", word).groups()
    if word in _BUILTIN and not indexed:
        return "\\" + word
    if word in _OPERATORS or (called and len(word) > 1):
        return r"\operatorname{" + word.replace("_", r"\_") + "}"
    if len(letters) > 1 or "_" in letters:
        base = r"\mathrm{" + letters.replace("_", r"\_") + "}"
    else:
        base = letters
    return base + ("_{" + digits + "}" if digits and letters else digits)


def _subscript(inside: str) -> str:
    return "_{" + _labels(inside) + "}"


def _labels(inside: str) -> str:
    labels = [_label(label.strip()) for label in inside.split(",")]
    joiner = "" if all(len(label) == 1 for label in labels) else ","
    return joiner.join(labels)


def _label(label: str) -> str:
    """``i`` or a piece of a composite axis ``i₀`` → ``i_{0}`` (a fresh summation label of a
    long formula, ``s12``, → ``s_{12}``)."""
    letters, digits = re.fullmatch(r"([A-Za-z]+)([₀-₉0-9]*)", label).groups()
    return letters + ("_{" + digits.translate(_DIGITS) + "}" if digits else "")


def _glue(pieces: list[str]) -> list[str]:
    """A space between a control word and a letter that follows it (``\\partial f``)."""
    out: list[str] = []
    for piece in pieces:
        if out and re.search(r"\\[A-Za-z]+$", out[-1]) and re.match(r"[A-Za-z0-9\\]", piece):
            out.append(" ")
        out.append(piece)
    return out


def _split_top(text: str, separator: str) -> list[str]:
    parts, start = [], 0
    while True:
        cut = _top_index(text, separator, start)
        if cut is None:
            return parts + [text[start:]]
        parts.append(text[start:cut])
        start = cut + len(separator)


def _top_index(text: str, what: str, start: int = 0) -> int | None:
    """The first place at or after ``start`` where ``what`` occurs outside brackets."""
    depth = 0
    for n in range(start, len(text)):
        if depth == 0 and text.startswith(what, n):
            return n
        depth += (text[n] in "([{") - (text[n] in ")]}")
    return None
