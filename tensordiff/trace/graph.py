"""The recorded computation: nodes, their local-Jacobian builders, and a topological order."""

import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from tensordiff.term import Term

__all__ = ["Node", "Trace", "toposort", "running", "next_level", "outermost"]

# Traces whose function is running now, outermost first: a trace started inside
# another's function gets the next level.
_running: list["Trace"] = []


@contextlib.contextmanager
def running(trace: "Trace"):
    """Within the block, ``trace`` is running (its function is being called)."""
    _running.append(trace)
    try:
        yield trace
    finally:
        _running.pop()


def next_level() -> int:
    """The level a trace started now gets: one above every running trace."""
    return len(_running) + 1


def outermost() -> "Trace | None":
    """The running trace of level 1, if any."""
    return _running[0] if _running else None


class Trace:
    """One call of a differentiated function; traced values remember which one made them.

    ``level`` is the nesting depth: a trace started while ``f`` of another trace runs
    (a derivative of a derivative) has the higher level, and its values may hold
    lower-level traced values.
    """

    __slots__ = ("level", "_constants")

    def __init__(self, level: int, named: dict | None = None):
        self.level = level
        # id -> (object, name); the object is kept so its id cannot be reused
        self._constants = {id(value): (value, name) for name, value in (named or {}).items()}

    def name_of(self, value) -> str:
        """The display name of a constant: its variable name if known, else K1, K2, ..."""
        if isinstance(value, (int, float, np.generic)) and np.ndim(value) == 0:
            return f"{float(value):g}"
        known = self._lookup(value)
        if known is None:
            if np.ndim(value) == 0:
                return f"{float(np.asarray(value)):g}"
            known = (value, f"K{sum(n.startswith('K') for _, n in self._constants.values()) + 1}")
            self._constants[id(value)] = known
        return known[1]

    def _lookup(self, value):
        """The entry of ``value``, or of the array it is a reshaped view of."""
        while value is not None:
            known = self._constants.get(id(value))
            if known is not None and known[0] is value:
                return known
            base = getattr(value, "base", None)
            value = base if base is not None and np.size(base) == np.size(value) else None
        return None


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
