"""``td.jit``: trace a derivative once per argument signature, then replay it.

A call of ``td.jacobian(f)`` runs ``f``'s Python, records the graph, builds
every local Jacobian and plans the contractions: on small problems that
overhead is many times the arithmetic. ``td.jit(td.jacobian(f))`` does all of
it once per *signature* (the shapes and dtypes of the array arguments, the
values of the others, and the memory limit the contractions are planned under)
while recording every NumPy call it makes on a
:class:`~tensordiff.trace.tape.Tape`; later calls with the same signature
replay only the recorded NumPy calls, with each einsum on its planned path,
and return the same structured Jacobian (same labels, deltas, formula).

What a replay reuses, and so what a new trace needs (the rules of ``jax.jit``,
checked where that is cheap):

* arrays passed as arguments are inputs: new values are always used;
* plain arguments (numbers, strings, dtypes, functions) are part of the
  signature: a new value records again; dicts, lists and tuples of arrays and
  plain values (pytrees) are keyed by their nesting, dict keys and leaves; any
  other object (an instance of a model class) runs without the cache, since it
  could change between calls unseen;
* arrays and numbers the function reads by name from a closure, a global or a
  default are checked on every call (one comparison pass over those arrays):
  rebinding one, or changing an array in place, records again;
* a branch on an argument's values (``if x.sum() > 0``), a conversion to a
  Python number, or a NumPy call that cannot be replayed stops the recording:
  that signature then runs without the cache on every call, never replaying a
  branch that might go the other way (``cache_info().last_fallback`` says why;
  the call that stopped recording runs the function again the ordinary way, where
  a branch on a differentiated argument raises TraceLeakError as it does without
  jit, and one on another argument runs);
* every replayed step's shape is checked: when a shape follows the values (a
  boolean mask argument selecting a different number of entries), the call
  runs without the cache, and so does that signature from then on;
* a number in the signature is keyed by its bits: ``-0.0`` and ``0.0`` are two
  signatures (``1 / x`` differs), and so are NaNs of different payloads;
* not checked: arrays or numbers reached any other way (attributes, containers,
  other functions' globals). Replays use the objects recorded: an array changed
  in place is read anew where it enters a NumPy call directly, but values
  derived from it while recording, and anything rebound, are not. Random
  numbers drawn inside the function, and other side effects, happen when
  recording, not on replay. Call ``clear()`` after changing such state.

>>> import numpy as np, tensordiff as td
>>> x = np.arange(3.0)
>>> jf = td.jit(td.jacobian(lambda W: np.tanh(W @ x)))
>>> J1 = jf(np.ones((2, 3)))
>>> J2 = jf(np.zeros((2, 3)))     # same shapes: replayed
>>> np.allclose(np.asarray(J2), np.asarray(td.jacobian(lambda W: np.tanh(W @ x))(np.zeros((2, 3)))))
True
>>> jf.cache_info().hits, jf.cache_info().misses
(1, 1)
"""

import functools
import inspect
import operator
import struct
import threading
import types
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from tensordiff.core import memory, options, trees
from tensordiff.core.dense import dense_writer
from tensordiff.core.term import Term
from tensordiff.errors import TensorDiffError
from tensordiff.tensor import Jacobian, Tensor, slot_names
from tensordiff.trace.tape import Program, ShapeChanged, Tape
from tensordiff.trace.traced import Traced, outermost, running
from tensordiff.trace.variables import parameter_names, visible_names, visible_values

__all__ = ["jit", "Jitted", "CacheInfo"]


def jit(fn: Callable, max_entries: int = 32) -> "Jitted":
    """``fn`` (a derivative function such as ``td.jacobian(f)``, or any NumPy function),
    recorded once per argument signature and replayed after that.

    Results are the same as ``fn``'s; see the module documentation for what a
    replay reuses.

    Memory is bounded: at most ``max_entries`` recorded signatures are kept (least
    recently used first out), and at most as many signatures known not to replay
    (with only the reason why). An entry holds its recorded program — the NumPy
    calls with the constants they were given (arrays the function reads from a
    closure or a global are referenced, not copied) — and a snapshot of each
    array the function reads by name (compared on every call): roughly the size
    of those arrays plus the constants the function creates, never its results.

    A jitted function may be shared by threads: a signature is recorded once (a
    thread needing a signature another is recording waits for that recording),
    and the cache is only changed under a lock, so no call sees a torn entry.
    Recording and replaying run outside the lock, so threads replaying different
    or equal signatures run concurrently.

    >>> jit(np.sin, max_entries=True)
    Traceback (most recent call last):
    ...
    tensordiff.errors.OptionError: max_entries must be a positive integer, got True
    """
    return Jitted(fn, max_entries)


