"""The recorded computation: nodes, their local-Jacobian builders, and a topological order."""

from collections.abc import Callable
from dataclasses import dataclass, field

from tensordiff.core.term import Term

__all__ = ["Node", "toposort"]


@dataclass(eq=False, slots=True)  # eq=False: nodes hash by identity
class Node:
    """One recorded value: ``op`` applied to ``parents``.

    Each parent comes with a zero-argument builder of the local Jacobian
    ∂(this)/∂(parent), a Term with this node's axes first. Builders run only
    when a derivative flows through them.
    """

    op: str
    shape: tuple[int, ...]
    parents: tuple[tuple["Node", Callable[[], Term]], ...] = field(default=())
    expr: str = ""  # the value as an expression of the function's variables, for explanations
    # The call that made it, ``(inputs, options)``: its traced and constant inputs and the
    # options that matter (a sum's axes). Kept by the rules whose results a composite is
    # recognised from (see :mod:`tensordiff.ops.composites`); empty for the others.
    call: tuple = ()


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
