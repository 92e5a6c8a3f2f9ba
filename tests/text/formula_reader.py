"""Read a printed formula back with nothing but the user's arrays and its legend.

``read_back(J.formula, user_arrays, J)`` parses the index notation (δ, Σ, labels,
coefficients, sums of terms) and every factor's name as an expression over the
user's names (``2 (W x − y)``, ``Aᵀ``, ``flip(y)``, ``tanh²(W x)``, ``[x > 0]``),
reading each legend symbol as its meaning. Nothing of tensordiff's own (no
factor table, no internal arrays) is used, so a formula that names the wrong
array, a wrong transpose or an undefined symbol cannot evaluate to the numbers.

Juxtaposition of arrays is the matrix product (a number times anything: scaling);
``⊙`` is the elementwise product, ``⊗`` the Kronecker product.
:func:`read_matrix_form` reads a matrix form (``∂vec f/∂vec W = xᵀ ⊗ I₃``) the same way,
with vectors as columns.

Indices may be integer expressions of the labels, as a block ``J[a:b, …]`` prints
them: ``x[2k+1]``, ``W[a,i+1]``, ``δ[i+1,j]``, ``δ[j,5−i]``, ``(⌊(j+3)/7⌋)``,
``((k+2) mod 2)``. A factor is read at those positions (an index outside its axis
makes the formula unreadable, never wraps around), and a δ is 1 where all its
indices agree.
"""

import itertools
import math
import operator
import re

import numpy as np

_DIGITS = str.maketrans("₀₁₂₃₄₅₆₇₈₉", "0123456789")
_SUBSCRIPT_DIGITS = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")
_SUPERSCRIPTS = {"ᵀ": "T", "⁻¹": "inv", "⁻ᵀ": "invT", "⁺": "pinv"}
_SUPERSCRIPTS.update((power, n) for n, power in enumerate("⁰¹²³⁴⁵⁶⁷⁸⁹") if n > 1)
# a number as formulas print it: 2, 0.5, 1e-12, 10⁻⁵, 2.5·10⁻¹²
_NUMBER = r"(?:\d+(?:\.\d+)?·)?10⁻?[⁰¹²³⁴⁵⁶⁷⁸⁹]+|\d+(?:\.\d+)?(?:e[-−+]?\d+)?"
_POWER_OF_TEN = re.compile(r"(-?)(?:(\d+(?:\.\d+)?)·)?10(⁻?[⁰¹²³⁴⁵⁶⁷⁸⁹]+)")
_FROM_SUPERSCRIPT = str.maketrans("⁻⁰¹²³⁴⁵⁶⁷⁸⁹", "-0123456789")
_TOKEN = re.compile(
    rf"\s*(?:(?P<number>{_NUMBER})"
    r"|(?P<name>[A-Za-zα-ωΑ-Ω]\u0302?[A-Za-z0-9_₀-₉]*)"
    r"|(?P<op>⁻¹|⁻ᵀ|𝟙|‖_F|[−+⊙⊗/^ᵀ²³⁴⁵⁶⁷⁸⁹⁺√∛(),:\[\]|=<>≥≤≠∨½‖·×]))"
)
_LABELS = re.compile(r"[a-z][₀-₉]?(,[a-z][₀-₉]?)*")
_LABEL = re.compile(r"[a-z][₀-₉]?")
# one token of an index expression: ``mod``, a label, an integer or an operator
_INDEX_TOKEN = re.compile(r"\s*(mod|[a-z][₀-₉]?|\d+|[+−()⌊⌋/])")
_INDEX_PYTHON = {"mod": "%", "−": "-", "⌊": "(", "⌋": ")", "/": "//"}


def read_number(text: str) -> float:
    """The value of a printed number, its sign written ``−`` or ``-``; a fraction ``(1/3)``
    is the float64 its division gives."""
    text = text.replace("−", "-")
    fraction = re.fullmatch(r"\(?(-?\d+)/(\d+)\)?", text)
    if fraction is not None:
        return int(fraction.group(1)) / int(fraction.group(2))
    power = _POWER_OF_TEN.fullmatch(text)
    if power is None:
        return float(text)
    sign, mantissa, exponent = power.groups()
    return float(f"{sign}{mantissa or '1'}e{exponent.translate(_FROM_SUPERSCRIPT)}")


def _cofactors(a):
    """The cofactor matrices of a stack, from the minors' determinants (no inverse: they
    hold at singular matrices too)."""
    n = a.shape[-1]
    if n == 1:
        return np.ones_like(a)
    keep = np.array([[r for r in range(n) if r != i] for i in range(n)])
    minors = a[..., keep[:, None, :, None], keep[None, :, None, :]]
    return (-1.0) ** np.add.outer(np.arange(n), np.arange(n)) * np.linalg.det(minors)


def _diag(a):
    """``diag`` of a vector, also written as a column (a matrix form's vectors)."""
    a = np.asarray(a)
    return np.diag(a.ravel()) if a.ndim == 2 and 1 in a.shape else np.diag(a)


def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def _softmax(z, axis=None):
    """The softmax along ``axis`` (every axis if None), computed here from its definition."""
    e = np.exp(z - np.max(z, axis=axis, keepdims=True))
    return e / np.sum(e, axis=axis, keepdims=True)


def _along_column(function):
    """``function`` of a vector, also of a vector written as a column (a matrix form's
    vectors): cumsum, sort and argsort of an (n, 1) column run down it, not along rows."""

    def along(a, *args, **keywords):
        a = np.asarray(a)
        if a.ndim == 2 and a.shape[1] == 1 and not keywords:
            return np.asarray(function(a[:, 0], *args))[:, None]
        return function(a, *args, **keywords)

    return along


