"""The allow-list: which NumPy callable is differentiated by which rule.

The trace mechanism consults this table and knows no rule itself; the rules in
:mod:`tensordiff.ops` register here (``@implements(np.tanh)``), as autograd's
``defvjp`` fills a table its tracer reads. Keys are the callables NumPy hands
to ``__array_function__`` and ``__array_ufunc__`` (a ufunc, or a ufunc method
such as ``np.add.reduce``), plus stand-ins for the three ndarray methods NumPy
does not route: :func:`cast` for ``astype``, :func:`operator.getitem` for
indexing and :func:`assign` for item assignment. A callable that is not
registered is refused, never run by NumPy on a traced value. A deliberate refusal
carries its reason (``refuses``), which the error and the coverage table
(docs/numpy-coverage.md) show.

>>> qualified_name(np.linalg.norm), qualified_name(np.add.reduce), qualified_name(cast)
('linalg.norm', 'add.reduce', 'ndarray.astype')
"""

import operator
import sys
from collections.abc import Callable

import numpy as np

from tensordiff.errors import UnsupportedOperationError

__all__ = [
    "implements",
    "pulls_back",
    "refuses",
    "rule_for",
    "refusal_reason",
    "is_registered",
    "qualified_name",
    "public_name",
    "when_missing",
    "before_tracing",
    "prepare_extras",
    "supported_operations",
    "cast",
    "assign",
    "created_like",
]

# NumPy callable -> its rule, called with the call's own arguments
_RULES: dict[Callable, Callable] = {}
# NumPy callable -> why it is refused on purpose (the others without a rule: not yet)
_REASONS: dict[Callable, str] = {}
# NumPy callable -> its rule while only numbers are wanted (see pulls_back)
PULL_BACKS: dict[Callable, Callable] = {}
# Called when a lookup misses, to register rules of optional extras (scipy.special's
# ufuncs) only once the user's code has imported them.
_WHEN_MISSING: list[Callable[[], None]] = []
# Called as a trace starts, to let optional extras the user's code imported hand traced
# values to NumPy (scipy.special.softmax converts its argument first).
_BEFORE_TRACING: list[Callable[[], None]] = []


def cast(x, dtype):
    """``x.astype(dtype)`` for an array or a NumPy scalar: the stand-in for ``ndarray.astype``
    (a replayed 0-d result may be a NumPy scalar, which ``np.ndarray.astype`` refuses)."""
    return np.asarray(x).astype(dtype)


def assign(x, index, value):
    """``x`` with ``x[index] = value`` written into a copy: the stand-in for
    ``ndarray.__setitem__``, whose rule gives the written array as a new value."""
    written = np.array(x, copy=True)
    written[index] = value
    return written


def created_like(like, function, *args, **kwargs):
    """``function(*args, **kwargs)``, an array built from constants: the stand-in for a call
    given ``like=`` a traced value (``np.zeros(3, like=t)``), which NumPy hands over without
    ``like``. The rule makes it a constant of ``like``'s trace."""
    return function(*args, **kwargs)


_METHOD_NAMES = {
    cast: "ndarray.astype",
    operator.getitem: "ndarray.__getitem__",
    assign: "ndarray.__setitem__",
    created_like: "an array creation with like=",
}


def implements(*functions: Callable):
    """Register the decorated rule for ``functions``; a second rule for one is an error."""

    def register(rule):
        for function in functions:  # all checked first: a refusal registers nothing
            if function in _RULES:
                raise KeyError(f"numpy.{qualified_name(function)} already has a rule")
            if function in _REASONS:
                raise KeyError(f"numpy.{qualified_name(function)} is refused on purpose")
        _RULES.update(dict.fromkeys(functions, rule))
        return rule

    return register


