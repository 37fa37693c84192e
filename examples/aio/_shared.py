"""The helpers of ``examples/_common.py``, for the asyncio programs of this directory.

Python puts the directory of the script it runs (``examples/aio/``) on ``sys.path``; this
module adds ``examples/`` too, so that both kinds of example share one ``_common``.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _common import aconnect, ascratch, parser, target, text

__all__ = ["aconnect", "ascratch", "parser", "target", "text"]
