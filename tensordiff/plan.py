"""``td.plan``: what each order of the chain rule costs, and which one ``auto`` takes.

Forward order multiplies the local Jacobians from the argument outward,
reverse order from the output back (backpropagation); "optimal" links the
whole network and lets opt_einsum's dynamic program choose the order, with
deltas eliminated first (they cost nothing) and diagonal factors costing
their diagonal. FLOPs (as opt_einsum counts them: a multiply-add is 2) and the
largest intermediate are *predicted*, exactly, without doing the arithmetic:
``f`` is traced once and each order's chain rule and dense write are run dry
(planned and counted, not computed; see :func:`tensordiff.core.paths.dry_run`).
With ``measure=True`` each order is also run for real, adding its peak memory
and time. The chosen order's contraction sequence is listed step by step.
"""

import collections
import functools
import math
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import opt_einsum

from tensordiff.chain_rule import accumulate, by_vector_jacobian_products
from tensordiff.core import dense, memory, paths, templates
from tensordiff.differentiate import TracedCall, differentiate, trace_call
from tensordiff.errors import JacobianTooLarge, OptionError, format_bytes
from tensordiff.plot import plan_figure

__all__ = ["plan", "predict", "Plan"]

ORDERS = ("forward", "reverse", "optimal")


@dataclass
class Plan:
    """The cost of each contraction order for one Jacobian, and the order ``auto`` chooses."""

    shape: tuple[int, ...]
    costs: dict[str, dict] = field(default_factory=dict)
    chosen: str = "optimal"
    sequence: list[str] = field(default_factory=list)
    # per term of the optimal order: {"leaves": factor names, "steps": [{"operands",
    # "einsum", "flops", "size"}]} (opt_einsum's steps, each appending its result)
    trees: list[dict] = field(default_factory=list)
    measured: bool = False  # costs include peak memory and time (plan(..., measure=True))

    def to_dict(self) -> dict:
        return {
            "shape": list(self.shape),
            "costs": self.costs,
            "chosen": self.chosen,
            "sequence": self.sequence,
            "trees": self.trees,
            "measured": self.measured,
        }

    def __str__(self) -> str:
        return self.table(timings=self.measured)

    def plot(self):
        """A matplotlib Figure: the chosen order's contraction tree with each step's cost,
        beside the FLOPs of every order (needs the ``plot`` extra)."""
        return plan_figure(self)

    def table(self, timings: bool | None = None) -> str:
        """The report; the measured, machine-dependent columns when ``timings`` (default:
        when this plan was measured)."""
        timings = self.measured if timings is None else timings
        if timings and not self.measured:
            raise OptionError("this plan was predicted, not measured: use td.plan(f, measure=True)")
        header = f"  {'order':<9} {'FLOPs':>14} {'largest intermediate':>28}"
        if timings:
            header += f" {'peak memory':>12} {'time':>11}"
        lines = [
            f"Contraction orders for a Jacobian of shape {self.shape}"
            " (FLOPs count a multiply-add as 2):",
            header,
        ]
        for order, cost in self.costs.items():
            if cost["over_limit"]:
                lines.append(f"  {order:<9} {'(an intermediate is over the memory limit)':>43}")
                continue
            row = f"  {order:<9} {cost['flops']:>14,} {cost['largest_intermediate']:>20,} entries"
            if timings:
                row += f" {format_bytes(cost['peak_bytes']):>12} {cost['seconds'] * 1e3:>8.2f} ms"
            lines.append(row + ("  ← chosen by mode='auto'" if order == self.chosen else ""))
        if self.sequence:
            lines.append(f"  {self.chosen} order, step by step (opt_einsum, letters per term):")
            lines += [f"    {step}" for step in self.sequence]
        elif self.chosen == "reverse":
            lines.append(
                "  reverse order for a scalar: backpropagation, one vector–Jacobian product"
                " per operation"
            )
        return "\n".join(lines)


def plan(
    f: Callable, argnums: int = 0, memory_limit: int | None = None, measure: bool = False
) -> Callable:
    """The function reporting the cost of forward, reverse and optimal order for ∂f/∂args[argnums].

    FLOPs and the largest intermediate of each order are predicted without computing
    the Jacobian; ``measure=True`` also runs each order once, adding peak memory and
    time. With ``memory_limit`` (bytes; default :func:`tensordiff.get_memory_limit`),
    the chosen order is the cheapest whose intermediates fit, and
    ``td.JacobianTooLarge`` is raised before any arithmetic if none does.

    >>> W, x = np.ones((30, 2)), np.ones(2)
    >>> report = plan(lambda W: np.tanh(W @ x))(W)
    >>> sorted(report.costs), report.chosen
    (['forward', 'optimal', 'reverse'], 'optimal')
    >>> report.costs["reverse"]["flops"] >= report.costs["optimal"]["flops"]
    True
    """
    if not isinstance(measure, bool):
        raise OptionError(f"measure must be True or False, got {measure!r}")

    @functools.wraps(f)
    def plan_of_f(*args, **kwargs):
        limit = memory_limit if memory_limit is not None else memory.get_memory_limit()
        with memory.memory_limit(limit):
            call = trace_call(f, (argnums,), args, kwargs)
            return predict(call, f, argnums, args, kwargs, measure)

    return plan_of_f


