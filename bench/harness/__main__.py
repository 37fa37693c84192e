"""Entry point: ``python -m bench.harness``."""

from __future__ import annotations

import sys

from bench.harness.cli import main

sys.exit(main())
