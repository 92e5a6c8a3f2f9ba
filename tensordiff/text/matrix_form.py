"""Matrix notation for the Jacobians that have one: ``2 (W x − y) xᵀ``, ``diag(g)``, ``xᵀ ⊗ I``.

Read off a Jacobian's structure (its deltas and its named factors), never
from the numbers. Vectorised forms use the column-stacking ``vec``, for which
``vec(A X B) = (Bᵀ ⊗ A) vec X``. Structures without a standard matrix form
give None.
"""

import re

from tensordiff.core import templates
from tensordiff.text import notation

__all__ = ["matrix_form"]


def matrix_form(J, symbols: dict | None = None) -> str | None:
    """``∂E/∂W = 2 (W x − y) xᵀ``-style text, or None.

    >>> import numpy as np, tensordiff as td
    >>> x = np.arange(1.0, 5.0)
    >>> matrix_form(td.jacobian(lambda W: np.tanh(W @ x))(np.ones((3, 4))))
    '∂vec f/∂vec W = diag(1 − tanh²(W x)) (xᵀ ⊗ I₃)'
    """
    n_out = len(J.out_indices)
    terms = J.structured_terms()  # (a gradient computed as numbers takes its structure back)
    symbols = notation.symbols_of([J]) if symbols is None else symbols
    forms = [_term_form(term, J, n_out, symbols) for term in terms]
    if not forms or any(form is None for form in forms):
        return None
    # a whole term in one bracket, (s ⊙ (g₁ + 0.5 g₂)): the sides of = and + need none
    forms = [notation.unbracketed(form) for form in forms if not notation.is_zero(form)] or ["0"]
    n_in = J.ndim - n_out
    top = "vec " if (n_in > 1 and n_out > 0) or n_out > 1 else ""
    bottom = "vec " if n_in > 1 and n_out > 0 else ""
    form = notation.tidy(f"∂{top}{J.numerator}/∂{bottom}{J.denominator} = " + " + ".join(forms))
    return notation.with_legend(form, notation.used_in(form, symbols))


def _term_form(term, J, n_out: int, symbols: dict) -> str | None:
    label_of: dict[int, list[str]] = {}
    for label, axis in zip(J.indices, term.axes, strict=True):
        if len(axis) > 1:
            return None  # a reshaped axis has no plain matrix form
        for c in axis:
            label_of.setdefault(c, []).append(label)
    deltas = [tuple(group) for group in label_of.values() if len(group) > 1]
    named = []
    for (_, classes), template in zip(term.factors, term.factor_names(), strict=True):
        named += _cancelled(classes, templates.replace_defined(templates.text(template), symbols))
    multiplied = _multiplied_out(named)
    if multiplied is not None:  # (a / (1 − σ) − b / σ) ⊙ σ ⊙ (1 − σ) is a ⊙ σ − b ⊙ (1 − σ)
        form = _named_form(multiplied, label_of, deltas, J, n_out, term.sizes)
        if form is not None:
            return form
    return _named_form(named, label_of, deltas, J, n_out, term.sizes)


def _multiplied_out(named: list) -> list | None:
    """The factors of a term with its one sum multiplied out, as one factor, when that
    cancels factors against divisors (see :func:`notation.multiplied_out`); None when
    nothing cancels or a factor has indices of its own (an outer product stays one)."""
    sums = [classes for classes, template in named if notation.is_bracketed_sum(template)]
    if len(sums) != 1 or any(classes not in ((), sums[0]) for classes, _ in named):
        return None
    product = notation.multiplied_out(
        " ".join(notation.tidy(template) for _, template in named), take_out=False
    )
    return None if product is None else [(sums[0], f"({product})")]


def _named_form(named: list, label_of: dict, deltas: list, J, n_out: int, sizes) -> str | None:
    """The matrix form of a term of (classes, template) factors, or None."""
    for n, (classes, template) in enumerate(named):
        products = None if _sum_of_entries(template, classes) else _products_of_sum(template)
        if products is None:
            continue
        # a factor that is a sum of products: the term is the sum of the terms with each
        # product in its place, and its matrix form the sum of theirs (each must have one)
        others = named[:n] + named[n + 1 :]
        if {c for product in products for c in _bound(product, classes)} & {
            c for other_classes, other in others for c in [*other_classes, *_classes(other)]
        }:
            return None  # a product's summed index also indexes another factor
        if _sizes_differ(products, sizes):
            return None  # e₀[i] e₁[j] + e₁[i] e₀[j]: e₀ of two sizes reads ambiguously as e₀
        forms = [
            _product_form([*others, *product], label_of, deltas, J, n_out) for product in products
        ]
        if any(form is None for form in forms):
            return None
        return notation.tidy(" + ".join(forms))
    return _product_form(named, label_of, deltas, J, n_out)


