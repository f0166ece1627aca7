"""Which device the torch side runs on.

CUDA when it is available, else the CPU; the environment variable
``REGCOURSE_DEVICE`` (e.g. ``cpu``, ``cuda``, ``cuda:1``, ``mps``) overrides
the choice. Code in this package never creates a tensor on a fixed device:
new tensors are made like their inputs (``torch.zeros_like``,
``x.new_empty``, ``device=x.device``), so a model runs wherever it lives.
"""

from __future__ import annotations

import os

import torch


def default_device() -> torch.device:
    """``REGCOURSE_DEVICE`` if set, else ``cuda`` when available, else ``cpu``."""
    requested = os.environ.get("REGCOURSE_DEVICE")
    if requested:
        try:
            return torch.device(requested)
        except RuntimeError as error:
            raise ValueError(
                f"REGCOURSE_DEVICE={requested!r} is not a device torch knows: {error}"
            ) from None
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")
