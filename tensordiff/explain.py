"""``td.explain``: what a derivative is, how the chain rule computed it, and its formula.

Everything shown is read off the objects that compute the numbers: the traced
graph (the intermediates and their local Jacobians), the contractions the
reverse pass performed (recorded as it ran), and the final Jacobian's terms.
"""

import functools
import itertools
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from tensordiff.core import templates
from tensordiff.core.labels import default_labels
from tensordiff.differentiate import differentiate
from tensordiff.plan import Plan, predict
from tensordiff.tensor import Jacobian, Tensor
from tensordiff.text import notation
from tensordiff.text.latex import to_latex
from tensordiff.text.matrix_form import matrix_form
from tensordiff.trace.graph import Node, toposort
from tensordiff.web.page import notebook, standalone

__all__ = ["explain", "Explanation"]

# Intermediates whose expression is longer than this get a short name h₁, h₂, ...
_SHORT_EXPRESSION = 16


@dataclass
class Explanation:
    """The explanation of one Jacobian; print it, or render it as LaTeX, HTML or JSON."""

    numerator: str
    denominator: str
    jacobian: Jacobian
    entity: str
    layout: str
    intermediates: list[dict] = field(default_factory=list)
    steps: list[dict] = field(default_factory=list)
    cost: dict = field(default_factory=dict)
    matrix: str | None = None
    orders: Plan | None = None  # the cost report behind ``cost``, for its picture
    formula: str = ""  # the result, its legend defining every symbol the explanation uses

    def to_dict(self) -> dict:
        """Plain data (JSON-serialisable)."""
        return {
            "numerator": self.numerator,
            "denominator": self.denominator,
            "shape": list(self.jacobian.shape),
            "labels": {
                "out": list(self.jacobian.out_indices),
                "in": list(self.jacobian.in_indices),
            },
            "entity": self.entity,
            "layout": self.layout,
            "intermediates": self.intermediates,
            "steps": self.steps,
            "formula": self.formula,
            "matrix_form": self.matrix,
            "cost": self.cost,
        }

    def __str__(self) -> str:
        article = "a" if self.entity.startswith("scalar") else "an"
        lines = [f"∂{self.numerator}/∂{self.denominator} is {article} {self.entity}"]
        lines += [f"  {self.layout}"] if self.layout else []
        lines += ["", "Trace (each intermediate, with its local Jacobian):"]
        for item in self.intermediates:
            again = "   (computed again)" if item["again"] else ""
            lines.append(
                f"  {item['name']} = {item['expression']}   shape {tuple(item['shape'])}{again}"
            )
            lines += [f"      {local}" for local in item["local_jacobians"]]
        lines += ["", "Chain rule as performed (reverse order: from the output back):"]
        for n, step in enumerate(self.steps, 1):
            lines.append(f"  {n}. {step['contraction']}")
            lines.append(f"       einsum {step['einsum']}")
            for note in step["deltas"]:
                lines.append(f"       {note}")
            lines.append(f"       = {step['result']}")
        lines += ["", "Result:", f"  {self.formula}"]
        if self.matrix:
            lines.append(f"  matrix form: {self.matrix}")
        cost = self.cost
        lines += ["", "Cost:", f"  {cost['storage']}"]
        lines += ["  " + line for line in cost["table"].splitlines()]
        return "\n".join(lines)

    def latex(self) -> str:
        """The formulas as a LaTeX ``align*`` block."""
        rows = [to_latex(self.formula, align=True)]
        if self.matrix:
            rows.append(to_latex(self.matrix, align=True) + r" &&\text{matrix form}")
        for item in self.intermediates:
            rows += [to_latex(local, align=True) for local in item["local_jacobians"]]
        return "\\begin{align*}\n" + " \\\\\n".join(rows) + "\n\\end{align*}"

    def _repr_latex_(self) -> str:
        return "$$" + to_latex(self.formula) + "$$"

    def html(self, title: str | None = None) -> str:
        """One self-contained HTML page (KaTeX, its fonts and the pictures inlined) that
        renders offline, e.g. opened from disk."""
        return standalone(self, title)

    def _repr_html_(self) -> str:
        """Typeset in a notebook (by the notebook's own MathJax), with the pictures."""
        return notebook(self)


