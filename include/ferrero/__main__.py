"""`python -m include.ferrero ...` is the administrators' command line (include/ferrero/cli.py)."""

from __future__ import annotations

import sys

from include.ferrero.cli import main

sys.exit(main())