_FUNCTIONS = {
    "exp": np.exp,
    "log": np.log,
    "log₂": np.log2,
    "tanh": np.tanh,
    "sin": np.sin,
    "cos": np.cos,
    "tan": np.tan,
    "sinh": np.sinh,
    "cosh": np.cosh,
    "sign": np.sign,
    "abs": np.abs,
    "σ": _sigmoid,
    "softmax": _softmax,
    "isnan": np.isnan,
    "flip": np.flip,
    "ravel": np.ravel,
    "reshape": np.reshape,
    "transpose": np.transpose,
    "swapaxes": np.swapaxes,
    "moveaxis": np.moveaxis,
    "diag": _diag,
    "det": np.linalg.det,
    "tr": np.trace,
    "mean": np.mean,
    "cumsum": _along_column(np.cumsum),
    "prod": np.prod,
    "roll": lambda a, shift, axis=None: np.roll(a, np.asarray(shift, dtype=int), axis),
    "take": np.take,
    "sort": _along_column(np.sort),
    "partition": _along_column(lambda a, kth, axis=-1: np.partition(a, int(kth), axis=axis)),
    "argsort": _along_column(lambda a, axis=-1: np.argsort(a, axis=axis, kind="stable")),
    "take_along_axis": np.take_along_axis,
    "where": np.where,
    "broadcast_to": np.broadcast_to,
    "diagonal": lambda a, offset=0, axis1=0, axis2=1: np.diagonal(
        a, int(offset), int(axis1), int(axis2)
    ),
    "concatenate": lambda *arrays, axis=0: np.concatenate(arrays, axis=axis),
    "stack": lambda *arrays, axis=0: np.stack(arrays, axis=axis),
    "cof": lambda a: _cofactors(np.asarray(a, dtype=float)),
}


def _sum(a, axis=None, keepdims=False):
    return np.sum(a, axis=axis, keepdims=keepdims)


def _extreme(reduce, elementwise):
    def extreme(a, b=None, axis=None, keepdims=False):
        if b is not None:
            return elementwise(a, b)
        return reduce(a, axis=axis, keepdims=keepdims)

    return extreme


def _var(a, axis=None, keepdims=False, ddof=0):
    return np.var(a, axis=axis, keepdims=keepdims, ddof=ddof)


_FUNCTIONS.update(
    sum=_sum, var=_var, max=_extreme(np.max, np.maximum), min=_extreme(np.min, np.minimum)
)


class Unreadable(ValueError):
    """The text is not a formula this reader knows: the test fails on it."""


