"""The NumPy side's random number generator, seeded like ``torch.manual_seed``.

Layers draw their initial weights (and, later, dropout masks) from one
module-level generator, so ``manual_seed(0)`` followed by building a model
always gives the same model, as in PyTorch.
"""

from __future__ import annotations

import numpy as np

_generator = np.random.default_rng(0)


def manual_seed(seed: int) -> np.random.Generator:
    """Reset the generator used by layers; returns it (as ``torch.manual_seed`` does)."""
    global _generator
    _generator = np.random.default_rng(seed)
    return _generator


def generator() -> np.random.Generator:
    """The generator that layers draw from."""
    return _generator