def predict(call: TracedCall, f, argnums: int, args, kwargs, measure: bool = False) -> Plan:
    """The cost report of ∂f/∂args[argnums] from ``call``, one traced call of ``f``
    (``td.explain`` passes the call it explains, so ``f`` is traced only once); ``f``,
    ``args`` and ``kwargs`` are called again only to measure."""
    shape = call.output_shape + call.leaves[0].shape
    if measure:
        memory.check_dense(shape, call.dtype)  # each order writes the result
    optimal, terms = _dry(call, "optimal")  # raises JacobianTooLarge if no order fits
    if by_vector_jacobian_products("auto", call.output_shape):  # a scalar: backpropagation
        result = Plan(shape, chosen="reverse", measured=measure)
    else:
        sequence, trees = _steps(terms)
        result = Plan(shape, sequence=sequence, trees=trees, measured=measure)
    for order in ORDERS:
        result.costs[order] = optimal if order == "optimal" else _dry(call, order)[0]
        if measure and not result.costs[order]["over_limit"]:
            result.costs[order].update(_measure(f, argnums, order, args, kwargs))
    return result


def _dry(call: TracedCall, order: str) -> tuple[dict, tuple]:
    """FLOPs and the largest intermediate of one order's chain rule and dense write,
    counted on a dry run (nothing computed), and the terms it left to write."""
    leaf = call.leaves[0]
    try:
        with paths.metered() as meter, paths.dry_run():
            terms = accumulate(call.output, call.output_shape, [leaf], order)[leaf]
            dense.count_write(terms)
    except JacobianTooLarge:  # this order forms an intermediate over the limit
        if order == "optimal":
            raise
        return {"over_limit": True, "flops": None, "largest_intermediate": None}, ()
    cost = {key: meter[key] for key in ("flops", "largest_intermediate")}
    return {"over_limit": False, **cost}, terms


def _steps(terms) -> tuple[list[str], list[dict]]:
    """opt_einsum's pairwise steps for the terms' remaining products (letters per term),
    and for each term the contraction tree: its factors and each step with its cost."""
    steps, trees = [], []
    for term in terms:
        if len(term.factors) < 2:
            continue
        keep = term.core_classes()
        equation = paths.equation_for([classes for _, classes in term.factors], keep)
        _, info = paths.path_info(equation, tuple(np.shape(a) for a, _ in term.factors))
        steps += [f"{contraction[2]}" for contraction in info.contraction_list]
        trees.append(_tree(term, equation, info))
    return steps, trees


def _tree(term, equation: str, info) -> dict:
    """The factors (named over the equation's letters) and opt_einsum's steps: which of
    the operands left each step takes (it appends its result), its FLOPs and size."""
    letters = {}
    operands = equation.split("->")[0].split(",")
    for (_, classes), subscripts in zip(term.factors, operands, strict=True):
        letters.update(zip(classes, subscripts, strict=True))
    inner = collections.defaultdict(lambda: "·", letters)  # classes summed inside a name
    leaves = [templates.render(name, inner) for name in term.factor_names()]
    steps = []
    for taken, removed, step, _, _ in info.contraction_list:
        inputs, output = step.split("->")
        step_flops = opt_einsum.helpers.flop_count(
            set(inputs) - {","}, bool(removed), len(taken), info.size_dict
        )
        size = math.prod(info.size_dict[letter] for letter in output)
        steps.append({"operands": list(taken), "einsum": step, "flops": step_flops, "size": size})
    return {"leaves": leaves, "steps": steps}


def _measure(f, argnums, order, args, kwargs) -> dict:
    """Peak memory and time of computing the dense Jacobian in ``order`` once."""
    tracemalloc.start()
    start = time.perf_counter()
    try:
        np.asarray(differentiate(f, (argnums,), args, kwargs, None, (None,), order)[1][0][0])
        seconds = time.perf_counter() - start
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return {"peak_bytes": peak, "seconds": seconds}
