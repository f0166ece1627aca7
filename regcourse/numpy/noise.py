r"""Additive Gaussian noise on inputs or hidden units, forward and backward by hand.

In training mode ``GaussianNoise(sigma)`` adds fresh noise to every entry,

    y = x + sigma * eps,    eps ~ N(0, 1) independently per sample and per unit,

and in evaluation mode (or when sigma = 0) it is the identity. Since
E[y] = x, the network seen at test time is the average of the noisy ones.

Why it regularizes (Bishop 1995, "Training with noise is equivalent to Tikhonov
regularization"). Take a linear model f(x) = w.x + b, squared error, and noise
eps ~ N(0, sigma^2 I) on the input. Expanding the square, with residual r = w.x + b - y,

    E[(w.(x + eps) + b - y)^2] = r^2 + 2 r E[w.eps] + E[(w.eps)^2]
                               = r^2 + 0 + w^T E[eps eps^T] w
                               = (w.x + b - y)^2 + sigma^2 ||w||^2.

Averaged over n training samples, as the mean-squared-error loss ``MSELoss`` does,

    E[MSE] = (1/n) ||y - Xw - b||^2 + sigma^2 ||w||^2
           = (1/n) [ ||y - Xw - b||^2 + n sigma^2 ||w||^2 ].

The bracket is scikit-learn's ridge objective ||y - Xw - b||^2 + alpha ||w||^2
(``sklearn.linear_model.Ridge``, ``regcourse.linear.fit_ridge``) with

    alpha = n * sigma^2,

and an unpenalized intercept b (no noise touches it), so both have the same
minimizer. In the course's own convention, MSE + L2(lam) with L2 = lam/2 ||w||^2,
it is lam = 2 sigma^2. This is exact for the *expected* loss; training draws fresh
noise at each step and so minimizes it stochastically.

For a nonlinear model and small sigma, a Taylor expansion
f(x + eps) ~ f(x) + grad f(x).eps + eps^T H(x) eps / 2 gives

    E[(f(x + eps) - y)^2] = (f(x) - y)^2 + sigma^2 ||grad_x f(x)||^2
                            + sigma^2 (f(x) - y) tr H(x) + O(sigma^4);

Bishop shows the last term vanishes to leading order at the minimum, so training
with noise approximately adds the Tikhonov penalty sigma^2 ||grad_x f||^2 (averaged
over the data): it asks the function to be flat around the training points. For
the linear model grad_x f = w and H = 0, which gives ridge exactly.

Compare with dropout, which is *multiplicative* noise: x_j m_j / (1 - p) has
variance x_j^2 p / (1 - p), and for linear regression the same expansion gives
the penalty (p / (1 - p)) sum_j w_j^2 x_j^2, a ridge whose weight for feature j
grows with the size of that feature; additive noise penalizes every weight by
the same sigma^2, whatever the scale of its input (so standardize the inputs first).

Noise is drawn from ``regcourse.numpy.random``, like the dropout masks; the last
noise added (sigma * eps) is kept in ``.noise`` and ``freeze_noise()`` reuses it
(for gradient checks and for comparing with the torch twin), as
``Dropout.freeze_mask()`` does for masks.
"""

from __future__ import annotations

import numpy as np

from regcourse._checks import check_frozen, check_frozen_shape, check_sigma
from regcourse.numpy.core import DTYPE, Module, _check_upstream, _require_forward
from regcourse.numpy.random import generator


class GaussianNoise(Module):
    """y = x + sigma * eps, eps ~ N(0, 1) iid, in training; the identity in evaluation.

    Backward: the noise does not depend on x, so dL/dx = dL/dy.
    ``.noise`` holds the last noise added (sigma * eps, the shape of x).
    """

    def __init__(self, sigma: float):
        self.sigma = check_sigma(sigma)
        self.noise = None
        self.frozen = False
        self._shape = None  # the shape of the last input (and output)

    def freeze_noise(self, frozen: bool = True):
        """Reuse the last noise in the following forward passes (or stop reusing it)."""
        if check_frozen(frozen) and self.noise is None:
            raise RuntimeError(
                "freeze_noise needs noise: run forward in training mode with sigma > 0 first"
            )
        self.frozen = bool(frozen)
        return self

    def current_noise(self, x):
        """The noise for input ``x``: new noise sigma * eps unless the noise is frozen.

        Frozen noise is reused as it is, so it must have the input's shape (no broadcasting).
        """
        if not self.frozen:
            self.noise = self.sigma * generator().standard_normal(x.shape)
        else:
            check_frozen_shape("GaussianNoise", "noise", self.noise.shape, x.shape)
        return self.noise

    def forward(self, x):
        x = np.array(x, dtype=DTYPE)  # a copy: the output never aliases the input
        self._shape = x.shape
        if not self.training or self.sigma == 0:
            return x
        return x + self.current_noise(x)

    def backward(self, dout):
        _require_forward(self._shape, self)
        return _check_upstream(dout, self._shape, self).copy()

    def extra_repr(self):
        return f"sigma={self.sigma}"