class _Expression:
    """A recursive-descent reader of one array-level expression."""

    def __init__(self, text: str, names: dict, legend: dict, shape=(), size=None):
        # size: in a matrix form, the size of each symbol defined in words (S, e, L, I)
        self.shape = list(shape)  # a matrix form's Jacobian shape: sizes of 𝟙 and I
        self.size = size
        found = [m for m in _TOKEN.finditer(text) if m.group(0).strip()]
        self.tokens = [m.group(0).strip() for m in found]
        self.text, self.ends = text, [m.end() for m in found]  # to read a Σ_a … in index form
        if "".join(self.tokens) != re.sub(r"\s+", "", text):
            raise Unreadable(f"cannot tokenise {text!r}")
        self.at = 0
        self.bars = 0  # inside |…|: a bar closes, never starts an operand
        self.norms = 0  # likewise inside ‖…‖
        self.names = names
        self.legend = legend

    def read(self):
        value = self.sum()
        if self.at != len(self.tokens):
            raise Unreadable(f"left over {self.tokens[self.at :]} in {' '.join(self.tokens)}")
        return value

    def peek(self, offset=0):
        n = self.at + offset
        return self.tokens[n] if n < len(self.tokens) else None

    def take(self, expected=None):
        token = self.peek()
        if token is None or (expected is not None and token != expected):
            raise Unreadable(f"expected {expected!r}, found {token!r} in {self.tokens}")
        self.at += 1
        return token

    def sum(self):
        value = self.kronecker()
        while self.peek() in ("+", "−"):
            op = self.take()
            right = self.kronecker()
            value = value + right if op == "+" else value - right
        return value

    def kronecker(self):
        value = self.product()
        while self.peek() == "⊗":
            self.take()
            value = np.kron(value, self.product())
        return value

    def product(self):
        value = self.unary()
        while True:
            token = self.peek()
            if token in ("⊙", "/", "·", "×"):
                self.take()
                right = self.unary()
                value = _BINARY[token](value, right)
            elif self._starts_operand(token):
                # a 1 × 1 product (uᵀ x) in a matrix form is a number
                value, right = _number_if_one_by_one(value), _number_if_one_by_one(self.unary())
                both_arrays = np.ndim(value) > 0 and np.ndim(right) > 0
                value = _juxtaposed(value, right) if both_arrays else value * right
            else:
                return value

    def _spaced(self) -> bool:
        """Whether blank space comes before the next token (``½ [x = 0.9]``, not ``x[0]``)."""
        start = self.ends[self.at] - len(self.tokens[self.at])
        return self.at > 0 and start > self.ends[self.at - 1]

    def _starts_operand(self, token) -> bool:
        if token is None:
            return False
        if token == "|":
            return self.bars == 0
        if token == "‖":
            return self.norms == 0
        return token in ("(", "√", "∛", "½", "[", "𝟙") or token[0].isalnum() or token[0] in "σΣ"

    def unary(self):
        if self.peek() == "−":
            self.take()
            return -self.unary()
        return self.power()

    def power(self):
        value = self.postfix()
        if self.peek() == "^":
            self.take()
            exponent = self.unary() if self.peek() in ("(", "−") else self.postfix()
            value = np.power(value, exponent)
        return value

    def postfix(self):
        value = self.atom()
        # an index follows its array at once; ½ [x = 0.9] is a product with a bracket
        indexed = self.peek() == "[" and not self._spaced()
        if indexed and self._slice_ahead():  # W[:,1], y[1::2]: a basic slice
            value = value[self.slices()]
        elif indexed and re.fullmatch(r"\d+", self.peek(1) or ""):
            value = value[self.integers("]")]
            if np.size(value) == 1:  # an entry (of a vector read as a column): a number
                value = np.reshape(value, ())
        elif indexed and self.peek(1) == "[":  # entries: x[[3, 0, 4]], x[[[0, 1]]]
            self.take()
            value = value[np.array(self.nested_integers())]
            self.take("]")
        while self.peek() in _SUPERSCRIPTS:
            value = _superscript(value, _SUPERSCRIPTS[self.take()])
        return value

    def atom(self):
        token = self.take()
        if token == "(":
            value = self.sum()
            self.take(")")
            return value
        if token == "½":
            return 0.5
        if token == "𝟙":  # a column of ones, as long as the Jacobian's next axis (its
            # last one for every further 𝟙: a gradient's 𝟙s are all as long as its argument)
            return np.ones((self.shape.pop(0) if len(self.shape) > 1 else self.shape[0], 1))
        if token == "√":
            return np.sqrt(self.postfix())
        if token == "∛":
            return np.cbrt(self.postfix())
        if token == "|":
            self.bars += 1
            value = self.sum()
            self.take("|")
            self.bars -= 1
            return np.abs(value)
        if token == "‖":  # ‖x‖ of a vector, ‖X‖_F (Frobenius); ‖X‖ of a matrix is its 2-norm
            self.norms += 1
            value = self.sum()
            closing = self.take()
            self.norms -= 1
            if closing == "‖_F" or np.ndim(value) < 2:
                return np.sqrt(np.sum(np.square(value)))
            assert closing == "‖" and np.ndim(value) == 2, closing
            return np.linalg.norm(value, 2)
        if token == "[":
            return self.iverson()
        if re.fullmatch(r"\d.*", token):
            return read_number(token)
        if token == "Σ":
            return np.sum(self.postfix())
        if token.startswith("Σ_"):  # (Σ_a y[a]) in a matrix form: index notation to the ")"
            return self.index_sum()
        return self.named(token)

    def index_sum(self):
        """The scalar ``Σ_a …`` that runs to the bracket closing around it, read as index
        notation (its letters are bound: nothing is left free)."""
        start, depth = (self.ends[self.at - 2] if self.at > 1 else 0), 0
        while self.peek() is not None and not (depth == 0 and self.peek() == ")"):
            depth += (self.peek() in "([") - (self.peek() in ")]")
            self.take()
        labels, value = _index_sum(
            self.text[start : self.ends[self.at - 1]], self.names, self.legend, {}
        )
        if labels:
            raise Unreadable(f"Σ leaves {labels} free in a matrix form")
        return value

    def iverson(self):
        value = self.comparison()
        while self.peek() == "∨":
            self.take()
            value = value | self.comparison()
        self.take("]")
        return value.astype(float)

    def comparison(self):
        left = self.sum()
        if self.peek() in ("∨", "]"):
            return np.asarray(left, dtype=bool)
        op = self.take()
        right = self.sum()
        compare = {
            "=": np.equal,
            "<": np.less,
            ">": np.greater,
            "≥": np.greater_equal,
            "≤": np.less_equal,
            "≠": np.not_equal,
        }
        if op not in compare:
            raise Unreadable(f"unknown comparison {op!r}")
        return compare[op](left, right)

    def named(self, name: str):
        squared = name in _FUNCTIONS and self.peek() == "²" and self.peek(1) == "("
        if squared:  # tanh²(x)
            self.take()
        base = name
        if base in _FUNCTIONS and not (name in self.legend and self.peek() != "("):
            if self.peek() == "(":
                args, keywords = self.arguments()
            else:  # a function written as an operator: exp x, det (A Aᵀ)
                args, keywords = [self.postfix()], {}
            value = _FUNCTIONS[base](*args, **keywords)
            return value**2 if squared else value
        # a symbol the legend defines means what the legend says (the user may have an
        # array of that name the function never reads, as the corpus's M)
        if name in self.names and name not in self.legend:
            return np.asarray(self.names[name], dtype=float)
        identity = re.fullmatch(r"I([₀-₉]*)", name)
        if identity and (self.shape or identity.group(1)):  # I₃, or I as large as the Jacobian
            return np.eye(int(identity.group(1).translate(_DIGITS) or self.shape[0]))
        commutation = re.fullmatch(r"K([₀-₉])([₀-₉])", name)
        if commutation and self.shape:
            return _commutation(*(int(d.translate(_DIGITS)) for d in commutation.groups()))
        if name in self.legend:  # read once: an intermediate z₂ may use z₁ twice
            if name not in _defined:
                _defined[name] = meaning_value(self.legend[name], self.names, self.legend)
            value = _defined[name]
            if name in (self.size or {}):
                return _as_matrix(value, self.size[name])
            if isinstance(value, tuple) and value[0] == "picks":  # inside an expression,
                # sum(S, axis=0): as many columns as its largest pick needs
                return _as_matrix(value, max(value[1]) + 1)
            return _Signs() if isinstance(value, tuple) and value[0] == "signs" else value
        raise Unreadable(f"{name!r} is neither a user name, a function nor in the legend")

    def arguments(self):
        self.take("(")
        args, keywords = [], {}
        while True:
            if self.peek(1) == "=" and self.peek() == "axis":
                self.take()
                self.take("=")
                axis = self.integers(")") if self.peek() == "(" else int(self.unary())
                keywords["axis"] = axis
            elif self.peek(1) == "=" and self.peek() == "ddof":
                self.take()
                self.take("=")
                keywords["ddof"] = float(self.unary())
            elif self.peek(1) == "=" and self.peek() == "keepdims":
                self.take()
                self.take("=")
                keywords["keepdims"] = self.take() == "True"
            elif self._integers_ahead("(", ")"):
                args.append(self.integers(")"))
            elif self._integers_ahead("[", "]"):
                args.append(self.integers("]"))
            else:
                args.append(self.sum())
            if self.take() == ")":
                return args, keywords

    def _integers_ahead(self, open_: str, close: str) -> bool:
        """Whether a tuple of integers such as ``(0, −1)`` starts here (not ``(1 / x)``)."""
        if self.peek() != open_:
            return False
        n = 1
        while self.peek(n) not in (close, None):
            if not re.fullmatch(r"\d+|−|,", self.peek(n)):
                return False
            n += 1
        return self.peek(n) == close

    def nested_integers(self) -> list:
        """``[[0, 1], [1, 2]]``: an integer index array as Python writes it."""
        if self.peek(1) != "[":
            return list(self.integers("]"))
        self.take("[")
        rows = [self.nested_integers()]
        while self.peek() == ",":
            self.take(",")
            rows.append(self.nested_integers())
        self.take("]")
        return rows

    def _slice_ahead(self) -> bool:
        """Whether a bracket of integers and colons, with one colon at least, follows (an
        entry may be a list of integers: ``X[:, [0, 2]]``)."""
        n, found, depth = 1, False, 0
        while self.peek(n) is not None and (depth or self.peek(n) != "]"):
            if not re.fullmatch(r"\d+|[:,−\[\]]", self.peek(n)):
                return False
            depth += (self.peek(n) == "[") - (self.peek(n) == "]")
            found = found or (self.peek(n) == ":" and not depth)
            n += 1
        return found

    def slices(self) -> tuple:
        """``[1:,::−2]``, ``[:, [0, 2]]`` as a tuple of slices, integers and lists."""
        self.take("[")
        index, parts = [], [[]]
        while True:
            if self.peek() == "[":
                index.append(list(self.integers("]")))
                if self.take() == "]":
                    return tuple(index)
                continue
            token = self.take()
            if token in (",", "]"):
                pieces = [int("".join(p).replace("−", "-")) if p else None for p in parts]
                index.append(slice(*pieces) if len(parts) > 1 else pieces[0])
                parts = [[]]
                if token == "]":
                    return tuple(index)
            elif token == ":":
                parts.append([])
            else:
                parts[-1].append(token)

    def integers(self, close: str) -> tuple:
        self.take()
        values = []
        while self.peek() != close:
            token = self.take()
            if token != ",":
                values.append(-int(self.take()) if token == "−" else int(token))
        self.take(close)
        return tuple(values)


