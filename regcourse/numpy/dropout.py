"""Dropout and its family, forward and backward by hand.

Conventions (stated in the chapter, tested):

- ``p`` is the probability of DROPPING a unit (as in ``torch.nn.Dropout``);
  it must satisfy 0 <= p < 1.
- ``mode="inverted"`` (the default, as PyTorch): surviving units are scaled by
  1/(1 - p) during training, and evaluation is the identity.
- ``mode="vanilla"`` (the original paper's): training only masks; evaluation
  multiplies by (1 - p), the probability of keeping a unit.

Either way E[output] = input during training matches the evaluation output.
Masks are drawn per sample and per unit from ``regcourse.numpy.random``; the
last one is kept in ``.mask`` for inspection, and ``freeze_mask()`` reuses it
(for gradient checks and for comparing with the torch twin).
"""

from __future__ import annotations

import numpy as np

from regcourse._checks import (
    check_drop_probability,
    check_dropout_mode,
    check_frozen_shape,
    positive_int,
)
from regcourse._constants import DROPOUT_MODES, SELU_ALPHA, SELU_SCALE, alpha_dropout_coefficients
from regcourse.numpy.core import DTYPE, Module, _check_upstream, _require_forward
from regcourse.numpy.losses import softmax
from regcourse.numpy.random import generator, manual_seed

MODES = DROPOUT_MODES  # the constants and checks live in regcourse._constants / _checks


class _MaskedNoise(Module):
    """Shared machinery: draw noise in training, keep it in ``.mask``, optionally reuse it."""

    def __init__(self, p: float):
        self.p = check_drop_probability(p)
        self.mask = None
        self.frozen = False
        self._noise = None  # what backward multiplies by (None in evaluation = identity)

    def freeze_mask(self, frozen: bool = True):
        """Reuse the last drawn noise in the following forward passes (or stop reusing it)."""
        if frozen and self.mask is None:
            raise RuntimeError("freeze_mask needs a mask: run forward in training mode first")
        self.frozen = frozen
        return self

    def current_mask(self, x, draw):
        """The mask for input ``x``: a new one, ``draw(x.shape)``, unless the mask is frozen.

        A frozen mask is reused as it is, so it must have the input's shape (no broadcasting).
        """
        if not self.frozen:
            self.mask = draw(x.shape)
        else:
            check_frozen_shape(type(self).__name__, "mask", self.mask.shape, x.shape)
        return self.mask

    def backward(self, dout):
        _require_forward(self._noise, self)
        return _check_upstream(dout, self._noise.shape, self) * self._noise

    def extra_repr(self):
        return f"p={self.p}"


class Dropout(_MaskedNoise):
    """Bernoulli dropout: each unit is kept with probability 1 - p.

    Inverted (training):  y = x * m / (1 - p),  m ~ Bernoulli(1 - p);  evaluation: y = x.
    Vanilla  (training):  y = x * m;                                    evaluation: y = (1 - p) x.
    """

    def __init__(self, p: float = 0.5, mode: str = "inverted"):
        super().__init__(p)
        self.mode = check_dropout_mode(mode)

    def forward(self, x):
        x = np.asarray(x, dtype=DTYPE)
        if not self.training:
            self._noise = np.full_like(x, 1.0 - self.p if self.mode == "vanilla" else 1.0)
            return x * self._noise
        mask = self.current_mask(x, lambda shape: generator().random(shape) >= self.p)
        scale = 1.0 / (1.0 - self.p) if self.mode == "inverted" else 1.0
        self._noise = mask * scale
        return x * self._noise

    def extra_repr(self):
        return f"p={self.p}, mode={self.mode!r}"


class GaussianDropout(_MaskedNoise):
    """Multiplicative Gaussian noise with the variance of inverted dropout:
    y = x * e,  e ~ N(1, p / (1 - p)) in training; the identity in evaluation.
    (Srivastava et al. 2014, section 10.) ``.mask`` holds the last noise e."""

    def forward(self, x):
        x = np.asarray(x, dtype=DTYPE)
        if not self.training or self.p == 0:
            self._noise = np.ones_like(x)
            return x
        std = np.sqrt(self.p / (1.0 - self.p))
        self._noise = self.current_mask(
            x, lambda shape: 1.0 + std * generator().standard_normal(shape)
        )
        return x * self._noise


class AlphaDropout(_MaskedNoise):
    """Dropout for SELU networks (Klambauer et al. 2017), as ``torch.nn.AlphaDropout``.

    Dropped units are set to SELU's negative saturation value a' = -scale * alpha
    instead of 0, then an affine map restores zero mean and unit variance:

        y = A (x m + a' (1 - m)) + B,   A = (q + a'^2 q (1 - q))^(-1/2),   B = -A a' (1 - q),

    with q = 1 - p the keep probability. Evaluation is the identity.
    """

    def coefficients(self):
        """(A, B, a'): see ``regcourse._constants.alpha_dropout_coefficients``."""
        return alpha_dropout_coefficients(self.p)

    def forward(self, x):
        x = np.asarray(x, dtype=DTYPE)
        if not self.training or self.p == 0:
            self._noise = np.ones_like(x)
            return x
        mask = self.current_mask(x, lambda shape: generator().random(shape) >= self.p)
        a, b, saturation = self.coefficients()
        self._noise = a * mask
        return a * (x * mask + saturation * (~mask)) + b


class SELU(Module):
    """selu(x) = scale * (x if x > 0 else alpha * (exp(x) - 1))."""

    def __init__(self):
        self._x = None

    def forward(self, x):
        self._x = np.asarray(x, dtype=DTYPE)
        return SELU_SCALE * np.where(
            self._x > 0, self._x, SELU_ALPHA * np.expm1(np.minimum(self._x, 0))
        )

    def backward(self, dout):
        _require_forward(self._x, self)
        dout = _check_upstream(dout, self._x.shape, self)
        return (
            dout
            * SELU_SCALE
            * np.where(self._x > 0, 1.0, SELU_ALPHA * np.exp(np.minimum(self._x, 0)))
        )


def mc_predict(model: Module, x, n_samples: int = 50, seed: int = 0):
    """Monte-Carlo dropout (Gal & Ghahramani 2016): average ``n_samples`` stochastic passes.

    Every dropout layer stays in training mode (new masks each pass); every
    other layer is in evaluation mode. Returns ``(mean, std)`` of the softmax
    probabilities over the samples, each of shape (batch, classes). The
    model's modes are restored afterwards.
    """
    n_samples = positive_int("n_samples", n_samples)
    modes = [(m, m.training) for m in model.modules()]
    model.eval()
    for module in model.modules():
        if isinstance(module, _MaskedNoise):
            module.training = True
    manual_seed(seed)
    try:
        samples = np.stack([softmax(model(x)) for _ in range(n_samples)])
    finally:
        for module, mode in modes:
            module.training = mode
    return samples.mean(axis=0), samples.std(axis=0)
