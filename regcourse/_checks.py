"""Argument checks shared by the NumPy and PyTorch sides.

Each check raises a ``ValueError`` whose message names the argument, what it
was, and what is allowed.
"""

from __future__ import annotations

import numbers


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