def _commutation(m: int, n: int) -> np.ndarray:
    """K with K vec X = vec Xᵀ for an m×n matrix X (columns stacked)."""
    K = np.zeros((m * n, m * n))
    for i in range(m):
        for j in range(n):
            K[j + n * i, i + m * j] = 1.0
    return K


def read_matrix_form(form: str, names: dict, J) -> list[np.ndarray]:
    """The matrices a printed matrix form can stand for, read with vectors as columns:
    ``∂vec f/∂vec W`` is J with output and input each column-stacked, a gradient has
    its argument's shape (a column for a vector). A symbol defined in words (``S`` =
    one-hot rows picking entries …, ``e₁``) does not say how many columns it has: it
    is read once for each size of the Jacobian's axes (the numbers decide)."""
    form, legend = legend_of(form)
    _, rhs = form.split(" = ", 1)
    _defined.clear()  # the legend's values are this form's own
    columns = {
        name: np.asarray(value, dtype=float)[:, None] if np.ndim(value) == 1 else value
        for name, value in names.items()
    }
    worded = [
        name for name, meaning in legend.items() if isinstance(_worded(meaning, names), tuple)
    ]
    readings = []
    # a selection may pick from an intermediate of a size no axis of J has (x[:2] of a
    # concatenate): every size up to the largest is tried
    for sizes in itertools.product(range(1, max(J.shape, default=1) + 1), repeat=len(worded)):
        try:
            size = dict(zip(worded, sizes, strict=True)) if worded else None
            reading = _Expression(rhs, columns, legend, J.shape, size).read()
        except Unreadable:
            raise
        except (IndexError, ValueError):  # a size the symbol cannot have
            continue
        readings.append(np.asarray(reading, dtype=float))
    return readings


def _worded(meaning: str, names: dict):
    """The meaning's value if it is one of the meanings in words, else None."""
    return meaning_value(meaning, names, {}) if _WORDED.match(meaning) else None


_WORDED = re.compile(
    r"one-hot rows|the unit vector|the lower triangle|1 where the row-major|the signs of the"
)


class _Signs:
    """The signs of the cofactors, (−1)^(i+j), as an operand of ⊙: as large as the other."""

    def __mul__(self, other):
        other = np.asarray(other, dtype=float)
        rows, columns = other.shape[-2:]
        return (-1.0) ** np.add.outer(np.arange(rows), np.arange(columns)) * other

    __rmul__ = __mul__


