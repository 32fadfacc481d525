"""Seeds: the search's one --seed, turned into an independent seed for each use.

The validation split and the cross-validation folds use --seed itself. The tuner's choices and each
trial's training (initial weights, dropout, shuffling) get seeds derived from it, so that a trial trains
the same way whichever worker runs it, in whatever order, and again when it is rerun after a crash.
"""

from __future__ import annotations

import hashlib


def derived_seed(seed: int, *purpose: object) -> int:
    """A seed for one use of `seed` (e.g. `derived_seed(0, "trial", "07")`), in 1..2**31-1.

    Never 0: keras-tuner's oracles take seed 0 for "no seed" and draw a random one (engine/oracle.py:350).
    """
    text = ":".join(str(part) for part in (seed, *purpose))
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big") % (2**31 - 1) + 1
