"""Batch norm and layer norm from tensor operations: twins of ``regcourse.numpy.norm``.

Written with means and variances, not ``F.batch_norm``/``F.layer_norm``
(those are the test oracles). Running statistics are buffers, so they move
with the model (``model.to(device)``) and appear in ``state_dict`` under
torch.nn's names. Same conventions: momentum weights the NEW batch statistic,
running_var starts at one and is updated with the unbiased variance.
"""

from __future__ import annotations

import torch
from torch import nn

from regcourse._checks import in_unit_interval, non_negative, positive_int
from regcourse._shapes import check_batch_norm_input, normalized_shape_tuple


class _BatchNorm(nn.Module):
    expected_ndim: tuple[int, ...] = ()

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        momentum: float | None = 0.1,
        affine: bool = True,
        track_running_stats: bool = True,
        device=None,
        dtype=None,
    ):
        super().__init__()
        self.num_features = positive_int("num_features", num_features)
        self.eps = non_negative("eps", eps)
        self.momentum = None if momentum is None else in_unit_interval("momentum", momentum)
        self.affine = affine
        self.track_running_stats = track_running_stats
        factory = dict(device=device, dtype=dtype)
        if affine:
            self.weight = nn.Parameter(torch.empty(num_features, **factory))
            self.bias = nn.Parameter(torch.empty(num_features, **factory))
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        if track_running_stats:
            self.register_buffer("running_mean", torch.empty(num_features, **factory))
            self.register_buffer("running_var", torch.empty(num_features, **factory))
            self.register_buffer(
                "num_batches_tracked", torch.tensor(0, dtype=torch.long, device=device)
            )
        else:
            self.running_mean = self.running_var = self.num_batches_tracked = None
        self.reset_parameters()

    @torch.no_grad()
    def reset_running_stats(self):
        """running_mean <- 0, running_var <- 1, num_batches_tracked <- 0, in place."""
        if self.track_running_stats:
            self.running_mean.zero_()
            self.running_var.fill_(1.0)
            self.num_batches_tracked.zero_()

    @torch.no_grad()
    def reset_parameters(self, generator=None):
        """The running statistics reset, weight (gamma) <- 1 and bias (beta) <- 0, in place.

        Nothing is random; ``generator`` is accepted so that every layer's
        ``reset_parameters`` takes the same argument.
        """
        self.reset_running_stats()
        if self.affine:
            self.weight.fill_(1.0)
            self.bias.zero_()

    def stat_axes(self, x):
        """The dimensions the statistics average over (the batch, and any spatial ones)."""
        raise NotImplementedError

    def param_shape(self, x):
        """Shape that broadcasts a per-feature vector against x."""
        shape = [1] * x.ndim
        shape[1] = self.num_features
        return shape

    def check_input(self, x):
        check_batch_norm_input(type(self).__name__, x.shape, self.expected_ndim, self.num_features)

    @torch.no_grad()
    def update_running_stats(self, mean, var, count):
        self.num_batches_tracked += 1
        factor = 1.0 / float(self.num_batches_tracked) if self.momentum is None else self.momentum
        self.running_mean.mul_(1 - factor).add_(factor * mean)
        self.running_var.mul_(1 - factor).add_(factor * var * count / (count - 1))

    def forward(self, x):
        self.check_input(x)
        dims = self.stat_axes(x)
        shape = self.param_shape(x)
        count = 1
        for d in dims:
            count *= x.shape[d]
        if self.training or not self.track_running_stats:
            if count < 2:
                raise ValueError(
                    f"{type(self).__name__} in training mode needs more than one value per feature "
                    f"to compute a variance, got input shape {tuple(x.shape)}; "
                    "use a batch of 2 or more, or eval()"
                )
            mean = x.mean(dim=dims)
            var = ((x - mean.reshape(shape)) ** 2).mean(dim=dims)
            if self.training and self.track_running_stats:
                self.update_running_stats(mean.detach(), var.detach(), count)
        else:
            mean, var = self.running_mean, self.running_var
        x_hat = (x - mean.reshape(shape)) / torch.sqrt(var.reshape(shape) + self.eps)
        if not self.affine:
            return x_hat
        return self.weight.reshape(shape) * x_hat + self.bias.reshape(shape)

    def extra_repr(self):
        return (
            f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
            f"affine={self.affine}, track_running_stats={self.track_running_stats}"
        )


class BatchNorm1d(_BatchNorm):
    """(N, C) or (N, C, L) inputs; statistics per feature over N (and L)."""

    expected_ndim = (2, 3)

    def stat_axes(self, x):
        return (0,) if x.ndim == 2 else (0, 2)


class BatchNorm2d(_BatchNorm):
    """(N, C, H, W) inputs; statistics per channel over N, H, W."""

    expected_ndim = (4,)

    def stat_axes(self, x):
        return (0, 2, 3)


class LayerNorm(nn.Module):
    """Statistics over the last ``len(normalized_shape)`` dimensions of each sample."""

    def __init__(
        self,
        normalized_shape,
        eps: float = 1e-5,
        elementwise_affine: bool = True,
        device=None,
        dtype=None,
    ):
        super().__init__()
        self.normalized_shape = normalized_shape_tuple(normalized_shape)
        self.eps = non_negative("eps", eps)
        self.elementwise_affine = elementwise_affine
        if elementwise_affine:
            factory = dict(device=device, dtype=dtype)
            self.weight = nn.Parameter(torch.empty(self.normalized_shape, **factory))
            self.bias = nn.Parameter(torch.empty(self.normalized_shape, **factory))
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        self.reset_parameters()

    @torch.no_grad()
    def reset_parameters(self, generator=None):
        """weight (gamma) <- 1 and bias (beta) <- 0, in place (``generator`` is not used)."""
        if self.elementwise_affine:
            self.weight.fill_(1.0)
            self.bias.zero_()

    def forward(self, x):
        k = len(self.normalized_shape)
        if x.ndim < k + 1 or tuple(x.shape[-k:]) != self.normalized_shape:
            raise ValueError(
                f"LayerNorm{self.normalized_shape} expects input of shape "
                f"(batch, ..., {', '.join(map(str, self.normalized_shape))}), "
                f"got {tuple(x.shape)}"
            )
        dims = tuple(range(x.ndim - k, x.ndim))
        mean = x.mean(dim=dims, keepdim=True)
        var = ((x - mean) ** 2).mean(dim=dims, keepdim=True)
        x_hat = (x - mean) / torch.sqrt(var + self.eps)
        return self.weight * x_hat + self.bias if self.elementwise_affine else x_hat

    def extra_repr(self):
        return (
            f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}"
        )
