"""Constants shared by the NumPy and PyTorch sides (neither side imports the other).

- ``SELU_ALPHA``, ``SELU_SCALE``: the constants of SELU (Klambauer et al., 2017),
  to the precision torch uses; ``AlphaDropout`` sets dropped units to SELU's
  negative saturation value ``-SELU_SCALE * SELU_ALPHA``.
- ``DROPOUT_MODES``: the two conventions of ``Dropout(p, mode=...)``:
  ``"inverted"`` (scale by 1/(1 - p) in training, identity in evaluation, as
  torch) and ``"vanilla"`` (mask in training, multiply by 1 - p in evaluation).
"""

from __future__ import annotations

SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946

DROPOUT_MODES = ("inverted", "vanilla")


def alpha_dropout_coefficients(p: float) -> tuple[float, float, float]:
    """(A, B, a') of AlphaDropout with drop probability p (Klambauer et al. 2017).

    Dropped units are set to SELU's saturation a' = -SELU_SCALE * SELU_ALPHA, then
    y = A (x m + a' (1 - m)) + B restores zero mean and unit variance, with
    q = 1 - p the keep probability:

        A = (q + a'^2 q (1 - q))^(-1/2),    B = -A a' (1 - q).
    """
    q, saturation = 1.0 - p, -SELU_SCALE * SELU_ALPHA
    a = (q + saturation**2 * q * (1.0 - q)) ** -0.5
    return a, -a * saturation * (1.0 - q), saturation