def pulls_back(*functions: Callable):
    """Register the decorated rule for ``functions`` on a trace whose gradient is
    backpropagated as numbers (``Trace.numbers_only``), as autograd's ``defvjp``: called
    as ``rule(trace, inputs)`` with a call's positional inputs, it records the value
    and a builder of its vector–Jacobian product (:mod:`tensordiff.core.vjp`), and
    returns the traced result, or None to leave the call to the rule of
    :func:`implements` (any input it does not handle: another trace's value, a stale
    one, an unusual constant)."""

    def register(rule):
        for function in functions:
            if function in PULL_BACKS:
                raise KeyError(f"numpy.{qualified_name(function)} already has a pull-back")
        PULL_BACKS.update(dict.fromkeys(functions, rule))
        return rule

    return register


def refuses(reason: str, *functions: Callable) -> None:
    """Record that ``functions`` are refused on purpose, and why (shown in the error)."""
    for function in functions:
        if function in _RULES or function in _REASONS:
            raise KeyError(f"numpy.{qualified_name(function)} already has a rule or a reason")
    _REASONS.update(dict.fromkeys(functions, reason))


def when_missing(register: Callable[[], None]) -> Callable[[], None]:
    """Call ``register`` (idempotent) before a lookup misses: rules of optional extras."""
    _WHEN_MISSING.append(register)
    return register


def before_tracing(prepare: Callable[[], None]) -> Callable[[], None]:
    """Call ``prepare`` (idempotent, cheap) whenever a trace starts."""
    _BEFORE_TRACING.append(prepare)
    return prepare


def prepare_extras() -> None:
    """Run the ``before_tracing`` callbacks."""
    for prepare in _BEFORE_TRACING:
        prepare()


def rule_for(function: Callable) -> Callable:
    """The rule registered for ``function``; UnsupportedOperationError naming it (and the
    reason it is refused, if it is on purpose) if none."""
    rule = _RULES.get(function)
    if rule is None:
        for register in _WHEN_MISSING:
            register()
        rule = _RULES.get(function)
    if rule is None:
        raise UnsupportedOperationError.for_function(
            qualified_name(function), _REASONS.get(function, ""), package=_package(function)
        )
    return rule


def refusal_reason(function: Callable) -> str | None:
    """Why ``function`` is refused on purpose; None if it has a rule or no rule yet."""
    return _REASONS.get(function)


def is_registered(function: Callable) -> bool:
    """Whether a rule handles ``function``."""
    return function in _RULES


def qualified_name(function: Callable) -> str:
    """``linalg.norm`` for numpy.linalg.norm, ``add.reduce``, ``ndarray.astype``, ``tanh``."""
    if function in _METHOD_NAMES:
        return _METHOD_NAMES[function]
    owner = getattr(function, "__self__", None)
    if isinstance(owner, np.ufunc):
        return f"{owner.__name__}.{function.__name__}"
    module = getattr(function, "__module__", None) or "numpy"
    public = [part for part in module.split(".")[1:] if not part.startswith("_")]
    return ".".join([*public, function.__name__])


def public_name(function: Callable) -> str:
    """``numpy.linalg.norm``, ``numpy.add.reduce``, ``scipy.special.expit``."""
    return f"{_package(function)}.{qualified_name(function)}"


def _package(function: Callable) -> str:
    """``scipy.special`` for one of its ufuncs (which NumPy hands over like its own),
    ``scipy`` for a scipy function recorded as it is (``linalg.expm``); else ``numpy``."""
    if (getattr(function, "__module__", None) or "").startswith("scipy."):
        return "scipy"
    special = sys.modules.get("scipy.special")  # only if the user's code imported it
    ufunc = getattr(function, "__self__", function)
    if isinstance(ufunc, np.ufunc) and getattr(np, ufunc.__name__, None) is not ufunc:
        if special is not None and getattr(special, ufunc.__name__, None) is ufunc:
            return "scipy.special"
    return "numpy"


def supported_operations() -> list[str]:
    """The NumPy functions and ufuncs that work on traced values, by name."""
    return sorted(public_name(function) for function in _RULES if function not in _METHOD_NAMES)
