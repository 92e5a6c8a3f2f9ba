"""The recorded computation: nodes, their local-Jacobian builders, and a topological order."""

from collections.abc import Callable, Sequence

from tensordiff.core.templates import grouped, intermediate, transposed
from tensordiff.core.term import Term

__all__ = ["Node", "toposort", "texts"]


class Node:
    """One recorded value: ``op`` applied to ``parents``.

    Each parent comes with a zero-argument builder of the local Jacobian
    ∂(this)/∂(parent), a Term with this node's axes first. Builders run only
    when a derivative flows through them.

    ``expr`` is the value as an expression of the function's variables, for formulas
    and explanations. A gradient computed as numbers never reads it, so a rule may leave
    it unwritten: ``written_from=(template, sources)`` writes it on first read, each
    source being an input's text already written (a constant's name), a function giving
    it (a constant named when first read), or the node of a traced input (whose own
    expression is read then). The nodes are those the inputs
    had when the call was made: a later write into an input rebinds the input to a new
    node and leaves this text as it was.
    """

    __slots__ = ("op", "shape", "parents", "call", "_expr", "_written_from")

    def __init__(
        self,
        op: str,
        shape: tuple[int, ...],
        parents: tuple[tuple["Node", Callable[[], Term]], ...] = (),
        expr: str = "",
        written_from: tuple | None = None,
    ):
        self.op = op
        self.shape = shape
        self.parents = parents
        # The call that made it, ``(inputs, options)``: its traced and constant inputs and
        # the options that matter (a sum's axes). Kept by the rules whose results a
        # composite is recognised from (see :mod:`tensordiff.ops.composites`); empty for
        # the others.
        self.call: tuple = ()
        self._expr = expr
        self._written_from = written_from

    @property
    def expr(self) -> str:
        if self._written_from is not None:
            _write_expressions(self)
        return self._expr

    @expr.setter
    def expr(self, text: str) -> None:
        self._expr, self._written_from = text, None

    def __repr__(self) -> str:
        return f"Node({self.op!r}, shape={self.shape})"


def texts(sources: Sequence) -> list[str]:
    """How each source reads in the expressions built on it: a text as it is, a node's
    expression (a long one by a reference, :func:`~tensordiff.core.templates.intermediate`),
    the text a function gives (a constant named when first read)."""
    return [
        s if type(s) is str else intermediate(s.expr) or "·" if type(s) is Node else s()
        for s in sources
    ]


def _write_expressions(root: Node) -> None:
    """Write ``root``'s expression and every unwritten one it is made from, innermost
    first. Iterative on purpose: a chain of unwritten nodes is as deep as the function."""
    pending = [root]
    while pending:
        node = pending[-1]
        if node._written_from is None:  # written meanwhile (reached by two paths)
            pending.pop()
            continue
        template, sources = node._written_from
        unwritten = [s for s in sources if type(s) is Node and s._written_from is not None]
        if unwritten:
            pending.extend(unwritten)
            continue
        pending.pop()
        node.expr = written(node.op, template, texts(sources))


def written(op: str, template: str | Callable | None, exprs: Sequence[str]) -> str:
    """``template`` (``"{0} + {1}"``, ``{g0}`` for the first input grouped in parentheses
    when compound, ``{t1}`` for the second one transposed) filled with the inputs' texts
    ``exprs``; ``op(input, ...)`` without one. A callable template writes the text itself
    from ``exprs`` (a defined symbol, whose legend entry is made of the texts)."""
    if template is None:
        return f"{op}({', '.join(e for e in exprs if e)})"
    if callable(template):
        return template(*exprs)
    forms = {f"g{n}": grouped(e) for n, e in enumerate(exprs)}
    if "{t" in template:
        forms.update({f"t{n}": transposed(e) for n, e in enumerate(exprs)})
    return template.format(*exprs, **forms)


def toposort(root: Node) -> list[Node]:
    """Nodes reachable from ``root``, each after every node that consumes it.

    Iterative on purpose: a recursive walk overflows Python's stack on deep chains.
    """
    consumers: dict[Node, int] = {root: 0}
    stack = [root]
    while stack:
        node = stack.pop()
        for parent, _ in node.parents:
            if parent not in consumers:
                consumers[parent] = 0
                stack.append(parent)
            consumers[parent] += 1
    order: list[Node] = []
    ready = [root]
    while ready:
        node = ready.pop()
        order.append(node)
        for parent, _ in node.parents:
            consumers[parent] -= 1
            if consumers[parent] == 0:
                ready.append(parent)
    return order
