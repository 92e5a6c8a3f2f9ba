"""The ``tensordiff`` command line: ``demo``, ``explain`` and ``serve``."""

from tensordiff.cli.main import main

__all__ = ["main"]