def _as_matrix(value, size: int):
    """A legend meaning in words as the matrix a matrix form means by it."""
    if not isinstance(value, tuple):
        return value
    kind, detail = value
    if kind == "picks":  # rows of the identity, a zero row for "none"
        picks = np.zeros((len(detail), size))
        for row, column in enumerate(detail):
            if column >= 0:
                picks[row, column] = 1.0
        return picks
    if kind == "unit":
        return np.eye(size)[:, [detail]]
    if kind == "signs":
        return (-1.0) ** np.add.outer(np.arange(size), np.arange(size))
    return np.tril(np.ones((size, size))) if kind == "lower" else np.eye(size)


def _juxtaposed(a, b):
    """``A B`` as a matrix product; a vector ``x`` is a column beside a row (``x xᵀ``, an
    outer product), and a row times a vector (``uᵀ x``) is a number, which scales what it
    stands beside (``(uᵀ x) v``)."""
    if _is_lower(a):  # L beside an operand is as large as the operand needs
        a = np.tril(np.ones((np.shape(b)[0],) * 2))
    if _is_lower(b):
        b = np.tril(np.ones((np.shape(a)[-1],) * 2))
    if np.shape(a) == (1, 1) or np.shape(b) == (1, 1):
        return np.multiply(_number_if_one_by_one(a), _number_if_one_by_one(b))
    if np.ndim(a) == 1 and np.ndim(b) == 2 and np.shape(b)[0] == 1:
        a = a[:, None]
    product = np.matmul(a, b)
    return product[0] if np.ndim(a) == 2 and np.shape(a)[0] == 1 and np.ndim(b) == 1 else product


def _is_lower(value) -> bool:
    return isinstance(value, tuple) and value[0] == "lower"


def _number_if_one_by_one(value):
    return value[0, 0] if np.shape(value) == (1, 1) else value


def _is_column(value) -> bool:
    """A vector as a matrix form reads it: one column."""
    return np.ndim(value) == 2 and np.shape(value)[1] == 1


def _dot(a, b):
    """``a · b``: NumPy's dot; of two columns (a matrix form's vectors), their inner product."""
    if _is_column(a) and _is_column(b):
        return np.vdot(a, b)
    return np.dot(a, b)


def _cross(a, b):
    """``a × b``: the cross product along the vectors' axis (a column's first)."""
    return np.cross(a, b, axis=0) if _is_column(a) else np.cross(a, b)


_BINARY = {"⊙": operator.mul, "/": operator.truediv, "·": _dot, "×": _cross}


def _superscript(value, kind):
    if kind == "T":  # a vector's transpose is a row
        return value[None, :] if np.ndim(value) == 1 else np.swapaxes(value, -1, -2)
    if kind == "inv":
        return np.linalg.inv(value)
    if kind == "invT":
        return np.swapaxes(np.linalg.inv(value), -1, -2)
    if kind == "pinv":
        return np.linalg.pinv(value)
    return np.power(value, kind)


def meaning_value(meaning: str, names: dict, legend: dict):
    """A legend meaning's array: an expression, or one of the meanings in words."""
    picks = re.fullmatch(r"one-hot rows picking entries \((.*)\)", meaning)
    if picks:
        return ("picks", [-1 if p == "none" else int(p) for p in picks.group(1).split(", ")])
    named = re.fullmatch(r"one-hot rows picking the entries (.+) names", meaning)
    if named:  # positions computed from the user's values: argsort(x)
        positions = _Expression(named.group(1), names, legend).read()
        return ("picks", [int(p) for p in np.ravel(positions)])
    unit = re.fullmatch(r"the unit vector with 1 at entry (\d+)", meaning)
    if unit:
        return ("unit", int(unit.group(1)))
    if meaning.startswith("the Levi-Civita symbol"):  # the sign of each permutation
        epsilon = np.zeros((3, 3, 3))
        for i, j, k in itertools.permutations(range(3)):
            epsilon[i, j, k] = np.linalg.det(np.eye(3)[[i, j, k]])
        return np.round(epsilon)
    minors = re.fullmatch(r"the minors of (.+): the one in row i, column j is .+", meaning)
    if minors:  # the stack of (n−1)×(n−1) matrices, M[i,j,a,b]
        matrix = np.asarray(_Expression(minors.group(1), names, legend).read(), dtype=float)
        n = matrix.shape[-1]
        keep = np.array([[r for r in range(n) if r != i] for i in range(n)])
        return matrix[..., keep[:, None, :, None], keep[None, :, None, :]]
    if meaning == "the signs of the cofactors, (−1)^(i+j) in row i, column j":
        return ("signs", None)
    if meaning == "the lower triangle of ones (diagonal included)":
        return ("lower", None)
    identity = re.fullmatch(
        r"1 where the row-major positions of output \(([\d, ]*)\) and input \(([\d, ]*)\) agree",
        meaning,
    )
    if identity:
        out_shape, in_shape = ([int(n) for n in re.findall(r"\d+", g)] for g in identity.groups())
        return np.eye(math.prod(in_shape)).reshape(out_shape + in_shape)
    return _Expression(meaning, names, legend).read()


def legend_of(formula: str) -> tuple[str, dict[str, str]]:
    """The formula without its legend, and the legend as symbol → meaning."""
    formula, _, legend = formula.partition(", where ")
    entries = re.split(r", (?=[^\W\d_]\u0302?[\w₀-₉]*(?:\[[^\]]*\])? = )", legend) if legend else []
    return formula, dict(entry.split(" = ", 1) for entry in entries)


