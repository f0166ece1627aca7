"""Dropout and its family from tensor operations: the twins of ``regcourse.numpy.dropout``.

``p`` is the probability of DROPPING a unit, 0 <= p < 1. Masks are made with
``torch.rand_like(x)``, so they live on the input's device and follow torch's
random state. ``torch.nn.Dropout`` / ``torch.nn.AlphaDropout`` are the test
oracles. The last mask is kept in ``.mask``; ``freeze_mask()`` reuses it, or
set ``.mask`` to a mask from the NumPy side (``torch.tensor(np_layer.mask)``)
and freeze it to run both sides with the same mask.
"""

from __future__ import annotations

import torch
from torch import nn

from regcourse._checks import (
    check_drop_probability,
    check_dropout_mode,
    check_frozen_shape,
    positive_int,
)
from regcourse._constants import SELU_ALPHA, SELU_SCALE, alpha_dropout_coefficients


class _MaskedNoise(nn.Module):
    """Shared machinery: draw noise in training, keep it in ``.mask``, optionally reuse it."""

    def __init__(self, p: float):
        super().__init__()
        self.p = check_drop_probability(p)
        self.mask = None
        self.frozen = False

    def freeze_mask(self, frozen: bool = True):
        """Reuse the last drawn noise in the following forward passes (or stop reusing it)."""
        if frozen and self.mask is None:
            raise RuntimeError(
                "freeze_mask needs a mask: run forward in training mode first (or set .mask)"
            )
        self.frozen = frozen
        return self

    def current_mask(self, x, draw):
        """The mask for input ``x``: a new one, ``draw(x)``, unless the mask is frozen.

        A frozen mask is reused as it is, so it must have the input's shape (no
        broadcasting); it is moved to the input's device.
        """
        if not self.frozen:
            self.mask = draw(x)
        else:
            check_frozen_shape(type(self).__name__, "mask", self.mask.shape, x.shape)
        return self.mask.to(device=x.device)

    def extra_repr(self):
        return f"p={self.p}"


class Dropout(_MaskedNoise):
    """Inverted (y = x m / (1-p); eval y = x) or vanilla (y = x m; eval y = (1-p) x) dropout."""

    def __init__(self, p: float = 0.5, mode: str = "inverted"):
        super().__init__(p)
        self.mode = check_dropout_mode(mode)

    def forward(self, x):
        if not self.training:
            return x * (1.0 - self.p) if self.mode == "vanilla" else x
        mask = self.current_mask(x, lambda t: torch.rand_like(t) >= self.p)
        scale = 1.0 / (1.0 - self.p) if self.mode == "inverted" else 1.0
        return x * mask.to(x.dtype) * scale

    def extra_repr(self):
        return f"p={self.p}, mode={self.mode!r}"


class GaussianDropout(_MaskedNoise):
    """y = x * e, e ~ N(1, p/(1-p)) in training; identity in evaluation."""

    def forward(self, x):
        if not self.training or self.p == 0:
            return x
        std = (self.p / (1.0 - self.p)) ** 0.5
        noise = self.current_mask(x, lambda t: 1.0 + std * torch.randn_like(t))
        return x * noise.to(x.dtype)


class AlphaDropout(_MaskedNoise):
    """Dropped units go to SELU's saturation a' = -scale*alpha; then y = A (x m + a'(1-m)) + B."""

    def coefficients(self):
        """(A, B, a'): see ``regcourse._constants.alpha_dropout_coefficients``."""
        return alpha_dropout_coefficients(self.p)

    def forward(self, x):
        if not self.training or self.p == 0:
            return x
        a, b, saturation = self.coefficients()
        mask = self.current_mask(x, lambda t: torch.rand_like(t) >= self.p).to(x.dtype)
        return a * (x * mask + saturation * (1.0 - mask)) + b


class SELU(nn.Module):
    """selu(x) = scale * (x if x > 0 else alpha * (exp(x) - 1))."""

    def forward(self, x):
        return SELU_SCALE * torch.where(x > 0, x, SELU_ALPHA * torch.expm1(torch.clamp(x, max=0)))


@torch.no_grad()
def mc_predict(model: nn.Module, x, n_samples: int = 50, seed: int = 0):
    """Monte-Carlo dropout: ``(mean, std)`` of softmax probabilities over ``n_samples`` passes,
    with dropout layers in training mode and every other layer in evaluation mode."""
    n_samples = positive_int("n_samples", n_samples)
    modes = [(m, m.training) for m in model.modules()]
    model.eval()
    for module in model.modules():
        if isinstance(module, (_MaskedNoise, nn.Dropout, nn.AlphaDropout)):
            module.train()
    torch.manual_seed(seed)
    try:
        samples = torch.stack([torch.softmax(model(x), dim=-1) for _ in range(n_samples)])
    finally:
        for module, mode in modes:
            module.training = mode
    return samples.mean(dim=0), samples.std(dim=0, unbiased=False)
