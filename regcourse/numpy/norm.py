"""Batch normalization and layer normalization, forward and backward by hand.

Both normalize, then scale and shift:  y = gamma * (x - mu) / sqrt(var + eps) + beta.
They differ in WHAT the statistics mu, var are taken over:

- ``BatchNorm1d``/``BatchNorm2d``: over the batch (and the spatial positions),
  separately for every feature / channel; in evaluation mode, running averages
  collected during training are used instead;
- ``LayerNorm``: over the features of each sample; the same in training and
  evaluation, and independent of the other samples in the batch.

Conventions follow ``torch.nn`` exactly: the running statistics are updated as
``running = (1 - momentum) * running + momentum * batch_stat`` (so momentum is
the weight of the NEW value), the running variance uses the unbiased batch
variance (divides by n - 1) while normalization uses the biased one (n), and
running_var starts at ONE, running_mean at zero.

Backward, with x_hat the normalized input, sigma = sqrt(var + eps) and m the
number of values each statistic averages (the compact form derived in the chapter):

    dx = gamma / (m * sigma) * (m * dy - sum(dy) - x_hat * sum(dy * x_hat)),
    dgamma = sum(dy * x_hat),   dbeta = sum(dy).
"""

from __future__ import annotations

import numpy as np

from regcourse._checks import in_unit_interval, non_negative, positive_int
from regcourse._shapes import check_batch_norm_input, normalized_shape_tuple
from regcourse.numpy.core import DTYPE, Module, Parameter, _check_upstream, _require_forward


def normalize_backward(dy_hat, x_hat, inv_sigma, axis):
    """d loss / d x of x_hat = (x - mean) * inv_sigma, given d loss / d x_hat,
    statistics over ``axis``."""
    m = np.prod([x_hat.shape[a] for a in np.atleast_1d(axis)])
    sum_dy = dy_hat.sum(axis=axis, keepdims=True)
    sum_dy_xhat = (dy_hat * x_hat).sum(axis=axis, keepdims=True)
    return inv_sigma / m * (m * dy_hat - sum_dy - x_hat * sum_dy_xhat)


class _BatchNorm(Module):
    """Shared code of BatchNorm1d and BatchNorm2d; subclasses say which axes the statistics use."""

    _buffer_names = ("running_mean", "running_var", "num_batches_tracked")
    expected_ndim: tuple[int, ...] = ()

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        momentum: float | None = 0.1,
        affine: bool = True,
        track_running_stats: bool = True,
    ):
        self.num_features = positive_int("num_features", num_features)
        self.eps = non_negative("eps", eps)
        self.momentum = None if momentum is None else in_unit_interval("momentum", momentum)
        self.affine = affine
        self.track_running_stats = track_running_stats
        self.weight = Parameter(np.empty(num_features)) if affine else None
        self.bias = Parameter(np.empty(num_features)) if affine else None
        if track_running_stats:
            self.running_mean = np.empty(num_features)
            self.running_var = np.empty(num_features)
            self.num_batches_tracked = np.zeros((), dtype=np.int64)
        else:
            self.running_mean = self.running_var = self.num_batches_tracked = None
        self.reset_parameters()
        self._cache = None

    def reset_running_stats(self):
        """running_mean <- 0, running_var <- 1, num_batches_tracked <- 0, in place."""
        if self.track_running_stats:
            self.running_mean[...] = 0.0
            self.running_var[...] = 1.0
            self.num_batches_tracked[...] = 0

    def reset_parameters(self, generator=None):
        """The running statistics reset, weight (gamma) <- 1 and bias (beta) <- 0, in place.

        Nothing is random; ``generator`` is accepted so that every layer's
        ``reset_parameters`` takes the same argument.
        """
        self.reset_running_stats()
        if self.affine:
            self.weight.data[...] = 1.0
            self.bias.data[...] = 0.0

    def stat_axes(self, x):
        """The axes the statistics average over (the batch, and any spatial axes)."""
        raise NotImplementedError

    def param_shape(self, x):
        """Shape that broadcasts a per-feature vector against x."""
        shape = [1] * x.ndim
        shape[1] = self.num_features
        return shape

    def check_input(self, x):
        check_batch_norm_input(type(self).__name__, x.shape, self.expected_ndim, self.num_features)

    def update_running_stats(self, mean, var, count):
        self.num_batches_tracked += 1
        factor = 1.0 / int(self.num_batches_tracked) if self.momentum is None else self.momentum
        unbiased = var * count / (count - 1)
        self.running_mean[...] = (1 - factor) * self.running_mean + factor * mean
        self.running_var[...] = (1 - factor) * self.running_var + factor * unbiased

    def forward(self, x):
        x = np.asarray(x, dtype=DTYPE)
        self.check_input(x)
        axes = self.stat_axes(x)
        count = int(np.prod([x.shape[a] for a in axes]))
        use_batch_stats = self.training or not self.track_running_stats
        shape = self.param_shape(x)
        if use_batch_stats:
            if count < 2:
                raise ValueError(
                    f"{type(self).__name__} in training mode needs more than one value per feature "
                    f"to compute a variance, got input shape {x.shape}; "
                    "use a batch of 2 or more, or eval()"
                )
            mean, var = x.mean(axis=axes), x.var(axis=axes)
            if self.training and self.track_running_stats:
                self.update_running_stats(mean, var, count)
        else:
            mean, var = self.running_mean, self.running_var
        inv_sigma = 1.0 / np.sqrt(var + self.eps).reshape(shape)
        x_hat = (x - mean.reshape(shape)) * inv_sigma
        self._cache = (x_hat, inv_sigma, axes, use_batch_stats)
        if not self.affine:
            return x_hat
        return self.weight.data.reshape(shape) * x_hat + self.bias.data.reshape(shape)

    def backward(self, dout):
        _require_forward(self._cache, self)
        x_hat, inv_sigma, axes, used_batch_stats = self._cache
        dout = _check_upstream(dout, x_hat.shape, self)
        shape = self.param_shape(x_hat)
        if self.affine:
            self.weight.grad += (dout * x_hat).sum(axis=axes)
            self.bias.grad += dout.sum(axis=axes)
            dout = dout * self.weight.data.reshape(shape)
        if not used_batch_stats:  # running statistics are constants: a per-feature affine map
            return dout * inv_sigma
        return normalize_backward(dout, x_hat, inv_sigma, axes)

    def extra_repr(self):
        return (
            f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
            f"affine={self.affine}, track_running_stats={self.track_running_stats}"
        )


