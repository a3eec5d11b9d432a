"""Codec tests: make the shared helper modules here importable.

``codec_strategies`` (Hypothesis strategies, ``KAFFE_CODEC_EXAMPLES`` scaling) and
``hostile_inputs`` (hostile batches and decompression bombs, also runnable as a script) live next
to the tests. pytest's default import mode already puts this directory on ``sys.path``; doing it
here too keeps the imports working under ``--import-mode=importlib``.
"""

from __future__ import annotations

import sys
from pathlib import Path

_HERE = str(Path(__file__).resolve().parent)
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)
