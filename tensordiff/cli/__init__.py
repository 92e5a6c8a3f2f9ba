"""The ``tensordiff`` command line: ``demo`` and ``explain``."""

from tensordiff.cli.main import main

__all__ = ["main"]
