"""Additive Gaussian noise from tensor operations: the twin of ``regcourse.numpy.noise``.

    y = x + sigma * eps,  eps ~ N(0, 1) iid, in training;  y = x in evaluation (or sigma = 0).

The noise is drawn with ``torch.randn_like(x)``, so it lives on the input's device,
has its dtype and follows torch's random state. Autograd gives dL/dx = dL/dy (the
noise does not depend on x). The last noise added (sigma * eps) is kept in
``.noise``; ``freeze_noise()`` reuses it, or set ``.noise`` to the NumPy layer's
(``torch.tensor(np_layer.noise)``) and freeze it to run both sides with the same noise.
Why it regularizes (ridge with alpha = n sigma^2 for linear regression, Bishop 1995):
see ``regcourse.numpy.noise``.
"""

from __future__ import annotations

import torch
from torch import nn

from regcourse._checks import check_frozen, check_frozen_shape, check_sigma


class GaussianNoise(nn.Module):
    """y = x + sigma * eps, eps ~ N(0, 1) iid, in training; the identity in evaluation."""

    def __init__(self, sigma: float):
        super().__init__()
        self.sigma = check_sigma(sigma)
        self.noise = None  # a plain attribute, not a buffer: the state_dict stays empty
        self.frozen = False

    def freeze_noise(self, frozen: bool = True):
        """Reuse the last noise in the following forward passes (or stop reusing it)."""
        if check_frozen(frozen) and self.noise is None:
            raise RuntimeError(
                "freeze_noise needs noise: run forward in training mode with sigma > 0 first "
                "(or set .noise)"
            )
        self.frozen = bool(frozen)
        return self

    def current_noise(self, x):
        """The noise for input ``x``: new noise sigma * eps unless the noise is frozen.

        Frozen noise is reused as it is, so it must have the input's shape (no
        broadcasting); it is moved to the input's device and dtype.
        """
        if not self.frozen:
            self.noise = self.sigma * torch.randn_like(x)
        else:
            check_frozen_shape("GaussianNoise", "noise", self.noise.shape, x.shape)
        return self.noise.to(device=x.device, dtype=x.dtype)

    def forward(self, x):
        if not torch.is_floating_point(x):
            raise ValueError(f"GaussianNoise needs a floating-point input, got dtype {x.dtype}")
        if not self.training or self.sigma == 0:
            return x
        return x + self.current_noise(x)

    def extra_repr(self):
        return f"sigma={self.sigma}"
