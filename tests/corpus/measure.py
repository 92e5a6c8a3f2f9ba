"""Measure the wild corpus (tests/corpus/wild.py): how many programs tensordiff
differentiates correctly, refuses with its own error, gets wrong, or fails on with
another error.

    PYTHONPATH=$PWD python -m tests.corpus.measure [-v]

The reference is JAX's Jacobian of the same program on jax.numpy; where JAX cannot run
the program (item assignment into an array, a boolean mask of traced values, a Python
branch), central differences of the NumPy program.
"""

import argparse
import collections
import sys
import zlib

import numpy as np

import tensordiff as td

try:  # run as python -m tests.corpus.measure, or imported by the tests
    from .wild import BUILDS, WILD
except ImportError:
    from corpus.wild import BUILDS, WILD

__all__ = ["input_for", "reference", "agrees", "outcome"]


def input_for(name):
    """The program's input, drawn from its range with a seed from its name."""
    _, shape, low, high = WILD[name]
    return np.random.default_rng(zlib.crc32(name.encode())).uniform(low, high, size=shape)


def _jax():
    import jax

    jax.config.update("jax_enable_x64", True)
    jax.config.update("jax_platforms", "cpu")
    return jax


def _jax_jacobian(f, x):
    jax = _jax()
    return np.asarray(jax.jacobian(lambda x: f(jax.numpy, x))(jax.numpy.asarray(x)))


def _central_differences(f, x, h=1e-6):
    y = np.asarray(f(np, x), dtype=float)
    J = np.empty(y.shape + x.shape)
    for index in np.ndindex(x.shape):
        step = np.zeros_like(x)
        step[index] = h
        J[(...,) + index] = (np.asarray(f(np, x + step)) - np.asarray(f(np, x - step))) / (2 * h)
    return J


def reference(name):
    """(Jacobian, 'jax' or 'differences') for the program ``name``: JAX's, unless JAX
    cannot run it or runs another function (``y.sort()`` sorts a NumPy array in place but
    returns a sorted copy of a JAX one, leaving ``y`` as it was)."""
    f = WILD[name][0]
    x = input_for(name)
    try:
        if _same_values(f, x):
            return _jax_jacobian(f, x), "jax"
    except Exception:  # JAX cannot trace it (in-place writes, data-dependent shapes)
        pass
    return _central_differences(f, x), "differences"


def _same_values(f, x) -> bool:
    """Whether the program computes the same numbers on jax.numpy as on NumPy."""
    jax = _jax()
    ours = np.asarray(f(np, x.copy()), dtype=float)
    theirs = np.asarray(f(jax.numpy, jax.numpy.asarray(x)), dtype=float)
    return ours.shape == theirs.shape and np.allclose(ours, theirs, rtol=1e-9, equal_nan=True)


def agrees(ours, theirs, source):
    """Whether tensordiff's Jacobian ``ours`` matches the reference."""
    if ours.shape != theirs.shape:
        return False
    rtol, atol = (1e-9, 1e-11) if source == "jax" else (1e-5, 1e-6)
    return np.allclose(ours, theirs, rtol=rtol, atol=atol, equal_nan=True)


def outcome(name):
    """('correct' | 'refused' | 'wrong' | 'error', detail) for the program ``name``."""
    f = WILD[name][0]
    x = input_for(name)
    try:
        ours = np.asarray(td.jacobian(lambda x: f(np, x))(x))
    except td.TensorDiffError as e:
        return "refused", f"{type(e).__name__}: {str(e).splitlines()[0][:150]}"
    except Exception as e:
        return "error", f"{type(e).__name__}: {str(e).splitlines()[0][:150] if str(e) else ''}"
    theirs, source = reference(name)
    if agrees(ours, theirs, source):
        return "correct", source
    return "wrong", f"against {source}: max |Δ| {np.max(np.abs(ours - theirs)):.3g}"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-v", "--verbose", action="store_true", help="one line per program")
    args = parser.parse_args(argv)
    counts = {"other": collections.Counter(), "builds": collections.Counter()}
    for name in sorted(WILD):
        kind, detail = outcome(name)
        group = "builds" if name in BUILDS else "other"
        counts[group][kind] += 1
        if args.verbose or kind != "correct":
            print(f"{group:6} {kind:8} {name}: {detail}")
    for group, counter in counts.items():
        total = sum(counter.values())
        rates = ", ".join(
            f"{k} {counter[k]} ({100 * counter[k] / total:.1f} %)"
            for k in ("correct", "refused", "wrong", "error")
        )
        print(f"{group}: {total} programs: {rates}")
    both = counts["other"] + counts["builds"]
    print(
        f"all: {sum(both.values())} programs, {both['correct']} correct "
        f"({100 * both['correct'] / sum(both.values()):.1f} %)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