@dataclass(frozen=True)
class CacheInfo:
    """How a jitted function's calls were served."""

    hits: int  # replayed
    misses: int  # recorded
    entries: int  # signatures held now
    fallbacks: int  # calls run without the cache (see last_fallback)
    last_fallback: str = ""


class Jitted:
    """A function recorded once per argument signature; see :func:`jit`."""

    def __init__(self, fn: Callable, max_entries: int = 32):
        self.max_entries = options.positive_integer(max_entries, "max_entries")
        self.fn = fn
        self._user_function = inspect.unwrap(fn)
        # Everything below is read and changed only under _lock; recording and replaying
        # happen outside it. _recording: signature -> the lock its recorder holds.
        self._lock = threading.Lock()
        self._entries: OrderedDict = OrderedDict()
        self._uncached: OrderedDict = OrderedDict()  # signature -> why it cannot be replayed
        self._recording: dict = {}
        self._counts = {"hits": 0, "misses": 0, "fallbacks": 0}
        self._last_fallback = ""
        functools.update_wrapper(self, fn)

    def __call__(self, *args, **kwargs):
        if outermost() is not None:
            return self.fn(*args, **kwargs)  # inside a trace: the outer recording sees all
        key = _signature(args, kwargs)
        if key is None:
            return self._fallback(
                args, kwargs, "an argument is neither an array nor a plain value (e.g. a list)"
            )
        key = (memory.get_memory_limit(), key)  # plans are made under the limit
        while True:
            with self._lock:
                reason = self._uncached.get(key)
                entry = self._entries.get(key)
                recorder = self._recording.get(key)
                if reason is None and recorder is None and entry is None:
                    mine = self._recording[key] = threading.Lock()
                    mine.acquire()
                    break
            if reason is not None:
                return self._fallback(args, kwargs, reason)
            if recorder is not None:  # another thread records this signature: wait for it
                with recorder:
                    continue
            if entry.guards_hold(self._user_function):
                return self._replay(key, entry, args, kwargs)
            with self._lock:  # stale (a closure changed): record again, unless another is
                if self._entries.get(key) is entry and key not in self._recording:
                    del self._entries[key]
        try:
            return self._record(key, args, kwargs)
        finally:
            with self._lock:
                del self._recording[key]
            mine.release()

    def _replay(self, key, entry: "_Entry", args, kwargs):
        try:
            outputs = entry.program.run(_arrays(args, kwargs))
        except ShapeChanged as error:  # shapes follow the values: never replayable
            reason = f"an intermediate's shape depends on the values ({error})"
            with self._lock:
                self._entries.pop(key, None)
                self._remember_uncached(key, reason)
            return self._fallback(args, kwargs, reason)
        with self._lock:
            self._counts["hits"] += 1
            if key in self._entries:
                self._entries.move_to_end(key)
        return entry.fill(outputs)

    def _remember_uncached(self, key, reason: str) -> None:
        """(Under the lock.) Remember that ``key`` cannot be replayed, keeping at most
        max_entries such signatures."""
        self._uncached[key] = reason
        if len(self._uncached) > self.max_entries:
            self._uncached.popitem(last=False)

    def __repr__(self) -> str:
        name = getattr(self.fn, "__name__", type(self.fn).__name__)
        return f"Jitted({name}, {len(self._entries)} recorded signatures)"

    def cache_info(self) -> CacheInfo:
        with self._lock:
            return CacheInfo(
                self._counts["hits"],
                self._counts["misses"],
                len(self._entries),
                self._counts["fallbacks"],
                self._last_fallback,
            )

    def clear(self) -> None:
        """Forget every recording (after changing state the guards cannot see)."""
        with self._lock:
            self._entries.clear()
            self._uncached.clear()

    def _fallback(self, args, kwargs, reason: str):
        with self._lock:
            self._counts["fallbacks"] += 1
            self._last_fallback = reason
        return self.fn(*args, **kwargs)

    def _record(self, key, args, kwargs):
        """Record ``key`` (this thread holds its recording lock)."""
        with self._lock:
            self._counts["misses"] += 1
        try:
            entry, result = _Entry.record(self.fn, self._user_function, args, kwargs)
        except Exception as error:  # noqa: BLE001  (any failure: run it the ordinary way)
            reason = f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}"
            with self._lock:
                self._remember_uncached(key, reason)
            return self._fallback(args, kwargs, reason)  # raises f's own error, if it has one
        with self._lock:
            self._entries[key] = entry
            if len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)
        return result