def explain(
    f: Callable,
    argnums: int = 0,
    out: str | Sequence[str] | None = None,
    wrt: str | Sequence[str] | None = None,
) -> Callable:
    """The function returning an :class:`Explanation` of ``∂f/∂args[argnums]``.

    >>> x = np.arange(1.0, 5.0)
    >>> e = explain(lambda W: W @ x, out="i", wrt="jk")(np.ones((3, 4)))
    >>> e.formula
    '∂f[i]/∂W[j,k] = δ[i,j] x[k]'
    >>> e.matrix
    '∂vec f/∂vec W = xᵀ ⊗ I₃'
    """

    @functools.wraps(f)
    def explain_f(*args, **kwargs):
        performed: list[tuple] = []  # the chain rule's steps, as it performed them

        def observe(*step):
            performed.append(step)

        call, ((J,),) = differentiate(f, (argnums,), args, kwargs, out, (wrt,), "auto", observe)
        numerator, denominator = J.numerator, J.denominator
        leaf = call.leaves[0]
        out_labels = J.out_indices
        letter = _name_letter(call.output)
        labels = _node_labels(call.output, leaf, out_labels, J.in_indices, letter)
        # one symbol per defined quantity across the whole explanation, one legend
        symbols = notation.symbols_of(
            [J, *(Tensor._from_terms(step[4], (), (), np.float64) for step in performed)],
            _defined_texts(call.output, labels),
        )
        short = _short_names(call.output, leaf, numerator, symbols, letter)
        short["f"], short["output"] = numerator, call.output
        orders = predict(call, f, argnums, args, kwargs)
        lhs = J.formula.partition(" = ")[0]
        formula = notation.with_legend(f"{lhs} = {notation.index_notation(J, symbols)}", symbols)
        return Explanation(
            numerator=numerator,
            denominator=denominator,
            jacobian=J,
            entity=notation.entity(J, len(out_labels), numerator, denominator),
            layout=_layout(J, numerator, denominator),
            intermediates=_intermediates(call.output, leaf, labels, short, symbols),
            steps=_steps(performed, labels, short, out_labels, symbols),
            cost=_cost(J, orders),
            matrix=matrix_form(J, symbols),
            orders=orders,
            formula=formula,
        )

    return explain_f


def _name_letter(output: Node | None) -> str:
    """The letter of the intermediates' short names (h₁, h₂, …): none of the user's names
    (h₁ beside an array h would read as its entry h[1]) nor the legend's z."""
    words = set()
    for node in toposort(output) if output is not None else ():
        words.update(re.findall(r"\w+", node.expr))
    return next((ch for ch in "hqtruvw" if ch not in words), "h")


def _node_labels(output: Node | None, leaf: Node, out_labels, wrt_labels, letter: str) -> dict:
    """Labels for every node's axes: the output's and argument's as chosen, fresh ones else;
    none the letter of short names, nor z, the symbol of long intermediates in the legend."""
    labels = {leaf: tuple(wrt_labels)}
    if output is None:
        return labels
    labels[output] = tuple(out_labels)
    taken = set(out_labels) | set(wrt_labels) | {letter, templates.INTERMEDIATE_SYMBOL}
    for node in reversed(toposort(output)):
        if node not in labels:
            fresh = default_labels(len(node.shape), avoid=taken)
            taken |= set(fresh)
            labels[node] = fresh
    return labels


def _defined_texts(output: Node | None, labels: dict) -> list[str]:
    """The expressions and local Jacobians' factor names the explanation prints."""
    if output is None:
        return []
    texts = []
    for node in toposort(output):
        texts.append(node.expr)
        for parent, builder in node.parents:
            if parent in labels:
                terms = builder()
                for term in terms if isinstance(terms, tuple) else (terms,):
                    texts.extend(term.factor_names())
    return texts


