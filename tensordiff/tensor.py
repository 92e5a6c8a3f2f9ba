"""Labelled tensors: arrays whose axes carry names, stored with their delta structure.

A :class:`Tensor` is a sum of :class:`~tensordiff.core.term.Term` objects with a label
per axis. It knows nothing about derivatives; a :class:`Jacobian` is a Tensor
whose labels are split into output labels and input (``wrt``) labels.
"""

import itertools
import math
from collections.abc import Sequence

import numpy as np

from tensordiff.core import blocks, memory, templates, trees
from tensordiff.core.dense import write_dense
from tensordiff.core.dtypes import as_real_array
from tensordiff.core.labels import default_labels, parse_labels
from tensordiff.core.sparse import coordinates, csr_arrays, entries, structural_nnz
from tensordiff.core.sums import add_terms
from tensordiff.core.term import Term, contract_terms, diagonal
from tensordiff.errors import ShapeError, StaleStructure, TensorDiffError, TraceLeakError
from tensordiff.io import lazy, store
from tensordiff.plot import MAX_ENTRIES, jacobian_figure, network_figure
from tensordiff.text import notation
from tensordiff.trace.densify import dense_value
from tensordiff.trace.traced import Traced

__all__ = ["Tensor", "Jacobian", "contract", "slot_names"]


