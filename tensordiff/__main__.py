"""``python -m tensordiff``: the command line."""

import sys

from tensordiff.cli import main

sys.exit(main())