def read_back(formula: str, names: dict, J) -> np.ndarray:
    """The numbers ``formula`` (as printed for the Jacobian ``J``) stands for."""
    formula, legend = legend_of(formula)
    _defined.clear()
    for key in legend:  # in the legend's order, each entry after those it uses: read
        _read_ahead(key, names, legend)  # this way, a chain of 100 entries nests no deeper
    _, rhs = formula.split(" = ", 1)
    sizes = dict(zip(J.indices, J.shape, strict=True))
    labels, value = _index_sum(rhs, names, legend, sizes)
    order = []
    for label in J.indices:  # a composite axis i is printed as its pieces i₀, i₁, …
        pieces = sorted({lb for lb in labels if re.fullmatch(re.escape(label) + "[₀-₉]", lb)})
        if not pieces:
            order.append(label)
            continue
        count = max(int(p[-1].translate(_DIGITS)) for p in pieces) + 1
        every = [label + str(n).translate(_SUBSCRIPT_DIGITS) for n in range(count)]
        unknown = [p for p in every if p not in sizes]
        if len(unknown) == 1:
            known = int(np.prod([sizes[p] for p in every if p in sizes]))
            sizes[unknown[0]] = sizes[label] // known
        order += every
    value = _aligned(value, labels, order, sizes)
    return value.reshape(J.shape)


def _split_top(text: str, separators: tuple[str, ...]) -> list[tuple[str, str]]:
    """(separator before, piece) pairs of ``text`` cut at top-level ``separators``."""
    pieces, depth, start, sign = [], 0, 0, "+"
    n = 0
    while n < len(text):
        ch = text[n]
        depth += (ch in "([") - (ch in ")]")
        cut = next((s for s in separators if depth == 0 and text.startswith(s, n)), None)
        if cut is not None and n > start:
            pieces.append((sign, text[start:n]))
            sign, start = cut.strip(), n + len(cut)
            n = start
            continue
        n += 1
    return pieces + [(sign, text[start:])]


def _index_sum(text, names, legend, sizes):
    total_labels, total = [], np.zeros(())
    for sign, term in _split_top(text.strip(), (" + ", " − ")):
        labels, value = _index_term(term.strip(), names, legend, sizes)
        union = total_labels + [lb for lb in labels if lb not in total_labels]
        total = _aligned(total, total_labels, union, sizes)
        value = _aligned(value, labels, union, sizes)
        total, total_labels = (total + value if sign == "+" else total - value), union
    return total_labels, total


def _index_term(text, names, legend, outer_sizes):
    sizes = dict(outer_sizes)  # a summed letter's size holds in its own term only
    coefficient = 1.0
    if text.startswith("−"):
        coefficient, text = -1.0, text[1:].lstrip()
    summed: list[str] = []
    operands, deltas, pending = [], [], []
    divide = False  # the token after " / " divides the term
    for _, token in _split_top(text, (" ",)):
        if token == "/":
            divide = True
            continue
        if divide:
            pending.append(("/", token))
            divide = False
        elif token.startswith("Σ_"):
            summed += token[2:].split(",")
        elif token.startswith("δ["):
            deltas.append(token[2:-1].split(","))
        elif re.fullmatch(rf"−?\(?(?:{_NUMBER})(/\d+)?\)?", token):
            top, _, bottom = token.strip("()").partition("/")
            coefficient *= read_number(top) / (float(bottom) if bottom else 1.0)
        elif token.startswith("(") and _closes_at_end(token) and "[" in token:
            labels, value = _index_sum(token[1:-1], names, legend, sizes)
            operands.append((value, labels))
        else:
            pending.append(token)
    gathers = []  # factors read at index expressions: once every label has its size
    for token in pending:
        if isinstance(token, tuple):  # a divisor: its reciprocal multiplies the term
            value, labels = _array_factor(token[1], names, legend, sizes)
            factor = (1.0 / np.asarray(value, dtype=float), labels)
        else:
            factor = _array_factor(token, names, legend, sizes)
        (gathers if isinstance(factor[1], _Positions) else operands).append(factor)
    gathers += [(None, _Positions(labels)) for labels in deltas]
    _learn_sizes(gathers, sizes)
    operands += [positions.read(value, sizes) for value, positions in gathers]
    free = []
    for _, labels in operands:
        free += [lb for lb in labels if lb not in summed and lb not in free]
    letters = {}
    for _, labels in operands:
        for lb in labels:
            letters.setdefault(lb, chr(ord("A") + len(letters)))
    spec = ",".join("".join(letters[lb] for lb in labels) for _, labels in operands)
    spec += "->" + "".join(letters[lb] for lb in free)
    value = np.einsum(spec, *[v for v, _ in operands]) if operands else np.ones(())
    outer_sizes.update((label, sizes[label]) for label in free)
    return free, coefficient * value


def _learn_sizes(gathers, sizes) -> None:
    """The sizes only δs and reshaped factors tell, learned until nothing new is: the
    labels of a δ[i,a] run as far as each other, and a factor read at the digits of its
    axes (A[i,j₀,j₁] with A 3×14) gives the one digit size its other indices leave."""
    while True:
        known = len(sizes)
        for value, positions in gathers:
            plain = all(_LABEL.fullmatch(index) for index in positions.indices)
            if value is None and plain:
                n = next((sizes[label] for label in positions.labels if label in sizes), None)
                if n is not None:
                    positions.learn_sizes([n] * len(positions.indices), sizes)
            elif isinstance(value, np.ndarray) and value.ndim < len(positions.indices):
                try:
                    positions.learn_sizes(positions.split_axes(value, sizes).shape, sizes)
                except Unreadable:  # not yet: other sizes may tell the split
                    pass
        if len(sizes) == known:
            return


def _closes_at_end(token: str) -> bool:
    depth = 0
    for n, ch in enumerate(token):
        depth += (ch in "([") - (ch in ")]")
        if depth == 0:
            return n == len(token) - 1
    return False


