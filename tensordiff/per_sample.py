"""Per-sample Jacobians: ``batch=`` (``jax.vmap``'s ``in_axes``) and ``batch_out=`` (its
``out_axes``) of ``td.jacobian``, ``td.grad`` and their ``value_and_`` forms.

``f`` is written for the whole batch. Where output sample b depends only on
sample b of each batched argument, a Kronecker delta joins the two sample axes
of the full Jacobian, and the per-sample Jacobians are its diagonal: taking it
drops one axis of the delta, and nothing is computed. An argument given no
sample axis (``None``) is shared by every sample: its per-sample Jacobians are
the full Jacobian as it is (each output sample against the whole argument).

The axes of each leaf come from a *prefix* of the arguments' trees, as in
``jax.vmap``: an int or None for a whole argument (every leaf in it), or a
dict / list / tuple matching the argument's nesting down to where ints and
Nones take over.

>>> axes_of_leaves({"W": None, "b": 0}, {"W": np.ones((2, 3)), "b": np.ones((4, 2))}, "x")
[None, 0]
"""

import numpy as np

from tensordiff.core import trees
from tensordiff.core.options import is_integer
from tensordiff.core.term import joined
from tensordiff.errors import OptionError, ShapeError
from tensordiff.tensor import Jacobian, Tensor

__all__ = ["check_spec", "in_axes", "axes_of_leaves", "per_sample_table"]


def check_spec(spec, what: str) -> None:
    """Refuse anything but an int, None, or a dict / list / tuple of those (nested)."""
    if spec is None or is_integer(spec):
        return
    if isinstance(spec, dict):
        for value in spec.values():
            check_spec(value, what)
        return
    if isinstance(spec, (list, tuple)):
        for value in spec:
            check_spec(value, what)
        return
    raise OptionError(
        f"{what} takes an int (an axis), None (no sample axis) or a dict / list / tuple of"
        f" them matching the arguments' nesting, as jax.vmap's in_axes; got {spec!r}"
    )


def in_axes(batch, n_args: int, positions) -> list:
    """The axes spec of each positional argument: an int ``batch`` is the sample axis of
    each differentiated argument (the others are passed whole); a tuple has one entry per
    positional argument (as jax.vmap's ``in_axes``)."""
    if not isinstance(batch, tuple):
        return [batch if position in positions else None for position in range(n_args)]
    if len(batch) != n_args:
        raise OptionError(
            f"batch={batch!r} has {len(batch)} entries but f was called with {n_args}"
            " positional arguments; give one entry (an axis, None, or a tree of them) per"
            " argument, or one int for every differentiated argument"
        )
    if all(leaf is None for leaf in _spec_leaves(batch)):
        raise OptionError(
            f"batch={batch!r} gives no argument a sample axis; at least one entry must be"
            " an axis (None marks an argument shared by every sample)"
        )
    return list(batch)


def _spec_leaves(spec):
    if isinstance(spec, dict):
        spec = list(spec.values())
    if isinstance(spec, (list, tuple)):
        return [leaf for item in spec for leaf in _spec_leaves(item)]
    return [spec]


def axes_of_leaves(spec, tree, what: str) -> list:
    """The sample axis (or None) of each leaf of ``tree``, in tree order: ``spec`` is a
    prefix of ``tree`` (an int or None applies to every leaf below it)."""
    if spec is None or is_integer(spec):
        return [spec] * sum(1 for _ in trees.leaves(tree))
    if isinstance(spec, dict) and isinstance(tree, dict) and set(spec) == set(tree):
        return [
            axis for key in trees.keys(tree) for axis in axes_of_leaves(spec[key], tree[key], what)
        ]
    same_sequence = (
        isinstance(spec, (list, tuple)) and type(spec) is type(tree) and len(spec) == len(tree)
    )
    if same_sequence:
        return [
            axis
            for item_spec, item in zip(spec, tree, strict=True)
            for axis in axes_of_leaves(item_spec, item, what)
        ]
    raise OptionError(
        f"the sample axes {spec!r} do not match the nesting of {what}"
        f" ({_described(tree)}); give an int or None for it, or a {type(tree).__name__}"
        " of them shaped like it (a prefix of its tree, as jax.vmap's in_axes)"
    )


def _described(tree) -> str:
    if isinstance(tree, dict):
        return f"a dict with keys {sorted(tree, key=repr)}"
    if isinstance(tree, (list, tuple)):
        return f"a {type(tree).__name__} of {len(tree)} items"
    return "an array"