def _cancelled(classes, template: str) -> list:
    """A factor that is a sum with each product's powers of one base cancelled (``(1 / σ) σ``
    is 1) and like products added, as (classes, template) factors: one, or the factors of
    the one product left; its common factors stay inside, where a sum's form needs them."""
    simpler = notation.simplified_sum(notation.tidy(template), take_out=False)
    if simpler is None or notation.is_bracketed_sum(simpler):
        return [(classes, simpler or template)]
    tokens = notation.top_level_tokens(notation.unbracketed(simpler))
    if "/" in tokens or any(token.startswith("Σ_") for token in tokens):
        return [(classes, template)]  # a quotient, a sum over a bound index: as it was
    return [
        ((), token) if notation.is_number(token) else (_classes(token), token) for token in tokens
    ]


def _classes(template: str) -> list[int]:
    return templates.classes_in(template)


def _bound(product: list, free) -> set[int]:
    """The classes a product of a sum sums over: those of its factors not ``free``."""
    return {c for classes, _ in product for c in classes} - set(free)


def _sizes_differ(products: list[list], sizes: dict[int, int]) -> bool:
    """Whether a name stands for arrays of different shapes in ``products`` (a matrix
    form writes it without indices, so its shape must be one)."""
    shapes: dict[str, set] = {}
    for product in products:
        for classes, template in product:
            if classes and all(c in sizes for c in classes):  # (a summed class: any size)
                name = template[: template.rindex("[")]
                shapes.setdefault(name, set()).add(tuple(sizes[c] for c in classes))
    return any(len(found) > 1 for found in shapes.values())


def _products_of_sum(template: str) -> list[list] | None:
    """The products a bracketed sum of a factor is made of, each as (classes, template)
    factor pairs with its sign as a factor −1 (the Σ in front of a product needs no
    writing: a class no label carries is summed); None for a factor that is no sum.

    >>> _products_of_sum("(w[⟨1⟩] − 2 Σ_⟨2⟩ v[⟨2⟩] X[⟨2⟩,⟨1⟩])")
    [[([1], 'w[⟨1⟩]')], [((), '−1'), ((), '2'), ([2], 'v[⟨2⟩]'), ([2, 1], 'X[⟨2⟩,⟨1⟩]')]]
    """
    if not notation.is_bracketed_sum(template):
        return None
    products = []
    for summand in notation.summands(template[1:-1]):
        sign = [((), "−1")] if summand.startswith("−") else []
        tokens = notation.top_level_tokens(summand.removeprefix("−"))
        if "/" in tokens:
            return None  # a quotient a / b is no product of factors
        products.append(
            sign
            + [
                ((), token) if notation.is_number(token) else (_classes(token), token)
                for token in tokens
                if not token.startswith("Σ_")
            ]
        )
    return products


