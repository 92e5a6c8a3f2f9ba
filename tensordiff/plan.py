"""``td.plan``: what each order of the chain rule costs, and which one ``auto`` takes.

Forward order multiplies the local Jacobians from the argument outward,
reverse order from the output back (backpropagation); "optimal" links the
whole network and lets opt_einsum's dynamic program choose the order, with
deltas eliminated first (they cost nothing) and diagonal factors costing
their diagonal. The report runs each order once and measures FLOPs (as
opt_einsum counts them: a multiply-add is 2), the largest intermediate, peak
memory and time; the chosen order's contraction sequence is listed step by step.
"""

import functools
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from tensordiff.core import memory, paths
from tensordiff.differentiate import differentiate
from tensordiff.errors import JacobianTooLarge, format_bytes

__all__ = ["plan", "Plan"]

ORDERS = ("forward", "reverse", "optimal")


@dataclass
class Plan:
    """The cost of each contraction order for one Jacobian, and the order ``auto`` chooses."""

    shape: tuple[int, ...]
    costs: dict[str, dict] = field(default_factory=dict)
    chosen: str = "optimal"
    sequence: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {
            "shape": list(self.shape),
            "costs": self.costs,
            "chosen": self.chosen,
            "sequence": self.sequence,
        }

    def __str__(self) -> str:
        return self.table(timings=True)

    def table(self, timings: bool = True) -> str:
        """The report; ``timings=False`` leaves out the machine-dependent columns."""
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
        return "\n".join(lines)


def plan(f: Callable, argnums: int = 0, memory_limit: int | None = None) -> Callable:
    """The function reporting the cost of forward, reverse and optimal order for ∂f/∂args[argnums].

    With ``memory_limit`` (bytes; default :func:`tensordiff.get_memory_limit`), the
    chosen order is the cheapest whose intermediates fit, and ``td.JacobianTooLarge``
    is raised before any arithmetic if none does.

    >>> W, x = np.ones((30, 2)), np.ones(2)
    >>> report = plan(lambda W: np.tanh(W @ x))(W)
    >>> sorted(report.costs), report.chosen
    (['forward', 'optimal', 'reverse'], 'optimal')
    """

    @functools.wraps(f)
    def plan_of_f(*args, **kwargs):
        limit = memory_limit if memory_limit is not None else memory.get_memory_limit()
        with memory.memory_limit(limit):
            lazy = _jacobian(f, argnums, "optimal", args, kwargs)
            memory.check_dense(lazy.shape, lazy.dtype)  # each order writes the result
            predicted = _predicted(lazy)  # raises JacobianTooLarge if no order fits
            result = Plan(tuple(lazy.shape), sequence=predicted["sequence"])
            for order in ORDERS:
                result.costs[order] = _measure(f, argnums, order, args, kwargs)
        result.costs["optimal"]["predicted_flops"] = predicted["flops"]
        return result

    return plan_of_f


def _jacobian(f, argnums: int, mode: str, args, kwargs):
    return differentiate(f, (argnums,), args, kwargs, None, (None,), mode)[1][0][0]


def _predicted(J) -> dict:
    """FLOPs, largest intermediate and steps of evaluating a lazy Jacobian (no arithmetic)."""
    flops, largest, steps = 0, int(np.prod(J.shape, dtype=np.int64)), []
    for term in J.terms:
        if len(term.factors) < 2:
            continue
        keep = term.core_classes()
        equation = paths.equation_for([classes for _, classes in term.factors], keep)
        _, info = paths.path_info(equation, tuple(np.shape(a) for a, _ in term.factors))
        flops += int(info.opt_cost)
        largest = max(largest, int(info.largest_intermediate))
        steps += [f"{contraction[2]}" for contraction in info.contraction_list]
    return {"flops": flops, "largest_intermediate": largest, "sequence": steps}


def _measure(f, argnums, order, args, kwargs) -> dict:
    tracemalloc.start()
    start = time.perf_counter()
    try:
        with paths.metered() as meter:
            np.asarray(_jacobian(f, argnums, order, args, kwargs))
        seconds = time.perf_counter() - start
        _, peak = tracemalloc.get_traced_memory()
    except JacobianTooLarge:  # this order forms an intermediate over the limit
        return {"over_limit": True, "flops": None, "largest_intermediate": None}
    finally:
        tracemalloc.stop()
    return {
        "over_limit": False,
        "flops": meter["flops"],
        "largest_intermediate": meter["largest_intermediate"],
        "peak_bytes": peak,
        "seconds": seconds,
    }
