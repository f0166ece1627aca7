"""Argument checks shared by the NumPy and PyTorch sides.

Each check raises a ``ValueError`` whose message names the argument, what it
was, and what is allowed.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from regcourse._constants import DROPOUT_MODES


def positive_int(name: str, value) -> int:
    """Return ``value`` if it is an integer >= 1, else raise ValueError."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def non_negative(name: str, value) -> float:
    """Return ``value`` as a float if it is a real number >= 0, else raise ValueError."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not value >= 0:
        raise ValueError(f"{name} must be a number >= 0, got {value!r}")
    return float(value)


def in_unit_interval(name: str, value, include_one: bool = True) -> float:
    """Return ``value`` if it lies in [0, 1] (or [0, 1) when ``include_one`` is False)."""
    allowed = "[0, 1]" if include_one else "[0, 1)"
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name} must lie in {allowed}, got {value!r}")
    upper_ok = value <= 1 if include_one else value < 1
    if not (value >= 0 and upper_ok):
        raise ValueError(f"{name} must lie in {allowed}, got {value!r}")
    return float(value)


# --- checks of one layer's or one optimizer's arguments, the same on both sides ---


def check_drop_probability(p) -> float:
    """p must lie in [0, 1): p = 1 would drop everything (and inverted scaling divides by 1 - p)."""
    return in_unit_interval(
        "dropout probability p (the probability of dropping a unit)", p, include_one=False
    )


def check_dropout_mode(mode) -> str:
    """``mode`` must be one of ``DROPOUT_MODES`` ("inverted" or "vanilla")."""
    if mode not in DROPOUT_MODES:
        raise ValueError(f"mode must be one of {DROPOUT_MODES}, got {mode!r}")
    return mode


def check_sigma(sigma) -> float:
    """sigma, the noise standard deviation, must be a finite number >= 0."""
    sigma = non_negative("sigma", sigma)
    if not math.isfinite(sigma):
        raise ValueError(f"sigma must be a number >= 0 and finite, got {sigma!r}")
    return sigma


def check_frozen(frozen) -> bool:
    """The argument of ``freeze_noise`` must be True or False (a NumPy bool is accepted)."""
    if not isinstance(frozen, (bool, np.bool_)):
        raise ValueError(f"frozen must be True or False, got {frozen!r}")
    return bool(frozen)


def check_betas(betas) -> tuple[float, float]:
    """Adam's ``betas``: a pair of numbers, each in [0, 1)."""
    try:
        b1, b2 = betas
    except (TypeError, ValueError):
        raise ValueError(f"betas must be a pair (beta1, beta2), got {betas!r}") from None
    return (
        in_unit_interval("betas[0]", b1, include_one=False),
        in_unit_interval("betas[1]", b2, include_one=False),
    )


def check_label_smoothing(label_smoothing) -> float:
    """eps must lie in [0, 1): eps = 1 makes every target uniform, so the labels are ignored."""
    return in_unit_interval("label_smoothing", label_smoothing, include_one=False)


def check_max_norm(max_norm) -> float:
    """``MaxNorm``'s bound: a number > 0 (0 would set every weight to zero)."""
    max_norm = non_negative("max_norm", max_norm)
    if max_norm == 0:
        raise ValueError("max_norm must be > 0 (0 would set every weight to zero)")
    return max_norm


def check_frozen_shape(layer: str, what: str, frozen_shape, input_shape) -> None:
    """A frozen mask or noise is reused as it is, so it must have the input's shape exactly.

    Broadcasting would silently reuse one row (or one column) for the whole batch.
    """
    frozen_shape, input_shape = tuple(frozen_shape), tuple(input_shape)
    if frozen_shape != input_shape:
        raise ValueError(
            f"{layer}: frozen {what} has shape {frozen_shape}, input has {input_shape}; a "
            f"frozen {what} must match the input exactly (unfreeze with freeze_{what}(False) "
            "to draw a new one)"
        )