class _NotReplayable(Exception):
    """The function returned something a replay cannot rebuild."""


class _Entry:
    """One recorded signature: the program, how to rebuild the result, and the guards."""

    def __init__(self, program: Program, fill: Callable, visible: tuple, arrays: list):
        self.program = program
        self.fill = fill
        self._visible = visible
        self._arrays = arrays  # (array, its snapshot at recording time)

    @classmethod
    def record(cls, fn, user_function, args, kwargs):
        tape = Tape(1)
        names = parameter_names(user_function, len(args))
        lift = functools.partial(_lift, tape)
        traced_args = [lift(value, name) for value, name in zip(args, names, strict=True)]
        traced_kwargs = {name: lift(kwargs[name], name) for name in sorted(kwargs)}
        visible = visible_values(user_function)
        with running(tape):
            result = fn(*traced_args, **traced_kwargs)
        slots, recorded = [], []
        fill = _skeleton(result, tape, slots, recorded)
        # Arrays the function reads by name may have fed values computed outside the tape
        # (``A @ A`` on a closure's A): a change in place must record again.
        watched = {id(v): v for _, v in visible_names(user_function) if isinstance(v, np.ndarray)}
        arrays = [(array, _snapshot(array)) for array in watched.values()]
        return cls(tape.program(slots), fill, visible, arrays), fill(recorded)

    def guards_hold(self, user_function) -> bool:
        visible = visible_values(user_function)
        if len(visible) != len(self._visible) or not all(map(operator.is_, visible, self._visible)):
            return False
        return all(_same(array, snapshot) for array, snapshot in self._arrays)


# Up to this size an array is compared by its bytes (fast, and NaN equals itself);
# above it, elementwise (copying a large array's bytes costs more than comparing).
_BYTES_SNAPSHOT = 1 << 16


def _snapshot(array: np.ndarray):
    if array.nbytes <= _BYTES_SNAPSHOT:
        return (array.shape, array.dtype, array.tobytes())
    return array.copy()


def _same(array: np.ndarray, snapshot) -> bool:
    if isinstance(snapshot, tuple):
        shape, dtype, data = snapshot
        return array.shape == shape and array.dtype == dtype and array.tobytes() == data
    if array.shape != snapshot.shape or array.dtype != snapshot.dtype:
        return False
    # equal_nan is many times slower: only asked when a NaN may be why they differ.
    return bool(np.array_equal(array, snapshot)) or (
        array.dtype.kind in "fc" and bool(np.array_equal(array, snapshot, equal_nan=True))
    )


def _lift(tape: Tape, value, name: str):
    """An argument with its arrays (also inside dicts, lists and tuples) as tape inputs."""
    return trees.tree_map(
        lambda leaf: tape.input(leaf, name) if type(leaf) is np.ndarray else leaf, value
    )


def _arrays_only(args, kwargs) -> bool:
    """Whether a call passes plain arrays only, positionally: the common call, which
    :func:`_signature` and :func:`_arrays` serve without walking trees."""
    return not kwargs and all(type(arg) is np.ndarray for arg in args)


def _arrays(args, kwargs) -> list:
    """The array arguments (and arrays nested in them) in recording order: positional,
    then keywords by name."""
    if _arrays_only(args, kwargs):
        return list(args)  # the common call, without walking trees
    ordered = [*args, *(kwargs[name] for name in sorted(kwargs))]
    return [leaf for leaf in trees.leaves(ordered) if type(leaf) is np.ndarray]


# Arguments of these types are part of a signature by value. Other objects (a model
# instance, a list) could change between calls without a new signature: they run
# without the cache.
_PLAIN = (type(None), bool, int, float, complex, str, bytes, np.generic, np.dtype, slice)
_PLAIN_CALLABLES = (types.FunctionType, types.BuiltinFunctionType, np.ufunc)


