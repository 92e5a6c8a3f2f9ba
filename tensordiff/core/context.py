"""The state that belongs to one thread or asyncio task, in one context variable.

Six things change while tensordiff runs and must not leak between concurrent
callers: the traces whose functions are running (a derivative inside a
derivative nests them), the trace level a rule is serving, a temporary memory
limit (``with td.memory_limit(n)``), the cost meters counting contractions,
whether contractions only count (a dry run predicting an order's cost), and
whether local Jacobians need the names of their factors.
They live together in one immutable :class:`State` held by a
:class:`contextvars.ContextVar`: a change is a new State set for the duration
of a ``with`` block and reset after it, so every thread and every asyncio task
sees only its own changes (a new thread starts from the defaults; a new task
starts from a copy of its creator's state).

>>> current().traces, current().serving_level
((), 0)
>>> with changed(serving_level=2):
...     current().serving_level
2
>>> current().serving_level
0
"""

import contextlib
import contextvars
from typing import NamedTuple

__all__ = ["State", "current", "changed", "set_fields", "serve", "reset"]


class State(NamedTuple):
    """What one context sees; replaced, never mutated."""

    traces: tuple = ()  # the traces whose functions are running, outermost first
    serving_level: int = 0  # the trace level whose call a rule is serving (0: none)
    memory_limit: int | None = None  # a limit for this context only; None: the process default
    meters: tuple = ()  # cost meters counting contractions now (dicts), innermost last
    dry_run: bool = False  # contractions are counted and planned, not computed
    named: bool = True  # local Jacobians need factor names (False while backpropagating numbers)


_POSITIONS = {name: n for n, name in enumerate(State._fields)}

# B039 warns of mutable defaults; a State is an immutable tuple.
_state: contextvars.ContextVar[State] = contextvars.ContextVar("tensordiff", default=State())  # noqa: B039


def current() -> State:
    """The state of the running thread or task."""
    return _state.get()


@contextlib.contextmanager
def changed(**fields):
    """Within the block, the current state with ``fields`` replaced (this context only)."""
    token = set_fields(**fields)
    try:
        yield
    finally:
        reset(token)


def set_fields(**fields) -> contextvars.Token:
    """:func:`changed` without the block, for hot paths: the token to :func:`reset` with.
    (Each field set by its position: ``_replace`` costs a microsecond more, and this runs
    on every derivative call.)"""
    state = list(_state.get())
    for name, value in fields.items():
        state[_POSITIONS[name]] = value
    return _state.set(tuple.__new__(State, state))


def serve(level: int) -> contextvars.Token:
    """``set_fields(serving_level=level)`` for the hottest path, every NumPy call a trace
    applies: the new State is built directly (``_replace`` costs a microsecond more)."""
    state = _state.get()
    return _state.set(tuple.__new__(State, (state[0], level, *state[2:])))


def reset(token: contextvars.Token) -> None:
    """Undo one :func:`set_fields`."""
    _state.reset(token)


def replace(**fields) -> None:
    """Replace ``fields`` of the current state until this context ends (no block)."""
    _state.set(_state.get()._replace(**fields))