class Tensor:
    """A NumPy array whose axes carry labels, kept in factored form.

    Labels, not positions, decide what contracts with what (see
    :func:`tensordiff.contract`). ``np.asarray(T)`` gives the dense array; until
    then Kronecker deltas stay symbolic, so ``stored_nbytes`` can be far below
    ``dense_nbytes``.

    >>> T = Tensor(np.ones((3, 4)), "ij")
    >>> T.indices, T.shape
    (('i', 'j'), (3, 4))
    >>> Tensor(np.ones(2), ("row",)).indices
    ('row',)
    """

    # _writer: a planned dense write for terms of exactly this structure, or None
    __slots__ = ("indices", "shape", "dtype", "terms", "_writer")

    def __init__(self, data, labels: str | Sequence[str]):
        array = as_real_array(data, "the data of a Tensor")
        self.indices = parse_labels(labels, array.ndim, f"a Tensor of shape {array.shape}")
        self.shape = array.shape
        self.dtype = array.dtype
        self.terms = (Term.dense(array),)
        self._writer = None

    # Pickling leaves out the caches: closures (and in a Jacobian the user's function),
    # tied to this process; the tensor itself is its labels and terms.
    _CACHES = ("_writer",)

    def __getstate__(self) -> dict:
        return {
            name: getattr(self, name)
            for name in slot_names(type(self))
            if name not in self._CACHES and hasattr(self, name)
        }

    def __setstate__(self, state: dict) -> None:
        for name in slot_names(type(self)):
            setattr(self, name, state.get(name))

    @classmethod
    def _from_terms(cls, terms, indices, shape, dtype) -> "Tensor":
        tensor = cls.__new__(cls)
        tensor.indices, tensor.shape, tensor.dtype = tuple(indices), tuple(shape), np.dtype(dtype)
        tensor.terms = tuple(terms)
        tensor._writer = None
        return tensor

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        return math.prod(self.shape)

    @property
    def dense_nbytes(self) -> int:
        """Bytes the dense array would take."""
        return self.size * self.dtype.itemsize

    @property
    def stored_nbytes(self) -> int:
        """Bytes actually held by this tensor's factors."""
        return sum(term.stored_nbytes for term in self.terms)

    @property
    def sizes(self) -> dict[str, int]:
        """The size of each label."""
        return dict(zip(self.indices, self.shape, strict=True))

    def to_numpy(self, out: np.ndarray | None = None) -> np.ndarray:
        """The dense array; raises JacobianTooLarge if it is over the memory limit.

        With ``out``, a writable array of this shape and dtype (a slice of a memmap or
        a Zarr chunk buffer too), the entries are written there and ``out`` is returned.
        """
        memory.check_dense(self.shape, self.dtype)
        self._check_out(out)
        if self._writer is not None:
            return self._writer(self.terms, out)
        return write_dense(self.terms, self.shape, self.dtype, out)

    def _check_out(self, out: np.ndarray | None) -> None:
        if out is None:
            return
        if not isinstance(out, np.ndarray) or (out.shape, out.dtype) != (self.shape, self.dtype):
            raise ShapeError(
                f"out= must be a NumPy array of shape {self.shape} and dtype {self.dtype}"
                f" to hold {self!r}, got {type(out).__name__}"
                f" {getattr(out, 'shape', '')} {getattr(out, 'dtype', '')}"
            )
        if not out.flags.writeable:
            raise ShapeError("out= is read-only; pass a writable array")

    def __array__(self, dtype=None, copy=None):
        if any(type(array) is Traced for term in self.terms for array, _ in term.factors):
            raise TraceLeakError(
                "np.asarray() of a derivative computed inside another derivative would drop"
                " the outer derivative; return the Jacobian itself, or pass it to NumPy"
                " functions (np.sum(J), J * 2), which keep it traced"
            )
        dense = self.to_numpy()
        return dense if dtype is None else dense.astype(dtype, copy=False)

    # NumPy functions on a Tensor see its dense array; inside a derivative (traced
    # factors) that array is itself traced, so np.sum(td.jacobian(f)(x)) differentiates.
    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        return getattr(ufunc, method)(*_densified(inputs), **_densified(kwargs))

    def __array_function__(self, func, types, args, kwargs):
        return func(*_densified(args), **_densified(kwargs))

    def structured_terms(self) -> tuple:
        """The terms formulas are read from: the tensor's own (a Jacobian computed as a
        plain gradient recomputes its structured twin, see :meth:`Jacobian.structured_terms`)."""
        return self.terms

    def __getitem__(self, key) -> "Tensor":
        """The block ``key`` (NumPy basic indexing: ints, slices, ``...``, ``None``) as a
        Tensor that keeps the structure and the labels of the axes it keeps.

        An int drops its axis, as in NumPy; an axis that ``None`` inserts gets a fresh
        label. The block costs the factors it reads, never the dense tensor.

        >>> import tensordiff as td
        >>> W, x = np.ones((3, 4)), np.arange(4.0)
        >>> J = td.jacobian(lambda W: W @ x)(W)
        >>> block = J[0:2, 1, ::-1]
        >>> block.indices, block.formula
        (('i', 'k'), 'T[i,k] = x[3−k] δ[i,1]')
        >>> np.array_equal(np.asarray(block), np.asarray(J)[0:2, 1, ::-1])
        True
        """
        selections, layout = blocks.basic_selections(key, self.shape)
        terms, shape = blocks.block_terms(self._block_source(), selections, layout, self.dtype)
        fresh = iter(default_labels(layout.count(None), avoid=self.indices))
        indices = [next(fresh) if k is None else self.indices[k] for k in layout]
        return Tensor._from_terms(terms, indices, shape, self.dtype)

    def to_dask(self, chunks="auto"):
        """A lazy ``dask.array.Array`` of this tensor, each chunk computed from the structure
        on demand (see :func:`tensordiff.io.lazy.to_dask`); needs ``tensordiff[dask]``."""
        return lazy.to_dask(self, chunks)

    def to_xarray(self, chunks=None):
        """An ``xarray.DataArray`` with the labels as dimension names: dense when ``chunks`` is
        None, Dask-backed otherwise; needs ``tensordiff[dask]``."""
        return lazy.to_xarray(self, chunks)

    def to_zarr(self, store_or_path, chunks=None, progress=None, name="J", overwrite=False):
        """Stream this tensor chunk by chunk into the array ``name`` of a new Zarr group and
        return it (see :func:`tensordiff.io.store.to_zarr`); needs ``tensordiff[dask]``."""
        return store.to_zarr(self, store_or_path, chunks, progress, name, overwrite)

    def to_npy(self, path, chunks=None, progress=None) -> None:
        """Write this tensor into a ``.npy`` file chunk by chunk through a memmap.

        >>> import tempfile, os, tensordiff as td
        >>> J = td.jacobian(np.tanh)(np.zeros(3))
        >>> path = os.path.join(tempfile.mkdtemp(), "J.npy")
        >>> J.to_npy(path)
        >>> np.load(path)
        array([[1., 0., 0.],
               [0., 1., 0.],
               [0., 0., 1.]])
        """
        store.to_npy(self, path, chunks, progress)

    def _block_source(self) -> tuple[Term, ...]:
        """The terms whose blocks are this tensor's blocks (a Hessian symmetrizes them)."""
        return self.terms

    def relabel(self, labels: str | Sequence[str]) -> "Tensor":
        """The same tensor with new labels (positionally)."""
        indices = parse_labels(labels, self.ndim, f"a Tensor of shape {self.shape}")
        return Tensor._from_terms(self.terms, indices, self.shape, self.dtype)

    def transpose(self, labels: str | Sequence[str]) -> "Tensor":
        """The same tensor with its axes put in the order of ``labels``."""
        return contract(self, out=labels)

    def diagonal(self, axis1: int | str = 0, axis2: int | str = 1) -> "Tensor":
        """``np.diagonal(np.asarray(T), 0, axis1, axis2)`` as a labelled tensor: the two axes
        (given by position or by label, of equal size) become one, appended last and
        labelled as ``axis1``.

        Free when the two axes are joined by a Kronecker delta (the structure is kept);
        otherwise the factors holding both are cut to their diagonal, never densified.

        >>> import tensordiff as td
        >>> J = td.jacobian(np.tanh)(np.zeros(3))      # δ[i,j] (1 - tanh²)
        >>> d = J.diagonal("i", "j")
        >>> d.indices, np.asarray(d), d.stored_nbytes
        (('i',), array([1., 1., 1.]), 24)
        """
        first, second = (
            self._axis(axis, name) for axis, name in ((axis1, "axis1"), (axis2, "axis2"))
        )
        if first == second:
            raise ShapeError(f"axis1 and axis2 are the same axis ({self.indices[first]!r})")
        if self.shape[first] != self.shape[second]:
            raise ShapeError(
                f"diagonal of axes {self.indices[first]!r} and {self.indices[second]!r} of"
                f" sizes {self.shape[first]} and {self.shape[second]}: tensordiff takes"
                " diagonals of equal sizes only; slice the longer axis first"
            )
        kept = [n for n in range(self.ndim) if n not in (first, second)]
        return Tensor._from_terms(
            add_terms([diagonal(term, first, second) for term in self.terms]),
            [self.indices[n] for n in kept] + [self.indices[first]],
            [self.shape[n] for n in kept] + [self.shape[first]],
            self.dtype,
        )

    def _axis(self, axis: int | str, what: str) -> int:
        """The position of an axis given by position (negative counts from the end) or label."""
        if isinstance(axis, str):
            if axis not in self.indices:
                raise ShapeError(f"{what}={axis!r} is not a label of this tensor {self.indices}")
            return self.indices.index(axis)
        if not isinstance(axis, (int, np.integer)) or not -self.ndim <= axis < self.ndim:
            raise ShapeError(
                f"{what}={axis!r} is not an axis of a tensor with {self.ndim} axes; give a"
                f" position or one of the labels {self.indices}"
            )
        return int(axis) % self.ndim

    def __add__(self, other: "Tensor") -> "Tensor":
        if not isinstance(other, Tensor):
            return NotImplemented
        other = _aligned(other, self)
        dtype = np.result_type(self.dtype, other.dtype)
        return Tensor._from_terms(
            add_terms(self.terms + other.terms), self.indices, self.shape, dtype
        )

    def __neg__(self) -> "Tensor":
        return self * -1.0

    def __sub__(self, other: "Tensor") -> "Tensor":
        if not isinstance(other, Tensor):
            return NotImplemented
        return self + (-other)

    def __mul__(self, scalar) -> "Tensor":
        if not np.isscalar(scalar) or isinstance(scalar, (str, bytes, complex)):
            return NotImplemented
        factor = (np.asarray(scalar, dtype=self.dtype), ())
        terms = [
            Term(
                term.factors + (factor,),
                term.axes,
                term.sizes,
                term.factor_names() + (templates.number(scalar),),
            )
            for term in self.terms
        ]
        return Tensor._from_terms(terms, self.indices, self.shape, self.dtype)

    __rmul__ = __mul__

    @property
    def formula(self) -> str:
        """The entries in index notation, e.g. ``T[i,j] = δ[i,j] x[j]``."""
        symbols = notation.symbols_of([self])
        entries = notation.index_notation(self, symbols)
        return notation.with_legend(f"{notation.signature('T', self.indices)} = {entries}", symbols)

    def __repr__(self) -> str:
        labels = ",".join(self.indices)
        return (
            f"{type(self).__name__}([{labels}], shape={self.shape}, dtype={self.dtype},"
            f" stored={self.stored_nbytes} B of {self.dense_nbytes} B dense)"
        )