def _product_form(named: list, label_of: dict, deltas: list, J, n_out: int) -> str | None:
    """The matrix form of one product of (classes, template) factors, or None."""
    out_labels, in_labels = J.indices[:n_out], J.indices[n_out:]
    coefficient, factors, numeric = 1.0, [], []
    for classes, template in named:
        if not classes and notation.is_number(template):
            coefficient *= notation.number(template)
            numeric.append(template)
            continue
        positive = notation.without_sign(template)
        if positive is not None:  # −X⁻¹[i,k], (−1 / v²)[i]: the sign stands in front
            coefficient, template = -coefficient, positive
        # (2 v[i]): a path taken twice (not (1 / x[::-1]), a quotient; nor a sum (1 + 2 v[i]))
        repeated = re.fullmatch(r"\((\d+) ([^/⊙^].*)\)", template)
        if repeated and "[" in repeated.group(2) and not notation.has_top_level_sum(template[1:-1]):
            coefficient *= int(repeated.group(1))
            numeric.append(repeated.group(1))
            template = repeated.group(2)
        entries = _sum_of_entries(template, classes) or _product_of_entries(template, classes)
        if entries is not None:  # (y[i] − s[i] Σ_a y[a]) is the array y − (Σ_a y[a]) s
            template = entries
        if not classes and templates.classes_in(template):
            return None  # a scalar that sums over its own indices: no plain matrix form
        if classes and "[" not in template:
            return None  # a number standing for an array (the 0 of u − u): no named operand
        name = template[: template.rindex("[")] if classes else template
        if "⟨" in name:
            return None  # entries over other indices inside one factor: no plain matrix form
        # the indices in the order printed (Aᵀ's entry prints as A[j,i])
        printed = templates.classes_in(template)
        if sorted(printed) != sorted(classes) or f"{name}[" + ",".join(
            templates.slot(c) for c in printed
        ) + "]" != (template if classes else f"{name}[]"):
            return None  # a sum or a contraction inside one factor: no plain matrix form
        labels = [label_of[c][0] if c in label_of else f"#{c}" for c in printed]
        taken_out = notation.scaled(name)  # (2 (W x − y)): the 2 joins the coefficient
        if taken_out is not None:
            size, name = taken_out
            coefficient *= notation.number(size)
            numeric.append(size)
        factors.append((_bare(name), labels))
    factors = _products(factors)
    if factors is None:
        return None
    scalars, divisors = [], []
    for name, labels in factors:
        if labels:
            continue
        folded = notation.reciprocal_scale(_group(name))
        if folded is not None and (folded[1] is None or notation.cancels(coefficient, folded[0])):
            coefficient /= int(folded[0])  # 2 (1 / (2 √s)) X is X / √s
            numeric.append(f"1/{folded[0]}")
            name = folded[1]
            if name is None:
                continue
        divisor = notation.reciprocal(_group(name))
        if divisor is not None:
            divisors.append(divisor)
        else:
            scalars.append(_group(name))
    for divisor in list(divisors):  # E / E, E² / E: powers of one base cancel
        for n, scalar in enumerate(scalars):
            left = notation.quotient(_bare(scalar), _bare(divisor))
            if left is not None:
                scalars[n : n + 1] = [left] if left else []
                divisors.remove(divisor)
                break
    factors = [(name, labels) for name, labels in factors if labels]
    form = _shape_form(deltas, factors, out_labels, in_labels, J.sizes)
    if form is None:
        return None
    if scalars:
        form = " ".join(scalars) + " " + _group(form)
    if divisors:  # X / √s: a scalar divisor after the array it divides
        form = _operand(form) + "".join(f" / {divisor}" for divisor in divisors)
    if coefficient == 1:
        return form
    if coefficient == -1:  # −(y − s) is written s − y, −(y − s) xᵀ as (s − y) xᵀ
        swapped = notation.negated_difference(f"({form})")
        if swapped and notation.has_top_level_sum(form):  # −(−u − v) is u + v
            return swapped[1:-1]
        return notation.negated_difference(form) or "−" + _operand(form)
    size = notation.coefficient_text(numeric, abs(coefficient))
    minus = "−" if coefficient < 0 else ""
    if form.startswith("1 / ") and "/" not in size:  # −3 / x, not −3 1 / x
        return f"{minus}{size}{form[1:]}"
    size = f"({size})" if "/" in size else size
    return f"{minus}{size} {_operand(form)}"


