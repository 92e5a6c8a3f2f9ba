"""A one-line text progress bar for long writes, on a terminal only (no dependency)."""

import sys
import time

from tensordiff.errors import format_bytes

__all__ = ["Progress"]

# Redraw at most this often: a write of many small chunks must not spend its time drawing.
_REDRAW_SECONDS = 0.2


class Progress:
    """``with Progress("J → zarr", total_bytes, enabled) as bar: bar.advance(nbytes)``.

    ``enabled`` None shows the bar only when ``stream`` (stderr) is a terminal.

    >>> import io
    >>> stream = io.StringIO()
    >>> with Progress("J → zarr", 2048, True, stream=stream) as bar:
    ...     bar.advance(1024)
    ...     bar.advance(1024)
    >>> stream.getvalue().rsplit("\\r", 1)[-1].split(",")[0]
    'J → zarr: 100% (2 KiB of 2 KiB'
    """

    def __init__(self, what: str, total_bytes: int, enabled=None, stream=None):
        self.stream = sys.stderr if stream is None else stream
        if enabled is None:
            enabled = bool(getattr(self.stream, "isatty", lambda: False)())
        self.enabled = bool(enabled)
        self.what, self.total, self.done = what, total_bytes, 0
        self.started = self.drawn = time.monotonic()

    def __enter__(self) -> "Progress":
        return self

    def advance(self, nbytes: int) -> None:
        self.done += nbytes
        now = time.monotonic()
        if self.enabled and (now - self.drawn >= _REDRAW_SECONDS or self.done >= self.total):
            self.drawn = now
            self._draw(now)

    def _draw(self, now: float) -> None:
        share = self.done / self.total if self.total else 1.0
        self.stream.write(
            f"\r{self.what}: {share:4.0%} ({format_bytes(self.done)} of"
            f" {format_bytes(self.total)}, {now - self.started:.0f} s)"
        )
        self.stream.flush()

    def __exit__(self, *exc) -> None:
        if self.enabled:
            self.stream.write("\n")
            self.stream.flush()