# The slot Tensor keeps its terms in (a Jacobian's ``terms`` property reads and writes it).
_HELD_TERMS = Tensor.terms


class Jacobian(Tensor):
    """∂(output)/∂(input) as a labelled tensor: output labels first, then input labels.

    ``out_indices`` label the output's axes and ``in_indices`` the input's, so the
    shape is ``output.shape + input.shape`` (the JAX convention).
    """

    # _source: a function returning the cost report of the call that computed it, or None;
    # _structure: a function returning its structured terms, set when the call computed
    # plain numbers instead (a gradient by vector–Jacobian products), or None;
    # _numbers_only: the held terms are those numbers, and reading ``terms`` (anything but
    # the dense array) works the structure out first (a small Jacobian computed as numbers)
    __slots__ = (
        "out_indices",
        "in_indices",
        "numerator",
        "denominator",
        "_source",
        "_structure",
        "_numbers_only",
    )
    _CACHES = (*Tensor._CACHES, "_source", "_structure", "_numbers_only")

    @property
    def terms(self) -> tuple:
        """The terms (see :class:`Tensor`); those of a Jacobian computed as numbers are
        worked out when first read, so its sparsity, blocks and formulas are the structured
        ones while ``np.asarray(J)`` costs only the numbers."""
        if getattr(self, "_numbers_only", False):
            self.structured_terms()
        return _HELD_TERMS.__get__(self)

    @terms.setter
    def terms(self, terms) -> None:
        _HELD_TERMS.__set__(self, terms)

    def to_numpy(self, out: np.ndarray | None = None) -> np.ndarray:
        if not getattr(self, "_numbers_only", False):
            return super().to_numpy(out)
        memory.check_dense(self.shape, self.dtype)
        self._check_out(out)
        return self._writer(_HELD_TERMS.__get__(self), out)

    def __array__(self, dtype=None, copy=None):
        if not getattr(self, "_numbers_only", False):  # (numbers are never traced ones)
            return super().__array__(dtype, copy)
        dense = self.to_numpy()
        return dense if dtype is None else dense.astype(dtype, copy=False)

    @classmethod
    def _from_tensor(
        cls, tensor: Tensor, n_out: int, numerator: str = "f", denominator: str = "x"
    ) -> "Jacobian":
        jacobian = cls._of_terms(
            tensor.terms, tensor.indices, n_out, tensor.shape, tensor.dtype, numerator, denominator
        )
        # relabelling and renaming keep the cost report and the structure (same axes)
        jacobian._source = getattr(tensor, "_source", None)
        jacobian._structure = getattr(tensor, "_structure", None)
        return jacobian

    @classmethod
    def _of_terms(
        cls, terms, indices, n_out: int, shape, dtype, numerator: str, denominator: str
    ) -> "Jacobian":
        """A Jacobian of ``terms`` (its first ``n_out`` labels the output's), built at once:
        what a derivative call returns, with no cost report or structure attached yet."""
        jacobian = cls._from_terms(terms, indices, shape, dtype)
        jacobian.out_indices = jacobian.indices[:n_out]
        jacobian.in_indices = jacobian.indices[n_out:]
        jacobian.numerator, jacobian.denominator = numerator, denominator
        jacobian._source = jacobian._structure = None
        jacobian._numbers_only = False  # (terms are its structure, unless set otherwise)
        return jacobian

    def structured_terms(self) -> tuple:
        """The terms formulas are read from. A gradient of a scalar is computed as plain
        numbers (vector–Jacobian products, one dense factor); its deltas and named factors
        are recomputed here, once, when a formula is first asked for.

        >>> import tensordiff as td
        >>> g = td.grad(lambda x: np.sum(np.tanh(x)))(np.ones(2))
        >>> len(g.terms[0].factors), g.formula
        (1, '∂f/∂x[i] = (1 − tanh²(x))[i]')
        """
        if self._structure is not None:
            terms, numbers_now = self._structure()
            self._check_same_numbers(terms, numbers_now)
            self._numbers_only, self._structure = False, None
            self._writer = None  # (it wrote the numbers' one factor)
            self.terms = terms
        return self.terms

    def _check_same_numbers(self, terms, numbers_now: np.ndarray) -> None:
        """Raise unless ``terms``, recomputed by calling ``f`` again, are the numbers this
        Jacobian holds: an argument changed in place since the call (``x -= lr * g``), or
        an array ``f`` reads by name, would give the structure of other numbers, and its
        blocks, sparsity and formula would silently disagree with ``np.asarray(J)``.

        The call made again as it was (``numbers_now``) gives the same numbers to the last
        bit when nothing changed; only if it does not are ``terms`` compared with them, to
        roundoff: a Jacobian that is 0 by cancellation (x × ((x xᵀ) u)) is roundoff
        alone, different in the two computations."""
        held = _HELD_TERMS.__get__(self)
        # (a relabelled copy has no writer of its own: its one factor is written plainly)
        numbers = self._writer(held) if self._writer else write_dense(held, self.shape, self.dtype)
        if np.array_equal(numbers_now, numbers, equal_nan=True):
            return
        again = write_dense(terms, self.shape, self.dtype)
        scale = float(np.max(np.abs(numbers), initial=0.0))
        if not np.allclose(again, numbers, rtol=1e-7, atol=1e-12 * scale, equal_nan=True):
            top = notation.signature(self.numerator, self.out_indices)
            bottom = notation.signature(self.denominator, self.in_indices)
            raise StaleStructure(
                f"the structure of ∂{top}/∂{bottom} (its formula, blocks, sparsity) is worked"
                " out by calling f again on its arguments, which now give other derivatives:"
                " an argument, or an array f reads by name, changed after the call. Its"
                " numbers (np.asarray(J)) are those of the call. Read the structure before"
                " changing them, or pass a copy (f(x.copy()))."
            )

    def plan(self):
        """The cost report of the call that computed this Jacobian: :func:`tensordiff.plan`
        of the same function and arguments (each order is run once more to measure it).

        >>> import tensordiff as td
        >>> J = td.jacobian(lambda x: np.tanh(x))(np.ones(3))
        >>> J.plan().costs["optimal"]["flops"]
        0
        """
        source = getattr(self, "_source", None)  # unset on Jacobians built by arithmetic
        if source is None:
            raise TensorDiffError(
                f"{self!r} was not computed by one call of td.jacobian (it was chained,"
                " contracted, replayed by td.jit, or is a per-sample Jacobian of batch=), so"
                " its cost report is not known; call td.plan(f, argnums)(*args) on a"
                " function of one array (for batch=: the full Jacobian's) instead"
            )
        return source()

    def plot(self, max_entries: int = MAX_ENTRIES):
        """A matplotlib Figure: the entries as a heatmap of the (out × in) matrix, the
        blocks of the outermost labels ruled (needs the ``plot`` extra).

        >>> import tensordiff as td
        >>> figure = td.jacobian(lambda W: W @ np.ones(4))(np.ones((3, 4))).plot()
        >>> figure.axes[0].get_xlabel()
        'W[j,k]  (columns)'
        """
        return jacobian_figure(self, max_entries)

    def plot_network(self):
        """A matplotlib Figure: the tensor network of each term, factors as nodes, labels
        as edges, each δ a wire (needs the ``plot`` extra)."""
        return network_figure(self)

    def relabel(self, labels: str | Sequence[str]) -> "Jacobian":
        relabelled = type(self)._from_tensor(
            super().relabel(labels), len(self.out_indices), self.numerator, self.denominator
        )
        relabelled._source = getattr(self, "_source", None)
        relabelled._structure = getattr(self, "_structure", None)
        return relabelled

    def named(self, numerator: str, denominator: str) -> "Jacobian":
        """The same Jacobian, written ∂numerator/∂denominator in formulas."""
        return type(self)._from_tensor(self, len(self.out_indices), numerator, denominator)

    # ---- J as a linear map from the input's space to the output's ----------------------

    # Rows: the axes of J v; columns: the axes v has (a Hessian's rows are the gradient's).
    @property
    def _rows(self) -> tuple[str, ...]:
        return self.out_indices

    @property
    def _columns(self) -> tuple[str, ...]:
        return self.in_indices

    def _shape_of(self, labels) -> tuple[int, ...]:
        return tuple(self.sizes[label] for label in labels)

    def matvec(self, v) -> np.ndarray:
        """``J v``: ``v`` shaped like the input (extra leading axes are a batch of vectors),
        the result shaped like the output (after the same batch axes). Contracted from
        the structure, as ``jax.jvp`` would give; J is never made dense.

        >>> import tensordiff as td
        >>> J = td.jacobian(lambda W: W @ np.arange(3.0))(np.ones((2, 3)))
        >>> J.matvec(np.ones((2, 3))), J.matvec(np.ones((4, 2, 3))).shape
        (array([3., 3.]), (4, 2))
        """
        return self._applied(v, self._columns, self._rows, "J.matvec")

    def rmatvec(self, u) -> np.ndarray:
        """``Jᵀ u`` (a vector–Jacobian product, as ``jax.vjp``): ``u`` shaped like the
        output (extra leading axes are a batch), the result shaped like the input.

        >>> import tensordiff as td
        >>> J = td.jacobian(lambda W: W @ np.arange(3.0))(np.ones((2, 3)))
        >>> J.rmatvec(np.array([1.0, -1.0]))
        array([[ 0.,  1.,  2.],
               [ 0., -1., -2.]])
        """
        return self._applied(u, self._rows, self._columns, "J.rmatvec")

    def _applied(self, vector, contracted, kept, what: str) -> np.ndarray:
        array = as_real_array(vector, f"the vector of {what}")
        shape = self._shape_of(contracted)
        n_batch = array.ndim - len(shape)
        if n_batch < 0 or array.shape[n_batch:] != shape:
            raise ShapeError(
                f"{what} takes a vector of shape {shape} (labels {contracted}), optionally"
                f" after batch axes; got shape {array.shape}"
            )
        batch = default_labels(n_batch, avoid=self.indices)
        product = contract(self, Tensor(array, batch + contracted), out=batch + kept)
        return product.to_numpy()

    def as_linear_operator(self):
        """A ``scipy.sparse.linalg.LinearOperator`` of shape ``(out.size, in.size)`` on
        flattened (C-order) vectors (a Hessian's: ``(out.size · x.size, x.size)``), for
        ``cg``, ``gmres``, ``lsqr``, ``svds`` ...; its products are :meth:`matvec` and
        :meth:`rmatvec`, so J is never made dense.

        >>> import tensordiff as td
        >>> A = td.jacobian(lambda x: 3.0 * x)(np.ones(4)).as_linear_operator()
        >>> A.shape, A @ np.ones(4)
        ((4, 4), array([3., 3., 3., 3.]))
        """
        try:
            from scipy.sparse.linalg import LinearOperator  # lazy: optional extra
        except ImportError as error:
            raise ImportError(
                "J.as_linear_operator needs the 'scipy' extra: pip install 'tensordiff[scipy]'"
            ) from error
        row_shape, column_shape = self._shape_of(self._rows), self._shape_of(self._columns)
        m, n = math.prod(row_shape), math.prod(column_shape)

        def columns_applied(apply, shape, size):
            # scipy passes a block of vectors as columns; a batch here is leading axes
            return lambda block: apply(np.asarray(block).T.reshape(-1, *shape)).reshape(-1, size).T

        return LinearOperator(
            (m, n),
            matvec=lambda v: self.matvec(np.reshape(v, column_shape)).reshape(m),
            rmatvec=lambda u: self.rmatvec(np.reshape(u, row_shape)).reshape(n),
            matmat=columns_applied(self.matvec, column_shape, m),
            rmatmat=columns_applied(self.rmatvec, row_shape, n),
            dtype=self.dtype,
        )

    def to_scipy_sparse(self, format: str = "csr"):
        """J as a SciPy sparse array of shape ``(out.size, in.size)`` (C-order flattening;
        a Hessian's rows are the gradient's, ``(out.size · x.size, x.size)``),
        built from the structure: each term's deltas give its pattern, so no dense array
        is made. ``format`` is any SciPy sparse format ("csr", "csc", "coo", ...).

        >>> import tensordiff as td
        >>> S = td.jacobian(lambda W: W @ np.arange(3.0))(np.ones((2, 3))).to_scipy_sparse()
        >>> S.shape, S.nnz
        ((2, 6), 6)
        """
        try:
            import scipy.sparse  # lazy: optional extra
        except ImportError as error:
            raise ImportError(
                "J.to_scipy_sparse needs the 'scipy' extra: pip install 'tensordiff[scipy]'"
            ) from error
        shape = (math.prod(self._shape_of(self._rows)), math.prod(self._shape_of(self._columns)))
        if format == "csr" and len(self.terms) == 1:
            arrays = csr_arrays(self.terms[0], len(self._rows), shape[1])
            if arrays is not None:  # every row alike (δ[i,j] x[k]): no row index is made
                values, columns, pointers = arrays
                values = values.astype(self.dtype, copy=False)
                return scipy.sparse.csr_array((values, columns, pointers), shape=shape)
        rows, columns, values = coordinates(self.terms, len(self._rows))
        values = values.astype(self.dtype, copy=False)
        if format == "csr" and len(self.terms) == 1 and np.all(rows[1:] >= rows[:-1]):
            # One term with its output classes first lists its rows in order (the usual
            # case, e.g. δ[i,j] x[k]): the row pointers are read off, no sort or count.
            pointers = np.searchsorted(rows, np.arange(shape[0] + 1))
            return scipy.sparse.csr_array((values, columns, pointers), shape=shape)
        matrix = scipy.sparse.coo_array((values, (rows, columns)), shape=shape)
        if len(self.terms) > 1:
            # Where two terms meet, their values add: converting to CSR sums them in O(nnz)
            # (COO's own sum_duplicates sorts). One term never repeats a position.
            matrix = matrix.tocsr()
        return matrix.asformat(format)

    @property
    def nnz(self) -> int:
        """How many entries of J the structure allows to be nonzero (counted from the
        deltas, without making J dense); the dense size is ``J.size``.

        >>> import tensordiff as td
        >>> td.jacobian(lambda W: W @ np.arange(3.0))(np.ones((200, 3))).nnz
        600
        """
        n_columns = math.prod(self._shape_of(self._columns))
        return structural_nnz(self.terms, len(self._rows), n_columns)

    @property
    def formula(self) -> str:
        """The entries in index notation, e.g. ``∂f[i]/∂W[j,k] = δ[i,j] x[k]``."""
        top = notation.signature(self.numerator, self.out_indices)
        bottom = notation.signature(self.denominator, self.in_indices)
        symbols = notation.symbols_of([self])
        entries = notation.index_notation(self, symbols)
        return notation.with_legend(f"∂{top}/∂{bottom} = {entries}", symbols)

    def __repr__(self) -> str:
        top = notation.signature(self.numerator, self.out_indices)
        bottom = notation.signature(self.denominator, self.in_indices)
        try:
            terms = self.terms
        except StaleStructure:  # (a Jacobian computed as numbers, whose f changed since)
            terms = _HELD_TERMS.__get__(self)
            nonzeros = f"nnz≤{self.size}"
        else:
            # The sparsity is read off the deltas: exact for one term; terms may overlap.
            reached = min(self.size, sum(entries(term) for term in terms))
            nonzeros = f"nnz={reached}" if len(terms) <= 1 else f"nnz≤{reached}"
        stored = sum(term.stored_nbytes for term in terms)
        return (
            f"{type(self).__name__}(∂{top}/∂{bottom}, shape={self.shape}, dtype={self.dtype},"
            f" stored={stored} B of {self.dense_nbytes} B dense, {nonzeros} of {self.size})"
        )