def _short_names(
    output: Node | None, leaf: Node, numerator: str, symbols: dict, letter: str
) -> dict:
    """How each node is called in the explanation: its expression (with defined symbols
    printed as such); the legend's symbol (z₁) of an expression the formulas refer to by
    one; else h₁, h₂, ... if long or if another intermediate prints the same."""
    names = {leaf: leaf.expr}
    if output is None:
        return names
    nodes = list(reversed(toposort(output)))
    # fresh names are none of the words the expressions print, nor the legend's symbols
    words = {word for node in nodes for word in re.findall(r"\w+", node.expr)}
    words |= set(symbols.values())
    numbered = (f"{letter}{notation.subscript(n)}" for n in itertools.count(1))
    fresh = (name for name in numbered if name not in words)
    for node in nodes:
        if node in names:
            continue
        name = templates.replace_defined(node.expr, symbols)
        reference = templates.intermediate(node.expr)
        referred = (
            templates.is_reference(reference)
            and (
                templates.symbol_of(reference),
                reference,
            )
            in symbols
        )
        if node is output:
            name = numerator
        elif referred:  # the legend defines it: the same symbol here
            name = symbols[templates.symbol_of(reference), reference]
        # the same expression computed twice is two intermediates: each gets its own name
        elif len(node.expr) > _SHORT_EXPRESSION or name in names.values():
            name = next(fresh)
        names[node] = name
    return names


def _intermediates(output, leaf, labels, short, symbols) -> list[dict]:
    if output is None:
        return []
    items = []
    expressions = set()
    for node in reversed(toposort(output)):
        if node is leaf or node.op == "input":
            continue
        expression = templates.replace_defined(node.expr, symbols)
        defining = templates.definitions_in(node.expr)
        if len(defining) == 1 and symbols.get(defining[0]) == expression:  # s = softmax(z)
            expression += " = " + templates.replace_defined(defining[0][1], symbols)
        # an input used twice (x ⊙ x) has one local Jacobian: the sum of both uses
        by_parent: dict[Node, list] = {}
        for parent, builder in node.parents:
            if parent in labels:
                terms = builder()
                by_parent.setdefault(parent, []).extend(
                    terms if isinstance(terms, tuple) else (terms,)
                )
        local_jacobians = []
        for parent, terms in by_parent.items():
            tensor = Tensor._from_terms(
                tuple(terms), labels[node] + labels[parent], node.shape + parent.shape, np.float64
            )
            top = notation.signature(short[node], labels[node])
            bottom = notation.signature(short[parent], labels[parent])
            local_jacobians.append(f"∂{top}/∂{bottom} = {_repeated(tensor, symbols)}")
        items.append(
            {
                "name": notation.signature(short[node], labels[node]),
                "expression": expression,
                # the same expression as an earlier intermediate: a second computation
                "again": expression in expressions,
                "shape": list(node.shape),
                "op": node.op,
                "local_jacobians": local_jacobians,
            }
        )
        expressions.add(expression)
    return items


def _repeated(tensor: Tensor, symbols: dict) -> str:
    """The index notation of ``tensor``, with n equal terms written once as ``n …``."""
    parts = [
        notation.index_notation(
            Tensor._from_terms((term,), tensor.indices, tensor.shape, np.float64), symbols
        )
        for term in tensor.terms
    ]
    if len(parts) < 2 or len(set(parts)) > 1:
        return notation.index_notation(tensor, symbols)
    sign, body = ("−", parts[0][1:]) if parts[0].startswith("−") else ("", parts[0])
    return f"{sign}{len(parts)} {body}"


def _steps(performed, labels, short, out_labels, symbols) -> list[dict]:
    """The steps as performed; a parent's first contribution is ``=``, later ones ``+=``."""
    reached: set = set()
    steps = []
    for node, parent, _derivative, local, contribution in performed:
        first = parent not in reached
        reached.add(parent)
        steps.append(
            _step(node, parent, local, contribution, labels, short, out_labels, first, symbols)
        )
    return steps