class BatchNorm1d(_BatchNorm):
    """Batch norm for (N, C) inputs (or (N, C, L)): statistics per feature over the batch
    (and L)."""

    expected_ndim = (2, 3)

    def stat_axes(self, x):
        return (0,) if x.ndim == 2 else (0, 2)


class BatchNorm2d(_BatchNorm):
    """Batch norm for images (N, C, H, W): statistics per channel over N, H and W."""

    expected_ndim = (4,)

    def stat_axes(self, x):
        return (0, 2, 3)


class LayerNorm(Module):
    """Layer norm: statistics over the last ``len(normalized_shape)`` dimensions of each sample.

    ``weight`` and ``bias`` have shape ``normalized_shape``; no running statistics.
    """

    def __init__(self, normalized_shape, eps: float = 1e-5, elementwise_affine: bool = True):
        self.normalized_shape = normalized_shape_tuple(normalized_shape)
        self.eps = non_negative("eps", eps)
        self.elementwise_affine = elementwise_affine
        self.weight = Parameter(np.empty(self.normalized_shape)) if elementwise_affine else None
        self.bias = Parameter(np.empty(self.normalized_shape)) if elementwise_affine else None
        self.reset_parameters()
        self._cache = None

    def reset_parameters(self, generator=None):
        """weight (gamma) <- 1 and bias (beta) <- 0, in place (``generator`` is not used)."""
        if self.elementwise_affine:
            self.weight.data[...] = 1.0
            self.bias.data[...] = 0.0

    def forward(self, x):
        x = np.asarray(x, dtype=DTYPE)
        k = len(self.normalized_shape)
        if x.ndim < k + 1 or x.shape[-k:] != self.normalized_shape:
            raise ValueError(
                f"LayerNorm{self.normalized_shape} expects input of shape "
                f"(batch, ..., {', '.join(map(str, self.normalized_shape))}), got {x.shape}"
            )
        axes = tuple(range(x.ndim - k, x.ndim))
        inv_sigma = 1.0 / np.sqrt(x.var(axis=axes, keepdims=True) + self.eps)
        x_hat = (x - x.mean(axis=axes, keepdims=True)) * inv_sigma
        self._cache = (x_hat, inv_sigma, axes)
        if not self.elementwise_affine:
            return x_hat
        return self.weight.data * x_hat + self.bias.data

    def backward(self, dout):
        _require_forward(self._cache, self)
        x_hat, inv_sigma, axes = self._cache
        dout = _check_upstream(dout, x_hat.shape, self)
        if self.elementwise_affine:
            batch_axes = tuple(range(x_hat.ndim - len(axes)))
            self.weight.grad += (dout * x_hat).sum(axis=batch_axes)
            self.bias.grad += dout.sum(axis=batch_axes)
            dout = dout * self.weight.data
        return normalize_backward(dout, x_hat, inv_sigma, axes)

    def extra_repr(self):
        return (
            f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}"
        )