def _products(factors: list) -> list | None:
    """Fold each summed index into a matrix–vector product: Σ_a u[a] M[a,i] = (Mᵀ u)[i], and
    Σ_a P[i,a] v[a] Q[a,j] = (P diag(v) Q)[i,j] (the Jacobian of a layer between two others)."""
    factors = list(factors)
    while True:
        summed = {label for _, labels in factors for label in labels if label.startswith("#")}
        if not summed:
            return factors
        label = summed.pop()
        users = [n for n, (_, labels) in enumerate(factors) if label in labels]
        vectors = [n for n in users if len(factors[n][1]) == 1]
        if len(users) == 3 and len(vectors) == 1:  # Σ_a P[i,a] v[a] Q[a,j] = P diag(v) Q
            matrices = [n for n in users if n not in vectors]
            if any(len(factors[n][1]) != 2 or factors[n][1].count(label) != 1 for n in matrices):
                return None
            (p_name, p_labels), (q_name, q_labels) = (factors[n] for n in matrices)
            left = _group(p_name) if p_labels[1] == label else templates.transposed(p_name)
            right = _group(q_name) if q_labels[0] == label else templates.transposed(q_name)
            outer = [lb for lb in p_labels if lb != label] + [lb for lb in q_labels if lb != label]
            middle = _diagonal([factors[vectors[0]][0]])
            factors = [f for n, f in enumerate(factors) if n not in users]
            factors.append((f"{left} {middle} {right}", outer))
            continue
        if len(users) != 2 or any(len(factors[n][1]) != 2 for n in users if n not in vectors):
            return None
        if any(factors[n][1].count(label) != 1 for n in users):
            return None  # a diagonal such as Σ_a A[a,a]: no product
        if not vectors:  # Σ_a P[p,a] Q[a,q] = (P Q)[p,q], each side turned to fit
            (p_name, p_labels), (q_name, q_labels) = (factors[n] for n in users)
            left = templates.transposed(p_name) if p_labels[0] == label else _group(p_name)
            right = _group(q_name) if q_labels[0] == label else templates.transposed(q_name)
            outer = [lb for lb in p_labels if lb != label] + [lb for lb in q_labels if lb != label]
            factors = [f for n, f in enumerate(factors) if n not in users]
            factors.append((f"{left} {right}", outer))
            continue
        vector = vectors[0]
        other = users[1] if users[0] == vector else users[0]
        (u, _), (m, labels) = factors[vector], factors[other]
        if len(labels) == 1:
            product, rest = f"{templates.transposed(u)} {_group(m)}", []
        else:
            matrix = templates.transposed(m) if labels[0] == label else _group(m)
            product = f"{matrix} {_group(u)}"
            rest = [lb for lb in labels if lb != label]
        factors = [f for n, f in enumerate(factors) if n not in (vector, other)]
        factors.append((product, rest))


def _sum_of_entries(template: str, classes) -> str | None:
    """``(y − (Σ_a y[a]) s)[⟨c⟩]`` for the factor ``(y[⟨c⟩] − s[⟨c⟩] Σ_⟨d⟩ y[⟨d⟩])``: a sum whose
    every product is entries over the factor's own indices (in its order), numbers, and
    full sums (scalars, written with their own letters); None for any other factor.

    >>> _sum_of_entries("(y[⟨4⟩] − s[⟨4⟩] Σ_⟨9⟩ y[⟨9⟩])", (4,))
    '(y − (Σ_a y[a]) s)[⟨4⟩]'
    >>> _sum_of_entries("(A[⟨1⟩,⟨2⟩] + A[⟨2⟩,⟨1⟩])", (1, 2)) is None
    True
    """
    if not classes or not notation.is_bracketed_sum(template):
        return None
    own = [templates.slot(c) for c in classes]
    products = []
    for summand in notation.summands(template[1:-1]):
        sign, summand = ("−", summand[1:]) if summand.startswith("−") else ("", summand)
        tokens = notation.top_level_tokens(summand)
        start = next((n for n, token in enumerate(tokens) if token.startswith("Σ_")), len(tokens))
        scalars = []
        if start < len(tokens):
            bound = templates.classes_in(tokens[start])
            total = " ".join(tokens[start:])
            if set(templates.classes_in(total)) != set(bound):
                return None  # the Σ's product uses an entry index too
            letters = dict(zip(bound, "abcdefgh", strict=False))
            scalars.append(f"({templates.render(total, letters)})")
        numbers, names = [], []
        for token in tokens[:start]:
            match = re.fullmatch(r"(.+)\[([^\[\]]*)\]", token)
            if notation.is_number(token):
                numbers.append(templates.grouped(token))  # (1/3) 𝟙, not 1/3 𝟙
            elif match and match.group(2).split(",") == own and "⟨" not in match.group(1):
                names.append(match.group(1))
            else:
                return None
        entries = _hadamard(names)[1:-1] if len(names) > 1 else (names or ["𝟙"])[0]
        products.append(sign + " ".join([*numbers, *scalars, entries]))
    return notation.tidy(f"({' + '.join(products)})") + f"[{','.join(own)}]"