def contract(*tensors: Tensor, out: str | Sequence[str] | None = None) -> Tensor:
    """Multiply tensors and sum over every label that is not in ``out``.

    Labels shared by several tensors are the same index (einsum semantics). With
    ``out=None`` the result keeps the labels that occur exactly once, in order of
    appearance. Deltas are eliminated by relabelling, never by dense products.

    >>> A = Tensor(np.arange(6.0).reshape(2, 3), "ij")
    >>> x = Tensor(np.ones(3), "j")
    >>> y = contract(A, x)
    >>> y.indices, np.asarray(y)
    (('i',), array([ 3., 12.]))
    >>> contract(A, out="ji").shape
    (3, 2)
    """
    if not tensors:
        raise ShapeError("td.contract needs at least one Tensor")
    for position, tensor in enumerate(tensors):
        if not isinstance(tensor, Tensor):
            raise ShapeError(
                f"argument {position} of td.contract is a {type(tensor).__name__}, not a"
                " td.Tensor; wrap arrays as td.Tensor(array, labels) first"
            )
    for tensor in tensors:
        # a gradient computed as plain numbers takes its structure back first, so the
        # result's formula reads as the chain rule (its deltas eliminated), not as numbers
        tensor.structured_terms()
    sizes: dict[str, int] = {}
    counts: dict[str, int] = {}
    for position, tensor in enumerate(tensors):
        for label, size in zip(tensor.indices, tensor.shape, strict=True):
            if sizes.setdefault(label, size) != size:
                raise ShapeError(
                    f"label {label!r} has size {sizes[label]} in one tensor but size {size}"
                    f" in argument {position} (labels {tensor.indices}, shape {tensor.shape})"
                )
            counts[label] = counts.get(label, 0) + 1
    if out is None:
        out_labels = tuple(label for label, count in counts.items() if count == 1)
    else:
        out_labels = _parse_out(out)
        missing = [label for label in out_labels if label not in sizes]
        if missing:
            raise ShapeError(
                f"output labels {missing} occur in no tensor; the inputs have {tuple(sizes)}"
            )
    shape = tuple(sizes[label] for label in out_labels)
    dtype = np.result_type(*(tensor.dtype for tensor in tensors))
    terms = [
        contract_terms(
            [(term, tensor.indices) for term, tensor in zip(combo, tensors, strict=True)],
            out_labels,
        )
        for combo in itertools.product(*(tensor.terms for tensor in tensors))
    ]
    return Tensor._from_terms(add_terms(terms), out_labels, shape, dtype)


def _parse_out(out: str | Sequence[str]) -> tuple[str, ...]:
    labels = tuple(out)
    return parse_labels(out, len(labels), "the output of td.contract")


def slot_names(cls) -> list[str]:
    """Every attribute a Tensor class stores: the slots of it and its bases."""
    return [name for klass in cls.__mro__ for name in getattr(klass, "__slots__", ())]


def _densified(items):
    """``items`` with each Tensor (also inside lists, tuples and dicts) replaced by its
    dense value."""
    return trees.tree_map(
        lambda item: dense_value(item) if isinstance(item, Tensor) else item,
        items,
        is_leaf=lambda item: isinstance(item, Tensor),
    )


def _aligned(other: Tensor, like: Tensor) -> Tensor:
    """``other`` with its axes in the order of ``like``'s labels."""
    if set(other.indices) != set(like.indices):
        raise ShapeError(
            f"cannot add tensors labelled {like.indices} and {other.indices};"
            " relabel one so that both have the same labels"
        )
    if other.indices == like.indices:
        if other.shape != like.shape:
            raise ShapeError(f"cannot add tensors of shapes {like.shape} and {other.shape}")
        return other
    return other.transpose(like.indices)