def _array_factor(token, names, legend, sizes):
    """``(array, labels)`` of one factor, or ``(array, _Positions)`` when it is read at
    index expressions or on part of its axes (once every label's size is known)."""
    match = re.fullmatch(r"(.+)\[([^\[\]]*)\]", token)
    indices = match.group(2).split(",") if match else []
    plain = bool(match) and _LABELS.fullmatch(match.group(2)) is not None
    if match and all(map(_is_index, indices)):
        expression = match.group(1)
    else:
        expression, indices = token, []
    indexed = next((key for key in legend if key.startswith(expression + "[")), None)
    if indexed is not None:  # P₁[i,j] = …: a tensor defined by its entries
        return _defined_tensor(indexed, indices, names, legend, sizes), indices
    if expression in legend:
        value = meaning_value(legend[expression], names, legend)
        if isinstance(value, tuple) and value[0] == "picks" and len(indices) > 2:
            return _selection(value, indices, sizes), indices  # rows picking flat entries
        if isinstance(value, tuple):  # S, L, eₙ: each entry from the meaning, at any index
            if value[0] == "picks":
                # S[a,b] is 0 past its largest pick: a sum over b needs no more than that
                extents = (len(value[1]), max(value[1]) + 1)
                for index, extent in zip(indices, extents, strict=True):
                    if _LABEL.fullmatch(index):
                        sizes.setdefault(index, extent)
            return value, _Positions(indices)
    value = np.asarray(_Expression(expression, names, legend).read(), dtype=float)
    if value.ndim > len(indices):  # axes kept by keepdims=True have size 1 and no label
        value = value.reshape([n for n in value.shape if n != 1] or ())
    if value.ndim > len(indices):
        raise Unreadable(f"{token!r}: an array of shape {value.shape} with labels {indices}")
    # A block's label may run over part of the factor's axis (i in 0…2 of x[i] with x of
    # 6), and a reshaped axis is read at one index per digit (A[i,j₀,j₁] with A 3×14).
    if (
        not plain
        or value.ndim < len(indices)
        or any(
            sizes.get(label, length) != length
            for label, length in zip(indices, value.shape, strict=True)
        )
    ):
        return _read_at(value, indices, sizes)
    sizes.update(zip(indices, value.shape, strict=True))
    return value, indices


def _read_at(value, indices, sizes):
    positions = _Positions(indices)
    if value.ndim == len(indices):
        positions.learn_sizes(value.shape, sizes)
    return value, positions


def _index_tokens(text: str) -> list[str]:
    tokens = _INDEX_TOKEN.findall(text)
    if "".join(tokens) != re.sub(r"\s+", "", text):
        raise Unreadable(f"{text!r} is not an index expression")
    return tokens


def _is_index(text: str) -> bool:
    try:
        return bool(_index_tokens(text))
    except Unreadable:
        return False


class _Positions:
    """The indices of a factor or a δ as integer expressions of labels (``2k+1``,
    ``⌊(j+3)/7⌋``): the positions they name over the grid of their labels."""

    def __init__(self, indices: list[str]):
        self.indices = indices
        self.labels = []  # every label the indices use, in order of appearance
        for text in indices:
            for token in _index_tokens(text):
                if _LABEL.fullmatch(token) and token not in self.labels:
                    self.labels.append(token)

    def learn_sizes(self, shape, sizes) -> None:
        """An index that is a bare label has the size of its axis (unless known)."""
        for text, size in zip(self.indices, shape, strict=True):
            if _LABEL.fullmatch(text):
                sizes.setdefault(text, size)

    def split_axes(self, value, sizes):
        """``value`` with its axes cut into the digits its indices name: a reshaped axis
        prints one index per digit (``A[i,j₀,j₁]``; in a block ``⌊(j+3)/7⌋``,
        ``((j+3) mod 7)``). The one cut its known sizes allow, else Unreadable."""
        if value.ndim == len(self.indices):
            return value
        digits = [_digit_size(text, sizes) for text in self.indices]
        shapes = []
        for cuts in itertools.combinations(range(1, len(digits)), value.ndim - 1):
            groups = [digits[a:b] for a, b in zip((0, *cuts), (*cuts, len(digits)), strict=True)]
            shape = [_digit_shape(group, n) for group, n in zip(groups, value.shape, strict=True)]
            if all(part is not None for part in shape):
                shapes.append([n for part in shape for n in part])
        if len(shapes) != 1 or None in shapes[0]:
            raise Unreadable(
                f"cannot tell how an array of shape {value.shape} splits into"
                f" [{','.join(self.indices)}] ({len(shapes)} ways)"
            )
        return value.reshape(shapes[0])

    def read(self, value, sizes):
        """``(array, labels)``: ``value`` at these positions, or for a δ (``value`` None)
        1 where all the positions agree."""
        if isinstance(value, np.ndarray):
            value = self.split_axes(value, sizes)
        unknown = [label for label in self.labels if label not in sizes]
        if isinstance(value, tuple) and value[0] == "lower" and len(unknown) == 1:
            (label,) = unknown  # L is square: its other index tells its size
            sizes[label] = next(sizes[other] for other in self.labels if other in sizes)
            unknown = []
        if unknown:
            raise Unreadable(f"no size known for {unknown} in [{','.join(self.indices)}]")
        grids = np.indices([sizes[label] for label in self.labels], sparse=True)
        scope = {_python_name(label): grid for label, grid in zip(self.labels, grids, strict=True)}
        grid_shape = [sizes[label] for label in self.labels]
        positions = [np.broadcast_to(_evaluate(text, scope), grid_shape) for text in self.indices]
        if value is None:
            agree = np.all([p == positions[0] for p in positions], axis=0)
            return agree.astype(float), self.labels
        if isinstance(value, tuple):
            return _entries_in_words(value, positions).astype(float), self.labels
        for text, at, size in zip(self.indices, positions, value.shape, strict=True):
            if at.size and (at.min() < 0 or at.max() >= size):
                reach = f"{at.min()}…{at.max()}"
                raise Unreadable(f"index {text} reaches {reach}, outside 0…{size - 1}")
        return value[tuple(positions)], self.labels