def _signature(args, kwargs):
    """A hashable key for the shapes, dtypes and values that decide a recording; None if
    some argument is neither an array nor a plain value, nor a dict / list / tuple of
    them (whose nesting is part of the key)."""
    if _arrays_only(args, kwargs):
        # the common call (arrays only) keyed without walking trees; no other call has
        # a key of this form, so the two forms never meet in one cache
        return tuple((arg.shape, arg.dtype.str) for arg in args)
    parts = []
    for name, value in [*enumerate(args), *sorted(kwargs.items())]:
        leaf_keys = []
        for leaf in trees.leaves(value):
            if type(leaf) is np.ndarray:
                leaf_keys.append((leaf.shape, leaf.dtype.str))
            elif _is_plain(leaf):
                leaf_keys.append(_by_bits(leaf))
            else:
                return None
        parts.append((name, trees.structure(value), tuple(leaf_keys)))
    return tuple(parts)


def _by_bits(value):
    """A key for a plain value that tells apart what ``==`` confuses: ``-0.0`` and
    ``0.0``, NaNs (never equal to themselves) of any payload, ``True`` and ``1``.

    >>> _by_bits(-0.0) == _by_bits(0.0), _by_bits(float("nan")) == _by_bits(float("nan"))
    (False, True)
    """
    if isinstance(value, float):
        return (type(value), struct.pack("<d", value))
    if isinstance(value, complex):
        return (type(value), struct.pack("<dd", value.real, value.imag))
    if isinstance(value, np.generic):
        return (type(value), value.dtype.str, value.tobytes())
    return (type(value), value)


def _is_plain(value) -> bool:
    return isinstance(value, _PLAIN + _PLAIN_CALLABLES) or value is Ellipsis


def _skeleton(result, tape: Tape, slots: list, recorded: list) -> Callable:
    """A function of the outputs' values that rebuilds ``result``; collects the slots of
    the traced arrays it holds (in order) and their recorded values."""
    if isinstance(result, Tensor):
        terms = [_skeleton(term, tape, slots, recorded) for term in result.terms]
        try:  # every replay has this structure: plan its dense write once
            writer = dense_writer(result.terms, result.shape, result.dtype)
        except TensorDiffError:
            writer = None  # e.g. over the memory limit: planned (and refused) on request

        cls = type(result)
        # everything but the terms, which are rebuilt: an entry keeps no result alive
        fields = {
            name: getattr(result, name)
            for name in slot_names(cls)
            if hasattr(result, name) and name != "terms"
        }
        fields["_writer"] = writer
        if isinstance(result, Jacobian):
            fields["_source"] = None  # the recording's arguments were traced

        def tensor(values):
            rebuilt = cls.__new__(cls)
            for name, value in fields.items():
                setattr(rebuilt, name, value)
            rebuilt.terms = tuple(term(values) for term in terms)
            return rebuilt

        return tensor
    if isinstance(result, Term):
        factors = [
            (_factor(array, tape, slots, recorded), classes) for array, classes in result.factors
        ]
        return lambda values: Term(
            tuple((array(values), classes) for array, classes in factors),
            result.axes,
            result.sizes,
            result.names,
        )
    if type(result) is Traced:
        return _factor(result, tape, slots, recorded)
    if isinstance(result, (tuple, list, dict)):  # a tree of derivatives, or (J, aux)
        values_now, skeleton = trees.flatten(result, is_leaf=lambda item: item is None)
        items = [_skeleton(item, tape, slots, recorded) for item in values_now]
        return lambda values: trees.unflatten(skeleton, [item(values) for item in items])
    if isinstance(result, np.ndarray):
        return lambda values: result.copy()  # a fresh array per call, as without the cache
    if result is None or isinstance(result, (bool, int, float, complex, str, np.generic)):
        return lambda values: result
    raise _NotReplayable(f"the result holds a {type(result).__name__}")


def _factor(array, tape: Tape, slots: list, recorded: list) -> Callable:
    """The filler of one array of the result: a traced one is an output of the program."""
    if type(array) is not Traced:
        return lambda values: array
    if array._trace is not tape:
        raise _NotReplayable("the result holds a value traced by another call")
    array.check_current("the value f returned")
    slots.append(tape.slot_of(array))
    recorded.append(array.value)
    return operator.itemgetter(len(slots) - 1)