def _normalised(axis, shape, what: str, option: str) -> int | None:
    if axis is None:
        return None
    if not -len(shape) <= axis < len(shape):
        raise ShapeError(
            f"{option}: {what} has shape {shape}, which has no axis {axis} to index samples"
        )
    return axis % len(shape)


def per_sample_table(call, table, batch, batch_out, args) -> list[list]:
    """``table`` (see :func:`tensordiff.differentiate.differentiate`) with each Jacobian
    replaced by its per-sample Jacobians: the sample axis stays where ``batch_out`` puts it
    among the output's axes, the argument's sample axis is gone.

    Checks that every sample axis (of the outputs, of the differentiated arguments and,
    when ``batch`` is a tuple, of the other arguments too) has the same size, and that
    ``f`` does not mix samples (a delta must join each pair of sample axes).
    """
    specs = in_axes(batch, len(args), call.positions)
    option = f"batch={batch!r}"
    samples = {}  # "where" -> number of samples, to name the culprit when they differ
    leaf_axes = {}
    for position, spec in enumerate(specs):
        tree = call.input_skeletons.get(position, args[position])
        paths = [path for path, _ in trees.leaves_with_paths(tree)]
        if position in call.inputs:
            shapes = [leaf.shape for leaf in call.inputs[position]]
        else:
            shapes = [np.shape(leaf) for leaf in trees.leaves(tree)]
        axes = axes_of_leaves(spec, tree, f"argument {position}")
        leaf_axes[position] = []
        for axis, shape, path in zip(axes, shapes, paths, strict=True):
            where = f"argument {position}" + "".join(f"[{key!r}]" for key in path)
            axis = _normalised(axis, shape, where, option)
            if axis is not None:
                samples[f"{where} (axis {axis})"] = shape[axis]
            leaf_axes[position].append(axis)
    out_axes = axes_of_leaves(batch_out, call.output_skeleton, "the output")
    if None in out_axes:
        raise OptionError(
            f"batch_out={batch_out!r}: every output needs a sample axis (None would mean an"
            " output that is the same for every sample)"
        )
    out_axes = [
        _normalised(axis, output.shape, f"output {output.name}", f"batch_out={batch_out!r}")
        for axis, output in zip(out_axes, call.outputs, strict=True)
    ]
    for axis, output in zip(out_axes, call.outputs, strict=True):
        samples[f"output {output.name} (axis {axis})"] = output.shape[axis]
    if len(set(samples.values())) > 1:
        listed = ", ".join(f"{where}: {n}" for where, n in samples.items())
        raise ShapeError(
            f"{option}, batch_out={batch_out!r}: the sample axes differ in size ({listed});"
            " mark shared arguments None in batch=, and the output's sample axis with"
            " batch_out="
        )
    return [
        [
            _per_sample_tree(jacobians, leaf_axes[position], out_axis, option)
            for position, jacobians in zip(call.positions, row, strict=True)
        ]
        for out_axis, row in zip(out_axes, table, strict=True)
    ]


def _per_sample_tree(jacobians, in_axes_of_leaves, out_axis: int, option: str):
    found, skeleton = trees.flatten(jacobians, is_leaf=lambda node: isinstance(node, Tensor))
    return trees.unflatten(
        skeleton,
        [
            _per_sample(J, out_axis, in_axis, option)
            for J, in_axis in zip(found, in_axes_of_leaves, strict=True)
        ],
    )


def _per_sample(J: Jacobian, out_axis: int, in_axis: int | None, option: str) -> Jacobian:
    """The per-sample Jacobians in ``J``: the diagonal of its two sample axes, kept at the
    output's sample axis (``J`` itself for a shared argument)."""
    if in_axis is None:
        return J
    n_out = len(J.out_indices)
    position = n_out + in_axis
    if not all(joined(term, out_axis, position) for term in J.terms):
        raise ShapeError(
            f"{option}: sample b of {J.numerator} depends on other samples of"
            f" {J.denominator} than b (f mixes the samples, e.g. a mean over the batch), so"
            " the per-sample Jacobians are not the full Jacobian's diagonal; use the full"
            " td.jacobian (or J.diagonal(...) if the diagonal is what you want), or check"
            " that batch_out= names the output's sample axis"
        )
    diagonal = J.diagonal(out_axis, position)  # labelled as the output's sample axis
    kept_in = J.in_indices[:in_axis] + J.in_indices[in_axis + 1 :]
    return Jacobian._from_tensor(
        diagonal.transpose(J.out_indices + kept_in), n_out, J.numerator, J.denominator
    )