def _entries_in_words(value, positions):
    """A legend meaning in words (see :func:`meaning_value`) at integer positions: the
    meaning defines every entry, so no size is needed."""
    kind, data = value
    if kind == "unit" and len(positions) == 1:
        return positions[0] == data
    if kind == "signs" and len(positions) == 2:
        return (-1.0) ** (positions[0] + positions[1])
    if kind == "lower" and len(positions) == 2:
        return positions[1] <= positions[0]
    if kind == "picks" and len(positions) == 2:
        rows, columns = positions
        if rows.size and (rows.min() < 0 or rows.max() >= len(data)):
            raise Unreadable(f"rows {rows.min()}…{rows.max()} of {len(data)} one-hot rows")
        return np.asarray(data)[rows] == columns
    raise Unreadable(f"cannot read {kind} at {len(positions)} index expressions")


def _digit_size(text: str, sizes) -> int | None:
    """How many values an index runs over, when the text says: a known label, ``… mod n``."""
    if _LABEL.fullmatch(text):
        return sizes.get(text)
    modulus = re.fullmatch(r"\(*.* mod (\d+)\)*", text)
    return int(modulus.group(1)) if modulus else None


def _digit_shape(digits: list, length: int) -> list | None:
    """The sizes of the digits of an axis of ``length`` (an unknown one found when it is
    the only one; None left for several), or None if they cannot make that length."""
    known = math.prod(n for n in digits if n is not None)
    unknown = digits.count(None)
    if length % known or (unknown == 0 and known != length):
        return None
    return [length // known if n is None and unknown == 1 else n for n in digits]


def _python_name(label: str) -> str:
    return "_" + label.translate(_DIGITS)


def _evaluate(text: str, scope: dict):
    """An index expression as integer arrays over its labels' grids (juxtaposition:
    product; ``/`` only inside ``⌊…⌋``: floor division)."""
    python, previous = [], None
    for token in _index_tokens(text):
        implicit = previous is not None and (previous.isdigit() or previous == ")")
        if implicit and (_LABEL.fullmatch(token) or token in "(⌊"):
            python.append("*")
        if _LABEL.fullmatch(token):
            python.append(_python_name(token))
        else:
            python.append(_INDEX_PYTHON.get(token, token))
        previous = token
    return eval(" ".join(python), {"__builtins__": {}}, scope)  # integers, labels, + - * // %


_defined: dict[str, np.ndarray] = {}  # the legend's tensors in the formula being read


def _read_ahead(key: str, names: dict, legend: dict) -> None:
    """Read the legend entry ``key`` into ``_defined`` if it needs no sizes from its use."""
    try:
        if "[" in key:
            own = key[key.index("[") + 1 : -1].split(",")
            local: dict = {}
            found, value = _index_sum(legend[key], names, legend, local)
            _defined[key] = _aligned(value, found, own, local)
        else:
            _defined[key] = meaning_value(legend[key], names, legend)
    except (Unreadable, KeyError):
        pass  # read where it is used, which gives its sizes


def _defined_tensor(key, labels, names, legend, sizes):
    """The array of a legend entry ``P₁[i,j] = …`` (its own index letters), used with
    ``labels``."""
    own = key[key.index("[") + 1 : -1].split(",")
    if len(own) != len(labels):
        raise Unreadable(f"{key} used with labels {labels}")
    if key not in _defined:  # each entry is read once: later entries use earlier ones twice
        local = {a: sizes[b] for a, b in zip(own, labels, strict=True) if b in sizes}
        found, value = _index_sum(legend[key], names, legend, local)
        _defined[key] = _aligned(value, found, own, local)
    value = _defined[key]
    sizes.update(zip(labels, value.shape, strict=True))
    return value


def _selection(value, labels, sizes):
    """The array of one-hot rows picking flat entries of several axes, sized by the labels:
    ``S[a, in…]`` (row a picks a flat entry), or ``S[i, j, in…]`` whose rows are the entries
    of the leading axes (sized already, their sizes multiplying to the number of picks)."""
    _, data = value
    rows = 1
    while all(lb in sizes for lb in labels[:rows]) and np.prod(
        [sizes[lb] for lb in labels[:rows]]
    ) < len(data):
        rows += 1
    columns = [sizes[lb] for lb in labels[rows:]]
    matrix = np.zeros((len(data), int(np.prod(columns))))
    for row, pick in enumerate(data):
        if pick >= 0:
            matrix[row, pick] = 1.0
    if rows == 1:
        sizes[labels[0]] = len(data)
    return matrix.reshape([*(sizes[lb] for lb in labels[:rows]), *columns])


def _aligned(value, labels, order, sizes):
    """``value`` (axes ``labels``) with its axes in ``order``, broadcast along missing ones."""
    value = np.asarray(value, dtype=float)
    missing = [lb for lb in order if lb not in labels]
    value = value.reshape(value.shape + (1,) * len(missing))
    value = np.transpose(value, [(list(labels) + missing).index(lb) for lb in order])
    return np.broadcast_to(value, [sizes[lb] for lb in order]).copy()