def _step(node, parent, local, contribution, labels, short, out_labels, first, symbols) -> dict:
    """One reverse-order contraction: ∂f/∂parent (+)= Σ ∂f/∂node ∂node/∂parent."""
    sig = notation.signature
    node_labels, parent_labels, out = labels[node], labels[parent], tuple(out_labels)
    d_local = f"∂{sig(short[node], node_labels)}/∂{sig(short[parent], parent_labels)}"
    target = f"∂{sig(short['f'], out)}/∂{sig(short[parent], parent_labels)}"
    assign = "=" if first else "+="
    deltas, summed, factors = [], "", [d_local]
    if node is short["output"]:  # the output's derivative by itself is the identity
        contraction = f"{target} {assign} the output's own local Jacobian"
        spec = f"(none: ∂{short['f']}/∂{short['f']} is the identity)"
    else:
        factors.insert(0, f"∂{sig(short['f'], out)}/∂{sig(short[node], node_labels)}")
        summed = ",".join(node_labels)
        contraction = f"{target} {assign} " + (f"Σ_{summed} " if summed else "") + " ".join(factors)
        spec = "".join(out + node_labels) + "," + "".join(node_labels + parent_labels)
        spec = f"'{spec}->{''.join(out + parent_labels)}'"
        deltas = _relabellings(local, node_labels, parent_labels)
    result_labels = out + parent_labels
    result = Tensor._from_terms(
        contribution, result_labels, _shape(contribution, result_labels), np.float64
    )
    return {
        "node": short[node],
        "parent": short[parent],
        "contraction": contraction,
        # the same, in parts: target (+)= Σ_summed factor factor
        "target": target,
        "assign": assign,
        "summed": summed,
        "factors": factors,
        "einsum": spec,
        "deltas": deltas,
        "result": notation.index_notation(result, symbols),
    }


def _shape(terms, axis_labels) -> tuple[int, ...]:
    term = terms[0] if terms else None
    if term is None:
        return (1,) * len(axis_labels)
    return tuple(math.prod(term.sizes[c] for c in axis) for axis in term.axes)


def _relabellings(local, node_labels, parent_labels) -> list[str]:
    """Which δ of the local Jacobian turned a label of the node into one of the parent."""
    notes = []
    for term in local:
        by_class: dict[int, list[str]] = {}
        for label, axis in zip(node_labels + parent_labels, term.axes, strict=True):
            for c in axis:
                by_class.setdefault(c, []).append(label)
        for group in by_class.values():
            mine = [g for g in group if g in node_labels]
            theirs = [g for g in group if g in parent_labels]
            if mine and theirs:
                notes.append(
                    f"δ[{','.join(group)}] eliminated: {', '.join(mine)} → {', '.join(theirs)}"
                )
    return list(dict.fromkeys(notes))


def _layout(J: Jacobian, numerator: str, denominator: str) -> str:
    """How the numbers are laid out, said only where a convention decides it."""
    n_out = len(J.out_indices)
    in_shape = J.shape[n_out:]
    if n_out == 0:
        if len(in_shape) < 2:
            return ""  # a number or a vector: no convention to choose
        return (
            f"It has {denominator}'s shape {in_shape}: the denominator (gradient) layout, as"
            f" jax.grad returns it; the numerator layout would lay ∂{numerator}/∂{denominator}"
            f" out like {denominator}ᵀ."
        )
    out_size, in_size = math.prod(J.shape[:n_out]), math.prod(in_shape)

    def space(shape) -> str:
        dims = "×".join(map(str, shape)) or "1"
        return f"ℝ^({dims})" if len(shape) > 1 else f"ℝ^{dims}"

    return (
        f"A linear map from {space(in_shape)} to {space(J.shape[:n_out])}; as a matrix"
        f" (vec convention: columns stacked) ∂vec {numerator}/∂vec {denominator} is"
        f" {out_size}×{in_size}."
    )


def _cost(J: Jacobian, orders: Plan) -> dict:
    return {
        "stored_bytes": J.stored_nbytes,
        "dense_bytes": J.dense_nbytes,
        "storage": _storage(J.stored_nbytes, J.dense_nbytes, len(J.structured_terms())),
        "orders": {
            order: {key: cost[key] for key in ("flops", "largest_intermediate")}
            for order, cost in orders.costs.items()
        },
        "chosen": orders.chosen,
        "sequence": orders.sequence,
        "table": orders.table(timings=False),
    }


def _storage(stored: int, dense: int, n_terms: int) -> str:
    """The structured result's size beside the dense array's, saying plainly which is larger.

    >>> _storage(32, 288, 1)
    'the structured result stores 32 bytes; dense it is 288 bytes'
    >>> _storage(136, 96, 3).split(": ")[1]
    'its 3 terms are kept apart, so here the dense array is the smaller form'
    """
    if stored <= dense:
        return f"the structured result stores {stored:,} bytes; dense it is {dense:,} bytes"
    why = f"its {n_terms} terms are kept apart, so " if n_terms > 1 else ""
    return (
        f"the structured result stores {stored:,} bytes, more than the dense array"
        f" ({dense:,} bytes): {why}here the dense array is the smaller form"
    )
