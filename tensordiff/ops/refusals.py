"""NumPy functions refused on purpose, each group with its reason.

A function without a rule is refused either way; listing it here turns "no rule
yet" into a documented choice: the error names the reason, and
docs/numpy-coverage.md (generated from the registry) shows it. A function that
gets a rule must leave this table (the registry refuses both at once).
"""

import numpy as np

from tensordiff.trace.registry import refuses

__all__: list[str] = []


def _present(module, *names: str) -> list:
    """The functions of ``module`` by name, skipping those this NumPy does not have."""
    return [getattr(module, name) for name in names if hasattr(module, name)]


REASONS = {
    "it works on the bits of integers, which have no derivative": _present(
        np,
        "bitwise_and",
        "bitwise_or",
        "bitwise_xor",
        "bitwise_not",
        "bitwise_invert",
        "bitwise_count",
        "bitwise_left_shift",
        "bitwise_right_shift",
        "invert",
        "left_shift",
        "right_shift",
        "gcd",
        "lcm",
        "packbits",
        "unpackbits",
        "ravel_multi_index",
        "unravel_index",
    ),
    "it splits a float into its binary representation (mantissa, exponent, neighbours);"
    " the pieces are not smooth functions of the value": _present(
        np, "frexp", "spacing", "nextafter"
    ),
    "its value or derivative is complex (phases, complex roots), and tensordiff"
    " differentiates real arrays": _present(np, "angle", "real_if_close", "sort_complex", "roots"),
    "its result is complex (a Fourier transform), and tensordiff differentiates real arrays;"
    " for a real signal x of length N, write the transform's real and imaginary parts as"
    " matrix products: k = np.arange(N); re = np.cos(2 * np.pi * np.outer(k, k) / N) @ x,"
    " im = -np.sin(2 * np.pi * np.outer(k, k) / N) @ x": _present(
        np.fft, "fft", "ifft", "fft2", "ifft2", "fftn", "ifftn", "rfft", "rfft2", "rfftn", "ihfft"
    ),
    "it reads its argument as a complex (Hermitian) spectrum, and tensordiff differentiates"
    " real arrays; write the inverse transform as real matrix products (np.cos and np.sin of"
    " 2π k n / N times the real and imaginary parts)": _present(
        np.fft, "irfft", "irfft2", "irfftn", "hfft"
    ),
    "its result's size depends on the values (a set of distinct values), so no Jacobian of"
    " fixed shape exists": _present(
        np,
        "unique",
        "unique_all",
        "unique_counts",
        "unique_inverse",
        "unique_values",
        "intersect1d",
        "union1d",
        "setdiff1d",
        "setxor1d",
        "trim_zeros",
    ),
    "it counts values into bins: piecewise constant, with jumps at the bin edges": _present(
        np, "histogram", "histogram2d", "histogramdd", "histogram_bin_edges"
    ),
    "it calls a Python function per slice or piece; write the function with whole-array"
    " NumPy operations (broadcasting, np.where)": _present(
        np, "apply_along_axis", "apply_over_axes", "piecewise"
    ),
    "it writes text or files; convert or save the result after the call": _present(
        np,
        "array2string",
        "array_repr",
        "array_str",
        "save",
        "savetxt",
        "savez",
        "savez_compressed",
        "datetime_as_string",
    ),
    "it works on dates (datetime64), not real numbers": _present(
        np, "busday_count", "busday_offset", "is_busday", "isnat"
    ),
    "it asks about memory or dtypes, which a traced value does not have while f runs; ask"
    " about the inputs outside f": _present(
        np, "may_share_memory", "shares_memory", "can_cast", "common_type", "min_scalar_type"
    ),
    "its result is an integer of the values (a rank), with no derivative": _present(
        np.linalg, "matrix_rank"
    ),
    "it builds index arrays, and indices must be constants; build them outside f": _present(
        np, "ix_"
    ),
}

for _reason, _functions in REASONS.items():
    refuses(_reason, *_functions)
