"""Which traced values share memory, as NumPy's arrays would, so that a write is never
silently missed by another name for the same memory.

NumPy writes in place (``y[0] = 0``, ``y += 1``, ``y.sort()``, ``np.fill_diagonal(y, 0)``),
and every view of ``y`` (``y[1:]``, ``y.T``, ``y.reshape(...)``) sees the write. A traced
value is written by rebinding it to a new recorded value (see
:meth:`~tensordiff.trace.traced.Traced.write`), which the object itself — and so every
Python name bound to it — sees; its views are other objects that do not. So the traced
values that may view one memory form a :class:`Memory`, and a write marks every other
member *stale*: using a stale value raises UnsupportedOperationError naming the write,
instead of computing with the numbers from before it.

Which calls give new memory is read from NumPy's own contract, conservatively: a call
not listed here is taken to return a view of each traced argument (the worst a wrong
guess costs is a refusal, never a wrong number).
"""

import operator
import weakref

import numpy as np

from tensordiff.trace import registry

__all__ = ["Memory", "gives_new_memory", "share", "written", "of_argument"]


class Memory:
    """The live traced values that may view one array's memory."""

    # argument: it is the memory of a caller's array (td.jit's tape), which a write into a
    # traced value cannot change
    __slots__ = ("members", "argument")

    def __init__(self, argument: bool = False):
        # by id: a traced value is unhashable (its == is elementwise, as an array's)
        self.members: weakref.WeakValueDictionary = weakref.WeakValueDictionary()
        self.argument = argument


def _present(module, *names: str) -> list:
    return [getattr(module, name) for name in names if hasattr(module, name)]


# NumPy functions whose result is always a new array, never a view of an argument.
_NEW_MEMORY = frozenset(
    _present(
        np,
        *"sum mean var std max min amax amin prod cumsum cumprod cumulative_sum"
        " cumulative_prod ptp average median quantile percentile nanquantile nanpercentile"
        " nanmedian nansum nanprod nanmax nanmin nanmean nanvar nanstd nancumsum nancumprod"
        " trapezoid cov corrcoef clip copy dot vdot inner outer tensordot kron cross"
        " concatenate concat stack hstack vstack dstack column_stack block append insert"
        " delete where select sort partition take take_along_axis compress extract repeat"
        " tile pad roll diff ediff1d gradient convolve correlate trace linspace logspace"
        " geomspace interp polyval polyfit tril triu diagflat vander sinc nan_to_num bincount"
        " i0 fill_diagonal put copyto place putmask put_along_axis matvec vecmat vecdot"
        " zeros_like ones_like empty_like full_like".split(),
    )
    + [
        function
        for name, function in vars(np.linalg).items()
        if callable(function)
        and not name.startswith("_")
        and name not in ("matrix_transpose", "diagonal")  # views, as np.matrix_transpose
        and not isinstance(function, type)
    ]
    + [registry.cast, registry.assign, registry.created_like]
)


def gives_new_memory(function, args, kwargs) -> bool:
    """Whether NumPy's ``function(*args, **kwargs)`` returns new memory, never a view."""
    if isinstance(function, np.ufunc) or isinstance(getattr(function, "__self__", None), np.ufunc):
        return True  # a ufunc and its methods (reduce, accumulate, outer) compute new arrays
    if function is operator.getitem:  # an advanced index copies; a basic one is a view
        index = args[1] if isinstance(args[1], tuple) else (args[1],)
        if not all(
            e is None or e is Ellipsis or isinstance(e, (int, np.integer, slice)) for e in index
        ):
            return True  # an array among the entries
        integers = sum(isinstance(e, (int, np.integer)) for e in index)
        return integers == len(index) == np.ndim(args[0])  # one entry: a NumPy scalar
    if function is np.array:
        copy = kwargs.get("copy", args[2] if len(args) > 2 else True)
        return copy is True
    return function in _NEW_MEMORY


def share(values) -> None:
    """Put the traced ``values`` (a call's traced arguments and its view results) in one
    :class:`Memory`: a write into one of them makes the others stale."""
    memories = {id(v._memory): v._memory for v in values if v._memory is not None}
    memory = max(memories.values(), key=lambda m: len(m.members), default=None) or Memory()
    memory.argument = any(m.argument for m in memories.values())
    for value in values:
        other = value._memory
        if other is not None and other is not memory:
            for member in list(other.members.values()):
                member._memory = memory
                memory.members[id(member)] = member
        value._memory = memory
        memory.members[id(value)] = value


def written(targets: list, where: str) -> None:
    """``targets`` were just written (a value, and the arrays it indexes): every other
    traced value that viewed their memory is stale, remembering ``where`` the write was."""
    for target in targets:
        memory = target._memory
        if memory is None:
            continue
        for member in list(memory.members.values()):
            if all(member is not t for t in targets):
                member._stale = where or " (a write into memory it shares)"
                member._memory = None


def of_argument(value) -> None:
    """Mark ``value`` as holding a caller's array (td.jit's tape replays no write into it)."""
    value._memory = Memory(argument=True)
    value._memory.members[id(value)] = value
