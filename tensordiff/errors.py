"""The errors tensordiff raises on purpose.

Every one derives from :class:`TensorDiffError`, and also from the built-in
exception a user would expect (``ValueError`` for shapes, ``TypeError`` for an
operation or dtype it cannot handle, ``MemoryError`` for a dense result that
does not fit), so ``except ValueError`` keeps working in user code.
"""

__all__ = [
    "TensorDiffError",
    "ShapeError",
    "OptionError",
    "UnsupportedOperationError",
    "UnsupportedDTypeError",
    "TraceLeakError",
    "TraceAttributeError",
    "JacobianTooLarge",
    "BlockIndexError",
    "StaleStructure",
]


class TensorDiffError(Exception):
    """Base class of every error tensordiff raises on purpose."""


class ShapeError(TensorDiffError, ValueError):
    """Shapes or labels that do not fit together."""


class OptionError(TensorDiffError, ValueError):
    """An option with a value tensordiff does not accept (a mode, a limit, ...)."""


class UnsupportedOperationError(TensorDiffError, TypeError):
    """A NumPy call on a traced value that tensordiff cannot differentiate."""

    @classmethod
    def for_function(
        cls, name: str, detail: str = "", package: str = "numpy"
    ) -> "UnsupportedOperationError":
        """The error for ``numpy.<name>`` (or ``<package>.<name>``) reached with a traced
        argument."""
        message = f"tensordiff cannot differentiate {package}.{name}"
        if detail:
            message += f": {detail}"
        message += (
            ".\n  Rewrite it with supported operations (see `tensordiff.supported_operations()`),"
            " or compute it outside the differentiated function."
        )
        return cls(message)


class UnsupportedDTypeError(TensorDiffError, TypeError):
    """An argument whose dtype tensordiff does not differentiate (complex, object, ...)."""


class TraceLeakError(TensorDiffError, TypeError):
    """A traced value was turned into plain numbers, which would drop its derivative."""


class TraceAttributeError(TraceLeakError, AttributeError):
    """An ndarray attribute that describes memory (``x.strides``), read on a traced value.

    Also an AttributeError, so ``hasattr(x, "strides")`` in other libraries stays False.
    """


class BlockIndexError(TensorDiffError, IndexError):
    """An index that does not fit a tensor's shape (``J[5]`` of an axis of size 3)."""


class JacobianTooLarge(TensorDiffError, MemoryError):
    """A dense array was requested that is larger than the memory limit."""

    @classmethod
    def for_shape(cls, shape: tuple, itemsize: int, limit: int) -> "JacobianTooLarge":
        """The error for materialising an array of ``shape`` over ``limit`` bytes."""
        nbytes = itemsize
        for size in shape:
            nbytes *= size
        return cls(
            f"the dense array of shape {tuple(shape)} needs {format_bytes(nbytes)}"
            f" ({nbytes} bytes), over the limit of {format_bytes(limit)}.\n"
            "  Contract it with td.contract(...) instead of materialising it, or raise the"
            " limit with td.set_memory_limit(nbytes)."
        )


def format_bytes(nbytes: int) -> str:
    """A byte count for people: ``3.5 MiB``."""
    value = float(nbytes)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if value < 1024 or unit == "PiB":
            return f"{value:.3g} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


class StaleStructure(TensorDiffError, RuntimeError):
    """A Jacobian computed as numbers cannot show its structure (formula, blocks,
    sparsity): calling ``f`` again to work it out gives other derivatives, because an
    argument or an array ``f`` reads changed since the call."""