def _product_of_entries(template: str, classes) -> str | None:
    """``(a ⊙ b)[⟨c⟩]`` for the factor ``a[⟨c⟩] b[⟨c⟩]``, a product of entries over the
    factor's own indices; None for any other factor.

    >>> _product_of_entries("max(x, 0.9)[⟨2⟩] g[⟨2⟩]", (2,))
    '(max(x, 0.9) ⊙ g)[⟨2⟩]'
    >>> _product_of_entries("A[⟨1⟩,⟨2⟩] A[⟨2⟩,⟨1⟩]", (1, 2)) is None
    True
    """
    own = ",".join(templates.slot(c) for c in classes)
    tokens = notation.top_level_tokens(template)
    if not classes or len(tokens) < 2:
        return None
    names = []
    for token in tokens:
        match = re.fullmatch(r"(.+)\[([^\[\]]*)\]", token)
        if not match or match.group(2) != own or "⟨" in match.group(1):
            return None
        names.append(match.group(1))
    return f"{_hadamard(names)}[{own}]"


def _bare(name: str) -> str:
    """A factor name without the parentheses that made it one token."""
    return name[1:-1] if name.startswith("(") and name.endswith(")") else name


def _hadamard(factor_names: list[str]) -> str:
    if len(factor_names) == 1:
        return factor_names[0]
    return "(" + " ⊙ ".join(_group(name) for name in factor_names) + ")"


def _diagonal(factor_names: list[str]) -> str:
    """``diag(a ⊙ b)``: the brackets of diag hold the product, no second pair."""
    product = _hadamard(factor_names)
    return f"diag({product[1:-1] if len(factor_names) > 1 else product})"


def _shape_form(deltas, factors, out_labels, in_labels, sizes) -> str | None:
    on = lambda labels: [n for n, ls in factors if ls == labels]  # noqa: E731
    if len(on([])) != 0 or any(len(ls) > 2 for _, ls in factors):
        return None
    if not out_labels and len(in_labels) == 1 and not deltas:
        (j,) = in_labels
        if not factors:
            return "𝟙"  # the gradient of a sum: a vector of ones
        return _hadamard(on([j])) if len(on([j])) == len(factors) else None
    if not out_labels and len(in_labels) == 2:
        j, k = in_labels
        if deltas == [(j, k)] and not factors:
            return f"I{notation.subscript(sizes[j])}"
        if not deltas and not factors:
            return "𝟙 𝟙ᵀ"
        if deltas:
            return None
        if len(factors) == 1 and factors[0][1] == [j, k]:
            return factors[0][0]
        if len(factors) == 1 and factors[0][1] == [k, j]:
            return templates.transposed(factors[0][0])
        return _outer(on([j]), on([k]), len(factors))
    if len(out_labels) == 1 and len(in_labels) == 1:
        (i,), (j,) = out_labels, in_labels
        if deltas == [(i, j)]:
            along = on([i])
            if len(along) != len(factors):
                return None
            return _diagonal(along) if along else "I"
        if deltas:
            return None
        matrices = [(name, labels) for name, labels in factors if len(labels) == 2]
        if len(matrices) == 1:  # diag(1 − tanh²(W x)) W: a matrix scaled by rows, columns
            name, labels = matrices[0]
            rows, columns = on([i]), on([j])
            if labels not in ([i, j], [j, i]) or len(rows) + len(columns) + 1 != len(factors):
                return None
            form = _matrix_operand(name if labels == [i, j] else templates.transposed(name))
            form = f"{_diagonal(rows)} {form}" if rows else form
            return f"{form} {_diagonal(columns)}" if columns else form
        return _outer(on([i]), on([j]), len(factors))
    if len(out_labels) == 1 and len(in_labels) == 2:
        (i,), (j, k) = out_labels, in_labels
        identity = f"I{notation.subscript(sizes[i])}"
        if deltas == [(i, j)]:
            scales, right = on([i]), on([k])
            if len(right) != 1 or len(scales) + 1 != len(factors):
                return None
            kron = f"{templates.transposed(right[0])} ⊗ {identity}"
            return f"{_diagonal(scales)} ({kron})" if scales else kron
        if deltas == [(i, k)]:
            left = on([j])
            if len(left) != 1 or len(factors) != 1:
                return None
            return f"{identity} ⊗ {templates.transposed(left[0])}"
    if len(out_labels) == 2 and len(in_labels) == 1:  # vec(x uᵀ) = (u ⊗ I) x
        (i, j), (k,) = out_labels, in_labels
        if len(factors) != 1 or deltas not in ([(i, k)], [(j, k)]):
            return None
        name, labels = factors[0]
        if deltas == [(i, k)] and labels == [j]:
            return f"{_group(name)} ⊗ I{notation.subscript(sizes[i])}"
        if deltas == [(j, k)] and labels == [i]:
            return f"I{notation.subscript(sizes[j])} ⊗ {_group(name)}"
        return None
    if len(out_labels) == 2 and len(in_labels) == 2:
        return _matrix_by_matrix(deltas, factors, out_labels, in_labels, sizes)
    return None


def _outer(left: list[str], right: list[str], count: int) -> str | None:
    """``u vᵀ`` for the entries ``u[i] v[j]`` (``𝟙 vᵀ`` for ``v[j]``), if the factors are
    those on i and on j."""
    if not right or len(left) + len(right) != count:
        return None
    return f"{_operand(_hadamard(left)) if left else '𝟙'} {templates.transposed(_hadamard(right))}"


def _matrix_by_matrix(deltas, factors, out_labels, in_labels, sizes) -> str | None:
    """∂vec Y/∂vec X for Y = A X, X B, Xᵀ (column-stacked vec)."""
    (i, j), (k, m) = out_labels, in_labels

    def eye(label):
        return f"I{notation.subscript(sizes[label])}"

    if sorted(deltas) == sorted([(i, m), (j, k)]) and not factors:
        return f"K{notation.subscript(sizes[k])}{notation.subscript(sizes[m])}"
    if not deltas and len(factors) == 2:  # vec(A X B) = (Bᵀ ⊗ A) vec X
        by_labels = {frozenset(labels): (name, labels) for name, labels in factors}
        if set(by_labels) != {frozenset((i, k)), frozenset((m, j))}:
            return None
        (a, a_labels), (b, b_labels) = by_labels[frozenset((i, k))], by_labels[frozenset((m, j))]
        left = _group(a) if a_labels == [i, k] else templates.transposed(a)
        return (templates.transposed(b) if b_labels == [m, j] else _group(b)) + f" ⊗ {left}"
    if len(factors) != 1 or len(deltas) != 1:
        return None
    name, labels = factors[0]
    if deltas == [(j, m)] and sorted(labels) == sorted([i, k]):
        return f"{eye(j)} ⊗ " + (_group(name) if labels == [i, k] else templates.transposed(name))
    if deltas == [(i, k)] and sorted(labels) == sorted([m, j]):
        return (templates.transposed(name) if labels == [m, j] else _group(name)) + f" ⊗ {eye(i)}"
    return None


def _operand(name: str) -> str:
    """``name`` bracketed if a sum, so that a product with it reads as one:
    ``(1 − tanh²(W x)) xᵀ``, not ``1 − tanh²(W x) xᵀ``.

    >>> _operand("1 − tanh²(W x)"), _operand("W x"), _operand("(a + b)")
    ('(1 − tanh²(W x))', 'W x', '(a + b)')
    """
    return f"({name})" if notation.has_top_level_sum(name) else name


def _matrix_operand(name: str) -> str:
    """``name`` as a factor of a matrix product, bracketed if a sum or a product by an
    operator (⊙, /, ·, ×): ``diag(v) ((M x) ⊙ M)``, not ``diag(v) (M x) ⊙ M``, which
    reads as ``(diag(v) M x) ⊙ M``.

    >>> _matrix_operand("(M x) ⊙ M"), _matrix_operand("W x")
    ('((M x) ⊙ M)', 'W x')
    """
    operators = _OPERATORS.intersection(notation.top_level_tokens(name))
    return f"({name})" if operators else _operand(name)


# the binary operators that bind looser than the juxtaposition of a matrix product
_OPERATORS = frozenset({"⊙", "/", "·", "×"})


def _group(name: str) -> str:
    return templates.grouped(name)
